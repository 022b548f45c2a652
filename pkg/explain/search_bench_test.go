package explain

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/tempo"
)

// BenchmarkSearch explains a search of 50 traces of 200 spans each (about
// 1000 log lines per trace, 10 s apart) against in-process fake Tempo and
// Loki servers: the TraceQL search, 50 trace fetches, the batched and
// paged log queries, the split by trace id and 50 analyses. It reports the
// upstream requests per search; "cached" repeats the search with every
// trace in the cache.
//
//	go test ./pkg/explain -run '^$' -bench Search -benchmem
func BenchmarkSearch(b *testing.B) {
	const traces, spans, logsPerSpan = 50, 200, 5
	all := make([]searchtest.Trace, traces)
	for i := range all {
		// Random-looking 128-bit ids, as tracers draw them.
		id := fmt.Sprintf("%016x%016x", uint64(i+1)*0x9e3779b97f4a7c15, uint64(i+7)*0xbf58476d1ce4e5b9)
		all[i] = searchtest.Synth(id, spans, logsPerSpan, uint64(i+1), seedStart.Add(time.Duration(i)*10*time.Second))
	}
	srv := searchtest.Start(b, all...)
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	from, to := wholeDay()
	lo := logOptions()
	opts := correlate.DefaultOptions()

	run := func(b *testing.B, e *Explainer) {
		before := srv.Requests()
		tempoBefore, lokiBefore := srv.TraceRequests()+srv.Searches(), srv.LokiRequests()
		lines := 0
		b.ResetTimer()
		for b.Loop() {
			res, err := e.Search(context.Background(), "{}", from, to, traces, lo)
			if err != nil || len(res.Fetched) != traces {
				b.Fatalf("%v, %d traces", err, len(res.Fetched))
			}
			lines = 0
			for _, f := range res.Fetched {
				lines += len(Analyze(f, opts).Analysis.Logs)
			}
		}
		b.StopTimer()
		n := float64(b.N)
		b.ReportMetric(float64(srv.Requests()-before)/n, "upstream-requests/op")
		b.ReportMetric(float64(srv.TraceRequests()+srv.Searches()-tempoBefore)/n, "tempo-requests/op")
		b.ReportMetric(float64(srv.LokiRequests()-lokiBefore)/n, "loki-requests/op")
		b.ReportMetric(float64(lines), "log-lines/op")
	}
	b.Run("fetch", func(b *testing.B) {
		run(b, &Explainer{Tempo: newTempo(srv, hc), Loki: loki.New(srv.Loki.URL, hc, "")})
	})
	b.Run("cached", func(b *testing.B) {
		e := &Explainer{Tempo: newTempo(srv, hc), Loki: loki.New(srv.Loki.URL, hc, ""), Cache: NewCache(0, 0, WithClock(settledClock))}
		if _, err := e.Search(context.Background(), "{}", from, to, traces, lo); err != nil {
			b.Fatal(err)
		}
		run(b, e)
	})
}

func newTempo(srv *searchtest.Servers, hc *http.Client) *tempo.Client {
	return tempo.New(srv.Tempo.URL, hc, "")
}
