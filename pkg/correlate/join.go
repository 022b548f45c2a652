package correlate

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/internal/parts"
	"github.com/tracegap/correlator/pkg/model"
)

// join extracts every entry, keeps those of this trace in time order (ties
// in input order) and attaches each to its span by span id.
//
// An entry whose trace id is another trace's is ignored and counted. An
// entry of this trace with no span id, or one the trace does not have, is
// a trace-level log: kept and counted, never dropped. An entry with no
// usable trace id at all is kept too: Loki returned it for this trace's
// query, and dropping it would hide evidence; it joins by span id when it
// has one the trace knows. An entry that names no span through any field
// but contains the full id of one of the trace's spans as a whole token
// joins that span (the trace's ids are known, so this needs no format).
//
// Span events are entries of their spans too; one that repeats a Loki
// line of its span (same message within 1 ms) is that line and is dropped.
//
// Identical entries are all kept: a service that logs the same line twice
// did log it twice. Removing the copies Loki returns when two pages
// overlap is the Loki client's job, so DuplicateLogs stays 0 here.
func (s *state) join(entries []model.LogEntry) {
	nLoki := len(entries)
	events, eventSpan := s.eventEntries()
	// Entry i of the time order is entries[i], or events[i-nLoki] past the
	// Loki lines: the events are not appended to a copy of the entries
	// (100 000 lines are 11 MB of LogEntry, live through the whole join).
	keys := s.timeOrder(entries, events)

	// Extraction is most of the join's cost and independent per entry, so
	// it runs on every core, each worker on a contiguous range of the time
	// order with its own Extractor. A worker drops other traces' entries as
	// it goes, packing its range to the front; the ranges are then moved
	// together. The result does not depend on how the work is split.
	a := s.a
	logs := make([]model.Log, len(keys))
	flags := make([]uint8, len(keys))
	times := make([]int64, len(keys))
	match := s.retryMatcher()
	ps := parts.Split(len(keys))
	kept := make([]int, len(ps))
	stats := make([]model.JoinStats, len(ps))
	parts.Run(ps, func(w, lo, hi int) {
		x := NewExtractor(s.opts)
		x.useArena = true
		st := &stats[w]
		n := lo
		for p := lo; p < hi; p++ {
			l := &logs[n]
			if ei := int(keys[p].i); ei >= nLoki {
				i := eventSpan[ei-nLoki]
				x.extractEvent(l, &events[ei-nLoki], s.traceID, s.ids[i])
				l.SpanIndex = int(i)
			} else {
				x.extractInto(l, &entries[ei])
				if l.TraceID != "" && s.traceID != "" && l.TraceID != s.traceID {
					st.OtherTrace++
					continue // the slot is reused (or cleared below)
				}
				switch i, ok := s.index[l.SpanID]; {
				case ok && l.SpanID != "":
					l.SpanIndex = int(i)
				case l.SpanID != "":
					st.UnknownSpan++
				default:
					if i, ok := s.knownSpan(l.Entry.Line); ok {
						l.SpanIndex, l.SpanID = int(i), s.ids[i]
						st.ByKnownID++
						break
					}
					st.NoSpanID++
					if st.Sample == "" {
						st.Sample = cutLine(l.Entry.Line)
					}
				}
			}
			flag := uint8(severity(l.Level))
			// Only span entries can be log retries: a retry is reported
			// on its span.
			if l.SpanIndex >= 0 && match(l.Message) {
				flag |= flagRetry
			}
			flags[n], times[n] = flag, keys[p].t
			n++
		}
		kept[w] = n - lo
	})
	n := 0
	var js model.JoinStats
	for w, part := range ps {
		if n != part[0] {
			copy(logs[n:], logs[part[0]:part[0]+kept[w]])
			copy(flags[n:], flags[part[0]:part[0]+kept[w]])
			copy(times[n:], times[part[0]:part[0]+kept[w]])
		}
		n += kept[w]
		st := &stats[w]
		js.OtherTrace += st.OtherTrace
		js.UnknownSpan += st.UnknownSpan
		js.NoSpanID += st.NoSpanID
		js.ByKnownID += st.ByKnownID
		if js.Sample == "" {
			js.Sample = st.Sample // the first in time order
		}
	}
	if len(events) > 0 {
		js.Events = len(events)
		n = dropEventRepeats(logs[:n], flags[:n], times[:n])
		js.EventDuplicates = len(events) - countEvents(logs[:n])
	}
	clear(logs[n:]) // release dropped entries' lines
	a.Logs, s.logFlag, s.logT = logs[:n], flags[:n], times[:n]
	a.OtherTraceLogs = js.OtherTrace

	// Link each entry to the previous one of its span.
	counts := make([]int32, s.n+1)
	lastT := make([]int64, s.n)
	for k := range a.Logs {
		l := &a.Logs[k]
		if i := l.SpanIndex; i >= 0 {
			if counts[i+1] > 0 {
				l.GapBefore = dur(lastT[i], s.logT[k])
			}
			counts[i+1]++
			lastT[i] = s.logT[k]
		} else {
			a.TraceLevelLogs++
		}
	}
	js.Joined = len(a.Logs) - a.TraceLevelLogs
	a.Join = js

	// Bucket by span: a counting sort keeps each span's entries in time order.
	s.logOff = counts
	for i := range s.n {
		s.logOff[i+1] += s.logOff[i]
	}
	s.logIdx = make([]int32, s.logOff[s.n])
	fill := slices.Clone(s.logOff[:s.n])
	for k := range a.Logs {
		if i := a.Logs[k].SpanIndex; i >= 0 {
			s.logIdx[fill[i]] = int32(k)
			fill[i]++
		}
	}
	s.rankStart = make([]int, s.n+1)
	for r, i := range s.byRank {
		a.Figures[i].LogCount = int(s.logOff[i+1] - s.logOff[i])
		s.rankStart[r+1] = s.rankStart[r] + a.Figures[i].LogCount
	}

	if text, _ := JoinNotice(js); text != "" {
		a.Notices = append(a.Notices, text)
	}
	if len(a.Logs) == 0 && s.n > 0 {
		a.Notices = append(a.Notices,
			"no log entries were found for this trace, so there are no log gaps or log retries; check that the services log the trace id and that the log query covers them")
	}
}

// knownSpan finds the span a line names by containing its full 16-hex id
// as a whole token (either case, not inside a longer hex run or word).
func (s *state) knownSpan(line string) (int32, bool) {
	if s.n == 0 || len(line) < 16 {
		return 0, false
	}
	var found int32
	ok := spanIDToken(line, func(id []byte) bool {
		i, hit := s.index[string(id)]
		found = i
		return hit
	})
	return found, ok
}

// maxSampleLen is how much of an unreadable line a notice quotes.
const maxSampleLen = 200

// cutLine cuts a line to maxSampleLen bytes for a notice, on a rune
// boundary, marking the cut.
func cutLine(line string) string {
	line = strings.TrimSpace(line)
	if len(line) <= maxSampleLen {
		return line
	}
	k := maxSampleLen
	for k > 0 && !utf8.RuneStart(line[k]) {
		k--
	}
	return line[:k] + "…"
}

// JoinNotice says why log entries did not join a span, counted by
// reason, and what to set; warning is true when more than half of the
// trace's entries did not join (most likely their ids are in a shape the
// settings do not read). It is "" when every entry joined. The engine adds
// it to Analysis.Notices; callers that sum JoinStats over several traces
// (search, wait metrics, annotations) build theirs with it too.
func JoinNotice(st model.JoinStats) (text string, warning bool) {
	unjoined := st.NoSpanID + st.UnknownSpan
	if unjoined == 0 && st.OtherTrace == 0 {
		return "", false
	}
	total := st.Joined + unjoined + st.OtherTrace
	var parts []string
	if st.NoSpanID > 0 {
		p := agree(st.NoSpanID, "1 carries", "%d carry") + " no span id we could read"
		if st.Sample != "" {
			p += fmt.Sprintf(" (such as %q)", st.Sample)
		}
		parts = append(parts, p)
	}
	if st.UnknownSpan > 0 {
		parts = append(parts, agree(st.UnknownSpan, "1 names", "%d name")+" a span that is not in the trace")
	}
	if st.OtherTrace > 0 {
		parts = append(parts, agree(st.OtherTrace, "1 belongs to another trace and was ignored", "%d belong to other traces and were ignored"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %s did not join a span: %s", unjoined+st.OtherTrace, plural(total, "log entry", "log entries"), strings.Join(parts, "; "))
	if unjoined > 0 {
		b.WriteString(". " + agree(unjoined, "The one of this trace is kept as a trace-level log", "Those of this trace are kept as trace-level logs") + " on the root span")
	}
	if st.NoSpanID > 0 {
		b.WriteString(". If the lines carry the span id under another key, add the key to spanIdFields (traceIdFields for the trace id); if it stands where no field is read, add a LogQL parser stage (| json, | logfmt, | pattern or | regexp) to logSelector")
	}
	return b.String(), unjoined*2 > st.Joined+unjoined
}

// logKey is an entry's time and input position.
type logKey struct {
	t int64
	i int32
}

// timeOrder returns the keys of entries followed by more (key i is more's
// i-len(entries)th past the entries) in time order, ties in input order.
// Loki returns each stream in time order but the streams one after the
// other, so the input is usually a few ascending runs: merging them (a
// natural merge sort) is cheaper than sorting from scratch, and stable.
func (s *state) timeOrder(entries, more []model.LogEntry) []logKey {
	n := len(entries) + len(more)
	keys := make([]logKey, n)
	bounds := []int{0}
	for i := range n {
		var t time.Time
		if i < len(entries) {
			t = entries[i].Time
		} else {
			t = more[i-len(entries)].Time
		}
		keys[i] = logKey{s.ns(t), int32(i)}
		if i > 0 && keys[i].t < keys[i-1].t {
			bounds = append(bounds, i)
		}
	}
	if len(bounds) == 1 {
		return keys
	}
	if len(bounds) > n/16 { // many short runs: not worth merging
		slices.SortFunc(keys, func(a, b logKey) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return int(a.i - b.i)
		})
		return keys
	}
	bounds = append(bounds, n)
	buf := make([]logKey, n)
	for len(bounds) > 2 {
		runs := len(bounds) - 1
		next := make([]int, 0, runs/2+2)
		for r := 0; r < runs; r += 2 {
			lo := bounds[r]
			next = append(next, lo)
			if r+1 == runs {
				copy(buf[lo:bounds[r+1]], keys[lo:bounds[r+1]])
				continue
			}
			mergeKeys(buf[lo:bounds[r+2]], keys[lo:bounds[r+1]], keys[bounds[r+1]:bounds[r+2]])
		}
		bounds = append(next, n)
		keys, buf = buf, keys
	}
	return keys
}

// mergeKeys merges two time-ordered runs into dst; on equal times the left
// run, which came first in the input, goes first.
func mergeKeys(dst, a, b []logKey) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if b[j].t < a[i].t {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}
