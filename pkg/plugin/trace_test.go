package plugin

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// Golden frame files live in testdata/ and change only on purpose: run
// `go test ./pkg/plugin -run TestTraceQuery -update` after an intended
// contract change and review the diff. The flag may already be registered
// by another test file of this package (they share it), so it is looked up
// rather than declared.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden frame files in testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	seedTraceID    = "0af7651916cd43dd8448eb211c80319c"
	unknownTraceID = "deadbeefdeadbeefdeadbeefdeadbeef"
	queryRangePath = "/loki/api/v1/query_range"
	// goldenUID is the data source UID of the golden runs: data links carry
	// it, so it must not depend on the order tests run in.
	goldenUID = "tracegap-golden"
)

// seedBase is the scenario's base time (span-1 starts here); the captures
// were taken with base ± 300 s.
var (
	seedBase     = time.Unix(0, 1795624597000000000)
	captureRange = backend.TimeRange{From: seedBase.Add(-300 * time.Second), To: seedBase.Add(300 * time.Second)}
)

// at is the seed's "+ms after the trace start".
func at(ms int) time.Time { return seedBase.Add(time.Duration(ms) * time.Millisecond) }

// span names the seed's spans by their hex ids (fixtures/real/README.md).
func span(n int) string { return fmt.Sprintf("00000000000000a%d", n) }

func isLineQuery(r *http.Request) bool {
	return strings.Contains(r.URL.Query().Get("query"), "|~")
}

func isMetadataQuery(r *http.Request) bool {
	return r.URL.Query().Get("query") != "" && !isLineQuery(r)
}

// seedTempo serves the seed trace by id (v2 protobuf, as Tempo 3 answers)
// and the empty v2 answer Tempo gives for an unknown id.
func seedTempo(t *testing.T, extra ...fixtures.Route) *fixtures.Server {
	t.Helper()
	s := fixtures.Tempo(t,
		fixtures.Route{Path: "/api/v2/traces/" + seedTraceID, Capture: "tempo/trace_v2_protobuf"},
		fixtures.Route{Path: "/api/v2/traces/" + unknownTraceID, Capture: "tempo/trace_v2_not_found_protobuf"},
	)
	s.Handle(t, extra...)
	return s
}

// seedLoki answers the two queries of auto mode with the captures of the
// same two kinds of query: the line filter and the structured-metadata
// filter. (The captures were taken with `|= "T"` and `| trace_id="T"`; the
// client sends a case-insensitive `|~` and `trace_id=~`, which select the
// same lines, and the bodies are what the client reads.)
func seedLoki(t *testing.T, extra ...fixtures.Route) *fixtures.Server {
	t.Helper()
	s := fixtures.Loki(t,
		fixtures.Route{Path: queryRangePath, Match: isLineQuery, Handler: replay(t, "loki/query_range_line_filter_categorized")},
		fixtures.Route{Path: queryRangePath, Match: isMetadataQuery, Handler: replay(t, "loki/query_range_structured_metadata_categorized")},
	)
	s.Handle(t, extra...)
	return s
}

// replay serves a query_range capture as Loki would serve it to a pager:
// the recorded bytes while the requested range still holds entries of the
// capture, and an empty result for a page that starts past the last one.
func replay(t *testing.T, capture string) http.Handler {
	t.Helper()
	c := fixtures.Load(t, capture)
	res, err := loki.DecodeQueryRange(c.Body)
	if err != nil {
		t.Fatalf("%s: %v", capture, err)
	}
	var last int64
	for _, e := range res.Entries {
		last = max(last, e.Time.UnixNano())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64); start > last {
			writeStreams(w, nil)
			return
		}
		c.ServeHTTP(w, r)
	})
}

// writeStreams answers a categorized query_range with entries grouped into
// one result stream per stream label set, in order of first appearance, as
// Loki does.
func writeStreams(w http.ResponseWriter, entries []model.LogEntry) {
	labelsJSON := func(ls model.Labels) string {
		m := map[string]string{}
		for _, l := range ls {
			m[l.Name] = l.Value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[`)
	done := make([]bool, len(entries))
	for i := range entries {
		if done[i] {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"stream":%s,"values":[`, labelsJSON(entries[i].Stream))
		for j := i; j < len(entries); j++ {
			if done[j] || !slices.Equal(entries[j].Stream, entries[i].Stream) {
				continue
			}
			if j > i {
				b.WriteByte(',')
			}
			done[j] = true
			line, _ := json.Marshal(entries[j].Line)
			fmt.Fprintf(&b, `["%d",%s,{"structuredMetadata":%s}]`, entries[j].Time.UnixNano(), line, labelsJSON(entries[j].Metadata))
		}
		b.WriteString("]}")
	}
	fmt.Fprintf(&b, `],"stats":{"summary":{"totalEntriesReturned":%d}}}}`, len(entries))
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

// settingsFor is the jsonData of a data source on the two fakes.
func settingsFor(tempoURL, lokiURL string, more ...any) map[string]any {
	s := map[string]any{"tempoUrl": tempoURL, "lokiUrl": lokiURL}
	for i := 0; i+1 < len(more); i += 2 {
		s[more[i].(string)] = more[i+1]
	}
	return s
}

// goldenContext is a fresh instance (its own ID) with the fixed goldenUID.
func goldenContext(t *testing.T, jsonData map[string]any) backend.PluginContext {
	t.Helper()
	pCtx := pluginContext(t, jsonData, nil)
	pCtx.DataSourceInstanceSettings.UID = goldenUID
	return pCtx
}

// runTrace sends one trace query over gRPC and returns its response.
func runTrace(t *testing.T, pCtx backend.PluginContext, queryJSON string, tr backend.TimeRange) backend.DataResponse {
	t.Helper()
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(queryJSON), TimeRange: tr},
	}})
	if err != nil {
		t.Fatalf("QueryData must answer per refID, not fail: %v", err)
	}
	r, ok := resp.Responses["A"]
	if !ok {
		t.Fatalf("no response for refID A: %+v", resp.Responses)
	}
	return r
}

func seedQuery(id string) string {
	return `{"refId":"A","queryType":"trace","traceId":"` + id + `"}`
}

// frameOf returns the named frame of a trace response, checking the frames
// come in the order the dashboard reads them by index.
func frameOf(t *testing.T, r backend.DataResponse, name string) *data.Frame {
	t.Helper()
	want := []string{"trace", "logs", "gaps", "retries", "spans", "breakdown", "findings"}
	var got []string
	for _, f := range r.Frames {
		got = append(got, f.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("frames %q, want %q (error %v)", got, want, r.Error)
	}
	return r.Frames[slices.Index(want, name)]
}

// rows reads a frame into one map per row, pointers dereferenced (nil for
// null), times as time.Time.
func rows(f *data.Frame) []map[string]any {
	out := make([]map[string]any, f.Rows())
	for i := range out {
		m := map[string]any{}
		for _, fd := range f.Fields {
			v := fd.At(i)
			switch p := v.(type) {
			case *float64:
				if p == nil {
					v = nil
				} else {
					v = *p
				}
			case *string:
				if p == nil {
					v = nil
				} else {
					v = *p
				}
			case *int64:
				if p == nil {
					v = nil
				} else {
					v = *p
				}
			case *time.Time:
				if p == nil {
					v = nil
				} else {
					v = *p
				}
			}
			m[fd.Name] = v
		}
		out[i] = m
	}
	return out
}

func noticeTexts(f *data.Frame) []string {
	if f.Meta == nil {
		return nil
	}
	var out []string
	for _, n := range f.Meta.Notices {
		out = append(out, n.Text)
	}
	return out
}

// opt is an optional ms value in a table row (outsideTimerMs, networkMs).
func opt(v float64) *float64 { return &v }

// gapRow is one row the gaps frame must carry.
type gapRow struct {
	span                                string
	from, to                            string
	start, end                          int // ms after the trace start
	gap, in, unaccounted, before, after float64
	outside                             *float64 // nil: the later line states no duration
	callees, concurrent                 string
}

// seedGaps are the gaps of docs/analysis.md ("The seed trace, worked
// out"), span-4 and span-8, and before them the rows the captures' extra
// lines add, worked out by the same rules:
//   - span-1 (0–1500; children span-2 100–350, span-4 300–1300), lines at
//     0, 100, 300, 1500 (states 1500 ms) and the edge-gateway line at 1510:
//     0→100 overlaps no child; 100→300 is span-2's 200 ms (the messages
//     name user-service and widget-service, not one child in both, so
//     every overlapping child is a callee and span-4 only touches 300);
//     300→1500 is covered by span-2 and span-4 up to 1300, 200 ms after;
//     the later line states 1500 ms, more than the gap, so 0 outside.
//   - span-2 (100–350; child span-3 150–250), lines at 100, 250 (states
//     100 ms), 350 (states 250 ms): 100→250 has span-3 for 100 ms, 50 ms
//     before it, and 50 ms outside the timer; 250→350 only touches span-3.
//   - span-3 (150–250), one line at 150: its end follows the line, so
//     150→250 is a gap to the span's end.
func seedGaps() []gapRow {
	const (
		callA = "Initiating call to data aggregator A"
		callB = "Initiating call to data aggregator B"
		aggA  = "data-aggregator-a GET /data/aggregator-a"
		aggB  = "data-aggregator-b GET /data/aggregator-b"
		prom  = "data-aggregator-b metric-db-b.query"
		users = "user-service GET /users/{id}/preferences"
	)
	return []gapRow{
		{span(1), "Received request GET /dashboard", "Fetching user preferences from user-service", 0, 100, 100, 0, 100, 0, 0, nil, "", ""},
		{span(1), "Fetching user preferences from user-service", "Fetching widget data from widget-service", 100, 300, 200, 200, 0, 0, 0, nil, users + " (200 ms)", ""},
		{span(1), "Fetching widget data from widget-service", "Dashboard rendered", 300, 1500, 1200, 1000, 200, 0, 200, opt(0), users + " (50 ms), widget-service GET /widgets/data (1000 ms)", ""},
		{span(2), "Received request for user preferences", "Fetched user preferences from postgresql", 100, 250, 150, 100, 50, 50, 0, opt(50), "user-service user-db.query (100 ms)", ""},
		{span(2), "Fetched user preferences from postgresql", "Returning user preferences", 250, 350, 100, 0, 100, 0, 0, opt(0), "", ""},
		{span(3), "Executing preferences query on postgresql", "", 150, 250, 100, 0, 100, 0, 0, nil, "", ""},
		// docs/analysis.md: span-4.
		{span(4), callA, "Received response from data aggregator A", 400, 1000, 600, 0, 600, 0, 0, opt(300), aggA + " (0 ms)", ""},
		{span(4), callB, "Received response from data aggregator B", 1050, 1850, 800, 400, 400, 350, 50, opt(400), aggB + " (400 ms)", aggA + " (250 ms)"},
		// docs/analysis.md: span-8.
		{span(8), "Received request for aggregated metrics", "Querying prometheus", 1400, 1500, 100, 0, 100, 0, 0, nil, "", ""},
		{span(8), "Querying prometheus", "Prometheus query timed out after 200ms, retrying", 1500, 1700, 200, 200, 0, 0, 0, opt(0), prom + " (200 ms)", ""},
		{span(8), "Prometheus query timed out after 200ms, retrying", "Prometheus query successful on retry", 1700, 1900, 200, 100, 100, 0, 100, opt(0), prom + " (100 ms)", ""},
	}
}

// checkSeedFindings asserts the numbers of docs/analysis.md on the gaps,
// retries and spans frames, independently of the golden file.
func checkSeedFindings(t *testing.T, r backend.DataResponse) {
	t.Helper()
	gaps := rows(frameOf(t, r, "gaps"))
	want := seedGaps()
	if len(gaps) != len(want) {
		t.Errorf("%d gap rows, want %d", len(gaps), len(want))
	}
	for i := 0; i < min(len(gaps), len(want)); i++ {
		g, w := gaps[i], want[i]
		got := fmt.Sprintf("%v %q→%q %v–%v gap %v in %v unaccounted %v before %v after %v callees %q concurrent %q",
			g["spanID"], g["fromMessage"], g["toMessage"], g["start"].(time.Time).Sub(seedBase).Milliseconds(), g["end"].(time.Time).Sub(seedBase).Milliseconds(),
			g["gapMs"], g["inCalleesMs"], g["unaccountedMs"], g["beforeCalleeMs"], g["afterCalleeMs"], g["callees"], g["concurrent"])
		exp := fmt.Sprintf("%v %q→%q %v–%v gap %v in %v unaccounted %v before %v after %v callees %q concurrent %q",
			w.span, w.from, w.to, w.start, w.end, w.gap, w.in, w.unaccounted, w.before, w.after, w.callees, w.concurrent)
		if got != exp {
			t.Errorf("gap row %d:\n got %s\nwant %s", i, got, exp)
		}
		switch out := g["outsideTimerMs"]; {
		case w.outside == nil && out != nil:
			t.Errorf("gap row %d: outsideTimerMs %v, want null (the later line states no duration)", i, out)
		case w.outside != nil && out != *w.outside:
			t.Errorf("gap row %d: outsideTimerMs %v, want %v", i, out, *w.outside)
		}
		if g["traceID"] != seedTraceID || g["serviceName"] == "" || g["operationName"] == "" {
			t.Errorf("gap row %d: trace %v service %v operation %v", i, g["traceID"], g["serviceName"], g["operationName"])
		}
	}

	retries := rows(frameOf(t, r, "retries"))
	if len(retries) != 1 {
		t.Fatalf("%d retry rows, want 1: %v", len(retries), retries)
	}
	rt := retries[0]
	if rt["spanID"] != span(8) || rt["serviceName"] != "data-aggregator-b" || rt["source"] != "logs" || rt["retries"] != int64(1) ||
		rt["costMs"] != 200.0 || rt["outcome"] != "succeeded" || rt["message"] != "Prometheus query timed out after 200ms, retrying" {
		t.Errorf("retry row %v", rt)
	}

	// Self time of every span; wait and unaccounted of the spans with logs
	// (the others have none). span-1's wait and unaccounted are the extra
	// rows' (100+200+1200, 100+0+200): the seed's own logs have none on
	// span-1, which is why docs/analysis.md's table says 0 there.
	self := map[string]float64{span(1): 300, span(2): 150, span(3): 100, span(4): 650, span(5): 50, span(6): 100, span(7): 200, span(8): 100, span(9): 300}
	type waits struct{ wait, unaccounted float64 }
	wantWaits := map[string]waits{span(1): {1500, 300}, span(2): {250, 150}, span(3): {100, 100}, span(4): {1400, 1000}, span(8): {500, 200}}
	retriesOf := map[string]int64{span(8): 1}
	logCount := map[string]int64{span(1): 5, span(2): 3, span(3): 1, span(4): 7, span(8): 5}
	// Jaeger's critical path; span-8 lies wholly outside its parent.
	critical := map[string]bool{span(1): true, span(4): true, span(5): true, span(6): true, span(7): true}
	spans := rows(frameOf(t, r, "spans"))
	if len(spans) != 9 {
		t.Fatalf("%d span rows, want 9", len(spans))
	}
	for _, s := range spans {
		id := s["spanID"].(string)
		if s["selfTimeMs"] != self[id] {
			t.Errorf("span %s: selfTimeMs %v, want %v", id, s["selfTimeMs"], self[id])
		}
		if got := (waits{s["waitMs"].(float64), s["unaccountedMs"].(float64)}); got != wantWaits[id] {
			t.Errorf("span %s: wait/unaccounted %v, want %v", id, got, wantWaits[id])
		}
		if s["onCriticalPath"] != critical[id] {
			t.Errorf("span %s: onCriticalPath %v", id, s["onCriticalPath"])
		}
		if s["logCount"] != logCount[id] {
			t.Errorf("span %s: logCount %v, want %d", id, s["logCount"], logCount[id])
		}
		if s["retries"] != retriesOf[id] {
			t.Errorf("span %s: retries %v, want %d", id, s["retries"], retriesOf[id])
		}
		if s["networkMs"] != nil {
			// No CLIENT span of the seed has a child.
			t.Errorf("span %s: networkMs %v, want null", id, s["networkMs"])
		}
	}
}

func TestTraceQuerySeed(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	r := runTrace(t, goldenContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL)), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatalf("error %v (status %v)", r.Error, r.Status)
	}
	experimental.CheckGoldenJSONResponse(t, "testdata", "trace_seed", &r, updateGolden())
	checkSeedFindings(t, r)

	// Every frame: the refID, the short query string, links back here.
	for _, f := range r.Frames {
		if f.RefID != "A" {
			t.Errorf("%s: refID %q", f.Name, f.RefID)
		}
		if f.Meta == nil || !strings.HasPrefix(f.Meta.ExecutedQueryString, "Tempo: trace "+seedTraceID+" · Loki: {service_name=~\".+\"} |~ ") {
			t.Errorf("%s: executed query %+v", f.Name, f.Meta)
		}
		if notes := noticeTexts(f); len(notes) != 0 {
			t.Errorf("%s: notices %q for a trace whose logs all name a span", f.Name, notes)
		}
	}
	gaps := frameOf(t, r, "gaps")
	if links := gaps.Fields[0].Config.Links; len(links) != 1 || links[0].Internal == nil || links[0].Internal.DatasourceUID != goldenUID || links[0].Internal.DatasourceName != "Tracegap" {
		t.Errorf("traceID links %+v", links)
	}

	// The trace view: spans in Tempo's order, the story on span-4.
	tr := frameOf(t, r, "trace")
	if tr.Meta.PreferredVisualization != data.VisTypeTrace || tr.Rows() != 9 {
		t.Fatalf("trace frame: %v, %d rows", tr.Meta.PreferredVisualization, tr.Rows())
	}
	for _, row := range rows(tr) {
		if row["spanID"] != span(4) {
			continue
		}
		var logs []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(row["logs"].(json.RawMessage), &logs); err != nil || len(logs) != 7 {
			t.Errorf("span-4 logs: %d (%v), want its 7 lines", len(logs), err)
		}
		var warnings []string
		_ = json.Unmarshal(row["warnings"].(json.RawMessage), &warnings)
		if !slices.ContainsFunc(warnings, func(w string) bool {
			return strings.HasPrefix(w, `waited 800 ms between "Initiating call to data aggregator B"`)
		}) {
			t.Errorf("span-4 warnings lack the 800 ms wait: %q", warnings)
		}
		for _, tag := range []string{`"key":"tracegap.wait_ms","value":1400`, `"key":"tracegap.unaccounted_ms","value":1000`, `"key":"tracegap.self_time_ms","value":650`} {
			if !strings.Contains(string(row["tags"].(json.RawMessage)), tag) {
				t.Errorf("span-4 tags %s lack %s", row["tags"], tag)
			}
		}
	}

	// The logs: the trace's 21 lines (not the noise trace's 4), in time order.
	logs := frameOf(t, r, "logs")
	if logs.Meta.Type != data.FrameTypeLogLines || logs.Rows() != 21 {
		t.Errorf("logs frame: type %q, %d rows, want 21", logs.Meta.Type, logs.Rows())
	}
	checkTimeOrdered(t, logs)

	// Tempo was asked for the trace in the query's range (unix seconds);
	// Loki for its logs over the trace's own bounds ± 5 s, both queries of
	// auto mode, each answered in one page.
	var tempoQ []string
	for _, req := range tempoSrv.Requests() {
		tempoQ = append(tempoQ, req.URL.Path+"?"+req.URL.RawQuery+" "+req.Header.Get("Accept"))
	}
	if want := []string{"/api/v2/traces/" + seedTraceID + "?end=1795624897&start=1795624297 application/protobuf"}; !slices.Equal(tempoQ, want) {
		t.Errorf("Tempo requests %q, want %q", tempoQ, want)
	}
	lokiReqs := lokiSrv.Requests()
	if len(lokiReqs) != 2 {
		t.Fatalf("Loki requests %q, want the line and the metadata query", lokiSrv.Paths())
	}
	var kinds []string
	for _, req := range lokiReqs {
		q := req.URL.Query()
		if q.Get("start") != strconv.FormatInt(at(-5000).UnixNano(), 10) || q.Get("end") != strconv.FormatInt(at(1800+5000).UnixNano(), 10) ||
			q.Get("direction") != "forward" || req.Header.Get(loki.EncodingFlagsHeader) != "categorize-labels" {
			t.Errorf("Loki request %s", req.URL.RawQuery)
		}
		kinds = append(kinds, q.Get("query"))
	}
	slices.Sort(kinds)
	want := []string{
		// The metadata query leaves out the lines the line filter returns.
		`{service_name=~".+"} !~ "(?i)af7651916cd43dd8448eb211c80319c" | traceId=~"(?i)0*af7651916cd43dd8448eb211c80319c" or trace_id=~"(?i)0*af7651916cd43dd8448eb211c80319c" or traceID=~"(?i)0*af7651916cd43dd8448eb211c80319c"`,
		`{service_name=~".+"} |~ "(?i)af7651916cd43dd8448eb211c80319c"`,
	}
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("LogQL sent:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}
}

// checkTimeOrdered checks the logs frame's timestamps never go back.
func checkTimeOrdered(t *testing.T, logs *data.Frame) {
	t.Helper()
	ts := logs.Fields[0]
	for i := 1; i < ts.Len(); i++ {
		if ts.At(i).(time.Time).Before(ts.At(i - 1).(time.Time)) {
			t.Fatalf("logs row %d (%v) is before row %d (%v)", i, ts.At(i), i-1, ts.At(i-1))
		}
	}
}
