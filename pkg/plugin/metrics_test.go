package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"go.yaml.in/yaml/v3"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/frames"
)

// point is one value of a series.
type point struct {
	t time.Time
	v float64
}

// seriesOf reads a waitMetrics response: label string → points, checking
// the timeseries-multi shape of every frame and that no two series share
// a label set (Grafana's alerting would reject that).
func seriesOf(t *testing.T, r backend.DataResponse) map[string][]point {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("error: %v", r.Error)
	}
	out := map[string][]point{}
	for _, f := range r.Frames {
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti || len(f.Fields) != 2 || f.Fields[0].Type() != data.FieldTypeTime {
			t.Fatalf("frame %q is not timeseries-multi with a time and a number field", f.Name)
		}
		v := f.Fields[1]
		key := v.Labels.String()
		if _, dup := out[key]; dup {
			t.Errorf("two series share the labels {%s}", key)
		}
		if v.Name != f.Name || v.Labels[frames.MeasureLabel] != v.Name {
			t.Errorf("series %s{%s} in frame %q: name and measure label disagree", v.Name, key, f.Name)
		}
		pts := []point{}
		for i := 0; i < v.Len(); i++ {
			fv, _ := v.FloatAt(i)
			pts = append(pts, point{f.Fields[0].At(i).(time.Time), fv})
		}
		out[key] = pts
	}
	return out
}

func TestWaitMetricsSeedFigures(t *testing.T) {
	srv := searchtest.Start(t, seedSearchTrace(t))
	r := runQuery(t, manyContext(t, srv), QueryTypeWaitMetrics, `{"queryType":"waitMetrics","query":"{}","groupBy":"service"}`, searchRange)
	got := seriesOf(t, r)
	// docs/analysis.md, "The seed trace, worked out": one point at the
	// trace's start per (service, measure).
	want := map[string]float64{
		"measure=wait_ms, service=widget-service":           1400,
		"measure=unaccounted_ms, service=widget-service":    1000,
		"measure=retries, service=widget-service":           0,
		"measure=wait_ms, service=data-aggregator-b":        500,
		"measure=unaccounted_ms, service=data-aggregator-b": 200,
		"measure=retries, service=data-aggregator-b":        1,
		"measure=wait_ms, service=data-aggregator-a":        0,
	}
	for key, v := range want {
		pts := got[key]
		if len(pts) != 1 || !pts[0].t.Equal(seedBase) || pts[0].v != v {
			t.Errorf("{%s} = %v, want %v at %v", key, pts, v, seedBase)
		}
	}
	if len(got) != 5*3 {
		t.Errorf("%d series, want 3 measures of the 5 services", len(got))
	}
	f := r.Frames[0]
	if f.Fields[1].Config == nil || f.Fields[1].Config.DisplayNameFromDS != "dashboard-service wait_ms" || f.Fields[1].Config.Unit != "ms" {
		t.Errorf("first series config %+v", f.Fields[1].Config)
	}
}

// TestWaitMetricsBreakdownMeasures: the breakdown_* measures are
// critical-path time, so a service's figure never exceeds the request's
// duration: widget-service waited 1400 ms by its logs (wait_ms), of which
// 600 ms lie on the critical path; data-aggregator-b's 500 ms of wait are
// all off it (its span lies outside its parent). dashboard-service's own
// lines (the captures') give it 100 + 200 ms of waiting.
func TestWaitMetricsBreakdownMeasures(t *testing.T) {
	srv := searchtest.Start(t, seedSearchTrace(t))
	q := `{"queryType":"waitMetrics","query":"{}","groupBy":"service","measures":["breakdown_waiting_ms","breakdown_network_ms","breakdown_failed_attempt_ms"]}`
	got := seriesOf(t, runQuery(t, manyContext(t, srv), QueryTypeWaitMetrics, q, searchRange))
	waiting := map[string]float64{"widget-service": 600, "dashboard-service": 300}
	services := []string{"dashboard-service", "data-aggregator-a", "data-aggregator-b", "user-service", "widget-service"}
	for _, svc := range services {
		for _, m := range []string{"breakdown_waiting_ms", "breakdown_network_ms", "breakdown_failed_attempt_ms"} {
			want := 0.0
			if m == "breakdown_waiting_ms" {
				want = waiting[svc]
			}
			pts := got["measure="+m+", service="+svc]
			if len(pts) != 1 || !pts[0].t.Equal(seedBase) || pts[0].v != want {
				t.Errorf("%s of %s = %v, want %v", m, svc, pts, want)
			}
		}
	}
	if len(got) != 3*len(services) {
		t.Errorf("%d series, want 3 measures of %d services", len(got), len(services))
	}

	// Over many traces, per service and operation: the engine's rows.
	traces := append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(5, seedBase.Add(time.Minute), 40*time.Second, 3)...)
	srv = searchtest.Start(t, traces...)
	q = `{"query":"{}","limit":50,"groupBy":"service_operation","measures":["breakdown_waiting_ms"]}`
	got = seriesOf(t, runQuery(t, manyContext(t, srv), QueryTypeWaitMetrics, q, searchRange))
	for _, tr := range traces {
		a := reference(tr, correlate.DefaultOptions())
		sum := map[string]float64{}
		for _, r := range a.Breakdown.Rows {
			if r.Category == "waiting" {
				sum["measure=breakdown_waiting_ms, operation="+r.Operation+", service="+r.ServiceName] += float64(r.Duration) / 1e6
			}
		}
		for key, v := range sum {
			if !slices.ContainsFunc(got[key], func(p point) bool { return p.t.Equal(a.Start) && p.v == v }) {
				t.Errorf("{%s} lacks %v at %v: %v", key, v, a.Start, got[key])
			}
			if v > float64(a.Breakdown.Took)/1e6 {
				t.Errorf("{%s} = %v exceeds the request's %v", key, v, a.Breakdown.Took)
			}
		}
	}
}

func TestWaitMetricsOverManyTraces(t *testing.T) {
	traces := append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(9, seedBase.Add(time.Minute), 40*time.Second, 7)...)
	srv := searchtest.Start(t, traces...)
	for _, by := range []string{"service", "service_operation"} {
		t.Run(by, func(t *testing.T) {
			r := runQuery(t, manyContext(t, srv), QueryTypeWaitMetrics, `{"query":"{}","limit":50,"groupBy":"`+by+`"}`, searchRange)
			got := seriesOf(t, r)
			// Every trace adds a point at its start: the engine's figures
			// for that trace alone.
			want := map[string][]point{}
			for _, tr := range traces {
				a := reference(tr, correlate.DefaultOptions())
				groups := a.Services
				if by == "service_operation" {
					groups = a.Operations
				}
				for _, g := range groups {
					labels := data.Labels{"service": g.ServiceName}
					if by == "service_operation" {
						labels["operation"] = g.Operation
					}
					at := a.Start.Truncate(time.Millisecond)
					for m, v := range map[string]float64{"wait_ms": ms(g.Wait), "unaccounted_ms": ms(g.Unaccounted), "retries": float64(g.Retries)} {
						l := labels.Copy()
						l["measure"] = m
						want[l.String()] = append(want[l.String()], point{at, v})
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d series, want %d", len(got), len(want))
			}
			for key, pts := range want {
				slices.SortFunc(pts, func(a, b point) int { return a.t.Compare(b.t) })
				if g := got[key]; !slices.EqualFunc(g, pts, func(a, b point) bool { return a.t.Equal(b.t) && a.v == b.v }) {
					t.Errorf("{%s} = %v, want %v", key, g, pts)
				}
			}
			if srv.LokiRequests() == 0 {
				t.Error("no Loki request")
			}
		})
	}
}

// alertRuleQuery is the Tracegap query of the provisioned alert rule, as
// Grafana's alerting sends it: the stored model, no frontend in between.
func alertRuleQuery(t *testing.T) (string, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "provisioning", "alerting", "alert-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				UID  string `yaml:"uid"`
				Data []struct {
					DatasourceUID string         `yaml:"datasourceUid"`
					Model         map[string]any `yaml:"model"`
				} `yaml:"data"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			for _, d := range r.Data {
				if r.UID == "tracegap-widget-wait" && d.DatasourceUID == "tracegap" {
					b, err := json.Marshal(d.Model)
					if err != nil {
						t.Fatal(err)
					}
					qt, _ := d.Model["queryType"].(string)
					return qt, b
				}
			}
		}
	}
	t.Fatal("no Tracegap query in the rule tracegap-widget-wait")
	return "", nil
}

func TestWaitMetricsForTheProvisionedAlertRule(t *testing.T) {
	srv := searchtest.Start(t, append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(4, seedBase.Add(2*time.Minute), time.Minute, 8)...)...)
	queryType, model := alertRuleQuery(t)
	if queryType != QueryTypeWaitMetrics {
		t.Fatalf("the rule's query type is %q", queryType)
	}
	// The rule's last 10 minutes, evaluated a few minutes after the seed.
	evalAt := seedBase.Add(7 * time.Minute)
	r := runQuery(t, manyContext(t, srv), queryType, string(model), backend.TimeRange{From: evalAt.Add(-10 * time.Minute), To: evalAt})
	got := seriesOf(t, r)
	// What the rule's expressions do: reduce each series to its max, then
	// threshold > 500. Every series is wait_ms, one per service.
	firing := map[string]float64{}
	for key, pts := range got {
		if !strings.HasPrefix(key, "measure=wait_ms, service=") {
			t.Errorf("series {%s}: the rule asks for wait_ms only", key)
		}
		most := 0.0
		for _, p := range pts {
			most = max(most, p.v)
		}
		if most > 500 {
			firing[strings.TrimPrefix(key, "measure=wait_ms, service=")] = most
		}
	}
	if firing["widget-service"] < 1400 {
		t.Errorf("widget-service's max wait %v: the seed's 1400 ms must fire the rule (firing: %v)", firing["widget-service"], firing)
	}
}

func TestWaitMetricsChecksItsInput(t *testing.T) {
	srv := searchtest.Start(t, flowTraces(2, seedBase, time.Second, 9)...)
	pCtx := manyContext(t, srv)
	for _, tc := range []struct{ json, says string }{
		{`{"query":"{}","groupBy":"host"}`, `groupBy is "host"; use "service"`},
		{`{"query":"{}","measures":["latency"]}`, `unknown measure "latency"; valid measures: wait_ms, unaccounted_ms, retries`},
		{`{"query":"{}","measures":7}`, "measures must be a list of measure names"},
		{`{"query":"{}","limit":1001}`, "limit is 1001"},
	} {
		r := runQuery(t, pCtx, QueryTypeWaitMetrics, tc.json, searchRange)
		if r.Error == nil || !strings.Contains(r.Error.Error(), tc.says) || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: %v (status %v), want a 400 saying %q", tc.json, r.Error, r.Status, tc.says)
		}
	}
	if srv.Requests() != 0 {
		t.Errorf("bad queries reached upstream: %d requests", srv.Requests())
	}
	// A comma-separated string, as typed by hand, selects measures too.
	got := seriesOf(t, runQuery(t, pCtx, QueryTypeWaitMetrics, `{"query":"{}","measures":"retries, unaccounted_ms"}`, searchRange))
	for key := range got {
		if strings.HasPrefix(key, "measure=wait_ms") {
			t.Errorf("series {%s} was not asked for", key)
		}
	}
	// No trace in range: Grafana's "no data" frame (alert state NoData).
	r := runQuery(t, pCtx, QueryTypeWaitMetrics, `{"query":"{}","measures":["wait_ms"]}`, backend.TimeRange{From: seedBase.Add(-48 * time.Hour), To: seedBase.Add(-47 * time.Hour)})
	if r.Error != nil || len(r.Frames) != 1 || len(r.Frames[0].Fields) != 0 || r.Frames[0].Name != "wait_ms" {
		t.Errorf("no traces: %+v", r)
	}
}
