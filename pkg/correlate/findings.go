package correlate

import (
	"github.com/tracegap/correlator/pkg/model"
)

// finish appends the tree warnings after the findings and picks the top
// finding: the breakdown's headline (docs/analysis.md, "Top finding"), so
// that every surface naming one finding names the same one. Without a
// breakdown (no root span with a duration) the costliest gap or retry
// stands in.
func (s *state) finish() {
	for _, i := range s.byRank {
		for _, w := range s.late[i] {
			s.warn(i, w)
		}
	}
	s.a.TopFinding = s.a.Breakdown.Headline
	if s.a.TopFinding == "" {
		s.a.TopFinding = s.topFinding()
	}
}

// topFinding writes the costliest finding as one sentence that stands on
// its own (it names the service), for tables that show one line per
// trace: the gap with the most unaccounted time, else the longest gap,
// else the costliest retry. Ties go to the first in output order.
func (s *state) topFinding() string {
	a := s.a
	best := -1
	for k := range a.Gaps {
		g := &a.Gaps[k]
		if best < 0 {
			best = k
			continue
		}
		b := &a.Gaps[best]
		if g.Unaccounted > b.Unaccounted || g.Unaccounted == b.Unaccounted && b.Unaccounted == 0 && g.Duration() > b.Duration() {
			best = k
		}
	}
	if best >= 0 {
		return s.gapSummary(&a.Gaps[best])
	}
	for k := range a.Retries {
		if best < 0 || a.Retries[k].Cost > a.Retries[best].Cost {
			best = k
		}
	}
	if best >= 0 {
		r := &a.Retries[best]
		if r.Source == model.RetryFromSpans {
			return r.Sentence // it names the operation already
		}
		return spanLabel(s.t.Spans[r.SpanIndex].ServiceName, "", s.ids[r.SpanIndex]) + " " + r.Sentence
	}
	return ""
}

// gapSummary writes a gap as the seed's story tells it, e.g.
//
//	widget-service waited 800 ms for data-aggregator-b, whose span covers
//	400 ms of it; 400 ms is unaccounted (350 ms before data-aggregator-b
//	started, 50 ms after it ended), and data-aggregator-b spent 200 ms of its
//	time on a retry ("Prometheus query timed out after 200ms, retrying")
func (s *state) gapSummary(g *model.Gap) string {
	i := int32(g.SpanIndex)
	sp := &s.t.Spans[i]
	w := &writer{b: make([]byte, 0, 256)}
	who := sp.ServiceName
	if who == "" {
		who = s.label(i)
	}
	w.str(who).str(" waited ").ms(g.Duration())
	if len(g.Callees) == 0 {
		w.str(" between ")
		if g.FromMessage == "" {
			w.str("its span's start")
		} else {
			w.quote(g.FromMessage)
		}
		w.str(" and ")
		if g.ToMessage == "" {
			w.str("its span's end")
		} else {
			w.quote(g.ToMessage)
		}
		w.str(" while no child span ran; all of it is unaccounted")
	} else {
		// Name callees by service, or by operation when they are the
		// caller's own service (a database client span, say).
		var names []string
		for _, c := range g.Callees {
			n := c.ServiceName
			if n == sp.ServiceName || n == "" {
				n = c.Operation
			}
			if len(names) == 0 || names[len(names)-1] != n {
				names = append(names, n)
			}
		}
		callee := names[0]
		w.str(" for ")
		for k, n := range names {
			if k == maxListed {
				w.str(" and ").int(len(names) - maxListed).str(" more")
				break
			}
			if k > 0 {
				w.str(pick(k == len(names)-1, " and ", ", "))
			}
			w.str(n)
		}
		one := len(g.Callees) == 1
		switch {
		case g.InCallees == 0:
			w.str(pick(one, ", whose span covers none of it", ", whose spans cover none of it"))
		default:
			w.str(pick(one, ", whose span covers ", ", whose spans cover ")).ms(g.InCallees).str(" of it")
		}
		if g.Unaccounted > 0 {
			w.str("; ").ms(g.Unaccounted).str(" is unaccounted")
			if g.BeforeCallee > 0 || g.AfterCallee > 0 {
				w.str(" (")
				if g.BeforeCallee > 0 {
					w.ms(g.BeforeCallee).str(" before ").str(pick(len(names) == 1, callee, "the first")).str(" started")
				}
				if g.AfterCallee > 0 {
					if g.BeforeCallee > 0 {
						w.str(", ")
					}
					w.ms(g.AfterCallee).str(pick(len(names) == 1, " after it ended", " after the last ended"))
				}
				w.str(")")
			}
		}
		s.calleeRetries(w, g)
		if g.OutsideTimer > 0 {
			w.str("; the call's own timer says ").ms(g.Duration() - g.OutsideTimer)
		}
	}
	return w.String()
}

// calleeRetries adds the retries inside the callees (or below them) to a
// summary: they are often why the callee was slow.
func (s *state) calleeRetries(w *writer, g *model.Gap) {
	callee := map[string]bool{}
	for _, c := range g.Callees {
		callee[c.SpanID] = true
	}
	for k := range s.a.Retries {
		r := &s.a.Retries[k]
		// Walk up from the retry's span to see whether a callee is an
		// ancestor; the tree has no loops, and depth bounds the walk.
		j, in := int32(r.SpanIndex), false
		for steps := 0; j >= 0 && steps <= s.n; steps++ {
			if callee[s.ids[j]] {
				in = true
				break
			}
			j = s.parent[j]
		}
		if !in {
			continue
		}
		svc := s.t.Spans[r.SpanIndex].ServiceName
		w.str(", and ").str(svc).str(" spent ").ms(r.Cost).str(" of its time on ")
		if r.Source == model.RetryFromLogs {
			w.str("a retry (").quote(r.Message).str(")")
		} else {
			w.str(plural(r.Count, "failed attempt", "failed attempts")).str(" of ").str(r.Message)
		}
		return // the first is enough for one sentence
	}
}
