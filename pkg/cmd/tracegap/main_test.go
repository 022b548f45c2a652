package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const (
	seedTraceID  = "0af7651916cd43dd8448eb211c80319c"
	noiseTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tracePath    = "/api/v2/traces/" + seedTraceID
	queryRange   = "/loki/api/v1/query_range"
)

// cli runs one command line the way main does.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// fixture is the path of a real capture.
func fixture(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(fixtures.Dir(t), filepath.FromSlash(name))
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/cmd/tracegap -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got ---\n%s", path, got)
	}
}

// analysis is the part of the JSON report the tests read.
type analysis struct {
	TraceID    string  `json:"traceId"`
	DurationMs float64 `json:"durationMs"`
	Spans      []struct {
		SpanID        string  `json:"spanId"`
		Depth         int     `json:"depth"`
		SelfMs        float64 `json:"selfMs"`
		WaitMs        float64 `json:"waitMs"`
		UnaccountedMs float64 `json:"unaccountedMs"`
	} `json:"spans"`
	Gaps []struct {
		SpanID         string   `json:"spanId"`
		StartMs        float64  `json:"startMs"`
		DurationMs     float64  `json:"durationMs"`
		InCalleesMs    float64  `json:"inCalleesMs"`
		UnaccountedMs  float64  `json:"unaccountedMs"`
		BeforeCalleeMs float64  `json:"beforeCalleeMs"`
		AfterCalleeMs  float64  `json:"afterCalleeMs"`
		OutsideTimerMs *float64 `json:"outsideTimerMs"`
		Callees        []struct {
			SpanID string `json:"spanId"`
		} `json:"callees"`
	} `json:"gaps"`
	Retries []struct {
		SpanID  string  `json:"spanId"`
		CostMs  float64 `json:"costMs"`
		Outcome string  `json:"outcome"`
	} `json:"retries"`
	CriticalPath []string `json:"criticalPath"`
	Logs         struct {
		Count int `json:"count"`
	} `json:"logs"`
	Notices []struct {
		Severity string `json:"severity"`
		Text     string `json:"text"`
	} `json:"notices"`
}

func parse(t *testing.T, out string) *analysis {
	t.Helper()
	var a analysis
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, out)
	}
	return &a
}

// checkSeed checks the rows docs/analysis.md works out for the seed trace
// (times in ms after the trace start): span-4's and span-8's gaps, the
// retry and the critical path. Rows of other spans are not checked: the
// captures add lines for them, which "change none of the rows below".
func checkSeed(t *testing.T, a *analysis) {
	t.Helper()
	if a.TraceID != seedTraceID || a.DurationMs != 1800 || len(a.Spans) != 9 {
		t.Fatalf("trace %s, %v ms, %d spans; want %s, 1800 ms, 9 spans", a.TraceID, a.DurationMs, len(a.Spans), seedTraceID)
	}
	type row struct {
		span                              string
		start, gap, in, un, before, after float64
		outside                           float64 // -1: no stated duration
		callee                            string
	}
	want := []row{
		{"00000000000000a4", 400, 600, 0, 600, 0, 0, 300, "00000000000000a6"},
		{"00000000000000a4", 1050, 800, 400, 400, 350, 50, 400, "00000000000000a8"},
		{"00000000000000a8", 1400, 100, 0, 100, 0, 0, -1, ""},
		{"00000000000000a8", 1500, 200, 200, 0, 0, 0, 0, "00000000000000a9"},
		{"00000000000000a8", 1700, 200, 100, 100, 0, 100, 0, "00000000000000a9"},
	}
	var got []row
	for _, g := range a.Gaps {
		if g.SpanID != "00000000000000a4" && g.SpanID != "00000000000000a8" {
			continue
		}
		r := row{g.SpanID, g.StartMs, g.DurationMs, g.InCalleesMs, g.UnaccountedMs, g.BeforeCalleeMs, g.AfterCalleeMs, -1, ""}
		if g.OutsideTimerMs != nil {
			r.outside = *g.OutsideTimerMs
		}
		if len(g.Callees) == 1 {
			r.callee = g.Callees[0].SpanID
		}
		got = append(got, r)
	}
	if len(got) != len(want) {
		t.Fatalf("span-4/span-8 gaps = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gap %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(a.Retries) != 1 || a.Retries[0].SpanID != "00000000000000a8" || a.Retries[0].CostMs != 200 || a.Retries[0].Outcome != "succeeded" {
		t.Errorf("retries = %+v, want one on span-8 costing 200 ms that succeeded", a.Retries)
	}
	wantPath := "00000000000000a1 00000000000000a4 00000000000000a5 00000000000000a6 00000000000000a7"
	if p := strings.Join(a.CriticalPath, " "); p != wantPath {
		t.Errorf("critical path = %s, want %s", p, wantPath)
	}
}

// The acceptance test of issue 7: `tracegap explain --example` tells the
// seed story. Wide lines keep each sentence on one line, so the check
// reads the sentences whole.
func TestExampleTellsTheSeedStory(t *testing.T) {
	out, stderr, code := cli(t, "explain", "--example", "--width", "1000")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		// The 800 ms wait: 400 ms in data-aggregator-b, 400 ms unaccounted.
		`waited 800 ms between "Initiating call to data aggregator B" and "Received response from data aggregator B": ` +
			`400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted (350 ms before it started, 50 ms after it ended); ` +
			`the call's own timer says 400 ms; data-aggregator-a GET /data/aggregator-a ran concurrently for 250 ms`,
		// The 200 ms retry, on data-aggregator-b's span.
		`retry  retried after "Prometheus query timed out after 200ms, retrying": the failed attempt took 200 ms (stated by the line), and the retry succeeded`,
		// The summary's wait table and retry list.
		"400 ms   800 ms    400 ms  widget-service GET /widgets/data → data-aggregator-b",
		`data-aggregator-b GET /data/aggregator-b retried after "Prometheus query timed out after 200ms, retrying": the failed attempt took 200 ms`,
		"Trace " + seedTraceID + "  1800 ms · 9 spans · 5 services · 21 log lines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	// The retry sits under data-aggregator-b's span, after the 800 ms wait
	// under widget-service's.
	w, r, b := strings.Index(out, "waited 800 ms"), strings.Index(out, "retry  retried"), strings.Index(out, "└─ data-aggregator-b GET /data/aggregator-b")
	if !(w < b && b < r) {
		t.Errorf("the 800 ms wait (%d), data-aggregator-b's span (%d) and the retry (%d) are out of order", w, b, r)
	}
}

// The acceptance test of issue 15: the first 6 lines of `tracegap explain
// --example` (at the default width) are the headline and the breakdown's
// top three rows, which add up with the rest to the root's 1500 ms.
func TestExampleLeadsWithTheBreakdown(t *testing.T) {
	t.Setenv("COLUMNS", "")
	out, _, code := cli(t, "explain", "--example")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(out, "\n")
	head := strings.Join(lines[:3], " ")
	if !strings.HasPrefix(head, "GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between") ||
		!strings.HasSuffix(head, "200 ms (13%) data-aggregator-a's own time") {
		t.Errorf("first 3 lines are not the headline:\n%s", strings.Join(lines[:3], "\n"))
	}
	for k, want := range []string{
		`  600 ms   40%  ███       waiting    widget-service GET /widgets/data: "Initiating call to data agg…`,
		"  200 ms   13%  █         in callee  dashboard-service GET /dashboard → user-service GET /users/{id…",
		"  200 ms   13%  █         self       data-aggregator-a metric-db-a.query",
	} {
		if lines[3+k] != want {
			t.Errorf("line %d:\n got %q\nwant %q", 4+k, lines[3+k], want)
		}
	}
	// README.md shows these 6 lines as they are.
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if block := "```\n" + strings.Join(lines[:6], "\n") + "\n```"; !strings.Contains(string(readme), block) {
		t.Errorf("README.md lacks the first 6 lines of explain --example:\n%s", block)
	}
	// JSON: the same rows, at full precision, adding up to tookMs.
	js, _, _ := cli(t, "explain", "--example", "--format", "json")
	var doc struct {
		Breakdown struct {
			TookMs   float64 `json:"tookMs"`
			Headline string  `json:"headline"`
			Rows     []struct {
				Category string  `json:"category"`
				Ms       float64 `json:"ms"`
			} `json:"rows"`
		} `json:"breakdown"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, r := range doc.Breakdown.Rows {
		sum += r.Ms
	}
	if doc.Breakdown.TookMs != 1500 || sum != 1500 || len(doc.Breakdown.Rows) != 8 || doc.Breakdown.Rows[0].Category != "waiting" ||
		!strings.HasPrefix(out, doc.Breakdown.Headline[:60]) {
		t.Errorf("JSON breakdown %+v", doc.Breakdown)
	}
}

// TestExampleGoldenWidths: the seed's report at 60 and 160 columns (100 is
// example.golden): the breakdown wraps or stays on one line, columns never
// touch.
func TestExampleGoldenWidths(t *testing.T) {
	for _, w := range []string{"60", "160"} {
		out, stderr, code := cli(t, "explain", "--example", "--width", w)
		if code != exitOK || stderr != "" {
			t.Fatalf("width %s: exit %d, stderr %q", w, code, stderr)
		}
		golden(t, "example_"+w+".golden", out)
	}
}

func TestExampleGolden(t *testing.T) {
	t.Setenv("COLUMNS", "") // the default width, whatever the shell says
	out, stderr, code := cli(t, "explain", "--example")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colors written to something that is not a terminal")
	}
	golden(t, "example.golden", out)

	js, stderr, code := cli(t, "explain", "--example", "--format", "json")
	if code != exitOK || stderr != "" {
		t.Fatalf("json: exit %d, stderr %q", code, stderr)
	}
	golden(t, "example.json.golden", js)
	checkSeed(t, parse(t, js))
}

// The built-in example must stay the real capture byte for byte.
func TestExampleIsTheCapture(t *testing.T) {
	for name, embedded := range map[string][]byte{
		"tempo/trace_v2_protobuf.pb":                    exampleTrace,
		"loki/query_range_line_filter_categorized.json": exampleLogs,
	} {
		real, err := os.ReadFile(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(real, embedded) {
			t.Errorf("example/%s differs from the capture %s; copy it again", filepath.Base(name), name)
		}
	}
}

// Every export form of the trace, with every Loki answer that carries the
// seed's lines, tells the same story. Answers with all 21 entries give
// exactly the example's analysis; the | json filter drops the logfmt line,
// which changes only dashboard-service's rows.
func TestFileModeRealCaptures(t *testing.T) {
	example, _, _ := cli(t, "explain", "--example", "--format", "json")
	traces := []string{"tempo/trace_v1_json.json", "tempo/trace_v2_json.json", "tempo/trace_v1_protobuf.pb", "tempo/trace_v2_protobuf.pb"}
	logs := []struct {
		file string
		all  bool // the answer holds all 21 entries of the trace
	}{
		{"loki/query_range_line_filter_categorized.json", true},
		{"loki/query_range_line_filter.json", true},
		{"loki/query_range_structured_metadata.json", true},
		{"loki/query_range_structured_metadata_categorized.json", true},
		{"loki/query_range_json_filter.json", false},
		{"loki/query_range_json_filter_categorized.json", false},
		{"loki/query_range_json_parse_all_categorized.json", true},
		{"loki/auth_query_range_fake_tenant.json", true},
	}
	for _, tr := range traces {
		for _, lg := range logs {
			t.Run(filepath.Base(tr)+"+"+filepath.Base(lg.file), func(t *testing.T) {
				out, stderr, code := cli(t, "explain", "--trace", fixture(t, tr), "--logs", fixture(t, lg.file), "--format", "json")
				if code != exitOK || stderr != "" {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
				a := parse(t, out)
				checkSeed(t, a)
				switch {
				case lg.all && out != example:
					t.Errorf("the analysis differs from the built-in example's")
				case !lg.all && a.Logs.Count != 20:
					t.Errorf("%d log lines, want 20 (| json drops the logfmt line)", a.Logs.Count)
				}
			})
		}
	}

	t.Run("text", func(t *testing.T) {
		out, stderr, code := cli(t, "explain", "--trace", fixture(t, "tempo/trace_v1_json.json"),
			"--logs", fixture(t, "loki/query_range_line_filter.json"), "--width", "1000")
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		for _, want := range []string{"from files: trace ", "400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted", "the failed attempt took 200 ms"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})

	t.Run("trace only", func(t *testing.T) {
		out, stderr, code := cli(t, "explain", "--trace", fixture(t, "tempo/trace_v2_json.json"), "--width", "1000")
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if !strings.Contains(out, "No --logs file was given") || strings.Contains(out, "wait   waited") {
			t.Errorf("without logs: want the notice and no waits\n%s", out)
		}
		if !strings.Contains(out, "└─ data-aggregator-b metric-db-b.query") {
			t.Errorf("the waterfall lacks the deepest span\n%s", out)
		}
	})
}

// An OTLP export can hold several traces: the trace id picks one.
func TestFileModeSeveralTraces(t *testing.T) {
	raw, err := os.ReadFile(fixture(t, "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var scenario struct {
		OTLP []struct {
			ResourceSpans []json.RawMessage `json:"resourceSpans"`
		} `json:"otlpRequests"`
	}
	if err := json.Unmarshal(raw, &scenario); err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	for _, r := range scenario.OTLP {
		all = append(all, r.ResourceSpans...)
	}
	body, _ := json.Marshal(map[string]any{"resourceSpans": all})
	path := filepath.Join(t.TempDir(), "two-traces.json")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := fixture(t, "loki/query_range_line_filter_categorized.json")

	_, stderr, code := cli(t, "explain", "--trace", path)
	if code != exitUsage || !strings.Contains(stderr, "holds 2 traces ("+seedTraceID+", "+noiseTraceID+")") {
		t.Errorf("no id: exit %d, stderr %q", code, stderr)
	}

	out, stderr, code := cli(t, "explain", "--trace", path, "--logs", logs, "--format", "json", seedTraceID)
	if code != exitOK {
		t.Fatalf("seed: exit %d, stderr %q", code, stderr)
	}
	checkSeed(t, parse(t, out))

	out, stderr, code = cli(t, "explain", "--trace", path, "--format", "json", strings.ToUpper(noiseTraceID))
	if code != exitOK {
		t.Fatalf("noise: exit %d, stderr %q", code, stderr)
	}
	if a := parse(t, out); a.TraceID != noiseTraceID || len(a.Spans) != 2 || a.DurationMs != 120 {
		t.Errorf("noise trace: %s, %d spans, %v ms; want %s, 2 spans, 120 ms", a.TraceID, len(a.Spans), a.DurationMs, noiseTraceID)
	}
}

// liveServers serves the captures as Tempo and Loki do for the seed trace.
func liveServers(t *testing.T, lokiRoutes ...fixtures.Route) (tempoSrv, lokiSrv *fixtures.Server) {
	t.Helper()
	tempoSrv = fixtures.Tempo(t, fixtures.Route{Path: tracePath, Capture: "tempo/trace_v2_protobuf"})
	if len(lokiRoutes) == 0 {
		lokiRoutes = []fixtures.Route{
			{Path: queryRange, Match: fixtures.QueryHas("query", "|~"), Capture: "loki/query_range_line_filter_categorized"},
			{Path: queryRange, Match: fixtures.QueryHas("query", "trace_id=~"), Capture: "loki/query_range_structured_metadata_categorized"},
		}
	}
	lokiSrv = fixtures.Loki(t, lokiRoutes...)
	return tempoSrv, lokiSrv
}

func TestLiveMode(t *testing.T) {
	const token = "tg-secret-7f3a9c"
	t.Setenv("TRACEGAP_TEST_TOKEN", token)
	tempoSrv, lokiSrv := liveServers(t)
	example, _, _ := cli(t, "explain", "--example", "--format", "json")

	// Flags after the id work too.
	out, stderr, code := cli(t, "explain", seedTraceID, "--tempo", tempoSrv.URL, "--loki", lokiSrv.URL+"/",
		"--tenant", "tenant-a", "--token-env", "TRACEGAP_TEST_TOKEN", "--format", "json")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if out != example {
		t.Errorf("the live analysis differs from the built-in example's\n%s", out)
	}
	for name, srv := range map[string]*fixtures.Server{"Tempo": tempoSrv, "Loki": lokiSrv} {
		reqs := srv.Requests()
		if len(reqs) == 0 {
			t.Fatalf("%s got no request", name)
		}
		for _, r := range reqs {
			if got := r.Header.Get("X-Scope-OrgID"); got != "tenant-a" {
				t.Errorf("%s %s: X-Scope-OrgID = %q, want tenant-a", name, r.URL.Path, got)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+token {
				t.Errorf("%s %s: Authorization = %q, want the bearer token", name, r.URL.Path, got)
			}
		}
	}
	if p := strings.Join(lokiSrv.Paths(), "\n"); !strings.Contains(p, "%7C~") || !strings.Contains(p, "trace_id%3D~") {
		t.Errorf("Loki should get the line and the metadata query (auto mode):\n%s", p)
	}

	out, stderr, code = cli(t, "explain", "--tempo", tempoSrv.URL, "--loki", lokiSrv.URL, "--width", "1000", seedTraceID)
	if code != exitOK || stderr != "" {
		t.Fatalf("text: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, "from Tempo "+tempoSrv.URL+" and Loki "+lokiSrv.URL) ||
		!strings.Contains(out, "400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted") {
		t.Errorf("text output lacks the source or the story\n%s", out)
	}
	if strings.Contains(out+stderr, token) {
		t.Error("the token appears in the output")
	}
}

// When Loki fails, the trace is still explained, with a notice, and the
// exit status says the answer is partial (3).
func TestLiveModeLokiFails(t *testing.T) {
	tests := []struct {
		name   string
		routes []fixtures.Route
		closed bool
		notice string
	}{
		{name: "unreachable", closed: true, notice: "cannot reach Loki"},
		{name: "needs a tenant", routes: []fixtures.Route{{Path: queryRange, Capture: "loki/auth_query_range_missing_org_id"}}, notice: "needs a tenant"},
		{name: "bad LogQL", routes: []fixtures.Route{{Path: queryRange, Capture: "loki/query_range_bad_logql"}}, notice: "Loki rejected the request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: tracePath, Capture: "tempo/trace_v2_protobuf"})
			lokiURL := fixtures.ClosedURL(t)
			if !tc.closed {
				lokiURL = fixtures.Loki(t, tc.routes...).URL
			}
			out, stderr, code := cli(t, "explain", "--tempo", tempoSrv.URL, "--loki", lokiURL, "--width", "1000", seedTraceID)
			if code != exitPartial || stderr != "tracegap explain: the answer is partial: the logs are missing because Loki failed (exit status 3)\n" {
				t.Fatalf("exit %d, stderr %q; want 3 and why", code, stderr)
			}
			if strings.Contains(out, "data source settings") || strings.Contains(out, "lokiUrl") || strings.Contains(out, "Grafana") {
				t.Errorf("the notice names the data source's settings, not the flags:\n%s", out)
			}
			for _, want := range []string{"Logs are missing because Loki failed", tc.notice, "└─ data-aggregator-b metric-db-b.query"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q\n%s", want, out)
				}
			}
		})
	}

	t.Run("no --loki", func(t *testing.T) {
		tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: tracePath, Capture: "tempo/trace_v2_protobuf"})
		out, stderr, code := cli(t, "explain", "--tempo", tempoSrv.URL, "--format", "json", seedTraceID)
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		a := parse(t, out)
		if len(a.Spans) != 9 || len(a.Gaps) != 0 {
			t.Errorf("%d spans, %d gaps; want 9 spans and no gaps", len(a.Spans), len(a.Gaps))
		}
		if !strings.Contains(out, "No --loki URL was given") {
			t.Errorf("no notice about the missing --loki\n%s", out)
		}
	})
}

// When Tempo fails there is nothing to show: exit 1 with what to do.
func TestLiveModeTempoFails(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tests := []struct {
		name   string
		url    func(t *testing.T) string
		extra  []string
		stderr string
	}{
		{"unreachable", func(t *testing.T) string { return fixtures.ClosedURL(t) }, nil, "cannot reach Tempo at"},
		{"not found", func(t *testing.T) string {
			return fixtures.Tempo(t, fixtures.Route{Path: tracePath, Capture: "tempo/trace_v2_not_found_protobuf"}).URL
		}, nil, "trace " + seedTraceID + " not found in Tempo"},
		{"not Tempo", func(t *testing.T) string { return fixtures.NewServer(t).URL }, nil, "is not a Tempo API"},
		{"timeout", func(t *testing.T) string {
			return fixtures.NewServer(t, fixtures.Route{Path: tracePath, Handler: slow}).URL
		}, []string{"--timeout", "50ms"}, "did not answer in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"explain", "--tempo", tc.url(t), "--loki", fixtures.ClosedURL(t)}, tc.extra...)
			out, stderr, code := cli(t, append(args, seedTraceID)...)
			if code != exitFailed || out != "" || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, stderr, tc.stderr)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	trace := fixture(t, "tempo/trace_v2_protobuf.pb")
	logs := fixture(t, "loki/query_range_line_filter_categorized.json")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"trace missing", []string{"--trace", missing}, "cannot read the trace file: open " + missing + ": no such file"},
		{"logs missing", []string{"--trace", trace, "--logs", missing}, "cannot read the logs file"},
		{"logs as trace", []string{"--trace", logs}, "is not a trace that Tempo or an OTLP exporter writes"},
		{"empty trace", []string{"--trace", fixture(t, "tempo/trace_v2_not_found_protobuf.pb")}, "holds no spans"},
		{"empty v1 answer", []string{"--trace", fixture(t, "tempo/trace_v1_not_found_json.txt")}, "is empty"},
		{"trace as logs", []string{"--trace", trace, "--logs", fixture(t, "tempo/trace_v1_json.json")}, "is not a Loki query_range answer"},
		{"Loki error as logs", []string{"--trace", trace, "--logs", fixture(t, "loki/query_range_bad_logql.txt")}, "is not a Loki query_range answer"},
		{"other trace id", []string{"--trace", trace, "deadbeef"}, "holds trace " + seedTraceID + ", not 000000000000000000000000deadbeef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := cli(t, append([]string{"explain"}, tc.args...)...)
			if code != exitFailed || out != "" || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, stderr, tc.stderr)
			}
			if !strings.HasPrefix(stderr, "tracegap explain: ") {
				t.Errorf("stderr %q does not say which command failed", stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv("TRACEGAP_TEST_UNSET", "")
	trace := fixture(t, "tempo/trace_v2_protobuf.pb")
	const tempoURL = "http://127.0.0.1:1"
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"nothing", []string{"explain"}, "say what to explain"},
		{"id without a source", []string{"explain", seedTraceID}, "where should trace " + seedTraceID + " come from"},
		{"bad trace id", []string{"explain", "--tempo", tempoURL, "abc123xyz"}, `trace id "abc123xyz" is not a trace id`},
		{"two ids", []string{"explain", "--tempo", tempoURL, seedTraceID, noiseTraceID}, "expected one trace id"},
		{"example and tempo", []string{"explain", "--example", "--tempo", tempoURL}, "leave out --tempo"},
		{"example and id", []string{"explain", "--example", seedTraceID}, "--example takes no trace id"},
		{"logs alone", []string{"explain", "--logs", "x.json"}, "--logs needs --trace"},
		{"loki alone", []string{"explain", "--loki", tempoURL, seedTraceID}, "--loki needs --tempo"},
		{"trace and tempo", []string{"explain", "--trace", trace, "--tempo", tempoURL}, "use one or the other"},
		{"tenant with a file", []string{"explain", "--trace", trace, "--tenant", "a"}, "--tenant only applies when fetching"},
		{"token with the example", []string{"explain", "--example", "--token-env", "X"}, "--token-env only applies"},
		{"format", []string{"explain", "--example", "--format", "xml"}, `--format "xml" is not a format`},
		{"min-gap zero", []string{"explain", "--example", "--min-gap", "0"}, "must be positive"},
		{"min-gap words", []string{"explain", "--example", "--min-gap", "soon"}, `--min-gap "soon" is not a duration`},
		{"retry pattern", []string{"explain", "--example", "--retry-pattern", "retry("}, "--retry-pattern is not a valid regular expression"},
		{"retry pattern matches all", []string{"explain", "--example", "--retry-pattern", ".*"}, "matches every log line"},
		{"give-up pattern", []string{"explain", "--example", "--give-up-pattern", "giving up ("}, "--give-up-pattern is not a valid regular expression"},
		{"give-up pattern matches all", []string{"explain", "--example", "--give-up-pattern", "x*"}, "--give-up-pattern \"x*\" matches every log line"},
		{"unknown flag", []string{"explain", "--bogus"}, "flag provided but not defined: --bogus"},
		{"bad flag value", []string{"explain", "--example", "--width", "wide"}, `invalid value "wide" for flag --width`},
		{"empty selector", []string{"explain", "--tempo", tempoURL, "--selector", " ", seedTraceID}, "--selector is empty; give a LogQL stream selector such as"},
		{"width", []string{"explain", "--example", "--width", "-3"}, "--width -3 is negative"},
		{"tempo scheme", []string{"explain", "--tempo", "ftp://tempo", seedTraceID}, "--tempo is not an http(s) base URL"},
		{"tempo password", []string{"explain", "--tempo", "tempo:3200:pw", seedTraceID}, "--tempo is not an http(s) base URL"},
		{"loki scheme", []string{"explain", "--tempo", tempoURL, "--loki", "loki:3100", seedTraceID}, "--loki is not an http(s) base URL"},
		{"tenant", []string{"explain", "--tempo", tempoURL, "--tenant", "a b", seedTraceID}, "--tenant"},
		{"log mode", []string{"explain", "--tempo", tempoURL, "--loki", tempoURL, "--log-mode", "grep", seedTraceID}, "unknown log query mode"},
		{"selector", []string{"explain", "--tempo", tempoURL, "--loki", tempoURL, "--selector", "app", seedTraceID}, "--selector"},
		{"token unset", []string{"explain", "--tempo", tempoURL, "--token-env", "TRACEGAP_TEST_UNSET", seedTraceID}, "TRACEGAP_TEST_UNSET named by --token-env is not set or empty"},
		{"token as a value", []string{"explain", "--tempo", tempoURL, "--token-env", "eyJhbGciOi.secret-value", seedTraceID}, "not the token itself"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no command", nil, "Usage:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := cli(t, tc.args...)
			if code != exitUsage || out != "" || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, stderr, tc.stderr)
			}
			for _, secret := range []string{"secret-value", ":pw"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr echoes a secret: %q", stderr)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	out, stderr, code := cli(t, "explain", "-h")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"tracegap explain --example", "-min-gap", "-token-env NAME", "-format format"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q\n%s", want, out)
		}
	}
	if out, _, code := cli(t, "help"); code != exitOK || !strings.Contains(out, "explain") {
		t.Errorf("tracegap help: exit %d\n%s", code, out)
	}
}

// Options change the analysis the way the engine defines them.
func TestAnalysisOptions(t *testing.T) {
	base := jsonOf(t, "--example")
	// 200 ms as a bare number of ms: the 100 ms gaps drop out.
	wide := jsonOf(t, "--example", "--min-gap", "200")
	if len(wide.Gaps) >= len(base.Gaps) {
		t.Errorf("--min-gap 200: %d gaps, want fewer than %d", len(wide.Gaps), len(base.Gaps))
	}
	for _, g := range wide.Gaps {
		if g.DurationMs < 200 {
			t.Errorf("--min-gap 200 kept a %v ms gap", g.DurationMs)
		}
	}
	// A pattern that no line matches: no retry.
	none := jsonOf(t, "--example", "--retry-pattern", "will try again")
	if len(none.Retries) != 0 {
		t.Errorf("--retry-pattern 'will try again': %d retries, want 0", len(none.Retries))
	}
	// Case-insensitive, as in the data source.
	upper := jsonOf(t, "--example", "--retry-pattern", "RETRYING")
	if len(upper.Retries) != 1 {
		t.Errorf("--retry-pattern RETRYING: %d retries, want 1", len(upper.Retries))
	}
	// A give-up pattern the seed's retry line matches: it is no retry then.
	gaveUp := jsonOf(t, "--example", "--give-up-pattern", "TIMED OUT after")
	if len(gaveUp.Retries) != 0 {
		t.Errorf("--give-up-pattern 'TIMED OUT after': %d retries, want 0", len(gaveUp.Retries))
	}
}

// jsonOf runs explain with --format json and parses the report.
func jsonOf(t *testing.T, args ...string) *analysis {
	t.Helper()
	out, stderr, code := cli(t, append(append([]string{"explain"}, args...), "--format", "json")...)
	if code != exitOK {
		t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
	}
	return parse(t, out)
}

func TestColorable(t *testing.T) {
	var b bytes.Buffer
	if colorable(&b) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorable(f) {
		t.Error("a regular file is not a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if colorable(os.Stdout) {
		t.Error("NO_COLOR is set")
	}
}

func TestWidth(t *testing.T) {
	t.Setenv("COLUMNS", "132")
	if w := width(0); w != 132 {
		t.Errorf("width from COLUMNS = %d, want 132", w)
	}
	if w := width(90); w != 90 {
		t.Errorf("--width 90 = %d", w)
	}
	t.Setenv("COLUMNS", "nonsense")
	if w := width(0); w != 100 {
		t.Errorf("width without COLUMNS = %d, want 100", w)
	}
}

// The token goes only to the hosts it was given for.
func TestBearerOnlyToKnownHosts(t *testing.T) {
	var got []string
	srv := fixtures.NewServer(t, fixtures.Route{Path: "/x", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	})})
	hc := newHTTPClient(time.Second, "tok", srv.URL)
	other := newHTTPClient(time.Second, "tok", "http://elsewhere.invalid:3200")
	for _, c := range []*http.Client{hc, other} {
		resp, err := c.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != 2 || got[0] != "Bearer tok" || got[1] != "" {
		t.Errorf("Authorization headers = %q, want the token for the known host only", got)
	}
}

// TestIDFieldFlags: lines that carry their ids under other keys join with
// --trace-id-fields and --span-id-fields, as with the data source's
// traceIdFields and spanIdFields, and give the example's analysis.
func TestIDFieldFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("example", "query_range_line_filter_categorized.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Span ids without their leading zeros, as some loggers write them:
	// only a key names them (the known-id fallback needs the full id).
	s := strings.NewReplacer(`\"traceId\"`, `\"req.trace\"`, `\"spanId\"`, `\"req.span\"`, `\"00000000000000`, `\"`, ` span_id=00000000000000`, ` req.span=`, `trace_id=`, `req.trace=`,
		`"trace_id":`, `"m_trace":`, `"span_id":`, `"m_span":`).Replace(string(b))
	logs := filepath.Join(t.TempDir(), "logs.json")
	if err := os.WriteFile(logs, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join("example", "trace_v2_protobuf.pb")
	example := jsonOf(t, "--trace", trace, "--logs", filepath.Join("example", "query_range_line_filter_categorized.json"))
	plain := jsonOf(t, "--trace", trace, "--logs", logs)
	if len(plain.Gaps) != 0 {
		t.Fatalf("with the default keys %d gaps, want none (no line names its span)", len(plain.Gaps))
	}
	named := jsonOf(t, "--trace", trace, "--logs", logs, "--trace-id-fields", "req.trace", "--span-id-fields", " req.span , spanId")
	if len(example.Gaps) == 0 || !reflect.DeepEqual(named.Gaps, example.Gaps) || !reflect.DeepEqual(named.Retries, example.Retries) {
		t.Errorf("with the flags: %d gaps, %d retries; want the example's %d, %d", len(named.Gaps), len(named.Retries), len(example.Gaps), len(example.Retries))
	}
	if _, stderr, code := cli(t, "explain", "--example", "--span-id-fields", " , "); code == exitOK || !strings.Contains(stderr, "--span-id-fields") {
		t.Errorf("an empty key list: exit %d, stderr %q; want a usage error naming the flag", code, stderr)
	}
}

// lockOrders are 21 orders like pkg/plugin's acceptance test: the queried
// one (k = 10) waited 900 ms for a row lock, 6 of the other 20 150 ms.
func lockOrders(start time.Time) []searchtest.Trace {
	var out []searchtest.Trace
	waited := 0
	for k := range 21 {
		o := searchtest.Order{K: k, Start: start.Add(time.Duration(k) * 30 * time.Second)}
		switch {
		case k == 10:
			o.Wait, o.Behind = 900*time.Millisecond, 7
		case k%3 == 1 && waited < 6:
			waited++
			o.Wait, o.Behind = 150*time.Millisecond, waited
		}
		out = append(out, o.Trace())
	}
	return out
}

func TestLiveModeCompare(t *testing.T) {
	srv := searchtest.Start(t, lockOrders(time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC))...)
	id := searchtest.OrderTraceID(10)
	out, stderr, code := cli(t, "explain", "--tempo", srv.Tempo.URL, "--loki", srv.Loki.URL, "--width", "1000", "--compare", id)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, out)
	}
	lines := strings.Split(out, "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Compared with typical: ") })
	if at < 0 || !strings.Contains(lines[at], `+900 ms is orders reserve stock waiting between "waiting for lock behind # transactions" and "acquired lock" (typically 0 ms, seen in 6 of 20).`) {
		t.Fatalf("no comparison sentence\n%s", out)
	}
	// Right after the headline (one line at this width), before the
	// breakdown's rows and the title.
	title := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Trace ") })
	if at != 1 || !strings.HasPrefix(lines[0], "POST /orders took 1000 ms: 900 ms (90%)") || title < at {
		t.Errorf("the comparison is not right after the headline\n%s", out)
	}
	if !strings.Contains(lines[at+2], "900 ms") || !strings.Contains(lines[at+2], "150 ms") || !strings.Contains(lines[at+2], "6 of 20") {
		t.Errorf("first row %q", lines[at+2])
	}
	if srv.Searches() != 1 || srv.SearchQueries()[0].Limit != "21" {
		t.Errorf("searches %+v", srv.SearchQueries())
	}

	js, _, code := cli(t, "explain", "--tempo", srv.Tempo.URL, "--loki", srv.Loki.URL, "--compare", "--baseline", "5", "--format", "json", id)
	if code != exitOK || !strings.Contains(js, `"comparison": {`) || !strings.Contains(js, `"baseline": 5`) {
		t.Errorf("json: exit %d\n%s", code, js)
	}

	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--tempo", srv.Tempo.URL, "--compare", id}, "--compare needs --loki URL too"},
		{[]string{"--tempo", srv.Tempo.URL, "--loki", srv.Loki.URL, "--compare", "--baseline", "2", id}, "--baseline 2 is out of range; give 3 to 200"},
		{[]string{"--tempo", srv.Tempo.URL, "--loki", srv.Loki.URL, "--baseline", "5", id}, "only apply with --compare"},
		{[]string{"--example", "--compare"}, "--compare only applies when fetching from Tempo and Loki"},
	} {
		_, stderr, code := cli(t, append([]string{"explain"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want a usage error saying %q", tc.args, code, stderr, tc.says)
		}
	}
}

// TestExitStatusPartial: a report that lacks what was asked for exits 3
// (the report is still printed); one that lacks only what was not asked
// for (no --loki) exits 0.
func TestExitStatusPartial(t *testing.T) {
	// Tempo's v2 answer for a trace over its size limit: the captured
	// trace, status PARTIAL and its message.
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, fixtures.Load(t, "tempo/trace_v1_protobuf").Body)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "trace exceeds max size (max bytes: 5000000)")
	partialTrace := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/protobuf")
		_, _ = w.Write(b)
	})
	full := fixtures.Route{Path: tracePath, Capture: "tempo/trace_v2_protobuf"}
	seedLoki := func(t testing.TB) string {
		return fixtures.Loki(t,
			fixtures.Route{Path: queryRange, Match: fixtures.QueryHas("query", "|~"), Capture: "loki/query_range_line_filter_categorized"},
			fixtures.Route{Path: queryRange, Match: fixtures.QueryHas("query", "trace_id=~"), Capture: "loki/query_range_structured_metadata_categorized"},
		).URL
	}
	tests := []struct {
		name   string
		tempo  fixtures.Route
		loki   func(t testing.TB) string // nil: no --loki
		extra  []string
		code   int
		stderr string
	}{
		{"complete", full, seedLoki, nil, exitOK, ""},
		{"no --loki asked for", full, nil, nil, exitOK, ""},
		{"Loki down", full, fixtures.ClosedURL, nil, exitPartial, "the logs are missing because Loki failed"},
		{"partial trace", fixtures.Route{Path: tracePath, Handler: partialTrace}, seedLoki, nil, exitPartial, "Tempo returned only part of the trace"},
		{"partial trace, Loki down", fixtures.Route{Path: tracePath, Handler: partialTrace}, fixtures.ClosedURL, []string{"--format", "json"}, exitPartial,
			"Tempo returned only part of the trace; the logs are missing because Loki failed"},
		{"one of the two Loki queries fails", full, func(t testing.TB) string {
			return fixtures.Loki(t,
				fixtures.Route{Path: queryRange, Match: fixtures.QueryHas("query", "|~"), Capture: "loki/query_range_line_filter_categorized"},
				fixtures.Route{Path: queryRange, Match: fixtures.QueryHas("query", "trace_id=~"), Capture: "loki/query_range_bad_logql"},
			).URL
		}, nil, exitPartial, "one of the two Loki queries failed"},
		{"lines cut by --max-lines", full, seedLoki, []string{"--max-lines", "3"}, exitPartial, "only the first --max-lines log lines were fetched"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"explain", "--tempo", fixtures.Tempo(t, tc.tempo).URL}
			if tc.loki != nil {
				args = append(args, "--loki", tc.loki(t))
			}
			out, stderr, code := cli(t, append(append(args, tc.extra...), seedTraceID)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || (tc.stderr == "") != (stderr == "") {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if !strings.Contains(out, "data-aggregator-b") {
				t.Errorf("the report is printed whatever the exit status:\n%s", out)
			}
		})
	}
}

// TestErrorsNameFlags: the terminal's errors say which flag to change, not
// which data source setting, and that the upstream must be reachable from
// this machine, not from Grafana.
func TestErrorsNameFlags(t *testing.T) {
	tests := []struct {
		name  string
		tempo func(t testing.TB) string
		extra []string
		want  []string
	}{
		{"unreachable", fixtures.ClosedURL, nil, []string{"check the Tempo URL (--tempo) and that Tempo is running and reachable from this machine"}},
		{"not Tempo", func(t testing.TB) string { return fixtures.NewServer(t).URL }, nil, []string{"check the Tempo URL (--tempo)"}},
		{"token refused", func(t testing.TB) string {
			return fixtures.NewServer(t, fixtures.Route{Path: tracePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "invalid token", http.StatusUnauthorized) })}).URL
		}, nil, []string{"check the token/tenant: the token (--token-env) and tenant (--tenant)"}},
		{"needs a tenant", func(t testing.TB) string {
			return fixtures.NewServer(t, fixtures.Route{Path: tracePath, Capture: "loki/auth_query_range_missing_org_id"}).URL
		}, nil, []string{"set the tenant id with --tenant"}},
		{"timeout", func(t testing.TB) string {
			return fixtures.NewServer(t, fixtures.Route{Path: tracePath, Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })}).URL
		}, []string{"--timeout", "50ms"}, []string{"raise --timeout"}},
		{"login page", func(t testing.TB) string {
			return fixtures.NewServer(t, fixtures.Route{Path: tracePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html><title>Sign in</title></html>"))
			})}).URL
		}, nil, []string{"check the Tempo URL (--tempo) and that no proxy or single sign-on intercepts requests from this machine"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, append(append([]string{"explain", "--tempo", tc.tempo(t)}, tc.extra...), seedTraceID)...)
			if code != exitFailed {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, stderr)
				}
			}
			for _, setting := range []string{"data source settings", "tempoUrl", "tempoAuth", "tenantId", "timeoutSeconds", "Grafana"} {
				if strings.Contains(stderr, setting) {
					t.Errorf("stderr names %q: %s", setting, stderr)
				}
			}
		})
	}
}

// TestHelpWritesFlagsAsTheUsageDoes: the option list writes --tempo URL as
// the usage lines do, not the flag package's -tempo URL.
func TestHelpWritesFlagsAsTheUsageDoes(t *testing.T) {
	out, _, code := cli(t, "explain", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"\n  --tempo URL\n", "\n  --loki URL\n", "\n  --token-env NAME\n", "\n  --log-mode MODE\n", "Exit status: 0 explained", "3 explained,\nbut the answer is partial"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  -") && !strings.HasPrefix(line, "  --") {
			t.Errorf("help writes a flag with one dash: %q", line)
		}
	}
}
