package plugin

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func TestSearchQueryTable(t *testing.T) {
	traces := append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(7, seedBase.Add(20*time.Second), 25*time.Second, 1)...)
	srv := searchtest.Start(t, traces...)
	pCtx := manyContext(t, srv)
	pCtx.DataSourceInstanceSettings.UID = "tracegap-search"

	r := runQuery(t, pCtx, QueryTypeSearch, `{"refId":"A","queryType":"search","query":"{}","limit":20}`, searchRange)
	f := onlyFrame(t, r, "traces")
	wantFields := []string{"traceID", "start", "rootService", "rootOperation", "durationMs", "waitMs", "unaccountedMs", "retries", "topFinding", "logCount", "breakdown", "typical_ms", "vs_typical"}
	var names []string
	for _, fd := range f.Fields {
		names = append(names, fd.Name)
	}
	if !slices.Equal(names, wantFields) {
		t.Fatalf("fields %q, want %q", names, wantFields)
	}
	got := rows(f)
	if len(got) != len(traces) {
		t.Fatalf("%d rows, want %d", len(got), len(traces))
	}
	for i := 1; i < len(got); i++ {
		if got[i-1]["durationMs"].(float64) < got[i]["durationMs"].(float64) {
			t.Errorf("rows not sorted by durationMs descending at %d: %v then %v", i, got[i-1]["durationMs"], got[i]["durationMs"])
		}
	}

	// Each row is the engine's result for that trace alone.
	byID := map[string]map[string]any{}
	for _, row := range got {
		byID[row["traceID"].(string)] = row
	}
	for _, tr := range traces {
		row, a := byID[tr.Trace.TraceID], reference(tr, correlate.DefaultOptions())
		if row == nil {
			t.Fatalf("no row for %s", tr.Trace.TraceID)
		}
		want := map[string]any{
			"start": a.Start, "durationMs": ms(a.End.Sub(a.Start)), "waitMs": ms(a.Total.Wait), "unaccountedMs": ms(a.Total.Unaccounted),
			"retries": int64(a.Total.Retries), "topFinding": a.TopFinding, "logCount": int64(len(a.Logs)),
		}
		for k, v := range want {
			if !equalValue(row[k], v) {
				t.Errorf("%s %s = %v, want %v", tr.Trace.TraceID, k, row[k], v)
			}
		}
		// typical_ms: the median of the others with the same root, as the
		// fake Tempo reports durationMs (whole milliseconds).
		var others []time.Duration
		for _, o := range traces {
			if o.Trace.TraceID != tr.Trace.TraceID && rootName(o) == rootName(tr) {
				first, last := o.Trace.Bounds()
				others = append(others, last.Sub(first).Truncate(time.Millisecond))
			}
		}
		first, last := tr.Trace.Bounds()
		typ := correlate.Median(others)
		wantVs := last.Sub(first).Truncate(time.Millisecond) - typ
		if len(others) == 0 {
			if row["typical_ms"] != nil || row["vs_typical"] != "" {
				t.Errorf("%s has no candidate like it, yet typical_ms %v, vs_typical %q", tr.Trace.TraceID, row["typical_ms"], row["vs_typical"])
			}
			continue
		}
		if row["typical_ms"] != ms(typ) || row["vs_typical"] != signed(wantVs) {
			t.Errorf("%s typical_ms %v, vs_typical %q; want %v ms and %q", tr.Trace.TraceID, row["typical_ms"], row["vs_typical"], ms(typ), signed(wantVs))
		}
	}
	seed := byID[seedTraceID]
	if seed["rootService"] != "dashboard-service" || seed["rootOperation"] != "GET /dashboard" || seed["durationMs"] != 1800.0 ||
		seed["retries"] != int64(1) || seed["logCount"] != int64(21) || !strings.HasPrefix(seed["topFinding"].(string), "GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between") ||
		seed["breakdown"] != "waiting 40% · in callee 13% · self 13%" {
		t.Errorf("seed row %v", seed)
	}

	// traceID links to the trace query of this data source.
	links := f.Fields[0].Config.Links
	if len(links) == 0 || links[0].Internal == nil || links[0].Internal.DatasourceUID != "tracegap-search" {
		t.Errorf("traceID links %+v", links)
	}
	// One Tempo search, a request per trace, and one batch of logs: one
	// query per half of auto mode for all eight traces.
	if srv.Searches() != 1 || srv.TraceRequests() != len(traces) || srv.LokiRequests() != 2 {
		t.Errorf("upstream requests: %d searches, %d traces, %d Loki", srv.Searches(), srv.TraceRequests(), srv.LokiRequests())
	}
	eq := f.Meta.ExecutedQueryString
	for _, part := range []string{"Tempo: TraceQL {}", "(limit 20, 200 candidates asked for): 8 candidates ranked by duration, the 8 slowest explained", "Loki, 1 batch: ", srv.LokiQueries()[0].Query} {
		if !strings.Contains(eq, part) {
			t.Errorf("executed query %q lacks %q", eq, part)
		}
	}
	if len(f.Meta.Notices) != 0 {
		t.Errorf("notices %v", noticeTexts(f))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// signed is a duration as vs_typical writes it.
func signed(d time.Duration) string {
	if d < 0 {
		return "-" + strconv.FormatFloat(ms(-d), 'f', -1, 64) + " ms"
	}
	return "+" + strconv.FormatFloat(ms(d), 'f', -1, 64) + " ms"
}

// rootName is a fake trace's root service and operation.
func rootName(tr searchtest.Trace) string {
	for _, s := range tr.Trace.Spans {
		if s.ParentSpanID == "" {
			return s.ServiceName + " " + s.Name
		}
	}
	return ""
}

func equalValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

func TestSearchQueryUsesTheCache(t *testing.T) {
	srv := searchtest.Start(t, append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(4, seedBase.Add(time.Minute), 10*time.Second, 2)...)...)
	pCtx := manyContext(t, srv)
	q := `{"queryType":"search","query":"{resource.service.name=\"widget-service\"}"}`
	first := onlyFrame(t, runQuery(t, pCtx, QueryTypeSearch, q, searchRange), "traces")
	traceReqs, lokiReqs := srv.TraceRequests(), srv.LokiRequests()
	if traceReqs != 5 || lokiReqs == 0 {
		t.Fatalf("first query: %d trace and %d Loki requests", traceReqs, lokiReqs)
	}

	// A dashboard refresh: the same traces, nothing fetched again. Other
	// analysis options rerun the engine on the cached material.
	second := onlyFrame(t, runQuery(t, pCtx, QueryTypeSearch, q, searchRange), "traces")
	metrics := runQuery(t, pCtx, QueryTypeWaitMetrics, `{"queryType":"waitMetrics","query":"{resource.service.name=\"widget-service\"}","minGapMs":1000}`, searchRange)
	if metrics.Error != nil || len(metrics.Frames) == 0 {
		t.Fatalf("waitMetrics: %v", metrics.Error)
	}
	third := metrics.Frames[0]
	if srv.TraceRequests() != traceReqs || srv.LokiRequests() != lokiReqs || srv.Searches() != 3 {
		t.Errorf("refresh asked upstream: %d→%d trace, %d→%d Loki requests (%d searches)", traceReqs, srv.TraceRequests(), lokiReqs, srv.LokiRequests(), srv.Searches())
	}
	if !strings.Contains(second.Meta.ExecutedQueryString, "(5 from the cache)") || !strings.Contains(third.Meta.ExecutedQueryString, "(5 from the cache)") {
		t.Errorf("executed queries %q / %q do not say the traces came from the cache", second.Meta.ExecutedQueryString, third.Meta.ExecutedQueryString)
	}
	if a, b := rows(first), rows(second); len(a) != len(b) || !equalRows(a, b) {
		t.Errorf("cached answer differs:\n%v\n%v", a, b)
	}

	// Another data source instance (another tenant, perhaps) has its own cache.
	onlyFrame(t, runQuery(t, manyContext(t, srv, "tenantId", "tenant-b"), QueryTypeSearch, q, searchRange), "traces")
	if srv.TraceRequests() != 2*traceReqs {
		t.Errorf("another instance used this one's cache: %d trace requests", srv.TraceRequests())
	}
}

func equalRows(a, b []map[string]any) bool {
	for i := range a {
		for k, v := range a[i] {
			if !equalValue(v, b[i][k]) {
				return false
			}
		}
	}
	return true
}

func TestSearchQueryChecksItsInput(t *testing.T) {
	srv := searchtest.Start(t, flowTraces(2, seedBase, time.Second, 3)...)
	pCtx := manyContext(t, srv)
	for _, tc := range []struct{ json, says string }{
		{`{"query":"{}","limit":-1}`, "limit is -1; enter a number of traces from 1 to 1000"},
		{`{"query":"{}","limit":5000}`, "limit is 5000"},
		{`{"query":"{}","limit":"twenty"}`, `limit is "twenty", not a whole number`},
		{`{"query":"{}","limit":2.5}`, "not a whole number"},
		{`{"query":"{}","minGapMs":-5}`, "minGapMs is -5"},
		{`{"query":"{}","logSelector":"service=api"}`, "is not a LogQL stream selector"},
		{`{"query":"{`, "not valid JSON"},
	} {
		r := runQuery(t, pCtx, QueryTypeSearch, tc.json, searchRange)
		if r.Error == nil || !strings.Contains(r.Error.Error(), tc.says) || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: error %v (status %v, source %q), want a 400 saying %q", tc.json, r.Error, r.Status, r.ErrorSource, tc.says)
		}
	}
	if srv.Requests() != 0 {
		t.Errorf("bad queries reached upstream: %d requests", srv.Requests())
	}

	// An empty query is every trace; the default limit is sent to Tempo.
	f := onlyFrame(t, runQuery(t, pCtx, QueryTypeSearch, `{"queryType":"search"}`, searchRange), "traces")
	if f.Rows() != 2 || !strings.Contains(f.Meta.ExecutedQueryString, "TraceQL {} from ") || !strings.Contains(f.Meta.ExecutedQueryString, "(limit 20, 200 candidates asked for)") {
		t.Errorf("empty query: %d rows, executed %q", f.Rows(), f.Meta.ExecutedQueryString)
	}

	// Tempo's own words for bad TraceQL; a hint when a variable was left in.
	r := runQuery(t, pCtx, QueryTypeSearch, `{"query":"{resource.service.name=$service}"}`, searchRange)
	if r.Error == nil || r.Status != backend.StatusBadRequest || !strings.Contains(r.Error.Error(), "invalid TraceQL query") || !strings.Contains(r.Error.Error(), "alert rules and other queries without a dashboard do not replace variables") {
		t.Errorf("bad TraceQL: %v (status %v)", r.Error, r.Status)
	}
}

func TestSearchQueryPartialFailures(t *testing.T) {
	early := flowTraces(4, seedBase, 10*time.Second, 4)
	late := flowTraces(3, seedBase.Add(time.Hour), 10*time.Second, 5)
	srv := searchtest.Start(t, append(early, late...)...)
	broken := early[2].Trace.TraceID
	srv.TraceHook = func(id string, w http.ResponseWriter, _ *http.Request) bool {
		if id == broken {
			http.Error(w, "failed to read block", http.StatusInternalServerError)
			return true
		}
		return false
	}
	lateStart := seedBase.Add(time.Hour - time.Minute).UnixNano()
	srv.LokiHook = func(w http.ResponseWriter, r *http.Request) bool {
		if start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64); start > lateStart {
			<-r.Context().Done() // Loki does not answer for the late batch
			return true
		}
		return false
	}
	// 5 s, not 1 s: every request but the hanging batch must answer within
	// it, also on a busy 2-core CI machine.
	r := runQuery(t, manyContext(t, srv, "timeoutSeconds", 5), QueryTypeSearch, `{"query":"{}"}`, searchRange)
	f := onlyFrame(t, r, "traces")
	if f.Rows() != 6 {
		t.Errorf("%d rows, want the 6 traces Tempo returned", f.Rows())
	}
	notes := strings.Join(noticeTexts(f), "\n")
	for _, want := range []string{"1 of the 7 traces the search found could not be fetched from Tempo", broken, "HTTP 500", "Logs are missing because Loki failed", "did not answer in time"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notices lack %q:\n%s", want, notes)
		}
	}
	for _, row := range rows(f) {
		isLate := slices.ContainsFunc(late, func(tr searchtest.Trace) bool { return tr.Trace.TraceID == row["traceID"] })
		if got := row["logCount"].(int64); isLate != (got == 0) {
			t.Errorf("%s: %d log lines (late batch: %v)", row["traceID"], got, isLate)
		}
	}
}

func TestSearchQueryStopsWhenCancelled(t *testing.T) {
	srv := searchtest.Start(t, flowTraces(30, seedBase, time.Second, 6)...)
	arrived := make(chan struct{}, 100)
	srv.TraceHook = func(_ string, _ http.ResponseWriter, r *http.Request) bool {
		arrived <- struct{}{}
		<-r.Context().Done() // only a cancelled query ends this
		return true
	}
	pCtx := manyContext(t, srv, "tempoConcurrency", 3)
	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() {
		_, err := startPlugin(t).QueryData(c, &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
			{RefID: "A", QueryType: QueryTypeSearch, JSON: []byte(`{"query":"{}","limit":30}`), TimeRange: searchRange},
		}})
		done <- err
	}()
	for range 3 {
		<-arrived // three fetches are running, as tempoConcurrency allows
	}
	cancel() // the dashboard was closed
	<-done
	// The plugin sees the cancel through gRPC: its requests end and no
	// new one starts. Wait (bounded) for the fakes to see them end.
	if !eventually(func() bool { return srv.InFlight() == 0 }) {
		t.Fatalf("%d upstream requests still running after the cancel", srv.InFlight())
	}
	if n := srv.TraceRequests(); n != 3 {
		t.Errorf("%d trace requests, want the 3 started before the cancel", n)
	}
	if srv.LokiRequests() != 0 {
		t.Errorf("%d Loki requests after the cancel", srv.LokiRequests())
	}
}

func TestSearchQueryWhenTempoIsDown(t *testing.T) {
	srv := searchtest.Start(t, flowTraces(1, seedBase, time.Second, 13)...)
	pCtx := pluginContext(t, settingsFor(fixtures.ClosedURL(t), srv.Loki.URL), nil)
	for _, qt := range []string{QueryTypeSearch, QueryTypeWaitMetrics, QueryTypeAnnotations} {
		r := runQuery(t, pCtx, qt, `{"query":"{}"}`, searchRange)
		if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream || !strings.Contains(r.Error.Error(), "cannot reach Tempo") {
			t.Errorf("%s: %v (source %q), want a downstream error naming Tempo", qt, r.Error, r.ErrorSource)
		}
	}
}

// The search table holds the slowest requests of the range, not the first
// Tempo returns (the latest): limit 5 ranks 50 candidates of one search.
func TestSearchQueryRanksTheSlowest(t *testing.T) {
	traces := flowTraces(200, seedBase.Add(time.Minute), 3*time.Second, 16)
	srv := searchtest.Start(t, traces...)
	r := runQuery(t, manyContext(t, srv), QueryTypeSearch, `{"queryType":"search","query":"{}","limit":5}`, searchRange)
	f := onlyFrame(t, r, "traces")

	// The fake Tempo returns the 50 latest; the table holds their 5 longest.
	latest := slices.Clone(traces[150:])
	slices.SortStableFunc(latest, func(a, b searchtest.Trace) int {
		da, db := durationOf(a), durationOf(b)
		return cmp.Compare(db, da)
	})
	var want, got []string
	for _, tr := range latest[:5] {
		want = append(want, tr.Trace.TraceID)
	}
	for _, row := range rows(f) {
		got = append(got, row["traceID"].(string))
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want the 5 longest of 50 candidates, longest first: %v", got, want)
	}
	sq := srv.SearchQueries()
	if len(sq) != 1 || sq[0].Limit != "50" || srv.TraceRequests() != 5 {
		t.Errorf("searches %+v, %d trace requests; want 1 search for 50 candidates and 5 trace requests", sq, srv.TraceRequests())
	}
	if eq := f.Meta.ExecutedQueryString; !strings.Contains(eq, "(limit 5, 50 candidates asked for): 50 candidates ranked by duration, the 5 slowest explained") {
		t.Errorf("executed query %q does not say how many candidates were ranked", eq)
	}
}

func durationOf(tr searchtest.Trace) time.Duration {
	first, last := tr.Trace.Bounds()
	return last.Sub(first).Truncate(time.Millisecond)
}
