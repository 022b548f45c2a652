package correlate

import (
	"slices"
	"strconv"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// breakdown gives every instant of the root span's duration to one span and
// one category (docs/analysis.md, "Where the time went"): it splits each
// critical-path section of span S by the first rule that holds at each
// instant (failed attempt, network, in callee, waiting, self), then sums
// the pieces per (span, category, callee or gap) and per (service,
// category). The sections tile the root's interval and every piece is a
// whole number of nanoseconds, so the rows add up to the root's duration
// exactly, whatever the clocks say.
func (s *state) breakdown() {
	b := &s.a.Breakdown
	b.Top = -1
	if s.pathRoot < 0 {
		return
	}
	root := s.pathRoot
	b.RootSpanID = s.ids[root]
	b.Took = dur(s.start[root], s.end[root])
	if len(s.sections) == 0 || b.Took <= 0 || int64(b.Took) != s.end[root]-s.start[root] {
		return // no duration, or one of centuries that int64 nanoseconds cannot hold
	}

	failed := s.failedAttempts()
	acc := &rowAcc{s: s, index: map[rowKey]int{}}
	// The sections of one span, in time order, are split in one sweep:
	// group them by span (a stable sort keeps each span's in time order,
	// and spans in the order the path first meets them).
	secs := slices.Clone(s.sections)
	first := make(map[int32]int, len(secs))
	for k, sec := range secs {
		if _, ok := first[sec.span]; !ok {
			first[sec.span] = k
		}
	}
	slices.SortStableFunc(secs, func(x, y section) int { return first[x.span] - first[y.span] })
	var order []int32
	for k, sec := range secs {
		if k == 0 || secs[k-1].span != sec.span {
			order = append(order, sec.span)
		}
	}
	gapOff := s.gapRanges(order)
	sw := &sweep{h: kidHeap{s: s}}
	for lo := 0; lo < len(secs); {
		hi := lo + 1
		for hi < len(secs) && secs[hi].span == secs[lo].span {
			hi++
		}
		i := secs[lo].span
		s.splitSections(i, secs[lo:hi], gapOff[i], failed, acc, sw)
		lo = hi
	}

	rows := acc.rows
	took := float64(b.Took)
	for k := range rows {
		rows[k].Share = float64(rows[k].Duration) / took
	}
	slices.SortStableFunc(rows, func(x, y model.BreakdownRow) int {
		switch {
		case x.Duration != y.Duration:
			if x.Duration > y.Duration {
				return -1
			}
			return 1
		case !x.First.Equal(y.First):
			return x.First.Compare(y.First)
		}
		return 0 // then the order the sweep met them: span, then time
	})
	b.Rows = rows
	b.Services = serviceRows(rows, took)
	b.Top = topRow(rows, b.Took)
	b.Headline = s.headline(b)
}

// rowKey identifies a row: the span, the category, and the callee's span
// index or the gap's index into a.Gaps (-1 for neither).
type rowKey struct {
	span int32
	cat  model.BreakdownCategory
	ref  int32
}

// rowAcc sums the pieces into rows, in the order they are first met.
type rowAcc struct {
	s     *state
	index map[rowKey]int
	rows  []model.BreakdownRow
	w     writer // scratch for What
}

func (r *rowAcc) add(k rowKey, lo, hi int64) {
	if hi <= lo {
		return
	}
	if at, ok := r.index[k]; ok {
		r.rows[at].Duration += time.Duration(hi - lo)
		return
	}
	s := r.s
	sp := &s.t.Spans[k.span]
	row := model.BreakdownRow{
		SpanID:      s.ids[k.span],
		SpanIndex:   int(k.span),
		ServiceName: sp.ServiceName,
		Operation:   sp.Name,
		Category:    k.cat,
		Duration:    time.Duration(hi - lo),
		First:       s.base.Add(time.Duration(lo)),
	}
	switch k.cat {
	case model.CategoryInCallee, model.CategoryFailedAttempt:
		if k.ref >= 0 {
			c := &s.t.Spans[k.ref]
			row.CalleeSpanID, row.CalleeService, row.CalleeOperation = s.ids[k.ref], c.ServiceName, c.Name
			row.What = s.label(k.ref)
		}
	case model.CategoryWaiting:
		g := &s.a.Gaps[k.ref]
		row.FromMessage, row.ToMessage = g.FromMessage, g.ToMessage
		w := &r.w
		w.b = w.b[:0]
		if g.FromMessage == "" {
			w.str("span start")
		} else {
			w.quote(g.FromMessage)
		}
		w.str(" → ")
		if g.ToMessage == "" {
			w.str("span end")
		} else {
			w.quote(g.ToMessage)
		}
		row.What = w.String()
	}
	r.index[k] = len(r.rows)
	r.rows = append(r.rows, row)
}

// failedAttempts returns the spans that are failed attempts counted as
// retries: the Attempts of every retry, whatever found it (spans, or logs
// matched to spans). An id is looked up among the retry's span's children
// first, so that a duplicated span id marks the attempt, not its twin.
func (s *state) failedAttempts() map[int32]bool {
	var failed map[int32]bool
	for k := range s.a.Retries {
		r := &s.a.Retries[k]
		for _, id := range r.Attempts {
			if failed == nil {
				failed = map[int32]bool{}
			}
			found := false
			if r.SpanIndex >= 0 && r.SpanIndex < s.n {
				for _, c := range s.children(int32(r.SpanIndex)) {
					if s.ids[c] == id {
						failed[c], found = true, true
					}
				}
			}
			if i, ok := s.index[id]; ok && !found {
				failed[i] = true
			}
		}
	}
	return failed
}

// gapRanges returns, for each given span, the range of its gaps in a.Gaps
// (which holds each span's gaps together, in time order).
func (s *state) gapRanges(spans []int32) map[int32][2]int {
	want := make(map[int32][2]int, len(spans))
	for _, i := range spans {
		want[i] = [2]int{-1, -1}
	}
	for k := range s.a.Gaps {
		i := int32(s.a.Gaps[k].SpanIndex)
		r, ok := want[i]
		if !ok {
			continue
		}
		if r[0] < 0 {
			r[0] = k
		}
		r[1] = k + 1
		want[i] = r
	}
	return want
}

// isNetworkSpan reports whether span i is a CLIENT span whose single child
// is the SERVER span of another service (figures.go measures the same).
func (s *state) isNetworkSpan(i int32) bool {
	kids := s.children(i)
	if s.t.Spans[i].Kind != model.KindClient || len(kids) != 1 {
		return false
	}
	c := &s.t.Spans[kids[0]]
	return c.Kind == model.KindServer && c.ServiceName != s.t.Spans[i].ServiceName
}

// splitSections sweeps span i's sections (time-ordered, disjoint) once,
// with its children's starts and ends and its gaps' bounds as the
// instants where the category can change. Between two such instants
// nothing changes, so each elementary interval gets one category.
func (s *state) splitSections(i int32, secs []section, gaps [2]int, failed map[int32]bool, acc *rowAcc, sw *sweep) {
	kids := s.children(i) // sorted by start
	cuts := sw.cuts[:0]
	defer func() { sw.cuts = cuts[:0] }()
	for _, sec := range secs {
		cuts = append(cuts, sec.lo, sec.hi)
	}
	lo, hi := secs[0].lo, secs[len(secs)-1].hi
	within := func(t int64) bool { return t > lo && t < hi }
	for _, c := range kids {
		if within(s.start[c]) {
			cuts = append(cuts, s.start[c])
		}
		if within(s.end[c]) {
			cuts = append(cuts, s.end[c])
		}
	}
	gs, ge := sw.gs[:0], sw.ge[:0]
	defer func() { sw.gs, sw.ge = gs[:0], ge[:0] }()
	if gaps[0] >= 0 {
		for k := gaps[0]; k < gaps[1]; k++ {
			g := &s.a.Gaps[k]
			a, b := s.ns(g.Start), s.ns(g.End)
			gs, ge = append(gs, a), append(ge, b)
			if within(a) {
				cuts = append(cuts, a)
			}
			if within(b) {
				cuts = append(cuts, b)
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	selfFailed := failed[i]
	network := s.isNetworkSpan(i)
	// Running children: a heap by (start, span id), ended ones dropped
	// lazily when they reach the top; failed ones also in a short list.
	h := &sw.h
	h.k = h.k[:0]
	var failing []int32
	next, sec, gap := 0, 0, 0
	for j := 0; j+1 < len(cuts); j++ {
		a, b := cuts[j], cuts[j+1]
		for sec < len(secs) && secs[sec].hi <= a {
			sec++
		}
		for next < len(kids) && s.start[kids[next]] <= a {
			c := kids[next]
			next++
			if s.end[c] <= a {
				continue // zero-length or already over
			}
			h.push(c)
			if failed[c] {
				failing = append(failing, c)
			}
		}
		if sec == len(secs) || secs[sec].lo > a {
			continue // between two sections: the path is in a child
		}
		h.drop(a)
		var key rowKey
		switch {
		case selfFailed:
			key = rowKey{i, model.CategoryFailedAttempt, -1}
		case len(failing) > 0 && s.firstRunning(&failing, a) >= 0:
			key = rowKey{i, model.CategoryFailedAttempt, s.firstRunning(&failing, a)}
		case network && len(h.k) == 0:
			key = rowKey{i, model.CategoryNetwork, -1}
		case len(h.k) > 0:
			key = rowKey{i, model.CategoryInCallee, h.k[0]}
		default:
			for gap < len(ge) && ge[gap] <= a {
				gap++
			}
			if gap < len(gs) && gs[gap] <= a {
				key = rowKey{i, model.CategoryWaiting, int32(gaps[0] + gap)}
			} else {
				key = rowKey{i, model.CategorySelf, -1}
			}
		}
		acc.add(key, a, b)
	}
}

// sweep is splitSections' scratch, reused from span to span.
type sweep struct {
	cuts, gs, ge []int64
	h            kidHeap
}

// firstRunning drops the failed children that ended by t and returns the
// one that started first (ties: span id), or -1.
func (s *state) firstRunning(list *[]int32, t int64) int32 {
	l := (*list)[:0]
	best := int32(-1)
	for _, c := range *list {
		if s.end[c] <= t {
			continue
		}
		l = append(l, c)
		if best < 0 || s.earlier(c, best) {
			best = c
		}
	}
	*list = l
	return best
}

// earlier orders children by start, then span id, then index.
func (s *state) earlier(a, b int32) bool {
	if s.start[a] != s.start[b] {
		return s.start[a] < s.start[b]
	}
	if s.ids[a] != s.ids[b] {
		return s.ids[a] < s.ids[b]
	}
	return a < b
}

// kidHeap is a binary min-heap of span indexes by (start, span id).
type kidHeap struct {
	s *state
	k []int32
}

func (h *kidHeap) push(c int32) {
	h.k = append(h.k, c)
	for j := len(h.k) - 1; j > 0; {
		p := (j - 1) / 2
		if !h.s.earlier(h.k[j], h.k[p]) {
			break
		}
		h.k[j], h.k[p] = h.k[p], h.k[j]
		j = p
	}
}

// drop pops the children at the top that ended by t.
func (h *kidHeap) drop(t int64) {
	for len(h.k) > 0 && h.s.end[h.k[0]] <= t {
		last := len(h.k) - 1
		h.k[0] = h.k[last]
		h.k = h.k[:last]
		for j := 0; ; {
			l, m := 2*j+1, j
			if l < len(h.k) && h.s.earlier(h.k[l], h.k[m]) {
				m = l
			}
			if l+1 < len(h.k) && h.s.earlier(h.k[l+1], h.k[m]) {
				m = l + 1
			}
			if m == j {
				break
			}
			h.k[j], h.k[m] = h.k[m], h.k[j]
			j = m
		}
	}
}

// serviceRows sums rows per (service, category), largest first (ties: the
// earlier first instant, then the order the rows came in).
func serviceRows(rows []model.BreakdownRow, took float64) []model.ServiceBreakdownRow {
	type key struct {
		svc string
		cat model.BreakdownCategory
	}
	at := map[key]int{}
	var out []model.ServiceBreakdownRow
	for _, r := range rows {
		k := key{r.ServiceName, r.Category}
		if j, ok := at[k]; ok {
			out[j].Duration += r.Duration
			if r.First.Before(out[j].First) {
				out[j].First = r.First
			}
			continue
		}
		at[k] = len(out)
		out = append(out, model.ServiceBreakdownRow{ServiceName: r.ServiceName, Category: r.Category, Duration: r.Duration, First: r.First})
	}
	for k := range out {
		out[k].Share = float64(out[k].Duration) / took
	}
	slices.SortStableFunc(out, func(x, y model.ServiceBreakdownRow) int {
		if x.Duration != y.Duration {
			if x.Duration > y.Duration {
				return -1
			}
			return 1
		}
		return x.First.Compare(y.First)
	})
	return out
}

// topRow is the top finding: the largest row that is not self when it is
// at least 10% of the duration, else the largest self row (else, when
// there is none, the largest row).
func topRow(rows []model.BreakdownRow, took time.Duration) int {
	if len(rows) == 0 {
		return -1
	}
	for k, r := range rows {
		if r.Category != model.CategorySelf {
			// rows are largest first: the first non-self row is the largest
			if int64(r.Duration)*10 >= int64(took) {
				return k
			}
			break
		}
	}
	for k, r := range rows {
		if r.Category == model.CategorySelf {
			return k
		}
	}
	return 0
}

// headline names the top finding and the next two rows in one sentence, e.g.
//
//	GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between
//	"Initiating call to data aggregator A" and "Received response from data
//	aggregator A" with no span running; 300 ms (20%) dashboard-service's own
//	time; 200 ms (13%) in user-service GET /users/{id}/preferences
func (s *state) headline(b *model.Breakdown) string {
	root := s.pathRoot
	name := s.t.Spans[root].Name
	if name == "" {
		name = s.label(root)
	}
	w := &writer{b: make([]byte, 0, 320)}
	w.str(name).str(" took ").str(ShortMillis(b.Took)).str(": ")
	named := []int{b.Top}
	for k := 0; k < len(b.Rows) && len(named) < 3; k++ {
		if k != b.Top {
			named = append(named, k)
		}
	}
	for n, k := range named {
		if n > 0 {
			w.str("; ")
		}
		r := &b.Rows[k]
		w.str(ShortMillis(r.Duration)).str(" (").str(SharePercent(r.Share)).str(") ")
		s.rowPhrase(w, r)
	}
	return w.String()
}

// rowPhrase says what one row's time was, for the headline.
func (s *state) rowPhrase(w *writer, r *model.BreakdownRow) {
	who := r.ServiceName
	if who == "" {
		who = s.label(int32(r.SpanIndex))
	}
	switch r.Category {
	case model.CategoryWaiting:
		w.str(who).str(" waiting between ")
		if r.FromMessage == "" {
			w.str("its span's start")
		} else {
			w.quote(r.FromMessage)
		}
		w.str(" and ")
		if r.ToMessage == "" {
			w.str("its span's end")
		} else {
			w.quote(r.ToMessage)
		}
		w.str(" with no span running")
	case model.CategorySelf:
		w.str(who).str("'s own time")
	case model.CategoryInCallee:
		w.str("in ").str(r.What)
	case model.CategoryNetwork:
		server := ""
		if kids := s.children(int32(r.SpanIndex)); len(kids) == 1 {
			server = s.t.Spans[kids[0]].ServiceName
		}
		w.str("on the network between ").str(who).str(" and ").str(server).
			str(" (the call's time its server span does not cover)")
	case model.CategoryFailedAttempt:
		what := r.What
		if what == "" {
			what = s.label(int32(r.SpanIndex))
		}
		w.str("in ").str(what).str(", a failed attempt that was retried")
	}
}

// ShortMillis writes a duration for people: whole milliseconds from 10 ms
// up, one decimal below ("1500 ms", "12 ms", "2.5 ms").
func ShortMillis(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
		if d < 0 { // MinInt64
			d = time.Duration(1<<63 - 1)
		}
	}
	tenths := (int64(d) + 50_000) / 100_000
	if tenths == 0 {
		return "0 ms"
	}
	var b []byte
	if neg {
		b = append(b, '-')
	}
	if tenths >= 100 {
		b = strconv.AppendInt(b, (int64(d)+500_000)/1_000_000, 10)
	} else {
		b = strconv.AppendInt(b, tenths/10, 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, tenths%10, 10)
	}
	return string(append(b, " ms"...))
}

// SharePercent writes a share (0.4) as a whole percentage ("40%"), "<1%"
// for a positive share that rounds to 0.
func SharePercent(share float64) string {
	p := int64(share*100 + 0.5)
	if p == 0 && share > 0 {
		return "<1%"
	}
	return strconv.FormatInt(p, 10) + "%"
}
