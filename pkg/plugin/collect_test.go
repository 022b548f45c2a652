package plugin

import (
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// A trace query collects the heap after its frames only from
// bigAnalysisSize spans and lines together.
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
		if got := bigAnalysis(tc.a); got != tc.want {
			t.Errorf("%s: bigAnalysis = %v, want %v", tc.name, got, tc.want)
		}
	}
}
