package correlate

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

func TestQueues(t *testing.T) {
	root := sp{id: "f0", svc: "shop", op: "POST /order", start: 0, end: 100, kind: model.KindServer}
	producer := sp{id: "p1", parent: "f0", svc: "shop", op: "orders publish", start: 20, end: 40, kind: model.KindProducer}
	tests := []struct {
		name      string
		spans     []sp
		consumer  string
		queue     float64 // -1: no queue time
		sentence  string
		anomalous bool // the consumer keeps a clock warning
	}{
		{
			name: "a consumer 180 ms after its producer parent: queue time, not a clock anomaly",
			spans: []sp{root, producer,
				{id: "c1", parent: "p1", svc: "billing", op: "orders process", start: 220, end: 300, kind: model.KindConsumer}},
			consumer: "c1", queue: 180,
			sentence: "started 180 ms after its producer shop orders publish ended: the message waited 180 ms in the queue",
		},
		{
			name: "a consumer linked to its producer",
			spans: []sp{root, producer,
				{id: "c1", svc: "billing", op: "orders process", start: 90, end: 300, kind: model.KindConsumer, links: []string{"p1"}}},
			consumer: "c1", queue: 50,
		},
		{
			name: "a consumer that started before its producer ended spent no time in the queue",
			spans: []sp{root, producer,
				{id: "c1", parent: "p1", svc: "billing", op: "orders process", start: 35, end: 60, kind: model.KindConsumer}},
			consumer: "c1", queue: 0,
			sentence: "started before its producer shop orders publish ended: its message spent no time in the queue",
		},
		{
			name: "a consumer under a span that is not a producer is still checked",
			spans: []sp{root,
				{id: "c1", parent: "f0", svc: "billing", op: "orders process", start: 220, end: 300, kind: model.KindConsumer}},
			consumer: "c1", queue: -1, anomalous: true,
		},
		{
			name: "a link to a span that is not a producer gives no queue time",
			spans: []sp{root, {id: "x1", parent: "f0", svc: "shop", op: "render", start: 20, end: 40},
				{id: "c1", svc: "billing", op: "orders process", start: 90, end: 300, kind: model.KindConsumer, links: []string{"x1"}}},
			consumer: "c1", queue: -1,
		},
	}
	// A link to a producer of another trace says nothing of this one's clock.
	foreign := mkTrace(root, producer, sp{id: "c1", svc: "billing", op: "orders process", start: 90, end: 300, kind: model.KindConsumer})
	foreign.Spans[2].Links = []model.SpanLink{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "p1"}}
	if a := Analyze(foreign, nil, Options{}); a.Figures[2].HasQueue || len(a.Findings) != 0 {
		t.Errorf("a link to another trace's span gave a queue time: %+v", a.Findings)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), nil, Options{})
			c := slices.IndexFunc(a.Trace.Spans, func(s model.Span) bool { return s.SpanID == tc.consumer })
			f := a.Figures[c]
			if tc.queue < 0 {
				if f.HasQueue || len(a.Findings) != 0 {
					t.Fatalf("queue %v (has %v), findings %+v: want none", f.Queue, f.HasQueue, a.Findings)
				}
			} else {
				if !f.HasQueue || f.Queue != msd(tc.queue) {
					t.Fatalf("queue %v (has %v), want %v ms", f.Queue, f.HasQueue, tc.queue)
				}
				if len(a.Findings) != 1 || a.Findings[0].Kind != model.FindingQueue || a.Findings[0].Duration != msd(tc.queue) ||
					a.Findings[0].SpanID != pad16(tc.consumer) || !slices.Contains(f.Warnings, a.Findings[0].Sentence) {
					t.Fatalf("findings %+v, warnings %q", a.Findings, f.Warnings)
				}
				if tc.sentence != "" && a.Findings[0].Sentence != tc.sentence {
					t.Errorf("sentence\n got %q\nwant %q", a.Findings[0].Sentence, tc.sentence)
				}
			}
			clock := slices.ContainsFunc(f.Warnings, func(w string) bool { return strings.Contains(w, "clocks disagree") })
			if clock != tc.anomalous {
				t.Errorf("clock warning %v, want %v: %q", clock, tc.anomalous, f.Warnings)
			}
		})
	}
}
