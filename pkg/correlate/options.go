package correlate

import (
	"regexp"
	"time"
)

// DefaultMinGap is the shortest interval between two log entries that counts
// as a gap when Options.MinGap is zero.
const DefaultMinGap = 100 * time.Millisecond

// DefaultRetryPattern matches a log message announcing a failed attempt that
// will be tried again. "attempt 1 of 3" alone does not match on purpose: it
// announces an attempt, not a failure.
const DefaultRetryPattern = `(?i)retrying|will retry|attempt \d+ failed`

// DefaultGiveUpPattern matches a log message saying that a failed attempt
// will not be tried again: such a line is not a retry, and it makes the
// retry before it a failure.
const DefaultGiveUpPattern = `(?i)not retrying|giving up|no more retries|won't retry|will not retry|retries exhausted`

var defaultGiveUpRE = regexp.MustCompile(DefaultGiveUpPattern)

// defaultRetryRE is shared so that Analyze can recognise the default pattern
// and use the equivalent hand-written matcher (see retrymatch.go).
var defaultRetryRE = regexp.MustCompile(DefaultRetryPattern)

// Options configure one analysis. Zero-valued fields fall back to the
// defaults of DefaultOptions, so Options{} is a valid configuration.
type Options struct {
	// MinGap is the shortest gap reported; "at least" is inclusive.
	MinGap time.Duration
	// RetryPattern matches log messages that announce a retry.
	RetryPattern *regexp.Regexp
	// GiveUpPattern matches log messages that say a failed attempt will not
	// be retried ("giving up"): they are not retries, and fail the retry
	// before them.
	GiveUpPattern *regexp.Regexp
	// TraceIDFields, SpanIDFields, MessageFields and LevelFields are the keys
	// looked up, in order, in the line's fields, then in structured
	// metadata, then in stream labels.
	TraceIDFields []string
	SpanIDFields  []string
	MessageFields []string
	LevelFields   []string
	// MillisFields hold a stated duration as a number of milliseconds.
	MillisFields []string
	// DurationFields hold a stated duration as a Go duration string
	// ("200ms") or as a number of milliseconds.
	DurationFields []string
}

// DefaultOptions returns the defaults docs/analysis.md lists under "Inputs".
func DefaultOptions() Options {
	return Options{
		MinGap:         DefaultMinGap,
		RetryPattern:   defaultRetryRE,
		GiveUpPattern:  defaultGiveUpRE,
		TraceIDFields:  []string{"traceId", "trace_id", "traceID", "trace-id"},
		SpanIDFields:   []string{"spanId", "span_id", "spanID", "span-id"},
		MessageFields:  []string{"message", "msg", "log"},
		LevelFields:    []string{"level", "lvl", "severity", "severity_text", "detected_level"},
		MillisFields:   []string{"duration_ms", "elapsed_ms"},
		DurationFields: []string{"duration"},
	}
}

// withDefaults fills every zero-valued field from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MinGap <= 0 {
		o.MinGap = d.MinGap
	}
	if o.RetryPattern == nil {
		o.RetryPattern = d.RetryPattern
	}
	if o.GiveUpPattern == nil {
		o.GiveUpPattern = d.GiveUpPattern
	}
	if len(o.TraceIDFields) == 0 {
		o.TraceIDFields = d.TraceIDFields
	}
	if len(o.SpanIDFields) == 0 {
		o.SpanIDFields = d.SpanIDFields
	}
	if len(o.MessageFields) == 0 {
		o.MessageFields = d.MessageFields
	}
	if len(o.LevelFields) == 0 {
		o.LevelFields = d.LevelFields
	}
	if len(o.MillisFields) == 0 {
		o.MillisFields = d.MillisFields
	}
	if len(o.DurationFields) == 0 {
		o.DurationFields = d.DurationFields
	}
	return o
}
