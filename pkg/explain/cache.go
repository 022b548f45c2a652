package explain

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// Cache defaults: a dashboard of a few panels over a few dozen traces, and
// the alert rules beside it, fit; a pathological trace cannot hold the
// memory of a whole Grafana server.
const (
	DefaultCacheEntries = 256
	DefaultCacheBytes   = 64 << 20
	// DefaultSettle is how long after its last span ended a trace is
	// taken to be complete: Tempo has flushed it and late log lines have
	// reached Loki. Younger traces are fetched every time.
	DefaultSettle = 5 * time.Minute
)

// Cache keeps fetched traces and their logs (Fetched values) so that a
// refreshed dashboard or a re-evaluated alert rule does not fetch them
// again; the analysis, which is cheap, runs again with each query's
// options. Entries are keyed by tenant, trace id and everything that shapes
// the log query, evicted least recently used beyond a count and a byte
// budget, and only traces that ended DefaultSettle ago are kept, because
// younger ones may still change. A Cache belongs to one data source
// instance and is safe for concurrent use.
type Cache struct {
	maxEntries int
	maxBytes   int64
	settle     time.Duration
	now        func() time.Time

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	items map[cacheKey]*list.Element
	bytes int64

	// flights are the fetches in progress, which queries asking for the
	// same trace wait for (see FetchCached).
	flights map[flightKey]*flight

	// searches are recent TraceQL answers (a comparison's baseline), kept
	// SearchTTL and at most maxSearches of them.
	searches map[searchKey]searchEntry
}

// Search answers are kept briefly: a baseline need not be fresh to the
// second, and a repeated comparison then sends nothing upstream; a few
// kilobytes each.
const (
	SearchTTL   = time.Minute
	maxSearches = 64
)

// searchKey is one TraceQL search over one range, in the whole seconds
// Tempo is asked for (tempo.Seconds).
type searchKey struct {
	tenant, traceql string
	start, end      int64
	limit           int
}

type searchEntry struct {
	found []tempo.SearchResult
	at    time.Time
}

// getSearch returns a search's answer kept less than SearchTTL ago.
func (c *Cache) getSearch(k searchKey) ([]tempo.SearchResult, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.searches[k]
	if !ok || c.now().Sub(e.at) >= SearchTTL {
		return nil, false
	}
	return e.found, true
}

// putSearch keeps a search's answer, dropping expired ones and, when full,
// the oldest.
func (c *Cache) putSearch(k searchKey, found []tempo.SearchResult) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.searches == nil {
		c.searches = map[searchKey]searchEntry{}
	}
	var oldest searchKey
	var oldestAt time.Time
	for sk, e := range c.searches {
		if now.Sub(e.at) >= SearchTTL {
			delete(c.searches, sk)
		} else if oldestAt.IsZero() || e.at.Before(oldestAt) {
			oldest, oldestAt = sk, e.at
		}
	}
	if len(c.searches) >= maxSearches {
		delete(c.searches, oldest)
	}
	c.searches[k] = searchEntry{found: found, at: now}
}

type cacheEntry struct {
	key  cacheKey
	f    *Fetched
	size int64
}

// cacheKey is one trace fetched with one log query. Fields are joined
// with a separator no field name can contain.
type cacheKey struct {
	tenant   string
	traceID  string
	selector string
	mode     loki.Mode
	fields   string
	margin   time.Duration
	maxLines int
}

// CacheOption changes a Cache built by NewCache.
type CacheOption func(*Cache)

// WithClock makes the cache read the time from now (tests).
func WithClock(now func() time.Time) CacheOption { return func(c *Cache) { c.now = now } }

// WithSettle changes how long after its end a trace may be cached.
func WithSettle(d time.Duration) CacheOption { return func(c *Cache) { c.settle = d } }

// NewCache returns a cache bounded to maxEntries traces and about maxBytes
// bytes (values <= 0 take the defaults).
func NewCache(maxEntries int, maxBytes int64, opts ...CacheOption) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	c := &Cache{
		maxEntries: maxEntries, maxBytes: maxBytes, settle: DefaultSettle, now: time.Now,
		lru: list.New(), items: map[cacheKey]*list.Element{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func newCacheKey(tenant, traceID string, lo LogOptions) cacheKey {
	mode := lo.Mode
	if mode == "" {
		mode = loki.ModeAuto
	}
	return cacheKey{
		tenant: tenant, traceID: traceID, selector: strings.TrimSpace(lo.Selector), mode: mode,
		fields: strings.Join(lo.TraceIDFields, "\x00"), margin: lo.Margin, maxLines: lo.MaxLines,
	}
}

// get returns the cached Fetched for key, marking it recently used. A nil
// Cache holds nothing.
func (c *Cache) get(k cacheKey) *Fetched {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).f
}

// put stores f under k when it is worth keeping (see cacheable) and
// reports whether it did; older entries make room.
func (c *Cache) put(k cacheKey, f *Fetched) bool {
	if c == nil || !c.cacheable(f) {
		return false
	}
	size := fetchedSize(f)
	if size > c.maxBytes {
		return false // it would evict everything else and still not fit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		old := el.Value.(*cacheEntry)
		c.bytes += size - old.size
		old.f, old.size = f, size
		c.lru.MoveToFront(el)
	} else {
		c.items[k] = c.lru.PushFront(&cacheEntry{key: k, f: f, size: size})
		c.bytes += size
	}
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.items, e.key)
		c.bytes -= e.size
	}
	return true
}

// Len is the number of cached traces.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes is the estimated memory the cached traces hold.
func (c *Cache) Bytes() int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// cacheable says whether f is complete and final: the whole trace, its
// logs fetched without a failure, and ended long enough ago that neither
// Tempo nor Loki will return more for it.
func (c *Cache) cacheable(f *Fetched) bool {
	if f == nil || f.Trace == nil || f.Trace.Trace == nil || f.Trace.Partial || f.Logs == nil || f.LogsErr != nil {
		return false
	}
	for _, n := range f.Logs.Notices {
		// One half of auto mode failed (loki.TraceLogs says so only in
		// this notice): the logs are incomplete this time.
		if strings.HasPrefix(n, "the Loki query ") && strings.Contains(n, " failed") {
			return false
		}
	}
	_, last := f.Trace.Trace.Bounds()
	return !last.IsZero() && !last.Add(c.settle).After(c.now())
}

// fetchedSize estimates the bytes a Fetched holds: strings and slices of
// spans and log entries, with fixed costs for the headers. Shared stream
// label slices are counted per entry, which overestimates, on the safe side.
func fetchedSize(f *Fetched) int64 {
	const (
		spanCost  = 320 // model.Span without its strings and slices
		entryCost = 160 // model.LogEntry likewise
		labelCost = 32
		kvCost    = 48
	)
	n := int64(256)
	if f.Trace != nil && f.Trace.Trace != nil {
		for i := range f.Trace.Trace.Spans {
			s := &f.Trace.Trace.Spans[i]
			n += spanCost + int64(len(s.TraceID)+len(s.SpanID)+len(s.ParentSpanID)+len(s.ServiceName)+len(s.Name)+len(s.StatusMessage)+len(s.ScopeName)+len(s.ScopeVersion))
			n += kvSize(s.Attributes, kvCost) + kvSize(s.ResourceAttributes, kvCost)
			for _, ev := range s.Events {
				n += kvCost + int64(len(ev.Name)) + kvSize(ev.Attributes, kvCost)
			}
			n += int64(len(s.Links)) * kvCost
		}
	}
	if f.Logs != nil {
		for i := range f.Logs.Entries {
			e := &f.Logs.Entries[i]
			n += entryCost + int64(len(e.Line))
			for _, ls := range []model.Labels{e.Stream, e.Metadata, e.Parsed} {
				for _, l := range ls {
					n += labelCost + int64(len(l.Name)+len(l.Value))
				}
			}
		}
		for _, q := range f.Logs.Queries {
			n += int64(len(q))
		}
	}
	return n
}

func kvSize(kvs []model.KeyValue, cost int64) int64 {
	n := int64(0)
	for _, kv := range kvs {
		n += cost + int64(len(kv.Key))
		if s, ok := kv.Value.(string); ok {
			n += int64(len(s))
		}
	}
	return n
}

// FetchCached is Fetch through e.Cache: a trace fetched before with the
// same log options comes from the cache, and a newly fetched one is kept
// when it is final. Queries that ask for the same trace, log options and
// range while it is being fetched (people opening the same trace link at
// once, a dashboard refreshed by several viewers) wait for that fetch and
// share its result, final or not, rather than each fetching and holding
// its own copy. It reports whether the result came from someone else's
// fetch: the cache's, or one in flight.
//
// A shared fetch runs under the context of the query that started it. When
// that query gives up (its context ended) the others do not fail with it:
// each whose own context is still live fetches again.
func (e *Explainer) FetchCached(ctx context.Context, traceID string, start, end time.Time, lo LogOptions) (*Fetched, bool, error) {
	id, ok := model.NormalizeTraceID(traceID)
	if !ok {
		return nil, false, &InvalidTraceIDError{TraceID: traceID}
	}
	k := newCacheKey(e.Tenant, id, lo)
	from, to := tempo.Seconds(start, end)
	for {
		if f := e.Cache.get(k); f != nil {
			return f, true, nil
		}
		fl, first := e.Cache.board(flightKey{k, from, to})
		if first {
			f, err := e.fetchFor(ctx, fl, k, id, start, end, lo)
			return f, false, err
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("the query ended while it waited for another query's fetch of trace %s: %w", id, context.Cause(ctx))
		}
		if fl.gaveUp && ctx.Err() == nil {
			continue // the query that fetched gave up, not this one
		}
		return fl.f, true, fl.err
	}
}

// fetchFor fetches for the flight fl (nil without a cache), keeps a final
// trace in the cache before the flight lands, so that a query arriving just
// after finds one or the other, and lands the flight even if Fetch panics.
func (e *Explainer) fetchFor(ctx context.Context, fl *flight, k cacheKey, id string, start, end time.Time, lo LogOptions) (f *Fetched, err error) {
	landed := false
	defer func() {
		if !landed {
			e.Cache.land(fl, nil, errFetchAborted, true)
		}
	}()
	f, err = e.Fetch(ctx, id, start, end, lo)
	if err == nil {
		e.Cache.put(k, f)
	}
	// Gave up whatever Fetch returned: cancelled midway, auto mode can
	// still succeed with one log query's lines and the other's
	// cancellation as a notice, which is not the waiters' to get.
	e.Cache.land(fl, f, err, ctx.Err() != nil)
	landed = true
	return f, err
}

// errFetchAborted is what waiting queries get when the fetch they waited
// for ended without a result (it panicked); they then fetch again.
var errFetchAborted = errors.New("the shared fetch of this trace ended without a result")

// flightKey is a fetch in flight: a cache key and the Tempo range asked
// for (tempo.Seconds: viewers of "last 1h" a few milliseconds apart ask
// Tempo the same), since a trace may be found in one range and not in
// another.
type flightKey struct {
	cacheKey
	start, end int64
}

// flight is one fetch that queries asking for the same thing wait for;
// f, err and gaveUp are set before done is closed.
type flight struct {
	key    flightKey
	done   chan struct{}
	f      *Fetched
	err    error
	gaveUp bool // the fetching query's context ended: its result is not the others'
	// waiting counts the queries that boarded it (under the cache's mu).
	waiting int
}

// waiting is how many queries wait for the fetch in flight for k (tests).
func (c *Cache) waiting(k flightKey) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fl := c.flights[k]; fl != nil {
		return fl.waiting
	}
	return 0
}

// board returns the flight in progress for k, or, when there is none,
// starts one and reports that the caller is to fetch it (first). Without a
// cache, every caller fetches alone.
func (c *Cache) board(k flightKey) (fl *flight, first bool) {
	if c == nil {
		return nil, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fl := c.flights[k]; fl != nil {
		fl.waiting++
		return fl, false
	}
	if c.flights == nil {
		c.flights = map[flightKey]*flight{}
	}
	fl = &flight{key: k, done: make(chan struct{})}
	c.flights[k] = fl
	return fl, true
}

// land ends the flight fl with its result and wakes its waiters.
func (c *Cache) land(fl *flight, f *Fetched, err error, gaveUp bool) {
	if c == nil || fl == nil {
		return
	}
	c.mu.Lock()
	delete(c.flights, fl.key)
	c.mu.Unlock()
	fl.f, fl.err, fl.gaveUp = f, err, gaveUp
	close(fl.done)
}
