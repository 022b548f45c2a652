package plugin

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/demo"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
)

// TestDemoRetriesCountedOnce checks the plugin's retry counts against the
// demo generator's own record of what it did (issue 14): each Prometheus
// timeout it retried shows both as a "…, retrying" line and as a failed
// attempt span, and must be counted once, in the search table's retries
// column, in the retries wait series the alert rules threshold, and as one
// retry annotation each. Traces whose every attempt failed retry twice.
func TestDemoRetriesCountedOnce(t *testing.T) {
	const n = 125
	rng := rand.New(rand.NewPCG(14, 11))
	start := seedBase.Add(time.Minute)
	want := map[string]int{}
	var traces []searchtest.Trace
	total, failed := 0, 0
	for k := range n {
		d := demo.Generate(rng, start.Add(time.Duration(k)*10*time.Second))
		want[d.TraceID] = d.Facts.Retries
		total += d.Facts.Retries
		if d.Facts.Failed {
			failed++
		}
		traces = append(traces, searchtest.FromDemo(d))
	}
	if total == 0 || failed == 0 {
		t.Fatalf("the seeded run has %d retries and %d failed traces; pick a seed with both", total, failed)
	}
	srv := searchtest.Start(t, traces...)
	pCtx := manyContext(t, srv)

	// The search table: per trace.
	f := onlyFrame(t, runQuery(t, pCtx, QueryTypeSearch, `{"query":"{}","limit":200}`, searchRange), "traces")
	got := rows(f)
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for _, row := range got {
		id := row["traceID"].(string)
		if r := row["retries"].(int64); r != int64(want[id]) {
			t.Errorf("trace %s: %d retries, the generator made %d", id, r, want[id])
		}
	}

	// The retries wait series: summed over services and traces.
	series := seriesOf(t, runQuery(t, pCtx, QueryTypeWaitMetrics, `{"query":"{}","limit":200,"groupBy":"service"}`, searchRange))
	sum := 0.0
	for key, pts := range series {
		if strings.Contains(key, "measure=retries") {
			for _, p := range pts {
				sum += p.v
			}
		}
	}
	if sum != float64(total) {
		t.Errorf("retries series sum to %v, the generator made %d", sum, total)
	}

	// Annotations: one retry region per retry (each is one line and its span).
	ann := annotationRows(t, runQuery(t, pCtx, QueryTypeAnnotations, `{"queryType":"annotations","query":"{}","limit":1000}`, searchRange))
	regions := 0
	for _, row := range ann {
		if strings.Contains(row["tags"].(string), ",retry") {
			regions++
		}
	}
	if regions != total {
		t.Errorf("%d retry annotations, the generator made %d retries", regions, total)
	}
	t.Logf("%d traces: %d retries, %d traces where every attempt failed", n, total, failed)
}
