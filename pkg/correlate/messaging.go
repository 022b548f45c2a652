package correlate

import (
	"strings"

	"github.com/tracegap/correlator/pkg/model"
)

// findQueues gives every CONSUMER span whose message came from a PRODUCER
// of the trace (its parent, or a span it links to) its queue time: its
// start − the producer's end, at least 0 (docs/analysis.md, "Messaging and
// bounded concurrency"). A consumer starting after its producer ended is
// how messaging works, so findAnomalies does not call it a clock problem.
func (s *state) findQueues() {
	for _, i := range s.byRank {
		sp := &s.t.Spans[i]
		if sp.Kind != model.KindConsumer {
			continue
		}
		p := s.producerOf(i)
		if p < 0 {
			continue
		}
		q := max(0, dur(s.end[p], s.start[i]))
		f := &s.a.Figures[i]
		f.Queue, f.HasQueue = q, true
		w := &writer{}
		if q > 0 {
			w.str("started ").ms(q).str(" after its producer ").str(s.label(p)).
				str(" ended: the message waited ").ms(q).str(" in the queue")
		} else {
			w.str("started before its producer ").str(s.label(p)).str(" ended: its message spent no time in the queue")
		}
		prod := &s.t.Spans[p]
		s.a.Findings = append(s.a.Findings, model.Finding{
			Kind: model.FindingQueue, SpanID: s.ids[i], SpanIndex: int(i),
			Service: prod.ServiceName, Operation: prod.Name,
			Duration: q, Start: prod.Start.Add(dur(s.start[p], s.end[p])), End: sp.Start,
			Sentence: w.String(),
		})
		s.warn(i, w.String())
	}
}

// producerOf returns the PRODUCER span consumer i's message came from: its
// parent when that is a PRODUCER, else the linked PRODUCER of this trace
// that ended last (a batch consumer links to several); -1 when none.
func (s *state) producerOf(i int32) int32 {
	if p := s.parent[i]; p >= 0 && s.t.Spans[p].Kind == model.KindProducer {
		return p
	}
	best := int32(-1)
	for _, l := range s.t.Spans[i].Links {
		if l.TraceID != "" {
			if tid, _ := model.NormalizeTraceID(l.TraceID); tid != s.traceID {
				continue // another trace's producer: its end is not in this trace
			}
		}
		id, ok := model.NormalizeSpanID(l.SpanID)
		if !ok {
			id = strings.ToLower(strings.TrimSpace(l.SpanID)) // as buildTree keys such ids
		}
		p, ok := s.index[id]
		if !ok || p == i || s.t.Spans[p].Kind != model.KindProducer {
			continue
		}
		if best < 0 || s.end[p] > s.end[best] {
			best = p
		}
	}
	return best
}

// isMessage reports whether child i is a CONSUMER of its PRODUCER parent p.
func (s *state) isMessage(i, p int32) bool {
	return s.t.Spans[i].Kind == model.KindConsumer && s.t.Spans[p].Kind == model.KindProducer
}
