package report

import (
	"slices"
	"strings"

	"github.com/tracegap/correlator/pkg/model"
)

// row is one span in waterfall order, with the tree drawing in front of it.
type row struct {
	span  int    // index into Trace.Spans
	depth int    // 0 for a root
	lead  string // tree drawing before the span's label ("├─ ", "│  └─ ", …)
	// cont is the tree drawing that continues below the span's line: its
	// detail lines are drawn after it.
	cont        string
	hasChildren bool
}

// waterfall orders the spans as a tree walk: roots by start time, each
// span's children by start time (ties by span id), so the picture reads top
// to bottom like a trace view. Spans whose parent is missing or that sit on
// a parent loop are shown as roots, as the engine treats them; a duplicate
// span id keeps its first span as the parent of the children that name it.
func waterfall(t *model.Trace) []row {
	n := len(t.Spans)
	ids := make([]string, n)
	index := make(map[string]int, n)
	for i := range t.Spans {
		ids[i] = normSpanID(t.Spans[i].SpanID)
		if _, dup := index[ids[i]]; !dup {
			index[ids[i]] = i
		}
	}
	children := make([][]int, n)
	var roots []int
	for i := range t.Spans {
		if raw := strings.TrimSpace(t.Spans[i].ParentSpanID); raw != "" {
			if p, ok := index[normSpanID(raw)]; ok && p != i {
				children[p] = append(children[p], i)
				continue
			}
		}
		roots = append(roots, i)
	}
	byStart := func(a, b int) int {
		if c := t.Spans[a].Start.Compare(t.Spans[b].Start); c != 0 {
			return c
		}
		if c := strings.Compare(ids[a], ids[b]); c != 0 {
			return c
		}
		return a - b
	}
	for i := range children {
		slices.SortFunc(children[i], byStart)
	}
	slices.SortFunc(roots, byStart)

	rows := make([]row, 0, n)
	seen := make([]bool, n)
	var walk func(i, depth int, lead, cont string)
	walk = func(i, depth int, lead, cont string) {
		seen[i] = true
		var kids []int
		for _, c := range children[i] {
			if !seen[c] {
				kids = append(kids, c)
			}
		}
		rows = append(rows, row{span: i, depth: depth, lead: lead, cont: cont, hasChildren: len(kids) > 0})
		for k, c := range kids {
			if seen[c] {
				continue // reached twice through a loop
			}
			if k == len(kids)-1 {
				walk(c, depth+1, cont+"└─ ", cont+"   ")
			} else {
				walk(c, depth+1, cont+"├─ ", cont+"│  ")
			}
		}
	}
	for _, r := range roots {
		walk(r, 0, "", "")
	}
	// What no root reaches sits on a parent loop: show each loop from its
	// earliest span, as the engine breaks it there.
	var rest []int
	for i := range seen {
		if !seen[i] {
			rest = append(rest, i)
		}
	}
	slices.SortFunc(rest, byStart)
	for _, i := range rest {
		if !seen[i] {
			walk(i, 0, "", "")
		}
	}
	return rows
}

// normSpanID compares span ids the way the engine does: normalised hex, or
// the trimmed lower-case text when an id is not hex.
func normSpanID(id string) string {
	if n, ok := model.NormalizeSpanID(id); ok {
		return n
	}
	return strings.ToLower(strings.TrimSpace(id))
}
