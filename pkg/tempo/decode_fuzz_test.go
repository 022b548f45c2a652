package tempo

import (
	"os"
	"path/filepath"
	"testing"
)

// addCaptures seeds f with the named captures; one missing from the
// repository fails the target.
func addCaptures(f *testing.F, names ...string) {
	f.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(fixturesDir, "tempo", name))
		if err != nil {
			f.Fatalf("capture missing from the repository: %v", err)
		}
		f.Add(b)
	}
}

// FuzzDecodeTraceJSON: Tempo's JSON trace answers (v1 batches, v2
// envelope, base64 ids) decode without a panic, and every decoded span has
// normalised ids; a trace without spans is ErrTraceNotFound, never empty.
func FuzzDecodeTraceJSON(f *testing.F) {
	addCaptures(f, "trace_v1_json.json", "trace_v2_json.json", "trace_v2_not_found_json.json")
	f.Add([]byte(`{"batches":[{"scopeSpans":[{"spans":[{"traceId":"CvdlGRbNQ92ESOshHIAxnA==","spanId":"AAAAAAAAAKE=","startTimeUnixNano":"1","endTimeUnixNano":"0"}]}]}]}`))
	f.Add([]byte(`{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000a1","parentSpanId":"00000000000000a1","kind":7}]}]}]},"status":"PARTIAL","message":"too big"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := DecodeTraceJSON(b)
		if err != nil {
			if res != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if len(res.Trace.Spans) == 0 {
			t.Fatal("a trace without spans must be ErrTraceNotFound")
		}
		for _, s := range res.Trace.Spans {
			if len(s.TraceID) != 32 || len(s.SpanID) != 16 || (s.ParentSpanID != "" && len(s.ParentSpanID) != 16) {
				t.Fatalf("ids not normalised: %q %q %q", s.TraceID, s.SpanID, s.ParentSpanID)
			}
		}
	})
}

// FuzzDecodeSearch: TraceQL search answers decode without a panic into
// normalised trace ids (Tempo strips their leading zeros on the wire).
func FuzzDecodeSearch(f *testing.F) {
	addCaptures(f, "search_traceql_service.json", "search_traceql_service_duration.json")
	f.Add([]byte(`{"traces":[{"traceID":"a4","durationMs":-5,"startTimeUnixNano":"x"}]}`))
	f.Add([]byte(`{"traces":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := DecodeSearch(b)
		if err != nil {
			return
		}
		for _, r := range rs {
			if len(r.TraceID) != 32 {
				t.Fatalf("trace id %q not normalised", r.TraceID)
			}
		}
	})
}
