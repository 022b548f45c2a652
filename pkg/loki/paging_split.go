package loki

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// DefaultSplit is how many parts of a large time range one query fetches
// at once (see PageSplit).
const DefaultSplit = 4

// splitMinPages is how many more pages the first page must promise before
// the rest of the range is split: below it, the requests saved do not pay
// for the extra ones.
const splitMinPages = 4

// PageSplit fetches every entry in [start, end) like Page, and gives the
// same result (entries, cap, notices), but faster when there are many
// pages. It fetches the first page; when that page shows the rest of the
// range holds at least splitMinPages more pages, and no more entries than
// maxLines allows in all, it splits the rest into up to parts sub-ranges
// of equal length and pages through them at once, each forward as Page
// does, then joins them in time order.
//
// Sub-ranges are half-open and each keeps only its own entries, so an
// entry on a boundary is fetched by exactly one of them: there is neither
// loss nor duplication between sub-ranges, and within one, Page's own
// overlap handling applies. A cap (maxLines) is applied to the joined
// entries in time order, as one pager would; sub-ranges after the cap are
// wasted work, which is why a range expected to exceed the cap is not split.
func PageSplit(ctx context.Context, fetch FetchFunc, start, end time.Time, pageSize, maxLines, parts int) (*PageResult, error) {
	if pageSize <= 0 {
		return nil, fmt.Errorf("page size must be positive, got %d", pageSize)
	}
	first := &pager{fetch: fetch, end: end, pageSize: pageSize, maxLines: maxLines, res: &PageResult{}, cur: start}
	if err := first.step(ctx); err != nil {
		return nil, err
	}
	bounds := splitBounds(start, first, parts)
	if bounds == nil {
		if err := first.run(ctx); err != nil {
			return nil, err
		}
		first.res.Entries = first.appendEntries(nil)
		return first.res, nil
	}

	// The first pager goes on over the first part, keeping what it knows
	// of the boundary at its current time; the others start afresh.
	pagers := make([]*pager, len(bounds)-1)
	pagers[0] = first
	budget := 0
	if maxLines > 0 {
		budget = maxLines - first.n
	}
	for i := range pagers {
		s, e := bounds[i], bounds[i+1]
		if i > 0 {
			pagers[i] = &pager{fetch: fetch, end: e, pageSize: pageSize, maxLines: budget, res: &PageResult{}, cur: s}
		}
		pagers[i].end = e
		if i < len(pagers)-1 {
			// The last part ends where the whole range does, and keeps
			// whatever Page would keep there.
			pagers[i].fetch = before(fetch, e)
		}
	}
	partsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(pagers))
	var wg sync.WaitGroup
	for i, p := range pagers {
		wg.Go(func() {
			if errs[i] = p.run(partsCtx); errs[i] != nil {
				cancel() // the whole fetch fails: stop the others
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err // the caller gave up
	}
	// The first failure in time order, not the cancellations it caused.
	var failed error
	for _, err := range errs {
		if err != nil && (failed == nil || errors.Is(failed, context.Canceled) && !errors.Is(err, context.Canceled)) {
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return joinParts(pagers, maxLines), nil
}

// splitBounds returns the bounds of the parts to fetch the rest of the range
// in, after the first page: nil when it is not worth splitting.
func splitBounds(start time.Time, first *pager, parts int) []time.Time {
	if first.done || parts <= 1 {
		return nil
	}
	covered, rest := first.cur.Sub(start), first.end.Sub(first.cur)
	if covered <= 0 || rest <= 0 {
		return nil
	}
	// Expect the rest to be as dense as the first page was.
	pages := float64(rest) / float64(covered)
	if pages < splitMinPages {
		return nil
	}
	if first.maxLines > 0 && float64(first.n)+pages*float64(first.pageSize) > float64(first.maxLines) {
		return nil // the cap would stop one pager early: keep to one
	}
	k := min(parts, int(pages))
	bounds := make([]time.Time, k+1)
	for i := range bounds {
		bounds[i] = first.cur.Add(time.Duration(float64(rest) * float64(i) / float64(k)))
	}
	bounds[k] = first.end
	return bounds
}

// before wraps fetch so that it keeps only entries before end, the start of
// the next part: Loki's own end is exclusive, and a server that included
// its end would otherwise hand an entry on a boundary to two parts.
func before(fetch FetchFunc, end time.Time) FetchFunc {
	return func(ctx context.Context, start, e time.Time, limit int) ([]model.LogEntry, error) {
		page, err := fetch(ctx, start, e, limit)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(page, func(x model.LogEntry) bool { return !x.Time.Before(end) }), nil
	}
}

// joinParts concatenates the parts' results in time order and applies the
// cap to the whole, as one pager over the whole range would have.
func joinParts(parts []*pager, maxLines int) *PageResult {
	out := &PageResult{}
	n := 0
	for _, p := range parts {
		n += p.n
		out.Pages += p.res.Pages
		out.Duplicates += p.res.Duplicates
		out.Notices = append(out.Notices, p.res.Notices...)
	}
	// The parts after the one that reaches the cap come later than it
	// allows: they count only to say there is more.
	last, kept := len(parts)-1, 0
	if maxLines > 0 {
		for i, p := range parts {
			if kept += p.n; kept >= maxLines {
				out.Capped = p.res.Capped || kept > maxLines || kept < n
				last = i
				break
			}
		}
	}
	size := 0
	for _, p := range parts[:last+1] {
		size += p.n
	}
	if size > 0 {
		out.Entries = make([]model.LogEntry, 0, size)
		for _, p := range parts[:last+1] {
			out.Entries = p.appendEntries(out.Entries)
		}
	}
	if out.Capped && len(out.Entries) > maxLines {
		out.Entries = out.Entries[:maxLines:maxLines]
	}
	return out
}
