package model

import "time"

// BreakdownCategory is what a piece of the critical path was spent on
// (docs/analysis.md, "Where the time went"). The first rule that holds at an
// instant decides, in the order of the constants below.
type BreakdownCategory string

// Breakdown categories, in the order their rules are tried.
const (
	CategoryFailedAttempt BreakdownCategory = "failed attempt"
	CategoryNetwork       BreakdownCategory = "network"
	CategoryInCallee      BreakdownCategory = "in callee"
	CategoryWaiting       BreakdownCategory = "waiting"
	CategorySelf          BreakdownCategory = "self"
)

// BreakdownRow is the time of one (span, category, callee or gap) on the
// critical path. The rows of a Breakdown tile the root span's duration.
type BreakdownRow struct {
	SpanID      string
	SpanIndex   int // index into Trace.Spans
	ServiceName string
	Operation   string
	Category    BreakdownCategory
	// Callee names the direct child for CategoryInCallee (and for
	// CategoryFailedAttempt when the failed attempt is a child of the span);
	// empty otherwise.
	CalleeSpanID    string
	CalleeService   string
	CalleeOperation string
	// FromMessage and ToMessage are the messages bounding the gap for
	// CategoryWaiting ("" for a span start or end boundary).
	FromMessage string
	ToMessage   string
	// What is the callee ("user-service GET /users/{id}/preferences") or the
	// gap's messages (`"Initiating call to X" → "Received response from X"`)
	// as a person reads it; "" for self and network.
	What     string
	Duration time.Duration
	// Share is Duration over Breakdown.Took, as a fraction (0.4 = 40%).
	Share float64
	// First is the row's earliest instant: ties in Duration sort by it.
	First time.Time
}

// ServiceBreakdownRow is the same time summed per (service, category).
type ServiceBreakdownRow struct {
	ServiceName string
	Category    BreakdownCategory
	Duration    time.Duration
	Share       float64
	First       time.Time
}

// Breakdown gives every millisecond of the root span's duration to exactly
// one span and one category. The zero value means "no root span".
type Breakdown struct {
	// RootSpanID is the span whose duration is broken down (the earliest
	// root when there are several).
	RootSpanID string
	// Took is the root span's duration: the rows sum to it.
	Took time.Duration
	// Rows are largest first (ties: the earlier First first).
	Rows []BreakdownRow
	// Services are the rows summed per (service, category), largest first.
	Services []ServiceBreakdownRow
	// Top is the index into Rows of the top finding (the largest non-self
	// row when it is at least 10% of Took, else the largest self row); -1
	// when there are no rows.
	Top int
	// Headline is the one sentence every surface leads with, e.g.
	// "GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting …".
	Headline string
}
