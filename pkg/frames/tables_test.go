package frames

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

func fieldValues[T any](t *testing.T, f *data.Frame, name string) []T {
	t.Helper()
	fl, _ := f.FieldByName(name)
	if fl == nil {
		t.Fatalf("frame %s has no field %s", f.Name, name)
	}
	out := make([]T, fl.Len())
	for i := range out {
		v, ok := fl.At(i).(T)
		if !ok {
			t.Fatalf("%s.%s[%d] is %T", f.Name, name, i, fl.At(i))
		}
		out[i] = v
	}
	return out
}

func TestLogsFrame(t *testing.T) {
	a := seedAnalysis()
	f := Logs(a, testOptions)
	if f.Meta.Type != data.FrameTypeLogLines || f.Meta.PreferredVisualization != data.VisTypeLogs {
		t.Errorf("meta = %+v, want log-lines shown as logs", f.Meta)
	}
	if rows, _ := f.RowLen(); rows != len(a.Logs) {
		t.Fatalf("rows = %d, want every line (%d)", rows, len(a.Logs))
	}
	spanIDs := fieldValues[string](t, f, "spanID")
	services := fieldValues[string](t, f, "serviceName")
	for i, l := range a.Logs {
		want := ""
		if l.SpanIndex >= 0 {
			want = a.Trace.Spans[l.SpanIndex].SpanID
		}
		if spanIDs[i] != want {
			t.Errorf("row %d spanID = %q, want %q", i, spanIDs[i], want)
		}
	}
	if services[0] != "edge-gateway" {
		t.Errorf("trace-level line's service = %q, want the stream's service_name", services[0])
	}
	if got := fieldValues[float64](t, f, "gapBeforeMs")[4]; got != 600 {
		t.Errorf("gapBeforeMs of the line after the 600 ms wait = %v", got)
	}
	var labels map[string]string
	if err := json.Unmarshal(fieldValues[json.RawMessage](t, f, "labels")[1], &labels); err != nil || labels["service_name"] != "widget-service" {
		t.Errorf("labels = %v (%v), want the stream labels as an object", labels, err)
	}
}

func TestLogIDs(t *testing.T) {
	stream := model.Labels{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}}
	sorted := model.Labels{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}
	t0 := time.Unix(0, 1795624597000000001)
	entry := func(ts time.Time, line string, st model.Labels) model.Log {
		return model.Log{Entry: &model.LogEntry{Time: ts, Line: line, Stream: st}, SpanIndex: -1}
	}
	logs := []model.Log{
		entry(t0, "same", stream),
		entry(t0, "same", stream), // identical: a second occurrence
		entry(t0, "other", stream),
		entry(t0, "same", sorted), // the same labels in another order: same entry, third occurrence
		entry(t0.Add(1), "same", stream),
	}
	ids := entryIDs(logs)
	want0 := "1795624597000000001_"
	if !strings.HasPrefix(ids[0], want0) || len(ids[0]) != len(want0)+16 {
		t.Errorf("id = %q, want <ns>_<16 hex>", ids[0])
	}
	if ids[1] != ids[0]+"_1" || ids[3] != ids[0]+"_2" {
		t.Errorf("identical entries = %q, %q, want %q_1 and _2", ids[1], ids[3], ids[0])
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("duplicate id %q in %q", id, ids)
		}
		seen[id] = true
	}
	if again := entryIDs(logs); strings.Join(again, ",") != strings.Join(ids, ",") {
		t.Errorf("ids differ between runs: %q vs %q", again, ids)
	}
	// Unordered input (the model promises order, but ids must stay unique).
	unordered := []model.Log{logs[4], logs[0], logs[1]}
	u := entryIDs(unordered)
	if u[1] != ids[0] || u[2] != ids[1] || u[0] != ids[4] {
		t.Errorf("unordered ids = %q", u)
	}
}

func TestLabelsMergeStreamMetadataParsed(t *testing.T) {
	got := string(appendLabels(nil, idColumns{},
		model.Labels{{Name: "service_name", Value: "api"}, {Name: "env", Value: "prod"}},
		model.Labels{{Name: "trace_id", Value: "abc"}, {Name: "env", Value: "shadowed"}},
		model.Labels{{Name: "detected_level", Value: "info"}, {Name: "trace_id", Value: "shadowed"}},
	))
	want := `{"service_name":"api","env":"prod","trace_id":"abc","detected_level":"info"}`
	if got != want {
		t.Errorf("labels = %s, want %s", got, want)
	}
}

// The row's own ids are its traceID and spanID columns; as labels they
// are left out, unless they are a stream's or name another span.
func TestLabelsLeaveOutTheRowsIDs(t *testing.T) {
	const trace, span = "5b8efff798038103d269b633813fc60c", "3c6ef372fe94f82a"
	for _, tc := range []struct {
		name string
		ids  idColumns
		sets []model.Labels
		want string
	}{
		{"OTLP metadata", idColumns{trace, span},
			[]model.Labels{{{Name: "service_name", Value: "api"}}, {{Name: "trace_id", Value: trace}, {Name: "span_id", Value: span}, {Name: "flags", Value: "01"}}},
			`{"service_name":"api","flags":"01"}`},
		{"parsed, other spelling and case", idColumns{trace, span},
			[]model.Labels{{{Name: "app", Value: "api"}}, nil, {{Name: "traceId", Value: strings.ToUpper(trace)}, {Name: "spanId", Value: span}, {Name: "level", Value: "info"}}},
			`{"app":"api","level":"info"}`},
		{"an unknown span's id is kept", idColumns{trace, ""},
			[]model.Labels{{{Name: "app", Value: "api"}}, {{Name: "trace_id", Value: trace}, {Name: "span_id", Value: "ffffffffffffffff"}}},
			`{"app":"api","span_id":"ffffffffffffffff"}`},
		{"another trace's id is kept", idColumns{trace, span},
			[]model.Labels{{{Name: "app", Value: "api"}}, {{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}},
			`{"app":"api","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`},
		{"stream labels are the stream's", idColumns{trace, span},
			[]model.Labels{{{Name: "trace_id", Value: trace}}, {{Name: "span_id", Value: span}}},
			`{"trace_id":"` + trace + `"}`},
		{"a shadowed parsed id stays out", idColumns{trace, span},
			[]model.Labels{{{Name: "app", Value: "api"}}, {{Name: "span_id", Value: span}}, {{Name: "span_id", Value: "0000000000000001"}}},
			`{"app":"api"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendLabels(nil, tc.ids, tc.sets...)); got != tc.want {
				t.Errorf("labels = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGapsFrame(t *testing.T) {
	f := Gaps(seedAnalysis(), testOptions)
	outside := fieldValues[*float64](t, f, "outsideTimerMs")
	wantOutside := []*float64{ptr(300), ptr(400), nil, ptr(0), ptr(0)}
	for i := range wantOutside {
		if (outside[i] == nil) != (wantOutside[i] == nil) || (outside[i] != nil && *outside[i] != *wantOutside[i]) {
			t.Errorf("outsideTimerMs[%d] = %v, want %v", i, deref(outside[i]), deref(wantOutside[i]))
		}
	}
	callees := fieldValues[string](t, f, "callees")
	if callees[1] != "data-aggregator-b GET /data/aggregator-b (400 ms)" {
		t.Errorf("callees = %q", callees[1])
	}
	if got := fieldValues[string](t, f, "concurrent")[1]; got != "data-aggregator-a GET /data/aggregator-a (250 ms)" {
		t.Errorf("concurrent = %q", got)
	}
	if got := fieldValues[float64](t, f, "gapMs"); got[1] != 800 || fieldValues[float64](t, f, "beforeCalleeMs")[1] != 350 {
		t.Errorf("gapMs = %v", got)
	}
	if last := f.Fields[len(f.Fields)-1]; last.Name != "sentence" {
		t.Errorf("last field = %s, want sentence", last.Name)
	}
}

func ptr(v float64) *float64 { return &v }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestSpansFrameOrderAndNullableNetwork(t *testing.T) {
	f := Spans(seedAnalysis(), testOptions)
	starts := fieldValues[time.Time](t, f, "start")
	for i := 1; i < len(starts); i++ {
		if starts[i].Before(starts[i-1]) {
			t.Fatalf("spans not ordered by start at %d", i)
		}
	}
	ids := fieldValues[string](t, f, "spanID")
	network := fieldValues[*float64](t, f, "networkMs")
	for i, id := range ids {
		if (id == "00000000000000a3") != (network[i] != nil) {
			t.Errorf("%s networkMs = %v, want a value only for the CLIENT span with network time", id, deref(network[i]))
		}
	}
	critical := fieldValues[bool](t, f, "onCriticalPath")
	if !critical[0] || critical[1] {
		t.Errorf("onCriticalPath = %v", critical)
	}
}

func TestDataLinks(t *testing.T) {
	a := seedAnalysis()
	many := []*model.Analysis{a}
	frames := data.Frames{Logs(a, testOptions), Gaps(a, testOptions), Retries(a, testOptions), Spans(a, testOptions), Traces(many, testOptions), Annotations(many, AnnotationOptions{}, testOptions)}
	for _, f := range frames {
		for _, name := range []string{"traceID", "spanID"} {
			fl, _ := f.FieldByName(name)
			if fl == nil {
				continue
			}
			if fl.Config == nil || len(fl.Config.Links) != 1 || fl.Config.Links[0].Internal == nil {
				t.Errorf("%s.%s has no internal link", f.Name, name)
				continue
			}
			in := fl.Config.Links[0].Internal
			q, _ := json.Marshal(in.Query)
			want := `{"queryType":"trace","traceId":"${__value.raw}"}`
			if name == "spanID" {
				want = `{"queryType":"trace","traceId":"${__data.fields.traceID}"}`
				if f.Name == "spans" {
					want = `{"queryType":"trace","traceId":"` + seedTraceID + `"}`
				}
				ps, _ := json.Marshal(in.ExplorePanelsState)
				if string(ps) != `{"trace":{"spanId":"${__value.raw}"}}` {
					t.Errorf("%s.spanID panelsState = %s", f.Name, ps)
				}
			}
			if string(q) != want || in.DatasourceUID != "tracegap-uid" {
				t.Errorf("%s.%s link query = %s uid %q, want %s", f.Name, name, q, in.DatasourceUID, want)
			}
		}
	}
	// Without a target data source there are no links.
	f := Gaps(a, Options{RefID: "A"})
	if fl, _ := f.FieldByName("traceID"); fl.Config != nil {
		t.Errorf("links without a data source uid: %+v", fl.Config)
	}
}

func TestNotices(t *testing.T) {
	o := testOptions
	o.Notices = []data.Notice{Warning("logs missing because Loki failed: timeout"), Info("trace is partial")}
	a := seedAnalysis()
	frames := data.Frames{Trace(a, o), Logs(a, o), Gaps(a, o), Retries(a, o), Spans(a, o)}
	AddNotices(frames, Info("capped at 5000 lines"))
	for _, f := range frames {
		if f.RefID != "A" || f.Meta == nil || len(f.Meta.Notices) != 3 {
			t.Fatalf("%s refId %q notices %+v, want A and 3 notices", f.Name, f.RefID, f.Meta)
		}
		if f.Meta.Notices[0].Severity != data.NoticeSeverityWarning || f.Meta.Notices[2].Text != "capped at 5000 lines" {
			t.Errorf("%s notices = %+v", f.Name, f.Meta.Notices)
		}
	}
	// Frames do not share the notices slice.
	frames[0].Meta.Notices[0].Text = "changed"
	if frames[1].Meta.Notices[0].Text == "changed" {
		t.Errorf("frames share one notices slice")
	}
}

func TestAnalysisNotices(t *testing.T) {
	got := AnalysisNotices(seedAnalysis())
	if len(got) != 1 || got[0].Severity != data.NoticeSeverityInfo || got[0].Text != "2 log lines of this trace name no span of it" {
		t.Errorf("AnalysisNotices = %+v", got)
	}
	if AnalysisNotices(nil) != nil || AnalysisNotices(&model.Analysis{}) != nil {
		t.Errorf("no remarks should give no notices")
	}
}
