package model

import "time"

// SpanKind is the OTel span kind, lower-case without the SPAN_KIND_ prefix.
type SpanKind string

// Span kinds as OTel defines them.
const (
	KindUnspecified SpanKind = "unspecified"
	KindInternal    SpanKind = "internal"
	KindServer      SpanKind = "server"
	KindClient      SpanKind = "client"
	KindProducer    SpanKind = "producer"
	KindConsumer    SpanKind = "consumer"
)

// StatusCode is the OTel span status code.
type StatusCode string

// Status codes as OTel defines them.
const (
	StatusUnset StatusCode = "unset"
	StatusOK    StatusCode = "ok"
	StatusError StatusCode = "error"
)

// KeyValue is one attribute. Value is a string, int64, float64, bool, or a
// []any / map[string]any for OTel array and kvlist values.
type KeyValue struct {
	Key   string
	Value any
}

// SpanEvent is an OTel span event (a timestamped annotation inside a span).
type SpanEvent struct {
	Time       time.Time
	Name       string
	Attributes []KeyValue
}

// SpanLink is an OTel span link to another span, possibly of another trace.
type SpanLink struct {
	TraceID    string
	SpanID     string
	Attributes []KeyValue
}

// Span is one span of a trace. Ids are normalised (see NormalizeTraceID and
// NormalizeSpanID); ParentSpanID is "" for a root.
type Span struct {
	TraceID      string
	SpanID       string
	ParentSpanID string
	ServiceName  string // resource attribute service.name
	Name         string // operation name
	Kind         SpanKind
	Start        time.Time
	End          time.Time

	StatusCode    StatusCode
	StatusMessage string

	Attributes         []KeyValue
	ResourceAttributes []KeyValue
	Events             []SpanEvent
	Links              []SpanLink

	ScopeName    string // instrumentation library name
	ScopeVersion string // instrumentation library version
}

// Duration is End − Start (negative when the span's clock is broken).
func (s *Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Trace is one trace as Tempo returned it. Spans are in the order the
// decoder produced them; the engine does not rely on that order.
type Trace struct {
	TraceID string
	Spans   []Span
}

// Bounds returns the first span start and the last span end: the trace's
// duration as Tempo reports it. Both are zero for a trace without spans.
func (t *Trace) Bounds() (first, last time.Time) {
	for i := range t.Spans {
		s := &t.Spans[i]
		if first.IsZero() || s.Start.Before(first) {
			first = s.Start
		}
		if last.IsZero() || s.End.After(last) {
			last = s.End
		}
	}
	return first, last
}
