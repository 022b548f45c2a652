package tempo

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracegap/correlator/pkg/model"
)

// wholeDecode is the reference decodeTracesData must agree with: one
// unmarshal of the whole TracesData, then fromOTLP.
func wholeDecode(b []byte) (*model.Trace, error) {
	var td tracepb.TracesData
	if err := unmarshalOpts.Unmarshal(b, &td); err != nil {
		return nil, &protoError{err}
	}
	return fromOTLP(td.ResourceSpans)
}

// sameDecode fails unless decodeTracesData and wholeDecode agree on b: the
// same trace, or the same kind of error (malformed, not found, or the same
// complaint about a value).
func sameDecode(t *testing.T, name string, b []byte) {
	t.Helper()
	want, wantErr := wholeDecode(b)
	var (
		calls       int
		first, last time.Time
	)
	got, err := decodeTracesData(b, func(f, l time.Time) { calls, first, last = calls+1, f, l })
	if calls > 1 {
		t.Fatalf("%s: bounds told %d times", name, calls)
	}
	if err == nil {
		// What the trace's log query is started with must be what it
		// would be started with after decoding.
		wf, wl := got.Bounds()
		if calls != 1 || !first.Equal(wf) || !last.Equal(wl) {
			t.Fatalf("%s: bounds told %d times, last [%v, %v], want once [%v, %v]", name, calls, first, last, wf, wl)
		}
	}
	switch {
	case wantErr == nil && err == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decoded traces differ", name)
		}
	case wantErr == nil || err == nil:
		t.Fatalf("%s: error %v, want %v", name, err, wantErr)
	case isProtoError(wantErr) != isProtoError(err):
		t.Fatalf("%s: error %v, want %v", name, err, wantErr)
	case errors.Is(wantErr, ErrTraceNotFound) != errors.Is(err, ErrTraceNotFound):
		t.Fatalf("%s: error %v, want %v", name, err, wantErr)
	case !isProtoError(err) && err.Error() != wantErr.Error():
		t.Fatalf("%s: error %q, want %q", name, err, wantErr)
	}
}

func TestDecodeTracesDataMatchesWholeUnmarshal(t *testing.T) {
	for _, n := range []int{1, 9, parallelSpans - 1, parallelSpans, 3000} {
		b := mustMarshal(t, syntheticTrace(n))
		for _, procs := range []int{1, 2, 5} {
			prev := runtime.GOMAXPROCS(procs)
			sameDecode(t, "synthetic", b)
			runtime.GOMAXPROCS(prev)
		}
	}
	sameDecode(t, "real v1 capture", readFixture(t, "tempo/trace_v1_protobuf.pb"))

	span := func(id byte, name string) *tracepb.Span {
		return &tracepb.Span{TraceId: []byte{15: 1}, SpanId: []byte{7: id}, Name: name}
	}
	field := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	res := func(k, v string) []byte {
		return mustMarshal(t, &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}}})
	}
	scope := func(name string) []byte { return mustMarshal(t, &commonpb.InstrumentationScope{Name: name}) }
	ss := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	spanField := func(s *tracepb.Span) []byte { return field(nil, scopeSpansSpans, mustMarshal(t, s)) }
	wrap := func(rs []byte) []byte { return field(nil, tracesDataResourceSpans, rs) }

	cases := map[string][]byte{
		"resource after its spans": wrap(ss(field(nil, resourceSpansScopeSpans, spanField(span(1, "a"))), field(nil, resourceSpansResource, res("service.name", "late")))),
		"resource twice merges": wrap(ss(field(nil, resourceSpansResource, res("service.name", "one")), field(nil, resourceSpansResource, res("host.name", "h")),
			field(nil, resourceSpansScopeSpans, spanField(span(1, "a"))))),
		"scope twice merges": wrap(field(nil, resourceSpansScopeSpans, ss(field(nil, scopeSpansScope, scope("x")), spanField(span(1, "a")), field(nil, scopeSpansScope, scope("y"))))),
		"known field as varint": append(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5),
			wrap(field(nil, resourceSpansScopeSpans, spanField(span(1, "a"))))...),
		"empty resource spans":         wrap(nil),
		"empty span":                   wrap(field(nil, resourceSpansScopeSpans, field(nil, scopeSpansSpans, nil))),
		"bad schema url":               wrap(ss(field(nil, resourceSpansSchemaURL, []byte{0xff}), field(nil, resourceSpansScopeSpans, spanField(span(1, "a"))))),
		"bad scope schema url":         wrap(field(nil, resourceSpansScopeSpans, ss(field(nil, scopeSpansSchemaURL, []byte{0xc3}), spanField(span(1, "a"))))),
		"bad span name":                wrap(field(nil, resourceSpansScopeSpans, bytes.Replace(spanField(span(1, "a")), []byte("\x2a\x01a"), []byte("\x2a\x01\xff"), 1))),
		"unknown fields everywhere":    append(field(nil, 9, []byte("x")), wrap(ss(field(nil, 7, nil), field(nil, resourceSpansScopeSpans, ss(field(nil, 8, []byte{1}), spanField(span(1, "a"))))))...),
		"a bad value, then a bad body": wrap(field(nil, resourceSpansScopeSpans, ss(spanField(&tracepb.Span{Name: "no ids"}), field(nil, scopeSpansSpans, []byte{0x0a, 0xff})))),
		"truncated":                    wrap(field(nil, resourceSpansScopeSpans, spanField(span(1, "a"))))[:9],
		"nothing":                      nil,
		// Scalars occurring twice: the last wins, for the bounds too.
		"times twice": wrap(field(nil, resourceSpansScopeSpans, field(nil, scopeSpansSpans,
			protowire.AppendFixed64(protowire.AppendTag(protowire.AppendFixed64(protowire.AppendTag(
				mustMarshal(t, &tracepb.Span{TraceId: []byte{15: 1}, SpanId: []byte{7: 1}, StartTimeUnixNano: 50, EndTimeUnixNano: 90}),
				spanStartTime, protowire.Fixed64Type), 20), spanEndTime, protowire.Fixed64Type), 70)))),
		"times with the wrong wire type": wrap(field(nil, resourceSpansScopeSpans, field(nil, scopeSpansSpans,
			protowire.AppendVarint(protowire.AppendTag(mustMarshal(t, &tracepb.Span{TraceId: []byte{15: 1}, SpanId: []byte{7: 1}, StartTimeUnixNano: 50, EndTimeUnixNano: 90}),
				spanStartTime, protowire.VarintType), 20)))),
		"no times":                      wrap(field(nil, resourceSpansScopeSpans, ss(spanField(span(1, "a")), spanField(span(2, "b"))))),
		"two bad values, the first one": wrap(field(nil, resourceSpansScopeSpans, ss(spanField(&tracepb.Span{Name: "first"}), spanField(&tracepb.Span{Name: "second"})))),
	}
	for name, b := range cases {
		sameDecode(t, name, b)
	}

	// Damaged copies of a trace large enough to be decoded in parallel.
	body := mustMarshal(t, syntheticTrace(parallelSpans*2))
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 300 {
		b := append([]byte(nil), body...)
		switch n % 3 {
		case 0:
			b = b[:rng.IntN(len(b))]
		default:
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
		}
		sameDecode(t, "damaged", b)
	}
}

// FuzzDecodeTracesData: the span-by-span decoder agrees with one unmarshal
// of the whole message on any input.
func FuzzDecodeTracesData(f *testing.F) {
	f.Add(mustMarshal(f, syntheticTrace(3)))
	f.Add(readFixture(f, "tempo/trace_v1_protobuf.pb"))
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		sameDecode(t, "fuzz", b)
	})
}
