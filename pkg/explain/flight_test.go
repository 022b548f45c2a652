package explain

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
)

// waitFor polls until n queries wait for the fetch in flight for k, and
// fails when Tempo was asked more than asked times meanwhile (queries that
// fetch on their own would never wait). The test's own timeout bounds it,
// not a guess at the machine's speed.
func waitFor(t *testing.T, srv *searchtest.Servers, c *Cache, k flightKey, n, asked int) {
	t.Helper()
	for c.waiting(k) < n {
		if r := srv.TraceRequests(); r > asked {
			t.Fatalf("%d trace requests while %d queries were to wait for one", r, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// gated serves the seed trace as young (never cached) with every trace
// request held until release is called (at the latest when the test ends,
// before the server closes); arrived, when not nil, is closed by the
// first request.
func gated(t *testing.T, arrived chan struct{}) (srv *searchtest.Servers, e *Explainer, k flightKey, release func()) {
	srv = searchtest.Start(t, seedTrace(t))
	gate := make(chan struct{})
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	srv.TraceHook = func(string, http.ResponseWriter, *http.Request) bool {
		if arrived != nil {
			close(arrived) // once: later requests would fail the test
		}
		<-gate
		return false
	}
	e = explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(func() time.Time { return seedStart }))
	from, to := wholeDay()
	return srv, e, flightKey{newCacheKey("", seedID, logOptions()), from.UnixNano(), to.UnixNano()}, release
}

// TestFetchCachedSharesAFetchInFlight: queries asking for a trace that is
// being fetched wait for that fetch and get its result: one request to
// Tempo and one set of log queries for all of them. The trace is young (not
// cacheable), so the cache itself cannot be what answers them.
func TestFetchCachedSharesAFetchInFlight(t *testing.T) {
	srv, e, k, release := gated(t, nil)
	from, to := wholeDay()

	const n = 5
	var wg sync.WaitGroup
	got := make([]*Fetched, n)
	shared := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], shared[i], errs[i] = e.FetchCached(context.Background(), seedID, from, to, logOptions())
		})
	}
	waitFor(t, srv, e.Cache, k, n-1, 1)
	release()
	wg.Wait()

	fetched := 0
	for i := range n {
		if errs[i] != nil || got[i] == nil || got[i] != got[0] {
			t.Fatalf("query %d: %v, %p (query 0's: %p)", i, errs[i], got[i], got[0])
		}
		if !shared[i] {
			fetched++
		}
	}
	if fetched != 1 {
		t.Errorf("%d queries say they fetched, want 1", fetched)
	}
	if len(got[0].Logs.Entries) != 21 {
		t.Errorf("%d log lines, want the seed's 21", len(got[0].Logs.Entries))
	}
	if srv.TraceRequests() != 1 || srv.LokiRequests() != 2 {
		t.Errorf("%d trace and %d Loki requests for %d queries at once, want 1 and 2 (auto mode's two queries)", srv.TraceRequests(), srv.LokiRequests(), n)
	}
	if e.Cache.Len() != 0 {
		t.Errorf("the cache holds %d traces; a young trace is never kept", e.Cache.Len())
	}
	// The flight is over: the next query fetches again.
	if _, shared, err := e.FetchCached(context.Background(), seedID, from, to, logOptions()); err != nil || shared || srv.TraceRequests() != 2 {
		t.Errorf("after the flight: shared %v, %v, %d trace requests", shared, err, srv.TraceRequests())
	}
	// Another range is another fetch.
	if got := e.Cache.waiting(flightKey{k.cacheKey, 0, 0}); got != 0 {
		t.Errorf("%d waiting on a range nobody asked for", got)
	}
}

// TestFetchCachedWaitersOutliveTheFetcher: the query whose fetch the others
// wait for gives up (its context is cancelled, as when a person closes the
// panel): it fails with its own cancellation, and the others, still
// wanted, fetch again and get the trace, not that cancellation.
func TestFetchCachedWaitersOutliveTheFetcher(t *testing.T) {
	srv := searchtest.Start(t, seedTrace(t))
	first := make(chan struct{})
	var once sync.Once
	srv.TraceHook = func(_ string, _ http.ResponseWriter, r *http.Request) bool {
		isFirst := false
		once.Do(func() { isFirst = true })
		if isFirst {
			close(first)
			<-r.Context().Done() // the first fetch never gets its answer
			return true
		}
		return false
	}
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(func() time.Time { return seedStart }))
	from, to := wholeDay()
	k := flightKey{newCacheKey("", seedID, logOptions()), from.UnixNano(), to.UnixNano()}

	ctx, cancel := context.WithCancel(context.Background())
	var fetcherErr error
	done := make(chan struct{})
	go func() {
		_, _, fetcherErr = e.FetchCached(ctx, seedID, from, to, logOptions())
		close(done)
	}()
	<-first // the fetcher's request is at Tempo: its flight is on board
	const n = 3
	var wg sync.WaitGroup
	got := make([]*Fetched, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], _, errs[i] = e.FetchCached(context.Background(), seedID, from, to, logOptions()) })
	}
	waitFor(t, srv, e.Cache, k, n, 1)
	cancel()
	<-done
	wg.Wait()
	if fetcherErr == nil || !strings.Contains(fetcherErr.Error(), "cancelled") {
		t.Errorf("the cancelled fetcher: %v, want its cancellation", fetcherErr)
	}
	for i := range n {
		if errs[i] != nil || got[i] == nil || got[i].TraceID != seedID {
			t.Errorf("waiter %d: %v", i, errs[i])
		}
	}
	// The waiters boarded a second flight together or fetched one after
	// another; never more than one request each.
	if r := srv.TraceRequests(); r < 2 || r > 1+n {
		t.Errorf("%d trace requests, want 2 to %d", r, 1+n)
	}
}

// TestFetchCachedWaiterGivesUp: a query waiting for another's fetch stops
// waiting when its own context ends, with that context's cause.
func TestFetchCachedWaiterGivesUp(t *testing.T) {
	arrived := make(chan struct{})
	srv, e, k, release := gated(t, arrived)
	from, to := wholeDay()

	fetched := make(chan error, 1)
	go func() {
		_, _, err := e.FetchCached(context.Background(), seedID, from, to, logOptions())
		fetched <- err
	}()
	<-arrived // the fetcher's request is at Tempo: its flight is on board
	cause := errors.New("the panel was closed")
	ctx, cancel := context.WithCancelCause(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, _, err := e.FetchCached(ctx, seedID, from, to, logOptions())
		waited <- err
	}()
	waitFor(t, srv, e.Cache, k, 1, 1)
	cancel(cause)
	if err := <-waited; !errors.Is(err, cause) {
		t.Errorf("the waiter: %v, want %v", err, cause)
	}
	release()
	if err := <-fetched; err != nil {
		t.Errorf("the fetcher: %v", err)
	}
}
