package explain

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

func TestPlanBatches(t *testing.T) {
	at := func(min float64) time.Time { return seedStart.Add(time.Duration(min * float64(time.Minute))) }
	win := func(id int, from, to float64) logWindow {
		return logWindow{id: fmt.Sprintf("%032x", id), start: at(from), end: at(to)}
	}
	many := func(n int, every float64) []logWindow {
		ws := make([]logWindow, n)
		for i := range ws {
			ws[i] = win(i+1, float64(i)*every, float64(i)*every+0.1)
		}
		return ws
	}
	tests := []struct {
		name    string
		windows []logWindow
		mode    loki.Mode
		want    []int // ids per batch
		spans   [][2]float64
	}{
		{"none", nil, loki.ModeLine, nil, nil},
		{"one", []logWindow{win(1, 0, 1)}, loki.ModeLine, []int{1}, [][2]float64{{0, 1}}},
		{"close together: one batch over their union", []logWindow{win(2, 3, 4), win(1, 0, 1), win(3, 5, 6)}, loki.ModeLine, []int{3}, [][2]float64{{0, 6}}},
		{"far apart: a batch each", []logWindow{win(1, 0, 1), win(2, 60, 61), win(3, 120, 121)}, loki.ModeAuto, []int{1, 1, 1}, [][2]float64{{0, 1}, {60, 61}, {120, 121}}},
		{"union over the window: split", many(30, 1), loki.ModeLine, []int{10, 10, 10}, [][2]float64{{0, 9.1}, {10, 19.1}, {20, 29.1}}},
		{"a long trace alone", []logWindow{win(1, 0, 25), win(2, 1, 2)}, loki.ModeLine, []int{1, 1}, [][2]float64{{0, 25}, {1, 2}}},
		{"more ids than a query holds", many(150, 0.01), loki.ModeLine, []int{loki.MaxBatchIDs, 50}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo := logOptions()
			lo.Mode = tc.mode
			bs, err := planBatches(tc.windows, lo, MaxBatchWindow)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != len(tc.want) {
				t.Fatalf("%d batches, want %d", len(bs), len(tc.want))
			}
			seen := map[string]bool{}
			for i, b := range bs {
				if len(b.ids) != tc.want[i] {
					t.Errorf("batch %d has %d ids, want %d", i, len(b.ids), tc.want[i])
				}
				if wantQ := map[loki.Mode]int{loki.ModeLine: 1, loki.ModeAuto: 2}[tc.mode]; len(b.queries) != wantQ {
					t.Errorf("batch %d: %d queries, want %d", i, len(b.queries), wantQ)
				}
				for _, id := range b.ids {
					if seen[id] {
						t.Errorf("%s in two batches", id)
					}
					seen[id] = true
					if !strings.Contains(b.queries[0], strings.TrimLeft(id, "0")) {
						t.Errorf("batch %d's query lacks %s", i, id)
					}
				}
				if tc.spans != nil && (!b.start.Equal(at(tc.spans[i][0])) || !b.end.Equal(at(tc.spans[i][1]))) {
					t.Errorf("batch %d covers [%v, %v), want minutes %v", i, b.start, b.end, tc.spans[i])
				}
			}
			if len(seen) != len(tc.windows) {
				t.Errorf("%d of %d traces batched", len(seen), len(tc.windows))
			}
		})
	}
	if _, err := planBatches([]logWindow{win(1, 0, 1)}, LogOptions{Selector: "nope"}, MaxBatchWindow); err == nil {
		t.Error("a bad selector must fail the plan")
	}
}

func TestSplitByTrace(t *testing.T) {
	a, b := "0af7651916cd43dd8448eb211c80319c", "00000000000000004bf92f3577b34da6"
	entry := func(line string, md ...model.Label) model.LogEntry {
		return model.LogEntry{Time: seedStart, Line: line, Metadata: md}
	}
	entries := []model.LogEntry{
		entry(`{"msg":"json field","traceId":"` + a + `"}`),
		entry(`plain text only metadata`, model.Label{Name: "trace_id", Value: strings.ToUpper(b)}),
		entry(`logfmt msg=hi trace_id=4bf92f3577b34da6`),
		entry(`free text mentions AF7651916CD43DD8448EB211C80319C somewhere`),
		entry(`{"msg":"another trace","traceId":"1234567890abcdef1234567890abcdef"}`),
		entry(`no id at all`),
	}
	got := splitByTrace(entries, []string{a, b}, LogOptions{})
	want := map[string][]int{a: {0, 3}, b: {1, 2}}
	for id, idx := range want {
		if len(got[id]) != len(idx) {
			t.Errorf("%s got %d entries, want %d: %v", id, len(got[id]), len(idx), got[id])
			continue
		}
		for k, i := range idx {
			if got[id][k].Line != entries[i].Line {
				t.Errorf("%s entry %d = %q, want %q", id, k, got[id][k].Line, entries[i].Line)
			}
		}
	}
	// With one trace in the batch, every line the query matched is its.
	if one := splitByTrace(entries[5:], []string{a}, LogOptions{}); len(one[a]) != 1 {
		t.Errorf("single-trace batch dropped a matched line: %v", one)
	}
}
