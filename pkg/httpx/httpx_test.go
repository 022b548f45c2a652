package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func TestGetClassifiesAnswers(t *testing.T) {
	tests := []struct {
		name       string
		upstream   string
		capture    string // a real capture, or
		status     int    // a synthetic status with body
		body       string
		wantStatus int
		says       []string
		source     backend.ErrorSource
	}{
		{name: "LogQL parse error is passed on", upstream: "Loki", capture: "loki/query_range_bad_logql", wantStatus: 400,
			says: []string{"Loki rejected the request: parse error at line 1, col 25: syntax error: unexpected $end, expecting STRING or ip"}, source: backend.ErrorSourceDownstream},
		{name: "Loki limit error is passed on", upstream: "Loki", capture: "loki/query_range_time_range_too_long", wantStatus: 400,
			says: []string{"the query time range exceeds the limit (query length: 768h5m0s, limit: 30d1h)"}, source: backend.ErrorSourceDownstream},
		{name: "TraceQL error is passed on", upstream: "Tempo", capture: "tempo/search_traceql_bad_query", wantStatus: 400,
			says: []string{"Tempo rejected the request: invalid TraceQL query"}, source: backend.ErrorSourceDownstream},
		{name: "multi-tenant Loki without tenant", upstream: "Loki", capture: "loki/auth_labels_missing_org_id", wantStatus: 401,
			says: []string{"needs a tenant", "no org id", "set the tenant id (tenantId)"}, source: backend.ErrorSourceDownstream},
		{name: "401 without org id text", upstream: "Tempo", status: 401, body: "invalid token", wantStatus: 401,
			says: []string{"refused the request (HTTP 401: invalid token)", "check the token/tenant"}, source: backend.ErrorSourceDownstream},
		{name: "403", upstream: "Loki", status: 403, body: "forbidden", wantStatus: 403,
			says: []string{"HTTP 403", "check the token/tenant"}, source: backend.ErrorSourceDownstream},
		{name: "404 empty body (Tempo v1 unknown trace)", upstream: "Tempo", capture: "tempo/trace_v1_not_found_protobuf", wantStatus: 404,
			says: []string{"HTTP 404", "this URL is not a Tempo API", "tempoUrl"}, source: backend.ErrorSourceDownstream},
		{name: "429", upstream: "Loki", status: 429, body: "too many outstanding requests", wantStatus: 429,
			says: []string{"rate-limiting", "too many outstanding requests", "try again later"}, source: backend.ErrorSourceDownstream},
		{name: "503", upstream: "Loki", status: 503, body: "Ingester not ready", wantStatus: 503,
			says: []string{"failed (HTTP 503: Ingester not ready)", "check that Loki is healthy"}, source: backend.ErrorSourceDownstream},
		{name: "502 from a proxy", upstream: "Tempo", status: 502, wantStatus: 502,
			says: []string{"Tempo at", "failed (HTTP 502)"}, source: backend.ErrorSourceDownstream},
		{name: "501 is the plugin asking wrongly", upstream: "Tempo", status: 501, wantStatus: 501,
			says: []string{"HTTP 501"}, source: backend.ErrorSourcePlugin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			route := fixtures.Route{Path: "/x", Capture: tc.capture}
			if tc.capture == "" {
				route.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
				})
			}
			srv := fixtures.NewServer(t, route)
			up := NewUpstream(tc.upstream, strings.ToLower(tc.upstream), srv.URL, srv.Client(), "")
			_, err := up.Get(context.Background(), "/x", nil, "", nil)
			if err == nil {
				t.Fatal("want an error")
			}
			he, ok := errors.AsType[*HTTPError](err)
			if !ok || he.Status != tc.wantStatus {
				t.Fatalf("want *HTTPError with status %d, got %T %v", tc.wantStatus, err, err)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q: %v", s, err)
				}
			}
			es, ok := errors.AsType[backend.ErrorWithSource](err)
			if !ok || es.ErrorSource() != tc.source {
				t.Errorf("error source: got %v, want %v", es.ErrorSource(), tc.source)
			}
		})
	}
}

func TestGetSendsTenantAcceptHeadersAndQuery(t *testing.T) {
	srv := fixtures.Tempo(t)
	up := NewUpstream("Tempo", "tempo", srv.URL+"/", srv.Client(), "tenant-a")
	resp, err := up.Get(context.Background(), "api/status/buildinfo", map[string][]string{"q": {`{a="b c"}`}}, "application/json",
		http.Header{"X-Loki-Response-Encoding-Flags": {"categorize-labels"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || !strings.Contains(string(resp.Body), `"version":"v3.0.3"`) {
		t.Errorf("got %d %s", resp.Status, resp.Body)
	}
	r := srv.Requests()[0]
	if r.URL.Path != "/api/status/buildinfo" || r.URL.Query().Get("q") != `{a="b c"}` {
		t.Errorf("request %s", r.URL)
	}
	for h, want := range map[string]string{"X-Scope-OrgID": "tenant-a", "Accept": "application/json", "X-Loki-Response-Encoding-Flags": "categorize-labels"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}

	noTenant := NewUpstream("Tempo", "tempo", srv.URL, srv.Client(), "")
	if _, err := noTenant.Get(context.Background(), "/api/echo", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[1].Header.Values("X-Scope-OrgID"); len(got) != 0 {
		t.Errorf("no tenant configured, but X-Scope-OrgID %q was sent", got)
	}
}

func TestGetKeepsBasePathPrefix(t *testing.T) {
	srv := fixtures.NewServer(t, fixtures.Route{Path: "/tempo/api/echo", Capture: "tempo/echo"})
	up := NewUpstream("Tempo", "tempo", srv.URL+"/tempo/", srv.Client(), "")
	resp, err := up.Get(context.Background(), "/api/echo", nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "echo\n" {
		t.Errorf("body %q", resp.Body)
	}
}

func TestGetBodyLimit(t *testing.T) {
	srv := fixtures.Loki(t) // /loki/api/v1/labels is 45 bytes
	up := NewUpstream("Loki", "loki", srv.URL, srv.Client(), "")
	up.LimitSetting = "maxLogsMB"

	up.MaxBodyBytes = 45
	if _, err := up.Get(context.Background(), "/loki/api/v1/labels", nil, "", nil); err != nil {
		t.Fatalf("a body exactly at the limit must pass: %v", err)
	}
	up.MaxBodyBytes = 44
	_, err := up.Get(context.Background(), "/loki/api/v1/labels", nil, "", nil)
	tl, ok := errors.AsType[*TooLargeError](err)
	if !ok || tl.Limit != 44 {
		t.Fatalf("want *TooLargeError, got %v", err)
	}
	for _, s := range []string{"larger than the 44 bytes limit", "raise maxLogsMB"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
	if !backend.IsDownstreamError(err) {
		t.Error("too-large must be a downstream error")
	}
	if got := (&TooLargeError{Upstream: "Tempo", URL: "u", Limit: 512 << 20}).Error(); !strings.Contains(got, "512 MiB limit") {
		t.Errorf("limit not in MiB: %s", got)
	}
}

func TestGetTransportFailures(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		base := fixtures.ClosedURL(t)
		up := NewUpstream("Loki", "loki", base, nil, "")
		_, err := up.Get(context.Background(), "/ready", nil, "", nil)
		wantMessage(t, err, "cannot reach Loki at "+base+": ", "connection refused", "check the Loki URL (lokiUrl)")
		if !backend.IsDownstreamError(err) {
			t.Errorf("want downstream: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		hc := &http.Client{Timeout: 50 * time.Millisecond}
		up := NewUpstream("Tempo", "tempo", srv.URL, hc, "")
		_, err := up.Get(context.Background(), "/api/echo", nil, "", nil)
		wantMessage(t, err, "Tempo at "+srv.URL+" did not answer in time", "raise timeoutSeconds")
		if !errors.Is(err, ErrTimeout) || !backend.IsDownstreamError(err) {
			t.Errorf("want a downstream ErrTimeout: %v", err)
		}
	})
	t.Run("cancelled by the caller", func(t *testing.T) {
		srv := fixtures.Tempo(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		up := NewUpstream("Tempo", "tempo", srv.URL, srv.Client(), "")
		_, err := up.Get(ctx, "/api/echo", nil, "", nil)
		wantMessage(t, err, "was cancelled")
	})
	t.Run("untrusted TLS certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		up := NewUpstream("Loki", "loki", srv.URL, &http.Client{}, "")
		_, err := up.Get(context.Background(), "/ready", nil, "", nil)
		wantMessage(t, err, "cannot verify the TLS certificate of Loki", "lokiTlsCACert", "lokiTlsSkipVerify")
	})
	t.Run("bad base URL never echoes credentials", func(t *testing.T) {
		up := NewUpstream("Loki", "loki", "ftp://user:hunter2@loki", nil, "")
		_, err := up.Get(context.Background(), "/ready", nil, "", nil)
		wantMessage(t, err, "lokiUrl", "http(s)")
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password leaked: %v", err)
		}
	})
	t.Run("credentials in the URL are not repeated", func(t *testing.T) {
		base := fixtures.ClosedURL(t)
		up := NewUpstream("Loki", "loki", strings.Replace(base, "http://", "http://user:hunter2@", 1), nil, "")
		_, err := up.Get(context.Background(), "/ready", nil, "", nil)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password leaked or no error: %v", err)
		}
	})
}

func TestDecodeBuildInfo(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		want    BuildInfo
		buildOK bool
	}{
		{"a release (real capture)", fixtures.Load(t, "loki/buildinfo").Body, BuildInfo{Version: "v3.7.6", Revision: "5003600d7", Branch: "HEAD"}, true},
		// What Tempo and Loki built from source (go build, no ldflags) answer.
		{"built from source: every field empty", []byte(`{"version":"","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}`), BuildInfo{}, true},
		{"only the Go version", []byte(`{"version":"","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":"go1.26.8"}`), BuildInfo{GoVersion: "go1.26.8"}, true},
		{"a field of another type", []byte(`{"version":3,"revision":"abc"}`), BuildInfo{Revision: "abc"}, true},
		{"an HTML page", []byte("<html>Welcome to nginx</html>"), BuildInfo{}, false},
		{"a JSON array", []byte(`[]`), BuildInfo{}, false},
		{"null", []byte(`null`), BuildInfo{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DecodeBuildInfo(tc.body)
			if got != tc.want || ok != tc.buildOK {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.buildOK)
			}
		})
	}
}

func wantMessage(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("message lacks %q: %v", p, err)
		}
	}
}
