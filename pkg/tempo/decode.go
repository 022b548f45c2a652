package tempo

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/model"
)

// ErrTraceNotFound is reported when Tempo answers without any span: v1 says
// 404, v2 says 200 with an empty trace. Test for it with errors.Is.
var ErrTraceNotFound = errors.New("trace not found")

// TraceResult is one decoded trace-by-id answer.
type TraceResult struct {
	Trace *model.Trace
	// Partial is true when Tempo (v2) says it returned only part of the
	// trace, e.g. because the trace exceeds its size limit; Message says why.
	// The plugin shows both as a notice.
	Partial bool
	Message string
}

// v2 TraceByIDResponse field numbers (tempopb, not importable: AGPL).
const (
	v2FieldTrace   = 1 // Trace: wire-identical to OTLP TracesData
	v2FieldMetrics = 2
	v2FieldStatus  = 3 // PartialStatus enum: COMPLETE = 0, PARTIAL = 1
	v2FieldMessage = 4
	v2StatusPart   = 1
)

// unmarshalOpts drops unknown fields: we never re-encode, so keeping them
// would only cost memory.
var unmarshalOpts = proto.UnmarshalOptions{DiscardUnknown: true}

// DecodeTraceV1Protobuf decodes the body of Tempo's GET /api/traces/{id}
// with Accept: application/protobuf (tempopb.Trace, whose wire format is
// OTLP TracesData). A trace without spans is ErrTraceNotFound.
func DecodeTraceV1Protobuf(b []byte) (*TraceResult, error) {
	return decodeV1(b, nil)
}

// decodeV1 is DecodeTraceV1Protobuf, telling bounds the trace's time bounds
// before its spans are decoded (see decodeTracesData).
func decodeV1(b []byte, bounds BoundsFunc) (*TraceResult, error) {
	t, err := decodeTracesData(b, bounds)
	if err != nil {
		if isProtoError(err) {
			return nil, fmt.Errorf("decode Tempo trace (v1 protobuf): %w", err)
		}
		return nil, err
	}
	return &TraceResult{Trace: t}, nil
}

// DecodeTraceV2Protobuf decodes the body of Tempo's GET /api/v2/traces/{id}
// with Accept: application/protobuf (tempopb.TraceByIDResponse). Tempo
// answers an unknown id with 200 and an empty trace: that is
// ErrTraceNotFound here.
func DecodeTraceV2Protobuf(b []byte) (*TraceResult, error) {
	return decodeV2(b, nil)
}

// decodeV2 is DecodeTraceV2Protobuf, telling bounds the trace's time bounds
// before its spans are decoded (see decodeTracesData).
func decodeV2(b []byte, bounds BoundsFunc) (*TraceResult, error) {
	var (
		traceBytes []byte
		chunks     int
		res        TraceResult
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == v2FieldTrace && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): trace field: %w", protowire.ParseError(n))
			}
			b = b[n:]
			// A message field seen twice merges; for a message made only of a
			// repeated field, merging is concatenation.
			if chunks == 0 {
				traceBytes = v
			} else {
				traceBytes = append(append([]byte(nil), traceBytes...), v...)
			}
			chunks++
		case num == v2FieldStatus && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): status field: %w", protowire.ParseError(n))
			}
			b = b[n:]
			res.Partial = v == v2StatusPart
		case num == v2FieldMessage && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): message field: %w", protowire.ParseError(n))
			}
			b = b[n:]
			res.Message = string(v)
		case num == v2FieldTrace || num == v2FieldStatus || num == v2FieldMessage:
			return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): field %d has wire type %d; is this a v1 (/api/traces) body?", num, typ)
		default: // metrics (2) and anything newer
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	t, err := decodeTracesData(traceBytes, bounds)
	if err != nil {
		if isProtoError(err) {
			return nil, fmt.Errorf("decode Tempo trace (v2 protobuf): %w", err)
		}
		return nil, err
	}
	res.Trace = t
	return &res, nil
}

// DecodeTraceProtobuf decodes a Tempo trace in either protobuf version (for
// files whose origin is unknown). See looksLikeV2 for how it tells them apart.
func DecodeTraceProtobuf(b []byte) (*TraceResult, error) {
	if looksLikeV2(b) {
		res, err := DecodeTraceV2Protobuf(b)
		if err == nil || errors.Is(err, ErrTraceNotFound) {
			return res, err
		}
		if res1, err1 := DecodeTraceV1Protobuf(b); err1 == nil {
			return res1, nil
		}
		return nil, err
	}
	return DecodeTraceV1Protobuf(b)
}

// DecodeTrace decodes a Tempo trace in any form Tempo exports: JSON (v1
// {"batches"}, v2 {"trace"}, plain OTLP {"resourceSpans"}) or protobuf (v1
// or v2). It is meant for files, where the form is unknown.
func DecodeTrace(b []byte) (*TraceResult, error) {
	if looksLikeJSON(b) {
		res, err := DecodeTraceJSON(b)
		if err == nil || errors.Is(err, ErrTraceNotFound) {
			return res, err
		}
		// A protobuf body can start with bytes that look like JSON.
		if resPB, errPB := DecodeTraceProtobuf(b); errPB == nil {
			return resPB, nil
		}
		return nil, err
	}
	return DecodeTraceProtobuf(b)
}

func looksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// looksLikeV2 tells a v2 TraceByIDResponse from a v1 Trace. v1 holds only
// field 1 (repeated ResourceSpans); v2 holds field 1 once (Trace) and usually
// metrics/status/message. With a lone field 1, the inner message decides:
// a v2 Trace holds only field 1, while a v1 ResourceSpans has scope_spans
// (field 2) as soon as it has any span.
func looksLikeV2(b []byte) bool {
	ones := 0
	var inner []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num != 1 {
			return true
		}
		if typ != protowire.BytesType {
			return false
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		ones++
		if ones > 1 {
			return false
		}
		inner = v
	}
	if ones == 0 {
		return true // empty: not found in either version
	}
	for len(inner) > 0 {
		num, typ, n := protowire.ConsumeTag(inner)
		if n < 0 {
			return false
		}
		if num != 1 {
			return false
		}
		inner = inner[n:]
		n = protowire.ConsumeFieldValue(num, typ, inner)
		if n < 0 {
			return false
		}
		inner = inner[n:]
	}
	return true
}

// fromOTLP maps OTLP resource spans to a model.Trace. With mapSpan and
// resourceInfo it is the only place that knows how OTLP fields become model
// fields: JSON goes through it, and protobuf through decodeTracesData, which
// maps span by span with the same two functions.
func fromOTLP(rss []*tracepb.ResourceSpans) (*model.Trace, error) {
	n := 0
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			n += len(ss.GetSpans())
		}
	}
	if n == 0 {
		return nil, ErrTraceNotFound
	}
	spans := make([]model.Span, 0, n)
	var ids idCache
	for _, rs := range rss {
		resAttrs, service := resourceInfo(rs.GetResource())
		for _, ss := range rs.GetScopeSpans() {
			scope := ss.GetScope()
			for _, s := range ss.GetSpans() {
				sp, err := mapSpan(s, &ids)
				if err != nil {
					return nil, fmt.Errorf("decode Tempo trace: span %d (%q of %q): %w", len(spans), s.GetName(), service, err)
				}
				sp.ServiceName = service
				// Spans of one resource share its attribute slice: read-only.
				sp.ResourceAttributes = resAttrs
				sp.ScopeName = scope.GetName()
				sp.ScopeVersion = scope.GetVersion()
				spans = append(spans, sp)
			}
		}
	}
	return &model.Trace{TraceID: spans[0].TraceID, Spans: spans}, nil
}

func mapSpan(s *tracepb.Span, ids *idCache) (model.Span, error) {
	traceID, err := ids.traceID(s.GetTraceId())
	if err != nil {
		return model.Span{}, err
	}
	spanID, err := spanIDHex(s.GetSpanId(), "span id")
	if err != nil {
		return model.Span{}, err
	}
	parent := ""
	// Some SDKs send eight zero bytes instead of no parent: both mean root.
	if p := s.GetParentSpanId(); len(p) > 0 && !allZero(p) {
		if parent, err = spanIDHex(p, "parent span id"); err != nil {
			return model.Span{}, err
		}
	}
	sp := model.Span{
		TraceID:      traceID,
		SpanID:       spanID,
		ParentSpanID: parent,
		Name:         s.GetName(),
		Kind:         spanKind(s.GetKind()),
		Start:        unixNano(s.GetStartTimeUnixNano()),
		End:          unixNano(s.GetEndTimeUnixNano()),
		StatusCode:   model.StatusUnset,
		Attributes:   keyValues(s.GetAttributes()),
	}
	if st := s.GetStatus(); st != nil {
		sp.StatusCode = statusCode(st.GetCode())
		sp.StatusMessage = st.GetMessage()
	}
	if evs := s.GetEvents(); len(evs) > 0 {
		sp.Events = make([]model.SpanEvent, len(evs))
		for i, e := range evs {
			sp.Events[i] = model.SpanEvent{
				Time:       unixNano(e.GetTimeUnixNano()),
				Name:       e.GetName(),
				Attributes: keyValues(e.GetAttributes()),
			}
		}
	}
	if links := s.GetLinks(); len(links) > 0 {
		sp.Links = make([]model.SpanLink, len(links))
		for i, l := range links {
			tid, err := ids.traceID(l.GetTraceId())
			if err != nil {
				return model.Span{}, fmt.Errorf("link %d: %w", i, err)
			}
			sid, err := spanIDHex(l.GetSpanId(), "span id")
			if err != nil {
				return model.Span{}, fmt.Errorf("link %d: %w", i, err)
			}
			sp.Links[i] = model.SpanLink{TraceID: tid, SpanID: sid, Attributes: keyValues(l.GetAttributes())}
		}
	}
	return sp, nil
}

// idCache remembers the last trace id: every span of a trace repeats it, so
// hex-encoding it once saves an allocation per span.
type idCache struct {
	raw []byte
	hex string
}

func (c *idCache) traceID(raw []byte) (string, error) {
	if c.hex != "" && string(raw) == string(c.raw) {
		return c.hex, nil
	}
	if len(raw) == 0 || len(raw) > 16 {
		return "", fmt.Errorf("trace id has %d bytes; want 16 (or 8 for a 64-bit id)", len(raw))
	}
	id, ok := model.NormalizeTraceID(hex.EncodeToString(raw))
	if !ok || allZero(raw) {
		return "", fmt.Errorf("trace id %x is not valid", raw)
	}
	c.raw, c.hex = raw, id
	return id, nil
}

func spanIDHex(raw []byte, what string) (string, error) {
	if len(raw) == 0 || len(raw) > 8 {
		return "", fmt.Errorf("%s has %d bytes; want 8", what, len(raw))
	}
	if len(raw) == 8 {
		return hex.EncodeToString(raw), nil // already 16 lower-case digits
	}
	id, _ := model.NormalizeSpanID(hex.EncodeToString(raw))
	return id, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func unixNano(ns uint64) time.Time {
	return time.Unix(0, int64(ns)).UTC()
}

func spanKind(k tracepb.Span_SpanKind) model.SpanKind {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return model.KindInternal
	case tracepb.Span_SPAN_KIND_SERVER:
		return model.KindServer
	case tracepb.Span_SPAN_KIND_CLIENT:
		return model.KindClient
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return model.KindProducer
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return model.KindConsumer
	default:
		return model.KindUnspecified
	}
}

func statusCode(c tracepb.Status_StatusCode) model.StatusCode {
	switch c {
	case tracepb.Status_STATUS_CODE_OK:
		return model.StatusOK
	case tracepb.Status_STATUS_CODE_ERROR:
		return model.StatusError
	default:
		return model.StatusUnset
	}
}

func keyValues(kvs []*commonpb.KeyValue) []model.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]model.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = model.KeyValue{Key: kv.GetKey(), Value: anyValue(kv.GetValue())}
	}
	return out
}

// anyValue maps an OTLP AnyValue to the Go value model.KeyValue documents.
// Bytes become base64 (as OTLP JSON writes them); an empty value is nil.
func anyValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = anyValue(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		vals := x.KvlistValue.GetValues()
		out := make(map[string]any, len(vals))
		for _, kv := range vals {
			out[kv.GetKey()] = anyValue(kv.GetValue())
		}
		return out
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	default: // unset, or the profiling-only string index
		return nil
	}
}
