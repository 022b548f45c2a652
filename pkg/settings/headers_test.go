package settings

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// headersSeen starts a server that records the request headers it gets.
func headersSeen(t *testing.T) (*httptest.Server, *http.Header) {
	t.Helper()
	seen := &http.Header{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*seen = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestCustomHeadersPerUpstream(t *testing.T) {
	tempoSrv, tempoSeen := headersSeen(t)
	lokiSrv, lokiSeen := headersSeen(t)
	inst := instance(t, map[string]any{
		"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL,
		"tempoHttpHeaderName1": "X-Api-Key", "tempoHttpHeaderName2": "X-Gateway",
		"lokiHttpHeaderName1": "X-Loki-Key", "lokiHttpHeaderName3": " X-Api-Key ",
		// Grafana's own root-level custom header goes to both.
		"httpHeaderName1": "X-Common",
	}, map[string]string{
		"tempoHttpHeaderValue1": "tempo-key-1", "tempoHttpHeaderValue2": "gw",
		"lokiHttpHeaderValue1": "loki-key-1", "lokiHttpHeaderValue3": "loki-api-key",
		"httpHeaderValue1": "common",
	})
	s, _, _ := getBoth(t, inst, tempoSrv.URL, lokiSrv.URL)
	want := map[*http.Header]map[string]string{
		tempoSeen: {"X-Api-Key": "tempo-key-1", "X-Gateway": "gw", "X-Loki-Key": "", "X-Common": "common"},
		lokiSeen:  {"X-Api-Key": "loki-api-key", "X-Loki-Key": "loki-key-1", "X-Gateway": "", "X-Common": "common"},
	}
	for seen, headers := range want {
		for name, value := range headers {
			if got := seen.Get(name); got != value {
				t.Errorf("%s: %q, want %q (all: %v)", name, got, value, *seen)
			}
		}
	}
	// Neither the headers' values nor the headers themselves marshal.
	b, _ := json.Marshal(s)
	for _, secret := range []string{"tempo-key-1", "loki-key-1", "loki-api-key"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("marshalled settings hold %q: %s", secret, b)
		}
	}
}

func TestNoCustomHeadersWhenUnset(t *testing.T) {
	tempoSrv, tempoSeen := headersSeen(t)
	lokiSrv, lokiSeen := headersSeen(t)
	inst := instance(t, map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL, "tempoHttpHeaderName1": ""}, nil)
	s, err := Load(inst)
	if err != nil {
		t.Fatal(err)
	}
	if s.TempoHeaders != nil || s.LokiHeaders != nil {
		t.Errorf("headers %v %v, want none", s.TempoHeaders, s.LokiHeaders)
	}
	tempoOpts, lokiOpts, err := s.HTTPOptions(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	_ = get(t, tempoOpts, tempoSrv.URL)
	_ = get(t, lokiOpts, lokiSrv.URL)
	for name, seen := range map[string]*http.Header{"Tempo": tempoSeen, "Loki": lokiSeen} {
		for h := range *seen {
			if h != "Accept-Encoding" && h != "User-Agent" {
				t.Errorf("%s got header %s without any configured", name, h)
			}
		}
	}
}

func TestCustomHeaderProblems(t *testing.T) {
	const secretValue = "TGSECRET-header-value"
	tests := []struct {
		name   string
		json   map[string]any
		secure map[string]string
		key    string
		says   string
	}{
		{"line break in a name", map[string]any{"tempoHttpHeaderName1": "X-Evil\r\nX-Injected: 1"}, map[string]string{"tempoHttpHeaderValue1": secretValue},
			"tempoHttpHeaderName1", `"X-Evil\r\nX-Injected: 1" is not an HTTP header name`},
		{"space in a name", map[string]any{"lokiHttpHeaderName2": "X Api Key"}, map[string]string{"lokiHttpHeaderValue2": secretValue},
			"lokiHttpHeaderName2", "is not an HTTP header name"},
		{"line break in a value", map[string]any{"lokiHttpHeaderName1": "X-Api-Key"}, map[string]string{"lokiHttpHeaderValue1": secretValue + "\r\nX-Injected: 1"},
			"lokiHttpHeaderValue1", "the value of header X-Api-Key holds a line break"},
		{"tenant header", map[string]any{"tempoHttpHeaderName1": "x-scope-orgid"}, map[string]string{"tempoHttpHeaderValue1": secretValue},
			"tempoHttpHeaderName1", "set by the tenant id (tenantId)"},
		{"Authorization with bearer auth", map[string]any{"lokiAuth": "bearer", "lokiHttpHeaderName1": "Authorization"}, map[string]string{"lokiToken": "t", "lokiHttpHeaderValue1": secretValue},
			"lokiHttpHeaderName1", "Authorization is already set by the Loki authentication (lokiAuth is bearer)"},
		{"name without value", map[string]any{"tempoHttpHeaderName4": "X-Api-Key"}, nil,
			"tempoHttpHeaderValue4", "header X-Api-Key has no saved value"},
		{"value without name", map[string]any{}, map[string]string{"tempoHttpHeaderValue2": secretValue},
			"tempoHttpHeaderName2", "is empty but tempoHttpHeaderValue2 is saved"},
		{"name of the wrong type", map[string]any{"lokiHttpHeaderName1": 7}, nil,
			"lokiHttpHeaderName1", "has the wrong type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(instance(t, with(tc.json), tc.secure))
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok || !ve.Has(tc.key) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want a problem with %s saying %q, got %v", tc.key, tc.says, err)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("the message quotes the header's value: %v", err)
			}
		})
	}

	t.Run("Authorization without auth is allowed", func(t *testing.T) {
		s, err := Load(instance(t, with(map[string]any{"tempoHttpHeaderName1": "Authorization"}), map[string]string{"tempoHttpHeaderValue1": "Api-Key abc"}))
		if err != nil || s.TempoHeaders.Get("Authorization") != "Api-Key abc" {
			t.Fatalf("%v, %v", s, err)
		}
	})
}

func TestSecureSocksProxyForBothUpstreams(t *testing.T) {
	for _, on := range []bool{true, false} {
		inst := instance(t, with(map[string]any{"enableSecureSocksProxy": on}), nil)
		s, err := Load(inst)
		if err != nil {
			t.Fatal(err)
		}
		if s.EnableSecureSocksProxy != on {
			t.Errorf("EnableSecureSocksProxy %v, want %v", s.EnableSecureSocksProxy, on)
		}
		tempoOpts, lokiOpts, err := s.HTTPOptions(context.Background(), inst)
		if err != nil {
			t.Fatal(err)
		}
		for name, o := range map[string]bool{"Tempo": tempoOpts.ProxyOptions != nil && tempoOpts.ProxyOptions.Enabled, "Loki": lokiOpts.ProxyOptions != nil && lokiOpts.ProxyOptions.Enabled} {
			if o != on {
				t.Errorf("enableSecureSocksProxy %v: %s proxy options enabled = %v", on, name, o)
			}
		}
		if on && tempoOpts.ProxyOptions.Auth.Username != "tg" {
			// The SDK's default proxy user is the data source uid.
			t.Errorf("proxy user %q, want the uid", tempoOpts.ProxyOptions.Auth.Username)
		}
	}
}
