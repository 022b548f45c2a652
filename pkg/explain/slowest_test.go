package explain

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// requestTrace is one request of api GET /items: a root span and a child,
// with a zap JSON line at each end of the root, as the API logs them.
func requestTrace(k int, start time.Time, took time.Duration) searchtest.Trace {
	id := fmt.Sprintf("%032x", 0xabc000+k)
	root, child := fmt.Sprintf("%016x", 0x1000+k), fmt.Sprintf("%016x", 0x9000+k)
	tr := &model.Trace{TraceID: id, Spans: []model.Span{
		{TraceID: id, SpanID: root, ServiceName: "api", Name: "GET /items", Kind: model.KindServer, Start: start, End: start.Add(took),
			ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: "api"}}},
		{TraceID: id, SpanID: child, ParentSpanID: root, ServiceName: "api", Name: "SELECT items", Kind: model.KindClient, Start: start.Add(time.Millisecond), End: start.Add(took / 2),
			ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: "api"}}},
	}}
	line := func(at time.Duration, msg string) model.LogEntry {
		ts := start.Add(at)
		return model.LogEntry{
			Time:     ts,
			Line:     fmt.Sprintf(`{"level":"info","ts":%.6f,"caller":"items/handler.go:41","msg":%q,"trace_id":"%s","span_id":"%s"}`, float64(ts.UnixMicro())/1e6, msg, id, root),
			Stream:   model.Labels{{Name: "service_name", Value: "api"}},
			Metadata: model.Labels{{Name: "detected_level", Value: "info"}, {Name: "span_id", Value: root}, {Name: "trace_id", Value: id}},
		}
	}
	return searchtest.Trace{Trace: tr, Entries: []model.LogEntry{line(0, "listing items"), line(took, "listed items")}}
}

// manyRequests are n requests a second apart; the k-th took took(k).
func manyRequests(n int, took func(k int) time.Duration) []searchtest.Trace {
	out := make([]searchtest.Trace, n)
	for k := range n {
		out[k] = requestTrace(k, seedStart.Add(time.Duration(k)*time.Second), took(k))
	}
	return out
}

func TestSearchSlowestRanksTheCandidatesByDuration(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 5))
	durations := rng.Perm(200) // distinct
	traces := manyRequests(200, func(k int) time.Duration { return time.Duration(100+durations[k]) * time.Millisecond })
	from, to := wholeDay()

	t.Run("limit 5 asks for 50 candidates in one search and explains the 5 longest of them", func(t *testing.T) {
		srv := searchtest.Start(t, traces...)
		res, err := explainer(t, srv).SearchSlowest(context.Background(), "{}", from, to, 5, logOptions())
		if err != nil {
			t.Fatal(err)
		}
		// Tempo answers with the 50 latest: the last 50 requests.
		var want []string
		latest := slices.Clone(traces[150:])
		slices.SortFunc(latest, func(a, b searchtest.Trace) int { return cmp.Compare(tookOf(b), tookOf(a)) })
		for _, tr := range latest[:5] {
			want = append(want, tr.Trace.TraceID)
		}
		if got := fetchedIDs(res); !slices.Equal(got, want) {
			t.Errorf("explained %v, want the 5 longest of the 50 candidates, longest first: %v", got, want)
		}
		sq := srv.SearchQueries()
		if len(sq) != 1 || sq[0].Limit != "50" || srv.TraceRequests() != 5 {
			t.Errorf("searches %+v and %d trace requests; want one search with limit 50 and 5 trace requests", sq, srv.TraceRequests())
		}
		if res.Candidates != 50 {
			t.Errorf("Candidates = %d, want 50", res.Candidates)
		}
	})

	t.Run("limit 20 ranks all 200 and finds the slowest even when Tempo returns them last", func(t *testing.T) {
		// The 20 oldest requests are the slowest: Tempo, latest first,
		// lists them last, so the first 20 it returns hold none of them.
		slow := manyRequests(200, func(k int) time.Duration {
			if k < 20 {
				return time.Duration(5000+k) * time.Millisecond
			}
			return time.Duration(100+durations[k]%900) * time.Millisecond
		})
		srv := searchtest.Start(t, slow...)
		res, err := explainer(t, srv).SearchSlowest(context.Background(), "{}", from, to, 20, logOptions())
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for k := 19; k >= 0; k-- {
			want = append(want, slow[k].Trace.TraceID)
		}
		if got := fetchedIDs(res); !slices.Equal(got, want) || res.Candidates != 200 || srv.Searches() != 1 {
			t.Errorf("explained %v of %d candidates in %d searches, want %v of 200 in 1", got, res.Candidates, srv.Searches(), want)
		}
		// typical: the median of the other 199 (all GET /items).
		td := res.Typical[slow[19].Trace.TraceID]
		var others []time.Duration
		for _, tr := range slow[:19] {
			others = append(others, tookOf(tr))
		}
		for _, tr := range slow[20:] {
			others = append(others, tookOf(tr))
		}
		slices.Sort(others)
		if !td.HasTypical || td.Duration != 5019*time.Millisecond || td.Typical != others[99] {
			t.Errorf("typical of the slowest: %+v, want duration 5019 ms and typical %v", td, others[99])
		}
	})
}

func tookOf(tr searchtest.Trace) time.Duration {
	first, last := tr.Trace.Bounds()
	return last.Sub(first)
}

func fetchedIDs(res *SearchResult) []string {
	var out []string
	for _, f := range res.Fetched {
		out = append(out, f.TraceID)
	}
	return out
}

func TestTypicalDurations(t *testing.T) {
	r := func(id, svc, op string, ms int) tempo.SearchResult {
		return tempo.SearchResult{TraceID: id, RootServiceName: svc, RootTraceName: op, Duration: time.Duration(ms) * time.Millisecond}
	}
	got := TypicalDurations([]tempo.SearchResult{
		r("a", "api", "GET /items", 100),
		r("b", "api", "GET /items", 300),
		r("c", "api", "GET /items", 200),
		r("d", "api", "GET /items", 5000),
		r("e", "api", "POST /items", 700), // its own root operation: no other like it
		r("f", "web", "GET /items", 50),
		r("g", "web", "GET /items", 80),
	})
	td := func(d, typ int, has bool) model.TypicalDuration {
		return model.TypicalDuration{Duration: time.Duration(d) * time.Millisecond, Typical: time.Duration(typ) * time.Millisecond, HasTypical: has}
	}
	want := map[string]model.TypicalDuration{
		"a": td(100, 300, true),  // of 200, 300, 5000: odd count
		"b": td(300, 200, true),  // of 100, 200, 5000
		"c": td(200, 300, true),  // of 100, 300, 5000
		"d": td(5000, 200, true), // of 100, 200, 300
		"e": td(700, 0, false),
		"f": td(50, 80, true),
		"g": td(80, 50, true),
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
	// An even count of others: the mean of the middle two.
	even := TypicalDurations([]tempo.SearchResult{r("a", "s", "o", 10), r("b", "s", "o", 20), r("c", "s", "o", 40), r("d", "s", "o", 80), r("e", "s", "o", 1000)})
	if got := even["e"].Typical; got != 30*time.Millisecond {
		t.Errorf("typical of e among 10, 20, 40, 80: %v, want 30ms", got)
	}
}
