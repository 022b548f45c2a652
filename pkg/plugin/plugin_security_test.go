package plugin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mathbig "math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// Recognisable secret values: none of them may ever come back out.
const (
	secTempoToken = "TGSECRET-tempo-token-7f3a9c51e2"
	secLokiToken  = "TGSECRET-loki-token-2b8e1d04aa"
	secTempoPass  = "TGSECRET-tempo-pass-5c4d77"
	secLokiPass   = "TGSECRET-loki-pass-9a0f33"
	// Custom header values (secureJsonData tempoHttpHeaderValue1, …).
	secTempoHeader = "TGSECRET-tempo-header-41d0c8"
	secLokiHeader  = "TGSECRET-loki-header-8e27b5"
)

// guard stands in front of a fake upstream: it records the tenant header
// of every request, lets through only requests with the expected
// credentials, and otherwise (or when told to fail) answers with the whole
// request echoed back, as some proxies and servers do.
type guard struct {
	next    http.Handler
	allowed func(*http.Request) bool
	fail    atomic.Int32 // 0: serve; else answer this status with the echo

	mu      sync.Mutex
	tenants []string
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.tenants = append(g.tenants, strings.Join(r.Header.Values("X-Scope-OrgID"), ","))
	g.mu.Unlock()
	status := int(g.fail.Load())
	if status == 0 && !g.allowed(r) {
		status = http.StatusUnauthorized
	}
	if status == 0 {
		g.next.ServeHTTP(w, r)
		return
	}
	var dump strings.Builder
	_ = r.Header.Write(&dump)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "denied %s; you sent Authorization=%q\n%s", r.URL, r.Header.Get("Authorization"), dump.String())
}

func (g *guard) tenantHeaders() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.tenants)
}

// secureSetup is Tempo behind TLS and Loki, both guarded, and a data source
// on them with the given auth kind and every secret set.
type secureSetup struct {
	tempo, loki *guard
	pCtx        backend.PluginContext
	caPEM       string
	secrets     []string
}

func newSecureSetup(t *testing.T, auth string) *secureSetup {
	t.Helper()
	s := &secureSetup{}
	tempoFake := seedTempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"})
	want := map[string]string{
		"tempo-bearer": "Bearer " + secTempoToken, "loki-bearer": "Bearer " + secLokiToken,
		"tempo-basic": "Basic " + base64.StdEncoding.EncodeToString([]byte("grafana:"+secTempoPass)),
		"loki-basic":  "Basic " + base64.StdEncoding.EncodeToString([]byte("grafana:"+secLokiPass)),
	}
	// Each upstream lets through only requests with its credentials and its
	// own custom header (so every answer proves the header arrived).
	s.tempo = &guard{next: tempoFake.Config.Handler, allowed: func(r *http.Request) bool {
		return r.Header.Get("Authorization") == want["tempo-"+auth] && r.Header.Get("X-Tempo-Key") == secTempoHeader && r.Header.Get("X-Loki-Key") == ""
	}}
	s.loki = &guard{next: seedLoki(t).Config.Handler, allowed: func(r *http.Request) bool {
		return r.Header.Get("Authorization") == want["loki-"+auth] && r.Header.Get("X-Loki-Key") == secLokiHeader && r.Header.Get("X-Tempo-Key") == ""
	}}
	tempoSrv := httptest.NewTLSServer(s.tempo)
	t.Cleanup(tempoSrv.Close)
	lokiSrv := httptest.NewServer(s.loki)
	t.Cleanup(lokiSrv.Close)
	s.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tempoSrv.Certificate().Raw}))

	jd := settingsFor(tempoSrv.URL, lokiSrv.URL, "tenantId", "tenant-a", "tempoAuth", auth, "lokiAuth", auth, "tempoUser", "grafana", "lokiUser", "grafana",
		"tempoHttpHeaderName1", "X-Tempo-Key", "lokiHttpHeaderName1", "X-Loki-Key")
	secure := map[string]string{
		"tempoToken": secTempoToken, "lokiToken": secLokiToken,
		"tempoPassword": secTempoPass, "lokiPassword": secLokiPass,
		"tempoTlsCACert":        s.caPEM,
		"tempoHttpHeaderValue1": secTempoHeader, "lokiHttpHeaderValue1": secLokiHeader,
	}
	s.pCtx = pluginContext(t, jd, secure)
	// What must never appear: each secret, its encodings, and pieces of
	// the CA certificate (which is not secret in itself, but is stored as
	// one and has no business in an answer).
	s.secrets = []string{secTempoToken, secLokiToken, secTempoPass, secLokiPass, secTempoHeader, secLokiHeader,
		strings.TrimPrefix(want["tempo-basic"], "Basic "), strings.TrimPrefix(want["loki-basic"], "Basic "),
		"grafana:" + secTempoPass, "grafana:" + secLokiPass, "TGSECRET"}
	for _, line := range strings.Split(s.caPEM, "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			s.secrets = append(s.secrets, line[:40])
		}
	}
	return s
}

// everyOutput runs every kind of call on the data source, in success or
// failure, and returns all it answered as text: query responses (frames
// with notices and executed queries, errors) as Grafana receives them,
// health messages and details, resource answers.
func (s *secureSetup) everyOutput(t *testing.T) []string {
	t.Helper()
	var out []string
	var queries []backend.DataQuery
	for i, q := range []struct{ qt, json string }{
		{QueryTypeTrace, seedQuery(seedTraceID)},
		{QueryTypeTrace, seedQuery(unknownTraceID)},
		{QueryTypeTrace, `{"traceId":"` + seedTraceID + `","logSelector":"{service_name=\"x\"} |= "}`},
		{QueryTypeTrace, `{"traceId":"not hex"}`},
		{QueryTypeSearch, `{"query":"{resource.service.name=\"widget-service\"}"}`},
		{QueryTypeWaitMetrics, `{"query":"{}"}`},
		{QueryTypeAnnotations, `{"traceId":"` + seedTraceID + `"}`},
		{"unknown", `{}`},
	} {
		queries = append(queries, backend.DataQuery{RefID: fmt.Sprint("Q", i), QueryType: q.qt, JSON: []byte(q.json), TimeRange: captureRange})
	}
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: s.pCtx, Queries: queries})
	if err != nil {
		out = append(out, err.Error())
	} else {
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
		for _, r := range resp.Responses {
			if r.Error != nil {
				out = append(out, r.Error.Error())
			}
			for _, f := range r.Frames {
				if f.Meta != nil {
					out = append(out, f.Meta.ExecutedQueryString)
					for _, n := range f.Meta.Notices {
						out = append(out, n.Text)
					}
				}
			}
		}
	}
	res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: s.pCtx})
	if err != nil {
		out = append(out, err.Error())
	} else {
		out = append(out, res.Message, string(res.JSONDetails))
	}
	for _, path := range []string{"services", "labels", "services?start=x", "nope"} {
		p, _, _ := strings.Cut(path, "?")
		err := startPlugin(t).CallResource(ctx(t), &backend.CallResourceRequest{PluginContext: s.pCtx, Path: p, Method: "GET", URL: path},
			backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
				out = append(out, fmt.Sprint(r.Status, r.Headers, string(r.Body)))
				return nil
			}))
		if err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

func scanForSecrets(t *testing.T, where string, texts []string, secrets []string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range secrets {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%s: secret %q leaked: …%s…", where, s, text[max(0, i-120):min(len(text), i+len(s)+40)])
			}
		}
	}
}

// TestSecretsNeverLeak sets recognisable secrets and scans every output of
// the plugin for them, on the success path and on failure paths where the
// upstream echoes the request (Authorization header included) back in its
// error body, and the plugin's logs.
func TestSecretsNeverLeak(t *testing.T) {
	logs := captureLogs(t)
	for _, auth := range []string{"bearer", "basic"} {
		for _, tc := range []struct {
			name           string
			tempo, loki    int32 // status each upstream fails with; 0: serves
			wantTraceFound bool
		}{
			{"success", 0, 0, true},
			{"Loki answers 401 echoing the request", 0, 401, true},
			{"Loki answers 400 echoing the request", 0, 400, true},
			{"Tempo answers 401 echoing the request", 401, 0, false},
			{"Tempo answers 500 echoing the request", 500, 0, false},
			{"both answer 403 echoing the request", 403, 403, false},
		} {
			t.Run(auth+"/"+tc.name, func(t *testing.T) {
				// A fresh instance each time: an instance keeps final
				// traces in its cache, which would hide Tempo failing.
				s := newSecureSetup(t, auth)
				s.tempo.fail.Store(tc.tempo)
				s.loki.fail.Store(tc.loki)
				out := s.everyOutput(t)
				scanForSecrets(t, "answer", out, s.secrets)
				joined := strings.Join(out, "\n")
				// The path really ran: the trace came back, or the failure
				// was reported with the upstream's status.
				if tc.wantTraceFound != strings.Contains(joined, `"name":"trace"`) {
					t.Errorf("trace found %v, want %v", !tc.wantTraceFound, tc.wantTraceFound)
				}
				if tc.tempo != 0 && !strings.Contains(joined, fmt.Sprintf("HTTP %d", tc.tempo)) {
					t.Errorf("the Tempo failure is not reported: %.300s", joined)
				}
				if tc.loki != 0 && !strings.Contains(joined, "Logs are missing because Loki failed") && tc.tempo == 0 {
					t.Errorf("the Loki failure is not a notice: %.300s", joined)
				}
			})
		}
	}

	// Invalid settings that hold secrets (a password in the URL, secrets
	// for an auth kind not chosen): the settings error is reported by
	// every call and logged by the factory, without them.
	t.Run("invalid settings", func(t *testing.T) {
		s := &secureSetup{secrets: []string{secTempoToken, secLokiToken, secTempoPass, secLokiPass, secTempoHeader, secLokiHeader, "TGSECRET"}}
		s.pCtx = pluginContext(t, map[string]any{"tempoUrl": "http://admin:" + secTempoPass + "@tempo:3200", "lokiUrl": "loki", "lokiAuth": "basic",
			"tempoHttpHeaderName1": "X-Tempo-Key", "lokiHttpHeaderName1": "Authorization"},
			map[string]string{"tempoToken": secTempoToken, "lokiToken": secLokiToken, "lokiPassword": secLokiPass, "tempoTlsCACert": "not a cert " + secTempoPass,
				// A header value that is refused (a line break) and one
				// whose header is refused (Authorization with basic auth).
				"tempoHttpHeaderValue1": secTempoHeader + "\r\nX-Injected: 1", "lokiHttpHeaderValue1": "Bearer " + secLokiHeader})
		out := s.everyOutput(t)
		if joined := strings.Join(out, "\n"); !strings.Contains(joined, "tempoUrl") || !strings.Contains(joined, "tempoHttpHeaderValue1") || !strings.Contains(joined, "lokiHttpHeaderName1") {
			t.Errorf("the settings problem is not reported: %.300s", strings.Join(out, "\n"))
		}
		scanForSecrets(t, "answer", out, s.secrets)
	})

	got := logs()
	if !strings.Contains(got, "Tracegap data source settings are invalid") {
		t.Errorf("the log capture did not see the plugin's own log line; logs:\n%.500s", got)
	}
	if capturesStderr && !strings.Contains(got, "Plugin Request Completed") {
		t.Errorf("the log capture did not see the SDK's request log; logs:\n%.500s", got)
	}
	scanForSecrets(t, "logs", []string{got}, []string{secTempoToken, secLokiToken, secTempoPass, secLokiPass, "TGSECRET",
		base64.StdEncoding.EncodeToString([]byte("grafana:" + secTempoPass)), base64.StdEncoding.EncodeToString([]byte("grafana:" + secLokiPass))})
}

// TestTenantComesOnlyFromSettings: whatever a query says about tenants, every
// request to Tempo and Loki carries exactly the configured tenant, or none
// when none is configured.
func TestTenantComesOnlyFromSettings(t *testing.T) {
	sneaky := `"tenantId":"tenant-b","X-Scope-OrgID":"tenant-b","orgId":"tenant-b","headers":{"X-Scope-OrgID":"tenant-b"}`
	queries := []backend.DataQuery{
		{RefID: "trace", QueryType: QueryTypeTrace, JSON: []byte(`{"traceId":"` + seedTraceID + `",` + sneaky + `}`), TimeRange: captureRange},
		{RefID: "search", QueryType: QueryTypeSearch, JSON: []byte(`{"query":"{}",` + sneaky + `}`), TimeRange: captureRange},
	}
	for _, tenant := range []string{"tenant-a", ""} {
		t.Run(fmt.Sprintf("tenant %q", tenant), func(t *testing.T) {
			allow := func(*http.Request) bool { return true }
			tempo := &guard{next: seedTempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"}).Config.Handler, allowed: allow}
			loki := &guard{next: seedLoki(t).Config.Handler, allowed: allow}
			tempoSrv, lokiSrv := httptest.NewServer(tempo), httptest.NewServer(loki)
			t.Cleanup(tempoSrv.Close)
			t.Cleanup(lokiSrv.Close)
			pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL, "tenantId", tenant), nil)
			resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: queries,
				// Grafana's own request headers are not the tenant either.
				Headers: map[string]string{"X-Scope-OrgID": "tenant-c", "http_X-Scope-OrgID": "tenant-c"}})
			if err != nil {
				t.Fatal(err)
			}
			if r := resp.Responses["trace"]; r.Error != nil {
				t.Fatalf("trace: %v", r.Error)
			}
			for name, g := range map[string]*guard{"Tempo": tempo, "Loki": loki} {
				got := g.tenantHeaders()
				if len(got) == 0 {
					t.Errorf("%s got no request", name)
				}
				for _, h := range got {
					if h != tenant {
						t.Errorf("%s got X-Scope-OrgID %q, want %q (all: %q)", name, h, tenant, got)
						break
					}
				}
			}
		})
	}
}

// TestTLSVerification: certificates are verified unless the data source
// says otherwise with its own keys: without the CA the connection fails
// with a message naming the settings; with the CA certificate, or with
// skip-verify, it works. Grafana's generic root-level TLS keys do not turn
// verification off for Tempo or Loki.
func TestTLSVerification(t *testing.T) {
	tempoSrv := httptest.NewTLSServer(seedTempo(t).Config.Handler)
	t.Cleanup(tempoSrv.Close)
	lokiSrv := httptest.NewTLSServer(seedLoki(t).Config.Handler)
	t.Cleanup(lokiSrv.Close)
	ca := func(s *httptest.Server) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
	}
	otherCA := selfSignedCA(t)
	tests := []struct {
		name   string
		more   []any
		secure map[string]string
		ok     bool
		says   []string
	}{
		{name: "no CA: verification fails", says: []string{"cannot verify the TLS certificate of Tempo", "tempoTlsCACert", "tempoTlsSkipVerify", "cannot verify the TLS certificate of Loki", "lokiTlsCACert"}},
		{name: "Grafana's root-level skip-verify is not ours", more: []any{"tlsSkipVerify", true, "tlsAuthWithCACert", false},
			says: []string{"cannot verify the TLS certificate of Tempo", "cannot verify the TLS certificate of Loki"}},
		{name: "another server's CA", secure: map[string]string{"tempoTlsCACert": otherCA, "lokiTlsCACert": otherCA},
			says: []string{"cannot verify the TLS certificate of Tempo", "cannot verify the TLS certificate of Loki"}},
		{name: "the right CA certificates", secure: map[string]string{"tempoTlsCACert": ca(tempoSrv), "lokiTlsCACert": ca(lokiSrv)}, ok: true},
		{name: "skip verify, as the user chose", more: []any{"tempoTlsSkipVerify", true, "lokiTlsSkipVerify", true}, ok: true},
		{name: "only Tempo verified", more: []any{"lokiTlsSkipVerify", true}, secure: map[string]string{"tempoTlsCACert": ca(tempoSrv)}, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL, tc.more...), tc.secure)
			res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pCtx})
			if err != nil {
				t.Fatal(err)
			}
			r := runTrace(t, pCtx, seedQuery(seedTraceID), captureRange)
			if tc.ok {
				if res.Status != backend.HealthStatusOk || r.Error != nil {
					t.Fatalf("health %v %q; query %v", res.Status, res.Message, r.Error)
				}
				if notes := noticeTexts(frameOf(t, r, "trace")); len(notes) != 0 && strings.Contains(strings.Join(notes, " "), "TLS") {
					t.Errorf("Loki over TLS failed: %q", notes)
				}
				return
			}
			if res.Status != backend.HealthStatusError {
				t.Fatalf("health passed without a trusted certificate: %q", res.Message)
			}
			for _, s := range tc.says {
				if !strings.Contains(res.Message, s) {
					t.Errorf("health message lacks %q: %s", s, res.Message)
				}
			}
			if r.Error == nil || !strings.Contains(r.Error.Error(), "cannot verify the TLS certificate of Tempo") {
				t.Errorf("query: %v", r.Error)
			}
		})
	}
}

// selfSignedCA is a CA certificate (PEM) that signed nothing the test
// servers use: httptest's servers all share one certificate.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: mathbig.NewInt(1), Subject: pkix.Name{CommonName: "Some Other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestCustomHeadersReachTheirUpstream: each upstream's custom headers
// reach that upstream, on every kind of call (queries, health, resources),
// and not the other one; without any configured, none is sent.
func TestCustomHeadersReachTheirUpstream(t *testing.T) {
	for _, configured := range []bool{true, false} {
		t.Run(fmt.Sprint("configured=", configured), func(t *testing.T) {
			tempoSrv := seedTempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"})
			lokiSrv := seedLoki(t)
			jd := settingsFor(tempoSrv.URL, lokiSrv.URL)
			var secure map[string]string
			if configured {
				jd["tempoHttpHeaderName1"], jd["tempoHttpHeaderName2"], jd["lokiHttpHeaderName1"] = "X-Tempo-Key", "X-Gateway", "X-Loki-Key"
				secure = map[string]string{"tempoHttpHeaderValue1": "tk", "tempoHttpHeaderValue2": "gw", "lokiHttpHeaderValue1": "lk"}
			}
			s := &secureSetup{pCtx: pluginContext(t, jd, secure)}
			out := strings.Join(s.everyOutput(t), "\n")
			if !strings.Contains(out, `"name":"trace"`) {
				t.Fatalf("the trace query failed: %.300s", out)
			}
			check := func(name string, srv *fixtures.Server, want map[string]string) {
				reqs := srv.Requests()
				if len(reqs) == 0 {
					t.Fatalf("%s got no request", name)
				}
				for _, r := range reqs {
					for h, v := range want {
						if got := r.Header.Get(h); got != v {
							t.Errorf("%s %s: header %s = %q, want %q", name, r.URL.Path, h, got, v)
						}
					}
				}
			}
			if configured {
				check("Tempo", tempoSrv, map[string]string{"X-Tempo-Key": "tk", "X-Gateway": "gw", "X-Loki-Key": ""})
				check("Loki", lokiSrv, map[string]string{"X-Loki-Key": "lk", "X-Tempo-Key": "", "X-Gateway": ""})
			} else {
				check("Tempo", tempoSrv, map[string]string{"X-Tempo-Key": "", "X-Gateway": "", "X-Loki-Key": ""})
				check("Loki", lokiSrv, map[string]string{"X-Loki-Key": "", "X-Tempo-Key": "", "X-Gateway": ""})
			}
		})
	}
}
