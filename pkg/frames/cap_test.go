package frames

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// storyTrace is a three-span trace whose spans log every 10 ms (40 lines
// in all), with two gaps bounded by late lines, a retry announced late and a
// trace-level line: under a cap of 10 the story lines (five: the four gap
// bounds and the retry) must be kept although none is among the earliest.
func storyTrace() *model.Analysis {
	b := newBuilder(seedTraceID)
	b.span("00000000000000a1", "", "checkout", "POST /checkout", model.KindServer, 0, 2000)
	b.span("00000000000000a2", "00000000000000a1", "payments", "charge", model.KindClient, 5, 1900)
	b.span("00000000000000a3", "00000000000000a1", "inventory", "reserve", model.KindClient, 5, 1900)
	ids := []string{"00000000000000a1", "00000000000000a2", "00000000000000a3"}
	for i := range 13 {
		for k, id := range ids {
			b.line(b.a.Trace.Spans[k].ServiceName, id, float64(10+i*10+k), "info", fmt.Sprintf("%s step %d", id[14:], i))
		}
	}
	b.line("checkout", "", 200, "info", "trace-level: request accepted") // 40th line
	// Late story lines: gap bounds on a2 and a3, a retry line on a1.
	b.line("payments", "00000000000000a2", 900, "info", "a2 calling bank")
	b.line("payments", "00000000000000a2", 1600, "info", "a2 bank answered")
	b.gap("00000000000000a2", 900, 1600, "a2 calling bank", "a2 bank answered")
	b.line("inventory", "00000000000000a3", 1000, "warn", "a3 waiting for lock")
	b.line("inventory", "00000000000000a3", 1500, "info", "a3 lock taken")
	b.gap("00000000000000a3", 1000, 1500, "a3 waiting for lock", "a3 lock taken")
	b.line("checkout", "00000000000000a1", 1700, "warn", "a1 attempt 1 failed, retrying")
	b.a.Retries = []model.Retry{{SpanID: "00000000000000a1", SpanIndex: 0, Source: model.RetryFromLogs, Count: 1, Start: at(1650), End: at(1700)}}
	// A retry found from spans names no line: it must not pull one in.
	b.a.Retries = append(b.a.Retries, model.Retry{SpanID: "00000000000000a1", SpanIndex: 0, Source: model.RetryFromSpans, Start: at(400), End: at(10)})
	slices.SortStableFunc(b.a.Logs, func(x, y model.Log) int { return x.Entry.Time.Compare(y.Entry.Time) })
	return b.finish()
}

var storyMessages = []string{"a2 calling bank", "a2 bank answered", "a3 waiting for lock", "a3 lock taken", "a1 attempt 1 failed, retrying"}

func bodies(t *testing.T, f *data.Frame) []string {
	t.Helper()
	fl, _ := f.FieldByName("body")
	var out []string
	for i := 0; i < fl.Len(); i++ {
		var v struct{ Message string }
		if err := json.Unmarshal([]byte(fl.At(i).(string)), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Message)
	}
	return out
}

func TestLogsFrameCap(t *testing.T) {
	a := storyTrace()
	explore := ExploreLogs{
		DatasourceUID: "loki-uid",
		Queries:       []string{`{service_name=~".+"} |~ "(?i)af76"`, `{service_name=~".+"} !~ "(?i)af76" | trace_id=~"(?i)0*af76"`},
		From:          at(-5000), To: at(2000 + 5000).Add(1), AppURL: "https://grafana.example.com/sub/", OrgID: 3,
	}

	t.Run("story lines first, then the earliest, in time order", func(t *testing.T) {
		o := testOptions
		o.MaxLogLines, o.LogsExplore = 10, explore
		f := Logs(a, o)
		// The five story lines and the five earliest of the rest.
		want := []string{"a1 step 0", "a2 step 0", "a3 step 0", "a1 step 1", "a2 step 1",
			"a2 calling bank", "a3 waiting for lock", "a3 lock taken", "a2 bank answered", "a1 attempt 1 failed, retrying"}
		if got := bodies(t, f); !slices.Equal(got, want) {
			t.Fatalf("logs frame lines\n%q\nwant\n%q", got, want)
		}
		ts, _ := f.FieldByName("timestamp")
		for i := 1; i < ts.Len(); i++ {
			if ts.At(i).(time.Time).Before(ts.At(i - 1).(time.Time)) {
				t.Fatalf("row %d is before row %d", i, i-1)
			}
		}
		if len(f.Meta.Notices) != 1 {
			t.Fatalf("notices %+v, want the one about the cap", f.Meta.Notices)
		}
		n := f.Meta.Notices[0]
		if !strings.Contains(n.Text, "shows 10 of the 45 log lines analysed") {
			t.Errorf("notice %q does not count 10 shown of 45 analysed", n.Text)
		}
		checkExploreLink(t, n.Link, explore)
	})

	t.Run("a cap below the story keeps the earliest story lines", func(t *testing.T) {
		o := testOptions
		o.MaxLogLines = 3
		got := bodies(t, Logs(a, o))
		if want := []string{"a2 calling bank", "a3 waiting for lock", "a3 lock taken"}; !slices.Equal(got, want) {
			t.Errorf("lines %q, want %q", got, want)
		}
	})

	t.Run("under the cap every line, no notice", func(t *testing.T) {
		for _, max := range []int{45, 1000, -1} {
			o := testOptions
			o.MaxLogLines, o.LogsExplore = max, explore
			f := Logs(a, o)
			if f.Rows() != 45 || len(f.Meta.Notices) != 0 {
				t.Errorf("cap %d: %d rows, notices %+v; want all 45 and none", max, f.Rows(), f.Meta.Notices)
			}
		}
	})

	t.Run("the default cap", func(t *testing.T) {
		big := manyLines(DefaultMaxLogLines + 20)
		f := Logs(big, testOptions)
		if f.Rows() != DefaultMaxLogLines {
			t.Fatalf("%d rows, want the default cap %d", f.Rows(), DefaultMaxLogLines)
		}
		got := bodies(t, f)
		for _, must := range []string{"resumed", fmt.Sprintf("step %d", DefaultMaxLogLines+19)} {
			if !slices.Contains(got, must) {
				t.Errorf("the gap's bound %q is not in the capped frame", must)
			}
		}
	})

	t.Run("without a Loki data source the notice says how to get a link", func(t *testing.T) {
		o := testOptions
		o.MaxLogLines = 10
		o.LogsExplore = explore
		o.LogsExplore.DatasourceUID = ""
		f := Logs(a, o)
		if len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Link != "" || !strings.Contains(f.Meta.Notices[0].Text, "tracesToLogsV2") {
			t.Errorf("notices %+v, want one without a link naming tracesToLogsV2", f.Meta.Notices)
		}
	})
}

// checkExploreLink checks the link opens e's queries on e's Loki data
// source in Explore over e's range, under Grafana's root URL.
func checkExploreLink(t *testing.T, link string, e ExploreLogs) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	if u.Scheme != "https" || u.Host != "grafana.example.com" || u.Path != "/sub/explore" {
		t.Errorf("link %q does not open Explore under the root URL", link)
	}
	q := u.Query()
	if q.Get("orgId") != "3" || q.Get("schemaVersion") != "1" {
		t.Errorf("link %q: orgId %q schemaVersion %q", link, q.Get("orgId"), q.Get("schemaVersion"))
	}
	var panes map[string]struct {
		Datasource string
		Queries    []struct {
			RefID      string
			Expr       string
			QueryType  string
			Datasource struct{ Type, UID string }
		}
		Range struct{ From, To string }
	}
	if err := json.Unmarshal([]byte(q.Get("panes")), &panes); err != nil || len(panes) != 1 {
		t.Fatalf("panes %q: %v", q.Get("panes"), err)
	}
	for _, p := range panes {
		if p.Datasource != e.DatasourceUID || len(p.Queries) != len(e.Queries) {
			t.Fatalf("pane %+v", p)
		}
		for i, pq := range p.Queries {
			if pq.Expr != e.Queries[i] || pq.Datasource.UID != e.DatasourceUID || pq.Datasource.Type != "loki" || pq.QueryType != "range" || pq.RefID != string(rune('A'+i)) {
				t.Errorf("query %d %+v, want %q on %s", i, pq, e.Queries[i], e.DatasourceUID)
			}
		}
		// The range in milliseconds: from the start, to the end rounded up.
		if p.Range.From != fmt.Sprint(e.From.UnixMilli()) || p.Range.To != fmt.Sprint(e.To.UnixMilli()+1) {
			t.Errorf("range %+v, want %d to %d", p.Range, e.From.UnixMilli(), e.To.UnixMilli()+1)
		}
	}
}

func TestTraceEmbeddedLinesCap(t *testing.T) {
	a := storyTrace()
	o := testOptions
	o.MaxEmbeddedLines = 8
	f := Trace(a, o)
	var shown []string
	perSpan := map[int]int{}
	for row := 0; row < f.Rows(); row++ {
		var logs []traceLog
		decode(t, f, "logs", row, &logs)
		for _, l := range logs {
			shown = append(shown, l.Name)
			perSpan[row]++
		}
	}
	if len(shown) != 8 {
		t.Fatalf("trace frame carries %d lines, want the cap of 8: %q", len(shown), shown)
	}
	for _, must := range storyMessages {
		if !slices.Contains(shown, must) {
			t.Errorf("story line %q is not in the trace frame: %q", must, shown)
		}
	}
	// The other three are the earliest of the rest.
	for _, must := range []string{"a1 step 0", "a2 step 0", "a3 step 0"} {
		if !slices.Contains(shown, must) {
			t.Errorf("%q, among the earliest, is missing: %q", must, shown)
		}
	}
	// Each span's tags say how many of its lines are left out.
	total := map[int]int{}
	for _, l := range a.Logs {
		k := l.SpanIndex
		if k < 0 {
			k = 0 // trace-level lines show on the root
		}
		total[k]++
	}
	for row := 0; row < f.Rows(); row++ {
		tags := rawAt(t, f, "tags", row)
		if want := hiddenTag(total[row] - perSpan[row]); !strings.Contains(tags, want) {
			t.Errorf("span %d tags %s, want %s", row, tags, want)
		}
	}
	if len(f.Meta.Notices) != 1 || !strings.Contains(f.Meta.Notices[0].Text, "8 in all (maxEmbeddedLines)") {
		t.Errorf("notices %+v, want the total cap's", f.Meta.Notices)
	}

	// Under the total cap nothing changes.
	o.MaxEmbeddedLines = 0
	f = Trace(a, o)
	n := 0
	for row := 0; row < f.Rows(); row++ {
		var logs []traceLog
		decode(t, f, "logs", row, &logs)
		n += len(logs)
	}
	if n != 45 || len(f.Meta.Notices) != 0 {
		t.Errorf("default caps: %d lines (want 45), notices %+v", n, f.Meta.Notices)
	}
}

// gapsTrace has five gaps on two spans: a short one on the critical path
// (a breakdown waiting row falls in it) and four off it, of 100 to 400 ms.
// Each gap's sentence is also its span's warning, as the engine writes them.
func gapsTrace() *model.Analysis {
	b := newBuilder(seedTraceID)
	b.span("00000000000000a1", "", "checkout", "POST /checkout", model.KindServer, 0, 3000)
	b.span("00000000000000a2", "00000000000000a1", "payments", "charge", model.KindClient, 5, 2900)
	for _, g := range []struct {
		id       string
		from, to float64
	}{
		{"00000000000000a1", 10, 60},     // 50 ms, on the critical path
		{"00000000000000a2", 100, 200},   // 100 ms
		{"00000000000000a2", 300, 700},   // 400 ms
		{"00000000000000a2", 800, 1000},  // 200 ms
		{"00000000000000a1", 1100, 1400}, // 300 ms
	} {
		gp := b.gap(g.id, g.from, g.to, "", "")
		gp.Sentence = fmt.Sprintf("waited %s in %s", msText(g.to-g.from), g.id[14:])
		b.fig(g.id).Warnings = append(b.fig(g.id).Warnings, gp.Sentence)
	}
	b.fig("00000000000000a2").Warnings = append(b.fig("00000000000000a2").Warnings, "an anomaly, not a gap")
	a := b.finish()
	a.Breakdown.Rows = []model.BreakdownRow{{SpanID: "00000000000000a1", SpanIndex: 0, Category: model.CategoryWaiting, First: at(10), Duration: msd(50)}}
	return a
}

func msText(ms float64) string { return fmt.Sprintf("%g ms", ms) }

func TestGapRowsCap(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		rows      []float64           // gapMs of the gaps frame's rows, in the engine's order (as added)
		warnings  map[string][]string // span → its trace-frame warnings
		noticeHas string              // "" for no notice
	}{
		{"all fit", 5, []float64{50, 100, 400, 200, 300}, map[string][]string{
			"a1": {"waited 50 ms in a1", "waited 300 ms in a1"},
			"a2": {"waited 100 ms in a2", "waited 400 ms in a2", "waited 200 ms in a2", "an anomaly, not a gap"},
		}, ""},
		{"no cap", -1, []float64{50, 100, 400, 200, 300}, nil, ""},
		// The critical path's 50 ms first, then the longest: 400, 300.
		{"three", 3, []float64{50, 400, 300}, map[string][]string{
			"a1": {"waited 50 ms in a1", "waited 300 ms in a1"},
			"a2": {"waited 400 ms in a2", "an anomaly, not a gap", "2 shorter waits (300 ms) not listed (maxTableRows)"},
		}, "The gaps frame lists 3 of the 5 waits found (maxTableRows)"},
		{"one", 1, []float64{50}, map[string][]string{
			"a1": {"waited 50 ms in a1", "1 shorter wait (300 ms) not listed (maxTableRows)"},
			"a2": {"an anomaly, not a gap", "3 shorter waits (700 ms) not listed (maxTableRows)"},
		}, "lists 1 of the 5 waits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := gapsTrace()
			o := Options{MaxTableRows: tc.max}
			g := Gaps(a, o)
			if got := fieldValues[float64](t, g, "gapMs"); !slices.Equal(got, tc.rows) {
				t.Errorf("gap rows %v, want %v", got, tc.rows)
			}
			var notices []string
			for _, n := range g.Meta.Notices {
				notices = append(notices, n.Text)
			}
			if (tc.noticeHas == "") != (len(notices) == 0) || (tc.noticeHas != "" && !strings.Contains(notices[0], tc.noticeHas)) {
				t.Errorf("notices %q, want one with %q", notices, tc.noticeHas)
			}
			if len(a.Gaps) != 5 {
				t.Fatalf("the frame changed the analysis: %d gaps", len(a.Gaps))
			}
			tr := Trace(a, o)
			ids, _ := tr.FieldByName("spanID")
			ws, _ := tr.FieldByName("warnings")
			for i := 0; i < tr.Rows(); i++ {
				want, ok := tc.warnings[ids.At(i).(string)[14:]]
				if !ok {
					continue
				}
				var w []string
				if err := json.Unmarshal(ws.At(i).(json.RawMessage), &w); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(w, want) {
					t.Errorf("span %s warnings %q, want %q", ids.At(i), w, want)
				}
			}
		})
	}
}

// TestSameTime: a line's own time field is left out of its trace-view
// fields only when it says the entry's instant (to the millisecond).
func TestSameTime(t *testing.T) {
	entry := time.Date(2026, 11, 25, 16, 36, 37, 100_400_000, time.UTC)
	tests := []struct {
		key, value string
		same       bool
	}{
		{"timestamp", "2026-11-25T16:36:37.100Z", true},       // seed JSON, ms precision
		{"ts", "2026-11-25T16:36:37.1004Z", true},             // zap
		{"@timestamp", "2026-11-25T17:36:37.100+01:00", true}, // logback's offset
		{"time", "2026-11-25T16:36:37.100400000Z", true},      // slog, nanoseconds
		{"Time", "2026-11-25T16:36:37.100Z", true},            // any case
		{"timestamp", "2026-11-25T16:36:39.100Z", false},      // the app's clock differs: keep it
		{"timestamp", "1795624597100", false},                 // epoch millis: not parsed, kept
		{"ts", "16:36:37.100", false},                         // no date
		{"start", "2026-11-25T16:36:37.100Z", false},          // not a time key
	}
	for _, tc := range tests {
		if got := sameTime(model.Label{Name: tc.key, Value: tc.value}, entry); got != tc.same {
			t.Errorf("%s=%s: same %v, want %v", tc.key, tc.value, got, tc.same)
		}
	}
}

// tableTrace has four spans (a1 the root, a2–a4 its children, a1 and a3 on
// the critical path) and four retries of given costs, in the engine's order.
func tableTrace() *model.Analysis {
	b := newBuilder(seedTraceID)
	b.span("00000000000000a1", "", "checkout", "POST /checkout", model.KindServer, 0, 1000)
	b.span("00000000000000a2", "00000000000000a1", "payments", "charge", model.KindClient, 10, 300)
	b.span("00000000000000a3", "00000000000000a1", "stock", "reserve", model.KindClient, 320, 600)
	b.span("00000000000000a4", "00000000000000a1", "mail", "send", model.KindClient, 20, 100)
	for id, f := range map[string]struct {
		self     float64
		critical bool
	}{"a1": {80, true}, "a2": {300, false}, "a3": {50, true}, "a4": {100, false}} {
		fig := b.fig("00000000000000" + id)
		fig.SelfTime, fig.OnCriticalPath = msd(f.self), f.critical
	}
	for _, r := range []struct {
		span string
		cost float64
	}{{"a2", 100}, {"a3", 400}, {"a2", 50}, {"a4", 400}} {
		id := "00000000000000" + r.span
		b.a.Retries = append(b.a.Retries, model.Retry{SpanID: id, SpanIndex: b.byID[id], Source: model.RetryFromLogs, Count: 1, Cost: msd(r.cost), Message: r.span})
		b.fig(id).Retries++
	}
	return b.finish()
}

// TestTableRowsCap: maxTableRows caps the retries frame (the costliest,
// ties to the earlier, kept in the engine's order) and the spans frame (the
// critical path's spans, then the most self time, kept in start order),
// each with a notice; the trace frame keeps every span and figure.
func TestTableRowsCap(t *testing.T) {
	tests := []struct {
		name                 string
		max                  int
		retryCosts           []float64 // costMs of the retries frame's rows
		spans                []string  // spanID suffixes of the spans frame's rows
		retryNote, spansNote string    // "" for no notice
	}{
		{"all fit", 4, []float64{100, 400, 50, 400}, []string{"a1", "a2", "a4", "a3"}, "", ""},
		{"no cap", -1, []float64{100, 400, 50, 400}, []string{"a1", "a2", "a4", "a3"}, "", ""},
		{"three", 3, []float64{100, 400, 400}, []string{"a1", "a2", "a3"},
			"lists 3 of the 4 retries found (maxTableRows)", "lists 3 of the trace's 4 spans (maxTableRows)"},
		// Ties go to the earlier: a3's 400 ms retry before a4's; the
		// critical path before any self time.
		{"one", 1, []float64{400}, []string{"a1"}, "lists 1 of the 4 retries", "lists 1 of the trace's 4 spans"},
		{"two", 2, []float64{400, 400}, []string{"a1", "a3"}, "lists 2 of the 4 retries", "lists 2 of the trace's 4 spans"},
	}
	noticeOf := func(f *data.Frame) string {
		if len(f.Meta.Notices) == 0 {
			return ""
		}
		return f.Meta.Notices[0].Text
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tableTrace()
			o := Options{MaxTableRows: tc.max}
			r := Retries(a, o)
			if costs := fieldValues[float64](t, r, "costMs"); !slices.Equal(costs, tc.retryCosts) {
				t.Errorf("retry rows %v, want %v", costs, tc.retryCosts)
			}
			s := Spans(a, o)
			var ids []string
			for _, id := range fieldValues[string](t, s, "spanID") {
				ids = append(ids, id[14:])
			}
			if !slices.Equal(ids, tc.spans) {
				t.Errorf("span rows %v, want %v", ids, tc.spans)
			}
			for _, c := range []struct {
				f    *data.Frame
				want string
			}{{r, tc.retryNote}, {s, tc.spansNote}} {
				if got := noticeOf(c.f); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
					t.Errorf("%s notice %q, want one with %q", c.f.Name, got, c.want)
				}
			}
			if tr := Trace(a, o); tr.Rows() != 4 || len(a.Retries) != 4 {
				t.Errorf("the trace frame has %d spans and the analysis %d retries, want all 4 of each", tr.Rows(), len(a.Retries))
			}
		})
	}
}
