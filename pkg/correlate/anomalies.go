package correlate

import (
	"time"
)

// logTolerance is how far outside its span a log entry may be before it is
// an anomaly: log and span timestamps are often rounded differently.
const logTolerance = time.Millisecond

// findAnomalies warns about timing that cannot be right, each on the span
// it concerns: a span that ends before it starts, a child outside its
// parent (on the child), log entries outside their span (on that span),
// and a span whose logs and children both run past its end (its end time
// looks wrong: it ended before its work finished).
func (s *state) findAnomalies() {
	s.byLogShare(func(rlo, rhi int) {
		for _, i := range s.byRank[rlo:rhi] {
			s.spanAnomalies(i)
		}
	})
}

// spanAnomalies finds the anomalies of span i; it writes only to span i.
func (s *state) spanAnomalies(i int32) {
	tol := int64(logTolerance)
	sp := &s.t.Spans[i]
	if sp.End.Before(sp.Start) {
		s.warn(i, (&writer{}).str("ends ").ms(sp.Start.Sub(sp.End)).
			str(" before it starts, so its end time is wrong; its duration is taken as 0").String())
	}
	if p := s.parent[i]; p >= 0 {
		s.childOutside(i, p)
	}

	var before, after int
	var maxBefore, maxAfter int64
	for _, li := range s.spanLogs(i) {
		t := s.logT[li]
		if d := int64(dur(t, s.start[i])); d > tol { // saturates: t may be centuries off
			before++
			maxBefore = max(maxBefore, d)
		}
		if d := int64(dur(s.end[i], t)); d > tol {
			after++
			maxAfter = max(maxAfter, d)
		}
	}
	if before > 0 {
		s.warn(i, (&writer{}).str("has ").str(plural(before, "log line", "log lines")).
			str(" before its start (by up to ").ms(time.Duration(maxBefore)).str(")").String())
	}
	if after > 0 {
		s.warn(i, (&writer{}).str("has ").str(plural(after, "log line", "log lines")).
			str(" after its end (by up to ").ms(time.Duration(maxAfter)).str(")").String())
		s.endLooksWrong(i)
	}
}

// childOutside warns on child i when it is not inside its parent p.
func (s *state) childOutside(i, p int32) {
	st, en, ps, pe := s.start[i], s.end[i], s.start[p], s.end[p]
	if st >= ps && en <= pe {
		return
	}
	if st >= ps && s.isMessage(i, p) {
		return // a message is consumed after it is produced: no clock problem
	}
	w := &writer{}
	parent := s.label(p)
	switch {
	case st > pe:
		w.str("starts ").ms(dur(pe, st)).str(" after its parent ").str(parent).
			str(" ended (the parent's end time looks wrong, or the hosts' clocks disagree)")
	case en < ps:
		w.str("ends ").ms(dur(en, ps)).str(" before its parent ").str(parent).
			str(" started (the hosts' clocks disagree)")
	case st < ps && en > pe:
		w.str("starts ").ms(dur(st, ps)).str(" before its parent ").str(parent).
			str(" started and ends ").ms(dur(pe, en)).str(" after it ended (the hosts' clocks disagree)")
	case st < ps:
		w.str("starts ").ms(dur(st, ps)).str(" before its parent ").str(parent).
			str(" started (the hosts' clocks disagree)")
	default:
		w.str("ends ").ms(dur(pe, en)).str(" after its parent ").str(parent).
			str(" ended (the parent did not wait for it, or the hosts' clocks disagree)")
	}
	s.warn(i, w.String())
}

// endLooksWrong warns on span i, whose logs run past its end, when one of
// its children does too.
func (s *state) endLooksWrong(i int32) {
	var late []int32
	for _, c := range s.children(i) {
		if s.end[c] > s.end[i] && !s.isMessage(c, i) {
			late = append(late, c)
		}
	}
	if len(late) == 0 {
		return
	}
	w := &writer{}
	w.str("its end time looks wrong: its logs and ").str(pick(len(late) == 1, "its child ", "its children "))
	for k, c := range late {
		if k == maxListed {
			w.str(" and ").int(len(late) - maxListed).str(" more")
			break
		}
		if k > 0 {
			w.str(pick(k == len(late)-1, " and ", ", "))
		}
		w.str(s.label(c))
	}
	w.str(" run past it, so it ended before its work finished")
	s.warn(i, w.String())
}
