package plugin

import (
	"slices"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// A trace query collects the heap after its frames from bigAnalysisSize
// spans and lines together, counted on a fresh collector.
func TestBigAnalysis(t *testing.T) {
	sized := func(spans, logs int) *model.Analysis {
		return &model.Analysis{Trace: &model.Trace{Spans: make([]model.Span, spans)}, Logs: make([]model.Log, logs)}
	}
	for _, tc := range []struct {
		name string
		a    *model.Analysis
		want bool
	}{
		{"no analysis", nil, false},
		{"no trace, lines only, below", &model.Analysis{Logs: make([]model.Log, bigAnalysisSize-1)}, false},
		{"no trace, lines only, at", &model.Analysis{Logs: make([]model.Log, bigAnalysisSize)}, true},
		{"spans and lines one short", sized(1_000, bigAnalysisSize-1_001), false},
		{"spans and lines together", sized(1_000, bigAnalysisSize-1_000), true},
		{"the 1 000-span benchmark trace", sized(1_000, 10_908), false},
		{"the 10 000-span benchmark trace", sized(10_000, 100_004), true},
	} {
		if got := new(collector).due(tc.a); got != tc.want {
			t.Errorf("%s: due = %v on a fresh collector, want %v", tc.name, got, tc.want)
		}
	}
}

// TestCollectorCountsSmallAnalyses: analyses under the size collect once
// those since the last collection add up to it, and a collection starts
// the count again.
func TestCollectorCountsSmallAnalyses(t *testing.T) {
	small := &model.Analysis{Trace: &model.Trace{Spans: make([]model.Span, 1_000)}, Logs: make([]model.Log, 10_908)} // 11 908
	big := &model.Analysis{Logs: make([]model.Log, bigAnalysisSize)}
	var c collector
	var got []bool
	for _, a := range []*model.Analysis{small, small, small, nil, small, big, small, small} {
		got = append(got, c.due(a))
	}
	want := []bool{false, true, false, false, true, true, false, true}
	if !slices.Equal(got, want) {
		t.Errorf("due over the sequence %v, want %v", got, want)
	}
}
