package frames

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// bigAnalysis is a 10 000-span trace with 100 000 log lines (10 per span,
// a few spans far over the per-span cap, and some trace-level lines), built
// directly as model values.
func bigAnalysis(spans, lines int) *model.Analysis {
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	base := time.Date(2026, 11, 25, 16, 36, 37, 0, time.UTC)
	a := &model.Analysis{Trace: &model.Trace{TraceID: traceID}}
	a.Trace.Spans = make([]model.Span, spans)
	a.Figures = make([]model.SpanFigures, spans)
	services := 20
	streams := make([]model.Labels, services)
	for s := range streams {
		streams[s] = model.Labels{{Name: "env", Value: "prod"}, {Name: "service_name", Value: fmt.Sprintf("service-%02d", s)}}
	}
	for i := range a.Trace.Spans {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("%016x", (i-1)/4+1)
		}
		start := base.Add(time.Duration(i) * time.Millisecond)
		a.Trace.Spans[i] = model.Span{
			TraceID: traceID, SpanID: fmt.Sprintf("%016x", i+1), ParentSpanID: parent,
			ServiceName: fmt.Sprintf("service-%02d", i%services), Name: "GET /api/v1/items/{id}",
			Kind: model.KindServer, Start: start, End: start.Add(50 * time.Millisecond),
			StatusCode:         model.StatusOK,
			Attributes:         []model.KeyValue{{Key: "http.method", Value: "GET"}, {Key: "http.status_code", Value: int64(200)}, {Key: "http.url", Value: "/api/v1/items/42"}},
			ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: fmt.Sprintf("service-%02d", i%services)}, {Key: "host.name", Value: "node-1"}},
			ScopeName:          "otel-go", ScopeVersion: "1.30.0",
		}
		if i%10 == 0 {
			a.Trace.Spans[i].Events = []model.SpanEvent{{Time: start.Add(time.Millisecond), Name: "exception", Attributes: []model.KeyValue{{Key: "exception.message", Value: "boom"}}}}
		}
		a.Figures[i] = model.SpanFigures{SelfTime: 10 * time.Millisecond, Wait: 30 * time.Millisecond, Unaccounted: 5 * time.Millisecond, Warnings: []string{"waited 30 ms between \"a\" and \"b\": 25 ms in child, 5 ms unaccounted"}}
	}
	a.Logs = make([]model.Log, lines)
	for j := range a.Logs {
		span := j % spans
		if j%1000 == 999 {
			span = 7 // one span far over the cap
		}
		idx := span
		if j%5000 == 4999 {
			idx = -1
		}
		s := &a.Trace.Spans[span]
		ts := s.Start.Add(time.Duration(j/spans) * time.Millisecond)
		msg := fmt.Sprintf("processed item %d", j)
		a.Logs[j] = model.Log{
			Entry: &model.LogEntry{
				Time:   ts,
				Line:   fmt.Sprintf(`{"level":"info","message":%q,"traceId":%q,"spanId":%q,"duration_ms":3}`, msg, traceID, s.SpanID),
				Stream: streams[span%services],
			},
			TraceID: traceID, SpanID: s.SpanID, SpanIndex: idx, Message: msg, Level: "info",
			Fields:    model.Labels{{Name: "level", Value: "info"}, {Name: "message", Value: msg}, {Name: "traceId", Value: traceID}, {Name: "spanId", Value: s.SpanID}, {Name: "duration_ms", Value: "3"}},
			GapBefore: time.Millisecond,
		}
	}
	// Time-ordered, as the engine hands them over.
	sortLogs(a.Logs)
	return a
}

func sortLogs(logs []model.Log) {
	// Insertion by bucket is enough here: times are whole milliseconds.
	buckets := map[int64][]model.Log{}
	var keys []int64
	for _, l := range logs {
		k := l.Entry.Time.UnixMilli()
		if _, ok := buckets[k]; !ok {
			keys = append(keys, k)
		}
		buckets[k] = append(buckets[k], l)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	logs = logs[:0]
	for _, k := range keys {
		logs = append(logs, buckets[k]...)
	}
}

func BenchmarkTraceAndLogsFrames(b *testing.B) {
	a := bigAnalysis(10_000, 100_000)
	o := testOptions
	b.Run("trace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Trace(a, o)
		}
	})
	b.Run("logs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Logs(a, o)
		}
	})
	b.Run("trace+logs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Trace(a, o)
			_ = Logs(a, o)
		}
	})
}
