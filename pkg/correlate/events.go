package correlate

import (
	"fmt"
	"strconv"

	"github.com/tracegap/correlator/pkg/model"
)

// Span events are log lines too (docs/analysis.md, Inputs): an exception
// event, or the message a span logger records, says what the service did
// at that instant as a log line would. A trace whose services log only to
// span events then still gets gaps and retries, with Loki empty or down.

// eventRepeatWindow is how close in time a span event and a Loki line of
// the same span and message must be for the event to be that line.
const eventRepeatWindow = int64(1_000_000) // 1 ms

// eventEntries makes one entry per span event, and says which span each
// belongs to. The entry's line is the event's message; its structured
// metadata holds the event name ("event") and the attributes as strings,
// so that level and stated-duration keys are read from them as from any
// entry's metadata.
func (s *state) eventEntries() ([]model.LogEntry, []int32) {
	count := 0
	for i := range s.t.Spans {
		count += len(s.t.Spans[i].Events)
	}
	if count == 0 {
		return nil, nil
	}
	out := make([]model.LogEntry, 0, count)
	spans := make([]int32, 0, count)
	for i := range s.t.Spans {
		sp := &s.t.Spans[i]
		if len(sp.Events) == 0 {
			continue
		}
		stream := model.Labels{{Name: "service_name", Value: sp.ServiceName}, {Name: "source", Value: "span event"}}
		for k := range sp.Events {
			ev := &sp.Events[k]
			md := make(model.Labels, 0, len(ev.Attributes)+1)
			md = append(md, model.Label{Name: "event", Value: ev.Name})
			for _, kv := range ev.Attributes {
				md = append(md, model.Label{Name: kv.Key, Value: attrString(kv.Value)})
			}
			out = append(out, model.LogEntry{Time: ev.Time, Line: s.eventMessage(ev, md), Stream: stream, Metadata: md})
			spans = append(spans, int32(i))
		}
	}
	return out, spans
}

// eventMessage is what an event says: a message attribute (the configured
// message keys, as a span logger or OpenTracing's log bridge records it),
// else an exception's type and message, else the event's name.
func (s *state) eventMessage(ev *model.SpanEvent, md model.Labels) string {
	for _, k := range s.opts.MessageFields {
		if v, ok := md[1:].Get(k); ok && v != "" {
			return v
		}
	}
	if ev.Name == "exception" {
		typ, _ := md.Get("exception.type")
		msg, _ := md.Get("exception.message")
		switch {
		case typ != "" && msg != "":
			return typ + ": " + msg
		case msg != "":
			return msg
		case typ != "":
			return typ
		}
	}
	if ev.Name == "" {
		return "span event"
	}
	return ev.Name
}

// attrString writes an attribute value as a field value.
func attrString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// extractEvent reads an event's entry: its ids are its span's, its message
// the line, its level and stated duration from its attributes; an
// exception event without a level is an error.
func (x *Extractor) extractEvent(l *model.Log, e *model.LogEntry, traceID, spanID string) {
	var f found
	x.scan(&f, e.Metadata, false)
	level := lowerLevel(f.val[propLevel])
	if level == "" {
		if name, _ := e.Metadata.Get("event"); name == "exception" {
			level = "error"
		}
	}
	*l = model.Log{
		Entry:     e,
		TraceID:   traceID,
		SpanID:    spanID,
		SpanIndex: -1,
		Message:   e.Line,
		Level:     level,
		Fields:    e.Metadata,
		Stated:    f.stated,
		HasStated: f.has[propStated],
		FromEvent: true,
	}
}

// dropEventRepeats drops the span events that repeat a Loki line of their
// span (same message within 1 ms), compacting logs, flags and times in
// place (they are in time order); it returns the number kept.
func dropEventRepeats(logs []model.Log, flags []uint8, times []int64) int {
	drop := make([]bool, len(logs))
	for k := range logs {
		drop[k] = logs[k].FromEvent && repeatsLine(logs, times, k)
	}
	n := 0
	for k := range logs {
		if drop[k] {
			continue
		}
		if n != k {
			logs[n], flags[n], times[n] = logs[k], flags[k], times[k]
		}
		n++
	}
	return n
}

// repeatsLine reports whether a Loki line of event k's span with its
// message lies within eventRepeatWindow of it.
func repeatsLine(logs []model.Log, times []int64, k int) bool {
	ev := &logs[k]
	same := func(j int) bool {
		l := &logs[j]
		return !l.FromEvent && l.SpanIndex == ev.SpanIndex && l.Message == ev.Message
	}
	for j := k - 1; j >= 0 && times[k]-times[j] <= eventRepeatWindow; j-- {
		if same(j) {
			return true
		}
	}
	for j := k + 1; j < len(logs) && times[j]-times[k] <= eventRepeatWindow; j++ {
		if same(j) {
			return true
		}
	}
	return false
}

func countEvents(logs []model.Log) int {
	c := 0
	for k := range logs {
		if logs[k].FromEvent {
			c++
		}
	}
	return c
}
