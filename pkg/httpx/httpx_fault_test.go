package httpx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// Upstreams that misbehave on purpose: rate limits, truncated bodies, proxy
// pages, compression, hangs. Every case must end in an answer or a clear
// error, quickly, leaving no goroutine behind.

// faultServer starts a server for h and returns it with a client whose
// transport is its own, so a test can close every connection it opened.
func faultServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, &http.Client{Transport: tr}
}

// recordSleeps makes u wait no real time and records what it was asked to
// wait, so retry tests check the waits exactly without timing anything.
func recordSleeps(u *Upstream) *[]time.Duration {
	var waits []time.Duration
	u.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return &waits
}

func TestGetRetries429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string // header sent with each 429
		fails      int    // 429s before the 200 (-1: always 429)
		ctx        func() (context.Context, context.CancelFunc)
		policy     *retryPolicy
		wantReqs   int
		wantWaits  []time.Duration
		wantErr    []string
	}{
		{name: "Retry-After seconds honoured", retryAfter: "1", fails: 2, wantReqs: 3, wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "Retry-After 0", retryAfter: "0", fails: 1, wantReqs: 2, wantWaits: []time.Duration{0}},
		{name: "no Retry-After: doubling backoff", fails: 2, wantReqs: 3, wantWaits: []time.Duration{500 * time.Millisecond, time.Second}},
		{name: "at most 2 retries", retryAfter: "0", fails: -1, wantReqs: 3, wantWaits: []time.Duration{0, 0},
			wantErr: []string{"rate-limiting requests (HTTP 429: slow down after 3 attempts)", "try again later"}},
		{name: "a long Retry-After is not waited for", retryAfter: "60", fails: -1, wantReqs: 1,
			wantErr: []string{"HTTP 429: slow down; it asks to wait 1m0s"}},
		{name: "total wait is bounded", retryAfter: "3", fails: -1, wantReqs: 2, wantWaits: []time.Duration{3 * time.Second},
			wantErr: []string{"after 2 attempts"}},
		// The deadline is minutes away and the wait asked for longer, so
		// the verdict holds however slow the machine is (a 1 s deadline
		// could pass before the first answer on a busy CI machine).
		{name: "no wait past the caller's deadline", retryAfter: "600", fails: 1, wantReqs: 1,
			policy: &retryPolicy{MaxRetries: 2, MaxWait: time.Hour, MaxTotal: time.Hour, Backoff: time.Second},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 5*time.Minute)
			},
			wantErr: []string{"HTTP 429"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reqs atomic.Int32
			srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
				n := int(reqs.Add(1))
				if tc.fails < 0 || n <= tc.fails {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = w.Write([]byte("slow down\n"))
					return
				}
				_, _ = w.Write([]byte("ready\n"))
			})
			up := NewUpstream("Loki", "loki", srv.URL, hc, "")
			waits := recordSleeps(up)
			if tc.policy != nil {
				up.retry = tc.policy
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			resp, err := up.Get(ctx, "/ready", nil, "", nil)
			if got := int(reqs.Load()); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
			if fmt.Sprint(*waits) != fmt.Sprint(tc.wantWaits) && len(*waits)+len(tc.wantWaits) > 0 {
				t.Errorf("waits %v, want %v", *waits, tc.wantWaits)
			}
			if tc.wantErr == nil {
				if err != nil || string(resp.Body) != "ready\n" {
					t.Fatalf("want the answer after retrying, got %v", err)
				}
				return
			}
			wantMessage(t, err, tc.wantErr...)
			if he, ok := errors.AsType[*HTTPError](err); !ok || he.Status != 429 {
				t.Errorf("want *HTTPError 429, got %T", err)
			}
			if !backend.IsDownstreamError(err) {
				t.Errorf("a 429 is downstream: %v", err)
			}
		})
	}
}

func TestGetDoesNotRetryOtherFailures(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, 400, 401} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var reqs atomic.Int32
			srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
				reqs.Add(1)
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(status)
			})
			up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")
			waits := recordSleeps(up)
			_, err := up.Get(context.Background(), "/api/echo", nil, "", nil)
			if err == nil || reqs.Load() != 1 || len(*waits) != 0 {
				t.Errorf("err %v, %d requests, waits %v: want one request and an error", err, reqs.Load(), *waits)
			}
		})
	}
}

func TestGetRetryWaitEndsWithTheContext(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	asked := make(chan struct{}, 1)
	srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	defer srv.Close()
	defer hc.CloseIdleConnections()
	up := NewUpstream("Loki", "loki", srv.URL, hc, "") // real timer
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-asked
		cancel()
	}()
	_, err := up.Get(ctx, "/ready", nil, "", nil)
	wantMessage(t, err, "the request to Loki at "+srv.URL+" was cancelled")
	cancel()
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              -1,
		"3":                             3 * time.Second,
		" 0 ":                           0,
		"-5":                            -1,
		"soon":                          -1,
		"99999999999":                   24 * time.Hour,
		"Wed, 25 Nov 2026 16:00:07 GMT": 7 * time.Second,
		"Wed, 25 Nov 2026 15:00:00 GMT": 0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestGetTruncatedBodies(t *testing.T) {
	t.Run("Content-Length larger than sent", func(t *testing.T) {
		srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"status":"succ`))
		})
		up := NewUpstream("Loki", "loki", srv.URL, hc, "")
		_, err := up.Get(context.Background(), "/loki/api/v1/query_range", nil, "application/json", nil)
		wantMessage(t, err, "the Loki answer from "+srv.URL+"/loki/api/v1/query_range was cut off after 15 bytes of the 1000 announced",
			"the connection closed early", "check that Loki and any proxy in front of it are healthy")
		if !errors.Is(err, ErrTruncated) || !backend.IsDownstreamError(err) {
			t.Errorf("want a downstream ErrTruncated: %v", err)
		}
	})
	t.Run("chunked stream cut off", func(t *testing.T) {
		srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/protobuf\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n40\r\nonly part")
			_ = buf.Flush()
		})
		up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")
		_, err := up.Get(context.Background(), "/api/v2/traces/0af7", nil, "application/protobuf", nil)
		wantMessage(t, err, "was cut off after", "(the connection closed early)")
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("want ErrTruncated: %v", err)
		}
	})
}

// nginxBadGateway is what nginx answers when the upstream is down.
const nginxBadGateway = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.0</center>\r\n</body>\r\n</html>\r\n"

// loginPage is a single sign-on page that a proxy serves with 200.
const loginPage = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in &middot; Example SSO</title></head><body><form action=\"/login\"><input name=\"user\"></form></body></html>"

func TestGetHTMLPages(t *testing.T) {
	tests := []struct {
		name        string
		upstream    string
		status      int
		contentType string
		body        string
		accept      string
		says        []string
	}{
		{"proxy 502 page", "Tempo", 502, "text/html", nginxBadGateway, "application/protobuf",
			[]string{"got an HTML page (HTTP 502, titled \"502 Bad Gateway\"), probably a proxy or login page, not Tempo", "check that Tempo and the proxy in front of it are healthy"}},
		{"login page with 200", "Loki", 200, "text/html; charset=utf-8", loginPage, "application/json",
			[]string{"got an HTML page (HTTP 200, titled \"Sign in · Example SSO\"), probably a proxy or login page, not Loki", "lokiUrl"}},
		{"login page with 401", "Loki", 401, "text/html", loginPage, "application/json",
			[]string{"got an HTML page (HTTP 401", "not Loki", "check the Loki authentication (lokiAuth)"}},
		{"HTML 404 without a title", "Tempo", 404, "text/html", "<html><body>nothing here</body></html>", "application/protobuf",
			[]string{"got an HTML page (HTTP 404), probably a proxy or login page, not Tempo", "tempoUrl"}},
		{"HTML sent as text/plain", "Tempo", 200, "text/plain", "\n  <!doctype html><title>Portal</title>", "application/json",
			[]string{"got an HTML page (HTTP 200, titled \"Portal\")"}},
		{"HTML without content type", "Loki", 503, "", nginxBadGateway, "application/json",
			[]string{"got an HTML page (HTTP 503"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Content-Type"] = []string{tc.contentType}
				if tc.contentType == "" {
					w.Header()["Content-Type"] = nil
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			up := NewUpstream(tc.upstream, strings.ToLower(tc.upstream), srv.URL, hc, "")
			_, err := up.Get(context.Background(), "/x", nil, tc.accept, nil)
			wantMessage(t, err, tc.says...)
			for _, leaked := range []string{"<", "center", "form", "nginx/1.27"} {
				if strings.Contains(err.Error(), leaked) {
					t.Errorf("the page leaked into the message (%q): %v", leaked, err)
				}
			}
			if !backend.IsDownstreamError(err) && tc.status != 501 {
				t.Errorf("want downstream: %v", err)
			}
			if he, ok := errors.AsType[*HTTPError](err); ok && (!he.HTML || he.Body == "") {
				// Callers read an empty body as "Tempo's own empty 404"
				// (an unknown trace): a page must never look like that.
				t.Errorf("HTTPError for a page: HTML %v, Body %q", he.HTML, he.Body)
			}
		})
	}
	t.Run("a caller asking for HTML gets it", func(t *testing.T) {
		srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(loginPage))
		})
		up := NewUpstream("Loki", "loki", srv.URL, hc, "")
		if _, err := up.Get(context.Background(), "/", nil, "text/html", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGetCompressedBodies(t *testing.T) {
	const plain = `{"status":"success","data":["service_name"]}`
	zipped := gzipped(t, []byte(plain))
	bomb := gzipped(t, make([]byte, 8<<20)) // 8 MiB of zeros in ~8 KiB

	// serve answers every request with body and Content-Encoding, whether
	// or not the client asked for compression.
	serve := func(status int, encoding string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", encoding)
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}
	}
	tests := []struct {
		name    string
		h       http.HandlerFunc
		noAuto  bool        // transport with DisableCompression: gzip arrives unasked
		header  http.Header // extra request headers
		limit   int64
		want    string
		wantErr []string
	}{
		{name: "gzip the transport asked for", h: serve(200, "gzip", zipped), want: plain},
		{name: "gzip nobody asked for", h: serve(200, "gzip", zipped), noAuto: true, want: plain},
		{name: "x-gzip", h: serve(200, "x-gzip", zipped), noAuto: true, want: plain},
		{name: "gzip asked for by a caller's header", h: serve(200, "gzip", zipped), header: http.Header{"Accept-Encoding": {"gzip"}}, want: plain},
		{name: "identity", h: serve(200, "identity", []byte(plain)), noAuto: true, want: plain},
		{name: "brotli cannot be read", h: serve(200, "br", []byte{0x1b, 0x2c}), noAuto: true,
			wantErr: []string{`the Loki answer from`, `is compressed as "br", which Tracegap cannot read`, "configure the proxy in front of Loki"}},
		{name: "corrupt gzip", h: serve(200, "gzip", []byte("this is not gzip at all")), noAuto: true,
			wantErr: []string{"says it is gzip-compressed but cannot be decompressed", "check the proxy in front of Loki"}},
		{name: "gzip with a bad checksum", h: serve(200, "gzip", append(zipped[:len(zipped)-8:len(zipped)-8], 0, 0, 0, 0, 0, 0, 0, 0)), noAuto: true,
			wantErr: []string{"cannot be decompressed"}},
		{name: "the limit counts decompressed bytes", h: serve(200, "gzip", bomb), noAuto: true, limit: 1 << 20,
			wantErr: []string{"larger than the 1 MiB limit", "raise maxLogsMB"}},
		{name: "the limit counts bytes the transport decompressed", h: serve(200, "gzip", bomb), limit: 1 << 20,
			wantErr: []string{"larger than the 1 MiB limit"}},
		{name: "gzip error body is read", h: serve(400, "gzip", gzipped(t, []byte("parse error at line 1"))), noAuto: true,
			wantErr: []string{"Loki rejected the request: parse error at line 1"}},
		{name: "unreadable error body", h: serve(400, "br", []byte{1, 2, 3}), noAuto: true,
			wantErr: []string{"HTTP 400", `compressed as br, not shown`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := faultServer(t, tc.h)
			hc.Transport.(*http.Transport).DisableCompression = tc.noAuto
			up := NewUpstream("Loki", "loki", srv.URL, hc, "")
			up.LimitSetting, up.MaxBodyBytes = "maxLogsMB", tc.limit
			resp, err := up.Get(context.Background(), "/loki/api/v1/labels", nil, "application/json", tc.header)
			if tc.wantErr != nil {
				wantMessage(t, err, tc.wantErr...)
				if !backend.IsDownstreamError(err) {
					t.Errorf("want downstream: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != tc.want {
				t.Errorf("body %q", resp.Body)
			}
		})
	}
}

func TestGetRefusesAnnouncedOversizeWithoutReading(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	done := make(chan struct{})
	srv, hc := faultServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Length", fmt.Sprint(int64(3)<<30))
		_, _ = w.Write(make([]byte, 1024))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes; the client must not wait for it
	})
	defer srv.Close()
	defer hc.CloseIdleConnections()
	up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")
	up.LimitSetting, up.MaxBodyBytes = "maxTraceMB", 512<<20
	_, err := up.Get(context.Background(), "/api/v2/traces/1", nil, "application/protobuf", nil)
	wantMessage(t, err, "the Tempo response from "+srv.URL+"/api/v2/traces/1 is larger than the 512 MiB limit", "raise maxTraceMB")
	<-done // closing the body closed the connection, which ended the handler
}

func TestGetCancelledPromptlyAndLeavesNoGoroutine(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	tests := []struct {
		name string
		// stall is where the server stops: before headers, or mid-body.
		midBody bool
	}{{"server hangs before answering", false}, {"server stalls mid-body", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan struct{})
			handlerDone := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				if tc.midBody {
					w.Header().Set("Content-Length", "100")
					_, _ = w.Write([]byte("{"))
					w.(http.Flusher).Flush()
				}
				close(arrived)
				<-r.Context().Done()
			}))
			tr := &http.Transport{}
			up := NewUpstream("Loki", "loki", srv.URL, &http.Client{Transport: tr}, "")
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-arrived
				cancel()
			}()
			_, err := up.Get(ctx, "/loki/api/v1/query_range", nil, "application/json", nil)
			wantMessage(t, err, "the request to Loki at "+srv.URL+" was cancelled")
			if !backend.IsDownstreamError(err) {
				t.Errorf("want downstream: %v", err)
			}
			// The upstream sees the cancellation too: its handler returns.
			<-handlerDone
			tr.CloseIdleConnections()
			srv.Close()
		})
	}
}

func TestGetTimesOutMidBody(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	tr := &http.Transport{}
	defer srv.Close()
	defer tr.CloseIdleConnections()
	up := NewUpstream("Tempo", "tempo", srv.URL, &http.Client{Transport: tr, Timeout: 100 * time.Millisecond}, "")
	_, err := up.Get(context.Background(), "/api/search", nil, "application/json", nil)
	wantMessage(t, err, "Tempo at "+srv.URL+" did not answer in time", "raise timeoutSeconds")
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("want ErrTimeout: %v", err)
	}
}

func TestGetConnectionResetMidAnswer(t *testing.T) {
	srv, hc := faultServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 20")
		_ = buf.Flush()
		_ = conn.Close()
	})
	up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")
	_, err := up.Get(context.Background(), "/api/echo", nil, "", nil)
	wantMessage(t, err, "cannot reach Tempo at "+srv.URL, "check the Tempo URL (tempoUrl)")
}

func TestGetRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	var sawAuth sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		sawAuth.Store(r.Header.Get("Authorization"), true)
		_, _ = w.Write([]byte("<html><title>Sign in</title></html>"))
	}))
	t.Cleanup(other.Close)
	srv, hc := faultServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.Redirect(w, r, other.URL+"/sso?next=/api/echo", http.StatusFound)
		case "/old/api/echo":
			http.Redirect(w, r, "/api/echo", http.StatusMovedPermanently)
		case "/api/echo":
			_, _ = w.Write([]byte("echo"))
		}
	})
	// Auth the way the SDK's middleware adds it: on every request the
	// transport sends, redirected ones included.
	hc.Transport = authTransport{next: hc.Transport, value: "Bearer s3cr3t-t0k3n"}
	up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")

	resp, err := up.Get(context.Background(), "/old/api/echo", nil, "", nil)
	if err != nil || string(resp.Body) != "echo" {
		t.Fatalf("a redirect within the same server must be followed: %v", err)
	}
	_, err = up.Get(context.Background(), "/login", nil, "", nil)
	wantMessage(t, err, "Tempo at "+srv.URL+" redirected the request to "+other.URL, "does not follow redirects to another host", "tempoUrl")
	if _, ok := errors.AsType[*RedirectError](err); !ok || !backend.IsDownstreamError(err) {
		t.Errorf("want a downstream *RedirectError: %T %v", err, err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests (and maybe the token)", n)
	}
}

// authTransport sets Authorization on every request, like the SDK's
// custom-header and basic-auth middleware.
type authTransport struct {
	next  http.RoundTripper
	value string
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("Authorization", a.value)
	return a.next.RoundTrip(r)
}

func TestGetKeepsTheConnectionAfterErrors(t *testing.T) {
	// Small error bodies are drained so the connection is reused: an
	// upstream answering 400s must not cost a new connection per query.
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(bytes.Repeat([]byte("parse error "), 100))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	tr := &http.Transport{}
	t.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	up := NewUpstream("Loki", "loki", srv.URL, &http.Client{Transport: tr}, "")
	for range 5 {
		if _, err := up.Get(context.Background(), "/q", nil, "", nil); err == nil {
			t.Fatal("want an error")
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1", n)
	}
}
