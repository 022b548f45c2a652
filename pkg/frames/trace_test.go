package frames

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// traceLog is one entry of the trace frame's logs field, as Grafana reads it.
type traceLog struct {
	Timestamp float64 `json:"timestamp"`
	Name      string  `json:"name"`
	Fields    []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"fields"`
}

func (l traceLog) field(key string) (any, bool) {
	for _, f := range l.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// rowOf finds the row whose spanID is id.
func rowOf(t *testing.T, f *data.Frame, id string) int {
	t.Helper()
	field, _ := f.FieldByName("spanID")
	for i := 0; i < field.Len(); i++ {
		if field.At(i).(string) == id {
			return i
		}
	}
	t.Fatalf("no row for span %s", id)
	return -1
}

// decode reads a json.RawMessage cell into v, failing on invalid JSON.
func decode(t *testing.T, f *data.Frame, field string, row int, v any) {
	t.Helper()
	fl, _ := f.FieldByName(field)
	if fl == nil {
		t.Fatalf("frame %s has no field %s", f.Name, field)
	}
	raw := fl.At(row).(json.RawMessage)
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s[%d] is not valid JSON: %v\n%s", field, row, err, raw)
	}
}

func TestTraceFrameSchema(t *testing.T) {
	f := Trace(seedAnalysis(), testOptions)
	want := []struct {
		name string
		typ  data.FieldType
	}{
		{"traceID", data.FieldTypeString},
		{"spanID", data.FieldTypeString},
		{"parentSpanID", data.FieldTypeString},
		{"operationName", data.FieldTypeString},
		{"serviceName", data.FieldTypeString},
		{"serviceTags", data.FieldTypeJSON},
		{"startTime", data.FieldTypeFloat64},
		{"duration", data.FieldTypeFloat64},
		{"logs", data.FieldTypeJSON},
		{"references", data.FieldTypeJSON},
		{"tags", data.FieldTypeJSON},
		{"kind", data.FieldTypeString},
		{"statusCode", data.FieldTypeInt64},
		{"statusMessage", data.FieldTypeString},
		{"instrumentationLibraryName", data.FieldTypeString},
		{"instrumentationLibraryVersion", data.FieldTypeString},
		{"warnings", data.FieldTypeJSON},
	}
	if len(f.Fields) != len(want) {
		t.Fatalf("trace frame has %d fields, want %d", len(f.Fields), len(want))
	}
	for i, w := range want {
		if f.Fields[i].Name != w.name || f.Fields[i].Type() != w.typ {
			t.Errorf("field %d = %s %s, want %s %s", i, f.Fields[i].Name, f.Fields[i].Type(), w.name, w.typ)
		}
	}
	if f.Name != "trace" || f.RefID != "A" || f.Meta.PreferredVisualization != data.VisTypeTrace || f.Meta.ExecutedQueryString == "" {
		t.Errorf("frame name/refId/meta = %q %q %+v", f.Name, f.RefID, f.Meta)
	}
	if rows, _ := f.RowLen(); rows != 9 {
		t.Errorf("rows = %d, want one per span (9)", rows)
	}
	// Every JSON cell must parse: Grafana drops a frame it cannot read.
	for _, name := range []string{"serviceTags", "logs", "references", "tags", "warnings"} {
		for row := 0; row < 9; row++ {
			var v any
			decode(t, f, name, row, &v)
			if _, ok := v.([]any); !ok {
				t.Errorf("%s[%d] = %T, want a JSON array", name, row, v)
			}
		}
	}
}

func TestTraceFrameValues(t *testing.T) {
	a := seedAnalysis()
	f := Trace(a, testOptions)
	at := func(field string, row int) any { fl, _ := f.FieldByName(field); return fl.At(row) }

	w := rowOf(t, f, "00000000000000a4")
	if got := at("startTime", w).(float64); got != 1795624597300 {
		t.Errorf("startTime = %v, want 1795624597300 (ms since epoch)", got)
	}
	if got := at("duration", w).(float64); got != 1000 {
		t.Errorf("duration = %v, want 1000 ms", got)
	}
	root := rowOf(t, f, "00000000000000a1")
	if got := at("parentSpanID", root); got != "" {
		t.Errorf("root parentSpanID = %q, want empty", got)
	}
	q := rowOf(t, f, "00000000000000a9")
	if at("statusCode", q).(int64) != 2 || at("statusMessage", q) != "deadline exceeded" || at("kind", q) != "" {
		t.Errorf("span-9 status/kind = %v %v %q, want 2, its message, \"\" for unspecified", at("statusCode", q), at("statusMessage", q), at("kind", q))
	}
	if at("statusCode", w).(int64) != 0 || at("kind", w) != "server" {
		t.Errorf("span-4 status/kind = %v %q, want 0 (unset), server", at("statusCode", w), at("kind", w))
	}

	t.Run("tags carry the figures", func(t *testing.T) {
		tests := []struct {
			span string
			want map[string]any
			none []string
		}{
			{"00000000000000a4", map[string]any{TagSelfTime: 650.0, TagWait: 1400.0, TagUnaccounted: 1000.0, TagOnCriticalPath: true}, []string{TagNetwork, TagRetries, TagHiddenLines}},
			{"00000000000000a8", map[string]any{TagSelfTime: 100.0, TagWait: 500.0, TagUnaccounted: 200.0, TagRetries: 1.0}, []string{TagNetwork, TagOnCriticalPath}},
			{"00000000000000a3", map[string]any{TagNetwork: 12.5, "db.type": "postgresql", "db.rows": 12.0, "db.cached": false}, nil},
		}
		for _, tc := range tests {
			var tags []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			}
			decode(t, f, "tags", rowOf(t, f, tc.span), &tags)
			got := map[string]any{}
			for _, kv := range tags {
				got[kv.Key] = kv.Value
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s tag %s = %v, want %v", tc.span, k, got[k], v)
				}
			}
			for _, k := range tc.none {
				if _, ok := got[k]; ok {
					t.Errorf("%s has tag %s, want none", tc.span, k)
				}
			}
		}
	})

	t.Run("a level other than info is a field", func(t *testing.T) {
		var logs []traceLog
		decode(t, f, "logs", 7, &logs) // data-aggregator-b GET /data/aggregator-b
		var levels []any
		for _, l := range logs {
			v, _ := l.field("level")
			levels = append(levels, v)
		}
		if want := []any{nil, nil, "warn", nil, nil}; fmt.Sprint(levels) != fmt.Sprint(want) {
			t.Errorf("levels of span-8's logs = %v, want %v", levels, want)
		}
	})

	t.Run("logs merge events and lines in time order", func(t *testing.T) {
		var logs []traceLog
		decode(t, f, "logs", w, &logs)
		if len(logs) != 8 {
			t.Fatalf("span-4 has %d logs, want 7 lines + 1 event", len(logs))
		}
		for i := 1; i < len(logs); i++ {
			if logs[i].Timestamp < logs[i-1].Timestamp {
				t.Errorf("logs out of order at %d: %v after %v", i, logs[i].Timestamp, logs[i-1].Timestamp)
			}
		}
		ev := logs[5]
		if ev.Name != "cache.miss" || ev.Timestamp != 1795624598200 {
			t.Errorf("logs[5] = %+v, want the cache.miss event at 1200 ms", ev)
		}
		if v, _ := ev.field("ratio"); v != 0.25 {
			t.Errorf("event attribute ratio = %v, want 0.25", v)
		}
		l := logs[3]
		if l.Name != "Received response from data aggregator A" {
			t.Errorf("logs[3].name = %q, want the line's message", l.Name)
		}
		if v, ok := l.field("level"); ok {
			t.Errorf("level field = %v on an info line, want none (info is the level of nearly every line)", v)
		}
		if v, _ := l.field("duration_ms"); v != "300" {
			t.Errorf("duration_ms field = %v, want the parsed field", v)
		}
		for _, k := range []string{"message", "traceId", "spanId"} {
			if _, ok := l.field(k); ok {
				t.Errorf("field %s repeated; the name and the span already say it", k)
			}
		}
	})

	t.Run("trace-level lines on the root span", func(t *testing.T) {
		var logs []traceLog
		decode(t, f, "logs", root, &logs)
		if len(logs) != 2 {
			t.Fatalf("root has %d logs, want the 2 trace-level lines", len(logs))
		}
		for _, l := range logs {
			if v, _ := l.field(FieldTraceLevel); v != true {
				t.Errorf("%q lacks %s=true", l.Name, FieldTraceLevel)
			}
		}
		if v, _ := logs[1].field("spanID"); v != "ffffffffffffffff" {
			t.Errorf("line with an unknown span id shows spanID %v, want the unknown id", v)
		}
		var warnings []string
		decode(t, f, "warnings", root, &warnings)
		// The headline leads the root's warnings, then the trace-level lines'.
		if len(warnings) != 2 || warnings[0] != a.Breakdown.Headline || !strings.HasPrefix(warnings[1], "2 log lines name no span") {
			t.Errorf("root warnings = %q, want the headline, then one about the 2 trace-level lines", warnings)
		}
	})

	t.Run("warnings are the engine's sentences", func(t *testing.T) {
		var warnings []string
		decode(t, f, "warnings", rowOf(t, f, "00000000000000a8"), &warnings)
		want := a.Figures[7].Warnings
		if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
			t.Errorf("span-8 warnings = %q, want %q", warnings, want)
		}
	})

	t.Run("references from span links", func(t *testing.T) {
		var refs []struct {
			TraceID, SpanID string
			Tags            []struct{ Key, Value string }
		}
		decode(t, f, "references", rowOf(t, f, "00000000000000a8"), &refs)
		if len(refs) != 1 || refs[0].TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || refs[0].SpanID != "00f067aa0ba902b7" || refs[0].Tags[0].Value != "batch" {
			t.Errorf("references = %+v", refs)
		}
	})
}

// manyLines is a two-span trace whose child has n lines a millisecond
// apart, with a gap bounded by lines late in the span and an error line.
func manyLines(n int) *model.Analysis {
	b := newBuilder(seedTraceID)
	b.span("0000000000000001", "", "api", "GET /", model.KindServer, 0, float64(n)+1000)
	b.span("0000000000000002", "0000000000000001", "worker", "work", model.KindInternal, 0, float64(n)+1000)
	b.a.Trace.Spans[1].Events = []model.SpanEvent{{Time: at(1.5), Name: "started"}}
	for i := 0; i < n; i++ {
		level := "debug"
		if i == n-10 {
			level = "error"
		}
		b.line("worker", "0000000000000002", float64(i), level, fmt.Sprintf("step %d", i))
	}
	b.line("worker", "0000000000000002", float64(n)+500, "info", "resumed")
	b.gap("0000000000000002", float64(n-1), float64(n)+500, fmt.Sprintf("step %d", n-1), "resumed")
	return b.finish()
}

func TestTraceLogCap(t *testing.T) {
	tests := []struct {
		name      string
		lines     int // lines on the child, plus one "resumed" line
		max       int
		wantShown int
		wantTag   string // the hidden-lines tag, "" when none
	}{
		{"under the default cap", 98, 0, 99, ""},
		{"at the default cap", 99, 0, 100, ""},
		{"over the default cap", 250, 0, 100, hiddenTag(151)},
		{"custom cap", 250, 10, 10, hiddenTag(241)},
		{"no cap", 250, -1, 251, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions
			o.MaxLinesPerSpan = tc.max
			f := Trace(manyLines(tc.lines), o)
			var logs []traceLog
			decode(t, f, "logs", 1, &logs)
			lines := 0
			names := map[string]bool{}
			for _, l := range logs {
				names[l.Name] = true
				if l.Name != "started" {
					lines++
				}
			}
			if !names["started"] {
				t.Errorf("the span event was dropped; events are never capped")
			}
			if lines != tc.wantShown {
				t.Errorf("shown %d lines, want %d", lines, tc.wantShown)
			}
			// A capped span is not a finding: no warning, a tag.
			var warnings []string
			decode(t, f, "warnings", 1, &warnings)
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			tags := rawAt(t, f, "tags", 1)
			if has := strings.Contains(tags, `"`+TagHiddenLines+`"`); has != (tc.wantTag != "") || !strings.Contains(tags, tc.wantTag) {
				t.Errorf("tags = %s, want %q", tags, tc.wantTag)
			}
			notices := len(f.Meta.Notices)
			if (tc.wantTag != "") != (notices == 1) {
				t.Errorf("notices = %+v, want one exactly when a span is capped", f.Meta.Notices)
			}
			if tc.wantTag == "" {
				return
			}
			// The lines that tell the story survive the cap: the gap's
			// bounds and the error, besides the earliest lines.
			for _, must := range []string{fmt.Sprintf("step %d", tc.lines-1), "resumed", fmt.Sprintf("step %d", tc.lines-10), "step 0"} {
				if !names[must] {
					t.Errorf("capped logs lack %q", must)
				}
			}
			for i := 1; i < len(logs); i++ {
				if logs[i].Timestamp < logs[i-1].Timestamp {
					t.Fatalf("capped logs out of order at %d", i)
				}
			}
		})
	}
}

func TestTraceRootOfPartialTrace(t *testing.T) {
	// No span without a parent: the earliest span whose parent is missing
	// takes the trace-level lines.
	b := newBuilder(seedTraceID)
	b.span("0000000000000002", "00000000000000ff", "api", "late orphan", model.KindServer, 50, 10)
	b.span("0000000000000003", "00000000000000fe", "api", "early orphan", model.KindServer, 10, 100)
	b.span("0000000000000004", "0000000000000003", "api", "child", model.KindServer, 5, 10)
	b.line("api", "", 20, "info", "no span")
	f := Trace(b.finish(), testOptions)
	var logs []traceLog
	decode(t, f, "logs", rowOf(t, f, "0000000000000003"), &logs)
	if len(logs) != 1 || logs[0].Name != "no span" {
		t.Errorf("early orphan logs = %+v, want the trace-level line", logs)
	}
}

func TestTraceEmptyAnalysis(t *testing.T) {
	for _, a := range []*model.Analysis{nil, {}, {Trace: &model.Trace{}}, {Trace: &model.Trace{}, Logs: []model.Log{{SpanIndex: -1}}}} {
		f := Trace(a, testOptions)
		if rows, err := f.RowLen(); err != nil || rows != 0 || len(f.Fields) != 17 {
			t.Errorf("Trace(%+v) = %d rows, %d fields, %v; want an empty frame with every field", a, rows, len(f.Fields), err)
		}
	}
}

func TestEpochMsKeepsSubMillisecondPrecision(t *testing.T) {
	ts := time.Date(2026, 11, 25, 16, 36, 37, 123_456_789, time.UTC)
	got := epochMs(ts)
	want := 1795624597123.456789
	if diff := got - want; diff > 1e-3 || diff < -1e-3 {
		t.Errorf("epochMs = %.6f, want %.6f", got, want)
	}
	if ms(1500*time.Microsecond) != 1.5 {
		t.Errorf("ms(1.5ms) = %v", ms(1500*time.Microsecond))
	}
}

// hiddenTag is the trace frame's tag saying that n of a span's lines are
// not shown.
func hiddenTag(n int) string {
	return fmt.Sprintf(`{"key":%q,"value":%d}`, TagHiddenLines, n)
}

// rawAt is a JSON field's value at row, as text.
func rawAt(t *testing.T, f *data.Frame, field string, row int) string {
	t.Helper()
	var raw json.RawMessage
	decode(t, f, field, row, &raw)
	return string(raw)
}
