package correlate

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// The golden case: docs/analysis.md, "The seed trace, worked out". Every
// number below is copied from that section (times in ms after the trace
// start); the sentences are this package's wording of the same facts.

// seedID maps the seed's span names to the hex ids of scenario.json.
func seedID(name string) string { return "00000000000000a" + strings.TrimPrefix(name, "span-") }

type spanRow struct {
	span                    string
	self, wait, unaccounted float64
}

// seedSpanRows is the doc's span table, plus the self times of the spans
// it does not list (duration minus the union of children, by hand).
var seedSpanRows = []spanRow{
	{"span-1", 300, 0, 0},
	{"span-2", 150, 0, 0},
	{"span-3", 100, 0, 0},
	{"span-4", 650, 1400, 1000},
	{"span-5", 50, 0, 0},
	{"span-6", 100, 0, 0},
	{"span-7", 200, 0, 0},
	{"span-8", 100, 500, 200},
	{"span-9", 300, 0, 0},
}

type gapRow struct {
	span          string
	from          string
	fromMs        float64
	to            string
	toMs          float64
	gap           float64
	callees       []string
	named         bool
	in, un        float64
	before, after float64
	outside       float64 // -1: the later line states no duration ("—")
	concurrent    []string
}

// seedGapRows is the doc's gap table.
var seedGapRows = []gapRow{
	{"span-4", "Initiating call to data aggregator A", 400, "Received response from data aggregator A", 1000, 600,
		[]string{"span-6"}, true, 0, 600, 0, 0, 300, nil},
	{"span-4", "Initiating call to data aggregator B", 1050, "Received response from data aggregator B", 1850, 800,
		[]string{"span-8"}, true, 400, 400, 350, 50, 400, []string{"span-6"}},
	{"span-8", "Received request for aggregated metrics", 1400, "Querying prometheus", 1500, 100,
		nil, false, 0, 100, 0, 0, -1, nil},
	{"span-8", "Querying prometheus", 1500, "Prometheus query timed out after 200ms, retrying", 1700, 200,
		[]string{"span-9"}, false, 200, 0, 0, 0, 0, nil},
	{"span-8", "Prometheus query timed out after 200ms, retrying", 1700, "Prometheus query successful on retry", 1900, 200,
		[]string{"span-9"}, false, 100, 100, 0, 100, 0, nil},
}

// seedWarnings are the warnings of span-4 and span-8; every other span of
// the seed has none. The second gap's sentence is the doc's example, word
// for word.
var seedWarnings = map[string][]string{
	"span-4": {
		`waited 600 ms between "Initiating call to data aggregator A" and "Received response from data aggregator A": 0 ms in data-aggregator-a GET /data/aggregator-a, 600 ms unaccounted (its span starts only as the wait ends); the call's own timer says 300 ms`,
		`waited 800 ms between "Initiating call to data aggregator B" and "Received response from data aggregator B": 400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted (350 ms before it started, 50 ms after it ended); the call's own timer says 400 ms; data-aggregator-a GET /data/aggregator-a ran concurrently for 250 ms`,
		`has 2 log lines after its end (by up to 600 ms)`,
		`its end time looks wrong: its logs and its child data-aggregator-b GET /data/aggregator-b run past it, so it ended before its work finished`,
	},
	"span-8": {
		`waited 100 ms between "Received request for aggregated metrics" and "Querying prometheus": 100 ms unaccounted (no child span ran during it)`,
		`waited 200 ms between "Querying prometheus" and "Prometheus query timed out after 200ms, retrying": 200 ms in data-aggregator-b metric-db-b.query, 0 ms unaccounted`,
		`waited 200 ms between "Prometheus query timed out after 200ms, retrying" and "Prometheus query successful on retry": 100 ms in data-aggregator-b metric-db-b.query, 100 ms unaccounted (100 ms after it ended)`,
		`retried after "Prometheus query timed out after 200ms, retrying": the failed attempt took 200 ms (stated by the line), and the retry succeeded`,
		`starts 100 ms after its parent widget-service GET /widgets/data ended (the parent's end time looks wrong, or the hosts' clocks disagree)`,
		`has 2 log lines after its end (by up to 150 ms)`,
	},
}

// The doc's critical path: span-1, span-4, span-5, span-6, span-7.
var seedCriticalPath = []string{"span-1", "span-4", "span-5", "span-6", "span-7"}

func ids(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, seedID(n))
	}
	return out
}

func checkSpanRows(t *testing.T, a *model.Analysis, rows []spanRow) {
	t.Helper()
	for _, r := range rows {
		i := spanIndex(t, a, seedID(r.span))
		f := a.Figures[i]
		if f.SelfTime != msd(r.self) || f.Wait != msd(r.wait) || f.Unaccounted != msd(r.unaccounted) {
			t.Errorf("%s: self/wait/unaccounted = %v/%v/%v, want %v/%v/%v ms", r.span,
				f.SelfTime, f.Wait, f.Unaccounted, r.self, r.wait, r.unaccounted)
		}
	}
}

func spanIndex(t *testing.T, a *model.Analysis, id string) int {
	t.Helper()
	for i := range a.Trace.Spans {
		if a.Trace.Spans[i].SpanID == id {
			return i
		}
	}
	t.Fatalf("span %s not in trace", id)
	return -1
}

// gapsOf returns the gaps of the given seed spans.
func gapsOf(a *model.Analysis, spans ...string) []model.Gap {
	var out []model.Gap
	for _, g := range a.Gaps {
		for _, s := range spans {
			if g.SpanID == seedID(s) {
				out = append(out, g)
			}
		}
	}
	return out
}

func checkGapRows(t *testing.T, a *model.Analysis, got []model.Gap, want []gapRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d gaps, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		g := got[k]
		rel := func(tm time.Time) float64 { return float64(tm.Sub(a.Start)) / float64(time.Millisecond) }
		if g.SpanID != seedID(w.span) || g.FromMessage != w.from || g.ToMessage != w.to ||
			rel(g.Start) != w.fromMs || rel(g.End) != w.toMs || g.Duration() != msd(w.gap) {
			t.Errorf("gap %d: %s %q (%v) → %q (%v) = %v; want %s %q (%v) → %q (%v) = %v", k,
				g.SpanID, g.FromMessage, rel(g.Start), g.ToMessage, rel(g.End), g.Duration(),
				w.span, w.from, w.fromMs, w.to, w.toMs, w.gap)
		}
		if !slices.Equal(spanIDs(g.Callees), ids(w.callees)) || g.Named != w.named {
			t.Errorf("gap %d: callees %v named=%v, want %v named=%v", k, spanIDs(g.Callees), g.Named, ids(w.callees), w.named)
		}
		if g.InCallees != msd(w.in) || g.Unaccounted != msd(w.un) || g.BeforeCallee != msd(w.before) || g.AfterCallee != msd(w.after) {
			t.Errorf("gap %d: in/unaccounted/before/after = %v/%v/%v/%v, want %v/%v/%v/%v ms", k,
				g.InCallees, g.Unaccounted, g.BeforeCallee, g.AfterCallee, w.in, w.un, w.before, w.after)
		}
		if w.outside < 0 {
			if g.HasStated {
				t.Errorf("gap %d: later line states a duration, want none", k)
			}
		} else if !g.HasStated || g.OutsideTimer != msd(w.outside) {
			t.Errorf("gap %d: outside own timer = %v (stated %v), want %v ms", k, g.OutsideTimer, g.HasStated, w.outside)
		}
		if !slices.Equal(spanIDs(g.Concurrent), ids(w.concurrent)) {
			t.Errorf("gap %d: concurrent %v, want %v", k, spanIDs(g.Concurrent), ids(w.concurrent))
		}
		if g.Sentence == "" || !slices.Contains(a.Figures[g.SpanIndex].Warnings, g.Sentence) {
			t.Errorf("gap %d: sentence %q missing from its span's warnings", k, g.Sentence)
		}
	}
}

func checkSeedRetry(t *testing.T, a *model.Analysis) {
	t.Helper()
	if len(a.Retries) != 1 {
		t.Fatalf("got %d retries, want 1: %+v", len(a.Retries), a.Retries)
	}
	r := a.Retries[0]
	if r.SpanID != seedID("span-8") || r.Source != model.RetryFromLogs || r.Count != 1 ||
		r.Cost != msd(200) || r.Outcome != model.OutcomeSucceeded ||
		r.Message != "Prometheus query timed out after 200ms, retrying" ||
		r.Start.Sub(a.Start) != msd(1500) || r.End.Sub(a.Start) != msd(1700) {
		t.Errorf("retry = %+v; want span-8, one retry of the Prometheus query, cost 200 ms, succeeded", r)
	}
	if f := a.Figures[spanIndex(t, a, seedID("span-8"))]; f.Retries != 1 {
		t.Errorf("span-8 figures count %d retries, want 1", f.Retries)
	}
}

func checkWarnings(t *testing.T, a *model.Analysis, want map[string][]string, only []string) {
	t.Helper()
	for i, f := range a.Figures {
		name := "span-" + strings.TrimPrefix(a.Trace.Spans[i].SpanID, "00000000000000a")
		if only != nil && !slices.Contains(only, name) {
			continue
		}
		if !slices.Equal(f.Warnings, want[name]) {
			t.Errorf("%s warnings:\n got %q\nwant %q", name, f.Warnings, want[name])
		}
	}
}

func checkCriticalPath(t *testing.T, a *model.Analysis) {
	t.Helper()
	if !slices.Equal(a.CriticalPath, ids(seedCriticalPath)) {
		t.Errorf("critical path %v, want %v", a.CriticalPath, ids(seedCriticalPath))
	}
	for i, f := range a.Figures {
		if on := slices.Contains(a.CriticalPath, a.Trace.Spans[i].SpanID); f.OnCriticalPath != on {
			t.Errorf("span %s: OnCriticalPath %v, want %v", a.Trace.Spans[i].SpanID, f.OnCriticalPath, on)
		}
	}
}

func TestSeedGolden(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	a := Analyze(sc.trace(t), sc.entries(t, seedOnly), Options{MinGap: 100 * time.Millisecond})

	if len(a.Logs) != 12 || a.TraceLevelLogs != 0 || a.OtherTraceLogs != 0 || a.DuplicateLogs != 0 {
		t.Errorf("logs %d, trace-level %d, other traces %d, duplicates %d; want 12, 0, 0, 0",
			len(a.Logs), a.TraceLevelLogs, a.OtherTraceLogs, a.DuplicateLogs)
	}
	checkSpanRows(t, a, seedSpanRows)
	checkGapRows(t, a, a.Gaps, seedGapRows)
	checkSeedRetry(t, a)
	checkWarnings(t, a, seedWarnings, nil)
	checkCriticalPath(t, a)

	// Trace duration as Tempo reports it: 1800 ms although the root lasts 1500.
	if d := a.End.Sub(a.Start); d != msd(1800) {
		t.Errorf("trace duration %v, want 1800 ms", d)
	}
	wantTotal := model.GroupFigures{Wait: msd(1900), Unaccounted: msd(1200), Retries: 1, Spans: 9}
	if a.Total != wantTotal {
		t.Errorf("total %+v, want %+v", a.Total, wantTotal)
	}
	wantSvc := []model.GroupFigures{
		{ServiceName: "dashboard-service", Spans: 1},
		{ServiceName: "data-aggregator-a", Spans: 2},
		{ServiceName: "data-aggregator-b", Wait: msd(500), Unaccounted: msd(200), Retries: 1, Spans: 2},
		{ServiceName: "user-service", Spans: 2},
		{ServiceName: "widget-service", Wait: msd(1400), Unaccounted: msd(1000), Spans: 2},
	}
	if !reflect.DeepEqual(a.Services, wantSvc) {
		t.Errorf("services %+v, want %+v", a.Services, wantSvc)
	}
	if len(a.Operations) != 9 || a.Operations[7] != (model.GroupFigures{ServiceName: "widget-service",
		Operation: "GET /widgets/data", Wait: msd(1400), Unaccounted: msd(1000), Spans: 1}) {
		t.Errorf("operations %+v", a.Operations)
	}
	// The top finding is the breakdown's headline (docs/analysis.md, "Where
	// the time went"): the wait for aggregator A, on the critical path.
	wantTop := seedHeadline
	if a.TopFinding != wantTop {
		t.Errorf("top finding\n got %q\nwant %q", a.TopFinding, wantTop)
	}
	if len(a.Notices) != 0 {
		t.Errorf("notices %q, want none", a.Notices)
	}
}

// TestSeedStory checks the sentence the doc says a user should be able to
// read off the result, written from the aggregator-B gap.
func TestSeedStory(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	tr := sc.trace(t)
	s := newState(tr, nil, DefaultOptions())
	s.buildTree()
	s.join(sc.entries(t, seedOnly))
	s.findGaps()
	s.findRetries()
	got := s.gapSummary(&s.a.Gaps[1])
	want := `widget-service waited 800 ms for data-aggregator-b, whose span covers 400 ms of it; 400 ms is unaccounted ` +
		`(350 ms before data-aggregator-b started, 50 ms after it ended), and data-aggregator-b spent 200 ms of its time ` +
		`on a retry ("Prometheus query timed out after 200ms, retrying"); the call's own timer says 400 ms`
	if got != want {
		t.Errorf("story\n got %q\nwant %q", got, want)
	}
}

// TestSeedSharedFixture runs the golden case from the shared original and
// checks that the in-repo copy has not drifted from it.
func TestSeedSharedFixture(t *testing.T) {
	shared := loadScenario(t, sharedFixture)
	local := loadScenario(t, seedFixture)
	if !reflect.DeepEqual(shared, local) {
		t.Fatalf("testdata/seed.json differs from %s; regenerate it", sharedFixture)
	}
	a := Analyze(shared.trace(t), shared.entries(t, seedOnly), Options{})
	checkSpanRows(t, a, seedSpanRows)
	checkGapRows(t, a, a.Gaps, seedGapRows)
	checkSeedRetry(t, a)
	checkWarnings(t, a, seedWarnings, nil)
	checkCriticalPath(t, a)
}

// captureGapRows are the rows the capture's extra lines add (by the same
// rules) for dashboard-service (span-1, with the edge-gateway logfmt line)
// and user-service (span-2, span-3).
var captureGapRows = []gapRow{
	{"span-1", "Received request GET /dashboard", 0, "Fetching user preferences from user-service", 100, 100,
		nil, false, 0, 100, 0, 0, -1, nil},
	{"span-1", "Fetching user preferences from user-service", 100, "Fetching widget data from widget-service", 300, 200,
		[]string{"span-2"}, false, 200, 0, 0, 0, -1, nil},
	{"span-1", "Fetching widget data from widget-service", 300, "Dashboard rendered", 1500, 1200,
		[]string{"span-2", "span-4"}, false, 1000, 200, 0, 200, 0, nil},
	{"span-2", "Received request for user preferences", 100, "Fetched user preferences from postgresql", 250, 150,
		[]string{"span-3"}, false, 100, 50, 50, 0, 50, nil},
	{"span-2", "Fetched user preferences from postgresql", 250, "Returning user preferences", 350, 100,
		nil, false, 0, 100, 0, 0, 0, nil},
	{"span-3", "Executing preferences query on postgresql", 150, "", 250, 100,
		nil, false, 0, 100, 0, 0, -1, nil},
}

// TestSeedWithCaptureLines adds the capture's lines for dashboard-service,
// user-service and edge-gateway (21 lines) and the 4 lines of the noise
// trace: the seed's rows for span-4 and span-8 stay the same.
//
// The doc's span-1 row (wait 0) holds only for the seed's own lines: with
// the dashboard-service lines, span-1 has gaps of its own (1500 ms of wait,
// 300 ms unaccounted); its self time stays 300 ms.
func TestSeedWithCaptureLines(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	for _, tc := range []struct {
		name  string
		keep  func(scenLog) bool
		other int
	}{
		{"21 lines of the trace", mainTrace, 0},
		{"25 lines with the noise trace", all, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(sc.trace(t), sc.entries(t, tc.keep), Options{})
			if len(a.Logs) != 21 || a.TraceLevelLogs != 0 || a.OtherTraceLogs != tc.other {
				t.Errorf("logs %d, trace-level %d, other traces %d; want 21, 0, %d",
					len(a.Logs), a.TraceLevelLogs, a.OtherTraceLogs, tc.other)
			}
			checkSpanRows(t, a, []spanRow{
				{"span-1", 300, 1500, 300}, {"span-2", 150, 250, 150}, {"span-3", 100, 100, 100},
				{"span-4", 650, 1400, 1000}, {"span-8", 100, 500, 200},
			})
			checkGapRows(t, a, gapsOf(a, "span-4", "span-8"), seedGapRows)
			checkGapRows(t, a, gapsOf(a, "span-1", "span-2", "span-3"), captureGapRows)
			checkSeedRetry(t, a)
			checkWarnings(t, a, seedWarnings, []string{"span-4", "span-8", "span-5", "span-6", "span-7", "span-9"})
			checkCriticalPath(t, a)
			f1 := a.Figures[spanIndex(t, a, seedID("span-1"))]
			if !slices.Contains(f1.Warnings, "has 1 log line after its end (by up to 10 ms)") {
				t.Errorf("span-1 warnings %q lack the edge-gateway line after its end", f1.Warnings)
			}
			for _, l := range a.Logs {
				if l.TraceID != testTraceID || l.SpanIndex < 0 {
					t.Errorf("log %q: trace %q span index %d", l.Message, l.TraceID, l.SpanIndex)
				}
			}
		})
	}
}

// lokiResponse is the part of a Loki query_range body the test reads.
type lokiResponse struct {
	Data struct {
		Result []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func labelsOf(m map[string]string) model.Labels {
	var ls model.Labels
	for k, v := range m {
		ls = append(ls, model.Label{Name: k, Value: v})
	}
	slices.SortFunc(ls, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) })
	return ls
}

// lokiEntries decodes a captured Loki response the simple way pkg/loki
// does it properly: enough to feed Analyze the real wire shapes (merged
// stream labels, categorized metadata, parsed labels, _extracted keys).
func lokiEntries(t *testing.T, file string) []model.LogEntry {
	t.Helper()
	b, err := os.ReadFile("../internal/fixtures/testdata/real/loki/" + file)
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	var r lokiResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	var out []model.LogEntry
	for _, st := range r.Data.Result {
		stream := labelsOf(st.Stream)
		for _, v := range st.Values {
			var ts, line string
			if err := json.Unmarshal(v[0], &ts); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatal(err)
			}
			e := model.LogEntry{Time: unixNs(t, ts), Line: line, Stream: stream}
			if len(v) > 2 {
				var extra struct {
					StructuredMetadata map[string]string `json:"structuredMetadata"`
					Parsed             map[string]string `json:"parsed"`
				}
				if err := json.Unmarshal(v[2], &extra); err != nil {
					t.Fatal(err)
				}
				e.Metadata, e.Parsed = labelsOf(extra.StructuredMetadata), labelsOf(extra.Parsed)
			}
			out = append(out, e)
		}
	}
	return out
}

// TestSeedFromLokiCaptures feeds the entries exactly as the real Loki
// returned them (streams in Loki's order, not time-sorted) and expects the
// same gaps, figures and retries as from the pushed lines.
func TestSeedFromLokiCaptures(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	want := Analyze(sc.trace(t), sc.entries(t, mainTrace), Options{})
	for _, file := range []string{
		"query_range_line_filter.json",
		"query_range_line_filter_categorized.json",
		"query_range_structured_metadata.json",
		"query_range_structured_metadata_categorized.json",
		"query_range_json_parse_all.json",
		"query_range_json_parse_all_categorized.json",
	} {
		t.Run(file, func(t *testing.T) {
			got := Analyze(sc.trace(t), lokiEntries(t, file), Options{})
			if len(got.Logs) != 21 || got.TraceLevelLogs != 0 {
				t.Fatalf("logs %d, trace-level %d; want 21, 0", len(got.Logs), got.TraceLevelLogs)
			}
			if !reflect.DeepEqual(got.Figures, want.Figures) || !reflect.DeepEqual(got.Gaps, want.Gaps) ||
				!reflect.DeepEqual(got.Retries, want.Retries) || !slices.Equal(got.CriticalPath, want.CriticalPath) {
				t.Errorf("analysis differs from the one of the pushed lines")
			}
			// Entries at the same instant keep input order, and Loki's
			// stream order differs from the push order: compare by line.
			byLine := func(ls []model.Log) []model.Log {
				ls = slices.Clone(ls)
				slices.SortStableFunc(ls, func(a, b model.Log) int {
					if c := a.Entry.Time.Compare(b.Entry.Time); c != 0 {
						return c
					}
					return strings.Compare(a.Entry.Line, b.Entry.Line)
				})
				return ls
			}
			gl, wl := byLine(got.Logs), byLine(want.Logs)
			for k := range gl {
				g, w := gl[k], wl[k]
				if g.Entry.Time != w.Entry.Time || g.Message != w.Message || g.Level != w.Level ||
					g.SpanID != w.SpanID || g.Stated != w.Stated || g.HasStated != w.HasStated {
					t.Errorf("log %d: got %q %q %q %v, want %q %q %q %v", k,
						g.Message, g.Level, g.SpanID, g.Stated, w.Message, w.Level, w.SpanID, w.Stated)
				}
			}
		})
	}
	t.Run("logfmt line with _extracted keys", func(t *testing.T) {
		es := lokiEntries(t, "query_range_logfmt_categorized.json")
		if len(es) != 1 {
			t.Fatalf("want the 1 edge-gateway entry, got %d", len(es))
		}
		l := Extract(&es[0], Options{})
		if l.TraceID != testTraceID || l.SpanID != seedID("span-1") || l.Level != "info" ||
			l.Message != "proxied GET /dashboard upstream=dashboard-service status=200" ||
			!l.HasStated || l.Stated != msd(1510) {
			t.Errorf("extracted %+v", l)
		}
		// The same entry when only Loki's parsed labels carry its fields.
		e := es[0]
		e.Line = "not a logfmt line"
		e.Metadata = nil
		l = Extract(&e, Options{})
		if l.TraceID != testTraceID || l.SpanID != seedID("span-1") || l.Stated != msd(1510) ||
			l.Message != "proxied GET /dashboard upstream=dashboard-service status=200" {
			t.Errorf("from parsed labels only: %+v", l)
		}
	})
}
