package loki

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func TestHealthReportsVersion(t *testing.T) {
	srv := fixtures.Loki(t)
	info, err := New(srv.URL, srv.Client(), "tenant-a").Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v3.7.6" {
		t.Errorf("build info %+v", info)
	}
	want := []string{"GET /ready", "GET /loki/api/v1/status/buildinfo", "GET /loki/api/v1/labels"}
	if diff := cmp.Diff(want, srv.Paths()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("X-Scope-OrgID") != "tenant-a" {
			t.Errorf("%s sent without the tenant", r.URL.Path)
		}
	}
}

func TestHealthMultiTenantLokiWithoutTenant(t *testing.T) {
	// auth_enabled: true; /ready needs no org id, labels does.
	srv := fixtures.Loki(t,
		fixtures.Route{Path: "/ready", Capture: "loki/auth_ready"},
		fixtures.Route{Path: "/loki/api/v1/labels", Match: fixtures.HeaderIs("X-Scope-OrgID", ""), Capture: "loki/auth_labels_missing_org_id"},
	)
	_, err := New(srv.URL, srv.Client(), "").Health(context.Background())
	if err == nil || !strings.Contains(err.Error(), "set the tenant id (tenantId)") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(srv.URL, srv.Client(), "tenant-a").Health(context.Background()); err != nil {
		t.Fatalf("with a tenant: %v", err)
	}
}

func TestHealthBehindGatewayWithoutReady(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: "/ready", Handler: http.NotFoundHandler()})
	info, err := New(srv.URL, srv.Client(), "").Health(context.Background())
	if err != nil || info.Version != "v3.7.6" {
		t.Fatalf("a gateway without /ready is no failure; got %+v, %v", info, err)
	}
}

func TestHealthWithEmptyBuildInfo(t *testing.T) {
	// What Loki built from source answers; labels prove the API.
	empty := replyWith(http.StatusOK, `{"version":"","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}`)
	for name, routes := range map[string][]fixtures.Route{
		"with /ready":         {{Path: "/loki/api/v1/status/buildinfo", Handler: empty}},
		"behind a gateway":    {{Path: "/loki/api/v1/status/buildinfo", Handler: empty}, {Path: "/ready", Handler: http.NotFoundHandler()}},
		"build info not JSON": {{Path: "/loki/api/v1/status/buildinfo", Handler: replyWith(http.StatusOK, "ready")}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := fixtures.Loki(t, routes...)
			info, err := New(srv.URL, srv.Client(), "").Health(context.Background())
			if err != nil || info.Version != "" {
				t.Fatalf("want healthy with an unknown version; got %+v, %v", info, err)
			}
		})
	}
	t.Run("labels missing is still not a Loki API", func(t *testing.T) {
		srv := fixtures.Loki(t, fixtures.Route{Path: "/loki/api/v1/status/buildinfo", Handler: empty}, fixtures.Route{Path: "/loki/api/v1/labels", Handler: http.NotFoundHandler()})
		_, err := New(srv.URL, srv.Client(), "").Health(context.Background())
		if err == nil || !strings.Contains(err.Error(), "this URL is not a Loki API") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHealthFailures(t *testing.T) {
	tests := []struct {
		name   string
		routes []fixtures.Route
		says   string
	}{
		{"not ready", []fixtures.Route{{Path: "/ready", Handler: replyWith(http.StatusServiceUnavailable, "Ingester not ready: waiting for 15s after being ready")}}, "HTTP 503: Ingester not ready"},
		{"not a Loki API", []fixtures.Route{{Path: "/loki/api/v1/labels", Handler: http.NotFoundHandler()}, {Path: "/loki/api/v1/status/buildinfo", Handler: http.NotFoundHandler()}}, "this URL is not a Loki API"},
		{"labels that are not labels", []fixtures.Route{{Path: "/loki/api/v1/labels", Capture: "tempo/buildinfo"}}, "this URL is not a Loki API"},
		{"token refused", []fixtures.Route{{Path: "/loki/api/v1/labels", Handler: replyWith(http.StatusForbidden, "")}}, "check the token/tenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.Loki(t, tc.routes...)
			_, err := New(srv.URL, srv.Client(), "").Health(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want an error saying %q, got %v", tc.says, err)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	srv := fixtures.Loki(t)
	start, end := time.Unix(0, 1795624297000000000), time.Unix(0, 1795624897000000000)
	got, err := New(srv.URL, srv.Client(), "").Labels(context.Background(), start, end)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"service_name"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	rec := fixtures.Load(t, "loki/labels").Request
	if got := srv.Requests()[0].URL.Query().Encode(); got != rec.Values().Encode() {
		t.Errorf("query %s, the capture used %s", got, rec.Values().Encode())
	}
}

func replyWith(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	})
}
