package plugin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
)

// The trace query shares the data source instance's cache of fetched
// traces with the many-trace queries. Whether a trace is kept depends on
// how long ago it ended by the wall clock (explain.DefaultSettle), so these
// tests move the seed trace (the real captures' spans and log lines) to end
// at a time relative to now instead of relying on the captures' date.

// cacheMarker ends the executed query of an answer that came from the cache.
const cacheMarker = " · from the cache (fetched by an earlier or concurrent query)"

// seedEndingAt is the seed trace, spans and log lines, moved so that its
// last span ends at end, served by the many-trace fakes (which encode it as
// Tempo's v2 protobuf and answer LogQL over its lines), and a dashboard
// range around it.
func seedEndingAt(t *testing.T, end time.Time) (*searchtest.Servers, backend.TimeRange) {
	t.Helper()
	tr := seedSearchTrace(t)
	_, last := tr.Trace.Bounds()
	shift := end.Sub(last)
	tr.TempoBody = nil // encode the moved spans, not the capture
	for i := range tr.Trace.Spans {
		s := &tr.Trace.Spans[i]
		s.Start, s.End = s.Start.Add(shift), s.End.Add(shift)
		for j := range s.Events {
			s.Events[j].Time = s.Events[j].Time.Add(shift)
		}
	}
	for i := range tr.Entries {
		tr.Entries[i].Time = tr.Entries[i].Time.Add(shift)
	}
	first, _ := tr.Trace.Bounds()
	return searchtest.Start(t, tr), backend.TimeRange{From: first.Add(-5 * time.Minute), To: end.Add(5 * time.Minute)}
}

// traceQuery is a trace query for the seed with optional overrides.
func traceQuery(more ...any) string {
	q := map[string]any{"refId": "A", "queryType": QueryTypeTrace, "traceId": seedTraceID}
	for i := 0; i+1 < len(more); i += 2 {
		q[more[i].(string)] = more[i+1]
	}
	b, _ := json.Marshal(q)
	return string(b)
}

// okTrace is a trace response that must have its five frames.
func okTrace(t *testing.T, r backend.DataResponse) backend.DataResponse {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("error %v (status %v)", r.Error, r.Status)
	}
	frameOf(t, r, "trace") // checks the five frames and their order
	return r
}

// sameFrames fails unless got's frames are want's, as JSON, each frame's
// executed query left out (it says whether the answer came from the
// cache): what a panel shows.
func sameFrames(t *testing.T, what string, got, want backend.DataResponse) {
	t.Helper()
	g, w := framesJSON(t, got), framesJSON(t, want)
	if len(g) != len(w) {
		t.Errorf("%s: %d frames, want %d", what, len(g), len(w))
		return
	}
	for i := range g {
		if g[i] == w[i] {
			continue
		}
		at := 0
		for at < min(len(g[i]), len(w[i])) && g[i][at] == w[i][at] {
			at++
		}
		t.Errorf("%s: frame %q differs at byte %d:\n got …%s\nwant …%s", what, want.Frames[i].Name, at, excerpt(g[i], at), excerpt(w[i], at))
	}
}

func excerpt(s string, at int) string {
	return s[max(at-80, 0):min(at+80, len(s))]
}

func framesJSON(t *testing.T, r backend.DataResponse) []string {
	t.Helper()
	var out []string
	for _, f := range r.Frames {
		c := *f
		if f.Meta != nil {
			m := *f.Meta
			m.ExecutedQueryString = ""
			c.Meta = &m
		}
		j, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(j))
	}
	return out
}

func executedOf(r backend.DataResponse) string {
	if len(r.Frames) == 0 || r.Frames[0].Meta == nil {
		return ""
	}
	return r.Frames[0].Meta.ExecutedQueryString
}

// upstream counts the requests both fakes received.
type upstream struct{ searches, traces, loki int }

func countsOf(srv *searchtest.Servers) upstream {
	return upstream{srv.Searches(), srv.TraceRequests(), srv.LokiRequests()}
}

func TestTraceQueryCacheServesAFinishedTrace(t *testing.T) {
	srv, tr := seedEndingAt(t, time.Now().Add(-time.Hour))
	pCtx := manyContext(t, srv)

	first := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	if got := countsOf(srv); got != (upstream{0, 1, 2}) {
		t.Fatalf("first query: %+v, want one trace request and auto mode's two Loki queries", got)
	}
	if logs := frameOf(t, first, "logs"); logs.Rows() != 21 {
		t.Fatalf("logs frame has %d rows, want the seed's 21", logs.Rows())
	}
	if strings.HasSuffix(executedOf(first), cacheMarker) {
		t.Errorf("first answer claims the cache: %q", executedOf(first))
	}

	// A dashboard refresh: nothing is asked upstream, the panel is the same,
	// and the query inspector says where the answer came from.
	second := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	if got := countsOf(srv); got != (upstream{0, 1, 2}) {
		t.Errorf("refresh asked upstream: %+v", got)
	}
	sameFrames(t, "cached answer", second, first)
	if want := executedOf(first) + cacheMarker; executedOf(second) != want {
		t.Errorf("executed query %q, want %q", executedOf(second), want)
	}

	// Dashboards refreshing at once share the cached material: the
	// analyses must only read it (go test -race checks).
	var wg sync.WaitGroup
	answers := make([]backend.DataResponse, 4)
	for i := range answers {
		wg.Go(func() {
			resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
				{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(traceQuery("minGapMs", 100*(i+1))), TimeRange: tr},
			}})
			if err == nil {
				answers[i] = resp.Responses["A"]
			} else {
				answers[i] = backend.ErrDataResponse(backend.StatusInternal, err.Error())
			}
		})
	}
	wg.Wait()
	for _, r := range answers {
		okTrace(t, r)
	}
	if got := countsOf(srv); got != (upstream{0, 1, 2}) {
		t.Errorf("concurrent refreshes asked upstream: %+v", got)
	}

	// The same cache serves the annotations of that trace and a search
	// that finds it: one cache per instance, reached the same way.
	ann := runQuery(t, pCtx, QueryTypeAnnotations, `{"queryType":"annotations","traceId":"`+seedTraceID+`"}`, tr)
	if f := onlyFrame(t, ann, "annotations"); f.Rows() == 0 || !strings.HasSuffix(f.Meta.ExecutedQueryString, cacheMarker) {
		t.Errorf("annotations: %d regions, executed %q", f.Rows(), f.Meta.ExecutedQueryString)
	}
	search := onlyFrame(t, runQuery(t, pCtx, QueryTypeSearch, `{"queryType":"search","query":"{}"}`, tr), "traces")
	if !strings.Contains(search.Meta.ExecutedQueryString, "(1 from the cache)") {
		t.Errorf("search executed %q, want the trace from the cache", search.Meta.ExecutedQueryString)
	}
	if got := countsOf(srv); got != (upstream{1, 1, 2}) {
		t.Errorf("annotations and search asked upstream for the cached trace: %+v, want only the search", got)
	}

	// Another instance (new settings, perhaps another tenant) starts empty.
	okTrace(t, runTrace(t, manyContext(t, srv, "tenantId", "tenant-b"), traceQuery(), tr))
	if got := countsOf(srv); got != (upstream{1, 2, 4}) {
		t.Errorf("another instance used this one's cache: %+v", got)
	}
}

func TestTraceQueryCacheKeysOnTheLogSelector(t *testing.T) {
	srv, tr := seedEndingAt(t, time.Now().Add(-time.Hour))
	pCtx := manyContext(t, srv)
	const widgets = `{service_name="widget-service"}`

	all := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	some := okTrace(t, runTrace(t, pCtx, traceQuery("logSelector", widgets), tr))
	if got := countsOf(srv); got != (upstream{0, 2, 4}) {
		t.Fatalf("another logSelector must fetch its own logs: %+v", got)
	}
	qs := srv.LokiQueries()
	for _, q := range qs[2:] {
		if !strings.HasPrefix(q.Query, widgets) {
			t.Errorf("Loki query %q does not start from the query's selector", q.Query)
		}
	}
	nAll, nSome := frameOf(t, all, "logs").Rows(), frameOf(t, some, "logs").Rows()
	if nSome == 0 || nSome >= nAll {
		t.Errorf("logs: %d lines with the selector, %d without; want fewer, not none", nSome, nAll)
	}

	// Both entries are kept: going back and forth asks nothing, and each
	// answer is its own.
	again := okTrace(t, runTrace(t, pCtx, traceQuery("logSelector", widgets), tr))
	back := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	if got := countsOf(srv); got != (upstream{0, 2, 4}) {
		t.Errorf("repeated queries asked upstream: %+v", got)
	}
	sameFrames(t, "cached answer with the selector", again, some)
	sameFrames(t, "cached answer without the selector", back, all)
}

func TestTraceQueryCacheReanalysesWithAnotherMinGap(t *testing.T) {
	srv, tr := seedEndingAt(t, time.Now().Add(-time.Hour))
	pCtx := manyContext(t, srv)

	def := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	wide := okTrace(t, runTrace(t, pCtx, traceQuery("minGapMs", 500), tr))
	if got := countsOf(srv); got != (upstream{0, 1, 2}) {
		t.Errorf("another minGapMs fetched again: %+v", got)
	}
	if !strings.HasSuffix(executedOf(wide), cacheMarker) {
		t.Errorf("executed query %q does not say the trace came from the cache", executedOf(wide))
	}
	gDef, gWide := rows(frameOf(t, def, "gaps")), rows(frameOf(t, wide, "gaps"))
	if len(gWide) == 0 || len(gWide) >= len(gDef) {
		t.Fatalf("%d gaps of at least 500 ms, %d of at least 100 ms; want fewer, not none", len(gWide), len(gDef))
	}
	for _, g := range gWide {
		if g["gapMs"].(float64) < 500 {
			t.Errorf("gap of %v ms shown with minGapMs 500", g["gapMs"])
		}
	}

	// The analysis of the cached material is the one a fresh instance
	// computes from what it fetches.
	// (Same UID: data links name the data source.)
	freshCtx := manyContext(t, srv)
	freshCtx.DataSourceInstanceSettings.UID = pCtx.DataSourceInstanceSettings.UID
	fresh := okTrace(t, runTrace(t, freshCtx, traceQuery("minGapMs", 500), tr))
	sameFrames(t, "reanalysed cached trace vs a fresh fetch", wide, fresh)
}

func TestTraceQueryCacheRefetchesALiveTrace(t *testing.T) {
	// Ended seconds ago, well inside the settle window: Tempo may not have
	// all of it yet and late lines may still reach Loki.
	srv, tr := seedEndingAt(t, time.Now().Add(-10*time.Second))
	pCtx := manyContext(t, srv)

	first := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	second := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
	if got := countsOf(srv); got != (upstream{0, 2, 4}) {
		t.Errorf("a live trace must be fetched every time: %+v, want two trace requests and four Loki queries", got)
	}
	if strings.HasSuffix(executedOf(second), cacheMarker) {
		t.Errorf("executed query %q claims the cache", executedOf(second))
	}
	sameFrames(t, "the live trace fetched again", second, first)
}

func TestTraceQueryCacheNeverKeepsALokiFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fails  func(r *http.Request) bool // which Loki queries fail while Loki is failing
		notice string                     // the warning the failing answer carries
	}{
		{"Loki down", func(*http.Request) bool { return true }, "Logs are missing because Loki failed"},
		{"one half of auto mode", isMetadataQuery, "failed, so only the other query's logs are shown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, tr := seedEndingAt(t, time.Now().Add(-time.Hour))
			var failing atomic.Bool
			failing.Store(true)
			srv.LokiHook = func(w http.ResponseWriter, r *http.Request) bool {
				if !failing.Load() || !tc.fails(r) {
					return false
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte("rpc error: code = Unavailable desc = no healthy ingesters"))
				return true
			}
			pCtx := manyContext(t, srv)

			bad := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
			if !hasNotice(frameOf(t, bad, "trace"), tc.notice) {
				t.Fatalf("failing answer lacks %q: %q", tc.notice, noticeTexts(frameOf(t, bad, "trace")))
			}
			before := countsOf(srv)

			// Loki is back: the next query asks it again and gets every line.
			failing.Store(false)
			good := okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
			after := countsOf(srv)
			if after.loki != before.loki+2 || after.traces != before.traces+1 {
				t.Errorf("after a Loki failure: %+v then %+v, want the trace and both Loki queries again", before, after)
			}
			if hasNotice(frameOf(t, good, "trace"), tc.notice) || frameOf(t, good, "logs").Rows() != 21 {
				t.Errorf("retried answer: %d lines, notices %q", frameOf(t, good, "logs").Rows(), noticeTexts(frameOf(t, good, "trace")))
			}
			if strings.HasSuffix(executedOf(good), cacheMarker) {
				t.Errorf("executed query %q claims the cache", executedOf(good))
			}

			// The complete answer is kept.
			okTrace(t, runTrace(t, pCtx, traceQuery(), tr))
			if got := countsOf(srv); got != after {
				t.Errorf("complete answer not cached: %+v then %+v", after, got)
			}
		})
	}
}

// hasNotice says whether one of f's notices contains text.
func hasNotice(f *data.Frame, text string) bool {
	return slices.ContainsFunc(noticeTexts(f), func(n string) bool { return strings.Contains(n, text) })
}
