package correlate

import (
	"slices"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// poolTolerance is how close a call's start must be to another call's end
// for the two to be a slot of a pool handed on: clocks and rounding.
const poolTolerance = time.Millisecond

// minPoolCalls is the fewest calls that can show a pool: with fewer, "each
// started as another ended" happens by chance.
const minPoolCalls = 4

// findPools finds the children of each span that ran through a bounded
// pool (docs/analysis.md, "Messaging and bounded concurrency"): at least 4
// with one service and operation, at most k running at once (k below
// their number), and every one after the first k starting within 1 ms of
// another's end. Such calls would have taken as long as the longest of
// them had they all run at once; the finding says what the pool cost.
//
// k is at least 2: calls one after another (k = 1) are what sequential
// code and retries look like, and calling them a pool would be a guess.
func (s *state) findPools() {
	var buf []int32
	var ends []int64
	for _, i := range s.byRank {
		kids := s.children(i)
		if len(kids) < minPoolCalls {
			continue
		}
		// Group by service and operation, keeping start order in each.
		buf = append(buf[:0], kids...)
		slices.SortStableFunc(buf, func(a, b int32) int {
			x, y := &s.t.Spans[a], &s.t.Spans[b]
			if c := strings.Compare(x.ServiceName, y.ServiceName); c != 0 {
				return c
			}
			return strings.Compare(x.Name, y.Name)
		})
		var found []model.Finding
		for lo := 0; lo < len(buf); {
			hi := lo + 1
			for hi < len(buf) && s.sameCall(buf[lo], buf[hi]) {
				hi++
			}
			if hi-lo >= minPoolCalls {
				var f model.Finding
				if ends, f = s.pool(i, buf[lo:hi], ends); f.Calls > 0 {
					found = append(found, f)
				}
			}
			lo = hi
		}
		// The calls that started first are reported first.
		slices.SortStableFunc(found, func(a, b model.Finding) int { return a.Start.Compare(b.Start) })
		for _, f := range found {
			s.a.Findings = append(s.a.Findings, f)
			s.warn(i, f.Sentence)
		}
	}
	// Queue findings came first (findQueues); both go in span order.
	slices.SortStableFunc(s.a.Findings, func(a, b model.Finding) int {
		return int(s.spanRank[a.SpanIndex] - s.spanRank[b.SpanIndex])
	})
}

func (s *state) sameCall(a, b int32) bool {
	x, y := &s.t.Spans[a], &s.t.Spans[b]
	return x.ServiceName == y.ServiceName && x.Name == y.Name
}

// pool returns the pool finding of calls (one service and operation, in
// start order) under span i, or a zero Finding when they did not run
// through a pool. ends is scratch.
func (s *state) pool(i int32, calls []int32, ends []int64) ([]int64, model.Finding) {
	n := len(calls)
	ends = ends[:0]
	for _, c := range calls {
		ends = append(ends, s.end[c])
	}
	slices.Sort(ends)
	// The most that ran at once: sweep starts and ends in time order, an
	// end first on a tie (a call handing its slot on is not concurrent
	// with the one it hands it to).
	k, running, e := 0, 0, 0
	for _, c := range calls {
		for e < n && ends[e] <= s.start[c] {
			running--
			e++
		}
		running++
		k = max(k, running)
	}
	if k < 2 || k >= n {
		return ends, model.Finding{}
	}
	tol := int64(poolTolerance)
	for _, c := range calls[k:] {
		st := s.start[c]
		p, _ := slices.BinarySearch(ends, st-tol)
		near := 0
		for q := p; q < n && ends[q] <= st+tol; q++ {
			near++
		}
		if own := s.end[c]; own >= st-tol && own <= st+tol {
			near-- // its own end is not another call's
		}
		if near <= 0 {
			return ends, model.Finding{}
		}
	}
	first, last := s.start[calls[0]], ends[n-1]
	var longest time.Duration
	for _, c := range calls {
		longest = max(longest, dur(s.start[c], s.end[c]))
	}
	sp := &s.t.Spans[calls[0]]
	f := model.Finding{
		Kind: model.FindingPool, SpanID: s.ids[i], SpanIndex: int(i),
		Calls: n, Concurrency: k, Service: sp.ServiceName, Operation: sp.Name,
		Duration: dur(first, last), Longest: longest,
		Start: sp.Start, End: sp.Start.Add(dur(first, last)),
	}
	w := &writer{}
	w.int(n).str(" calls to ").str(s.label(calls[0])).str(" ran at most ").int(k).str(" at a time: ").
		ms(f.Duration).str(" from first start to last end; the longest took ").ms(longest)
	f.Sentence = w.String()
	return ends, f
}
