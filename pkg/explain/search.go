package explain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// DefaultConcurrency is how many traces Search fetches from Tempo at once
// when Explainer.Concurrency is 0 (the tempoConcurrency setting's default).
const DefaultConcurrency = 8

// SearchResult is what Search found and fetched.
type SearchResult struct {
	// Found are the traces Tempo's search returned, in its order.
	Found []tempo.SearchResult
	// Fetched are the found traces that could be fetched, in Found's
	// order; a trace Tempo could not return is left out with a notice. A
	// trace whose logs Loki could not return is kept with LogsErr set.
	Fetched []*Fetched
	// Notices say what is missing from the result and why.
	Notices []Notice
	// LogQueries are the LogQL queries run, batch by batch, for the query
	// inspector.
	LogQueries []string
	// Cached counts the traces that came from the cache, LogBatches the
	// batches the other traces' logs were fetched in.
	Cached     int
	LogBatches int
	// Candidates is how many traces SearchSlowest ranked (0 for Search).
	Candidates int
	// Typical holds, for SearchSlowest's traces, each one's duration and
	// the median duration of the other candidates with its root service
	// and operation, both as Tempo reported them; keyed by trace id.
	Typical map[string]model.TypicalDuration
}

// Search explains a TraceQL search's traces in bulk: it runs the search
// over [start, end) (zero times leave the range to Tempo) for at most
// limit traces, takes from e.Cache what it holds, fetches the other traces
// from Tempo with at most e.Concurrency requests at once, and then their
// logs from Loki in few queries: the traces are grouped by time (see
// MaxBatchWindow and loki.BatchQueries), each group's ids go into one
// query per mode over the union of their windows, and the entries are
// handed to their traces by id. Each trace gets the same entries Fetch
// would have fetched for it alone.
//
// A failed or empty search is an error. A trace Tempo cannot return is
// left out with a notice, and a Loki failure leaves its batch's traces
// without logs (Fetched.LogsErr): both give a partial result, not an
// error, unless no trace could be fetched at all. A cancelled ctx stops
// the work (no new request starts, running ones are cancelled) and is
// returned once every request has returned.
func (e *Explainer) Search(ctx context.Context, traceql string, start, end time.Time, limit int, lo LogOptions) (*SearchResult, error) {
	found, err := e.Tempo.Search(ctx, traceql, start, end, limit)
	if err != nil {
		return nil, err
	}
	return e.explainFound(ctx, found, start, end, lo)
}

// explainFound fetches the traces a search found, with their logs, as
// Search describes.
func (e *Explainer) explainFound(ctx context.Context, found []tempo.SearchResult, start, end time.Time, lo LogOptions) (*SearchResult, error) {
	res := &SearchResult{Found: found}
	slots := make([]*Fetched, len(found))
	hit := make([]bool, len(found))
	keys := make([]cacheKey, len(found))
	seen := make(map[string]bool, len(found))
	var miss []int
	for i, r := range found {
		if seen[r.TraceID] {
			continue // Tempo returned it twice; once is enough
		}
		seen[r.TraceID] = true
		keys[i] = newCacheKey(e.Tenant, r.TraceID, lo)
		if f := e.Cache.get(keys[i]); f != nil {
			slots[i], hit[i] = f, true
			res.Cached++
			continue
		}
		miss = append(miss, i)
	}

	// Traces, a bounded number at a time.
	traces := make([]*tempo.TraceResult, len(miss))
	errs := make([]error, len(miss))
	forEach(ctx, len(miss), e.concurrency(), func(j int) {
		traces[j], errs[j] = e.Tempo.Trace(ctx, found[miss[j]].TraceID, start, end)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		windows  []logWindow
		at       = map[string]int{} // trace id → index into found
		failed   []string
		firstErr error
		missing  int
	)
	for j, i := range miss {
		id := found[i].TraceID
		if errs[j] != nil {
			if !errors.Is(errs[j], tempo.ErrTraceNotFound) && firstErr == nil {
				firstErr = errs[j]
			}
			missing++
			failed = append(failed, fmt.Sprintf("%s: %v", id, errs[j]))
			continue
		}
		w := windowOf(id, traces[j].Trace, lo.Margin)
		windows = append(windows, w)
		at[id] = i
		slots[i] = &Fetched{TraceID: id, Trace: traces[j], LogStart: w.start, LogEnd: w.end}
	}
	if missing > 0 {
		if missing == len(miss) && res.Cached == 0 && firstErr != nil {
			// Nothing to show: Tempo is failing, not one trace.
			return nil, firstErr
		}
		res.Notices = append(res.Notices, Notice{Warning, missingNotice(missing, len(found), failed)})
	}

	// Logs, in few queries.
	batches, err := planBatches(windows, lo, MaxBatchWindow)
	if err != nil {
		// A bad selector or mode: every trace would fail the same way.
		for _, w := range windows {
			slots[at[w.id]].LogsErr = err
		}
	}
	byID := make(map[string]logWindow, len(windows))
	for _, w := range windows {
		byID[w.id] = w
	}
	results := make([]batchResult, len(batches))
	forEach(ctx, len(batches), lokiConcurrency, func(k int) {
		results[k] = e.fetchBatch(ctx, batches[k], lo)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.LogBatches = len(batches)
	var alone []logWindow
	for k, b := range batches {
		res.LogQueries = append(res.LogQueries, b.queries...)
		for _, id := range b.ids {
			f := slots[at[id]]
			if results[k].err != nil {
				f.LogsErr = results[k].err
				continue
			}
			var ok bool
			if f.Logs, ok = logsFor(byID[id], b, results[k], lo); !ok {
				alone = append(alone, byID[id])
			}
		}
	}
	// Traces a capped batch could not serve completely, one by one.
	forEach(ctx, len(alone), lokiConcurrency, func(k int) {
		f := slots[at[alone[k].id]]
		f.Logs, f.LogsErr = e.traceLogs(ctx, alone[k], lo)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, w := range alone {
		if f := slots[at[w.id]]; f.Logs != nil {
			res.LogQueries = append(res.LogQueries, f.Logs.Queries...)
		}
	}

	for i, f := range slots {
		if f == nil {
			continue
		}
		if !hit[i] {
			e.Cache.put(keys[i], f)
		}
		res.Fetched = append(res.Fetched, f)
	}
	return res, nil
}

// concurrency is the bound on parallel Tempo requests.
func (e *Explainer) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return DefaultConcurrency
}

// missingNotice words the traces Search had to leave out, naming a few.
func missingNotice(missing, found int, failed []string) string {
	const show = 3
	more := ""
	if len(failed) > show {
		more = fmt.Sprintf("; and %d more", len(failed)-show)
		failed = failed[:show]
	}
	return fmt.Sprintf("%d of the %d traces the search found could not be fetched from Tempo and are left out (%s%s)",
		missing, found, strings.Join(failed, "; "), more)
}

// forEach runs fn(0) … fn(n−1) with at most limit running at once. Once
// ctx is done it starts no more; it returns when every started call has
// returned, so no goroutine outlives it.
func forEach(ctx context.Context, n, limit int, fn func(i int)) {
	if n == 0 {
		return
	}
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
