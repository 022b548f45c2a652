package correlate

import "slices"

// findCriticalPath computes the critical path as Jaeger's UI does
// (packages/jaeger-ui/src/components/TracePage/CriticalPath): start at the
// root's end and repeatedly descend into the last-finishing child that
// ended before the current point; when none is left, the rest of the span
// back to its start is on the path and the walk returns to the parent at
// the span's start. Children that overflow their parent are clipped to it
// first, and those wholly outside it are left out with their subtrees. A
// span is on the path when one of its sections has a positive length.
//
// The walk is iterative and each span is entered at most once (a cursor
// per span only moves forward, because the returning point strictly
// decreases), so it is linear after sorting and cannot loop.
func (s *state) findCriticalPath() {
	s.pathRoot = -1
	if len(s.roots) == 0 {
		return
	}
	// Jaeger starts from the first span in start order; among several roots
	// of a broken trace, prefer the earliest, then the longest.
	root := s.roots[0]
	for _, r := range s.roots[1:] {
		if s.start[r] < s.start[root] || s.start[r] == s.start[root] && s.end[r] > s.end[root] {
			root = r
		}
	}

	// Clip top-down so that a clipped parent clips its children.
	n := s.n
	cs, ce := make([]int64, n), make([]int64, n)
	alive := make([]bool, n)
	cs[root], ce[root], alive[root] = s.start[root], s.end[root], true
	stack := []int32{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range s.children(p) {
			st, en := s.start[c], s.end[c]
			// Jaeger tests "inside" first, so a zero-length child at its
			// parent's very end is kept, not dropped.
			inside := st >= cs[p] && en <= ce[p]
			if !inside && (st >= ce[p] || en <= cs[p]) {
				continue // wholly outside its parent: dropped with its subtree
			}
			cs[c], ce[c], alive[c] = max(st, cs[p]), min(en, ce[p]), true
			stack = append(stack, c)
		}
	}

	// Children by clipped end, latest first (ties: start order, as Jaeger's
	// stable sort keeps them), built only for the spans the walk enters.
	sorted := make([][]int32, n)
	cursor := make([]int32, n)
	kidsOf := func(p int32) []int32 {
		if sorted[p] == nil {
			var ks []int32
			for _, c := range s.children(p) {
				if alive[c] {
					ks = append(ks, c)
				}
			}
			slices.SortStableFunc(ks, func(a, b int32) int {
				switch {
				case ce[a] > ce[b]:
					return -1
				case ce[a] < ce[b]:
					return 1
				}
				return 0
			})
			if ks == nil {
				ks = []int32{}
			}
			sorted[p] = ks
		}
		return sorted[p]
	}

	// The walk goes backwards in time: its sections come latest first and
	// are put in time order at the end.
	s.pathRoot = root
	on := make([]bool, n)
	cur, ret, returning := root, int64(0), false
	for steps := 0; steps <= 2*n+2; steps++ {
		kids := kidsOf(cur)
		next := int32(-1)
		if !returning {
			if len(kids) > 0 {
				next = kids[0]
				cursor[cur] = 1
			}
		} else {
			c := cursor[cur]
			for int(c) < len(kids) && ce[kids[c]] >= ret {
				c++
			}
			if int(c) < len(kids) {
				next = kids[c]
				c++
			}
			cursor[cur] = c
		}
		secEnd := ce[cur]
		if returning {
			secEnd = ret
		}
		if next >= 0 {
			if ce[next] != secEnd {
				on[cur] = true
				s.sections = append(s.sections, section{cur, ce[next], secEnd})
			}
			cur, returning = next, false
			continue
		}
		if cs[cur] != secEnd {
			on[cur] = true
			s.sections = append(s.sections, section{cur, cs[cur], secEnd})
		}
		if cur == root {
			break
		}
		ret, returning, cur = cs[cur], true, s.parent[cur]
	}

	slices.Reverse(s.sections)

	// Spans that share an id are listed once: consumers know spans by id.
	listed := map[string]bool{}
	for _, i := range s.preorder {
		if on[i] {
			s.a.Figures[i].OnCriticalPath = true
			if !listed[s.ids[i]] {
				listed[s.ids[i]] = true
				s.a.CriticalPath = append(s.a.CriticalPath, s.ids[i])
			}
		}
	}
}

// section is one piece of the critical path: span i from lo to hi (ns since
// base), hi > lo.
type section struct {
	span   int32
	lo, hi int64
}
