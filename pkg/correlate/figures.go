package correlate

import (
	"slices"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// clockTolerance is how far apart two clocks may be before a difference is
// called a skew rather than rounding.
const clockTolerance = time.Millisecond

// computeFigures fills self time, network time and the per-service,
// per-operation and per-trace sums. Wait and unaccounted per span were
// summed by findGaps and retries by findRetries.
func (s *state) computeFigures() {
	a := s.a
	for i := range int32(s.n) {
		f := &a.Figures[i]
		f.SelfTime = s.selfTime(i)
		s.network(i)
	}

	services := map[string]*model.GroupFigures{}
	type opKey struct{ service, op string }
	ops := map[opKey]*model.GroupFigures{}
	for i := range s.t.Spans {
		sp, f := &s.t.Spans[i], &a.Figures[i]
		g := services[sp.ServiceName]
		if g == nil {
			g = &model.GroupFigures{ServiceName: sp.ServiceName}
			services[sp.ServiceName] = g
		}
		o := ops[opKey{sp.ServiceName, sp.Name}]
		if o == nil {
			o = &model.GroupFigures{ServiceName: sp.ServiceName, Operation: sp.Name}
			ops[opKey{sp.ServiceName, sp.Name}] = o
		}
		for _, g := range [...]*model.GroupFigures{g, o, &a.Total} {
			g.Wait += f.Wait
			g.Unaccounted += f.Unaccounted
			g.Retries += f.Retries
			g.Spans++
		}
	}
	a.Services = make([]model.GroupFigures, 0, len(services))
	for _, g := range services {
		a.Services = append(a.Services, *g)
	}
	a.Operations = make([]model.GroupFigures, 0, len(ops))
	for _, g := range ops {
		a.Operations = append(a.Operations, *g)
	}
	byName := func(x, y model.GroupFigures) int {
		if c := strings.Compare(x.ServiceName, y.ServiceName); c != 0 {
			return c
		}
		return strings.Compare(x.Operation, y.Operation)
	}
	slices.SortFunc(a.Services, byName)
	slices.SortFunc(a.Operations, byName)
}

// selfTime is the span's duration minus the union of its children's
// intervals clipped to the span.
func (s *state) selfTime(i int32) time.Duration {
	lo, hi := s.start[i], s.end[i]
	var covered, c0, c1 int64
	open := false
	for k := s.childOff[i]; k < s.childOff[i+1]; k++ { // sorted by start
		a, b := max(s.kStart[k], lo), min(s.kEnd[k], hi)
		if b <= a {
			continue
		}
		switch {
		case !open:
			c0, c1, open = a, b, true
		case a > c1:
			covered += c1 - c0
			c0, c1 = a, b
		default:
			c1 = max(c1, b)
		}
	}
	if open {
		covered += c1 - c0
	}
	return max(0, dur(lo, hi)-time.Duration(covered))
}

// network measures, for a CLIENT span whose single child is the SERVER span
// of another service, how much of the call the server did not see: the
// network, the callee's queue and connection set-up. A negative difference
// means the two hosts' clocks disagree.
func (s *state) network(i int32) {
	kids := s.children(i)
	sp := &s.t.Spans[i]
	if sp.Kind != model.KindClient || len(kids) != 1 {
		return
	}
	c := kids[0]
	child := &s.t.Spans[c]
	if child.Kind != model.KindServer || child.ServiceName == sp.ServiceName {
		return
	}
	call, served := dur(s.start[i], s.end[i]), dur(s.start[c], s.end[c])
	f := &s.a.Figures[i]
	f.Network, f.HasNetwork = call-served, true
	w := &writer{}
	switch {
	case f.Network >= s.opts.MinGap:
		w.ms(f.Network).str(" of this call is not in ").str(s.label(c)).
			str("'s span (network, queueing in the callee, connection set-up): the call took ").ms(call).
			str(", the server ").ms(served)
	case f.Network < -clockTolerance:
		w.str(s.label(c)).str("'s span lasts ").ms(-f.Network).
			str(" longer than this call, which is impossible on one clock: the two hosts' clocks disagree")
	default:
		return
	}
	s.warn(i, w.String())
}
