package explain

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// MaxBatchWindow is the longest time range one batched Loki query covers.
// Traces close in time (a latency spike) share a query; traces far apart
// get their own, so that no query scans a long stretch of logs that none
// of its traces needs. Loki's cost grows with the range it scans, its
// per-query overhead with the number of queries: ten minutes keeps both
// small for the few dozen traces a dashboard search returns.
const MaxBatchWindow = 10 * time.Minute

// lokiConcurrency is how many batches Search asks Loki for at once (each
// runs up to two queries in auto mode).
const lokiConcurrency = 4

// logWindow is the range one trace's logs are looked up in: the trace's
// own bounds widened by the margin, as Fetch does for one trace.
type logWindow struct {
	id         string
	start, end time.Time
}

// windowOf is the log window of a trace.
func windowOf(id string, t *model.Trace, margin time.Duration) logWindow {
	first, last := t.Bounds()
	w := logWindow{id: id, start: first.Add(-margin), end: last.Add(margin)}
	if !w.end.After(w.start) {
		// A trace of zero-length spans still has logs around it.
		w.end = w.start.Add(time.Millisecond)
	}
	return w
}

// logBatch is a group of traces whose logs one set of Loki queries (one
// per mode) fetches over the union of their windows.
type logBatch struct {
	ids        []string
	queries    []string
	start, end time.Time
}

// planBatches groups log windows into batches: windows in time order, a
// new group whenever the union of a group would span more than maxWindow,
// and within a group the id and size limits of loki.BatchQueries.
func planBatches(ws []logWindow, lo LogOptions, maxWindow time.Duration) ([]logBatch, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(ws)
	slices.SortStableFunc(sorted, func(a, b logWindow) int {
		return cmp.Or(a.start.Compare(b.start), a.end.Compare(b.end), strings.Compare(a.id, b.id))
	})
	byID := make(map[string]logWindow, len(sorted))
	for _, w := range sorted {
		byID[w.id] = w
	}
	var out []logBatch
	flush := func(group []logWindow) error {
		ids := make([]string, len(group))
		for i, w := range group {
			ids[i] = w.id
		}
		bs, err := loki.BatchQueries(lo.Selector, ids, lo.Mode, lo.TraceIDFields)
		if err != nil {
			return err
		}
		for _, b := range bs {
			lb := logBatch{ids: b.TraceIDs, queries: b.Queries}
			for i, id := range b.TraceIDs {
				w := byID[id]
				if i == 0 || w.start.Before(lb.start) {
					lb.start = w.start
				}
				if i == 0 || w.end.After(lb.end) {
					lb.end = w.end
				}
			}
			out = append(out, lb)
		}
		return nil
	}
	start, end, from := sorted[0].start, sorted[0].end, 0
	for i := 1; i < len(sorted); i++ {
		w := sorted[i]
		if later(end, w.end).Sub(start) > maxWindow {
			if err := flush(sorted[from:i]); err != nil {
				return nil, err
			}
			start, end, from = w.start, w.end, i
			continue
		}
		end = later(end, w.end)
	}
	if err := flush(sorted[from:]); err != nil {
		return nil, err
	}
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// batchResult is what one batch's queries returned, split by trace.
type batchResult struct {
	byTrace map[string][]model.LogEntry
	// complete is the time up to which the batch's logs are complete: the
	// zero time when no query was capped; otherwise traces whose window
	// ends after it may miss lines.
	complete   time.Time
	capped     bool
	pages      int
	duplicates int
	notices    []string
	err        error
}

// fetchBatch runs a batch's queries (concurrently in auto mode), pages
// each over the batch's range, merges them without duplicates, and splits
// the entries by trace id. When one half of auto mode fails the other
// half's entries are used, with a notice; when all fail, err says why.
func (e *Explainer) fetchBatch(ctx context.Context, b logBatch, lo LogOptions) batchResult {
	maxLines := 0
	if lo.MaxLines > 0 {
		maxLines = lo.MaxLines * len(b.ids)
	}
	results := make([]*loki.PageResult, len(b.queries))
	errs := make([]error, len(b.queries))
	var wg sync.WaitGroup
	for i, q := range b.queries {
		wg.Go(func() {
			fetch := func(ctx context.Context, s, e2 time.Time, limit int) ([]model.LogEntry, error) {
				r, err := e.Loki.QueryRange(ctx, q, s, e2, limit)
				if err != nil {
					return nil, err
				}
				return r.Entries, nil
			}
			results[i], errs[i] = loki.Page(ctx, fetch, b.start, b.end, loki.DefaultPageSize, maxLines)
			if limit, ok := loki.ServerEntryLimit(errs[i]); ok && limit < loki.DefaultPageSize {
				// This Loki allows fewer entries per query: page with its limit.
				results[i], errs[i] = loki.Page(ctx, fetch, b.start, b.end, limit, maxLines)
				if errs[i] == nil {
					results[i].Pages++ // the refused request
					results[i].Notices = append(results[i].Notices, fmt.Sprintf("Loki allows at most %d entries per query (max_entries_limit_per_query), so pages of %d were used", limit, limit))
				}
			}
		})
	}
	wg.Wait()

	var out batchResult
	var entries []model.LogEntry
	kept := 0
	for i, r := range results {
		if errs[i] != nil {
			continue
		}
		out.pages += r.Pages
		out.duplicates += r.Duplicates
		out.notices = append(out.notices, r.Notices...)
		if r.Capped {
			out.capped = true
			if n := len(r.Entries); n > 0 && (out.complete.IsZero() || r.Entries[n-1].Time.Before(out.complete)) {
				out.complete = r.Entries[n-1].Time
			}
		}
		if kept == 0 {
			entries = r.Entries
		} else {
			var dups int
			entries, dups = loki.Merge(entries, r.Entries)
			out.duplicates += dups
		}
		kept++
	}
	if kept == 0 {
		out.err = errs[0]
		return out
	}
	for i, err := range errs {
		if err != nil {
			// The wording matches loki.TraceLogs: Cache.cacheable reads it.
			out.notices = append(out.notices, fmt.Sprintf("the Loki query %s failed, so only the other query's logs are shown: %v", b.queries[i], err))
		}
	}
	out.byTrace = splitByTrace(entries, b.ids, lo)
	return out
}

// splitByTrace hands each entry to the trace whose id it carries, read
// with the engine's own extractor (once per entry). An entry without a
// readable id (line mode finds ids anywhere in a line) goes to the batch's
// trace whose id the line contains. Entries of other traces are dropped,
// as the engine would ignore them.
func splitByTrace(entries []model.LogEntry, ids []string, lo LogOptions) map[string][]model.LogEntry {
	out := make(map[string][]model.LogEntry, len(ids))
	in := make(map[string]bool, len(ids))
	stripped := make([]string, len(ids))
	for i, id := range ids {
		in[id] = true
		stripped[i] = strings.TrimLeft(id, "0")
	}
	x := correlate.NewExtractor(correlate.Options{TraceIDFields: lo.TraceIDFields})
	for i := range entries {
		e := &entries[i]
		id := x.Extract(e).TraceID
		if id == "" {
			id = idInLine(e.Line, ids, stripped)
		}
		if in[id] {
			out[id] = append(out[id], *e)
		}
	}
	return out
}

// idInLine is the first of ids whose digits (without leading zeros) the
// line contains in any case; "" when none.
func idInLine(line string, ids, stripped []string) string {
	if len(ids) == 1 {
		return ids[0] // the query matched the line for its only id
	}
	lower := strings.ToLower(line)
	for i, s := range stripped {
		if strings.Contains(lower, s) {
			return ids[i]
		}
	}
	return ""
}

// logsFor builds one trace's LogsResult from its batch: its entries inside
// its own window (so a batched trace gets exactly what Fetch would give
// it), capped at lo.MaxLines. It reports false when the batch cannot tell
// what Fetch would give: the batch hit its line cap before the end of the
// trace's window while the trace has fewer than lo.MaxLines lines (the
// other traces used up the budget), and the trace must be fetched alone.
func logsFor(w logWindow, b logBatch, br batchResult, lo LogOptions) (*loki.LogsResult, bool) {
	var own []model.LogEntry
	for _, e := range br.byTrace[w.id] {
		if !e.Time.Before(w.start) && e.Time.Before(w.end) {
			own = append(own, e)
		}
	}
	short := br.capped && w.end.After(br.complete)
	if short && (lo.MaxLines <= 0 || len(own) < lo.MaxLines) {
		return nil, false
	}
	lr := &loki.LogsResult{
		Entries:    own,
		Queries:    b.queries,
		Notices:    slices.Clone(br.notices),
		Pages:      br.pages,
		Duplicates: br.duplicates,
	}
	if lo.MaxLines > 0 && len(lr.Entries) >= lo.MaxLines && (short || len(lr.Entries) > lo.MaxLines) {
		// Its first lines are all there: the batch read every line up to
		// the last one kept, in time order, as Fetch would have.
		lr.Entries = lr.Entries[:lo.MaxLines:lo.MaxLines]
		lr.Capped = true
		lr.Notices = append(lr.Notices, fmt.Sprintf("only the first %d log lines of the trace were fetched; there are more (raise the log line limit, lokiMaxLines, or narrow the selector)", len(lr.Entries)))
	}
	return lr, true
}

// traceLogs fetches one trace's logs alone, as Fetch does.
func (e *Explainer) traceLogs(ctx context.Context, w logWindow, lo LogOptions) (*loki.LogsResult, error) {
	return e.Loki.TraceLogs(ctx, loki.LogQuery{
		TraceID: w.id, Selector: lo.Selector, Mode: lo.Mode, TraceIDFields: lo.TraceIDFields,
		Start: w.start, End: w.end, MaxLines: lo.MaxLines,
	})
}
