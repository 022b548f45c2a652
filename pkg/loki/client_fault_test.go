package loki

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

// Loki misbehaving on purpose, seen through TraceLogs (both queries of auto
// mode, paged): the trace's logs come back, or an error that says what is
// wrong; one failing half of auto mode leaves a notice.

func TestTraceLogsFaults(t *testing.T) {
	capture := fixtures.Load(t, "loki/query_range_line_filter_categorized").Body

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
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(capture)
	_ = zw.Close()
	ok := answer{status: 200, contentType: "application/json; charset=UTF-8", body: capture}

	tests := []struct {
		name    string
		mode    Mode
		h       http.HandlerFunc
		opts    []Option
		entries int      // > 0: the logs must come back
		notice  string   // with this notice (auto mode, one half failed)
		says    []string // otherwise the error must say these
	}{
		{name: "429 then the logs", mode: ModeLine, entries: 21,
			h: reply(answer{status: 429, retryAfter: "0", body: []byte("too many outstanding requests")}, ok)},
		{name: "429 every time", mode: ModeLine,
			h:    reply(answer{status: 429, retryAfter: "0", body: []byte("too many outstanding requests")}),
			says: []string{"Loki at", "is rate-limiting requests (HTTP 429: too many outstanding requests after 3 attempts)"}},
		{name: "500", mode: ModeLine, h: reply(answer{status: 500, body: []byte("rpc error: code = Unavailable")}),
			says: []string{"failed (HTTP 500: rpc error: code = Unavailable)", "check that Loki is healthy"}},
		{name: "truncated body", mode: ModeLine, h: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "99999")
			_, _ = w.Write(capture[:200])
		}, says: []string{"the Loki answer from", "was cut off after 200 bytes of the 99999 announced"}},
		{name: "proxy page", mode: ModeLine, h: reply(answer{status: 504, contentType: "text/html", body: []byte("<html><head><title>504 Gateway Time-out</title></head></html>")}),
			says: []string{"got an HTML page (HTTP 504, titled \"504 Gateway Time-out\"), probably a proxy or login page, not Loki"}},
		{name: "login page with 200", mode: ModeLine, h: reply(answer{status: 200, contentType: "text/html", body: []byte("<!doctype html><title>Log in</title>")}),
			says: []string{"got an HTML page (HTTP 200", "not Loki", "lokiUrl"}},
		{name: "gzip nobody asked for", mode: ModeLine, entries: 21,
			h: reply(answer{status: 200, contentType: "application/json", encoding: "gzip", body: zipped.Bytes()})},
		{name: "JSON labelled text/plain", mode: ModeLine, entries: 21,
			h: reply(answer{status: 200, contentType: "text/plain", body: capture})},
		{name: "protobuf instead of JSON", mode: ModeLine,
			h:    reply(answer{status: 200, contentType: "application/x-protobuf", body: []byte{0x0a, 0x03, 0x66, 0x6f, 0x6f}}),
			says: []string{"is not a Loki log query result", "lokiUrl"}},
		{name: "logs above maxLogsMB", mode: ModeLine, opts: []Option{WithMaxBodyBytes(4096)}, h: reply(ok),
			says: []string{"the Loki response from", "is larger than the 4 KiB limit", "raise maxLogsMB in the data source settings"}},
		{name: "auto mode: one half rate-limited, the other answers", mode: ModeAuto, entries: 21, notice: "rate-limiting",
			h: func(w http.ResponseWriter, r *http.Request) {
				if isMetadata(r) {
					w.Header().Set("Retry-After", "120")
					w.WriteHeader(429)
					return
				}
				reply(ok)(w, r)
			}},
		{name: "auto mode: both halves fail", mode: ModeAuto,
			h:    reply(answer{status: 502, contentType: "text/html", body: []byte("<html><title>Bad Gateway</title></html>")}),
			says: []string{"got an HTML page (HTTP 502"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: tc.h})
			tr := &http.Transport{DisableCompression: true}
			t.Cleanup(tr.CloseIdleConnections)
			res, err := New(srv.URL, &http.Client{Transport: tr}, "", tc.opts...).TraceLogs(context.Background(), seedQuery(tc.mode))
			if tc.entries > 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Entries) != tc.entries {
					t.Errorf("%d entries, want %d", len(res.Entries), tc.entries)
				}
				if tc.notice != "" && !strings.Contains(strings.Join(res.Notices, "\n"), tc.notice) {
					t.Errorf("notices %q lack %q", res.Notices, tc.notice)
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
			if !backend.IsDownstreamError(err) {
				t.Errorf("want downstream: %v", err)
			}
			if strings.Contains(err.Error(), "<") {
				t.Errorf("markup in the message: %v", err)
			}
		})
	}
}

func TestTraceLogsLokiDown(t *testing.T) {
	base := fixtures.ClosedURL(t)
	_, err := New(base, nil, "").TraceLogs(context.Background(), seedQuery(ModeAuto))
	if err == nil || !strings.Contains(err.Error(), "cannot reach Loki at "+base) || !backend.IsDownstreamError(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestTraceLogsTimeoutAndCancelLeaveNoGoroutine(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	var arrived atomic.Int32
	both := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == 2 {
			close(both)
		}
		<-r.Context().Done() // Loki hangs
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	// The request timeout (timeoutSeconds) bounds a hanging Loki.
	slow := New(srv.URL, &http.Client{Transport: tr, Timeout: 50 * time.Millisecond}, "")
	_, err := slow.TraceLogs(context.Background(), seedQuery(ModeLine))
	if !errors.Is(err, httpx.ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}

	// Auto mode runs two queries at once; cancelling the query's context
	// stops both, and TraceLogs returns only when both have.
	arrived.Store(0)
	c := New(srv.URL, &http.Client{Transport: tr}, "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-both
		cancel()
	}()
	_, err = c.TraceLogs(ctx, seedQuery(ModeAuto))
	if err == nil || !strings.Contains(err.Error(), "was cancelled") {
		t.Errorf("cancel: %v", err)
	}
	cancel()
}
