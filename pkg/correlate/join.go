package correlate

import (
	"fmt"
	"slices"

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
// has one the trace knows.
//
// Identical entries are all kept: a service that logs the same line twice
// did log it twice. Removing the copies Loki returns when two pages
// overlap is the Loki client's job, so DuplicateLogs stays 0 here.
func (s *state) join(entries []model.LogEntry) {
	keys := s.timeOrder(entries)

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
	parts := split(len(keys))
	kept := make([]int, len(parts))
	others := make([]int, len(parts))
	run(parts, func(w, lo, hi int) {
		x := NewExtractor(s.opts)
		x.useArena = true
		n := lo
		for p := lo; p < hi; p++ {
			l := &logs[n]
			x.extractInto(l, &entries[keys[p].i])
			if l.TraceID != "" && s.traceID != "" && l.TraceID != s.traceID {
				others[w]++
				continue // the slot is reused (or cleared below)
			}
			flag := uint8(severity(l.Level))
			if l.SpanID != "" {
				if i, ok := s.index[l.SpanID]; ok {
					l.SpanIndex = int(i)
					// Only span entries can be log retries: a retry is
					// reported on its span.
					if match(l.Message) {
						flag |= flagRetry
					}
				}
			}
			flags[n], times[n] = flag, keys[p].t
			n++
		}
		kept[w] = n - lo
	})
	n := 0
	for w, part := range parts {
		if n != part[0] {
			copy(logs[n:], logs[part[0]:part[0]+kept[w]])
			copy(flags[n:], flags[part[0]:part[0]+kept[w]])
			copy(times[n:], times[part[0]:part[0]+kept[w]])
		}
		n += kept[w]
		a.OtherTraceLogs += others[w]
	}
	clear(logs[n:]) // release dropped entries' lines
	a.Logs, s.logFlag, s.logT = logs[:n], flags[:n], times[:n]

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

	if a.TraceLevelLogs > 0 {
		a.Notices = append(a.Notices, fmt.Sprintf(
			"%s no span id, or one that is not in the trace; %s and shown on the root span",
			agree(a.TraceLevelLogs, "1 log entry of this trace carries", "%d log entries of this trace carry"),
			agree(a.TraceLevelLogs, "it is kept as a trace-level log", "they are kept as trace-level logs")))
	}
	if a.OtherTraceLogs > 0 {
		a.Notices = append(a.Notices, fmt.Sprintf(
			"%s returned by Loki %s to other traces and %s ignored",
			plural(a.OtherTraceLogs, "log entry", "log entries"), agree(a.OtherTraceLogs, "belongs", "belong"), agree(a.OtherTraceLogs, "was", "were")))
	}
	if len(a.Logs) == 0 && s.n > 0 {
		a.Notices = append(a.Notices,
			"no log entries were found for this trace, so there are no log gaps or log retries; check that the services log the trace id and that the log query covers them")
	}
}

// logKey is an entry's time and input position.
type logKey struct {
	t int64
	i int32
}

// timeOrder returns the entries' keys in time order, ties in input order.
// Loki returns each stream in time order but the streams one after the
// other, so the input is usually a few ascending runs: merging them (a
// natural merge sort) is cheaper than sorting from scratch, and stable.
func (s *state) timeOrder(entries []model.LogEntry) []logKey {
	n := len(entries)
	keys := make([]logKey, n)
	bounds := []int{0}
	for i := range entries {
		keys[i] = logKey{s.ns(entries[i].Time), int32(i)}
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
