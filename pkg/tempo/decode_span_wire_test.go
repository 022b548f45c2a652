package tempo

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// referenceSpan is what spanDecoder replaced: the span unmarshalled into a
// tracepb.Span, then mapped. parse says the bytes are not a Span.
func referenceSpan(b []byte) (name string, sp fmt.Stringer, err error, parse bool) {
	var s tracepb.Span
	if err := unmarshalOpts.Unmarshal(b, &s); err != nil {
		return "", nil, err, true
	}
	var ids idCache
	m, err := mapSpan(&s, &ids)
	return s.GetName(), printed(fmt.Sprintf("%#v", m)), err, false
}

type printed string

func (p printed) String() string { return string(p) }

// checkSpanDecoder fails when spanDecoder and the reference disagree on b:
// parse error or not, the value error's text, or the span (compared
// printed, so that a NaN attribute equals itself).
func checkSpanDecoder(t *testing.T, b []byte) {
	t.Helper()
	name, want, wantErr, parse := referenceSpan(b)
	got, err := newSpanDecoder().decode(b)
	switch {
	case parse:
		if err == nil || !isProtoError(err) {
			t.Fatalf("%x: proto.Unmarshal fails (%v); the decoder says %v", b, wantErr, err)
		}
	case err != nil && isProtoError(err):
		t.Fatalf("%x: proto.Unmarshal reads it; the decoder says it is malformed: %v", b, err)
	case wantErr != nil || err != nil:
		if fmt.Sprint(wantErr) != fmt.Sprint(err) || got.Name != name {
			t.Fatalf("%x: value error %v (span %q), want %v (span %q)", b, err, got.Name, wantErr, name)
		}
	default:
		if g := fmt.Sprintf("%#v", got); g != want.String() {
			t.Fatalf("%x:\n got %s\nwant %s", b, g, want)
		}
	}
}

// spanSeeds are spans that exercise every field and protobuf's rules: the
// benchmark's spans, a span with every kind of value, the captures' spans,
// and hand-made wire that merges, repeats, mistypes and breaks fields.
func spanSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	add := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
		return b
	}
	for _, rs := range syntheticTrace(40).GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans()[:2] {
				add(s)
			}
		}
	}
	tid := []byte{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	av := func(v any) *commonpb.AnyValue {
		switch x := v.(type) {
		case string:
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: x}}
		case bool:
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: x}}
		case int64:
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: x}}
		case float64:
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: x}}
		case []byte:
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: x}}
		}
		return &commonpb.AnyValue{}
	}
	every := []*commonpb.KeyValue{
		{Key: "s", Value: av("x")}, {Key: "b", Value: av(true)}, {Key: "i", Value: av(int64(-7))},
		{Key: "f", Value: av(math.NaN())}, {Key: "bytes", Value: av([]byte{0, 1, 2})}, {Key: "empty", Value: av(nil)},
		{Key: "novalue"},
		{Key: "arr", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{av("a"), av(int64(1)), {}}}}}},
		{Key: "emptyarr", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}},
		{Key: "kv", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{Key: "a", Value: av("1")}, {Key: "a", Value: av("2")}, {Key: "n", Value: av(2.5)}}}}}},
		{Key: "emptykv", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}}},
		{Key: "strindex", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: 3}}},
	}
	base := add(&tracepb.Span{
		TraceId: tid, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, ParentSpanId: []byte{0, 0, 0, 0, 0, 0, 0, 9}, TraceState: "k=v",
		Name: "every value", Kind: tracepb.Span_SPAN_KIND_CONSUMER, StartTimeUnixNano: 5, EndTimeUnixNano: 3, Flags: 1,
		Attributes: every, DroppedAttributesCount: 2,
		Events: []*tracepb.Span_Event{{TimeUnixNano: 4, Name: "retry", Attributes: every[:3]}, {Name: "bare"}},
		Links: []*tracepb.Span_Link{
			{TraceId: tid, SpanId: []byte{9, 9, 9, 9, 9, 9, 9, 9}, Attributes: every[7:9]},
			{TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, SpanId: []byte{1}},
		},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
	})
	add(&tracepb.Span{TraceId: tid, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, ParentSpanId: make([]byte, 8), Kind: 42, Status: &tracepb.Status{Code: 9}})
	// Bad values: ids of the wrong length, a link's, a zero trace id.
	add(&tracepb.Span{TraceId: tid[:3], SpanId: []byte{1}, Name: "short"})
	add(&tracepb.Span{TraceId: tid, SpanId: make([]byte, 9), Name: "long span id"})
	add(&tracepb.Span{TraceId: tid, SpanId: []byte{1}, ParentSpanId: make([]byte, 12)})
	add(&tracepb.Span{TraceId: tid, SpanId: []byte{1}, Links: []*tracepb.Span_Link{{TraceId: tid}}})
	add(&tracepb.Span{TraceId: make([]byte, 16), SpanId: []byte{1}})
	add(&tracepb.Span{})

	// Hand-made wire, appended to the span of every value.
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	bytesField := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(tag(b, num, protowire.BytesType), v)
	}
	str := func(num protowire.Number, s string) []byte { return bytesField(nil, num, []byte(s)) }
	arr := func(vals ...[]byte) []byte {
		var a []byte
		for _, v := range vals {
			a = bytesField(a, 1, v)
		}
		return bytesField(nil, anyArray, a)
	}
	kv := func(key string, values ...[]byte) []byte {
		b := str(1, key)
		for _, v := range values {
			b = bytesField(b, 2, v)
		}
		return b
	}
	withField := func(extra []byte) []byte { return append(append([]byte{}, base...), extra...) }
	seeds = append(seeds,
		// A value sent twice: arrays merge, a string between them resets.
		withField(bytesField(nil, spanAttributes, kv("m", arr(str(anyString, "a")), arr(str(anyString, "b"))))),
		withField(bytesField(nil, spanAttributes, kv("m", arr(str(anyString, "a")), str(anyString, "s"), arr(str(anyString, "b"))))),
		withField(bytesField(nil, spanAttributes, kv("m", str(anyString, "s"), nil))),
		// Status sent twice merges; name sent twice: the last wins.
		withField(append(bytesField(nil, spanStatus, str(statusMessage, "first")), bytesField(nil, spanStatus, protowire.AppendVarint(tag(nil, statusCodeNum, protowire.VarintType), 2))...)),
		withField(str(spanName, "second name")),
		// Known fields with another wire type are unknown, and skipped.
		withField(protowire.AppendVarint(tag(nil, spanName, protowire.VarintType), 5)),
		withField(protowire.AppendFixed32(tag(nil, spanTraceID, protowire.Fixed32Type), 5)),
		withField(bytesField(nil, spanKindNum, []byte("x"))),
		withField(bytesField(nil, 99, []byte("unknown"))),
		withField(protowire.AppendVarint(tag(tag(nil, 100, protowire.StartGroupType), 1, protowire.VarintType), 1)),
		append(withField(protowire.AppendVarint(tag(tag(nil, 100, protowire.StartGroupType), 1, protowire.VarintType), 1)), tag(nil, 100, protowire.EndGroupType)...),
		// Malformed: bad UTF-8, truncation, a zero field number.
		withField(bytesField(nil, spanName, []byte{0xff, 0xfe})),
		withField(bytesField(nil, spanAttributes, kv("k", bytesField(nil, anyString, []byte{0xc3})))),
		withField(bytesField(nil, spanAttributes, bytesField(nil, keyValueKey, []byte{0xff}))),
		withField(bytesField(nil, spanEvents, bytesField(nil, eventName, []byte{0xff}))),
		base[:len(base)-1],
		withField([]byte{0}),
		withField(tag(nil, 100, protowire.EndGroupType)),
	)

	for _, name := range []string{"trace_v1_protobuf.pb", "trace_v2_protobuf.pb"} {
		b, err := os.ReadFile(filepath.Join(fixturesDir, "tempo", name))
		if err != nil {
			t.Fatalf("capture missing from the repository: %v", err)
		}
		if name == "trace_v2_protobuf.pb" {
			// v2 sends the trace as field 1 of its own message.
			if b, _, _, err = nextField(b); err != nil {
				t.Fatal(err)
			}
		}
		var td tracepb.TracesData
		if err := proto.Unmarshal(b, &td); err != nil {
			t.Fatal(err)
		}
		for _, rs := range td.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					add(s)
				}
			}
		}
	}
	return seeds
}

// TestSpanDecoderMatchesUnmarshal: every seed decodes as proto.Unmarshal
// and mapSpan decode it.
func TestSpanDecoderMatchesUnmarshal(t *testing.T) {
	seeds := spanSeeds(t)
	if len(seeds) < 60 {
		t.Fatalf("%d seeds: the captures' spans are missing", len(seeds))
	}
	for _, b := range seeds {
		checkSpanDecoder(t, b)
	}
}

// FuzzSpanDecoder: any bytes decode as proto.Unmarshal and mapSpan decode
// them, or fail as they do.
func FuzzSpanDecoder(f *testing.F) {
	for _, b := range spanSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSpanDecoder(t, b) })
}
