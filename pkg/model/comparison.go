package model

import "time"

// MinBaseline is the fewest baseline traces a comparison is made with
// (docs/analysis.md, "Compared with typical"): with fewer, a median says
// nothing about what is typical.
const MinBaseline = 3

// ComparisonKey is what a breakdown row is compared by across traces: the
// span's service and operation, the row's category and what it names (the
// callee's service and operation, or the gap's two messages normalised so
// that the same wait in another trace, with other ids and counts in its
// lines, has the same key).
type ComparisonKey struct {
	ServiceName string
	Operation   string
	Category    BreakdownCategory
	What        string
}

// ComparisonRow is one key's time in this trace against the baseline.
type ComparisonRow struct {
	ComparisonKey
	// This is the key's time in this trace (0 when only the baseline has it).
	This time.Duration
	// Median and P90 are over every baseline trace, a trace without the
	// key counting 0.
	Median time.Duration
	P90    time.Duration
	// SeenIn is how many baseline traces have the key.
	SeenIn int
	// Delta is This − Median: the rows are ranked by it, largest first.
	Delta time.Duration
	// From and To are a wait's two messages normalised ("" for a span
	// boundary, and for the other categories).
	From, To string
	// SpanIndexes are this trace's spans (indexes into Trace.Spans) whose
	// breakdown rows have the key; empty when only the baseline has it.
	SpanIndexes []int
}

// Comparison is a trace against the baseline: other traces of the same
// root service and operation (docs/analysis.md, "Compared with typical").
// When there are fewer than MinBaseline baseline traces, Rows and Sentence
// are empty and Notice says why.
type Comparison struct {
	// RootService and RootOperation name the root the baseline shares.
	RootService   string
	RootOperation string
	// Took is this trace's root span duration, TypicalTook the median of
	// the baseline's.
	Took        time.Duration
	TypicalTook time.Duration
	// Baseline is the number of baseline traces compared with.
	Baseline int
	// Rows are largest Delta first (ties: larger This, then the key).
	Rows []ComparisonRow
	// Top is the index into Rows of the row the sentence names (the
	// largest positive Delta); -1 when no key took longer than typical.
	Top int
	// Sentence is the one line a person reads, e.g. "GET /orders took
	// 5167 ms, 4400 ms more than the median of 20 like it (767 ms); +4200
	// ms is mysql SQL SELECT waiting between …".
	Sentence string
	// Notice says why there is no comparison ("" when there is one).
	Notice string
}

// TypicalDuration is a search candidate's duration as Tempo reports it and
// the median duration of the other candidates with the same root service
// and operation (HasTypical false when there are none).
type TypicalDuration struct {
	Duration   time.Duration
	Typical    time.Duration
	HasTypical bool
}
