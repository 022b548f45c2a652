package correlate

import (
	"slices"
	"strings"

	"github.com/tracegap/correlator/pkg/model"
)

// Severity classes of a log level, coarse on purpose: the outcome of a
// retry only needs "fine", "warning" and "error". They share a byte with
// flagRetry in state.logFlag.
const (
	sevInfo = iota // info and below, and entries that state no level
	sevWarn
	sevError
	sevMask   = 3
	flagRetry = 4
	flagOther = 8 // the entry is another trace's (join only)
)

// severity classifies a lower-case level. Single letters are glog's.
func severity(level string) int {
	switch level {
	case "info", "debug", "trace", "":
		return sevInfo // the usual levels, without the prefix tests below
	case "warn", "warning":
		return sevWarn
	case "error":
		return sevError
	}
	switch {
	case level == "", level == "i", level == "d":
		return sevInfo
	case level == "e", level == "f",
		strings.HasPrefix(level, "err"), strings.HasPrefix(level, "fatal"),
		strings.HasPrefix(level, "crit"), strings.HasPrefix(level, "panic"),
		strings.HasPrefix(level, "emerg"), strings.HasPrefix(level, "alert"),
		strings.HasPrefix(level, "severe"):
		return sevError
	case level == "w", strings.HasPrefix(level, "warn"), level == "notice":
		return sevWarn
	}
	return sevInfo
}

// findRetries finds retries in log lines and in repeated sibling spans.
func (s *state) findRetries() {
	var found []model.Retry
	for _, i := range s.byRank {
		found = s.logRetries(i, found)
		found = s.spanRetries(i, found)
	}
	// Log and span retries of one span interleave by region start.
	slices.SortStableFunc(found, func(a, b model.Retry) int {
		if ra, rb := s.spanRank[a.SpanIndex], s.spanRank[b.SpanIndex]; ra != rb {
			return int(ra - rb)
		}
		return a.Start.Compare(b.Start)
	})
	s.a.Retries = found
	for k := range found {
		r := &found[k]
		s.a.Figures[r.SpanIndex].Retries += r.Count
		s.warn(int32(r.SpanIndex), r.Sentence)
	}
}

// logRetries finds the entries of span i that announce a retry. Each is one
// retry. Its cost is the duration the line states, else the time since the
// previous entry (or since the span's start, for the first entry). Its
// outcome: failed when the span has an error status or an error is logged
// after the span's last retry; succeeded when a later entry that is not a
// retry is at info level or below; else unknown.
func (s *state) logRetries(i int32, out []model.Retry) []model.Retry {
	idx := s.spanLogs(i)
	flags := s.logFlag
	last := -1
	for k, li := range idx {
		if flags[li]&flagRetry != 0 {
			last = k
		}
	}
	if last < 0 {
		return out
	}
	spanErr := s.t.Spans[i].StatusCode == model.StatusError
	errAfterLast := false
	for _, li := range idx[last+1:] {
		if flags[li]&sevMask == sevError {
			errAfterLast = true
			break
		}
	}
	// fineAfter[k]: a later entry than k is not a retry and is at info or below.
	fineAfter := s.boolBuf(len(idx))
	for k := len(idx) - 2; k >= 0; k-- {
		f := flags[idx[k+1]]
		fineAfter[k] = fineAfter[k+1] || f&flagRetry == 0 && f&sevMask == sevInfo
	}
	for k, li := range idx {
		if flags[li]&flagRetry == 0 {
			continue
		}
		l := &s.a.Logs[li]
		r := model.Retry{
			SpanID:    s.ids[i],
			SpanIndex: int(i),
			Source:    model.RetryFromLogs,
			Count:     1,
			Message:   l.Message,
			End:       l.Entry.Time,
		}
		costFrom := "stated"
		switch {
		case l.HasStated:
			r.Cost = l.Stated
		case k > 0:
			r.Cost, costFrom = l.GapBefore, "previous"
		case s.start[i] < s.logT[li]:
			r.Cost, costFrom = dur(s.start[i], s.logT[li]), "start"
		default:
			costFrom = "none"
		}
		r.Start = r.End.Add(-r.Cost)
		reason := ""
		switch {
		case spanErr:
			r.Outcome, reason = model.OutcomeFailed, "status"
		case errAfterLast:
			r.Outcome, reason = model.OutcomeFailed, "log"
		case fineAfter[k]:
			r.Outcome = model.OutcomeSucceeded
		default:
			r.Outcome = model.OutcomeUnknown
		}
		r.Sentence = logRetrySentence(&r, costFrom, reason)
		out = append(out, r)
	}
	return out
}

// spanRetries finds retry groups among the children of span i: siblings
// with the same service and operation that do not overlap, where an
// earlier attempt has an error status. Overlapping siblings are a fan-out,
// not retries. The retries are the failed attempts; the cost is their
// total duration.
func (s *state) spanRetries(i int32, out []model.Retry) []model.Retry {
	kids := s.children(i)
	if len(kids) < 2 {
		return out
	}
	failed := false
	for _, c := range kids {
		if s.t.Spans[c].StatusCode == model.StatusError {
			failed = true
			break
		}
	}
	if !failed {
		return out // the usual case: no error, no retry, no map
	}
	type opKey struct{ service, op string }
	groups := map[opKey][]int32{}
	var keys []opKey
	for _, c := range kids { // kids are in start order, so each group is too
		sp := &s.t.Spans[c]
		k := opKey{sp.ServiceName, sp.Name}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range keys { // first-seen order: deterministic
		g := groups[k]
		for lo := 0; lo < len(g); {
			// A run of attempts, each starting after all earlier ones ended.
			hi, reach := lo+1, s.end[g[lo]]
			for hi < len(g) && s.start[g[hi]] >= reach {
				reach = max(reach, s.end[g[hi]])
				hi++
			}
			out = s.retryGroup(i, g[lo:hi], out)
			lo = hi
		}
	}
	return out
}

// retryGroup records one run of sequential attempts when it is a retry
// group: two or more attempts, one failing before a later one.
func (s *state) retryGroup(i int32, run []int32, out []model.Retry) []model.Retry {
	if len(run) < 2 {
		return out
	}
	isErr := func(c int32) bool { return s.t.Spans[c].StatusCode == model.StatusError }
	if !slices.ContainsFunc(run[:len(run)-1], isErr) {
		return out
	}
	r := model.Retry{
		SpanID:    s.ids[i],
		SpanIndex: int(i),
		Source:    model.RetryFromSpans,
		Outcome:   model.OutcomeSucceeded,
		Message:   s.label(run[0]),
	}
	if isErr(run[len(run)-1]) {
		r.Outcome = model.OutcomeFailed
	}
	for _, c := range run {
		if !isErr(c) {
			continue
		}
		if r.Count == 0 || s.t.Spans[c].Start.Before(r.Start) {
			r.Start = s.t.Spans[c].Start
		}
		if end := s.t.Spans[c].Start.Add(dur(s.start[c], s.end[c])); r.Count == 0 || end.After(r.End) {
			r.End = end
		}
		r.Count++
		r.Cost += dur(s.start[c], s.end[c])
		r.Attempts = append(r.Attempts, s.ids[c])
	}
	r.Sentence = spanRetrySentence(&r, len(run))
	return append(out, r)
}

// logRetrySentence writes the warning for a retry announced by a log line.
func logRetrySentence(r *model.Retry, costFrom, reason string) string {
	w := &writer{b: make([]byte, 0, 160)}
	w.str("retried after ").quote(r.Message).str(": the failed attempt took ").ms(r.Cost)
	switch costFrom {
	case "stated":
		w.str(" (stated by the line)")
	case "previous":
		w.str(" (since the previous log line)")
	case "start":
		w.str(" (since the span started)")
	case "none":
		w.str(" (nothing logged before it to measure from)")
	}
	switch r.Outcome {
	case model.OutcomeSucceeded:
		w.str(", and the retry succeeded")
	case model.OutcomeFailed:
		w.str(", and the retry failed")
		if reason == "status" {
			w.str(" (the span ended with an error status)")
		} else {
			w.str(" (an error was logged after the last retry)")
		}
	default:
		w.str("; no later log line of the span tells whether the retry worked")
	}
	return w.String()
}

// spanRetrySentence writes the warning for a group of repeated spans.
func spanRetrySentence(r *model.Retry, attempts int) string {
	w := &writer{b: make([]byte, 0, 160)}
	w.str(r.Message).str(" was attempted ").int(attempts).str(" times: ")
	w.str(plural(r.Count, "failed attempt", "failed attempts")).str(" took ").ms(r.Cost)
	if r.Outcome == model.OutcomeFailed {
		w.str(", and the last attempt failed too")
	} else {
		w.str(", and the last attempt succeeded")
	}
	return w.String()
}

// boolBuf returns a cleared scratch slice of n bools.
func (s *state) boolBuf(n int) []bool {
	if cap(s.bools) < n {
		s.bools = make([]bool, n)
	}
	b := s.bools[:n]
	clear(b)
	return b
}
