package explain

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/demo"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// The seed trace of the real captures.
const seedID = "0af7651916cd43dd8448eb211c80319c"

var seedStart = time.Date(2026, 11, 25, 16, 36, 37, 0, time.UTC)

// seedTrace is the seed trace exactly as the real Tempo and Loki returned
// it: the captured v2 protobuf body, and the 21 entries of the captured
// categorized query_range answer.
func seedTrace(t testing.TB) searchtest.Trace {
	t.Helper()
	body := fixtures.Load(t, "tempo/trace_v2_protobuf").Body
	tr, err := tempo.DecodeTraceV2Protobuf(body)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := loki.DecodeQueryRange(fixtures.Load(t, "loki/query_range_line_filter_categorized").Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Entries) != 21 {
		t.Fatalf("the seed capture has %d entries, want 21", len(logs.Entries))
	}
	return searchtest.Trace{Trace: tr.Trace, Entries: logs.Entries, TempoBody: body}
}

// demoTraces are n traces of the demo's dashboard flow, the k-th starting
// at start + k·every, with log lines in every service.
func demoTraces(n int, start time.Time, every time.Duration, seed uint64) []searchtest.Trace {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]searchtest.Trace, n)
	for k := range n {
		out[k] = searchtest.FromDemo(demo.Generate(rng, start.Add(time.Duration(k)*every)))
	}
	return out
}

// explainer talks to the fakes through its own transport, which the test
// closes at its end so that no connection goroutine outlives it.
func explainer(t testing.TB, s *searchtest.Servers) *Explainer {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return &Explainer{Tempo: tempo.New(s.Tempo.URL, hc, ""), Loki: loki.New(s.Loki.URL, hc, "")}
}

// logOptions are the data source defaults.
func logOptions() LogOptions {
	return LogOptions{Selector: `{service_name=~".+"}`, Mode: loki.ModeAuto, Margin: 5 * time.Second, MaxLines: 50000}
}

// wholeDay is a search range around the captures.
func wholeDay() (time.Time, time.Time) {
	return seedStart.Add(-12 * time.Hour), seedStart.Add(12 * time.Hour)
}

// service returns a service's figures in an analysis.
func service(a *model.Analysis, name string) model.GroupFigures {
	for _, g := range a.Services {
		if g.ServiceName == name {
			return g
		}
	}
	return model.GroupFigures{}
}

// ownEntries are a trace's entries inside its log window, as Fetch would
// get them from a Loki that has only this trace's lines.
func ownEntries(tr searchtest.Trace, margin time.Duration) int {
	first, last := tr.Trace.Bounds()
	n := 0
	for _, e := range tr.Entries {
		if !e.Time.Before(first.Add(-margin)) && e.Time.Before(last.Add(margin)) {
			n++
		}
	}
	return n
}

func analyze(f *Fetched) *model.Analysis {
	return Analyze(f, correlate.DefaultOptions()).Analysis
}
