package model

import "time"

// Outcome is how a retried operation ended.
type Outcome string

// Retry outcomes, as docs/analysis.md defines them.
const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
	OutcomeUnknown   Outcome = "unknown"
)

// RetrySource says where a retry was found.
type RetrySource string

// Retry sources.
const (
	RetryFromLogs  RetrySource = "logs"
	RetryFromSpans RetrySource = "spans"
)

// Log is a log entry after extraction and the join: its normalised ids, the
// fields read from it and the span it belongs to.
type Log struct {
	Entry LogEntry
	// TraceID and SpanID are the normalised ids found in the entry ("" when absent).
	TraceID string
	SpanID  string
	// SpanIndex is the index into Trace.Spans of the span the entry belongs
	// to, or -1 for a trace-level entry (no span id, or an unknown one).
	SpanIndex int
	Message   string
	Level     string // lower-case; "" when the entry states none
	// Fields are the fields parsed from the line (JSON object or logfmt), in
	// the line's order, values as strings.
	Fields Labels
	// Stated is the duration the line states (duration_ms, elapsed_ms, duration).
	Stated    time.Duration
	HasStated bool
	// GapBefore is the time since the previous entry of the same span (0 for
	// the first entry of a span and for trace-level entries).
	GapBefore time.Duration
}

// SpanOverlap names a span and how much of an interval it covers.
type SpanOverlap struct {
	SpanID      string
	ServiceName string
	Operation   string
	Overlap     time.Duration
}

// Gap is log-derived waiting inside one span: the interval between two
// consecutive entries (or the span's start/end) of at least MinGap.
type Gap struct {
	SpanID      string
	SpanIndex   int
	Start       time.Time
	End         time.Time
	FromMessage string // message of the entry before the gap ("" when the span start bounds it)
	ToMessage   string // message of the entry after the gap ("" when the span end bounds it)
	// Callees are the children the gap is attributed to, with each overlap.
	Callees []SpanOverlap
	// Named is true when both bounding messages name the callees.
	Named bool
	// InCallees is the union of the callees' intervals inside the gap.
	InCallees time.Duration
	// Unaccounted is Duration() − InCallees.
	Unaccounted  time.Duration
	BeforeCallee time.Duration
	AfterCallee  time.Duration
	// OutsideTimer is the gap minus the duration the later line states, when
	// it states one shorter than the gap; HasStated says whether it states one.
	OutsideTimer time.Duration
	HasStated    bool
	// Concurrent are children overlapping the gap that are not its callees.
	Concurrent []SpanOverlap
	// Sentence is the warning a person reads.
	Sentence string
}

// Duration is the gap's length.
func (g *Gap) Duration() time.Duration { return g.End.Sub(g.Start) }

// Retry is one retry group: from one log line announcing a failed attempt,
// or from failed sibling spans repeated under one parent.
type Retry struct {
	SpanID    string // the span the retry happened in (logs) or the parent (spans)
	SpanIndex int
	Source    RetrySource
	Count     int
	Cost      time.Duration
	Outcome   Outcome
	Message   string // the announcing line's message, or the repeated operation
	// Start and End bound the retry's region: [line time − cost, line time]
	// for logs; the failed attempts' extent for spans.
	Start    time.Time
	End      time.Time
	Attempts []string // span ids of the failed attempts (spans source)
	Sentence string
}

// SpanFigures are the per-span results, parallel to Trace.Spans.
type SpanFigures struct {
	SelfTime       time.Duration
	Wait           time.Duration
	Unaccounted    time.Duration
	Network        time.Duration // CLIENT spans with a single SERVER child of another service
	HasNetwork     bool
	Retries        int
	LogCount       int
	OnCriticalPath bool
	// Warnings are the sentences shown on the span, in a stable order.
	Warnings []string
}

// GroupFigures are wait, unaccounted and retries summed over a group of
// spans (a service, a service+operation, or the whole trace).
type GroupFigures struct {
	ServiceName string
	Operation   string // "" for per-service and trace totals
	Wait        time.Duration
	Unaccounted time.Duration
	Retries     int
	Spans       int
}

// Analysis is everything the engine derives from one trace and its logs.
type Analysis struct {
	Trace   *Trace
	Figures []SpanFigures // parallel to Trace.Spans
	Logs    []Log         // entries of this trace, time-ordered (ties: input order)
	Gaps    []Gap         // ordered by span start, span id, gap start
	Retries []Retry       // ordered by span start, span id, region start

	CriticalPath []string // span ids, root first

	Services   []GroupFigures // one per service, sorted by name
	Operations []GroupFigures // one per service+operation, sorted
	Total      GroupFigures   // the whole trace

	Start time.Time // first span start
	End   time.Time // last span end

	TraceLevelLogs int // entries of the trace without a known span
	OtherTraceLogs int // entries of other traces, ignored
	DuplicateLogs  int // the same entry returned twice, dropped

	// TopFinding is the one finding every surface names: the breakdown's
	// headline (Breakdown.Headline); without a breakdown (no root span
	// with a duration), the gap with the most unaccounted time, else the
	// longest gap, else the costliest retry; "" when there is none.
	// Search tables show it per trace.
	TopFinding string

	// Breakdown is where the root span's duration went, in rows that add up
	// to it (docs/analysis.md, "Where the time went").
	Breakdown Breakdown

	// Comparison is this trace against others like it (docs/analysis.md,
	// "Compared with typical"); nil unless a comparison was asked for. The
	// engine never sets it: it needs the baseline's analyses (see
	// correlate.Compare).
	Comparison *Comparison

	// Notices are trace-level remarks for a person (e.g. trace-level logs).
	Notices []string
}
