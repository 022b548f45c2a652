package tempo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func TestHealthReportsVersion(t *testing.T) {
	srv := fixtures.Tempo(t)
	c := New(srv.URL, srv.Client(), "single-tenant")
	info, err := c.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v3.0.3" || info.Revision != "1900ed7bb" {
		t.Errorf("build info %+v", info)
	}
	want := []string{"GET /api/echo", "GET /api/status/buildinfo", "GET /api/search/tags?scope=resource"}
	if diff := cmp.Diff(want, srv.Paths()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("X-Scope-OrgID") != "single-tenant" {
			t.Errorf("%s sent without the tenant", r.URL.Path)
		}
	}
}

func TestHealthFailures(t *testing.T) {
	tests := []struct {
		name   string
		routes []fixtures.Route
		says   string
	}{
		{"not a Tempo API (echo 404)", []fixtures.Route{{Path: "/api/echo", Handler: http.NotFoundHandler()}}, "this URL is not a Tempo API"},
		{"a web server answering 200 to everything", []fixtures.Route{{Path: "/api/echo", Capture: "loki/labels"}}, "this URL is not a Tempo API"},
		{"credentials refused on the tenant-scoped call", []fixtures.Route{{Path: "/api/search/tags", Handler: replyWith(http.StatusUnauthorized, "invalid token")}}, "check the token/tenant"},
		{"multi-tenant Tempo without tenant", []fixtures.Route{{Path: "/api/search/tags", Capture: "loki/auth_labels_missing_org_id"}}, "set the tenant id"},
		{"Tempo failing", []fixtures.Route{{Path: "/api/status/buildinfo", Handler: replyWith(http.StatusBadGateway, "")}}, "HTTP 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.Tempo(t, tc.routes...)
			_, err := New(srv.URL, srv.Client(), "").Health(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want an error saying %q, got %v", tc.says, err)
			}
		})
	}
}

func TestHealthWithoutBuildInfoEndpoint(t *testing.T) {
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/status/buildinfo", Handler: http.NotFoundHandler()})
	info, err := New(srv.URL, srv.Client(), "").Health(context.Background())
	if err != nil || info.Version != "" {
		t.Fatalf("an old Tempo without build info is healthy with an unknown version; got %+v, %v", info, err)
	}
}

// emptyBuildInfo is what Tempo and Loki built from source (no ldflags)
// answer on their build-info endpoints.
const emptyBuildInfo = `{"version":"","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}`

func TestHealthWithEmptyOrOddBuildInfo(t *testing.T) {
	// /api/echo answering "echo" proves the Tempo API; build info only adds
	// the version, so an empty or unreadable one leaves it unknown.
	for name, h := range map[string]http.Handler{
		"built from source":   replyWith(http.StatusOK, emptyBuildInfo),
		"not build info":      replyWith(http.StatusOK, "echo"),
		"an empty 200 answer": replyWith(http.StatusOK, ""),
	} {
		t.Run(name, func(t *testing.T) {
			srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/status/buildinfo", Handler: h})
			info, err := New(srv.URL, srv.Client(), "").Health(context.Background())
			if err != nil || info.Version != "" {
				t.Fatalf("want healthy with an unknown version; got %+v, %v", info, err)
			}
			if n := len(srv.Requests()); n != 3 {
				t.Errorf("want echo, buildinfo and the tenant-scoped tags call, got %v", srv.Paths())
			}
		})
	}
}

func TestHealthUnreachable(t *testing.T) {
	base := fixtures.ClosedURL(t)
	_, err := New(base, nil, "").Health(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach Tempo at "+base) {
		t.Fatalf("got %v", err)
	}
}

func TestServiceNames(t *testing.T) {
	want := []string{"dashboard-service", "data-aggregator-a", "data-aggregator-b", "user-service", "widget-service"}
	start, end := time.Unix(1795624297, 0), time.Unix(1795624897, 0)

	t.Run("v2", func(t *testing.T) {
		srv := fixtures.Tempo(t)
		got, err := New(srv.URL, srv.Client(), "").ServiceNames(context.Background(), start, end)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		// The same parameters the capture was taken with.
		rec := fixtures.Load(t, "tempo/search_tag_values_v2_service_name").Request
		if got := srv.Requests()[0].URL.Query().Encode(); got != rec.Values().Encode() {
			t.Errorf("query %s, the capture used %s", got, rec.Values().Encode())
		}
	})
	t.Run("v1 fallback on 404", func(t *testing.T) {
		srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/search/tag/resource.service.name/values", Handler: http.NotFoundHandler()})
		got, err := New(srv.URL, srv.Client(), "").ServiceNames(context.Background(), time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("want v2 then v1, got %v", srv.Paths())
		}
	})
	t.Run("other errors do not fall back", func(t *testing.T) {
		srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/search/tag/resource.service.name/values", Handler: replyWith(http.StatusForbidden, "no")})
		_, err := New(srv.URL, srv.Client(), "").ServiceNames(context.Background(), time.Time{}, time.Time{})
		he, ok := errors.AsType[*HTTPError](err)
		if !ok || he.Status != http.StatusForbidden || len(srv.Requests()) != 1 {
			t.Errorf("got %v after %v", err, srv.Paths())
		}
	})
}

func replyWith(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	})
}
