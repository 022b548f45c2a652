package settings

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
)

// authSeen starts a server that records the Authorization header it gets.
func authSeen(t *testing.T, tlsServer bool) (*httptest.Server, *string) {
	t.Helper()
	var seen string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusNoContent)
	})
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, &seen
}

// getBoth loads the settings of inst and sends one request with each
// upstream's options to its server, failing the test on any error; it
// returns the settings and both options.
func getBoth(t *testing.T, inst backend.DataSourceInstanceSettings, tempoURL, lokiURL string) (*Settings, httpclient.Options, httpclient.Options) {
	t.Helper()
	s, err := Load(inst)
	if err != nil {
		t.Fatal(err)
	}
	tempoOpts, lokiOpts, err := s.HTTPOptions(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, tempoOpts, tempoURL); err != nil {
		t.Fatal(err)
	}
	if err := get(t, lokiOpts, lokiURL); err != nil {
		t.Fatal(err)
	}
	return s, tempoOpts, lokiOpts
}

func get(t *testing.T, opts httpclient.Options, url string) error {
	t.Helper()
	c, err := httpclient.New(opts)
	if err != nil {
		t.Fatalf("httpclient.New: %v", err)
	}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return nil
}

func TestHTTPOptionsAuthPerUpstream(t *testing.T) {
	tempoSrv, tempoAuth := authSeen(t, false)
	lokiSrv, lokiAuth := authSeen(t, false)
	inst := instance(t, map[string]any{
		"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL, "tempoAuth": "bearer", "lokiAuth": "basic", "lokiUser": "grafana",
		"timeoutSeconds": 7,
	}, map[string]string{"tempoToken": "t0k3n", "lokiPassword": "pa55"})
	// Root-level basic auth belongs to no upstream here and must be ignored.
	inst.BasicAuthEnabled, inst.BasicAuthUser = true, "root"
	_, tempoOpts, lokiOpts := getBoth(t, inst, tempoSrv.URL, lokiSrv.URL)
	if *tempoAuth != "Bearer t0k3n" {
		t.Errorf("Tempo got Authorization %q, want the bearer token", *tempoAuth)
	}
	if *lokiAuth != "Basic Z3JhZmFuYTpwYTU1" { // grafana:pa55
		t.Errorf("Loki got Authorization %q, want basic grafana:pa55", *lokiAuth)
	}
	if tempoOpts.Timeouts.Timeout != 7*time.Second || lokiOpts.Timeouts.Timeout != 7*time.Second {
		t.Errorf("timeouts: tempo %v loki %v, want 7s", tempoOpts.Timeouts.Timeout, lokiOpts.Timeouts.Timeout)
	}
	if tempoOpts.Labels["upstream"] != "tempo" || lokiOpts.Labels["upstream"] != "loki" || tempoOpts.Labels["datasource_uid"] != "tg" {
		t.Errorf("labels: tempo %v loki %v", tempoOpts.Labels, lokiOpts.Labels)
	}
	if lokiOpts.Header.Get("Authorization") != "" {
		t.Error("Tempo's bearer header leaked into Loki's options")
	}
}

func TestHTTPOptionsNoAuthSendsNoAuthorization(t *testing.T) {
	srv, seen := authSeen(t, false)
	inst := instance(t, map[string]any{"tempoUrl": srv.URL, "lokiUrl": srv.URL}, map[string]string{"tempoToken": "unused"})
	inst.BasicAuthEnabled, inst.BasicAuthUser = true, "root"
	s, err := Load(inst)
	if err != nil {
		t.Fatal(err)
	}
	tempoOpts, _, err := s.HTTPOptions(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, tempoOpts, srv.URL); err != nil {
		t.Fatal(err)
	}
	if *seen != "" {
		t.Errorf("auth none must send no Authorization header, sent %q", *seen)
	}
}

func TestHTTPOptionsTLS(t *testing.T) {
	srv, _ := authSeen(t, true)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	tests := []struct {
		name    string
		jd      map[string]any
		secure  map[string]string
		wantErr bool
	}{
		{"unknown CA is refused", nil, nil, true},
		{"skip verify", map[string]any{"lokiTlsSkipVerify": true}, nil, false},
		{"CA certificate", nil, map[string]string{"lokiTlsCACert": caPEM}, false},
		{"Tempo's skip verify does not apply to Loki", map[string]any{"tempoTlsSkipVerify": true}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jd := map[string]any{"tempoUrl": srv.URL, "lokiUrl": srv.URL}
			for k, v := range tc.jd {
				jd[k] = v
			}
			inst := instance(t, jd, tc.secure)
			s, err := Load(inst)
			if err != nil {
				t.Fatal(err)
			}
			_, lokiOpts, err := s.HTTPOptions(context.Background(), inst)
			if err != nil {
				t.Fatal(err)
			}
			err = get(t, lokiOpts, srv.URL)
			if (err != nil) != tc.wantErr {
				t.Errorf("GET over TLS: err = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}
