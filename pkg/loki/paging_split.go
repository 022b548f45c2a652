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
// does, then joins them in time order. A part that is done takes over the
// upper half of what the busiest part has left (see splitRun), so that no
// part pages alone at the end while the others wait.
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
	budget := 0
	if maxLines > 0 {
		budget = maxLines - first.n
	}
	sr := &splitRun{fetch: fetch, pageSize: pageSize, budget: budget, parts: make([]*pager, len(bounds)-1)}
	for i := range sr.parts {
		s, e := bounds[i], bounds[i+1]
		p := first
		if i > 0 {
			p = &pager{fetch: fetch, pageSize: pageSize, maxLines: budget, res: &PageResult{}, cur: s}
		}
		p.split, p.start, p.end = sr, s, e
		// The last part ends where the whole range does, and keeps
		// whatever Page would keep there.
		p.filterEnd = i < len(sr.parts)-1
		sr.parts[i] = p
	}
	first.start = start
	partsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range slices.Clone(sr.parts) {
		wg.Go(func() {
			// A part done takes half of what another has left.
			for ; p != nil; p = sr.next(p) {
				if p.err = p.run(partsCtx); p.err != nil {
					cancel() // the whole fetch fails: stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err // the caller gave up
	}
	// The first failure in time order, not the cancellations it caused.
	var failed error
	for _, p := range sr.parts {
		if err := p.err; err != nil && (failed == nil || errors.Is(failed, context.Canceled) && !errors.Is(err, context.Canceled)) {
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return joinParts(sr.parts, maxLines), nil
}

// stealMinPages is how many more pages a part must be expected to need
// before one that is done takes the upper half of it: fewer, and the
// extra partial pages cost more than the wait saved.
const stealMinPages = 2

// splitRun is PageSplit's parts while they run. A range split in equal
// times is rarely split in equal work (logs come in bursts: in the
// 100 000-line benchmark one part of four took twice the pages of the
// others, and fetched them alone at the end), so a part that is done
// takes the upper half of what the part with the most pages ahead of it
// has left, until no part has stealMinPages ahead.
type splitRun struct {
	mu       sync.Mutex
	parts    []*pager // in time order
	fetch    FetchFunc
	pageSize int
	budget   int
}

// next marks done as finished and returns a new part over the upper half
// of the range left to the part expected to need the most pages, or nil.
// The part cut short drops what its request in flight returns from the
// new part's range (see pager.step).
func (s *splitRun) next(done *pager) *pager {
	s.mu.Lock()
	defer s.mu.Unlock()
	done.finished = true
	var victim *pager
	most := 0.0
	for _, p := range s.parts {
		covered, left := p.cur.Sub(p.start), p.end.Sub(p.cur)
		if p.finished || p.res.Pages == 0 || covered <= 0 || left <= 1 {
			continue
		}
		// Expect what is left to be as dense as what was fetched.
		if pages := float64(left) / float64(covered) * float64(p.res.Pages); pages >= stealMinPages && pages > most {
			victim, most = p, pages
		}
	}
	if victim == nil {
		return nil
	}
	mid := victim.cur.Add(victim.end.Sub(victim.cur) / 2)
	np := &pager{
		fetch: s.fetch, pageSize: s.pageSize, maxLines: s.budget, res: &PageResult{},
		split: s, start: mid, cur: mid, end: victim.end, filterEnd: victim.filterEnd,
	}
	victim.end, victim.filterEnd = mid, true
	i := slices.Index(s.parts, victim)
	s.parts = slices.Insert(s.parts, i+1, np)
	return np
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
