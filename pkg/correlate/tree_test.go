package correlate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

func TestBrokenTrees(t *testing.T) {
	tests := []struct {
		name     string
		spans    []sp
		parents  map[string]string // span → parent after the tree pass ("" for a root)
		warnings map[string][]string
		notices  []string
	}{
		{
			name:    "missing parent: an incomplete trace",
			spans:   []sp{{id: "a1", start: 0, end: 100}, {id: "a2", parent: "ff", start: 10, end: 20}},
			parents: map[string]string{"a1": "", "a2": ""},
			warnings: map[string][]string{"a2": {
				`its parent span "00000000000000ff" is not in the trace (the trace may be incomplete); it is shown as a root`}},
			notices: []string{"1 span names a parent that is not in the trace (the trace may be incomplete); it is shown as a root"},
		},
		{
			name: "parent links in a loop are broken at the earliest span",
			spans: []sp{{id: "b2", parent: "b1", start: 10, end: 20}, {id: "b1", parent: "b3", start: 0, end: 100},
				{id: "b3", parent: "b2", start: 5, end: 50}, {id: "b4", parent: "b1", start: 30, end: 40}},
			parents: map[string]string{"b1": "", "b2": "b1", "b3": "b2", "b4": "b1"},
			warnings: map[string][]string{
				"b1": {"its parent links loop back to it through 3 spans; it is treated as a root"},
				"b3": {"starts 5 ms before its parent span 00000000000000b2 started and ends 30 ms after it ended (the hosts' clocks disagree)"},
			},
			notices: []string{"the parent links of the trace form 1 loop; it was broken at its earliest span, which is treated as a root"},
		},
		{
			name:     "a span that is its own parent",
			spans:    []sp{{id: "c1", parent: "c1", start: 0, end: 10}},
			parents:  map[string]string{"c1": ""},
			warnings: map[string][]string{"c1": {"names itself as its parent; it is treated as a root"}},
		},
		{
			name:    "duplicate span ids: children join the first",
			spans:   []sp{{id: "d1", start: 0, end: 100}, {id: "d1", start: 0, end: 50}, {id: "d2", parent: "d1", start: 10, end: 20}},
			parents: map[string]string{"d2": "d1"},
			warnings: map[string][]string{"d1#1": {
				`shares span id "00000000000000d1" with an earlier span of the trace; logs and child spans naming that id are joined to the earlier span`}},
			notices: []string{"1 span repeats the id of an earlier span; its logs and children are joined to the earlier span"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mkTrace(tc.spans...)
			s := newState(tr, nil, DefaultOptions())
			s.buildTree()
			for i, sp := range tc.spans {
				want, ok := tc.parents[sp.id]
				if !ok {
					continue
				}
				got := ""
				if p := s.parent[i]; p >= 0 {
					got = tc.spans[p].id
				}
				if got != want && !(i > 0 && tc.spans[i-1].id == sp.id) {
					t.Errorf("parent of %s = %q, want %q", sp.id, got, want)
				}
			}
			a := Analyze(tr, nil, Options{})
			for i, span := range tc.spans {
				key := span.id
				if slices.IndexFunc(tc.spans[:i], func(o sp) bool { return o.id == span.id }) >= 0 {
					key += "#1"
				}
				if got := a.Figures[i].Warnings; !slices.Equal(got, tc.warnings[key]) {
					t.Errorf("warnings of %s = %q, want %q", key, got, tc.warnings[key])
				}
			}
			notices := slices.DeleteFunc(slices.Clone(a.Notices), func(n string) bool { return strings.HasPrefix(n, "no log entries") })
			if !slices.Equal(notices, tc.notices) {
				t.Errorf("notices %q, want %q", notices, tc.notices)
			}
			if len(a.CriticalPath) == 0 {
				t.Errorf("no critical path")
			}
		})
	}
}

func TestEmptyInputs(t *testing.T) {
	for name, tr := range map[string]*model.Trace{"nil trace": nil, "no spans": {TraceID: testTraceID}} {
		t.Run(name, func(t *testing.T) {
			a := Analyze(tr, []model.LogEntry{jl("a1", 0, "hello"), jl("", 5, "only a trace id")}, Options{})
			if a.Trace == nil || len(a.Figures) != 0 || len(a.Gaps) != 0 || len(a.CriticalPath) != 0 {
				t.Errorf("unexpected result %+v", a)
			}
			if len(a.Logs) != 2 || a.TraceLevelLogs != 2 {
				t.Errorf("logs %d trace-level %d, want both kept as trace-level", len(a.Logs), a.TraceLevelLogs)
			}
		})
	}
	a := Analyze(mkTrace(sp{id: "a1", start: 0, end: 10}), nil, Options{})
	if len(a.Notices) != 1 || !strings.HasPrefix(a.Notices[0], "no log entries were found for this trace") {
		t.Errorf("notices %q, want one about the missing logs", a.Notices)
	}
}

// TestDeepChain checks that nothing recurses per level: a chain of 100k
// spans would exhaust a recursive walk's patience, not its stack, so this
// mostly proves the passes stay linear.
func TestDeepChain(t *testing.T) {
	const n = 100_000
	spans := make([]sp, n)
	for i := range spans {
		spans[i] = sp{id: fmt.Sprintf("%x", i+1), start: float64(i) / 1000, end: float64(2*n-i) / 1000}
		if i > 0 {
			spans[i].parent = spans[i-1].id
		}
	}
	a := Analyze(mkTrace(spans...), nil, Options{})
	if len(a.CriticalPath) != n {
		t.Errorf("critical path has %d spans, want all %d", len(a.CriticalPath), n)
	}
}
