package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

func TestQueryDataUnknownQueryTypes(t *testing.T) {
	pCtx := pluginContext(t, map[string]any{"tempoUrl": "http://tempo:3200", "lokiUrl": "http://loki:3100"}, nil)
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: "flamegraph", JSON: []byte(`{}`)},
		{RefID: "B", QueryType: "", JSON: []byte(`{}`)},
	}})
	if err != nil {
		t.Fatalf("QueryData must answer per refID, not fail: %v", err)
	}
	for refID, says := range map[string]string{"A": `unknown query type "flamegraph"; valid query types: `, "B": "the query has no query type"} {
		r, ok := resp.Responses[refID]
		if !ok || r.Error == nil {
			t.Fatalf("%s: no error response: %+v", refID, resp.Responses)
		}
		if !strings.Contains(r.Error.Error(), says) {
			t.Errorf("%s: %q lacks %q", refID, r.Error, says)
		}
		if r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: status %v source %q, want 400 downstream", refID, r.Status, r.ErrorSource)
		}
	}
}

func TestQueryDataReportsSettingsErrorPerQuery(t *testing.T) {
	pCtx := pluginContext(t, map[string]any{"tempoUrl": "http://tempo:3200", "lokiUrl": "loki", "timeoutSeconds": -1}, nil)
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: QueryTypeTrace}, {RefID: "B", QueryType: QueryTypeSearch},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, refID := range []string{"A", "B"} {
		r := resp.Responses[refID]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "lokiUrl:") || !strings.Contains(r.Error.Error(), "timeoutSeconds:") {
			t.Errorf("%s: want the settings problems, got %v", refID, r.Error)
		}
		if r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: status %v source %q", refID, r.Status, r.ErrorSource)
		}
	}
}

func TestHandlersAreRoutedByQueryType(t *testing.T) {
	// The real wiring, with a handler registered the way registerHandlers
	// does it: one failing query must not fail its neighbours.
	inst, err := NewDatasource(context.Background(), *pluginContext(t, map[string]any{"tempoUrl": "http://tempo:3200", "lokiUrl": "http://loki:3100"}, nil).DataSourceInstanceSettings)
	if err != nil {
		t.Fatal(err)
	}
	d := inst.(*Datasource)
	d.handle("echo", func(_ context.Context, _ backend.PluginContext, q backend.DataQuery) (data.Frames, error) {
		if q.RefID == "bad" {
			return nil, badQueryf("refID %s is bad", q.RefID)
		}
		return data.Frames{data.NewFrame(q.RefID)}, nil
	})
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		{RefID: "ok", QueryType: "echo"}, {RefID: "bad", QueryType: "echo"}, {RefID: "other", QueryType: "nope"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["ok"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Name != "ok" {
		t.Errorf("ok: %+v", r)
	}
	if r := resp.Responses["bad"]; r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Errorf("bad: %+v", r)
	}
	// The real handlers are registered too; echo is listed after them.
	if r := resp.Responses["other"]; r.Error == nil || !strings.Contains(r.Error.Error(), "valid query types: ") || !strings.HasSuffix(r.Error.Error(), ", echo") {
		t.Errorf("other: %v", r.Error)
	}
}

func TestRespond(t *testing.T) {
	frames := data.Frames{data.NewFrame("trace")}
	tests := []struct {
		name       string
		frames     data.Frames
		err        error
		wantSource backend.ErrorSource
		wantStatus backend.Status
		wantFrames int
	}{
		{"frames", frames, nil, "", 0, 1},
		{"stamped downstream error keeps its source", nil, backend.DownstreamErrorf("Loki said no"), backend.ErrorSourceDownstream, 0, 0},
		{"stamped plugin error keeps its source", nil, backend.PluginErrorf("bug"), backend.ErrorSourcePlugin, 0, 0},
		{"unstamped error is the plugin's", nil, errors.New("nil map"), backend.ErrorSourcePlugin, 0, 0},
		{"unstamped cancellation is downstream", nil, context.Canceled, backend.ErrorSourceDownstream, 0, 0},
		{"bad query", nil, badQueryf("no trace id"), backend.ErrorSourceDownstream, backend.StatusBadRequest, 0},
		{"upstream 400 keeps its status", nil, backend.DownstreamError(&httpx.HTTPError{Upstream: "Loki", Status: 400, Body: "parse error"}), backend.ErrorSourceDownstream, backend.StatusBadRequest, 0},
		{"upstream 401", nil, backend.DownstreamError(&httpx.HTTPError{Upstream: "Loki", Status: 401}), backend.ErrorSourceDownstream, backend.StatusUnauthorized, 0},
		{"upstream 5xx is a bad gateway", nil, backend.DownstreamError(&httpx.HTTPError{Upstream: "Tempo", Status: 503}), backend.ErrorSourceDownstream, backend.StatusBadGateway, 0},
		{"timeout", nil, backend.DownstreamError(fmt.Errorf("slow: %w", httpx.ErrTimeout)), backend.ErrorSourceDownstream, backend.StatusTimeout, 0},
		{"frames kept with an error", frames, backend.DownstreamErrorf("Loki failed"), backend.ErrorSourceDownstream, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := respond(tc.frames, tc.err)
			if (r.Error != nil) != (tc.err != nil) || r.ErrorSource != tc.wantSource || r.Status != tc.wantStatus || len(r.Frames) != tc.wantFrames {
				t.Errorf("got error %v source %q status %v frames %d", r.Error, r.ErrorSource, r.Status, len(r.Frames))
			}
			if tc.err != nil && !strings.Contains(r.Error.Error(), tc.err.Error()) {
				t.Errorf("message changed: %q", r.Error)
			}
		})
	}
}

func TestDisposeClosesIdleConnections(t *testing.T) {
	var mu sync.Mutex
	closed := 0
	// Tempo's captures, served by a server that counts closed connections
	// (ConnState must be set before the server starts).
	srv := httptest.NewUnstartedServer(fixtures.Tempo(t).Config.Handler)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			mu.Lock()
			closed++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	lokiSrv := fixtures.Loki(t)
	inst, err := NewDatasource(context.Background(), *pluginContext(t, map[string]any{"tempoUrl": srv.URL, "lokiUrl": lokiSrv.URL}, nil).DataSourceInstanceSettings)
	if err != nil {
		t.Fatal(err)
	}
	d := inst.(*Datasource)
	if _, err := d.tempo.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := closed
	mu.Unlock()
	d.Dispose()
	// The server sees the close asynchronously; ask it with a bounded wait
	// on a condition, not a fixed sleep.
	if !eventually(func() bool {
		mu.Lock()
		defer mu.Unlock()
		return closed > before
	}) {
		t.Error("Dispose left the idle connection to Tempo open")
	}
}

func TestDisposeWithInvalidSettings(t *testing.T) {
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{})
	if err != nil || inst == nil {
		t.Fatalf("the factory must not fail on bad settings: %v", err)
	}
	inst.(*Datasource).Dispose()
}

func TestCallResource(t *testing.T) {
	tempoSrv, lokiSrv := fixtures.Tempo(t), fixtures.Loki(t,
		fixtures.Route{Path: "/loki/api/v1/labels", Match: fixtures.HeaderIs("X-Scope-OrgID", ""), Capture: "loki/auth_labels_missing_org_id"})
	good := pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL, "tenantId": "tenant-a"}, nil)
	noTenant := pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL}, nil)
	broken := pluginContext(t, map[string]any{"tempoUrl": tempoSrv.URL}, nil)
	tests := []struct {
		name   string
		pCtx   backend.PluginContext
		method string
		path   string
		status int
		body   string
	}{
		{"services", good, "GET", "services?start=1795624297000&end=1795624897000", 200, `["dashboard-service","data-aggregator-a","data-aggregator-b","user-service","widget-service"]`},
		{"labels", good, "GET", "labels?start=1795624297000&end=1795624897000", 200, `["service_name"]`},
		{"labels without range", good, "GET", "labels", 200, `["service_name"]`},
		{"labels without tenant on multi-tenant Loki", noTenant, "GET", "labels", 502, "set the tenant id"},
		{"bad start", good, "GET", "services?start=yesterday", 400, `start=\"yesterday\" is not a time in Unix milliseconds`},
		{"range backwards", good, "GET", "services?start=2000&end=1000", 400, "ends"},
		{"unknown resource", good, "GET", "flamegraph", 404, `unknown resource \"flamegraph\"; available resources: labels, services`},
		{"POST", good, "POST", "services", 405, "GET only"},
		{"invalid settings", broken, "GET", "services", 400, "lokiUrl: the Loki URL is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, _, _ := strings.Cut(tc.path, "?")
			var got *backend.CallResourceResponse
			err := startPlugin(t).CallResource(ctx(t), &backend.CallResourceRequest{
				PluginContext: tc.pCtx, Path: path, Method: tc.method, URL: tc.path,
			}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Status != tc.status || !strings.Contains(string(got.Body), tc.body) {
				t.Fatalf("got %+v (body %s), want %d with %s", got, body(got), tc.status, tc.body)
			}
		})
	}
	// The services request reached Tempo with the range in seconds, as the
	// capture was taken.
	var q url.Values
	for _, r := range tempoSrv.Requests() {
		if r.URL.Path == "/api/v2/search/tag/resource.service.name/values" {
			q = r.URL.Query()
		}
	}
	if q.Get("start") != "1795624297" || q.Get("end") != "1795624897" {
		t.Errorf("services range sent as %v", q)
	}
}

func body(r *backend.CallResourceResponse) string {
	if r == nil {
		return ""
	}
	return string(r.Body)
}
