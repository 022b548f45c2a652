package plugin

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/model"
)

// messagingTrace is an order service that publishes a message and calls a
// route service ten times through a pool of 3 connections; billing
// consumes the message 180 ms after it was published (a child of the
// PRODUCER span), and an audit batch consumer links to it from its own
// root, 300 ms after.
func messagingTrace() *model.Trace {
	const tid = "5cf92f3577b34da6a3ce929d0e0e4737"
	t0 := seedBase.Add(2 * time.Hour)
	ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
	span := func(id, parent, svc, op string, kind model.SpanKind, start, end float64) model.Span {
		return model.Span{TraceID: tid, SpanID: id, ParentSpanID: parent, ServiceName: svc, Name: op, Kind: kind,
			Start: ms(start), End: ms(end), StatusCode: model.StatusUnset,
			ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: svc}}}
	}
	tr := &model.Trace{TraceID: tid, Spans: []model.Span{
		span("00000000000000a1", "", "shop", "POST /order", model.KindServer, 0, 400),
		span("00000000000000a2", "00000000000000a1", "shop", "orders publish", model.KindProducer, 10, 20),
		span("00000000000000a3", "00000000000000a2", "billing", "orders process", model.KindConsumer, 200, 260),
		span("00000000000000a4", "", "audit", "orders batch", model.KindConsumer, 320, 330),
	}}
	tr.Spans[3].Links = []model.SpanLink{{TraceID: tid, SpanID: "00000000000000a2"}}
	// Three slots: each call after the first three starts as another ends.
	free := []float64{30, 31, 32}
	for k, d := range []float64{50, 70, 90, 40, 40, 40, 40, 40, 40, 40} {
		slot := 0
		for j := range free {
			if free[j] < free[slot] {
				slot = j
			}
		}
		if k < 3 {
			slot = k
		}
		start := free[slot]
		free[slot] = start + d
		tr.Spans = append(tr.Spans, span(fmt.Sprintf("00000000000000b%d", k), "00000000000000a1", "route", "GET /route", model.KindClient, start, start+d))
	}
	return tr
}

func TestTraceQueryMessagingAndPools(t *testing.T) {
	tr := messagingTrace()
	srv := searchtest.Start(t, searchtest.Trace{Trace: tr})
	r := runQuery(t, manyContext(t, srv), QueryTypeTrace, `{"queryType":"trace","traceId":"`+tr.TraceID+`"}`, searchRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}

	queue := map[string]any{}
	for _, row := range rows(frameOf(t, r, "spans")) {
		queue[row["spanID"].(string)] = row["queue_ms"]
	}
	if queue["00000000000000a3"] != 180.0 || queue["00000000000000a4"] != 300.0 || queue["00000000000000a2"] != nil {
		t.Errorf("queue_ms by span %v: want 180 for the child consumer, 300 for the linked one, null elsewhere", queue)
	}

	for _, row := range rows(frameOf(t, r, "trace")) {
		if row["spanID"] != "00000000000000a3" {
			continue
		}
		tags, warnings := fmt.Sprintf("%s", row["tags"]), fmt.Sprintf("%s", row["warnings"])
		if !strings.Contains(tags, `{"key":"tracegap.queue_ms","value":180}`) {
			t.Errorf("consumer tags %s lack the queue time", tags)
		}
		if strings.Contains(warnings, "clocks disagree") || !strings.Contains(warnings, "the message waited 180 ms in the queue") {
			t.Errorf("consumer warnings %s: want the queue sentence and no clock anomaly", warnings)
		}
	}

	var kinds []string
	for _, row := range rows(frameOf(t, r, "findings")) {
		kinds = append(kinds, row["kind"].(string))
		if row["kind"] == "pool" {
			// Slots end at 80, 101, 122; the later calls run 80–120,
			// 101–141, 120–160, 122–162, 141–181, 160–200, 162–202.
			want := "10 calls to route GET /route ran at most 3 at a time: 172 ms from first start to last end; the longest took 90 ms"
			if row["sentence"] != want || row["calls"] != int64(10) || row["concurrency"] != int64(3) || row["spanID"] != "00000000000000a1" {
				t.Errorf("pool row %v, want %q", row, want)
			}
		}
	}
	if fmt.Sprint(kinds) != "[pool queue queue]" {
		t.Errorf("findings kinds %v, want a pool on the root and two queues", kinds)
	}
}
