package loki

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// FetchFunc fetches at most limit entries in [start, end) in forward
// direction, as one Loki query_range request does. Start is inclusive and
// end exclusive, as in Loki.
type FetchFunc func(ctx context.Context, start, end time.Time, limit int) ([]model.LogEntry, error)

// PageResult is everything a paged fetch returned.
type PageResult struct {
	// Entries are in time order (ties keep Loki's order), without the
	// entries that two pages both returned.
	Entries []model.LogEntry
	// Capped is true when maxLines stopped the fetch before the range was
	// exhausted: there may be more entries.
	Capped bool
	// Pages is the number of requests made.
	Pages int
	// Duplicates counts entries dropped because an earlier page had them.
	Duplicates int
	// Notices are remarks for a person, such as timestamps where entries
	// may be missing.
	Notices []string
}

// Page fetches every entry in [start, end) through fetch, pageSize entries
// per request, stopping at maxLines (<= 0: no limit).
//
// Loki caps entries per query (max_entries_limit_per_query, 5000 by
// default), so a trace's logs can need several requests. Each next page
// starts at the last timestamp of the previous one, inclusively, because
// several entries can share one nanosecond and the page may have ended
// among them; the entries at that timestamp that the previous page already
// had are then dropped by identity (timestamp, stream labels, structured
// metadata, line, and occurrence among identical ones), so identical lines
// logged twice are kept twice while one entry returned by two pages is
// kept once.
//
// When a whole page shares one timestamp, the next page could not get
// past it: Page then moves on by one nanosecond and says in a notice that
// entries at that timestamp may be missing.
func Page(ctx context.Context, fetch FetchFunc, start, end time.Time, pageSize, maxLines int) (*PageResult, error) {
	if pageSize <= 0 {
		return nil, fmt.Errorf("page size must be positive, got %d", pageSize)
	}
	p := &pager{fetch: fetch, end: end, pageSize: pageSize, maxLines: maxLines, res: &PageResult{}, cur: start}
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	p.res.Entries = p.appendEntries(nil)
	return p.res, nil
}

// pager is the state of one forward paging through [cur, end): Page runs
// one to the end, PageSplit runs several over parts of a range.
type pager struct {
	fetch              FetchFunc
	end                time.Time
	pageSize, maxLines int
	res                *PageResult // all but Entries, which appendEntries makes
	cur                time.Time
	done               bool

	// chunks are what each page kept, in the page's own order: its runs
	// (one per stream, each in time order) less the entries an earlier
	// page had; n counts them. They are merged into time order once, into
	// a slice of the final size, when the entries are assembled: merging
	// each page into a chunk of its own, then copying the chunks into one
	// slice, copied every entry twice (5% of a 100 000-line query's CPU
	// went to the second copy alone, its write barriers included).
	chunks []chunk
	n      int

	boundary      map[string]int // identities already kept at time cur
	boundaryCount int
	keyBuf        []byte

	// For PageSplit's parts: split (nil for a lone pager) guards end,
	// filterEnd, cur, res.Pages and finished against another part taking
	// the upper half of what is left (see splitRun.next); start is where
	// this part began. With filterEnd, entries at or after end are
	// dropped: another part has them.
	split     *splitRun
	start     time.Time
	filterEnd bool
	finished  bool
	err       error
}

// currentEnd is the end of the range, which another part may lower.
func (p *pager) currentEnd() time.Time {
	if p.split == nil {
		return p.end
	}
	p.split.mu.Lock()
	defer p.split.mu.Unlock()
	return p.end
}

// run fetches pages until the range is exhausted or maxLines is reached.
func (p *pager) run(ctx context.Context) error {
	for !p.done {
		if err := p.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// step fetches one page, or finds there is nothing left to fetch.
func (p *pager) step(ctx context.Context) error {
	res := p.res
	end := p.currentEnd()
	if !p.cur.Before(end) {
		p.done = true
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	limit := p.pageSize
	if p.maxLines > 0 {
		// Ask only for what can still be used, plus the overlap the
		// page will repeat, plus one to learn whether there is more.
		limit = min(p.pageSize, p.maxLines-p.n+p.boundaryCount+1)
	}
	page, err := p.fetch(ctx, p.cur, end, limit)
	if err != nil {
		return err
	}
	if p.split != nil {
		// What the page holds is decided against the end as it is now:
		// another part may have taken the upper half of the range while
		// the request was out, and it has those entries.
		p.split.mu.Lock()
		defer func() {
			p.finished = p.done
			p.split.mu.Unlock()
		}()
		if p.filterEnd {
			cut := p.end // end, or lower: another part took the rest meanwhile
			page = slices.DeleteFunc(page, func(x model.LogEntry) bool { return !x.Time.Before(cut) })
		}
	}
	res.Pages++
	full := len(page) >= limit

	// Loki returns a page stream by stream, each stream in time order.
	// What the page keeps is its runs, less what came before cur (Loki has
	// been seen returning entries before start) and, at cur, the entries
	// the previous page ended with. Those are met in page order, which is
	// the order a stable sort by time puts entries of one timestamp in.
	var last time.Time
	cur := p.cur
	c := chunk{page: page}
	for _, r := range runsOf(page) {
		from := r.start
		for i := r.start; i < r.end; i++ {
			e := &page[i]
			drop := e.Time.Before(cur)
			if !drop {
				if e.Time.After(last) {
					last = e.Time
				}
				if p.boundaryCount > 0 && e.Time.Equal(cur) {
					p.keyBuf = appendIdentity(p.keyBuf[:0], e)
					if n := p.boundary[string(p.keyBuf)]; n > 0 {
						p.boundary[string(p.keyBuf)] = n - 1
						res.Duplicates++
						drop = true
					}
				}
			}
			if drop {
				c.add(from, i)
				from = i + 1
			}
		}
		c.add(from, r.end)
	}
	if c.n > 0 {
		p.chunks = append(p.chunks, c)
		p.n += c.n
	}
	if p.maxLines > 0 && p.n >= p.maxLines {
		// More than maxLines means there is more; exactly maxLines from
		// a full page may or may not be all, and is reported as capped.
		if res.Capped = p.n > p.maxLines || full; res.Capped {
			p.truncate(p.maxLines)
			p.done = true
			return nil
		}
	}
	if !full || last.IsZero() {
		p.done = true // Loki had no more than this: the range is exhausted
		return nil
	}
	if !last.After(cur) {
		res.Notices = append(res.Notices, fmt.Sprintf(
			"more than %d log entries share the timestamp %s, more than one Loki query returns; some of them may be missing",
			len(page), cur.UTC().Format(time.RFC3339Nano)))
		p.cur = cur.Add(time.Nanosecond)
		p.boundary, p.boundaryCount = nil, 0
		return nil
	}
	p.cur = last
	// The next page starts at last and repeats what we have at last: all
	// of it came with this page, since last is after cur.
	p.boundary = make(map[string]int)
	p.boundaryCount = 0
	for _, r := range c.segs {
		// A run's entries at last, the page's latest time, end it.
		for i := r.end - 1; i >= r.start && page[i].Time.Equal(last); i-- {
			p.keyBuf = appendIdentity(p.keyBuf[:0], &page[i])
			p.boundary[string(p.keyBuf)]++
			p.boundaryCount++
		}
	}
	return nil
}

// truncate keeps the first n entries, in time order.
func (p *pager) truncate(n int) {
	kept := 0
	for i := range p.chunks {
		c := &p.chunks[i]
		if kept+c.n >= n {
			keep := n - kept
			sorted := c.appendMerged(make([]model.LogEntry, 0, c.n))[:keep:keep]
			p.chunks[i] = chunk{page: sorted, segs: []run{{0, keep}}, n: keep}
			p.chunks = p.chunks[:i+1]
			p.n = n
			return
		}
		kept += c.n
	}
}

// appendEntries appends the entries kept so far to dst, in time order. With
// a nil dst, a page kept whole and already in time order is returned as
// is.
func (p *pager) appendEntries(dst []model.LogEntry) []model.LogEntry {
	if dst == nil && len(p.chunks) == 1 && len(p.chunks[0].segs) == 1 {
		c := &p.chunks[0]
		r := c.segs[0]
		return c.page[r.start:r.end:r.end]
	}
	if dst == nil && p.n > 0 {
		dst = make([]model.LogEntry, 0, p.n)
	}
	for i := range p.chunks {
		dst = p.chunks[i].appendMerged(dst)
	}
	return dst
}

// run is [start, end) of a page, in time order.
type run struct{ start, end int }

// chunk is what one page kept: segments of it, each in time order, in the
// page's order.
type chunk struct {
	page []model.LogEntry
	segs []run
	n    int
}

// add keeps page[start:end], when not empty.
func (c *chunk) add(start, end int) {
	if end > start {
		c.segs = append(c.segs, run{start, end})
		c.n += end - start
	}
}

// runsOf is the runs of page: where an entry is earlier than the one
// before it, a new run starts.
func runsOf(page []model.LogEntry) []run {
	var dst []run
	start := 0
	for i := 1; i < len(page); i++ {
		if page[i].Time.Before(page[i-1].Time) {
			dst = append(dst, run{start, i})
			start = i
		}
	}
	if len(page) > 0 {
		dst = append(dst, run{start, len(page)})
	}
	return dst
}

// appendMerged appends c's entries to dst in time order, ties in page
// order: what a stable sort by time would yield. The segments are in time
// order already, so a k-way merge of them does it in one pass, where
// sorting 100-byte entries in place cost a third of paging.
func (c *chunk) appendMerged(dst []model.LogEntry) []model.LogEntry {
	if len(c.segs) == 1 {
		r := c.segs[0]
		return append(dst, c.page[r.start:r.end]...)
	}
	h := runHeap{page: c.page, pos: make([]int, len(c.segs)), ends: make([]int, len(c.segs)), heap: make([]int, len(c.segs))}
	for i, r := range c.segs {
		h.pos[i], h.ends[i] = r.start, r.end
		h.heap[i] = i // every segment is non-empty and starts in order of i
	}
	for i := len(h.heap)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	for len(h.heap) > 0 {
		r := h.heap[0]
		dst = append(dst, c.page[h.pos[r]])
		h.pos[r]++
		if h.pos[r] == h.ends[r] {
			last := len(h.heap) - 1
			h.heap[0] = h.heap[last]
			h.heap = h.heap[:last]
		}
		h.down(0)
	}
	return dst
}

// runHeap is a min-heap of segments by the time of their next entry, the
// earlier segment first on ties (which keeps the merge stable).
type runHeap struct {
	page      []model.LogEntry
	pos, ends []int // next entry and end of each segment
	heap      []int // segment numbers
}

func (h *runHeap) less(a, b int) bool {
	ta, tb := &h.page[h.pos[a]].Time, &h.page[h.pos[b]].Time
	if c := ta.Compare(*tb); c != 0 {
		return c < 0
	}
	return a < b
}

func (h *runHeap) down(i int) {
	n := len(h.heap)
	for {
		m := i
		if l := 2*i + 1; l < n && h.less(h.heap[l], h.heap[m]) {
			m = l
		}
		if r := 2*i + 2; r < n && h.less(h.heap[r], h.heap[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.heap[i], h.heap[m] = h.heap[m], h.heap[i]
		i = m
	}
}

// appendIdentity appends an entry's identity: every part length-prefixed,
// so no line or label can make two different entries look alike. Parsed
// labels are left out: they derive from the line.
func appendIdentity(b []byte, e *model.LogEntry) []byte {
	b = binary.AppendVarint(b, e.Time.UnixNano())
	for _, ls := range []model.Labels{e.Stream, e.Metadata} {
		b = binary.AppendUvarint(b, uint64(len(ls)))
		for _, l := range ls {
			b = appendString(b, l.Name)
			b = appendString(b, l.Value)
		}
	}
	return appendString(b, e.Line)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Merge merges two time-ordered results of queries over the same logs
// (the line and the metadata query of auto mode). An entry both returned is
// kept once; identical entries are kept as often as the query that saw
// more of them has them. The result is time-ordered, a's entries first on
// ties. It reports how many of b's entries were duplicates.
//
// Entries can only be identical when they share a timestamp, so it walks
// both slices in time order and compares entries within one timestamp;
// inputs that are not time-ordered take a slower path with a map of every
// entry of a.
func Merge(a, b []model.LogEntry) ([]model.LogEntry, int) {
	if len(b) == 0 {
		return a, 0
	}
	if len(a) == 0 {
		return b, 0
	}
	byTime := func(x, y model.LogEntry) int { return x.Time.Compare(y.Time) }
	if !slices.IsSortedFunc(a, byTime) || !slices.IsSortedFunc(b, byTime) {
		return mergeUnordered(a, b)
	}
	// First pass: mark b's duplicates, to size the result exactly.
	dup := make([]bool, len(b))
	dups := 0
	var (
		used   []bool
		keyBuf []byte
	)
	i := 0
	for j := 0; j < len(b); {
		t := b[j].Time
		j2 := j + 1
		for j2 < len(b) && b[j2].Time.Equal(t) {
			j2++
		}
		for i < len(a) && a[i].Time.Before(t) {
			i++
		}
		i2 := i
		for i2 < len(a) && a[i2].Time.Equal(t) {
			i2++
		}
		if ga, gb := a[i:i2], b[j:j2]; len(ga) > 0 {
			if len(ga)*len(gb) <= 1024 {
				// Small groups (the usual case: one entry or a few):
				// pair each of b's entries with an unused identical one of a.
				used = append(used[:0], make([]bool, len(ga))...)
				for k := range gb {
					for m := range ga {
						if !used[m] && sameEntry(&ga[m], &gb[k]) {
							used[m], dup[j+k] = true, true
							dups++
							break
						}
					}
				}
			} else {
				have := make(map[string]int, len(ga))
				for m := range ga {
					keyBuf = appendIdentity(keyBuf[:0], &ga[m])
					have[string(keyBuf)]++
				}
				for k := range gb {
					keyBuf = appendIdentity(keyBuf[:0], &gb[k])
					if n := have[string(keyBuf)]; n > 0 {
						have[string(keyBuf)] = n - 1
						dup[j+k] = true
						dups++
					}
				}
			}
		}
		i, j = i2, j2
	}
	if dups == len(b) {
		return a, dups
	}
	// Second pass: at each timestamp, a's entries, then b's that a lacks.
	out := make([]model.LogEntry, 0, len(a)+len(b)-dups)
	i = 0
	for j := range b {
		if dup[j] {
			continue
		}
		for i < len(a) && !b[j].Time.Before(a[i].Time) {
			out = append(out, a[i])
			i++
		}
		out = append(out, b[j])
	}
	return append(out, a[i:]...), dups
}

// sameEntry reports whether two entries of one timestamp have the same
// identity (see appendIdentity).
func sameEntry(x, y *model.LogEntry) bool {
	return x.Line == y.Line && slices.Equal(x.Stream, y.Stream) && slices.Equal(x.Metadata, y.Metadata)
}

// mergeUnordered is Merge for inputs that are not time-ordered.
func mergeUnordered(a, b []model.LogEntry) ([]model.LogEntry, int) {
	var keyBuf []byte
	have := make(map[string]int, len(a))
	for i := range a {
		keyBuf = appendIdentity(keyBuf[:0], &a[i])
		have[string(keyBuf)]++
	}
	extra := make([]model.LogEntry, 0, len(b))
	dups := 0
	for i := range b {
		keyBuf = appendIdentity(keyBuf[:0], &b[i])
		if n := have[string(keyBuf)]; n > 0 {
			have[string(keyBuf)] = n - 1
			dups++
			continue
		}
		extra = append(extra, b[i])
	}
	out := make([]model.LogEntry, 0, len(a)+len(extra))
	i, j := 0, 0
	for i < len(a) && j < len(extra) {
		if extra[j].Time.Before(a[i].Time) {
			out = append(out, extra[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	out = append(out, extra[j:]...)
	return out, dups
}
