package plugin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/model"
)

var annotationFields = []string{"time", "timeEnd", "title", "text", "tags", "traceID", "spanID"}

// annotationRows reads an annotations response, checking its one frame.
func annotationRows(t *testing.T, r backend.DataResponse) []map[string]any {
	t.Helper()
	f := onlyFrame(t, r, "annotations")
	var names []string
	for _, fd := range f.Fields {
		names = append(names, fd.Name)
	}
	if !slices.Equal(names, annotationFields) {
		t.Fatalf("fields %q, want %q", names, annotationFields)
	}
	return rows(f)
}

func TestAnnotationsForTheSeedTrace(t *testing.T) {
	seed := seedSearchTrace(t)
	srv := searchtest.Start(t, seed)
	pCtx := manyContext(t, srv)
	for _, minGap := range []int{100, 200} {
		t.Run(fmt.Sprintf("minGapMs=%d", minGap), func(t *testing.T) {
			q := fmt.Sprintf(`{"queryType":"annotations","traceId":%q,"minGapMs":%d}`, seedTraceID, minGap)
			got := annotationRows(t, runQuery(t, pCtx, QueryTypeAnnotations, q, captureRange))

			// docs/analysis.md: the seed's gaps (and the retry) as regions
			// [from, to], timeEnd − time their duration.
			type region struct {
				from, to    int
				title, says string
			}
			want := []region{
				{400, 1000, "widget-service GET /widgets/data", `600 ms unaccounted: waited 600 ms between "Initiating call to data aggregator A" and "Received response from data aggregator A": 0 ms in data-aggregator-a GET /data/aggregator-a, 600 ms unaccounted`},
				// The sentence of docs/analysis.md, word for word, led by the unaccounted time.
				{1050, 1850, "widget-service GET /widgets/data", `400 ms unaccounted: waited 800 ms between "Initiating call to data aggregator B" and "Received response from data aggregator B": 400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted (350 ms before it started, 50 ms after it ended); the call's own timer says 400 ms; data-aggregator-a GET /data/aggregator-a ran concurrently for 250 ms`},
				{1500, 1700, "data-aggregator-b GET /data/aggregator-b", `waited 200 ms between "Querying prometheus" and "Prometheus query timed out after 200ms, retrying": 200 ms in data-aggregator-b metric-db-b.query, 0 ms unaccounted`},
				{1700, 1900, "data-aggregator-b GET /data/aggregator-b", `100 ms unaccounted: waited 200 ms between "Prometheus query timed out after 200ms, retrying" and "Prometheus query successful on retry": 100 ms in data-aggregator-b metric-db-b.query, 100 ms unaccounted`},
				// The retry: [its line − its cost, its line].
				{1500, 1700, "data-aggregator-b GET /data/aggregator-b", `retried after "Prometheus query timed out after 200ms, retrying": the failed attempt took 200 ms`},
			}
			if minGap <= 100 {
				want = append(want, region{1400, 1500, "data-aggregator-b GET /data/aggregator-b", `100 ms unaccounted: waited 100 ms between "Received request for aggregated metrics" and "Querying prometheus"`})
			}
			for _, w := range want {
				if !slices.ContainsFunc(got, func(row map[string]any) bool {
					return row["time"].(time.Time).Equal(at(w.from)) && row["timeEnd"].(time.Time).Equal(at(w.to)) &&
						row["title"] == w.title && strings.Contains(row["text"].(string), w.says) && row["traceID"] == seedTraceID
				}) {
					t.Errorf("no region [%d, %d] %q saying %q among:\n%s", w.from, w.to, w.title, w.says, showRows(got))
				}
			}

			// Every region is one of the engine's findings, with its
			// sentence; every gap at least minGap and every retry has one.
			a := reference(seed, correlate.DefaultOptions())
			// The headline leads, a region over the whole request.
			if len(got) == 0 || !got[0]["time"].(time.Time).Equal(at(0)) || !got[0]["timeEnd"].(time.Time).Equal(at(1500)) ||
				got[0]["text"] != a.Breakdown.Headline || got[0]["tags"] != "tracegap,headline,dashboard-service" {
				t.Errorf("first region is not the headline over [0, 1500]:\n%s", showRows(got))
			}
			findings := 1
			for _, g := range a.Gaps {
				if g.Duration() < time.Duration(minGap)*time.Millisecond {
					continue
				}
				findings++
				if !hasRegion(got, g.Start, g.End, g.Sentence, "gap") {
					t.Errorf("gap [%v, %v] %q has no region", g.Start, g.End, g.Sentence)
				}
			}
			for _, rt := range a.Retries {
				findings++
				if rt.End.Sub(rt.Start) != rt.Cost || !hasRegion(got, rt.Start, rt.End, rt.Sentence, "retry") {
					t.Errorf("retry [%v, %v] %q has no region of its cost %v", rt.Start, rt.End, rt.Sentence, rt.Cost)
				}
			}
			if len(got) != findings {
				t.Errorf("%d regions, want %d (gaps ≥ %d ms and retries):\n%s", len(got), findings, minGap, showRows(got))
			}
		})
	}
	if srv.Searches() != 0 {
		t.Errorf("a trace id needs no search, got %d", srv.Searches())
	}
}

func hasRegion(rows []map[string]any, start, end time.Time, sentence, tag string) bool {
	return slices.ContainsFunc(rows, func(row map[string]any) bool {
		return row["time"].(time.Time).Equal(start) && row["timeEnd"].(time.Time).Equal(end) &&
			strings.HasSuffix(row["text"].(string), sentence) && strings.Contains(row["tags"].(string), tag)
	})
}

func showRows(rows []map[string]any) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  [%s, %s] %s | %s | %s\n", r["time"].(time.Time).Format("15:04:05.000"), r["timeEnd"].(time.Time).Format("15:04:05.000"), r["title"], r["tags"], r["text"])
	}
	return b.String()
}

func TestAnnotationsForASearch(t *testing.T) {
	traces := append([]searchtest.Trace{seedSearchTrace(t)}, flowTraces(7, seedBase.Add(30*time.Second), 30*time.Second, 12)...)
	srv := searchtest.Start(t, traces...)
	pCtx := manyContext(t, srv)
	// The traces Tempo returns for a limit: the latest first.
	latest := slices.Clone(traces)
	slices.SortStableFunc(latest, func(a, b searchtest.Trace) int {
		fa, _ := a.Trace.Bounds()
		fb, _ := b.Trace.Bounds()
		return cmp.Compare(fb.UnixNano(), fa.UnixNano())
	})
	for _, limit := range []int{20, 5} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			q := fmt.Sprintf(`{"queryType":"annotations","query":"{}","limit":%d,"minGapMs":200}`, limit)
			got := annotationRows(t, runQuery(t, pCtx, QueryTypeAnnotations, q, searchRange))
			if len(got) != limit {
				t.Fatalf("%d regions, want the %d costliest", len(got), limit)
			}
			// The same regions, in the same order, as the engine and the
			// frame builder give for those traces' own values.
			var as []*model.Analysis
			for _, tr := range latest[:min(limit, len(latest))] {
				as = append(as, reference(tr, correlate.Options{MinGap: 200 * time.Millisecond}))
			}
			want := rows(frames.Annotations(as, frames.AnnotationOptions{MinGap: 200 * time.Millisecond, Limit: limit}, frames.Options{}))
			if !equalRows(got, want) || len(got) != len(want) {
				t.Errorf("regions differ from the engine's:\ngot\n%swant\n%s", showRows(got), showRows(want))
			}
			traceIDs := map[any]bool{}
			for _, row := range got {
				traceIDs[row["traceID"]] = true
			}
			if len(traceIDs) < 2 {
				t.Errorf("regions from %d traces, want several", len(traceIDs))
			}
		})
	}
}

func TestAnnotationsChecksItsInput(t *testing.T) {
	srv := searchtest.Start(t, seedSearchTrace(t))
	pCtx := manyContext(t, srv)
	for _, tc := range []struct{ json, says string }{
		{`{"traceId":"span-4"}`, `"span-4" is not a trace id`},
		{`{"traceId":"${traceId}"}`, "the template variable ${traceId} was not replaced"},
		{`{"query":"{}","minGapMs":7200000}`, "more than an hour"},
	} {
		r := runQuery(t, pCtx, QueryTypeAnnotations, tc.json, searchRange)
		if r.Error == nil || !strings.Contains(r.Error.Error(), tc.says) || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: %v (status %v), want a 400 saying %q", tc.json, r.Error, r.Status, tc.says)
		}
	}
	r := runQuery(t, pCtx, QueryTypeAnnotations, `{"traceId":"deadbeefdeadbeefdeadbeefdeadbeef"}`, searchRange)
	if r.Error == nil || r.Status != backend.StatusNotFound {
		t.Errorf("unknown trace: %v (status %v), want a 404", r.Error, r.Status)
	}
	if srv.Searches() != 0 || srv.LokiRequests() != 0 {
		t.Errorf("%d searches and %d Loki requests for bad annotation queries", srv.Searches(), srv.LokiRequests())
	}
}
