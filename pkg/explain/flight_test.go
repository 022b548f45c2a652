package explain

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/tempo"
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

// startWaiters starts n queries for the seed trace over [from, to); what
// they got is there once wait has returned.
func startWaiters(e *Explainer, n int, from, to time.Time) (got []*Fetched, errs []error, wait func()) {
	got, errs = make([]*Fetched, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], _, errs[i] = e.FetchCached(context.Background(), seedID, from, to, logOptions()) })
	}
	return got, errs, wg.Wait
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
	var once sync.Once
	srv.TraceHook = func(string, http.ResponseWriter, *http.Request) bool {
		if arrived != nil {
			once.Do(func() { close(arrived) })
		}
		<-gate
		return false
	}
	return srv, youngSeed(t, srv), seedFlight(), release
}

// seedFlight is the flight of the seed trace fetched over wholeDay with
// the default log options.
func seedFlight() flightKey {
	from, to := tempo.Seconds(wholeDay())
	return flightKey{newCacheKey("", seedID, logOptions()), from, to}
}

// youngSeed is an Explainer over srv that finds the seed trace young
// (never cached), so that only a flight can share a fetch.
func youngSeed(t *testing.T, srv *searchtest.Servers) *Explainer {
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithClock(func() time.Time { return seedStart }))
	return e
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
}

// TestFetchCachedRangesTempoCannotTellApart: Tempo's range is in whole
// seconds, so viewers of "last 1h" a few milliseconds apart share a fetch;
// a range that differs by a second is another fetch.
func TestFetchCachedRangesTempoCannotTellApart(t *testing.T) {
	srv, e, k, release := gated(t, nil)
	from, to := wholeDay()
	from, to = from.Add(100*time.Millisecond), to.Add(-100*time.Millisecond)

	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() { _, _, errs[0] = e.FetchCached(context.Background(), seedID, from, to, logOptions()) })
	wg.Go(func() {
		_, _, errs[1] = e.FetchCached(context.Background(), seedID, from.Add(300*time.Millisecond), to.Add(-300*time.Millisecond), logOptions())
	})
	waitFor(t, srv, e.Cache, k, 1, 1)
	wg.Go(func() {
		_, _, errs[2] = e.FetchCached(context.Background(), seedID, from.Add(-time.Second), to, logOptions())
	})
	for srv.TraceRequests() < 2 {
		time.Sleep(time.Millisecond) // the other range's own fetch
	}
	if got := e.Cache.waiting(k); got != 1 {
		t.Errorf("%d queries wait for the fetch, want 1: the other range is another fetch", got)
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("query %d: %v", i, err)
		}
	}
	if r := srv.TraceRequests(); r != 2 {
		t.Errorf("%d trace requests, want 2: one per range Tempo can tell apart", r)
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
	e, k := youngSeed(t, srv), seedFlight()
	from, to := wholeDay()

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // should the test fail before it cancels
	var fetcherErr error
	done := make(chan struct{})
	go func() {
		_, _, fetcherErr = e.FetchCached(ctx, seedID, from, to, logOptions())
		close(done)
	}()
	<-first // the fetcher's request is at Tempo: its flight is on board
	const n = 3
	got, errs, wait := startWaiters(e, n, from, to)
	waitFor(t, srv, e.Cache, k, n, 1)
	cancel()
	<-done
	wait()
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
	if err := <-waited; !errors.Is(err, cause) || !strings.Contains(err.Error(), "waited for another query's fetch of trace "+seedID) {
		t.Errorf("the waiter: %v, want %v, saying what it waited for", err, cause)
	}
	release()
	if err := <-fetched; err != nil {
		t.Errorf("the fetcher: %v", err)
	}
}

// TestFetchCachedFetcherGivesUpHalfwayThroughTheLogs: the fetcher is
// cancelled when auto mode's metadata query has answered and its line query
// has not. Fetch then still succeeds, with one query's lines and a notice
// that the other failed; that is the cancelled query's own result, and the
// waiters fetch the whole trace again instead of getting it.
func TestFetchCachedFetcherGivesUpHalfwayThroughTheLogs(t *testing.T) {
	srv := searchtest.Start(t, seedTrace(t))
	e, k := youngSeed(t, srv), seedFlight()
	from, to := wholeDay()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// The fetcher's metadata query ("!~": lines whose text lacks the id)
	// is read to the end before the fetcher is cancelled; its line query
	// ("|~") is held until then.
	metaRead, lineHeld := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	srv.LokiHook = func(_ http.ResponseWriter, r *http.Request) bool {
		if first.Load() && strings.Contains(r.URL.Query().Get("query"), "|~") {
			close(lineHeld)
			<-r.Context().Done()
			return true
		}
		return false
	}
	lokiTransport := &bodyRead{next: &http.Transport{}, read: func(r *http.Request) {
		if first.Load() && strings.Contains(r.URL.Query().Get("query"), "!~") {
			close(metaRead)
		}
	}}
	t.Cleanup(lokiTransport.next.(*http.Transport).CloseIdleConnections)
	e.Loki = loki.New(srv.Loki.URL, &http.Client{Transport: lokiTransport, Timeout: 10 * time.Second}, "")

	fetched := make(chan *Fetched, 1)
	go func() {
		f, _, err := e.FetchCached(ctx, seedID, from, to, logOptions())
		if err != nil {
			t.Errorf("the fetcher: %v; its metadata query had answered, so Fetch was to succeed", err)
		}
		fetched <- f
	}()
	<-lineHeld
	const n = 3
	got, errs, wait := startWaiters(e, n, from, to)
	waitFor(t, srv, e.Cache, k, n, 1)
	<-metaRead
	first.Store(false)
	cancel()
	wait()
	if f := <-fetched; f != nil && !slices.ContainsFunc(f.Logs.Notices, func(s string) bool { return strings.Contains(s, " failed") }) {
		t.Fatalf("the fetcher's logs say nothing failed: %q; the test did not cancel it halfway", f.Logs.Notices)
	}
	for i := range n {
		if errs[i] != nil || got[i] == nil {
			t.Fatalf("waiter %d: %v", i, errs[i])
		}
		if len(got[i].Logs.Entries) != 21 || len(got[i].Logs.Notices) != 0 {
			t.Errorf("waiter %d: %d lines, notices %q; want the seed's 21 and none: the fetcher's half result is not the waiters'", i, len(got[i].Logs.Entries), got[i].Logs.Notices)
		}
	}
}

// bodyRead is a RoundTripper that calls read once a response's body has
// been read to its end and closed.
type bodyRead struct {
	next http.RoundTripper
	read func(*http.Request)
}

func (b *bodyRead) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &closeHook{ReadCloser: resp.Body, closed: sync.OnceFunc(func() { b.read(r) })}
	return resp, nil
}

type closeHook struct {
	io.ReadCloser
	closed func()
}

func (c *closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.closed()
	return err
}

// TestFetchForLandsWhenFetchPanics: a fetch that panics still lands its
// flight, as aborted and given up, so that its waiters fetch again rather
// than wait for ever, and the next query starts a new flight.
func TestFetchForLandsWhenFetchPanics(t *testing.T) {
	c := NewCache(0, 0)
	e := &Explainer{Cache: c} // no Tempo client: Fetch panics
	k := seedFlight()
	fl, first := c.board(k)
	if !first {
		t.Fatal("a new cache has a flight on board")
	}
	recovered := func() (p any) {
		defer func() { p = recover() }()
		_, _ = e.fetchFor(context.Background(), fl, k.cacheKey, seedID, time.Time{}, time.Time{}, logOptions())
		return nil
	}()
	if recovered == nil {
		t.Fatal("Fetch without a Tempo client did not panic; the test needs another way to make it")
	}
	select {
	case <-fl.done:
	default:
		t.Fatal("the flight did not land")
	}
	if !errors.Is(fl.err, errFetchAborted) || !fl.gaveUp || fl.f != nil {
		t.Errorf("landed with %v, %p, gave up %v; want errFetchAborted, nothing, true", fl.err, fl.f, fl.gaveUp)
	}
	if _, first := c.board(k); !first {
		t.Error("the next query boards the panicked flight")
	}
}
