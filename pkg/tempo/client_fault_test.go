package tempo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// Tempo misbehaving on purpose, seen through the client the plugin uses:
// every fault ends in a trace or a clear, downstream error, never in a
// misleading "trace not found".

func zip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTraceFaults(t *testing.T) {
	pb := fixtures.Load(t, "tempo/trace_v2_protobuf").Body
	v2JSON := fixtures.Load(t, "tempo/trace_v2_json").Body
	v2 := "/api/v2/traces/" + seedID
	v1 := "/api/traces/" + seedID

	type answer struct {
		status      int
		contentType string
		encoding    string
		retryAfter  string
		body        []byte
	}
	reply := func(answers ...answer) http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, _ *http.Request) {
			a := answers[min(int(n.Add(1))-1, len(answers)-1)]
			if a.contentType != "" {
				w.Header().Set("Content-Type", a.contentType)
			}
			if a.encoding != "" {
				w.Header().Set("Content-Encoding", a.encoding)
			}
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			w.WriteHeader(a.status)
			_, _ = w.Write(a.body)
		}
	}
	const proxyPage = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"

	tests := []struct {
		name     string
		routes   []fixtures.Route
		opts     []Option
		spans    int      // > 0: the trace must come back with that many spans
		says     []string // otherwise the error must say these
		requests int
	}{
		{name: "429 then the trace", requests: 2, spans: 9, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 429, retryAfter: "0", body: []byte("rate limited")},
			answer{status: 200, contentType: "application/protobuf", body: pb})}}},
		{name: "429 every time", requests: 3, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 429, retryAfter: "0", body: []byte("rate limited")})}},
			says: []string{"Tempo at", "is rate-limiting requests (HTTP 429: rate limited after 3 attempts)"}},
		{name: "503 is not retried and does not fall back to v1", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 503, body: []byte("no queriers")})}},
			says: []string{"failed (HTTP 503: no queriers)", "check that Tempo is healthy"}},
		{name: "truncated protobuf", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(pb[:len(pb)/2])
		})}}, says: []string{"was cut off after", "of the 100000 announced"}},
		{name: "proxy page instead of the trace", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 502, contentType: "text/html", body: []byte(proxyPage)})}},
			says: []string{"got an HTML page (HTTP 502, titled \"502 Bad Gateway\"), probably a proxy or login page, not Tempo"}},
		{name: "proxy 404 pages are not an unknown trace", requests: 2, routes: []fixtures.Route{
			{Path: v2, Handler: reply(answer{status: 404, contentType: "text/html", body: []byte("<html><title>Not Found</title></html>")})},
			{Path: v1, Handler: reply(answer{status: 404, contentType: "text/html", body: []byte("<html><title>Not Found</title></html>")})}},
			says: []string{"got an HTML page (HTTP 404", "not Tempo", "tempoUrl"}},
		{name: "login page with 200 is not an empty trace", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "text/html", body: []byte("<!DOCTYPE html><html><title>Sign in</title><body>user</body></html>")})}},
			says: []string{"got an HTML page (HTTP 200, titled \"Sign in\")"}},
		{name: "gzip nobody asked for", requests: 1, spans: 9, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "application/protobuf", encoding: "gzip", body: zip(t, pb)})}}},
		{name: "brotli", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "application/protobuf", encoding: "br", body: []byte{0x8b, 0x02}})}},
			says: []string{`compressed as "br", which Tracegap cannot read`}},
		{name: "JSON answer labelled as JSON", requests: 1, spans: 9, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "application/json", body: v2JSON})}}},
		{name: "protobuf labelled as text", requests: 1, spans: 9, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "text/plain; charset=utf-8", body: pb})}}},
		{name: "protobuf labelled as JSON", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "application/json", body: pb})}},
			says: []string{"is not a Tempo trace", "tempoUrl"}},
		{name: "plain text with 200", requests: 1, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "text/plain", body: []byte("OK\n")})}},
			says: []string{"is not a Tempo trace"}},
		{name: "trace above maxTraceMB", requests: 1, opts: []Option{WithMaxBodyBytes(1024)}, routes: []fixtures.Route{{Path: v2, Handler: reply(
			answer{status: 200, contentType: "application/protobuf", body: pb})}},
			says: []string{"the Tempo response from", "is larger than the 1 KiB limit", "raise maxTraceMB in the data source settings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.NewServer(t, tc.routes...)
			tr := &http.Transport{DisableCompression: true} // so gzip arrives unasked
			t.Cleanup(tr.CloseIdleConnections)
			res, err := New(srv.URL, &http.Client{Transport: tr}, "", tc.opts...).Trace(context.Background(), seedID, time.Time{}, time.Time{})
			if n := len(srv.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d (%v)", n, tc.requests, srv.Paths())
			}
			if tc.spans > 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Trace.Spans) != tc.spans {
					t.Errorf("%d spans, want %d", len(res.Trace.Spans), tc.spans)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
			if errors.Is(err, ErrTraceNotFound) {
				t.Errorf("a fault must not read as an unknown trace: %v", err)
			}
			if !backend.IsDownstreamError(err) {
				t.Errorf("want downstream: %v", err)
			}
			if strings.Contains(err.Error(), "<") {
				t.Errorf("markup in the message: %v", err)
			}
		})
	}
}

func TestTraceUpstreamDown(t *testing.T) {
	base := fixtures.ClosedURL(t)
	_, err := New(base, nil, "").Trace(context.Background(), seedID, time.Time{}, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach Tempo at "+base) || !backend.IsDownstreamError(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestTraceTimeoutAndCancelLeaveNoGoroutine(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	arrived := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // Tempo hangs
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	// The request timeout (timeoutSeconds) bounds a hanging Tempo.
	slow := New(srv.URL, &http.Client{Transport: tr, Timeout: 50 * time.Millisecond}, "")
	_, err := slow.Trace(context.Background(), seedID, time.Time{}, time.Time{})
	if !errors.Is(err, httpx.ErrTimeout) || !strings.Contains(err.Error(), "raise timeoutSeconds") {
		t.Errorf("timeout: %v", err)
	}

	// The query's context cancels the request in flight.
	c := New(srv.URL, &http.Client{Transport: tr}, "")
	ctx, cancel := context.WithCancel(context.Background())
	for len(arrived) > 0 {
		<-arrived
	}
	go func() {
		<-arrived
		cancel()
	}()
	_, err = c.Trace(ctx, seedID, time.Time{}, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "was cancelled") {
		t.Errorf("cancel: %v", err)
	}
	cancel()
}
