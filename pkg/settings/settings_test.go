package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// instance builds instance settings the way Grafana sends them.
func instance(t *testing.T, jsonData map[string]any, secure map[string]string) backend.DataSourceInstanceSettings {
	t.Helper()
	raw, err := json.Marshal(jsonData)
	if err != nil {
		t.Fatal(err)
	}
	return backend.DataSourceInstanceSettings{UID: "tg", Name: "Tracegap", Type: "tracegap-correlator-datasource", JSONData: raw, DecryptedSecureJSONData: secure}
}

// with returns the two required URLs plus extra keys.
func with(extra map[string]any) map[string]any {
	m := map[string]any{"tempoUrl": "http://tempo:3200", "lokiUrl": "http://loki:3100"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestLoadDefaults(t *testing.T) {
	s, err := Load(instance(t, with(nil), nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Settings{
		TempoURL: "http://tempo:3200", LokiURL: "http://loki:3100",
		TempoAuth: AuthNone, LokiAuth: AuthNone,
		TimeoutSeconds: 30, LogSelector: `{service_name=~".+"}`, LogQueryMode: LogQueryAuto,
		MinGapMs: 100, RetryPattern: `retrying|will retry|attempt \d+ failed`,
		GiveUpPattern: `not retrying|giving up|no more retries|won't retry|will not retry|retries exhausted`,
		TraceIDFields: DefaultTraceIDFields, SpanIDFields: DefaultSpanIDFields,
		LokiMarginSeconds: 5, LokiMaxLines: 50000, MaxLinesPerSpan: 100, TempoConcurrency: 8,
		MaxTraceMB: 512, MaxLogsMB: 512, MaxLogLines: 5000, MaxEmbeddedLines: 20000, MaxTableRows: 1000,
	}
	if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(Settings{}, "Retry", "GiveUp")); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if s.Retry == nil || !s.Retry.MatchString("Attempt 2 FAILED, Retrying in 1s") || s.Retry.MatchString("fetched 12 rows") {
		t.Errorf("retry pattern must be compiled case-insensitive, got %v", s.Retry)
	}
	if s.GiveUp == nil || !s.GiveUp.MatchString("Attempt 3 failed, GIVING UP") || s.GiveUp.MatchString("retrying in 1s") {
		t.Errorf("give-up pattern must be compiled case-insensitive, got %v", s.GiveUp)
	}
	if s.MaxTraceBytes() != 512<<20 || s.MaxLogsBytes() != 512<<20 || s.Timeout().Seconds() != 30 ||
		s.MinGap().Milliseconds() != 100 || s.LokiMargin().Seconds() != 5 {
		t.Errorf("derived durations/sizes wrong: %v %v %v %v %v", s.MaxTraceBytes(), s.MaxLogsBytes(), s.Timeout(), s.MinGap(), s.LokiMargin())
	}
}

func TestLoadEveryField(t *testing.T) {
	jd := map[string]any{
		"tempoUrl": " https://tempo.example.com/prefix/ ", "lokiUrl": "https://loki.example.com",
		"tenantId": "tenant-a", "tempoAuth": "bearer", "lokiAuth": "basic", "tempoUser": "ignored", "lokiUser": "grafana",
		"tempoTlsSkipVerify": true, "lokiTlsSkipVerify": false, "timeoutSeconds": 12, "logSelector": `{app="x"}`,
		"logQueryMode": "metadata", "minGapMs": 0, "retryPattern": "backoff", "giveUpPattern": "circuit open",
		"traceIdFields": []string{" tid ", "tid", "", "trace"}, "spanIdFields": []string{"sid"},
		"lokiMarginSeconds": 0, "lokiMaxLines": "20000", "maxLinesPerSpan": 7, "tempoConcurrency": 3,
		"maxTraceMB": 64, "maxLogsMB": "128", "maxLogLines": "800", "maxEmbeddedLines": 1500, "maxTableRows": "300",
		"tracesToLogsV2": map[string]any{"datasourceUid": " loki-uid ", "spanStartTimeShift": "-5m"},
	}
	secure := map[string]string{"tempoToken": "t0k3n", "lokiPassword": "pa55", "tempoTlsCACert": "", "lokiToken": "unused"}
	s, err := Load(instance(t, jd, secure))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Settings{
		TempoURL: "https://tempo.example.com/prefix/", LokiURL: "https://loki.example.com", TenantID: "tenant-a",
		TempoAuth: AuthBearer, TempoUser: "ignored", TempoTLSSkipVerify: true,
		LokiAuth: AuthBasic, LokiUser: "grafana",
		TimeoutSeconds: 12, LogSelector: `{app="x"}`, LogQueryMode: LogQueryMetadata, MinGapMs: 0, RetryPattern: "backoff",
		GiveUpPattern: "circuit open", TraceIDFields: []string{"tid", "trace"}, SpanIDFields: []string{"sid"},
		LokiMarginSeconds: 0, LokiMaxLines: 20000, MaxLinesPerSpan: 7, TempoConcurrency: 3, MaxTraceMB: 64, MaxLogsMB: 128,
		MaxLogLines: 800, MaxEmbeddedLines: 1500, MaxTableRows: 300, LogsDatasourceUID: "loki-uid",
		TempoToken: "t0k3n", LokiPassword: "pa55", LokiToken: "unused",
	}
	if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(Settings{}, "Retry", "GiveUp")); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if !s.Retry.MatchString("BACKOFF 2s") {
		t.Error("custom retry pattern must be compiled case-insensitive")
	}
	if !s.GiveUp.MatchString("Circuit OPEN, failing fast") {
		t.Error("custom give-up pattern must be compiled case-insensitive")
	}
}

func TestLoadZeroOrEmptyMeansDefault(t *testing.T) {
	// Emptied number inputs arrive as 0 or ""; where 0 means nothing useful
	// the default applies. minGapMs and lokiMarginSeconds keep a written 0.
	s, err := Load(instance(t, with(map[string]any{
		"timeoutSeconds": 0, "lokiMaxLines": "", "maxLinesPerSpan": nil, "tempoConcurrency": 0,
		"maxTraceMB": 0, "maxLogsMB": " ", "retryPattern": "  ", "giveUpPattern": "", "logSelector": "", "logQueryMode": "",
		"tempoAuth": "", "minGapMs": "0", "lokiMarginSeconds": 0,
	}), nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := []any{s.TimeoutSeconds, s.LokiMaxLines, s.MaxLinesPerSpan, s.TempoConcurrency, s.MaxTraceMB, s.MaxLogsMB,
		s.RetryPattern, s.GiveUpPattern, s.LogSelector, s.LogQueryMode, s.TempoAuth, s.MinGapMs, s.LokiMarginSeconds}
	want := []any{30, 50000, 100, 8, 512, 512, DefaultRetryPattern, DefaultGiveUpPattern, DefaultLogSelector, LogQueryAuto, AuthNone, 0, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLoadValidTenantIDs(t *testing.T) {
	for _, id := range []string{"tenant-a", "single-tenant", "fake", "A_b.c*d'(e)!", strings.Repeat("x", 150), "team-a|team-b", "..."} {
		if _, err := Load(instance(t, with(map[string]any{"tenantId": id}), nil)); err != nil {
			t.Errorf("tenantId %q: unexpected error %v", id, err)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name     string
		jsonData map[string]any
		secure   map[string]string
		key      string // the problem's key
		says     string // a phrase the message must contain
	}{
		{"no jsonData at all names both URLs", nil, nil, "tempoUrl", "the Tempo URL is empty"},
		{"missing tempoUrl", map[string]any{"lokiUrl": "http://loki:3100"}, nil, "tempoUrl", "enter the Tempo base URL"},
		{"missing lokiUrl", map[string]any{"tempoUrl": "http://tempo:3200"}, nil, "lokiUrl", "the Loki URL is empty"},
		{"blank lokiUrl", with(map[string]any{"lokiUrl": "   "}), nil, "lokiUrl", "empty"},
		{"URL without scheme", with(map[string]any{"lokiUrl": "loki:3100"}), nil, "lokiUrl", "has no scheme"},
		{"host without scheme", with(map[string]any{"tempoUrl": "localhost"}), nil, "tempoUrl", "has no scheme"},
		{"non-http scheme", with(map[string]any{"tempoUrl": "grpc://tempo:9095"}), nil, "tempoUrl", `uses the scheme "grpc"`},
		{"ftp scheme", with(map[string]any{"lokiUrl": "ftp://loki"}), nil, "lokiUrl", "http:// or https://"},
		{"no host", with(map[string]any{"lokiUrl": "http://"}), nil, "lokiUrl", "has no host"},
		{"credentials in URL", with(map[string]any{"lokiUrl": "http://admin:s3cr3t@loki:3100"}), nil, "lokiUrl", "contains credentials"},
		{"query in URL", with(map[string]any{"tempoUrl": "http://tempo:3200?x=1"}), nil, "tempoUrl", "query or fragment"},
		{"tenant too long", with(map[string]any{"tenantId": strings.Repeat("t", 151)}), nil, "tenantId", "at most 150"},
		{"tenant with space", with(map[string]any{"tenantId": "tenant a"}), nil, "tenantId", "' '"},
		{"tenant with slash", with(map[string]any{"tenantId": "a/b"}), nil, "tenantId", "'/'"},
		{"tenant with non-ASCII letter", with(map[string]any{"tenantId": "tenänt"}), nil, "tenantId", "'ä'"},
		{"tenant dot", with(map[string]any{"tenantId": "."}), nil, "tenantId", "not allowed"},
		{"tenant dot dot", with(map[string]any{"tenantId": ".."}), nil, "tenantId", "not allowed"},
		{"tenant dot dot in a federation", with(map[string]any{"tenantId": "a|.."}), nil, "tenantId", "not allowed"},
		{"empty tenant between pipes", with(map[string]any{"tenantId": "a||b"}), nil, "tenantId", "empty tenant"},
		{"bad auth kind", with(map[string]any{"tempoAuth": "oauth"}), nil, "tempoAuth", "choose none, basic or bearer"},
		{"bad loki auth kind", with(map[string]any{"lokiAuth": "Basic"}), nil, "lokiAuth", `"Basic"`},
		{"basic without user", with(map[string]any{"lokiAuth": "basic"}), map[string]string{"lokiPassword": "pw"}, "lokiUser", "no user is set"},
		{"basic without password", with(map[string]any{"tempoAuth": "basic", "tempoUser": "u"}), nil, "tempoPassword", "no password"},
		{"bearer without token", with(map[string]any{"tempoAuth": "bearer"}), nil, "tempoToken", "no token"},
		{"bearer with blank token", with(map[string]any{"lokiAuth": "bearer"}), map[string]string{"lokiToken": "  "}, "lokiToken", "no token"},
		{"CA cert not PEM", with(nil), map[string]string{"tempoTlsCACert": "hello"}, "tempoTlsCACert", "not a PEM certificate"},
		{"CA cert broken PEM", with(nil), map[string]string{"lokiTlsCACert": pem}, "lokiTlsCACert", "not a PEM certificate"},
		{"negative timeout", with(map[string]any{"timeoutSeconds": -1}), nil, "timeoutSeconds", "-1 is out of range"},
		{"huge timeout", with(map[string]any{"timeoutSeconds": 30000}), nil, "timeoutSeconds", "from 1 to 3600"},
		{"timeout not a number", with(map[string]any{"timeoutSeconds": "thirty"}), nil, "timeoutSeconds", `"thirty" is not a whole number`},
		{"timeout fractional", with(map[string]any{"timeoutSeconds": 1.5}), nil, "timeoutSeconds", "not a whole number"},
		{"negative minGapMs", with(map[string]any{"minGapMs": -100}), nil, "minGapMs", "out of range"},
		{"negative lokiMarginSeconds", with(map[string]any{"lokiMarginSeconds": "-5"}), nil, "lokiMarginSeconds", "out of range"},
		{"negative lokiMaxLines", with(map[string]any{"lokiMaxLines": -1}), nil, "lokiMaxLines", "out of range"},
		{"negative maxLinesPerSpan", with(map[string]any{"maxLinesPerSpan": -3}), nil, "maxLinesPerSpan", "out of range"},
		{"negative tempoConcurrency", with(map[string]any{"tempoConcurrency": -8}), nil, "tempoConcurrency", "out of range"},
		{"too many tempoConcurrency", with(map[string]any{"tempoConcurrency": 1000}), nil, "tempoConcurrency", "from 1 to 64"},
		{"negative maxTraceMB", with(map[string]any{"maxTraceMB": -512}), nil, "maxTraceMB", "out of range"},
		{"negative maxLogsMB", with(map[string]any{"maxLogsMB": -1}), nil, "maxLogsMB", "out of range"},
		{"selector without braces", with(map[string]any{"logSelector": `service_name="x"`}), nil, "logSelector", "not a LogQL stream selector"},
		{"bad log query mode", with(map[string]any{"logQueryMode": "fast"}), nil, "logQueryMode", "choose auto, line or metadata"},
		{"bad regex", with(map[string]any{"retryPattern": "retry(ing"}), nil, "retryPattern", "not a valid regular expression"},
		{"regex matching everything", with(map[string]any{"retryPattern": "x*"}), nil, "retryPattern", "matches every log line"},
		{"boolean as string", with(map[string]any{"tempoTlsSkipVerify": "yes"}), nil, "tempoTlsSkipVerify", "wrong type"},
		{"field list as string", with(map[string]any{"traceIdFields": "trace_id"}), nil, "traceIdFields", "a list of strings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(instance(t, tc.jsonData, tc.secure))
			if err == nil {
				t.Fatalf("want an error about %s, got settings %+v", tc.key, s)
			}
			if !backend.IsDownstreamError(err) {
				t.Errorf("settings errors are the user's to fix and must be downstream errors: %v", err)
			}
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("want a *ValidationError, got %T: %v", err, err)
			}
			if !ve.Has(tc.key) {
				t.Fatalf("want a problem for %s, got %v", tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("message must name %s and say %q, got: %v", tc.key, tc.says, err)
			}
			for _, secret := range []string{"s3cr3t", "pw"} {
				if strings.Contains(err.Error(), secret) && !strings.Contains(tc.says, secret) {
					t.Errorf("message leaks a secret %q: %v", secret, err)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(instance(t, map[string]any{"tenantId": "a b", "minGapMs": -1}, nil))
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	var keys []string
	for _, p := range ve.Problems {
		keys = append(keys, p.Key)
	}
	if diff := cmp.Diff([]string{"tempoUrl", "lokiUrl", "tenantId", "minGapMs"}, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s", diff)
	}
}

func TestLoadInvalidJSON(t *testing.T) {
	_, err := Load(backend.DataSourceInstanceSettings{JSONData: json.RawMessage(`{"tempoUrl":`)})
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok || !ve.Has("jsonData") || !backend.IsDownstreamError(err) {
		t.Fatalf("want a downstream jsonData problem, got %v", err)
	}
}

func TestSecretsNeverSerialised(t *testing.T) {
	secure := map[string]string{
		"tempoToken": "TEMPO-TOKEN", "tempoPassword": "TEMPO-PW", "tempoTlsCACert": "",
		"lokiToken": "LOKI-TOKEN", "lokiPassword": "LOKI-PW",
	}
	s, err := Load(instance(t, with(map[string]any{"tempoAuth": "bearer", "lokiAuth": "basic", "lokiUser": "u"}), secure))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range secure {
		if v != "" && strings.Contains(string(b), v) {
			t.Errorf("secret %q appears in the marshalled settings: %s", v, b)
		}
	}
}
