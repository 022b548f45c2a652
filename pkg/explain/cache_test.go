package explain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// settledClock is an hour after the captures: every test trace is final.
func settledClock() time.Time { return seedStart.Add(time.Hour) }

func TestSearchTwiceFetchesOnce(t *testing.T) {
	traces := append([]searchtest.Trace{seedTrace(t)}, demoTraces(5, seedStart.Add(30*time.Second), 15*time.Second, 20)...)
	srv := searchtest.Start(t, traces...)
	e := explainer(t, srv)
	e.Tenant, e.Cache = "tenant-a", NewCache(0, 0, WithClock(settledClock))
	from, to := wholeDay()

	first, err := e.Search(context.Background(), "{}", from, to, 20, logOptions())
	if err != nil || first.Cached != 0 || e.Cache.Len() != len(traces) {
		t.Fatalf("first search: %+v, %v; cache holds %d", first, err, e.Cache.Len())
	}
	traceReqs, lokiReqs := srv.TraceRequests(), srv.LokiRequests()

	second, err := e.Search(context.Background(), "{}", from, to, 20, logOptions())
	if err != nil {
		t.Fatal(err)
	}
	if second.Cached != len(traces) || len(second.Fetched) != len(traces) || second.LogBatches != 0 {
		t.Errorf("second search: %d cached, %d fetched, %d batches", second.Cached, len(second.Fetched), second.LogBatches)
	}
	if srv.TraceRequests() != traceReqs || srv.LokiRequests() != lokiReqs || srv.Searches() != 2 {
		t.Errorf("second search asked upstream: %d→%d trace, %d→%d Loki requests, %d searches",
			traceReqs, srv.TraceRequests(), lokiReqs, srv.LokiRequests(), srv.Searches())
	}
	// The analysis reruns on the cached material with other options.
	for i, f := range second.Fetched {
		if f != first.Fetched[i] {
			t.Errorf("trace %d: not the cached value", i)
		}
	}
	a := analyze(second.Fetched[indexOf(second.Fetched, seedID)])
	if w := service(a, "widget-service"); w.Wait != 1400*time.Millisecond || w.Unaccounted != 1000*time.Millisecond {
		t.Errorf("seed from the cache: widget-service %v/%v", w.Wait, w.Unaccounted)
	}

	// Another log query, or another tenant, is another entry.
	lo := logOptions()
	lo.Margin = 10 * time.Second
	if r, _ := e.Search(context.Background(), "{}", from, to, 20, lo); r.Cached != 0 {
		t.Errorf("other margin: %d from the cache", r.Cached)
	}
	e.Tenant = "tenant-b"
	if r, _ := e.Search(context.Background(), "{}", from, to, 20, logOptions()); r.Cached != 0 {
		t.Errorf("other tenant: %d from the cache", r.Cached)
	}
}

func indexOf(fs []*Fetched, id string) int {
	for i, f := range fs {
		if f.TraceID == id {
			return i
		}
	}
	return -1
}

func TestCacheKeepsOnlyFinalTraces(t *testing.T) {
	traces := demoTraces(3, seedStart, time.Minute, 21)
	srv := searchtest.Start(t, traces...)
	// The clock stands just over DefaultSettle after the first trace
	// ended; the others, a minute and two later, are still too young.
	_, firstEnd := traces[0].Trace.Bounds()
	now := firstEnd.Add(DefaultSettle + time.Second)
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(func() time.Time { return now }))
	from, to := wholeDay()
	if _, err := e.Search(context.Background(), "{}", from, to, 20, logOptions()); err != nil {
		t.Fatal(err)
	}
	if e.Cache.Len() != 1 || e.Cache.get(newCacheKey("", traces[0].Trace.TraceID, logOptions())) == nil {
		t.Errorf("cache holds %d traces, want only the first (settled) one", e.Cache.Len())
	}
}

func TestCacheRefusesIncompleteResults(t *testing.T) {
	c := NewCache(0, 0, WithClock(settledClock))
	tr := &tempo.TraceResult{Trace: &model.Trace{TraceID: seedID, Spans: []model.Span{{SpanID: "00000000000000a1", Start: seedStart, End: seedStart.Add(time.Second)}}}}
	complete := &loki.LogsResult{Entries: []model.LogEntry{{Time: seedStart, Line: "x"}}}
	tests := []struct {
		name string
		f    *Fetched
		want bool
	}{
		{"complete", &Fetched{TraceID: seedID, Trace: tr, Logs: complete}, true},
		{"capped is final too", &Fetched{TraceID: seedID, Trace: tr, Logs: &loki.LogsResult{Capped: true, Notices: []string{"only the first 1 log lines of the trace were fetched; there are more"}}}, true},
		{"Loki failed", &Fetched{TraceID: seedID, Trace: tr, LogsErr: errors.New("Loki at x failed (HTTP 502)")}, false},
		{"half of auto mode failed", &Fetched{TraceID: seedID, Trace: tr, Logs: &loki.LogsResult{Notices: []string{"the Loki query {a=\"b\"} | trace_id=~\"x\" failed, so only the other query's logs are shown: HTTP 500"}}}, false},
		{"partial trace", &Fetched{TraceID: seedID, Trace: &tempo.TraceResult{Trace: tr.Trace, Partial: true}, Logs: complete}, false},
		{"young trace", &Fetched{TraceID: seedID, Trace: &tempo.TraceResult{Trace: &model.Trace{Spans: []model.Span{{Start: settledClock(), End: settledClock()}}}}, Logs: complete}, false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.put(newCacheKey("", tc.name, LogOptions{}), tc.f); got != tc.want {
				t.Errorf("put = %v, want %v", got, tc.want)
			}
		})
	}
	// A real failed half, worded by the Loki client itself.
	one := demoTraces(1, seedStart, time.Second, 22)
	srv := searchtest.Start(t, one...)
	srv.LokiHook = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Query().Get("query"), "trace_id=~") {
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return true
		}
		return false
	}
	e := explainer(t, srv)
	e.Cache = c
	from, to := wholeDay()
	tid := one[0].Trace.TraceID
	f, hit, err := e.FetchCached(context.Background(), tid, from, to, logOptions())
	if err != nil || hit || f.Logs == nil || len(f.Logs.Entries) == 0 {
		t.Fatalf("FetchCached: %+v, %v, %v", f, hit, err)
	}
	if _, hit, _ := e.FetchCached(context.Background(), tid, from, to, logOptions()); hit {
		t.Error("a result with a failed half of auto mode was cached")
	}
}

func TestFetchCached(t *testing.T) {
	srv := searchtest.Start(t, seedTrace(t))
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(settledClock))
	from, to := wholeDay()
	for i, wantHit := range []bool{false, true, true} {
		f, hit, err := e.FetchCached(context.Background(), "AF7651916CD43DD8448EB211C80319C", from, to, logOptions())
		if err != nil || hit != wantHit || f.TraceID != seedID || len(f.Logs.Entries) != 21 {
			t.Fatalf("call %d: hit %v (want %v), %v", i, hit, wantHit, err)
		}
	}
	if srv.TraceRequests() != 1 || srv.LokiRequests() != 2 {
		t.Errorf("%d trace and %d Loki requests for three calls, want 1 and 2", srv.TraceRequests(), srv.LokiRequests())
	}
	if _, _, err := e.FetchCached(context.Background(), "span-4", from, to, logOptions()); err == nil {
		t.Error("a bad id must fail")
	}
	// Without a cache it is Fetch.
	e.Cache = nil
	if _, hit, err := e.FetchCached(context.Background(), seedID, from, to, logOptions()); err != nil || hit {
		t.Errorf("no cache: hit %v, %v", hit, err)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	fetched := func(id string, lines int) *Fetched {
		f := &Fetched{TraceID: id, Trace: &tempo.TraceResult{Trace: &model.Trace{TraceID: id, Spans: []model.Span{{Start: seedStart, End: seedStart}}}}, Logs: &loki.LogsResult{}}
		for range lines {
			f.Logs.Entries = append(f.Logs.Entries, model.LogEntry{Line: strings.Repeat("x", 1000)})
		}
		return f
	}
	key := func(id string) cacheKey { return newCacheKey("t", id, LogOptions{}) }

	c := NewCache(3, 0, WithClock(settledClock))
	for _, id := range []string{"a", "b", "c"} {
		c.put(key(id), fetched(id, 0))
	}
	c.get(key("a")) // a is now the most recent; b the least
	c.put(key("d"), fetched("d", 0))
	if c.Len() != 3 || c.get(key("b")) != nil || c.get(key("a")) == nil || c.get(key("d")) == nil {
		t.Errorf("count bound: len %d, b kept %v", c.Len(), c.get(key("b")) != nil)
	}

	one := fetchedSize(fetched("x", 10))
	c = NewCache(100, 3*one, WithClock(settledClock))
	for i := range 5 {
		c.put(key(fmt.Sprint(i)), fetched(fmt.Sprint(i), 10))
	}
	if c.Len() != 3 || c.Bytes() > 3*one || c.get(key("0")) != nil || c.get(key("4")) == nil {
		t.Errorf("byte bound: len %d, %d bytes (limit %d)", c.Len(), c.Bytes(), 3*one)
	}
	if c.put(key("huge"), fetched("huge", 100)) || c.Len() != 3 {
		t.Error("an entry larger than the whole budget must not be cached (nor evict the others)")
	}
	c.put(key("4"), fetched("4", 1)) // replacing an entry adjusts the bytes
	if c.Bytes() >= 3*one {
		t.Errorf("replaced entry: %d bytes", c.Bytes())
	}
}

func TestCacheIsSafeForConcurrentUse(t *testing.T) {
	c := NewCache(16, 0, WithClock(settledClock))
	f := &Fetched{Trace: &tempo.TraceResult{Trace: &model.Trace{Spans: []model.Span{{Start: seedStart, End: seedStart}}}}, Logs: &loki.LogsResult{}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := newCacheKey("t", fmt.Sprint((g*7+i)%40), LogOptions{})
				if c.get(k) == nil {
					c.put(k, f)
				}
				_ = c.Len()
			}
		})
	}
	wg.Wait()
	if c.Len() > 16 {
		t.Errorf("%d entries, bound 16", c.Len())
	}
}

func TestCachedTraceAnalysedConcurrently(t *testing.T) {
	// A cached Fetched is shared by every query that hits it: the engine
	// must only read it (the race detector checks).
	srv := searchtest.Start(t, seedTrace(t))
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(settledClock))
	from, to := wholeDay()
	f, _, err := e.FetchCached(context.Background(), seedID, from, to, logOptions())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if a := analyze(f); service(a, "data-aggregator-b").Retries != 1 {
				t.Error("concurrent analysis lost the retry")
			}
		})
	}
	wg.Wait()
}
