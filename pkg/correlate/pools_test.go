package correlate

import (
	"fmt"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// pooled is n calls to svc op under f0 run through a pool of k slots: the
// first k start at first, first+1, …; each later one starts as the
// earliest-free slot frees up. Durations in ms.
func pooled(k int, first float64, svc, op string, durations ...float64) []sp {
	free := make([]float64, k)
	var out []sp
	for n, d := range durations {
		slot := 0
		if n < k {
			slot, free[n] = n, first+float64(n)
		} else {
			for j := range free {
				if free[j] < free[slot] {
					slot = j
				}
			}
		}
		start := free[slot]
		free[slot] = start + d
		out = append(out, sp{id: fmt.Sprintf("c%d", n), parent: "f0", svc: svc, op: op, start: start, end: start + d, kind: model.KindClient})
	}
	return out
}

func TestPools(t *testing.T) {
	root := sp{id: "f0", svc: "planner", op: "GET /plan", start: 0, end: 400, kind: model.KindServer}
	tests := []struct {
		name string
		kids []sp
		want []string // the sentences of the pool findings on f0
	}{
		{
			// Slots end at 60, 71, 92; calls 4–10 start at 60, 71, 92, 100,
			// 122, 141, 160; the last ends at 220.
			name: "a pool of 3 over 10 calls",
			kids: pooled(3, 10, "route", "GET /route", 50, 60, 80, 40, 70, 30, 60, 50, 40, 60),
			want: []string{"10 calls to route GET /route ran at most 3 at a time: 210 ms from first start to last end; the longest took 80 ms"},
		},
		{
			name: "calls that merely overlap are not a pool",
			kids: []sp{
				{id: "c1", parent: "f0", svc: "route", op: "GET /route", start: 0, end: 100},
				{id: "c2", parent: "f0", svc: "route", op: "GET /route", start: 20, end: 150},
				{id: "c3", parent: "f0", svc: "route", op: "GET /route", start: 50, end: 120},
				{id: "c4", parent: "f0", svc: "route", op: "GET /route", start: 130, end: 200},
				{id: "c5", parent: "f0", svc: "route", op: "GET /route", start: 160, end: 260},
			},
		},
		{
			name: "all at once is not a pool",
			kids: pooled(4, 0, "route", "GET /route", 50, 60, 70, 80),
		},
		{
			name: "one after another is sequential code, not a pool of 1",
			kids: pooled(1, 0, "route", "GET /route", 50, 60, 70, 80),
		},
		{
			name: "fewer than 4 calls of one operation are not a pool",
			kids: append(pooled(2, 0, "route", "GET /route", 50, 60, 70),
				sp{id: "d1", parent: "f0", svc: "geo", op: "GET /geo", start: 50, end: 60}),
		},
		{
			name: "a pool hands on within 1 ms",
			kids: []sp{
				{id: "c1", parent: "f0", svc: "db", op: "SELECT", start: 0, end: 100},
				{id: "c2", parent: "f0", svc: "db", op: "SELECT", start: 0, end: 80},
				{id: "c3", parent: "f0", svc: "db", op: "SELECT", start: 80.6, end: 150},
				{id: "c4", parent: "f0", svc: "db", op: "SELECT", start: 100.9, end: 190},
			},
			want: []string{"4 calls to db SELECT ran at most 2 at a time: 190 ms from first start to last end; the longest took 100 ms"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(append([]sp{root}, tc.kids...)...), nil, Options{})
			var got []string
			for _, f := range a.Findings {
				if f.Kind != model.FindingPool || f.SpanID != pad16("f0") {
					t.Errorf("finding %+v", f)
				}
				got = append(got, f.Sentence)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pool findings\n got %q\nwant %q", got, tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, x := range a.Figures[0].Warnings {
					found = found || x == w
				}
				if !found {
					t.Errorf("warning %q not on the parent: %q", w, a.Figures[0].Warnings)
				}
			}
		})
	}
}
