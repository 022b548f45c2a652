package demo

import (
	"encoding/hex"
	"fmt"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Instrumentation scope of every span the demo sends.
const (
	ScopeName    = "tracegap-demo"
	ScopeVersion = "1.0.0"
)

// TracesData converts traces to OTLP, one ResourceSpans per service (in
// order of first appearance) as an SDK exporter would send them.
//
// It returns TracesData rather than the collector's ExportTraceServiceRequest
// on purpose: both messages are `repeated ResourceSpans resource_spans = 1`,
// so their bytes are identical, and the collector package would pull gRPC
// gateway code into the module for nothing.
func TracesData(traces ...*Trace) (*tracepb.TracesData, error) {
	out := &tracepb.TracesData{}
	for _, t := range traces {
		tid, err := decodeID(t.TraceID, 16)
		if err != nil {
			return nil, fmt.Errorf("trace %q: %w", t.TraceID, err)
		}
		byService := map[string]*tracepb.ScopeSpans{}
		for i := range t.Spans {
			s := &t.Spans[i]
			ss, ok := byService[s.Service]
			if !ok {
				ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: ScopeName, Version: ScopeVersion}}
				byService[s.Service] = ss
				out.ResourceSpans = append(out.ResourceSpans, &tracepb.ResourceSpans{
					Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{stringKV("service.name", s.Service)}},
					ScopeSpans: []*tracepb.ScopeSpans{ss},
				})
			}
			ps, err := otlpSpan(tid, s)
			if err != nil {
				return nil, fmt.Errorf("trace %s span %q: %w", t.TraceID, s.SpanID, err)
			}
			ss.Spans = append(ss.Spans, ps)
		}
	}
	return out, nil
}

// MarshalTraces is TracesData encoded as protobuf: the body of an OTLP/HTTP
// POST /v1/traces with Content-Type application/x-protobuf.
func MarshalTraces(traces ...*Trace) ([]byte, error) {
	td, err := TracesData(traces...)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(td)
}

func otlpSpan(traceID []byte, s *Span) (*tracepb.Span, error) {
	sid, err := decodeID(s.SpanID, 8)
	if err != nil {
		return nil, err
	}
	var pid []byte
	if s.ParentID != "" {
		if pid, err = decodeID(s.ParentID, 8); err != nil {
			return nil, fmt.Errorf("parent: %w", err)
		}
	}
	ps := &tracepb.Span{
		TraceId:           traceID,
		SpanId:            sid,
		ParentSpanId:      pid,
		Name:              s.Name,
		Kind:              otlpKind(s.Kind),
		StartTimeUnixNano: uint64(s.Start.UnixNano()),
		EndTimeUnixNano:   uint64(s.End.UnixNano()),
		Status:            &tracepb.Status{},
	}
	if s.Error {
		ps.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: s.StatusMessage}
	}
	for _, a := range s.Attributes {
		switch v := a.Value.(type) {
		case string:
			ps.Attributes = append(ps.Attributes, stringKV(a.Key, v))
		case int64:
			ps.Attributes = append(ps.Attributes, &commonpb.KeyValue{Key: a.Key,
				Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}})
		default:
			return nil, fmt.Errorf("attribute %q: unsupported value type %T (use string or int64)", a.Key, a.Value)
		}
	}
	return ps, nil
}

func otlpKind(k Kind) tracepb.Span_SpanKind {
	switch k {
	case KindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case KindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	}
	return tracepb.Span_SPAN_KIND_INTERNAL
}

func stringKV(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// decodeID turns a hex id into its raw bytes, checking its length.
func decodeID(id string, size int) ([]byte, error) {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("id %q is not %d hex digits", id, 2*size)
	}
	return b, nil
}
