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
	type key struct {
		t int64
		i int32
	}
	keys := make([]key, len(entries))
	sorted := true
	for i := range entries {
		keys[i] = key{s.ns(entries[i].Time), int32(i)}
		if i > 0 && keys[i].t < keys[i-1].t {
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(keys, func(a, b key) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return int(a.i - b.i)
		})
	}

	x := NewExtractor(s.opts)
	x.useArena = true
	a := s.a
	a.Logs = make([]model.Log, 0, len(entries))
	s.logT = make([]int64, 0, len(entries))
	counts := make([]int32, s.n+1)
	for _, k := range keys {
		l := x.Extract(&entries[k.i])
		if l.TraceID != "" && s.traceID != "" && l.TraceID != s.traceID {
			a.OtherTraceLogs++
			continue
		}
		if l.SpanID != "" {
			if i, ok := s.index[l.SpanID]; ok {
				l.SpanIndex = int(i)
				counts[i+1]++
			}
		}
		if l.SpanIndex < 0 {
			a.TraceLevelLogs++
		}
		a.Logs = append(a.Logs, l)
		s.logT = append(s.logT, k.t)
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
	for i := range s.n {
		idx := s.spanLogs(int32(i))
		a.Figures[i].LogCount = len(idx)
		for j := 1; j < len(idx); j++ {
			a.Logs[idx[j]].GapBefore = dur(s.logT[idx[j-1]], s.logT[idx[j]])
		}
	}

	if a.TraceLevelLogs > 0 {
		a.Notices = append(a.Notices, fmt.Sprintf(
			"%s of this trace carry no span id, or one that is not in the trace; they are kept as trace-level logs and shown on the root span",
			plural(a.TraceLevelLogs, "log entry", "log entries")))
	}
	if a.OtherTraceLogs > 0 {
		a.Notices = append(a.Notices, fmt.Sprintf(
			"%s returned by Loki belong to other traces and were ignored",
			plural(a.OtherTraceLogs, "log entry", "log entries")))
	}
	if len(a.Logs) == 0 && s.n > 0 {
		a.Notices = append(a.Notices,
			"no log entries were found for this trace, so there are no log gaps or log retries; check that the services log the trace id and that the log query covers them")
	}
}
