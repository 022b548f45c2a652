// Package bigtrace turns the engine's synthetic traces (pkg/correlate/synth)
// into what Tempo and Loki send over the wire: a Tempo v2 trace-by-id
// protobuf body and Loki query_range JSON pages. It holds the in-process
// fakes the end-to-end benchmarks and scale tests run the plugin against.
// Everything is deterministic for a given Config. It is for tests and
// benchmarks only.
package bigtrace

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/correlate/synth"
	"github.com/tracegap/correlator/pkg/model"
)

// TraceID is the id of every generated trace (synth's).
const TraceID = synth.TraceID

// Config says what to generate.
type Config struct {
	Spans        int // spans of the trace (at least 1)
	LinesPerSpan int // log entries per span, as synth makes them
	// ChattySpans spans (spread over the trace) log ChattyLines more lines
	// each, far over the trace view's per-span cap.
	ChattySpans int
	ChattyLines int
	Seed        uint64
}

// BatchSize is the most spans one ResourceSpans holds, as the OTel SDK's
// batch span processor exports them (its default max export batch size).
const BatchSize = 512

// Data is one generated trace with its logs.
type Data struct {
	// Trace is the trace as the Tempo body decodes: synth's spans with the
	// attributes, resource attributes and scope the body carries, in the
	// body's order (by service, then batch).
	Trace *model.Trace
	// Entries are every entry the fake Loki stores, time-ordered (ties in
	// stream order). Synth puts about 1% of them in another trace.
	Entries []model.LogEntry
	// TempoV2 is the body of GET /api/v2/traces/{TraceID} with Accept:
	// application/protobuf (a TraceByIDResponse around OTLP TracesData).
	TempoV2 []byte
}

// Generate builds the trace, its logs and the Tempo body for cfg.
func Generate(cfg Config) *Data {
	tr, entries := synth.Generate(synth.Config{Spans: cfg.Spans, LogsPerSpan: cfg.LinesPerSpan, Seed: cfg.Seed})
	entries = append(entries, chatty(tr, cfg, entries)...)
	// Time order across streams; synth's stream order breaks ties.
	slices.SortStableFunc(entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })

	td := OTLP(tr)
	inner, err := proto.Marshal(td)
	if err != nil {
		panic(fmt.Sprintf("bigtrace: marshal OTLP: %v", err)) // generated values always marshal
	}
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.BytesType)
	body = protowire.AppendBytes(body, inner)
	return &Data{Trace: modelOf(td), Entries: entries, TempoV2: body}
}

// chatty returns the extra lines of the chatty spans: evenly spaced
// "polling" lines, each naming the trace and the span like synth's lines.
func chatty(tr *model.Trace, cfg Config, entries []model.LogEntry) []model.LogEntry {
	if cfg.ChattySpans <= 0 || cfg.ChattyLines <= 0 || len(tr.Spans) == 0 {
		return nil
	}
	// Reuse synth's stream label slices so the extra lines share them.
	streams := map[string]model.Labels{}
	for _, e := range entries {
		if v, ok := e.Stream.Get("service_name"); ok {
			streams[v] = e.Stream
		}
	}
	var out []model.LogEntry
	step := max(len(tr.Spans)/cfg.ChattySpans, 1)
	for k := 0; k < cfg.ChattySpans && k*step < len(tr.Spans); k++ {
		sp := &tr.Spans[k*step+step/2]
		stream, ok := streams[sp.ServiceName]
		if !ok {
			stream = model.Labels{{Name: "service_name", Value: sp.ServiceName}}
		}
		d := sp.End.Sub(sp.Start)
		for j := range cfg.ChattyLines {
			t := sp.Start.Add(d * time.Duration(j+1) / time.Duration(cfg.ChattyLines+1))
			line := `{"timestamp":"` + t.Format("2006-01-02T15:04:05.000Z07:00") +
				`","level":"DEBUG","message":"polling job status, attempt ` + strconv.Itoa(j+1) +
				`","traceId":"` + sp.TraceID + `","spanId":"` + sp.SpanID + `"}`
			out = append(out, model.LogEntry{
				Time: t, Line: line, Stream: stream,
				Metadata: model.Labels{{Name: "detected_level", Value: "debug"}, {Name: "span_id", Value: sp.SpanID}, {Name: "trace_id", Value: sp.TraceID}},
			})
		}
	}
	return out
}

// OTLP encodes a trace as OTLP TracesData the way an instrumented fleet
// sends it: one ResourceSpans per service and export batch of at most
// BatchSize spans, each span with the attributes of an HTTP server span.
func OTLP(tr *model.Trace) *tracepb.TracesData {
	byService := map[string][]int{}
	var services []string
	for i := range tr.Spans {
		s := tr.Spans[i].ServiceName
		if _, ok := byService[s]; !ok {
			services = append(services, s)
		}
		byService[s] = append(byService[s], i)
	}
	td := &tracepb.TracesData{}
	for si, svc := range services {
		idx := byService[svc]
		for b := 0; b < len(idx); b += BatchSize {
			ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.63.0"}}
			for _, i := range idx[b:min(b+BatchSize, len(idx))] {
				ss.Spans = append(ss.Spans, otlpSpan(&tr.Spans[i], i))
			}
			td.ResourceSpans = append(td.ResourceSpans, &tracepb.ResourceSpans{
				Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
					str("service.name", svc),
					str("service.version", "1.4."+strconv.Itoa(si)),
					str("host.name", fmt.Sprintf("node-%d", si%4)),
					str("k8s.pod.name", fmt.Sprintf("%s-7d9f8b6c5-%05d", svc, si*7919%100000)),
					str("telemetry.sdk.language", "go"),
				}},
				ScopeSpans: []*tracepb.ScopeSpans{ss},
				SchemaUrl:  "https://opentelemetry.io/schemas/1.26.0",
			})
		}
	}
	return td
}

func otlpSpan(s *model.Span, i int) *tracepb.Span {
	route := s.Name[strings.IndexByte(s.Name, ' ')+1:]
	status := int64(200)
	if s.StatusCode == model.StatusError {
		status = 503
	}
	sp := &tracepb.Span{
		TraceId:           mustHex(s.TraceID),
		SpanId:            mustHex(s.SpanID),
		Name:              s.Name,
		Kind:              tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: uint64(s.Start.UnixNano()),
		EndTimeUnixNano:   uint64(s.End.UnixNano()),
		Attributes: []*commonpb.KeyValue{
			str("http.request.method", "GET"),
			str("http.route", route),
			str("url.path", route),
			{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: status}}},
			str("server.address", s.ServiceName),
			{Key: "network.protocol.version", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "1.1"}}},
		},
		Status: &tracepb.Status{},
	}
	if s.ParentSpanID != "" {
		sp.ParentSpanId = mustHex(s.ParentSpanID)
	}
	if s.StatusCode == model.StatusError {
		sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream unavailable"}
	}
	if i%10 == 0 { // EventCount depends on this rule
		sp.Events = []*tracepb.Span_Event{{TimeUnixNano: uint64(s.Start.UnixNano()) + 500_000, Name: EventName,
			Attributes: []*commonpb.KeyValue{str("cache.key", "item:"+strconv.Itoa(i))}}}
	}
	return sp
}

// modelOf is the model.Trace a correct decoder makes of td; tests compare
// the decoder's output with it.
func modelOf(td *tracepb.TracesData) *model.Trace {
	tr := &model.Trace{TraceID: TraceID}
	for _, rs := range td.ResourceSpans {
		res := kvs(rs.Resource.Attributes)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp := model.Span{
					TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId),
					ServiceName: res[0].Value.(string), Name: s.Name, Kind: model.KindServer,
					Start: time.Unix(0, int64(s.StartTimeUnixNano)).UTC(), End: time.Unix(0, int64(s.EndTimeUnixNano)).UTC(),
					StatusCode: model.StatusUnset, StatusMessage: s.Status.Message,
					Attributes: kvs(s.Attributes), ResourceAttributes: res,
					ScopeName: ss.Scope.Name, ScopeVersion: ss.Scope.Version,
				}
				if len(s.ParentSpanId) > 0 {
					sp.ParentSpanID = hex.EncodeToString(s.ParentSpanId)
				}
				if s.Status.Code == tracepb.Status_STATUS_CODE_ERROR {
					sp.StatusCode = model.StatusError
				}
				for _, e := range s.Events {
					sp.Events = append(sp.Events, model.SpanEvent{Time: time.Unix(0, int64(e.TimeUnixNano)).UTC(), Name: e.Name, Attributes: kvs(e.Attributes)})
				}
				tr.Spans = append(tr.Spans, sp)
			}
		}
	}
	return tr
}

func kvs(in []*commonpb.KeyValue) []model.KeyValue {
	out := make([]model.KeyValue, len(in))
	for i, kv := range in {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			out[i] = model.KeyValue{Key: kv.Key, Value: v.StringValue}
		case *commonpb.AnyValue_IntValue:
			out[i] = model.KeyValue{Key: kv.Key, Value: v.IntValue}
		}
	}
	return out
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("bigtrace: id %q: %v", s, err))
	}
	return b
}

// EventCount is how many span events a trace of spans spans carries (one
// on every tenth span): the engine makes each a log entry of its span.
func EventCount(spans int) int { return (spans + 9) / 10 }

// EventName names every span event of the generated trace (no generated log
// line has this message), so a test can tell events from lines.
const EventName = "cache miss"
