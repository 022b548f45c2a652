package plugin

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/demo"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// searchRange is the dashboard range of the many-trace tests: the
// captures' morning and the demo traces after them.
var searchRange = backend.TimeRange{From: seedBase.Add(-time.Hour), To: seedBase.Add(3 * time.Hour)}

// seedSearchTrace is the seed trace exactly as the real servers returned
// it (the v2 protobuf capture and the 21 entries of the categorized Loki
// capture), for the many-trace fakes.
func seedSearchTrace(t testing.TB) searchtest.Trace {
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
	return searchtest.Trace{Trace: tr.Trace, Entries: logs.Entries, TempoBody: body}
}

// flowTraces are n demo dashboard requests (pkg/demo), the k-th starting
// at start + k·every: queueing, retries and errors in varying amounts.
func flowTraces(n int, start time.Time, every time.Duration, seed uint64) []searchtest.Trace {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]searchtest.Trace, n)
	for k := range n {
		out[k] = searchtest.FromDemo(demo.Generate(rng, start.Add(time.Duration(k)*every)))
	}
	return out
}

// manyContext is a fresh data source instance on the fakes.
func manyContext(t *testing.T, srv *searchtest.Servers, more ...any) backend.PluginContext {
	t.Helper()
	return pluginContext(t, settingsFor(srv.Tempo.URL, srv.Loki.URL, more...), nil)
}

// runQuery sends one query of queryType over gRPC and returns its response.
func runQuery(t *testing.T, pCtx backend.PluginContext, queryType, queryJSON string, tr backend.TimeRange) backend.DataResponse {
	t.Helper()
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: queryType, JSON: []byte(queryJSON), TimeRange: tr},
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

// onlyFrame is the single frame a response must hold, named name.
func onlyFrame(t *testing.T, r backend.DataResponse, name string) *data.Frame {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("error: %v", r.Error)
	}
	if len(r.Frames) != 1 || r.Frames[0].Name != name {
		t.Fatalf("want one frame %q, got %d frames", name, len(r.Frames))
	}
	return r.Frames[0]
}

// reference analyses a fake's trace straight from its values, with the
// entries Fetch would get (its window, ±5 s), without any HTTP: what the
// plugin must compute through Tempo and Loki.
func reference(tr searchtest.Trace, opts correlate.Options) *model.Analysis {
	first, last := tr.Trace.Bounds()
	var own []model.LogEntry
	for _, e := range tr.Entries {
		if !e.Time.Before(first.Add(-5*time.Second)) && e.Time.Before(last.Add(5*time.Second)) {
			own = append(own, e)
		}
	}
	return correlate.Analyze(tr.Trace, own, opts)
}

// groupOf returns a service's figures in an analysis.
func groupOf(a *model.Analysis, svc string) model.GroupFigures {
	for _, g := range a.Services {
		if g.ServiceName == svc {
			return g
		}
	}
	return model.GroupFigures{}
}
