package demo

import (
	"encoding/json"
	"sort"
	"strconv"
)

// PushRequest is the body of Loki's JSON push API (POST /loki/api/v1/push):
// one stream per service, labelled service_name, each entry carrying the
// trace and span id as structured metadata (trace_id, span_id), the shape
// fixtures/real/scenario.json's lokiPushRequest sent to a real Loki.
type PushRequest struct {
	Streams []Stream `json:"streams"`
}

// Stream is one Loki stream: its labels and its entries.
type Stream struct {
	Labels  map[string]string `json:"stream"`
	Entries []Entry           `json:"values"`
}

// Entry is one log entry. It encodes as Loki's array form
// ["<unix ns>", "<line>", {"trace_id": …, "span_id": …}].
type Entry struct {
	UnixNano int64
	Line     string
	Metadata map[string]string
}

// MarshalJSON encodes the entry as Loki's three-element array.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{strconv.FormatInt(e.UnixNano, 10), e.Line, e.Metadata})
}

// LokiPush builds the push body for the traces' log lines. Within a
// stream, entries are in time order (ties keep the order written), which
// Loki accepts even where out-of-order writes are disabled.
func LokiPush(traces ...*Trace) *PushRequest {
	req := &PushRequest{}
	byService := map[string]int{}
	for _, t := range traces {
		for i := range t.Lines {
			l := &t.Lines[i]
			si, ok := byService[l.Service]
			if !ok {
				si = len(req.Streams)
				byService[l.Service] = si
				req.Streams = append(req.Streams, Stream{Labels: map[string]string{"service_name": l.Service}})
			}
			req.Streams[si].Entries = append(req.Streams[si].Entries, Entry{
				UnixNano: l.Time.UnixNano(),
				Line:     l.Text(t.TraceID),
				Metadata: map[string]string{"trace_id": t.TraceID, "span_id": l.SpanID},
			})
		}
	}
	for i := range req.Streams {
		es := req.Streams[i].Entries
		sort.SliceStable(es, func(a, b int) bool { return es[a].UnixNano < es[b].UnixNano })
	}
	return req
}
