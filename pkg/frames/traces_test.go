package frames

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// groupTrace is a trace starting at startMs whose services have the given
// wait, unaccounted and retries.
func groupTrace(id string, startMs float64, groups ...model.GroupFigures) *model.Analysis {
	b := newBuilder(id)
	b.span("0000000000000001", "", "root", "GET /", model.KindServer, startMs, 10)
	a := b.finish()
	a.Services = groups
	for _, g := range groups {
		g.Operation = "op-" + g.ServiceName
		a.Operations = append(a.Operations, g)
	}
	return a
}

func gf(service string, waitMs, unaccountedMs float64, retries int) model.GroupFigures {
	return model.GroupFigures{ServiceName: service, Wait: msd(waitMs), Unaccounted: msd(unaccountedMs), Retries: retries}
}

func TestWaitSeries(t *testing.T) {
	traces := []*model.Analysis{
		groupTrace("03", 2000, gf("b", 5, 1, 0)),
		groupTrace("01", 0.2, gf("a", 10, 4, 1), gf("b", 7, 7, 0)),
		groupTrace("02", 0.9, gf("a", 30, 2, 2)), // same millisecond as 01: merged
		nil,
	}
	frames, err := WaitSeries(traces, GroupByService, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		t time.Time
		v float64
	}
	type series struct {
		name, labels string
		points       []point
	}
	var got []series
	for _, f := range frames {
		if f.Meta.Type != data.FrameTypeTimeSeriesMulti || len(f.Fields) != 2 || f.Fields[0].Name != "time" || f.Fields[0].Type() != data.FieldTypeTime {
			t.Fatalf("frame %s is not timeseries-multi with a time field: %+v", f.Name, f)
		}
		s := series{name: f.Fields[1].Name, labels: f.Fields[1].Labels.String()}
		for i := 0; i < f.Fields[0].Len(); i++ {
			v, _ := f.Fields[1].FloatAt(i)
			s.points = append(s.points, point{f.Fields[0].At(i).(time.Time), v})
		}
		got = append(got, s)
	}
	t0, t2 := at(0), at(2000)
	want := []series{
		{"wait_ms", "measure=wait_ms, service=a", []point{{t0, 30}}},
		{"unaccounted_ms", "measure=unaccounted_ms, service=a", []point{{t0, 4}}},
		{"retries", "measure=retries, service=a", []point{{t0, 3}}},
		{"wait_ms", "measure=wait_ms, service=b", []point{{t0, 7}, {t2, 5}}},
		{"unaccounted_ms", "measure=unaccounted_ms, service=b", []point{{t0, 7}, {t2, 1}}},
		{"retries", "measure=retries, service=b", []point{{t0, 0}, {t2, 0}}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.name != w.name || g.labels != w.labels || len(g.points) != len(w.points) {
			t.Errorf("series %d = %s{%s} %v, want %s{%s} %v", i, g.name, g.labels, g.points, w.name, w.labels, w.points)
			continue
		}
		for j := range w.points {
			if !g.points[j].t.Equal(w.points[j].t) || g.points[j].v != w.points[j].v {
				t.Errorf("%s{%s}[%d] = %v, want %v", g.name, g.labels, j, g.points[j], w.points[j])
			}
		}
	}

	ops, err := WaitSeries(traces, GroupByServiceOperation, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if l := ops[0].Fields[1].Labels; l["service"] != "a" || l["operation"] != "op-a" || l["measure"] != "wait_ms" {
		t.Errorf("service_operation labels = %v", l)
	}
	if got := ops[0].Fields[1].Config.DisplayNameFromDS; got != "a op-a wait_ms" {
		t.Errorf("service_operation display name = %q", got)
	}

	// One measure, as an alert rule asks: one series per service, each
	// with a label set of its own (Grafana's alerting rejects duplicates).
	waits, err := WaitSeriesOf(traces, GroupByService, []string{MeasureWait}, testOptions)
	if err != nil || len(waits) != 2 {
		t.Fatalf("wait_ms only = %d frames, %v; want 2", len(waits), err)
	}
	seen := map[string]bool{}
	for _, f := range waits {
		l := f.Fields[1].Labels.String()
		if f.Fields[1].Name != MeasureWait || seen[l] {
			t.Errorf("wait_ms only: series %s{%s} (seen before: %v)", f.Fields[1].Name, l, seen[l])
		}
		seen[l] = true
	}
	if _, err := WaitSeriesOf(traces, GroupByService, []string{"latency"}, testOptions); err == nil || !strings.Contains(err.Error(), "wait_ms, unaccounted_ms, retries") {
		t.Errorf("unknown measure error = %v, want one naming the valid measures", err)
	}
	if none, err := WaitSeriesOf(nil, GroupByService, []string{MeasureRetries}, testOptions); err != nil || len(none) != 1 || none[0].Name != MeasureRetries {
		t.Errorf("no traces, retries only = %+v, %v; want one empty retries frame", none, err)
	}

	if _, err := WaitSeries(traces, "host", testOptions); err == nil || !strings.Contains(err.Error(), `"service_operation"`) {
		t.Errorf("unknown groupBy error = %v, want one naming the valid values", err)
	}

	empty, err := WaitSeries(nil, GroupByService, testOptions)
	if err != nil || len(empty) != 1 || len(empty[0].Fields) != 0 || empty[0].Meta.Type != data.FrameTypeTimeSeriesMulti {
		t.Errorf("no traces = %+v, %v; want one typed frame without fields", empty, err)
	}
}

func TestAnnotations(t *testing.T) {
	many := []*model.Analysis{seedAnalysis(), secondAnalysis()}
	tests := []struct {
		name      string
		opts      AnnotationOptions
		wantTimes [][2]float64 // [start, end] in ms after the seed start
		wantTags  []string
	}{
		{
			name: "all, by cost",
			opts: AnnotationOptions{},
			wantTimes: [][2]float64{
				{0, 1500},                 // the seed's headline, over its root span
				{400, 1000}, {1050, 1850}, // 600 and 400 ms unaccounted
				{1500, 1700},                             // the retry, cost 200
				{1700, 1900}, {1400, 1500}, {0.4, 120.4}, // 100, 100 (shorter gap later), 20 unaccounted
				{20, 40},     // the span retry, cost 20, after the 20 ms gap (longer)
				{1500, 1700}, // a gap with nothing unaccounted
			},
		},
		{
			name:      "minGap is inclusive and drops shorter gaps, not retries",
			opts:      AnnotationOptions{MinGap: 200 * time.Millisecond},
			wantTimes: [][2]float64{{0, 1500}, {400, 1000}, {1050, 1850}, {1500, 1700}, {1700, 1900}, {20, 40}, {1500, 1700}},
		},
		{
			name:      "limit keeps the headline and the costliest",
			opts:      AnnotationOptions{Limit: 3},
			wantTimes: [][2]float64{{0, 1500}, {400, 1000}, {1050, 1850}},
			wantTags:  []string{"tracegap,headline,dashboard-service", "tracegap,gap,widget-service", "tracegap,gap,widget-service"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Annotations(many, tc.opts, testOptions)
			starts, ends := fieldValues[time.Time](t, f, "time"), fieldValues[time.Time](t, f, "timeEnd")
			if len(starts) != len(tc.wantTimes) {
				t.Fatalf("got %d regions, want %d", len(starts), len(tc.wantTimes))
			}
			for i, w := range tc.wantTimes {
				if !starts[i].Equal(at(w[0])) || !ends[i].Equal(at(w[1])) {
					t.Errorf("region %d = [%v, %v], want [%v, %v] ms", i, starts[i].Sub(seedBase), ends[i].Sub(seedBase), w[0], w[1])
				}
			}
			if tc.wantTags != nil {
				if got := fieldValues[string](t, f, "tags"); strings.Join(got, "|") != strings.Join(tc.wantTags, "|") {
					t.Errorf("tags = %q, want %q", got, tc.wantTags)
				}
			}
		})
	}

	f := Annotations(many, AnnotationOptions{Limit: 3}, testOptions)
	texts := fieldValues[string](t, f, "text")
	if texts[0] != many[0].Breakdown.Headline {
		t.Errorf("text = %q, want the headline first", texts[0])
	}
	if !strings.HasPrefix(texts[2], "400 ms unaccounted: waited 800 ms") {
		t.Errorf("text = %q, want it to lead with the unaccounted time", texts[2])
	}
	if got := fieldValues[string](t, f, "title")[:2]; got[0] != "dashboard-service GET /dashboard" || got[1] != "widget-service GET /widgets/data" {
		t.Errorf("titles = %q", got)
	}
}

func TestTracesTable(t *testing.T) {
	f := Traces([]*model.Analysis{secondAnalysis(), nil, thirdAnalysis(), seedAnalysis(), {}}, testOptions)
	ids := fieldValues[string](t, f, "traceID")
	want := []string{"00000000000000000000000000000bad", seedTraceID, "4bf92f3577b34da6a3ce929d0e0e4736"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("traces = %v, want longest first %v", ids, want)
	}
	dur := fieldValues[float64](t, f, "durationMs")
	if dur[1] != 1800 {
		t.Errorf("seed durationMs = %v, want 1800 (first start to last end)", dur[1])
	}
	if got := fieldValues[string](t, f, "rootService")[1]; got != "dashboard-service" {
		t.Errorf("rootService = %q", got)
	}
	if got := fieldValues[int64](t, f, "logCount")[1]; got != 14 {
		t.Errorf("logCount = %d, want every line of the trace", got)
	}
}

// TestWaitSeriesBreakdownMeasures: breakdown_* series are the breakdown
// rows' critical-path time per group; the default measures stay three.
func TestWaitSeriesBreakdownMeasures(t *testing.T) {
	fs, err := WaitSeriesOf([]*model.Analysis{seedAnalysis()}, GroupByService, []string{MeasureBreakdownWaiting}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fs {
		v, _ := f.Fields[1].FloatAt(0)
		got[f.Fields[1].Labels["service"]] = v
		if f.Name != MeasureBreakdownWaiting || f.Fields[1].Config.Unit != "ms" {
			t.Errorf("frame %q unit %q", f.Name, f.Fields[1].Config.Unit)
		}
	}
	if got["widget-service"] != 600 || got["data-aggregator-b"] != 0 || len(got) != 5 {
		t.Errorf("breakdown_waiting_ms per service %v, want widget-service 600, the others 0", got)
	}
	all, _ := WaitSeries([]*model.Analysis{seedAnalysis()}, GroupByService, testOptions)
	if len(all) != 5*3 {
		t.Errorf("default measures give %d series, want 3 per service", len(all))
	}
	if _, err := WaitSeriesOf(nil, GroupByService, []string{"breakdown_self_ms"}, testOptions); err == nil ||
		!strings.Contains(err.Error(), MeasureBreakdownFailedAttempt) {
		t.Errorf("unknown measure error %v", err)
	}
}
