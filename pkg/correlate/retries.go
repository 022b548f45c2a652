package correlate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

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

// findRetries finds the retries of every span: log lines announcing a
// failed attempt, matched to that attempt's span when there is one, and
// attempt groups of sibling spans. Each failed attempt is counted once
// (docs/analysis.md, "Retries").
func (s *state) findRetries() {
	// Spans are searched in parts of the rank order at once, each part
	// with its scratch, and the parts' retries joined in rank order: what
	// one pass in rank order finds. A span's search writes only its own
	// retries and its children's FailedAttempt.
	giveUp := s.giveUpMatcher()
	var mu sync.Mutex
	var parts []rankedRetries
	s.byLogShare(func(rlo, rhi int) {
		rs := &retrySearch{s: s, giveUp: giveUp}
		var found []model.Retry
		for _, i := range s.byRank[rlo:rhi] {
			found = rs.span(i, found)
		}
		mu.Lock()
		parts = append(parts, rankedRetries{rlo, found})
		mu.Unlock()
	})
	slices.SortFunc(parts, func(a, b rankedRetries) int { return a.from - b.from })
	var found []model.Retry
	for _, p := range parts {
		found = append(found, p.found...)
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

// rankedRetries are the retries of the spans from rank from on.
type rankedRetries struct {
	from  int
	found []model.Retry
}

// attemptGroup is a run of sibling spans that called the same thing one
// after another, where an attempt before the last failed.
type attemptGroup struct {
	run []int32 // in start order; no two overlap
	// retried are the failed attempts a later attempt follows: the retries.
	retried []int32
	failed  bool // the last attempt failed: the group's outcome
}

// retrySearch holds one pass's scratch state.
type retrySearch struct {
	s      *state
	giveUp func(string) bool
	groups []attemptGroup
	// groupOf maps an attempt to its group and its position in the run.
	groupOf map[int32][2]int
	matched map[int32]bool
	keys    []string
	// retry[k] says whether the span's k-th entry is a retry line: the
	// give-up regexp runs once per flagged entry, not once per later retry.
	retry []bool
}

// logRetry is one announcing line of a span while its outcome is worked out.
type logRetry struct {
	r        model.Retry
	attempt  int32  // the matched failed attempt, or -1
	costFrom string // where the cost was read when no attempt matched
	reason   string // what decided the outcome
	quote    string // the line that decided (or left unknown) the outcome
}

// span finds the retries of span i: its log retries, then the failed
// attempts of its children's attempt groups that no log line announced.
func (rs *retrySearch) span(i int32, out []model.Retry) []model.Retry {
	s := rs.s
	clear(rs.matched)
	rs.attemptGroups(i)
	logs := rs.logRetries(i)
	for k := range logs {
		lr := &logs[k]
		lr.r.Sentence = s.logRetrySentence(lr)
		out = append(out, lr.r)
	}
	for g := range rs.groups {
		out = rs.groupRetry(i, &rs.groups[g], out)
	}
	return out
}

// attemptGroups groups span i's children by what they called (service,
// operation and the attributes that describe the call), splits each group
// into runs of attempts that do not overlap, and keeps the runs where an
// attempt before the last failed. Overlapping siblings are a fan-out, not
// retries; siblings that differ in what they called (ten lookups of ten
// keys) are separate calls, each retried or not on its own.
func (rs *retrySearch) attemptGroups(i int32) {
	s := rs.s
	rs.groups = rs.groups[:0]
	clear(rs.groupOf)
	kids := s.children(i)
	if len(kids) < 2 || !slices.ContainsFunc(kids, s.failedSpan) {
		return // the usual case: no error, no retry, no map
	}
	byKey := map[string][]int32{}
	rs.keys = rs.keys[:0]
	for _, c := range kids { // kids are in start order, so each group is too
		k := attemptKey(&s.t.Spans[c])
		if _, ok := byKey[k]; !ok {
			rs.keys = append(rs.keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	for _, k := range rs.keys { // first-seen order: deterministic
		g := byKey[k]
		for lo := 0; lo < len(g); {
			// A run of attempts, each starting after all earlier ones ended.
			hi, reach := lo+1, s.end[g[lo]]
			for hi < len(g) && s.start[g[hi]] >= reach {
				reach = max(reach, s.end[g[hi]])
				hi++
			}
			run := g[lo:hi]
			lo = hi
			if len(run) < 2 || !slices.ContainsFunc(run[:len(run)-1], s.failedSpan) {
				continue
			}
			ag := attemptGroup{run: run, failed: s.failedSpan(run[len(run)-1])}
			for _, c := range run[:len(run)-1] {
				if s.failedSpan(c) {
					ag.retried = append(ag.retried, c)
				}
			}
			if rs.groupOf == nil {
				rs.groupOf = map[int32][2]int{}
			}
			for p, c := range run {
				rs.groupOf[c] = [2]int{len(rs.groups), p}
			}
			rs.groups = append(rs.groups, ag)
		}
	}
}

// failedSpan reports whether span c has an error status.
func (s *state) failedSpan(c int32) bool { return s.t.Spans[c].StatusCode == model.StatusError }

// attemptKey is what a span called: its service, its operation and its
// attributes but those that differ between attempts of one call (see
// ignoredInAttempts), in key order.
func attemptKey(sp *model.Span) string {
	var b strings.Builder
	b.WriteString(sp.ServiceName)
	b.WriteByte(0)
	b.WriteString(sp.Name)
	var kept []int
	for a := range sp.Attributes {
		if !ignoredInAttempts(sp.Attributes[a].Key) {
			kept = append(kept, a)
		}
	}
	slices.SortStableFunc(kept, func(x, y int) int { return strings.Compare(sp.Attributes[x].Key, sp.Attributes[y].Key) })
	for _, a := range kept {
		fmt.Fprintf(&b, "\x00%s=%v", sp.Attributes[a].Key, sp.Attributes[a].Value)
	}
	return b.String()
}

// ignoredInAttempts reports the attribute keys that attempts of one call
// may differ in: attempt and retry counters (http.request.resend_count),
// timings, the peer's address (a retry sent to another replica is still a
// retry), and what the answer said (http.response.status_code 503 then 200,
// error.type, response sizes): the outcome of a call is not what was called,
// and a failed attempt always answers differently from its successful retry.
func ignoredInAttempts(key string) bool {
	k := strings.ToLower(key)
	for _, w := range [...]string{"attempt", "retry", "retries", "resend", "time", "duration", "latency", "elapsed",
		"status_code", "response", "error", "exception"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	for _, p := range [...]string{"net.peer.", "net.sock.peer.", "network.peer."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return k == "server.address" || k == "server.port"
}

// isRetryLine reports whether entry li announces a retry: it matches the
// retry pattern and does not say it gives up.
func (rs *retrySearch) isRetryLine(li int32) bool {
	return rs.s.logFlag[li]&flagRetry != 0 && !rs.giveUp(rs.s.a.Logs[li].Message)
}

// markRetryLines fills rs.retry for the entries idx of one span.
func (rs *retrySearch) markRetryLines(idx []int32) {
	rs.retry = slices.Grow(rs.retry[:0], len(idx))[:len(idx)]
	for k, li := range idx {
		rs.retry[k] = rs.isRetryLine(li)
	}
}

// logRetries finds the entries of span i that announce a retry, matches
// each to the failed attempt it announces and works out its outcome.
func (rs *retrySearch) logRetries(i int32) []logRetry {
	s := rs.s
	idx := s.spanLogs(i)
	flags := s.logFlag
	if !slices.ContainsFunc(idx, func(li int32) bool { return flags[li]&flagRetry != 0 }) {
		return nil
	}
	rs.markRetryLines(idx)
	var out []logRetry
	for k, li := range idx {
		if !rs.retry[k] {
			continue
		}
		l := &s.a.Logs[li]
		lr := logRetry{attempt: -1, r: model.Retry{
			SpanID: s.ids[i], SpanIndex: int(i), Source: model.RetryFromLogs, Count: 1,
			Message: l.Message, End: l.Entry.Time, LogTime: l.Entry.Time,
		}}
		prev := int64(math.MinInt64)
		if k > 0 {
			prev = s.logT[idx[k-1]]
		}
		if c := rs.announced(i, prev, s.logT[li]); c >= 0 {
			if rs.matched == nil {
				rs.matched = map[int32]bool{}
			}
			rs.matched[c] = true
			sp := &s.t.Spans[c]
			lr.attempt = c
			lr.r.Source = model.RetryFromBoth
			lr.r.Cost = dur(s.start[c], s.end[c])
			lr.r.Start, lr.r.End = sp.Start, sp.Start.Add(lr.r.Cost)
			lr.r.Attempts = []string{s.ids[c]}
			s.a.Figures[c].FailedAttempt = true
		} else {
			switch {
			case l.HasStated:
				lr.r.Cost, lr.costFrom = l.Stated, "stated"
			case k > 0:
				lr.r.Cost, lr.costFrom = l.GapBefore, "previous"
			case s.start[i] < s.logT[li]:
				lr.r.Cost, lr.costFrom = dur(s.start[i], s.logT[li]), "start"
			default:
				lr.costFrom = "none"
			}
			lr.r.Start = lr.r.End.Add(-lr.r.Cost)
		}
		rs.outcome(&lr, idx[k+1:], rs.retry[k+1:])
		out = append(out, lr)
	}
	// The span's error status fails its last retry when the logs left it
	// unknown; earlier retries keep their own outcome.
	if n := len(out); n > 0 && out[n-1].r.Outcome == model.OutcomeUnknown && s.failedSpan(i) {
		out[n-1].r.Outcome, out[n-1].reason = model.OutcomeFailed, "status"
	}
	return out
}

// announced returns the failed attempt a retry line of span i at lt
// announces: a direct child with an error status that ended at or before
// the line (within logTolerance: span and log clocks round differently)
// and after the span's previous entry at prev, not already matched to an
// earlier line; the latest-ending one when several qualify. -1 when none.
func (rs *retrySearch) announced(i int32, prev, lt int64) int32 {
	s := rs.s
	lo, hi := int(s.childOff[i]), int(s.childOff[i+1])
	limit := lt + int64(logTolerance)
	p, _ := slices.BinarySearch(s.kStart[lo:hi], limit+1) // children starting by limit
	best := int32(-1)
	for k := lo + p - 1; k >= lo; k-- {
		if s.kMaxEnd[k] <= prev {
			break // no earlier child ends after the previous entry
		}
		c := s.childIdx[k]
		if e := s.kEnd[k]; e > prev && e <= limit && s.failedSpan(c) && !rs.matched[c] {
			if best < 0 || e > s.end[best] {
				best = c
			}
		}
	}
	return best
}

// outcome works out how the retry of lr ended: its matched attempt's group
// says it when a later attempt of the group follows the matched one; else
// the next entry that is not itself a retry (rest are the entries after
// the line, retry says which are retry lines): a give-up line or an error
// → failed, info or below → succeeded, a warning → unknown (quoted), none
// → unknown.
func (rs *retrySearch) outcome(lr *logRetry, rest []int32, retry []bool) {
	s := rs.s
	if lr.attempt >= 0 {
		if gp, ok := rs.groupOf[lr.attempt]; ok && gp[1] < len(rs.groups[gp[0]].run)-1 {
			g := &rs.groups[gp[0]]
			lr.r.Outcome, lr.reason = model.OutcomeSucceeded, "group"
			if g.failed {
				lr.r.Outcome = model.OutcomeFailed
			}
			return
		}
	}
	for j, li := range rest {
		if retry[j] {
			continue
		}
		l := &s.a.Logs[li]
		lr.quote = l.Message
		switch {
		case rs.giveUp(l.Message):
			lr.r.Outcome, lr.reason = model.OutcomeFailed, "giveup"
		case s.logFlag[li]&sevMask == sevError:
			lr.r.Outcome, lr.reason = model.OutcomeFailed, "error"
		case s.logFlag[li]&sevMask == sevWarn:
			lr.r.Outcome, lr.reason = model.OutcomeUnknown, "warn"
		default:
			lr.r.Outcome, lr.reason = model.OutcomeSucceeded, "info"
		}
		return
	}
	lr.r.Outcome, lr.reason = model.OutcomeUnknown, "nothing"
}

// groupRetry records the retries of one attempt group that no log line
// announced: the failed attempts a later attempt follows, less those
// matched to a line.
func (rs *retrySearch) groupRetry(i int32, g *attemptGroup, out []model.Retry) []model.Retry {
	s := rs.s
	r := model.Retry{
		SpanID:    s.ids[i],
		SpanIndex: int(i),
		Source:    model.RetryFromSpans,
		Outcome:   model.OutcomeSucceeded,
		Message:   s.label(g.run[0]),
	}
	if g.failed {
		r.Outcome = model.OutcomeFailed
	}
	announced := 0
	for _, c := range g.retried {
		if rs.matched[c] {
			announced++
			continue
		}
		sp := &s.t.Spans[c]
		end := sp.Start.Add(dur(s.start[c], s.end[c]))
		if r.Count == 0 || sp.Start.Before(r.Start) {
			r.Start = sp.Start
		}
		if r.Count == 0 || end.After(r.End) {
			r.End = end
		}
		r.Count++
		r.Cost += dur(s.start[c], s.end[c])
		r.Attempts = append(r.Attempts, s.ids[c])
	}
	for _, c := range g.retried {
		s.a.Figures[c].FailedAttempt = true // announced ones were marked by their line
	}
	if r.Count == 0 {
		return out // every retry of the group was announced by its line
	}
	r.Sentence = spanRetrySentence(&r, len(g.run), announced)
	return append(out, r)
}

// logRetrySentence writes the warning for a retry announced by a log line.
func (s *state) logRetrySentence(lr *logRetry) string {
	r := &lr.r
	w := &writer{b: make([]byte, 0, 160)}
	w.str("retried after ").quote(r.Message).str(": the failed attempt")
	if lr.attempt >= 0 {
		w.str(", ").str(s.label(lr.attempt)).str(" (its span has an error status),")
	}
	w.str(" took ").ms(r.Cost)
	switch lr.costFrom {
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
		switch lr.reason {
		case "group":
			w.str(" (the last attempt failed too)")
		case "status":
			w.str(" (the span ended with an error status)")
		case "giveup":
			w.str(" (the next line gives up: ").quote(lr.quote).str(")")
		default:
			w.str(" (an error was logged after it: ").quote(lr.quote).str(")")
		}
	default:
		if lr.reason == "warn" {
			w.str("; whether the retry worked is unknown: the next line is a warning, ").quote(lr.quote)
		} else {
			w.str("; no later log line of the span tells whether the retry worked")
		}
	}
	return w.String()
}

// spanRetrySentence writes the warning for the retries of an attempt group
// that no log line announced.
func spanRetrySentence(r *model.Retry, attempts, announced int) string {
	w := &writer{b: make([]byte, 0, 160)}
	w.str(r.Message).str(" was attempted ").int(attempts).str(" times: ")
	w.str(plural(r.Count, "failed attempt was", "failed attempts were")).str(" tried again, taking ").ms(r.Cost)
	if announced > 0 {
		w.str(" (").str(agree(announced, "1 more retry is", "%d more retries are")).str(" announced by log lines)")
	}
	if r.Outcome == model.OutcomeFailed {
		w.str(", and the last attempt failed too")
	} else {
		w.str(", and the last attempt succeeded")
	}
	return w.String()
}
