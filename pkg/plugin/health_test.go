package plugin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func checkHealth(t *testing.T, pCtx backend.PluginContext) (*backend.CheckHealthResult, healthDetails) {
	t.Helper()
	res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pCtx})
	if err != nil {
		t.Fatalf("CheckHealth over gRPC: %v", err)
	}
	var det healthDetails
	if err := json.Unmarshal(res.JSONDetails, &det); err != nil {
		t.Fatalf("JSONDetails %s: %v", res.JSONDetails, err)
	}
	return res, det
}

func TestCheckHealthBothUp(t *testing.T) {
	tempoSrv, lokiSrv := fixtures.Tempo(t), fixtures.Loki(t)
	res, det := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL, "tenantId": "single-tenant"}, nil))
	if res.Status != backend.HealthStatusOk || res.Message != "Tempo v3.0.3 and Loki v3.7.6 reachable" {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
	if !det.Tempo.OK || det.Tempo.Version != "v3.0.3" || det.Tempo.URL != tempoSrv.URL || !det.Loki.OK || det.Loki.Version != "v3.7.6" {
		t.Errorf("details %s", res.JSONDetails)
	}
	for _, srv := range []*fixtures.Server{tempoSrv, lokiSrv} {
		for _, r := range srv.Requests() {
			if r.Header.Get("X-Scope-OrgID") != "single-tenant" {
				t.Errorf("%s sent without the tenant", r.URL.Path)
			}
		}
	}
}

func TestCheckHealthEmptyBuildInfo(t *testing.T) {
	// Tempo and Loki built from source answer build info with every field
	// empty; the APIs work, so the check passes with the versions unknown.
	empty := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":"","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}`))
	})
	tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: "/api/status/buildinfo", Handler: empty})
	lokiSrv := fixtures.Loki(t, fixtures.Route{Path: "/loki/api/v1/status/buildinfo", Handler: empty})
	res, det := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL}, nil))
	if res.Status != backend.HealthStatusOk || res.Message != "Tempo (version unknown) and Loki (version unknown) reachable" {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
	if !det.Tempo.OK || det.Tempo.Version != "" || !det.Loki.OK || det.Loki.Version != "" || strings.Contains(string(res.JSONDetails), "not a") {
		t.Errorf("details %s", res.JSONDetails)
	}
}

func TestCheckHealthOnlyLokiDown(t *testing.T) {
	tempoSrv := fixtures.Tempo(t)
	lokiURL := fixtures.ClosedURL(t)
	res, det := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiURL}, nil))
	if res.Status != backend.HealthStatusError {
		t.Fatalf("status %v", res.Status)
	}
	want := "Tempo v3.0.3 is reachable, but the Loki check failed: cannot reach Loki at " + lokiURL
	if !strings.HasPrefix(res.Message, want) || !strings.Contains(res.Message, "connection refused") {
		t.Errorf("message %q, want it to start with %q", res.Message, want)
	}
	if !det.Tempo.OK || det.Loki.OK || !strings.Contains(det.Loki.Error, "cannot reach Loki") {
		t.Errorf("details %s", res.JSONDetails)
	}
}

func TestCheckHealthBothDown(t *testing.T) {
	res, det := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": fixtures.ClosedURL(t), "lokiUrl": fixtures.ClosedURL(t)}, nil))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "The Tempo check failed: cannot reach Tempo") ||
		!strings.Contains(res.Message, "The Loki check failed: cannot reach Loki") || det.Tempo.OK || det.Loki.OK {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
}

func TestCheckHealthMissingLokiURL(t *testing.T) {
	tempoSrv := fixtures.Tempo(t)
	res, det := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL}, nil))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "lokiUrl: the Loki URL is empty") {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
	if det.Settings == "" || det.Tempo != nil {
		t.Errorf("details %s", res.JSONDetails)
	}
	if got := tempoSrv.Paths(); len(got) != 0 {
		t.Errorf("a configuration error must stop the check before any request; Tempo got %v", got)
	}
}

func TestCheckHealthMalformedURL(t *testing.T) {
	res, _ := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": "tempo:3200", "lokiUrl": "http://loki:3100"}, nil))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, `tempoUrl: "tempo:3200" has no scheme`) {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
}

func TestCheckHealthMultiTenantLokiNeedsTenant(t *testing.T) {
	tempoSrv := fixtures.Tempo(t)
	lokiSrv := fixtures.Loki(t,
		fixtures.Route{Path: "/ready", Capture: "loki/auth_ready"},
		fixtures.Route{Path: "/loki/api/v1/labels", Match: fixtures.HeaderIs("X-Scope-OrgID", ""), Capture: "loki/auth_labels_missing_org_id"},
	)
	res, _ := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL}, nil))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "the Loki check failed: Loki at") ||
		!strings.Contains(res.Message, "no org id") || !strings.Contains(res.Message, "set the tenant id (tenantId)") {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
}

func TestCheckHealthCredentials(t *testing.T) {
	const token = "s3cr3t-t0k3n"
	// Tempo accepts only the bearer token on its tenant-scoped endpoint;
	// Loki only basic auth grafana:pa55.
	tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: "/api/search/tags", Match: func(r *http.Request) bool {
		return r.Header.Get("Authorization") != "Bearer "+token
	}, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "invalid token", http.StatusUnauthorized) })})
	lokiSrv := fixtures.Loki(t, fixtures.Route{Path: "/loki/api/v1/labels", Match: func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return !ok || u != "grafana" || p != "pa55"
	}, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "forbidden", http.StatusForbidden) })})

	jd := map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL, "tempoAuth": "bearer", "lokiAuth": "basic", "lokiUser": "grafana"}
	res, _ := checkHealth(t, pluginContext(t, jd, map[string]string{"tempoToken": token, "lokiPassword": "pa55"}))
	if res.Status != backend.HealthStatusOk {
		t.Fatalf("with the right credentials: %v %q", res.Status, res.Message)
	}

	res, _ = checkHealth(t, pluginContext(t, jd, map[string]string{"tempoToken": "wrong-" + token, "lokiPassword": "wrong-pa55"}))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "Tempo at") || !strings.Contains(res.Message, "HTTP 401: invalid token") ||
		!strings.Contains(res.Message, "Loki at") || !strings.Contains(res.Message, "HTTP 403") || !strings.Contains(res.Message, "check the token/tenant") {
		t.Errorf("with wrong credentials: %v %q", res.Status, res.Message)
	}
	if strings.Contains(res.Message, token) || strings.Contains(res.Message, "pa55") || strings.Contains(string(res.JSONDetails), token) {
		t.Errorf("a secret leaked into the health result: %q %s", res.Message, res.JSONDetails)
	}
}

func TestCheckHealthWrongURLs(t *testing.T) {
	tempoSrv, lokiSrv := fixtures.Tempo(t), fixtures.Loki(t)
	// Tempo and Loki swapped: each URL answers, but not as the other API.
	res, _ := checkHealth(t, pluginContext(t, map[string]any{"tempoUrl": lokiSrv.URL, "lokiUrl": tempoSrv.URL}, nil))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "this URL is not a Tempo API") ||
		!strings.Contains(res.Message, "this URL is not a Loki API") {
		t.Errorf("got %v %q", res.Status, res.Message)
	}
}
