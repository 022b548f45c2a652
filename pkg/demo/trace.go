package demo

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Kind is a span's kind, as OTLP names it.
type Kind int

// The span kinds the demo emits: handlers are SERVER spans, database and
// Prometheus queries are CLIENT spans (as in the seed).
const (
	KindServer Kind = iota + 1
	KindClient
)

// Attribute is one span attribute; Value is a string or an int64.
type Attribute struct {
	Key   string
	Value any
}

// Span is one span of a generated trace. Ids are lower-case hex.
type Span struct {
	SpanID     string
	ParentID   string // "" for the root
	Service    string // resource attribute service.name
	Name       string
	Kind       Kind
	Start, End time.Time
	Attributes []Attribute
	// Error marks the span's status as ERROR with StatusMessage.
	Error         bool
	StatusMessage string
}

// Duration is End − Start.
func (s *Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Line is one log line a service writes while serving the trace.
type Line struct {
	Service string // Loki stream label service_name
	Time    time.Time
	Level   string // INFO, WARN, ERROR, DEBUG
	Message string
	SpanID  string
	// Duration is the duration_ms the line states, when HasDuration.
	Duration    time.Duration
	HasDuration bool
	// Logfmt writes the line as logfmt (the edge gateway's format) instead
	// of JSON, so the plugin's logfmt path sees traffic too.
	Logfmt bool
}

// Facts are what the generator decided for one trace: what a person (or a
// test) should find when the trace is explained.
type Facts struct {
	// QueueA and QueueB are the time between widget-service logging
	// "Initiating call to data aggregator X" and X's span starting: network
	// and queueing that no span covers, visible only in the logs.
	QueueA, QueueB time.Duration
	// ReturnA and ReturnB are the time between X's span ending and
	// widget-service logging "Received response from data aggregator X".
	ReturnA, ReturnB time.Duration
	// Retries is how many Prometheus attempts timed out and were retried.
	Retries int
	// Failed is true when every Prometheus attempt timed out: the request
	// fails with error statuses up to the root.
	Failed bool
	// UserDBError is true when the preferences query failed (the request
	// still succeeds with default preferences).
	UserDBError bool
	// EarlyEnd is the seed's anomaly: widget-service's span ends before the
	// call to data-aggregator-b, whose span then lies outside its parent and
	// whose logs run past the parent's end.
	EarlyEnd bool
}

// Trace is one generated request: its spans, its log lines and the facts
// behind them.
type Trace struct {
	TraceID string
	Spans   []Span
	Lines   []Line
	Facts   Facts
}

// Root is the span without a parent (the first span).
func (t *Trace) Root() *Span { return &t.Spans[0] }

// Span returns the span with the id, or nil.
func (t *Trace) Span(id string) *Span {
	for i := range t.Spans {
		if t.Spans[i].SpanID == id {
			return &t.Spans[i]
		}
	}
	return nil
}

// Start is the earliest span start or line.
func (t *Trace) Start() time.Time {
	s := t.Spans[0].Start
	for i := range t.Spans {
		if t.Spans[i].Start.Before(s) {
			s = t.Spans[i].Start
		}
	}
	for i := range t.Lines {
		if t.Lines[i].Time.Before(s) {
			s = t.Lines[i].Time
		}
	}
	return s
}

// End is the latest span end or line.
func (t *Trace) End() time.Time {
	e := t.Spans[0].End
	for i := range t.Spans {
		if t.Spans[i].End.After(e) {
			e = t.Spans[i].End
		}
	}
	for i := range t.Lines {
		if t.Lines[i].Time.After(e) {
			e = t.Lines[i].Time
		}
	}
	return e
}

// Shift moves every timestamp by d. The runner generates a trace and then
// shifts it so that it ends "now": the request has just finished, as it
// would have when a real service exports it.
func (t *Trace) Shift(d time.Duration) {
	for i := range t.Spans {
		t.Spans[i].Start = t.Spans[i].Start.Add(d)
		t.Spans[i].End = t.Spans[i].End.Add(d)
	}
	for i := range t.Lines {
		t.Lines[i].Time = t.Lines[i].Time.Add(d)
	}
}

// isoMillis is the timestamp format of the seed's log lines.
const isoMillis = "2006-01-02T15:04:05.000Z"

// Text renders the line as the service writes it: a JSON object with the
// seed's keys in the seed's order, or a logfmt line for the edge gateway.
func (l *Line) Text(traceID string) string {
	ts := l.Time.UTC().Format(isoMillis)
	if l.Logfmt {
		var b strings.Builder
		b.WriteString("ts=" + ts + " level=" + strings.ToLower(l.Level) + " msg=" + strconv.Quote(l.Message))
		b.WriteString(" trace_id=" + traceID + " span_id=" + l.SpanID)
		if l.HasDuration {
			b.WriteString(" duration_ms=" + strconv.FormatInt(l.Duration.Milliseconds(), 10))
		}
		return b.String()
	}
	line := jsonLine{Timestamp: ts, Level: l.Level, Message: l.Message, TraceID: traceID, SpanID: l.SpanID}
	if l.HasDuration {
		ms := l.Duration.Milliseconds()
		line.DurationMS = &ms
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages are written as the service wrote them
	if err := enc.Encode(line); err != nil {
		panic(err) // a struct of strings and an int always encodes
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// jsonLine fixes the key order of a JSON log line to the seed's.
type jsonLine struct {
	Timestamp  string `json:"timestamp"`
	Level      string `json:"level"`
	Message    string `json:"message"`
	TraceID    string `json:"traceId"`
	SpanID     string `json:"spanId"`
	DurationMS *int64 `json:"duration_ms,omitempty"`
}

// newTraceID draws a 128-bit trace id that is not all zeros (OTLP rejects
// an all-zero id).
func newTraceID(rng *rand.Rand) string {
	for {
		hi, lo := rng.Uint64(), rng.Uint64()
		if hi|lo != 0 {
			return hex64(hi) + hex64(lo)
		}
	}
}

// newSpanID draws a non-zero 64-bit span id.
func newSpanID(rng *rand.Rand) string {
	for {
		if v := rng.Uint64(); v != 0 {
			return hex64(v)
		}
	}
}

func hex64(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 16-len(s)) + s
}
