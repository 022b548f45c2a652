package frames

import (
	"reflect"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/tracegap/correlator/pkg/model"
)

const comparedSentence = `GET /dashboard took 1500 ms, 700 ms more than the median of 20 like it (800 ms); +600 ms is widget-service GET /widgets/data waiting between "initiating call to data aggregator a" and "received response from data aggregator a" (typically 0 ms, seen in 3 of 20).`

// comparedAnalysis is the seed with a headline and a comparison against
// 20 traces like it, as correlate.Compare writes them.
func comparedAnalysis() *model.Analysis {
	a := seedAnalysis() // with the breakdown and its headline
	key := func(svc, op string, cat model.BreakdownCategory, what string) model.ComparisonKey {
		return model.ComparisonKey{ServiceName: svc, Operation: op, Category: cat, What: what}
	}
	a.Comparison = &model.Comparison{
		RootService: "dashboard-service", RootOperation: "GET /dashboard",
		Took: msd(1500), TypicalTook: msd(800), Baseline: 20, Top: 0, Sentence: comparedSentence,
		Rows: []model.ComparisonRow{
			{ComparisonKey: key("widget-service", "GET /widgets/data", model.CategoryWaiting, `"initiating call to data aggregator a" → "received response from data aggregator a"`),
				From: "initiating call to data aggregator a", To: "received response from data aggregator a",
				This: msd(600), Median: 0, P90: msd(450), SeenIn: 3, Delta: msd(600), SpanIndexes: []int{3}},
			{ComparisonKey: key("data-aggregator-a", "GET /data/aggregator-a", model.CategorySelf, ""),
				This: msd(100), Median: msd(40), P90: msd(90), SeenIn: 20, Delta: msd(60), SpanIndexes: []int{5}},
			{ComparisonKey: key("widget-service", "GET /widgets/data", model.CategorySelf, ""),
				This: msd(50), Median: msd(50), P90: msd(60), SeenIn: 20, Delta: 0, SpanIndexes: []int{3}},
			{ComparisonKey: key("dashboard-service", "GET /dashboard", model.CategoryInCallee, "user-service GET /users/{id}/preferences"),
				This: 0, Median: msd(150), P90: msd(200), SeenIn: 18, Delta: -msd(150)},
		},
	}
	return a
}

func TestComparisonFrame(t *testing.T) {
	f := Comparison(comparedAnalysis(), testOptions)
	if f.Name != "comparison" || f.Rows() != 4 {
		t.Fatalf("frame %q with %d rows", f.Name, f.Rows())
	}
	var names []string
	for _, fd := range f.Fields {
		names = append(names, fd.Name)
	}
	want := []string{"service", "operation", "category", "what", "this_ms", "typical_ms", "p90_ms", "seen_in", "delta_ms"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("fields %q, want %q", names, want)
	}
	row := func(i int) []any {
		var out []any
		for _, fd := range f.Fields {
			out = append(out, fd.At(i))
		}
		return out
	}
	if got, want := row(0), []any{"widget-service", "GET /widgets/data", "waiting", `"initiating call to data aggregator a" → "received response from data aggregator a"`, 600.0, 0.0, 450.0, "3 of 20", 600.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("row 0 %v, want %v", got, want)
	}
	if got := row(3); got[7] != "18 of 20" || got[4] != 0.0 || got[8] != -150.0 {
		t.Errorf("a key only the baseline has: %v", got)
	}
	if m, _ := f.Meta.Custom.(map[string]any); m[CustomComparison] != comparedSentence {
		t.Errorf("meta.custom %v", f.Meta.Custom)
	}

	// No comparison: the frame without rows.
	a := seedAnalysis()
	a.Comparison = &model.Comparison{Top: -1, Notice: "only 2 other traces"}
	if e := Comparison(a, testOptions); e.Rows() != 0 || len(e.Fields) != 9 || e.Meta.Custom != nil {
		t.Errorf("no comparison: %d rows, %d fields, custom %v", e.Rows(), len(e.Fields), e.Meta.Custom)
	}
}

func TestTraceFrameWithComparison(t *testing.T) {
	a := comparedAnalysis()
	f := Trace(a, testOptions)

	var ws []string
	decode(t, f, "warnings", rowOf(t, f, "00000000000000a1"), &ws)
	if len(ws) < 2 || a.Breakdown.Headline == "" || ws[0] != a.Breakdown.Headline || ws[1] != comparedSentence {
		t.Errorf("root warnings %q: want the headline, then the comparison", ws)
	}
	if m, _ := f.Meta.Custom.(map[string]any); m[CustomComparison] != comparedSentence {
		t.Errorf("trace meta.custom %v", f.Meta.Custom)
	}

	typical := func(id string) (any, bool) {
		var tags []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		}
		decode(t, f, "tags", rowOf(t, f, id), &tags)
		for _, kv := range tags {
			if kv.Key == TagTypical {
				return kv.Value, true
			}
		}
		return nil, false
	}
	// widget-service: its wait (typically 0, seen in 3) and self (50).
	if v, ok := typical("00000000000000a4"); !ok || v != 50.0 {
		t.Errorf("widget-service typical %v (%v), want 50", v, ok)
	}
	if v, ok := typical("00000000000000a6"); !ok || v != 40.0 {
		t.Errorf("data-aggregator-a typical %v (%v), want 40", v, ok)
	}
	// No key of its own in the comparison: no tag.
	if v, ok := typical("00000000000000a1"); ok {
		t.Errorf("the root has no compared key, yet typical %v", v)
	}

	// Without a headline, the comparison is the root's first warning.
	b := comparedAnalysis()
	b.Breakdown.Headline = ""
	ws = nil
	decode(t, Trace(b, testOptions), "warnings", 0, &ws)
	if len(ws) == 0 || ws[0] != comparedSentence {
		t.Errorf("root warnings without a headline %q", ws)
	}
}

func TestGoldenComparisonFrame(t *testing.T) {
	dr := backend.DataResponse{Frames: data.Frames{Comparison(comparedAnalysis(), testOptions)}}
	experimental.CheckGoldenJSONResponse(t, "testdata", "comparison", &dr, *update)
}
