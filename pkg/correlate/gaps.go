package correlate

import (
	"github.com/tracegap/correlator/pkg/internal/parts"
	"github.com/tracegap/correlator/pkg/model"
)

// noLog marks a gap bounded by the span's start or end instead of an entry.
const noLog = -1

// eachGap calls fn for every gap of span i: every interval of at least
// minGap between consecutive entries, and between the span's start and the
// first entry when the start precedes it, and between the last entry and
// the span's end when the end follows it. A span without entries has no
// gaps: silence without any line says nothing about waiting.
func (s *state) eachGap(i int32, minGap int64, fn func(from, to int32, gs, ge int64)) {
	idx := s.spanLogs(i)
	if len(idx) == 0 {
		return
	}
	isGap := func(gs, ge int64) bool { return ge > gs && ge-gs >= minGap }
	if first := idx[0]; s.start[i] < s.logT[first] && isGap(s.start[i], s.logT[first]) {
		fn(noLog, first, s.start[i], s.logT[first])
	}
	for k := 1; k < len(idx); k++ {
		if gs, ge := s.logT[idx[k-1]], s.logT[idx[k]]; isGap(gs, ge) {
			fn(idx[k-1], idx[k], gs, ge)
		}
	}
	if last := idx[len(idx)-1]; s.end[i] > s.logT[last] && isGap(s.logT[last], s.end[i]) {
		fn(last, noLog, s.logT[last], s.end[i])
	}
}

// findGaps finds and attributes (attribution.go) the gaps of every span,
// in output order. Spans are independent, so they are split among the
// cores; each span's gaps go to slots counted beforehand, which also
// spares growing a slice of large structs.
func (s *state) findGaps() {
	minGap := int64(s.opts.MinGap)
	off := make([]int, s.n+1) // gaps of the span at rank r: off[r]..off[r+1]
	s.byLogShare(func(rlo, rhi int) {
		for r := rlo; r < rhi; r++ {
			c := 0
			s.eachGap(s.byRank[r], minGap, func(_, _ int32, _, _ int64) { c++ })
			off[r+1] = c
		}
	})
	for r := range s.n {
		off[r+1] += off[r]
	}
	s.a.Gaps = make([]model.Gap, off[s.n])
	s.byLogShare(func(rlo, rhi int) {
		w := &writer{b: make([]byte, 0, 512)}
		at := &attributor{s: s}
		for r := rlo; r < rhi; r++ {
			i := s.byRank[r]
			if off[r+1] == off[r] {
				continue
			}
			at.reset(i)
			// One allocation for the span's warnings: its gaps, and room
			// for a retry and a few anomalies.
			s.a.Figures[i].Warnings = make([]string, 0, off[r+1]-off[r]+4)
			k := off[r]
			s.eachGap(i, minGap, func(from, to int32, gs, ge int64) {
				g := &s.a.Gaps[k]
				k++
				s.fillGap(g, at, w, i, from, to, gs, ge)
			})
		}
	})
}

// byLogShare calls fn on contiguous ranges of span ranks, in parallel,
// each range holding about the same number of log entries (the work of
// the log passes grows with entries, not spans). Each span is in exactly
// one range, so fn may write anything that belongs to its spans.
func (s *state) byLogShare(fn func(rlo, rhi int)) {
	ps := parts.Split(len(s.logT))
	parts.Run(ps, func(w, lo, hi int) {
		rlo, rhi := s.rankShare(lo), s.rankShare(hi)
		if w == 0 {
			rlo = 0
		}
		if w == len(ps)-1 {
			rhi = s.n // spans without entries, and trace-level entries
		}
		fn(rlo, rhi)
	})
}

// rankShare maps a position in [0, len(a.Logs)] to the first span rank
// whose entries start at or after it, so that workers get about equal
// numbers of entries; the last position maps past the last span.
func (s *state) rankShare(pos int) int {
	if pos >= len(s.logT) {
		return s.n
	}
	// rankStart[r] is the number of span entries before the span at rank r.
	lo, hi := 0, s.n
	for lo < hi {
		m := (lo + hi) / 2
		if s.rankStart[m] < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// fillGap fills one gap: bounds, messages, attribution and sentence; and
// adds it to its span's wait, unaccounted time and warnings.
func (s *state) fillGap(g *model.Gap, at *attributor, w *writer, i, from, to int32, gs, ge int64) {
	sp := &s.t.Spans[i]
	*g = model.Gap{SpanID: s.ids[i], SpanIndex: int(i), Start: sp.Start, End: sp.End}
	if sp.End.Before(sp.Start) {
		g.End = sp.Start // a span that ends before it starts is taken as empty
	}
	if from != noLog {
		g.Start = s.a.Logs[from].Entry.Time
		g.FromMessage = s.a.Logs[from].Message
	}
	if to != noLog {
		g.End = s.a.Logs[to].Entry.Time
		g.ToMessage = s.a.Logs[to].Message
	}
	callees := at.attribute(g, from, to, gs, ge)
	note := ""
	if len(callees) == 1 && g.InCallees == 0 {
		note = s.apartNote(callees[0], gs, ge)
	}
	g.Sentence = gapSentence(w, g, from == noLog, to == noLog, note)
	f := &s.a.Figures[i]
	f.Wait += g.Duration()
	f.Unaccounted += g.Unaccounted
	s.warn(i, g.Sentence)
}
