package correlate

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// Analyze joins entries to trace and derives every figure, gap, retry,
// warning and notice of docs/analysis.md. It never fails: bad data (missing
// parents, loops, duplicate ids, spans that end before they start) is
// analysed as well as it can be and described in warnings and notices.
// The result depends only on its arguments, and its order is stable.
func Analyze(trace *model.Trace, entries []model.LogEntry, opts Options) *model.Analysis {
	if trace == nil {
		trace = &model.Trace{}
	}
	s := newState(trace, entries, opts.withDefaults())
	s.buildTree()        // tree.go
	s.join(entries)      // join.go
	s.findGaps()         // gaps.go, attribution.go
	s.findRetries()      // retries.go
	s.computeFigures()   // figures.go
	s.findQueues()       // messaging.go
	s.findPools()        // pools.go
	s.findCriticalPath() // critical_path.go
	s.findAnomalies()    // anomalies.go
	s.breakdown()        // breakdown.go
	s.finish()           // findings.go
	return s.a
}

// state is what the passes share. Times are held as nanoseconds since base
// (the earliest span start): int64 arithmetic is much cheaper than
// time.Time in the inner loops, and time.Time.Sub saturates instead of
// overflowing on absurd input.
type state struct {
	opts Options
	t    *model.Trace
	a    *model.Analysis
	n    int
	base time.Time

	traceID string
	ids     []string // normalised span ids, parallel to t.Spans
	index   map[string]int32
	start   []int64
	end     []int64 // max(start, end): a span that ends before it starts is empty
	parent  []int32 // -1 for a root
	// Children of span i are childIdx[childOff[i]:childOff[i+1]], sorted by
	// start then index; kStart/kEnd/kMaxEnd are parallel to childIdx
	// (kMaxEnd is the running maximum of kEnd within each span's run).
	childOff  []int32
	childIdx  []int32
	kStart    []int64
	kEnd      []int64
	kMaxEnd   []int64
	roots     []int32
	preorder  []int32 // every span, parents before children
	spanRank  []int32 // position of each span in output order (start, id, index)
	byRank    []int32 // spans in output order
	rankStart []int   // span entries before the span at each rank (for work splitting)

	// Logs of span i are a.Logs[k] for k in logIdx[logOff[i]:logOff[i+1]],
	// time-ordered. logT is parallel to a.Logs.
	logOff []int32
	logIdx []int32
	logT   []int64

	// logFlag is parallel to a.Logs: whether the entry announces a retry,
	// and its severity class. The join computes it while the entry is hot
	// in the cache; the passes then read this small array instead of the
	// large Log structs, which they visit in span order, not memory order.
	logFlag []uint8

	// late holds warnings that go after the findings (tree problems).
	late map[int32][]string

	// The critical path's sections in time order, and the span they start
	// from (-1 when there is no root); see critical_path.go.
	sections []section
	pathRoot int32

	normSvc, normOp []string // lazily normalised names (see attribution.go)
	normDone        []bool
}

// newState sets up the shared state. Times are measured from the earliest
// span start; from the earliest entry when no span has a start, so that
// entries still sort by time (measured from the zero time, every real
// instant would saturate to the same value).
func newState(t *model.Trace, entries []model.LogEntry, opts Options) *state {
	n := len(t.Spans)
	s := &state{
		opts: opts,
		t:    t,
		n:    n,
		a: &model.Analysis{
			Trace:   t,
			Figures: make([]model.SpanFigures, n),
		},
	}
	first := true
	for i := range t.Spans {
		sp := &t.Spans[i]
		if sp.Start.IsZero() {
			continue
		}
		if first || sp.Start.Before(s.base) {
			s.base = sp.Start
		}
		first = false
	}
	for i := range entries {
		if tm := entries[i].Time; first && !tm.IsZero() && (s.base.IsZero() || tm.Before(s.base)) {
			s.base = tm
		}
	}
	s.start = make([]int64, n)
	s.end = make([]int64, n)
	for i := range t.Spans {
		sp := &t.Spans[i]
		s.start[i] = s.ns(sp.Start)
		s.end[i] = max(s.ns(sp.End), s.start[i])
		if i == 0 || sp.Start.Before(s.a.Start) {
			s.a.Start = sp.Start
		}
		if i == 0 || sp.End.After(s.a.End) {
			s.a.End = sp.End
		}
	}
	return s
}

// ns converts an instant to nanoseconds since base.
func (s *state) ns(t time.Time) int64 { return int64(t.Sub(s.base)) }

// dur is the length of [a, b] as a Duration, saturating rather than
// wrapping when absurd input puts the ends a few centuries apart.
func dur(a, b int64) time.Duration {
	d := b - a
	if (b >= a) != (d >= 0) {
		if b >= a {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return time.Duration(d)
}

// children returns span i's children, sorted by start.
func (s *state) children(i int32) []int32 { return s.childIdx[s.childOff[i]:s.childOff[i+1]] }

// spanLogs returns the indexes into a.Logs of span i's entries, in time order.
func (s *state) spanLogs(i int32) []int32 { return s.logIdx[s.logOff[i]:s.logOff[i+1]] }

// warn adds a warning to span i.
func (s *state) warn(i int32, w string) {
	s.a.Figures[i].Warnings = append(s.a.Figures[i].Warnings, w)
}

// label names a span for a sentence: "service operation".
func (s *state) label(i int32) string {
	sp := &s.t.Spans[i]
	return spanLabel(sp.ServiceName, sp.Name, s.ids[i])
}

// sortOutput computes the output order of spans: start, span id, index.
func (s *state) sortOutput() {
	s.byRank = make([]int32, s.n)
	for i := range s.byRank {
		s.byRank[i] = int32(i)
	}
	slices.SortFunc(s.byRank, func(a, b int32) int {
		if s.start[a] != s.start[b] {
			if s.start[a] < s.start[b] {
				return -1
			}
			return 1
		}
		if c := strings.Compare(s.ids[a], s.ids[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	s.spanRank = make([]int32, s.n)
	for r, i := range s.byRank {
		s.spanRank[i] = int32(r)
	}
}
