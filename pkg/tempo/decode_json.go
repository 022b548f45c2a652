package tempo

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// DecodeTraceJSON decodes a Tempo trace written as JSON: v1
// {"batches":[…]}, v2 {"trace":{"resourceSpans":[…]}} or plain OTLP
// {"resourceSpans":[…]}. Ids may be base64 of the raw bytes (what Tempo
// writes) or hex (what the OTLP JSON spec writes); enums may be names or
// numbers; 64-bit integers may be strings or numbers. A trace without spans
// is ErrTraceNotFound.
func DecodeTraceJSON(b []byte) (*TraceResult, error) {
	var doc jsonTraceDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode Tempo trace (JSON): %w", err)
	}
	if doc.Batches == nil && doc.ResourceSpans == nil && doc.Trace == nil {
		return nil, errors.New(`decode Tempo trace (JSON): none of "batches", "trace" or "resourceSpans" is present; is this a Tempo trace?`)
	}
	batches := doc.Batches
	batches = append(batches, doc.ResourceSpans...)
	if doc.Trace != nil {
		batches = append(batches, doc.Trace.ResourceSpans...)
		batches = append(batches, doc.Trace.Batches...)
	}
	rss := make([]*tracepb.ResourceSpans, len(batches))
	for i := range batches {
		rss[i] = batches[i].otlp()
	}
	t, err := fromOTLP(rss)
	if err != nil {
		return nil, err
	}
	return &TraceResult{Trace: t, Partial: doc.Status.isPartial(), Message: doc.Message}, nil
}

type jsonTraceDoc struct {
	Batches       []jsonResourceSpans `json:"batches"`       // v1
	ResourceSpans []jsonResourceSpans `json:"resourceSpans"` // plain OTLP
	Trace         *struct {           // v2
		ResourceSpans []jsonResourceSpans `json:"resourceSpans"`
		Batches       []jsonResourceSpans `json:"batches"`
	} `json:"trace"`
	Status  jsonPartialStatus `json:"status"`
	Message string            `json:"message"`
}

// jsonPartialStatus is the v2 PartialStatus enum: "PARTIAL" or 1.
type jsonPartialStatus string

func (s *jsonPartialStatus) UnmarshalJSON(b []byte) error {
	*s = jsonPartialStatus(bytes.Trim(b, `"`))
	return nil
}

func (s jsonPartialStatus) isPartial() bool { return s == "PARTIAL" || s == "1" }

type jsonResourceSpans struct {
	Resource *struct {
		Attributes []jsonKeyValue `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []jsonScopeSpans `json:"scopeSpans"`
	// Older OTLP (and Tempo before 2.0) called scope spans this.
	InstrumentationLibrarySpans []jsonScopeSpans `json:"instrumentationLibrarySpans"`
}

type jsonScopeSpans struct {
	Scope                  *jsonScope `json:"scope"`
	InstrumentationLibrary *jsonScope `json:"instrumentationLibrary"`
	Spans                  []jsonSpan `json:"spans"`
}

type jsonScope struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSpan struct {
	TraceID           jsonID         `json:"traceId"`
	SpanID            jsonID         `json:"spanId"`
	ParentSpanID      jsonID         `json:"parentSpanId"`
	Name              string         `json:"name"`
	Kind              jsonEnum       `json:"kind"`
	StartTimeUnixNano jsonUint64     `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUint64     `json:"endTimeUnixNano"`
	Attributes        []jsonKeyValue `json:"attributes"`
	Events            []struct {
		TimeUnixNano jsonUint64     `json:"timeUnixNano"`
		Name         string         `json:"name"`
		Attributes   []jsonKeyValue `json:"attributes"`
	} `json:"events"`
	Links []struct {
		TraceID    jsonID         `json:"traceId"`
		SpanID     jsonID         `json:"spanId"`
		Attributes []jsonKeyValue `json:"attributes"`
	} `json:"links"`
	Status *struct {
		Code    jsonEnum `json:"code"`
		Message string   `json:"message"`
	} `json:"status"`
}

type jsonKeyValue struct {
	Key   string        `json:"key"`
	Value *jsonAnyValue `json:"value"`
}

type jsonAnyValue struct {
	StringValue *string     `json:"stringValue"`
	BoolValue   *bool       `json:"boolValue"`
	IntValue    *jsonInt64  `json:"intValue"`
	DoubleValue *jsonDouble `json:"doubleValue"`
	ArrayValue  *struct {
		Values []*jsonAnyValue `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []jsonKeyValue `json:"values"`
	} `json:"kvlistValue"`
	BytesValue *string `json:"bytesValue"`
}

func (rs *jsonResourceSpans) otlp() *tracepb.ResourceSpans {
	out := &tracepb.ResourceSpans{}
	if rs.Resource != nil {
		out.Resource = &resourcepb.Resource{Attributes: otlpKeyValues(rs.Resource.Attributes)}
	}
	for _, group := range [][]jsonScopeSpans{rs.ScopeSpans, rs.InstrumentationLibrarySpans} {
		for i := range group {
			ss := &group[i]
			o := &tracepb.ScopeSpans{Spans: make([]*tracepb.Span, len(ss.Spans))}
			scope := ss.Scope
			if scope == nil {
				scope = ss.InstrumentationLibrary
			}
			if scope != nil {
				o.Scope = &commonpb.InstrumentationScope{Name: scope.Name, Version: scope.Version}
			}
			for j := range ss.Spans {
				o.Spans[j] = ss.Spans[j].otlp()
			}
			out.ScopeSpans = append(out.ScopeSpans, o)
		}
	}
	return out
}

func (s *jsonSpan) otlp() *tracepb.Span {
	o := &tracepb.Span{
		TraceId:           s.TraceID,
		SpanId:            s.SpanID,
		ParentSpanId:      s.ParentSpanID,
		Name:              s.Name,
		Kind:              tracepb.Span_SpanKind(s.Kind.value(tracepb.Span_SpanKind_value, "SPAN_KIND_")),
		StartTimeUnixNano: uint64(s.StartTimeUnixNano),
		EndTimeUnixNano:   uint64(s.EndTimeUnixNano),
		Attributes:        otlpKeyValues(s.Attributes),
	}
	if s.Status != nil {
		o.Status = &tracepb.Status{
			Code:    tracepb.Status_StatusCode(s.Status.Code.value(tracepb.Status_StatusCode_value, "STATUS_CODE_")),
			Message: s.Status.Message,
		}
	}
	for _, e := range s.Events {
		o.Events = append(o.Events, &tracepb.Span_Event{
			TimeUnixNano: uint64(e.TimeUnixNano),
			Name:         e.Name,
			Attributes:   otlpKeyValues(e.Attributes),
		})
	}
	for _, l := range s.Links {
		o.Links = append(o.Links, &tracepb.Span_Link{
			TraceId:    l.TraceID,
			SpanId:     l.SpanID,
			Attributes: otlpKeyValues(l.Attributes),
		})
	}
	return o
}

func otlpKeyValues(kvs []jsonKeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = &commonpb.KeyValue{Key: kv.Key, Value: kv.Value.otlp()}
	}
	return out
}

func (v *jsonAnyValue) otlp() *commonpb.AnyValue {
	if v == nil {
		return nil
	}
	switch {
	case v.StringValue != nil:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: *v.StringValue}}
	case v.BoolValue != nil:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: *v.BoolValue}}
	case v.IntValue != nil:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(*v.IntValue)}}
	case v.DoubleValue != nil:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: float64(*v.DoubleValue)}}
	case v.ArrayValue != nil:
		arr := &commonpb.ArrayValue{Values: make([]*commonpb.AnyValue, len(v.ArrayValue.Values))}
		for i, e := range v.ArrayValue.Values {
			arr.Values[i] = e.otlp()
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
	case v.KvlistValue != nil:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: otlpKeyValues(v.KvlistValue.Values)}}}
	case v.BytesValue != nil:
		raw, err := base64.StdEncoding.DecodeString(*v.BytesValue)
		if err != nil {
			// Keep what was written rather than lose the attribute.
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: *v.BytesValue}}
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: raw}}
	default:
		return &commonpb.AnyValue{}
	}
}

// jsonID is a trace or span id: base64 of the raw bytes (Tempo, protojson)
// or hex (the OTLP JSON spec). The two never collide for valid ids: hex ids
// are 16 or 32 digits, base64 ids are 12 or 24 characters (11 or 22 raw).
type jsonID []byte

func (id *jsonID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*id = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("id must be a string: %w", err)
	}
	raw, err := decodeID(s)
	if err != nil {
		return err
	}
	*id = raw
	return nil
}

func decodeID(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) == 16 || len(s) == 32 {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("id %q is neither base64 nor 16/32 hex digits", s)
}

// jsonUint64 reads a uint64 written as a decimal string (proto3 JSON) or a number.
type jsonUint64 uint64

func (u *jsonUint64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*u = 0
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an unsigned integer, got %s", b)
	}
	*u = jsonUint64(v)
	return nil
}

// jsonInt64 reads an int64 written as a decimal string or a number.
type jsonInt64 int64

func (i *jsonInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" {
		*i = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*i = jsonInt64(v)
	return nil
}

// jsonDouble reads a number, or the strings proto3 JSON uses for NaN and ±Inf.
type jsonDouble float64

func (d *jsonDouble) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*d = jsonDouble(math.NaN())
		return nil
	case `"Infinity"`:
		*d = jsonDouble(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*d = jsonDouble(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(bytes.Trim(b, `"`)), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %s", b)
	}
	*d = jsonDouble(v)
	return nil
}

// jsonEnum is an enum written as its name ("SPAN_KIND_SERVER") or number.
type jsonEnum string

func (e *jsonEnum) UnmarshalJSON(b []byte) error {
	*e = jsonEnum(bytes.Trim(b, `"`))
	return nil
}

// value resolves the enum against the generated name table; names may omit
// the prefix ("SERVER"). Unknown names are 0 (unspecified/unset).
func (e jsonEnum) value(names map[string]int32, prefix string) int32 {
	s := string(e)
	if v, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int32(v)
	}
	if v, ok := names[s]; ok {
		return v
	}
	return names[prefix+s]
}
