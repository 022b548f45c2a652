package tempo

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// syntheticTrace builds a deterministic trace of n spans over 20 services:
// a tree (each span's parent is an earlier span), six attributes per span,
// an event on every tenth span and a link on every hundredth, like a busy
// request fanning out.
func syntheticTrace(n int) *tracepb.TracesData {
	rng := rand.New(rand.NewPCG(1, 2))
	traceID := []byte{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	const services = 20
	td := &tracepb.TracesData{}
	scopes := make([]*tracepb.ScopeSpans, services)
	for s := range services {
		scopes[s] = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "io.opentelemetry.http", Version: "1.2.3"}}
		td.ResourceSpans = append(td.ResourceSpans, &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
				strAttr("service.name", fmt.Sprintf("service-%02d", s)),
				strAttr("k8s.pod.name", fmt.Sprintf("service-%02d-7d9f8b6c5-x2x4z", s)),
				strAttr("host.name", fmt.Sprintf("node-%d", s%4)),
			}},
			ScopeSpans: []*tracepb.ScopeSpans{scopes[s]},
		})
	}
	spanID := func(i int) []byte {
		b := make([]byte, 8)
		v := uint64(i+1) * 0x9e3779b97f4a7c15
		for k := range 8 {
			b[k] = byte(v >> (8 * k))
		}
		return b
	}
	base := uint64(1795624597000000000)
	for i := range n {
		start := base + uint64(i)*100_000 + rng.Uint64N(50_000)
		sp := &tracepb.Span{
			TraceId: traceID, SpanId: spanID(i), Name: fmt.Sprintf("GET /api/v1/items/%d", i%50),
			Kind: tracepb.Span_SpanKind(1 + i%3), StartTimeUnixNano: start, EndTimeUnixNano: start + 1_000_000 + rng.Uint64N(5_000_000),
			Attributes: []*commonpb.KeyValue{
				strAttr("http.method", "GET"),
				strAttr("http.url", fmt.Sprintf("http://service-%02d/api/v1/items/%d", i%services, i%50)),
				{Key: "http.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}},
				strAttr("db.statement", "SELECT id, name, price FROM items WHERE id = $1"),
				{Key: "retry", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i%7 == 0}}},
				{Key: "load", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: rng.Float64()}}},
			},
			Status: &tracepb.Status{},
		}
		if i > 0 {
			sp.ParentSpanId = spanID(rng.IntN(i))
		}
		if i%10 == 0 {
			sp.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 500, Name: "cache miss", Attributes: []*commonpb.KeyValue{strAttr("cache.key", fmt.Sprint("item:", i))}}}
		}
		if i%100 == 0 {
			sp.Links = []*tracepb.Span_Link{{TraceId: traceID, SpanId: spanID(0)}}
		}
		scopes[i%services].Spans = append(scopes[i%services].Spans, sp)
	}
	return td
}

func TestSyntheticTraceDecodes(t *testing.T) {
	pb := mustMarshal(t, syntheticTrace(1000))
	res, err := DecodeTraceV1Protobuf(pb)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trace.Spans) != 1000 || res.Trace.Spans[0].ServiceName != "service-00" || len(res.Trace.Spans[0].Events) != 1 {
		t.Errorf("%d spans, first %+v", len(res.Trace.Spans), res.Trace.Spans[0])
	}
	roots := 0
	for _, s := range res.Trace.Spans {
		if s.ParentSpanID == "" {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("%d roots", roots)
	}
}

func BenchmarkDecodeTraceProtobuf(b *testing.B) {
	for _, n := range []int{9, 10_000} {
		v1 := mustMarshal(b, syntheticTrace(n))
		var v2 []byte
		v2 = protowire.AppendTag(v2, 1, protowire.BytesType)
		v2 = protowire.AppendBytes(v2, v1)
		for _, tc := range []struct {
			name   string
			body   []byte
			decode func([]byte) (*TraceResult, error)
		}{
			{"v1", v1, DecodeTraceV1Protobuf},
			{"v2", v2, DecodeTraceV2Protobuf},
			// What the plugin runs: the bounds read off the wire first,
			// for the log query to start while the spans decode.
			{"v2-with-bounds", v2, func(b []byte) (*TraceResult, error) {
				return decodeV2(b, func(first, last time.Time) {})
			}},
			// The naive baseline: one unmarshal of the whole TracesData,
			// then mapping (what DecodeTraceV1Protobuf did before it
			// decoded span by span on all CPUs).
			{"v1-whole-unmarshal", v1, func(b []byte) (*TraceResult, error) {
				t, err := wholeDecode(b)
				return &TraceResult{Trace: t}, err
			}},
		} {
			b.Run(fmt.Sprintf("%s-%d-spans", tc.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(tc.body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := tc.decode(tc.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
