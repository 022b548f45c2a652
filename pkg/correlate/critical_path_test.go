package correlate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestCriticalPath(t *testing.T) {
	tests := []struct {
		name  string
		spans []sp
		want  []string
	}{
		{
			name:  "sequential children are all on the path",
			spans: []sp{{id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 10, end: 40}, {id: "a2", parent: "a0", start: 50, end: 90}},
			want:  []string{"a0", "a1", "a2"},
		},
		{
			name:  "a child that finishes in another's shadow is not",
			spans: []sp{{id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 10, end: 90}, {id: "a2", parent: "a0", start: 20, end: 60}},
			want:  []string{"a0", "a1"},
		},
		{
			name:  "a child overflowing its parent is clipped, and counts",
			spans: []sp{{id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 50, end: 150}, {id: "a2", parent: "a0", start: 10, end: 30}},
			want:  []string{"a0", "a2", "a1"}, // in tree order: children by start
		},
		{
			name: "a child wholly outside its parent is left out, with its subtree",
			spans: []sp{{id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 120, end: 150},
				{id: "a2", parent: "a1", start: 130, end: 140}, {id: "a3", parent: "a0", start: 10, end: 20}},
			want: []string{"a0", "a3"},
		},
		{
			name:  "a child covering its whole parent leaves the parent no section of its own",
			spans: []sp{{id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 0, end: 100}},
			want:  []string{"a1"},
		},
		{
			name:  "a zero-length trace has no critical path",
			spans: []sp{{id: "a0", start: 5, end: 5}},
			want:  nil,
		},
		{
			name:  "several roots: the earliest is followed",
			spans: []sp{{id: "b0", start: 10, end: 500}, {id: "a0", start: 0, end: 100}, {id: "a1", parent: "a0", start: 10, end: 20}},
			want:  []string{"a0", "a1"},
		},
		{
			name:  "clock skew: a child starting before its parent is clipped",
			spans: []sp{{id: "a0", start: 100, end: 200}, {id: "a1", parent: "a0", start: 50, end: 150}},
			want:  []string{"a0", "a1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), nil, Options{})
			var want []string
			for _, id := range tc.want {
				want = append(want, pad16(id))
			}
			if !slices.Equal(a.CriticalPath, want) {
				t.Errorf("critical path %v, want %v", a.CriticalPath, want)
			}
		})
	}
}

// TestCriticalPathMatchesJaeger compares the iterative walk with a direct,
// recursive port of Jaeger UI's algorithm on random trees.
func TestCriticalPathMatchesJaeger(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 500 {
		n := 1 + rng.IntN(40)
		spans := make([]sp, n)
		for i := range spans {
			start := float64(rng.IntN(100))
			spans[i] = sp{id: fmt.Sprintf("%x", i+1), start: start, end: start + float64(rng.IntN(60))}
			if i > 0 {
				spans[i].parent = spans[rng.IntN(i)].id
			}
		}
		spans[0].start, spans[0].end = 0, 100
		a := Analyze(mkTrace(spans...), nil, Options{})
		want := jaegerCriticalPath(spans)
		gotSet := map[string]bool{}
		for _, id := range a.CriticalPath {
			gotSet[id] = true
		}
		for i, s := range spans {
			if gotSet[pad16(s.id)] != want[i] {
				t.Fatalf("trial %d: span %s on path: got %v, Jaeger %v\nspans %+v\npath %v", trial, s.id, gotSet[pad16(s.id)], want[i], spans, a.CriticalPath)
			}
		}
	}
}

// jaegerCriticalPath is Jaeger UI's critical path (sanitizeOverFlowingChildren,
// findLastFinishingChildSpan, computeCriticalPath) ported as directly as
// possible; it reports which spans have a section on the path.
func jaegerCriticalPath(spans []sp) []bool {
	type cps struct {
		start, end float64
		parent     int
		kids       []int
		alive      bool
	}
	idx := map[string]int{}
	for i, s := range spans {
		idx[s.id] = i
	}
	m := make([]cps, len(spans))
	for i, s := range spans {
		m[i] = cps{start: s.start, end: s.end, parent: -1, alive: true}
		if s.parent != "" {
			m[i].parent = idx[s.parent]
			m[idx[s.parent]].kids = append(m[idx[s.parent]].kids, i)
		}
	}
	// Children in start order, as the trace's span list is.
	for i := range m {
		slices.SortStableFunc(m[i].kids, func(a, b int) int {
			if m[a].start != m[b].start {
				if m[a].start < m[b].start {
					return -1
				}
				return 1
			}
			return a - b
		})
	}
	// Sanitize parents before children (pre-order).
	var order []int
	var walk func(i int)
	walk = func(i int) {
		order = append(order, i)
		for _, k := range m[i].kids {
			walk(k)
		}
	}
	walk(0)
	for _, i := range order[1:] {
		s := &m[i]
		p := &m[s.parent]
		if !p.alive {
			s.alive = false
			continue
		}
		switch {
		case s.start >= p.start && s.start >= p.end:
			s.alive = false
		case s.start >= p.start && s.end > p.end:
			s.end = p.end
		case s.start >= p.start:
		case s.end <= p.start:
			s.alive = false
		case s.end <= p.end:
			s.start = p.start
		default:
			s.start, s.end = p.start, p.end
		}
	}
	on := make([]bool, len(spans))
	lfc := func(i int, ret float64, returning bool) int {
		best, maxEnd := -1, -1.0
		for _, k := range m[i].kids {
			if !m[k].alive {
				continue
			}
			if (!returning || m[k].end < ret) && m[k].end > maxEnd {
				best, maxEnd = k, m[k].end
			}
		}
		return best
	}
	var cp func(i int, ret float64, returning bool)
	cp = func(i int, ret float64, returning bool) {
		end := m[i].end
		if returning {
			end = ret
		}
		if k := lfc(i, ret, returning); k >= 0 {
			if m[k].end != end {
				on[i] = true
			}
			cp(k, 0, false)
			return
		}
		if m[i].start != end {
			on[i] = true
		}
		if m[i].parent >= 0 {
			cp(m[i].parent, m[i].start, true)
		}
	}
	cp(0, 0, false)
	return on
}
