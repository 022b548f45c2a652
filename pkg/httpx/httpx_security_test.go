package httpx

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
)

// Secrets the request carries must never come back in an error, even when
// the upstream (or a proxy) echoes the request in its answer.

const (
	secretToken    = "tg-TOKEN-4f9c2b7e1d"
	secretPassword = "tg-PASSWORD-8a1e55"
	secretAPIKey   = "tg-APIKEY-77d0c3"
)

// sdkClient builds the *http.Client the plugin builds: the SDK's httpclient
// with its default middleware, adding auth and custom headers per request.
func sdkClient(t *testing.T, opts httpclient.Options) *http.Client {
	t.Helper()
	hc, err := httpclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func TestErrorsNeverEchoCredentials(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("grafana:" + secretPassword))
	// Each echo gets the request and the secret its auth carries.
	echoes := []struct {
		name string
		body func(r *http.Request, secret string) string
	}{
		{"whole Authorization header", func(r *http.Request, _ string) string {
			return "invalid credentials: Authorization: " + r.Header.Get("Authorization")
		}},
		{"every request header", func(r *http.Request, _ string) string {
			var b strings.Builder
			_ = r.Header.Write(&b)
			return "bad request, you sent:\n" + b.String()
		}},
		{"bare secret", func(_ *http.Request, s string) string { return "credential " + s + " expired" }},
		{"JSON envelope", func(_ *http.Request, s string) string {
			return fmt.Sprintf(`{"status":"error","error":"denied","credential":%q}`, s)
		}},
		{"custom header alone", func(r *http.Request, _ string) string { return "key " + r.Header.Get("X-Api-Key") + " unknown" }},
		{"decoded basic auth", func(r *http.Request, _ string) string {
			u, p, _ := r.BasicAuth()
			return "user " + u + ":" + p + " unknown"
		}},
		{"URL with credentials", func(_ *http.Request, s string) string { return "see http://grafana:" + s + "@proxy/login" }},
		{"secret at the 4 KiB cut", func(r *http.Request, _ string) string {
			return strings.Repeat("x", maxErrorBody-5) + r.Header.Get("Authorization")
		}},
	}
	auths := []struct {
		name   string
		secret string
		opts   httpclient.Options
	}{
		{"bearer", secretToken, httpclient.Options{Header: http.Header{"Authorization": {"Bearer " + secretToken}, "X-Api-Key": {secretAPIKey}}}},
		{"basic", secretPassword, httpclient.Options{BasicAuth: &httpclient.BasicAuthOptions{User: "grafana", Password: secretPassword}, Header: http.Header{"X-Api-Key": {secretAPIKey}}}},
	}
	for _, auth := range auths {
		for _, echo := range echoes {
			for _, status := range []int{400, 401, 403, 500} {
				t.Run(fmt.Sprintf("%s/%s/%d", auth.name, echo.name, status), func(t *testing.T) {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Content-Type", "text/plain")
						w.WriteHeader(status)
						_, _ = w.Write([]byte(echo.body(r, auth.secret)))
					}))
					t.Cleanup(srv.Close)
					up := NewUpstream("Loki", "loki", srv.URL, sdkClient(t, auth.opts), "tenant-a")
					_, err := up.Get(context.Background(), "/loki/api/v1/labels", nil, "application/json", nil)
					if err == nil {
						t.Fatal("want an error")
					}
					msg := err.Error()
					for _, s := range []string{secretToken, secretPassword, secretAPIKey, basic, secretToken[:12], secretPassword[:12]} {
						if strings.Contains(msg, s) {
							t.Fatalf("secret %q leaked into: %s", s, msg)
						}
					}
					if !strings.Contains(msg, "HTTP "+fmt.Sprint(status)) {
						t.Errorf("the status is lost: %s", msg)
					}
				})
			}
		}
	}
}

func TestRedactKeepsOrdinaryWords(t *testing.T) {
	// Redaction must not eat the upstream's message: only secrets go.
	req, _ := http.NewRequest(http.MethodGet, "http://loki", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set(TenantHeader, "tenant-a")
	for _, msg := range []string{
		"wrong password for user admin",
		"invalid token: signature is invalid",
		"parse error at line 1, col 25: syntax error: unexpected $end, expecting STRING or ip",
		"no org id",
		"invalid TraceQL query: parse error at line 1, col 26: syntax error: unexpected }",
		"the query time range exceeds the limit (query length: 768h5m0s, limit: 30d1h)",
		"tenant-a has no access to application/json",
		"token expired",
		"basic auth required",
	} {
		if got := redact(msg, req); got != msg {
			t.Errorf("redact(%q) = %q", msg, got)
		}
	}
	for in, want := range map[string]string{
		"x Bearer " + secretToken + " y":         "x [redacted] y",
		"x " + secretToken[3:] + " y":            "x " + secretToken[3:] + " y", // not what was sent
		"Authorization: Bearer eyJhbGciOiJIUzI1": "Authorization: Bearer [redacted]",
		`{"password":"hunter2"}`:                 `{"password":"[redacted]"}`,
		"api_key=abcd1234&x=1":                   "api_key=[redacted]&x=1",
	} {
		if got := redact(in, req); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTenantComesOnlyFromTheUpstream(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, strings.Join(r.Header.Values(TenantHeader), ","))
	}))
	t.Cleanup(srv.Close)
	sneaky := http.Header{"X-Scope-Orgid": {"tenant-b"}, TenantHeader: {"tenant-c"}}
	for _, tenant := range []string{"tenant-a", ""} {
		up := NewUpstream("Loki", "loki", srv.URL, srv.Client(), tenant)
		if _, err := up.Get(context.Background(), "/loki/api/v1/labels", nil, "", sneaky); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[tenant-a ]" {
		t.Errorf("tenant headers sent: %q; want only the configured tenant", got)
	}
}
