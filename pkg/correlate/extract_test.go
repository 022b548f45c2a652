package correlate

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

func TestExtract(t *testing.T) {
	const (
		tid   = "0af7651916cd43dd8448eb211c80319c"
		sid   = "00000000000000a4"
		tid16 = "8448eb211c80319c" // a 64-bit (Jaeger/Zipkin) trace id
	)
	md := func(kv ...string) model.Labels {
		var ls model.Labels
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, model.Label{Name: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	tests := []struct {
		name    string
		entry   model.LogEntry
		opts    Options
		trace   string
		span    string
		message string
		level   string
		stated  time.Duration // -1: none
		kept    string        // the names of the fields left, less those read as ids, message and level
	}{
		{
			name:  "JSON line as the seed writes it",
			entry: model.LogEntry{Line: `{"timestamp":"2026-11-25T16:36:38.850Z","level":"INFO","message":"Received response from data aggregator B","traceId":"` + tid + `","spanId":"` + sid + `","duration_ms":400}`},
			trace: tid, span: sid, message: "Received response from data aggregator B", level: "info", stated: 400 * time.Millisecond, kept: "timestamp duration_ms",
		},
		{
			name:  "logfmt line",
			entry: model.LogEntry{Line: `ts=2026-11-25T16:36:38.510Z level=info msg="proxied GET /dashboard upstream=dashboard-service status=200" trace_id=` + tid + ` span_id=00000000000000a1 duration_ms=1510`},
			trace: tid, span: "00000000000000a1", message: "proxied GET /dashboard upstream=dashboard-service status=200", level: "info", stated: 1510 * time.Millisecond, kept: "ts duration_ms",
		},
		{
			name: "structured metadata only: the whole line is the message",
			entry: model.LogEntry{Line: "connection pool exhausted, waiting",
				Metadata: md("detected_level", "warn", "span_id", sid, "trace_id", tid)},
			trace: tid, span: sid, message: "connection pool exhausted, waiting", level: "warn", stated: -1,
		},
		{
			name: "uncategorized response: metadata merged into stream labels",
			entry: model.LogEntry{Line: "plain text",
				Stream: md("detected_level", "info", "service_name", "x", "span_id", sid, "trace_id", tid)},
			trace: tid, span: sid, message: "plain text", level: "info", stated: -1,
		},
		{
			name: "line fields win over structured metadata",
			entry: model.LogEntry{Line: `{"traceId":"` + tid + `","spanId":"00000000000000a8","level":"ERROR","msg":"boom"}`,
				Metadata: md("span_id", sid, "detected_level", "info")},
			trace: tid, span: "00000000000000a8", message: "boom", level: "error", stated: -1,
		},
		{
			name: "Loki's _extracted key is the line's value and beats the colliding label",
			entry: model.LogEntry{Line: "unparsable by us",
				Stream: md("span_id", "00000000000000ff", "span_id_extracted", sid, "trace_id", tid)},
			trace: tid, span: sid, message: "unparsable by us", stated: -1,
		},
		{
			name: "Loki's parsed labels count as the line's fields, before metadata",
			entry: model.LogEntry{Line: "GET /x 200 12ms",
				Parsed:   md("span_id_extracted", sid, "msg", "parsed message", "elapsed_ms", "12.5"),
				Metadata: md("span_id", "00000000000000ff", "trace_id", tid)},
			trace: tid, span: sid, message: "parsed message", stated: 12500 * time.Microsecond,
		},
		{
			name:  "64-bit trace id and upper-case span id are normalised",
			entry: model.LogEntry{Line: `{"traceID":"` + "8448EB211C80319C" + `","spanID":"A4","message":"m"}`},
			trace: "0000000000000000" + tid16, span: "00000000000000a4", message: "m", stated: -1,
		},
		{
			name: "an id that is not hex is passed over for a later source",
			entry: model.LogEntry{Line: `{"traceId":"abc123xyz","spanId":"span-4","message":"m"}`,
				Metadata: md("trace_id", tid, "span_id", sid)},
			trace: tid, span: sid, message: "m", stated: -1, kept: "traceId spanId",
		},
		{
			name:    "message keys in order: message before msg before log",
			entry:   model.LogEntry{Line: `{"log":"third","msg":"second","message":"first"}`},
			message: "first", stated: -1, kept: "log msg",
		},
		{
			name:    "an empty message falls through to the next key",
			entry:   model.LogEntry{Line: `{"message":"  ","log":"the log"}`},
			message: "the log", stated: -1, kept: "message",
		},
		{
			name:    "duration as a Go duration string",
			entry:   model.LogEntry{Line: `{"message":"m","duration":"1.5s"}`},
			message: "m", stated: 1500 * time.Millisecond, kept: "duration",
		},
		{
			name:    "duration as a number of milliseconds",
			entry:   model.LogEntry{Line: `{"message":"m","duration":"250"}`},
			message: "m", stated: 250 * time.Millisecond, kept: "duration",
		},
		{
			name:    "duration_ms is preferred to elapsed_ms and duration",
			entry:   model.LogEntry{Line: `{"duration":"1s","elapsed_ms":7,"duration_ms":"200","message":"m"}`},
			message: "m", stated: 200 * time.Millisecond, kept: "duration elapsed_ms duration_ms",
		},
		{
			name:    "negative, non-numeric and absurd durations are ignored",
			entry:   model.LogEntry{Line: `{"duration_ms":-5,"elapsed_ms":"soon","duration":"1e300","message":"m"}`},
			message: "m", stated: -1, kept: "duration_ms elapsed_ms duration",
		},
		{
			name:  "nested objects are flattened with _ as Loki does",
			entry: model.LogEntry{Line: `{"trace":{"id":"x"},"span":{"id":"` + sid + `"},"trace_id":"` + tid + `","message":"m","tags":[1,{"a":"}"}]}`},
			opts:  Options{SpanIDFields: []string{"span_id"}},
			trace: tid, span: sid, message: "m", stated: -1, kept: "trace_id tags",
		},
		{
			name:  "escapes are decoded",
			entry: model.LogEntry{Line: `{"message":"say \"hi\"\n\u00e9\ud83d\ude00","traceId":"` + tid + `"}`},
			trace: tid, message: "say \"hi\"\né😀", stated: -1,
		},
		{
			name:  "a line cut short keeps the fields before the cut",
			entry: model.LogEntry{Line: `{"traceId":"` + tid + `","spanId":"` + sid + `","message":"very long mess`},
			trace: tid, span: sid, message: `{"traceId":"` + tid + `","spanId":"` + sid + `","message":"very long mess`, stated: -1,
		},
		{
			name:  "custom keys",
			entry: model.LogEntry{Line: `tid=` + tid + ` sid=` + sid + ` text="custom" sev=WARNING took=3`},
			opts: Options{TraceIDFields: []string{"tid"}, SpanIDFields: []string{"sid"}, MessageFields: []string{"text"},
				LevelFields: []string{"sev"}, MillisFields: []string{"took"}},
			trace: tid, span: sid, message: "custom", level: "warning", stated: 3 * time.Millisecond, kept: "took",
		},
		{
			name:    "empty line",
			entry:   model.LogEntry{},
			message: "", stated: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Extract(&tc.entry, tc.opts)
			if l.TraceID != tc.trace || l.SpanID != tc.span || l.Message != tc.message || l.Level != tc.level {
				t.Errorf("got trace %q span %q message %q level %q;\nwant trace %q span %q message %q level %q",
					l.TraceID, l.SpanID, l.Message, l.Level, tc.trace, tc.span, tc.message, tc.level)
			}
			if tc.stated < 0 && l.HasStated || tc.stated >= 0 && (!l.HasStated || l.Stated != tc.stated) {
				t.Errorf("stated %v (has %v), want %v", l.Stated, l.HasStated, tc.stated)
			}
			var kept []string
			for _, f := range l.Fields {
				kept = append(kept, f.Name)
			}
			if got := strings.Join(kept, " "); got != tc.kept {
				t.Errorf("fields %v, want %q", l.Fields, tc.kept)
			}
			if l.SpanIndex != -1 || l.GapBefore != 0 {
				t.Errorf("SpanIndex %d GapBefore %v before the join, want -1 and 0", l.SpanIndex, l.GapBefore)
			}
			if l.Entry.Line != tc.entry.Line {
				t.Errorf("entry not kept")
			}
		})
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want model.Labels
	}{
		{`{}`, nil},
		{` {"a":"1", "b" : 2 ,"c":true,"d":null}`, ls(L("a", "1"), L("b", "2"), L("c", "true"), L("d", ""))},
		{`{"a":{"b":{"c":"x"}},"n":[1,2]}`, ls(L("a_b_c", "x"), L("n", "[1,2]"))},
		{`{"a":"1",}`, ls(L("a", "1"))},
		{`{"a":"1" "b":"2"}`, ls(L("a", "1"))},
		{`{"a":"\x"}`, nil},
		{`a=1 b="two words" c= d e="x\"y" "free" f=`, ls(L("a", "1"), L("b", "two words"), L("c", ""), L("e", `x"y`), L("f", ""))},
		{`just some words`, nil},
		{`=x k=v`, ls(L("k", "v"))},
		{`k="unterminated`, ls(L("k", "unterminated"))},
	}
	for _, tc := range tests {
		if got, _ := parseLine(nil, tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("parseLine(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestLowerLevel(t *testing.T) {
	for in, want := range map[string]string{"INFO": "info", "info": "info", "Warn": "warn", "ERROR": "error",
		"": "", "NOTICE": "notice", "ÉRR": "érr"} {
		if got := lowerLevel(in); got != want {
			t.Errorf("lowerLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := Options{}.withDefaults()
	want := DefaultOptions()
	if got.MinGap != 100*time.Millisecond || got.RetryPattern.String() != DefaultRetryPattern ||
		!slices.Equal(got.TraceIDFields, want.TraceIDFields) || !slices.Equal(got.LevelFields, want.LevelFields) ||
		!slices.Equal(got.MillisFields, []string{"duration_ms", "elapsed_ms"}) || !slices.Equal(got.DurationFields, []string{"duration"}) {
		t.Errorf("zero options did not take the defaults: %+v", got)
	}
	custom := Options{MinGap: time.Second, RetryPattern: regexp.MustCompile("again")}.withDefaults()
	if custom.MinGap != time.Second || custom.RetryPattern.String() != "again" {
		t.Errorf("set options were replaced: %+v", custom)
	}
}

// L and ls write labels briefly.
func L(name, value string) model.Label { return model.Label{Name: name, Value: value} }

func ls(l ...model.Label) model.Labels { return l }
