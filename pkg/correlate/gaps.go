package correlate

import "github.com/tracegap/correlator/pkg/model"

// noLog marks a gap bounded by the span's start or end instead of an entry.
const noLog = -1

// findGaps finds, for every span with log entries, the intervals of at
// least MinGap between consecutive entries, and attributes each (see
// attribution.go). The span's start bounds a gap only when it precedes the
// first entry, and its end only when it follows the last one: a span
// without entries has no gaps, because silence without any line says
// nothing about waiting.
func (s *state) findGaps() {
	minGap := int64(s.opts.MinGap)
	for _, i := range s.byRank {
		idx := s.spanLogs(i)
		if len(idx) == 0 {
			continue
		}
		at := newAttributor(s, i)
		consider := func(from, to int32, gs, ge int64) {
			if ge-gs < minGap || ge < gs {
				return
			}
			g := model.Gap{
				SpanID:    s.ids[i],
				SpanIndex: int(i),
				Start:     s.t.Spans[i].Start,
				End:       s.t.Spans[i].End,
			}
			if from != noLog {
				g.Start = s.a.Logs[from].Entry.Time
				g.FromMessage = s.a.Logs[from].Message
			}
			if to != noLog {
				g.End = s.a.Logs[to].Entry.Time
				g.ToMessage = s.a.Logs[to].Message
			}
			callees := at.attribute(&g, from, to, gs, ge)
			note := ""
			if len(callees) == 1 && g.InCallees == 0 {
				note = s.apartNote(callees[0], gs, ge)
			}
			g.Sentence = gapSentence(&g, from == noLog, to == noLog, note)
			s.a.Gaps = append(s.a.Gaps, g)
			f := &s.a.Figures[i]
			f.Wait += g.Duration()
			f.Unaccounted += g.Unaccounted
			s.warn(i, g.Sentence)
		}
		if first := idx[0]; s.start[i] < s.logT[first] {
			consider(noLog, first, s.start[i], s.logT[first])
		}
		for k := 1; k < len(idx); k++ {
			consider(idx[k-1], idx[k], s.logT[idx[k-1]], s.logT[idx[k]])
		}
		if last := idx[len(idx)-1]; s.end[i] > s.logT[last] {
			consider(last, noLog, s.logT[last], s.end[i])
		}
	}
}
