package bigtrace

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Tempo is a fake Tempo that answers GET /api/v2/traces/{id} with a
// preloaded protobuf body for one trace id, and, as Tempo does for an id it
// does not have, 200 with an empty body.
type Tempo struct {
	// Latency delays every answer, like a real Tempo's lookup time.
	Latency time.Duration

	traceID string
	body    []byte

	requests atomic.Int64
	served   atomic.Int64
}

// NewTempo serves body (a TraceByIDResponse) for traceID (lower-case hex).
func NewTempo(traceID string, body []byte) *Tempo {
	return &Tempo{traceID: traceID, body: body}
}

// Requests is the number of trace requests answered so far.
func (t *Tempo) Requests() int64 { return t.requests.Load() }

// BytesServed is the number of body bytes written so far.
func (t *Tempo) BytesServed() int64 { return t.served.Load() }

// ServeHTTP answers the v2 trace-by-id endpoint in protobuf.
func (t *Tempo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/api/v2/traces/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	t.requests.Add(1)
	if t.Latency > 0 {
		select {
		case <-time.After(t.Latency):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/protobuf")
	if id != t.traceID {
		return // Tempo 2.5+: 200 with an empty trace
	}
	n, _ := w.Write(t.body)
	t.served.Add(int64(n))
}
