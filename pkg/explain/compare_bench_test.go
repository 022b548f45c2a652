package explain

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/loki"
)

// compareOrders are 21 orders of 200 spans (the reservation and 198
// selects, each with lines lines), 30 s apart; k = 10 is the one compared.
func compareOrders(lines int) []searchtest.Trace {
	var out []searchtest.Trace
	for k := range 21 {
		o := searchtest.Order{K: k, Start: seedStart.Add(time.Duration(k) * 30 * time.Second), Extra: 198, Lines: lines}
		switch {
		case k == 10:
			o.Wait, o.Behind = 900*time.Millisecond, 7
		case k%3 == 1:
			o.Wait, o.Behind = 150*time.Millisecond, k
		}
		out = append(out, o.Trace())
	}
	return out
}

// compareCost compares order 10 with its 20 baseline traces through e and
// returns the upstream requests the comparison sent and the baseline's log
// lines.
func compareCost(tb testing.TB, srv *searchtest.Servers, e *Explainer, f *Fetched) (searches, traces, lokiReqs, lines int) {
	tb.Helper()
	from, to := wholeDay()
	s0, t0, l0 := srv.Searches(), srv.TraceRequests(), srv.LokiRequests()
	res := Analyze(f, correlate.DefaultOptions())
	b, err := e.Compare(context.Background(), res, from, to, DefaultBaseline, logOptions(), correlate.DefaultOptions())
	if err != nil || b.Search == nil || len(b.Search.Fetched) != 20 || res.Analysis.Comparison == nil || res.Analysis.Comparison.Top != 0 {
		tb.Fatalf("comparison: %v, %+v", err, b)
	}
	for _, bf := range b.Search.Fetched {
		lines += len(bf.Logs.Entries)
	}
	return srv.Searches() - s0, srv.TraceRequests() - t0, srv.LokiRequests() - l0, lines
}

// The cost bound of the issue "Compared with typical", as a test (counts,
// never times): a 200-span trace against 20 baseline traces sends one
// TraceQL search, 20 trace fetches and at most 4 query_range per 5 000
// baseline lines; a repeat within the cache's lifetime sends nothing.
func TestCompareCost(t *testing.T) {
	for _, lines := range []int{1, 3} {
		srv := searchtest.Start(t, compareOrders(lines)...)
		e := explainer(t, srv)
		e.Cache = NewCache(0, 0, WithClock(settledClock))
		from, to := wholeDay()
		f, err := e.Fetch(context.Background(), searchtest.OrderTraceID(10), from, to, logOptions())
		if err != nil || len(f.Trace.Trace.Spans) != 200 {
			t.Fatalf("%v, %d spans", err, len(f.Trace.Trace.Spans))
		}
		searches, traces, lokiReqs, n := compareCost(t, srv, e, f)
		if bound := 4 * ((n + 4999) / 5000); searches != 1 || traces != 20 || lokiReqs > bound {
			t.Errorf("%d baseline lines: %d searches, %d trace fetches, %d Loki requests (at most %d)", n, searches, traces, lokiReqs, bound)
		}
		if searches, traces, lokiReqs, _ = compareCost(t, srv, e, f); searches+traces+lokiReqs != 0 {
			t.Errorf("the repeat sent %d searches, %d trace fetches, %d Loki requests", searches, traces, lokiReqs)
		}
	}
}

// BenchmarkCompare compares a 200-span trace with 20 baseline traces of
// 200 spans (about 200 log lines each, 4 000 in all) against in-process
// fake Tempo and Loki: the TraceQL search, 20 trace fetches (8 at a time),
// the batched Loki queries, 21 analyses and the comparison. "fetch" starts
// each comparison with an empty cache; "cached" repeats it within the
// cache's lifetime.
//
//	go test ./pkg/explain -run '^$' -bench Compare -benchmem
func BenchmarkCompare(b *testing.B) {
	srv := searchtest.Start(b, compareOrders(1)...)
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	newExplainer := func() *Explainer {
		return &Explainer{Tempo: newTempo(srv, hc), Loki: loki.New(srv.Loki.URL, hc, ""), Cache: NewCache(0, 0, WithClock(settledClock))}
	}
	from, to := wholeDay()
	f, err := newExplainer().Fetch(context.Background(), searchtest.OrderTraceID(10), from, to, logOptions())
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, fresh bool) {
		e := newExplainer()
		var searches, traces, lokiReqs, lines int
		if !fresh {
			compareCost(b, srv, e, f)
		}
		b.ResetTimer()
		for b.Loop() {
			if fresh {
				e.Cache = NewCache(0, 0, WithClock(settledClock))
			}
			s, t, l, n := compareCost(b, srv, e, f)
			searches, traces, lokiReqs, lines = searches+s, traces+t, lokiReqs+l, n
		}
		b.StopTimer()
		n := float64(b.N)
		b.ReportMetric(float64(searches)/n, "tempo-searches/op")
		b.ReportMetric(float64(traces)/n, "trace-fetches/op")
		b.ReportMetric(float64(lokiReqs)/n, "loki-requests/op")
		b.ReportMetric(float64(lines), "baseline-lines/op")
	}
	b.Run("fetch", func(b *testing.B) { run(b, true) })
	b.Run("cached", func(b *testing.B) { run(b, false) })
}
