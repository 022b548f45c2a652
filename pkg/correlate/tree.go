package correlate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracegap/correlator/pkg/model"
)

// buildTree indexes the spans by id and links them into a forest. Real
// traces are often broken: a parent that Tempo never received, two spans
// with one id, parent links that loop. Each problem becomes a warning on
// the span and a notice, and the forest stays a forest, so that no later
// pass can loop forever.
func (s *state) buildTree() {
	t := s.t
	s.traceID, _ = model.NormalizeTraceID(t.TraceID)
	if s.traceID == "" && len(t.Spans) > 0 {
		s.traceID, _ = model.NormalizeTraceID(t.Spans[0].TraceID)
	}
	s.ids = make([]string, s.n)
	s.index = make(map[string]int32, s.n)
	s.late = map[int32][]string{}
	dups := 0
	for i := range t.Spans {
		id, ok := model.NormalizeSpanID(t.Spans[i].SpanID)
		if !ok {
			id = strings.ToLower(strings.TrimSpace(t.Spans[i].SpanID))
		}
		s.ids[i] = id
		if _, seen := s.index[id]; seen {
			dups++
			s.late[int32(i)] = append(s.late[int32(i)], fmt.Sprintf(
				"shares span id %q with an earlier span of the trace; logs and child spans naming that id are joined to the earlier span", id))
			continue
		}
		s.index[id] = int32(i)
	}

	s.parent = make([]int32, s.n)
	missing := 0
	for i := range t.Spans {
		s.parent[i] = -1
		raw := t.Spans[i].ParentSpanID
		if strings.TrimSpace(raw) == "" {
			continue
		}
		pid, ok := model.NormalizeSpanID(raw)
		if !ok {
			pid = strings.ToLower(strings.TrimSpace(raw))
		}
		p, found := s.index[pid]
		switch {
		case !found:
			missing++
			s.late[int32(i)] = append(s.late[int32(i)], fmt.Sprintf(
				"its parent span %q is not in the trace (the trace may be incomplete); it is shown as a root", pid))
		case p == int32(i):
			s.late[int32(i)] = append(s.late[int32(i)], "names itself as its parent; it is treated as a root")
		default:
			s.parent[i] = p
		}
	}
	loops := s.breakLoops()

	if dups > 0 {
		s.a.Notices = append(s.a.Notices, fmt.Sprintf(
			"%s the id of an earlier span; %s joined to the earlier span",
			agree(dups, "1 span repeats", "%d spans repeat"), agree(dups, "its logs and children are", "their logs and children are")))
	}
	if missing > 0 {
		s.a.Notices = append(s.a.Notices, fmt.Sprintf(
			"%s a parent that is not in the trace (the trace may be incomplete); %s",
			agree(missing, "1 span names", "%d spans name"), agree(missing, "it is shown as a root", "they are shown as roots")))
	}
	if loops > 0 {
		s.a.Notices = append(s.a.Notices, fmt.Sprintf(
			"the parent links of the trace form %s; %s broken at its earliest span, which is treated as a root",
			plural(loops, "loop", "loops"), agree(loops, "it was", "each was")))
	}

	s.linkChildren()
	s.sortOutput()
}

// breakLoops finds cycles of parent links and breaks each at its earliest
// span (the most plausible root). It returns how many it broke.
func (s *state) breakLoops() int {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make([]uint8, s.n)
	var path []int32
	loops := 0
	for i := range s.n {
		if mark[i] != unseen {
			continue
		}
		path = path[:0]
		j := int32(i)
		for j >= 0 && mark[j] == unseen {
			mark[j] = onPath
			path = append(path, j)
			j = s.parent[j]
		}
		if j >= 0 && mark[j] == onPath {
			pos := len(path) - 1
			for path[pos] != j {
				pos--
			}
			cycle := path[pos:]
			b := cycle[0]
			for _, k := range cycle[1:] {
				if s.start[k] < s.start[b] || s.start[k] == s.start[b] && k < b {
					b = k
				}
			}
			s.parent[b] = -1
			loops++
			s.late[b] = append(s.late[b], fmt.Sprintf(
				"its parent links loop back to it through %s; it is treated as a root", plural(len(cycle), "span", "spans")))
		}
		for _, k := range path {
			mark[k] = done
		}
	}
	return loops
}

// linkChildren builds the children lists (sorted by start, then index), the
// roots and a pre-order walk of the forest.
func (s *state) linkChildren() {
	n := s.n
	s.childOff = make([]int32, n+1)
	for i := range n {
		if p := s.parent[i]; p >= 0 {
			s.childOff[p+1]++
		}
	}
	for i := range n {
		s.childOff[i+1] += s.childOff[i]
	}
	s.childIdx = make([]int32, s.childOff[n])
	fill := slices.Clone(s.childOff[:n])
	for i := range n {
		if p := s.parent[i]; p >= 0 {
			s.childIdx[fill[p]] = int32(i)
			fill[p]++
		} else {
			s.roots = append(s.roots, int32(i))
		}
	}
	byStart := func(a, b int32) int {
		switch {
		case s.start[a] < s.start[b]:
			return -1
		case s.start[a] > s.start[b]:
			return 1
		}
		return int(a - b)
	}
	for i := range n {
		if kids := s.childIdx[s.childOff[i]:s.childOff[i+1]]; len(kids) > 1 {
			slices.SortFunc(kids, byStart)
		}
	}
	slices.SortFunc(s.roots, byStart)

	s.kStart = make([]int64, len(s.childIdx))
	s.kEnd = make([]int64, len(s.childIdx))
	s.kMaxEnd = make([]int64, len(s.childIdx))
	for i := range n {
		lo, hi := s.childOff[i], s.childOff[i+1]
		for k := lo; k < hi; k++ {
			c := s.childIdx[k]
			s.kStart[k], s.kEnd[k] = s.start[c], s.end[c]
			s.kMaxEnd[k] = s.end[c]
			if k > lo {
				s.kMaxEnd[k] = max(s.kMaxEnd[k], s.kMaxEnd[k-1])
			}
		}
	}

	// Pre-order with an explicit stack: a chain of 100k spans would
	// overflow nothing, but recursion would cost more and prove less.
	s.preorder = make([]int32, 0, n)
	stack := make([]int32, 0, 64)
	for r := len(s.roots) - 1; r >= 0; r-- {
		stack = append(stack, s.roots[r])
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s.preorder = append(s.preorder, i)
		kids := s.children(i)
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, kids[k])
		}
	}
}

// plural formats a count with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// agree picks the singular or plural form of a phrase; the plural may hold
// a %d for n.
func agree(n int, one, many string) string {
	if n == 1 {
		return one
	}
	if strings.Contains(many, "%d") {
		return fmt.Sprintf(many, n)
	}
	return many
}
