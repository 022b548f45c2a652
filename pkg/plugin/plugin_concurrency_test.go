package plugin

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// marshalResponse is a response as Grafana receives it: frames (with their
// notices and executed query), error, status and source, as JSON.
func marshalResponse(t *testing.T, r backend.DataResponse) string {
	t.Helper()
	qdr := backend.NewQueryDataResponse()
	qdr.Responses["A"] = r
	b, err := json.Marshal(qdr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConcurrentQueriesMatchSequential: 50 queries at once on one data
// source instance answer exactly what they answer one at a time, while
// health checks and resource calls run beside them. Run with -race.
func TestConcurrentQueriesMatchSequential(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil)
	kinds := []string{
		seedQuery(seedTraceID),
		`{"traceId":"` + strings.ToUpper(seedTraceID) + `","minGapMs":50}`,
		`{"traceId":"` + seedTraceID + `","minGapMs":"250"}`,
		`{"traceId":"` + seedTraceID + `","logSelector":"{service_name=\"widget-service\"}"}`,
		seedQuery(unknownTraceID),
		`{"traceId":"not-a-trace"}`,
		`{"traceId":"$traceId"}`,
	}
	run := func(kind int) string {
		resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
			{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(kinds[kind]), TimeRange: captureRange},
		}})
		if err != nil {
			return "QueryData failed: " + err.Error()
		}
		return marshalResponse(t, resp.Responses["A"])
	}
	health := func() string {
		res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pCtx})
		if err != nil {
			return err.Error()
		}
		return fmt.Sprint(res.Status, res.Message, string(res.JSONDetails))
	}
	resource := func() string {
		var got *backend.CallResourceResponse
		err := startPlugin(t).CallResource(ctx(t), &backend.CallResourceRequest{PluginContext: pCtx, Path: "services", Method: "GET", URL: "services"},
			backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
		if err != nil || got == nil {
			return fmt.Sprint("resource failed: ", err)
		}
		return fmt.Sprint(got.Status, string(got.Body))
	}

	// One at a time first, twice: the second pass is the reference, when
	// the instance's cache of final traces is as warm as it will be for
	// the concurrent queries. The passes differ at most in the executed
	// query string, which says where the trace came from.
	want := make([]string, len(kinds))
	cold := make([]string, len(kinds))
	for k := range kinds {
		cold[k] = run(k)
	}
	for k := range kinds {
		want[k] = run(k)
		if a, b := withoutExecutedQuery(t, cold[k]), withoutExecutedQuery(t, want[k]); a != b {
			t.Errorf("kind %d: a repeated query answers differently: %s", k, firstDifference(b, a))
		}
	}
	wantHealth, wantResource := health(), resource()
	if !strings.Contains(want[0], `"traceID"`) || !strings.Contains(wantHealth, "reachable") {
		t.Fatalf("the reference answers are not the seed trace and a healthy check:\n%.300s\n%s", want[0], wantHealth)
	}

	const n = 50
	got := make([]string, n)
	gotHealth, gotResource := make([]string, n/10), make([]string, n/10)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = run(i % len(kinds)) })
	}
	for i := range n / 10 {
		wg.Go(func() { gotHealth[i] = health() })
		wg.Go(func() { gotResource[i] = resource() })
	}
	wg.Wait()
	for i := range n {
		if got[i] != want[i%len(kinds)] {
			t.Errorf("query %d (kind %d) differs when run concurrently: %s", i, i%len(kinds), firstDifference(got[i], want[i%len(kinds)]))
		}
	}
	for i := range n / 10 {
		if gotHealth[i] != wantHealth || gotResource[i] != wantResource {
			t.Errorf("health/resource %d differ when run concurrently: %q %q", i, gotHealth[i], gotResource[i])
		}
	}

	// And all 50 in one request: every refID answered as on its own.
	var queries []backend.DataQuery
	for i := range n {
		queries = append(queries, backend.DataQuery{RefID: fmt.Sprintf("Q%02d", i), QueryType: QueryTypeTrace, JSON: []byte(kinds[i%len(kinds)]), TimeRange: captureRange})
	}
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := resp.Responses[fmt.Sprintf("Q%02d", i)]
		// Frames carry the refID; put it back to compare with "A".
		for _, f := range r.Frames {
			f.RefID = "A"
		}
		if m := marshalResponse(t, r); m != want[i%len(kinds)] {
			t.Errorf("refID Q%02d in a batch differs: %s", i, firstDifference(m, want[i%len(kinds)]))
		}
	}
}

// firstDifference shows where two answers part.
func firstDifference(got, want string) string {
	p := 0
	for p < len(got) && p < len(want) && got[p] == want[p] {
		p++
	}
	from := max(0, p-150)
	return fmt.Sprintf("at byte %d:\n got …%.300s\nwant …%.300s", p, got[from:], want[from:])
}

// withoutExecutedQuery blanks every frame's executed query string in a
// marshalled response.
func withoutExecutedQuery(t *testing.T, resp string) string {
	t.Helper()
	var qdr backend.QueryDataResponse
	if err := json.Unmarshal([]byte(resp), &qdr); err != nil {
		t.Fatalf("%v: %.200s", err, resp)
	}
	r := qdr.Responses["A"]
	for _, f := range r.Frames {
		if f.Meta != nil {
			f.Meta.ExecutedQueryString = ""
		}
	}
	return marshalResponse(t, r)
}
