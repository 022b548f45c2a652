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
	// RetryFromBoth is a log line announcing a retry matched to the failed
	// attempt's span: one retry, shown by both.
	RetryFromBoth RetrySource = "both"
)

// Log is a log entry after extraction and the join: its normalised ids, the
// fields read from it and the span it belongs to.
type Log struct {
	// Entry is the entry as fetched (never nil in an Analysis), shared
	// with the fetched entries and read-only: a copy per Log was 11 MB of
	// a 100 000-line analysis's live heap, beside the entries it copied.
	Entry *LogEntry
	// TraceID and SpanID are the normalised ids found in the entry ("" when absent).
	TraceID string
	SpanID  string
	// SpanIndex is the index into Trace.Spans of the span the entry belongs
	// to, or -1 for a trace-level entry (no span id, or an unknown one).
	SpanIndex int
	Message   string
	Level     string // lower-case; "" when the entry states none
	// Fields are the fields parsed from the line (JSON object or logfmt), in
	// the line's order, values as strings, less those read as its trace id,
	// span id, message and level (the fields above hold them). For a span
	// event they are its attributes.
	Fields Labels
	// Stated is the duration the line states (duration_ms, elapsed_ms, duration).
	Stated time.Duration
	// GapBefore is the time since the previous entry of the same span (0 for
	// the first entry of a span and for trace-level entries).
	GapBefore time.Duration
	HasStated bool
	// FromEvent is true for an entry made from a span event (docs/analysis.md:
	// span events are log lines too), false for a Loki line. (The two
	// booleans side by side: 128 bytes a Log, not 136, 0.8 MB of a
	// 100 000-line analysis.)
	FromEvent bool
}

// JoinStats say how the log entries joined their spans, and why those that
// did not join did not (docs/analysis.md, Join).
type JoinStats struct {
	// Joined counts the entries of the trace that joined a span (span
	// events included).
	Joined int
	// NoSpanID counts the entries of the trace with no span id that could
	// be read; Sample is one of their lines, cut to 200 bytes.
	NoSpanID int
	Sample   string
	// UnknownSpan counts the entries naming a span that is not in the trace.
	UnknownSpan int
	// OtherTrace counts the entries of other traces, ignored.
	OtherTrace int
	// ByKnownID counts the joined entries that named their span only by
	// containing its id as a whole token.
	ByKnownID int
	// Events counts the span events that became entries; EventDuplicates
	// those dropped because they repeat a Loki line of their span.
	Events          int
	EventDuplicates int
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

// Retry is one retry, or one group of retries: from one log line
// announcing a failed attempt (Source logs, or both when the failed
// attempt's span is matched to the line), or from the failed attempts of
// one attempt group of sibling spans that no log line announced (spans).
// Each failed attempt is counted once, in exactly one Retry.
type Retry struct {
	SpanID    string // the span the retry happened in (logs, both) or the attempts' parent (spans)
	SpanIndex int
	Source    RetrySource
	Count     int
	Cost      time.Duration
	Outcome   Outcome
	Message   string // the announcing line's message, or the repeated operation
	// Start and End bound the retry's region: the failed attempts' extent
	// when spans show them (both, spans); else [line time − cost, line time].
	Start time.Time
	End   time.Time
	// LogTime is the announcing line's time (zero for the spans source).
	LogTime time.Time
	// Attempts are the span ids of the failed attempts counted by this
	// Retry (both: the matched span; spans: every counted one; logs: none).
	// Together over a.Retries they are exactly the spans whose
	// SpanFigures.FailedAttempt is true.
	Attempts []string
	Sentence string
}

// Finding kinds of the findings table.
const (
	FindingPool  = "pool"  // calls that ran through a bounded pool
	FindingQueue = "queue" // a message's time between its producer and its consumer
)

// Finding is a finding that is neither a gap nor a retry (docs/analysis.md,
// "Messaging and bounded concurrency"), on the span it concerns.
type Finding struct {
	Kind      string // FindingPool or FindingQueue
	SpanID    string // the parent of the pooled calls; the consumer of a message
	SpanIndex int
	// Calls is the number of pooled calls and Concurrency the most that ran
	// at once (pool); Service and Operation name the calls (pool) or the
	// producer (queue).
	Calls       int
	Concurrency int
	Service     string
	Operation   string
	// Duration is the time from the first call's start to the last call's
	// end (pool), or the queue time (queue). Longest is the longest call.
	Duration time.Duration
	Longest  time.Duration
	Start    time.Time
	End      time.Time
	Sentence string
}

// SpanFigures are the per-span results, parallel to Trace.Spans.
type SpanFigures struct {
	SelfTime    time.Duration
	Wait        time.Duration
	Unaccounted time.Duration
	Network     time.Duration // CLIENT spans with a single SERVER child of another service
	HasNetwork  bool
	Retries     int
	// FailedAttempt is true for a span that is a failed attempt counted as a
	// retry (in some Retry's Attempts): the breakdown's "failed attempt".
	FailedAttempt bool
	// Queue is a CONSUMER's time between its producer's end and its own
	// start, when HasQueue (its parent or a linked span is a PRODUCER).
	Queue          time.Duration
	HasQueue       bool
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
	// Findings are pool and queue findings, ordered by span start, span id.
	Findings []Finding

	CriticalPath []string // span ids, root first

	Services   []GroupFigures // one per service, sorted by name
	Operations []GroupFigures // one per service+operation, sorted
	Total      GroupFigures   // the whole trace

	Start time.Time // first span start
	End   time.Time // last span end

	TraceLevelLogs int // entries of the trace without a known span
	OtherTraceLogs int // entries of other traces, ignored
	DuplicateLogs  int // the same entry returned twice, dropped
	// Join says why entries did or did not join a span.
	Join JoinStats

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
