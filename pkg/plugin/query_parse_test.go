package plugin

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/settings"
)

func TestParseQuery(t *testing.T) {
	tr := backend.TimeRange{From: time.Unix(100, 0), To: time.Unix(200, 0)}
	f := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name, json string
		want       Query
	}{
		{"every field", `{"refId":"A","queryType":"search","traceId":" ab ","minGapMs":150.5,"logSelector":" {a=\"b\"} ","query":"{ status = error }","limit":20,"groupBy":"service","datasource":{"uid":"x"},"hide":false}`,
			Query{RefID: "A", QueryType: "trace", TraceID: " ab ", MinGapMs: f(150.5), LogSelector: `{a="b"}`, Query: "{ status = error }", Limit: n(20), GroupBy: "service", TimeRange: tr}},
		{"numbers as strings", `{"minGapMs":"80","limit":"5"}`, Query{RefID: "A", QueryType: "trace", MinGapMs: f(80), Limit: n(5), TimeRange: tr}},
		{"empty and null numbers", `{"minGapMs":"","limit":null}`, Query{RefID: "A", QueryType: "trace", TimeRange: tr}},
		{"no JSON", ``, Query{RefID: "A", QueryType: "trace", TimeRange: tr}},
		{"JSON null", `null`, Query{RefID: "A", QueryType: "trace", TimeRange: tr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := parseQuery(backend.DataQuery{RefID: "A", QueryType: "trace", JSON: []byte(tc.json), TimeRange: tr})
			if err != nil {
				t.Fatal(err)
			}
			same := q.RefID == tc.want.RefID && q.QueryType == tc.want.QueryType && q.TraceID == tc.want.TraceID &&
				q.LogSelector == tc.want.LogSelector && q.Query == tc.want.Query && q.GroupBy == tc.want.GroupBy && q.TimeRange == tc.want.TimeRange &&
				eqPtr(q.MinGapMs, tc.want.MinGapMs) && eqPtr(q.Limit, tc.want.Limit)
			if !same {
				t.Errorf("got %+v (minGap %v, limit %v)\nwant %+v", *q, q.MinGapMs, q.Limit, tc.want)
			}
		})
	}
	// The mux routes by the DataQuery's type; the JSON's is the fallback.
	q, err := parseQuery(backend.DataQuery{JSON: []byte(`{"queryType":"waitMetrics"}`)})
	if err != nil || q.QueryType != "waitMetrics" {
		t.Errorf("query type %q, %v", q.QueryType, err)
	}
}

func eqPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestTemplateVariable(t *testing.T) {
	for in, want := range map[string]string{
		"$traceId":          "$traceId",
		"id=$trace_id here": "$trace_id",
		"${traceId}":        "${traceId}",
		"${traceId:raw}x":   "${traceId:raw}",
		"${broken":          "${broken",
	} {
		if got := templateVariable(in); got != want {
			t.Errorf("templateVariable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSettingsDefaultsAgreeWithTheEngine: docs/analysis.md lists one set of
// default id keys; the settings (what Loki's metadata query and the engine
// are given) must not drift from the engine's own defaults.
func TestSettingsDefaultsAgreeWithTheEngine(t *testing.T) {
	d := correlate.DefaultOptions()
	if !slices.Equal(settings.DefaultTraceIDFields, d.TraceIDFields) || !slices.Equal(settings.DefaultSpanIDFields, d.SpanIDFields) {
		t.Errorf("settings %q %q, engine %q %q", settings.DefaultTraceIDFields, settings.DefaultSpanIDFields, d.TraceIDFields, d.SpanIDFields)
	}
	if !slices.Contains(settings.DefaultTraceIDFields, "trace-id") || !slices.Contains(settings.DefaultSpanIDFields, "span-id") {
		t.Error("trace-id / span-id are missing from the defaults")
	}
	if !slices.Equal(settings.DefaultTraceIDFields, loki.DefaultTraceIDFields) {
		t.Errorf("settings %q, Loki client %q", settings.DefaultTraceIDFields, loki.DefaultTraceIDFields)
	}
}

func TestAnalysisOptions(t *testing.T) {
	s, err := settings.Load(backend.DataSourceInstanceSettings{JSONData: []byte(`{
		"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","minGapMs":250,"retryPattern":"gave up","giveUpPattern":"circuit open",
		"logQueryMode":"metadata","traceIdFields":["tid"],"spanIdFields":["sid"],"lokiMarginSeconds":7,"lokiMaxLines":99,
		"logSelector":"{env=\"prod\"}"}`)})
	if err != nil {
		t.Fatal(err)
	}
	lo, opts, err := (&Query{}).analysisOptions(s)
	if err != nil {
		t.Fatal(err)
	}
	if lo.Selector != `{env="prod"}` || lo.Mode != loki.ModeMetadata || !slices.Equal(lo.TraceIDFields, []string{"tid"}) || lo.Margin != 7*time.Second || lo.MaxLines != 99 {
		t.Errorf("log options %+v", lo)
	}
	if opts.MinGap != 250*time.Millisecond || !opts.RetryPattern.MatchString("GAVE UP after 3") || opts.RetryPattern.MatchString("retrying") ||
		!opts.GiveUpPattern.MatchString("Circuit OPEN") || opts.GiveUpPattern.MatchString("giving up") ||
		!slices.Equal(opts.TraceIDFields, []string{"tid"}) || !slices.Equal(opts.SpanIDFields, []string{"sid"}) {
		t.Errorf("engine options %+v", opts)
	}
	// The rest are the engine's defaults.
	if d := correlate.DefaultOptions(); !slices.Equal(opts.MessageFields, d.MessageFields) || !slices.Equal(opts.LevelFields, d.LevelFields) {
		t.Errorf("message/level fields %q %q", opts.MessageFields, opts.LevelFields)
	}

	// The query overrides minGap and the selector.
	g := 40.0
	lo, opts, err = (&Query{MinGapMs: &g, LogSelector: `{app="x"}`}).analysisOptions(s)
	if err != nil || opts.MinGap != 40*time.Millisecond || lo.Selector != `{app="x"}` {
		t.Errorf("overrides: %v %v %v", opts.MinGap, lo.Selector, err)
	}
	g = 0.5
	if _, opts, _ = (&Query{MinGapMs: &g}).analysisOptions(s); opts.MinGap != 500*time.Microsecond {
		t.Errorf("fractional minGapMs: %v", opts.MinGap)
	}
	if _, _, err := (&Query{LogSelector: "app=x"}).analysisOptions(s); err == nil || !strings.Contains(err.Error(), "is not a LogQL stream selector") {
		t.Errorf("bad selector: %v", err)
	}
}
