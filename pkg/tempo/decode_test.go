package tempo

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/model"
)

// fixturesDir holds the real captures, copied into the repository unchanged
// (pkg/internal/fixtures/testdata/real, with its README).
const fixturesDir = "../internal/fixtures/testdata/real"

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, rel))
	if err != nil {
		t.Fatalf("read capture %s: %v", rel, err)
	}
	return b
}

// scenarioSpan is a span as scenario.json records what was sent to Tempo.
type scenarioSpan struct {
	SeedID        string            `json:"seedId"`
	SpanID        string            `json:"spanId"`
	ParentSpanID  *string           `json:"parentSpanId"`
	Service       string            `json:"service"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	StartUnixNano string            `json:"startUnixNano"`
	EndUnixNano   string            `json:"endUnixNano"`
	Attributes    map[string]string `json:"attributes"`
}

type scenario struct {
	TraceID      string            `json:"traceId"`
	Spans        []scenarioSpan    `json:"spans"`
	OTLPRequests []json.RawMessage `json:"otlpRequests"`
}

func loadScenario(t testing.TB) scenario {
	t.Helper()
	var sc scenario
	if err := json.Unmarshal(readFixture(t, "scenario.json"), &sc); err != nil {
		t.Fatalf("scenario.json: %v", err)
	}
	if len(sc.Spans) != 9 {
		t.Fatalf("scenario.json has %d spans, want 9", len(sc.Spans))
	}
	return sc
}

func nanos(t testing.TB, s string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad nanos %q: %v", s, err)
	}
	return time.Unix(0, n).UTC()
}

// checkSeedTrace compares a decoded trace with scenario.json field by field.
func checkSeedTrace(t *testing.T, sc scenario, tr *model.Trace) {
	t.Helper()
	if tr.TraceID != sc.TraceID {
		t.Errorf("TraceID = %q, want %q", tr.TraceID, sc.TraceID)
	}
	if len(tr.Spans) != len(sc.Spans) {
		t.Fatalf("got %d spans, want %d", len(tr.Spans), len(sc.Spans))
	}
	byID := map[string]*model.Span{}
	for i := range tr.Spans {
		byID[tr.Spans[i].SpanID] = &tr.Spans[i]
	}
	for _, want := range sc.Spans {
		got, ok := byID[want.SpanID]
		if !ok {
			t.Errorf("%s (%s) missing", want.SeedID, want.SpanID)
			continue
		}
		wantParent := ""
		if want.ParentSpanID != nil {
			wantParent = *want.ParentSpanID
		}
		checks := []struct {
			field     string
			got, want any
		}{
			{"TraceID", got.TraceID, sc.TraceID},
			{"ParentSpanID", got.ParentSpanID, wantParent},
			{"ServiceName", got.ServiceName, want.Service},
			{"Name", got.Name, want.Name},
			{"Kind", got.Kind, model.SpanKind(strings.ToLower(want.Kind))},
			{"Start", got.Start, nanos(t, want.StartUnixNano)},
			{"End", got.End, nanos(t, want.EndUnixNano)},
			{"StatusCode", got.StatusCode, model.StatusUnset},
			{"StatusMessage", got.StatusMessage, ""},
			{"ScopeName", got.ScopeName, "gap-demo-fixtures"},
			{"ScopeVersion", got.ScopeVersion, "1.0.0"},
			{"ResourceAttributes", got.ResourceAttributes, []model.KeyValue{{Key: "service.name", Value: want.Service}}},
			{"Events", len(got.Events), 0},
			{"Links", len(got.Links), 0},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s %s = %#v, want %#v", want.SeedID, c.field, c.got, c.want)
			}
		}
		attrs := map[string]string{}
		for _, kv := range got.Attributes {
			s, ok := kv.Value.(string)
			if !ok {
				t.Errorf("%s attribute %s = %#v, want a string", want.SeedID, kv.Key, kv.Value)
			}
			attrs[kv.Key] = s
		}
		if !reflect.DeepEqual(attrs, want.Attributes) {
			t.Errorf("%s attributes = %v, want %v", want.SeedID, attrs, want.Attributes)
		}
	}
}

func TestDecodeTraceCaptures(t *testing.T) {
	sc := loadScenario(t)
	var otlpReq []byte = sc.OTLPRequests[0] // plain OTLP JSON: hex ids, numeric kinds
	cases := []struct {
		name   string
		body   []byte
		decode func([]byte) (*TraceResult, error)
	}{
		{"v1 protobuf", readFixture(t, "tempo/trace_v1_protobuf.pb"), DecodeTraceV1Protobuf},
		{"v1 protobuf time range", readFixture(t, "tempo/trace_v1_protobuf_time_range.pb"), DecodeTraceV1Protobuf},
		{"v2 protobuf", readFixture(t, "tempo/trace_v2_protobuf.pb"), DecodeTraceV2Protobuf},
		{"v1 JSON", readFixture(t, "tempo/trace_v1_json.json"), DecodeTraceJSON},
		{"v2 JSON", readFixture(t, "tempo/trace_v2_json.json"), DecodeTraceJSON},
		{"plain OTLP JSON (scenario request)", otlpReq, DecodeTraceJSON},
		{"auto: v1 protobuf", readFixture(t, "tempo/trace_v1_protobuf.pb"), DecodeTrace},
		{"auto: v2 protobuf", readFixture(t, "tempo/trace_v2_protobuf.pb"), DecodeTrace},
		{"auto: v1 JSON", readFixture(t, "tempo/trace_v1_json.json"), DecodeTrace},
		{"auto: v2 JSON", readFixture(t, "tempo/trace_v2_json.json"), DecodeTrace},
		{"protobuf auto: v1", readFixture(t, "tempo/trace_v1_protobuf.pb"), DecodeTraceProtobuf},
		{"protobuf auto: v2", readFixture(t, "tempo/trace_v2_protobuf.pb"), DecodeTraceProtobuf},
	}
	var first *model.Trace
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.decode(tc.body)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if res.Partial || res.Message != "" {
				t.Errorf("Partial = %v, Message = %q; want a complete trace", res.Partial, res.Message)
			}
			checkSeedTrace(t, sc, res.Trace)
			// Every form must give the very same model, order included.
			if first == nil {
				first = res.Trace
			} else if !reflect.DeepEqual(res.Trace, first) {
				t.Errorf("decoded trace differs from the v1 protobuf one")
			}
		})
	}
}

func TestDecodeTraceNotFound(t *testing.T) {
	cases := []struct {
		name   string
		body   []byte
		decode func([]byte) (*TraceResult, error)
	}{
		{"v2 protobuf 0a 00 12 00", readFixture(t, "tempo/trace_v2_not_found_protobuf.pb"), DecodeTraceV2Protobuf},
		{"v2 JSON {trace:{}}", readFixture(t, "tempo/trace_v2_not_found_json.json"), DecodeTraceJSON},
		{"v1 404 empty body", readFixture(t, "tempo/trace_v1_not_found_protobuf.txt"), DecodeTraceV1Protobuf},
		{"auto: v2 protobuf", readFixture(t, "tempo/trace_v2_not_found_protobuf.pb"), DecodeTrace},
		{"auto: v2 JSON", readFixture(t, "tempo/trace_v2_not_found_json.json"), DecodeTrace},
		{"v2 protobuf empty body", nil, DecodeTraceV2Protobuf},
		{"v1 JSON no batches", []byte(`{"batches":[]}`), DecodeTraceJSON},
		{"resource without spans", mustMarshal(t, &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", "x")}},
		}}}), DecodeTraceV1Protobuf},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.decode(tc.body)
			if !errors.Is(err, ErrTraceNotFound) {
				t.Fatalf("err = %v (result %+v), want ErrTraceNotFound", err, res)
			}
		})
	}
}

func TestDecodeTraceV2Partial(t *testing.T) {
	sc := loadScenario(t)
	// A v2 answer is the v1 Trace as field 1, plus status PARTIAL and a message.
	inner := readFixture(t, "tempo/trace_v1_protobuf.pb")
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, inner)
	b = protowire.AppendTag(b, 2, protowire.BytesType) // metrics: skipped
	b = protowire.AppendBytes(b, []byte{0x0a, 0x02, '4', '2'})
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "trace exceeds max size (max bytes: 5000000)")
	for _, dec := range []func([]byte) (*TraceResult, error){DecodeTraceV2Protobuf, DecodeTraceProtobuf, DecodeTrace} {
		res, err := dec(b)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Partial || res.Message != "trace exceeds max size (max bytes: 5000000)" {
			t.Errorf("Partial = %v, Message = %q", res.Partial, res.Message)
		}
		checkSeedTrace(t, sc, res.Trace)
	}

	// The same in v2 JSON.
	js := []byte(`{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"CvdlGRbNQ92ESOshHIAxnA==","spanId":"AAAAAAAAAKE=","name":"x"}]}]}]},"status":"PARTIAL","message":"cut"}`)
	res, err := DecodeTraceJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Message != "cut" || len(res.Trace.Spans) != 1 {
		t.Errorf("JSON partial: %+v", res)
	}
}

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeTraceAllFields covers what the captures do not: every AnyValue
// kind, events, links, error status, every span kind, a 64-bit trace id and
// an all-zero parent id, in protobuf and in spec OTLP JSON (hex ids, numeric
// enums) and Tempo JSON (base64 ids, enum names).
func TestDecodeTraceAllFields(t *testing.T) {
	tid64 := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	sid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	linkTID := []byte{0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			strAttr("service.name", "checkout"), strAttr("host.name", "h1"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "lib", Version: "2"},
			Spans: []*tracepb.Span{{
				TraceId: tid64, SpanId: sid, ParentSpanId: make([]byte, 8),
				Name: "op", Kind: tracepb.Span_SPAN_KIND_PRODUCER,
				StartTimeUnixNano: 1_000_000_123, EndTimeUnixNano: 2_000_000_456,
				Attributes: []*commonpb.KeyValue{
					strAttr("s", "v"),
					{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
					{Key: "i", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -42}}},
					{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}}},
					{Key: "bytes", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff, 0}}}},
					{Key: "arr", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
						{Value: &commonpb.AnyValue_IntValue{IntValue: 1}}, {Value: &commonpb.AnyValue_StringValue{StringValue: "two"}},
					}}}}},
					{Key: "kv", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
						strAttr("inner", "x"),
					}}}}},
					{Key: "empty", Value: &commonpb.AnyValue{}},
				},
				Events: []*tracepb.Span_Event{{TimeUnixNano: 1_500_000_000, Name: "exception", Attributes: []*commonpb.KeyValue{strAttr("exception.message", "boom")}}},
				Links:  []*tracepb.Span_Link{{TraceId: linkTID, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 9}, Attributes: []*commonpb.KeyValue{strAttr("l", "1")}}},
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "failed"},
			}},
		}},
	}}}
	kinds := []tracepb.Span_SpanKind{
		tracepb.Span_SPAN_KIND_UNSPECIFIED, tracepb.Span_SPAN_KIND_INTERNAL, tracepb.Span_SPAN_KIND_SERVER,
		tracepb.Span_SPAN_KIND_CLIENT, tracepb.Span_SPAN_KIND_CONSUMER, 99,
	}
	wantKinds := []model.SpanKind{model.KindUnspecified, model.KindInternal, model.KindServer, model.KindClient, model.KindConsumer, model.KindUnspecified}
	for i, k := range kinds {
		td.ResourceSpans[0].ScopeSpans[0].Spans = append(td.ResourceSpans[0].ScopeSpans[0].Spans, &tracepb.Span{
			TraceId: tid64, SpanId: []byte{0, 0, 0, 0, 0, 0, 1, byte(i)}, ParentSpanId: sid, Name: "k", Kind: k,
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		})
	}

	want0 := model.Span{
		TraceID: "0000000000000000123456789abcdef0", SpanID: "0102030405060708", ParentSpanID: "",
		ServiceName: "checkout", Name: "op", Kind: model.KindProducer,
		Start: time.Unix(1, 123).UTC(), End: time.Unix(2, 456).UTC(),
		StatusCode: model.StatusError, StatusMessage: "failed",
		Attributes: []model.KeyValue{
			{Key: "s", Value: "v"}, {Key: "b", Value: true}, {Key: "i", Value: int64(-42)}, {Key: "d", Value: 1.5},
			{Key: "bytes", Value: "/wA="}, {Key: "arr", Value: []any{int64(1), "two"}},
			{Key: "kv", Value: map[string]any{"inner": "x"}}, {Key: "empty", Value: nil},
		},
		ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: "checkout"}, {Key: "host.name", Value: "h1"}},
		Events:             []model.SpanEvent{{Time: time.Unix(1, 500_000_000).UTC(), Name: "exception", Attributes: []model.KeyValue{{Key: "exception.message", Value: "boom"}}}},
		Links:              []model.SpanLink{{TraceID: "abcd0000000000000000000000000001", SpanID: "0000000000000009", Attributes: []model.KeyValue{{Key: "l", Value: "1"}}}},
		ScopeName:          "lib", ScopeVersion: "2",
	}

	check := func(t *testing.T, res *TraceResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Trace.Spans[0]; !reflect.DeepEqual(got, want0) {
			t.Errorf("span 0:\n got %#v\nwant %#v", got, want0)
		}
		if res.Trace.TraceID != want0.TraceID {
			t.Errorf("trace id %q", res.Trace.TraceID)
		}
		for i, k := range wantKinds {
			s := res.Trace.Spans[i+1]
			if s.Kind != k || s.ParentSpanID != "0102030405060708" || s.StatusCode != model.StatusOK {
				t.Errorf("span %d: kind %q parent %q status %q; want kind %q", i+1, s.Kind, s.ParentSpanID, s.StatusCode, k)
			}
		}
	}
	pb := mustMarshal(t, td)
	t.Run("protobuf", func(t *testing.T) { res, err := DecodeTraceV1Protobuf(pb); check(t, res, err) })

	spanJSON := func(ids func([]byte) string, kind, code string) string {
		return `{"traceId":"` + ids(tid64) + `","spanId":"` + ids(sid) + `","parentSpanId":"` + ids(make([]byte, 8)) + `",
			"name":"op","kind":` + kind + `,"startTimeUnixNano":"1000000123","endTimeUnixNano":2000000456,
			"attributes":[{"key":"s","value":{"stringValue":"v"}},{"key":"b","value":{"boolValue":true}},
			{"key":"i","value":{"intValue":"-42"}},{"key":"d","value":{"doubleValue":1.5}},{"key":"bytes","value":{"bytesValue":"/wA="}},
			{"key":"arr","value":{"arrayValue":{"values":[{"intValue":1},{"stringValue":"two"}]}}},
			{"key":"kv","value":{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}}]}}},{"key":"empty","value":{}}],
			"events":[{"timeUnixNano":"1500000000","name":"exception","attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]}],
			"links":[{"traceId":"` + ids(linkTID) + `","spanId":"` + ids([]byte{0, 0, 0, 0, 0, 0, 0, 9}) + `","attributes":[{"key":"l","value":{"stringValue":"1"}}]}],
			"status":{"code":` + code + `,"message":"failed"}}`
	}
	kindJSON := func(ids func([]byte) string, names bool) string {
		var parts []string
		enum := []string{"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_CONSUMER", "99"}
		for i, k := range kinds {
			kind := strconv.Itoa(int(k))
			code := "1"
			if names {
				kind, code = `"`+enum[i]+`"`, `"STATUS_CODE_OK"`
			}
			parts = append(parts, `{"traceId":"`+ids(tid64)+`","spanId":"`+ids([]byte{0, 0, 0, 0, 0, 0, 1, byte(i)})+`","parentSpanId":"`+ids(sid)+`","name":"k","kind":`+kind+`,"status":{"code":`+code+`}}`)
		}
		return strings.Join(parts, ",")
	}
	resource := `"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"host.name","value":{"stringValue":"h1"}}]}`
	hexIDs, b64IDs := hexString, b64
	t.Run("OTLP JSON hex ids numeric enums", func(t *testing.T) {
		doc := `{"resourceSpans":[{` + resource + `,"scopeSpans":[{"scope":{"name":"lib","version":"2"},"spans":[` +
			spanJSON(hexIDs, "4", "2") + `,` + kindJSON(hexIDs, false) + `]}]}]}`
		res, err := DecodeTraceJSON([]byte(doc))
		check(t, res, err)
	})
	t.Run("Tempo v1 JSON base64 ids enum names", func(t *testing.T) {
		doc := `{"batches":[{` + resource + `,"scopeSpans":[{"scope":{"name":"lib","version":"2"},"spans":[` +
			spanJSON(b64IDs, `"SPAN_KIND_PRODUCER"`, `"STATUS_CODE_ERROR"`) + `,` + kindJSON(b64IDs, true) + `]}]}]}`
		res, err := DecodeTraceJSON([]byte(doc))
		check(t, res, err)
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func b64(b []byte) string {
	r, _ := json.Marshal(b) // encoding/json writes []byte as std base64
	return strings.Trim(string(r), `"`)
}

func TestDecodeTraceErrors(t *testing.T) {
	okSpan := func() *tracepb.Span {
		return &tracepb.Span{TraceId: make([]byte, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "s"}
	}
	one := func(mod func(*tracepb.Span)) []byte {
		s := okSpan()
		s.TraceId[15] = 1
		mod(s)
		return mustMarshal(t, &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{s}}}}}})
	}
	cases := []struct {
		name    string
		body    []byte
		decode  func([]byte) (*TraceResult, error)
		wantErr string
	}{
		{"garbage protobuf", []byte{0x0a, 0xff, 0xff}, DecodeTraceV1Protobuf, "v1 protobuf"},
		{"garbage v2", []byte{0x0a, 0x05, 0x01}, DecodeTraceV2Protobuf, "v2 protobuf"},
		{"v2 field 1 as varint", []byte{0x08, 0x01}, DecodeTraceV2Protobuf, "wire type"},
		{"truncated JSON", readFixture(t, "tempo/trace_v1_json.json")[:500], DecodeTraceJSON, "JSON"},
		{"span id of 9 bytes", one(func(s *tracepb.Span) { s.SpanId = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9} }), DecodeTraceV1Protobuf, "span id has 9 bytes; want 8"},
		{"no span id", one(func(s *tracepb.Span) { s.SpanId = nil }), DecodeTraceV1Protobuf, "span id has 0 bytes"},
		{"no trace id", one(func(s *tracepb.Span) { s.TraceId = nil }), DecodeTraceV1Protobuf, "trace id has 0 bytes"},
		{"zero trace id", one(func(s *tracepb.Span) { s.TraceId = make([]byte, 16) }), DecodeTraceV1Protobuf, "not valid"},
		{"bad JSON id", []byte(`{"batches":[{"scopeSpans":[{"spans":[{"traceId":"!!","spanId":"AAAAAAAAAKE="}]}]}]}`), DecodeTraceJSON, "neither base64 nor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.decode(tc.body)
			if err == nil || errors.Is(err, ErrTraceNotFound) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v (result %+v), want an error containing %q", err, res, tc.wantErr)
			}
		})
	}
}

func FuzzDecodeTraceProtobuf(f *testing.F) {
	for _, name := range []string{"trace_v1_protobuf.pb", "trace_v2_protobuf.pb", "trace_v2_not_found_protobuf.pb"} {
		f.Add(readFixture(f, "tempo/"+name))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dec := range []func([]byte) (*TraceResult, error){DecodeTraceV1Protobuf, DecodeTraceV2Protobuf, DecodeTraceProtobuf, DecodeTrace} {
			res, err := dec(b)
			if err != nil {
				if res != nil {
					t.Fatalf("error %v with a result", err)
				}
				continue
			}
			if len(res.Trace.Spans) == 0 {
				t.Fatal("a trace without spans must be ErrTraceNotFound")
			}
			for _, s := range res.Trace.Spans {
				if len(s.TraceID) != 32 || len(s.SpanID) != 16 || (s.ParentSpanID != "" && len(s.ParentSpanID) != 16) {
					t.Fatalf("ids not normalised: %q %q %q", s.TraceID, s.SpanID, s.ParentSpanID)
				}
			}
		}
	})
}
