package plugin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// TestTraceQueryRejectsBadQueries: a query the user must fix is a 400 that
// says what is wrong, and nothing is sent to Tempo or Loki.
func TestTraceQueryRejectsBadQueries(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil)
	tests := []struct {
		name, json, says string
	}{
		{"malformed JSON", `{"queryType":"trace","traceId":`, "the query is not valid JSON"},
		{"trace id of the wrong type", `{"traceId":123}`, "the query's traceId has the wrong type (number where a string was expected)"},
		{"no trace id", `{"queryType":"trace"}`, "enter a trace id: 1 to 32 hex digits, e.g. 0af7651916cd43dd8448eb211c80319c"},
		{"empty JSON", ``, "enter a trace id"},
		{"blank trace id", `{"traceId":"   "}`, "enter a trace id"},
		{"template variable", `{"traceId":"$traceId"}`, `the trace id is "$traceId": the template variable $traceId was not replaced; check that the dashboard variable exists and has a value`},
		{"braced template variable", `{"traceId":" ${trace_id:raw} "}`, "the template variable ${trace_id:raw} was not replaced"},
		{"not hex", `{"traceId":"abc123xyz"}`, `"abc123xyz" is not a trace id: a trace id is 1 to 32 hex digits (0-9, a-f), e.g. 0af7651916cd43dd8448eb211c80319c`},
		{"33 digits", `{"traceId":"00af7651916cd43dd8448eb211c80319c"}`, "is not a trace id: a trace id is 1 to 32 hex digits"},
		{"pasted log line", `{"traceId":"` + strings.Repeat("traceId=0af7 ", 10) + `"}`, `..." is not a trace id`},
		{"all zeros", `{"traceId":"0000"}`, "is all zeros"},
		{"negative minGapMs", `{"traceId":"` + seedTraceID + `","minGapMs":-1}`, "minGapMs is -1; enter 0 or more milliseconds"},
		{"minGapMs over an hour", `{"traceId":"` + seedTraceID + `","minGapMs":3600001}`, "minGapMs is 3.600001e+06, more than an hour; enter at most 3600000 milliseconds"},
		{"minGapMs not a number", `{"traceId":"` + seedTraceID + `","minGapMs":"soon"}`, `the query's minGapMs is "soon", not a number of milliseconds, e.g. 100`},
		{"minGapMs a variable", `{"traceId":"` + seedTraceID + `","minGapMs":"$gap"}`, `the query's minGapMs is "$gap": the template variable in it was not replaced`},
		{"minGapMs a bool", `{"traceId":"` + seedTraceID + `","minGapMs":true}`, `minGapMs is "true", not a number`},
		{"selector without braces", `{"traceId":"` + seedTraceID + `","logSelector":"service_name=\"x\""}`, `logSelector "service_name=\"x\"" is not a LogQL stream selector: it must start with {`},
		{"limit not whole", `{"traceId":"` + seedTraceID + `","limit":2.5}`, "the query's limit 2.5 is not a whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runTrace(t, pCtx, tc.json, captureRange)
			if r.Error == nil {
				t.Fatalf("no error; frames %d", len(r.Frames))
			}
			if !strings.Contains(r.Error.Error(), tc.says) {
				t.Errorf("error %q\nlacks %q", r.Error, tc.says)
			}
			if r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream || len(r.Frames) != 0 {
				t.Errorf("status %v source %q frames %d, want 400 downstream and no frames", r.Status, r.ErrorSource, len(r.Frames))
			}
		})
	}
	if p := append(tempoSrv.Paths(), lokiSrv.Paths()...); len(p) != 0 {
		t.Errorf("bad queries reached the upstreams: %q", p)
	}
}

// TestTraceQueryTempoFailures: without the trace there is nothing to show;
// the error says why, with Tempo's own words, and Loki is not asked.
func TestTraceQueryTempoFailures(t *testing.T) {
	const token = "s3cret-token-value"
	reply := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	v2 := "/api/v2/traces/" + seedTraceID
	tests := []struct {
		name    string
		traceID string
		tempo   func(t *testing.T) string // the Tempo URL
		secure  map[string]string
		more    []any
		status  backend.Status
		says    string
	}{
		{
			"not found: Tempo 2.5+ answers v2 with an empty trace", unknownTraceID,
			func(t *testing.T) string { return seedTempo(t).URL }, nil, nil,
			backend.StatusNotFound, "trace deadbeefdeadbeefdeadbeefdeadbeef not found in Tempo (check the time range and tenant)",
		},
		{
			"not found: an older Tempo has no v2 and answers v1 with 404", unknownTraceID,
			func(t *testing.T) string {
				return fixtures.Tempo(t, fixtures.Route{Path: "/api/traces/" + unknownTraceID, Capture: "tempo/trace_v1_not_found_protobuf"}).URL
			}, nil, nil,
			backend.StatusNotFound, "trace deadbeefdeadbeefdeadbeefdeadbeef not found in Tempo (check the time range and tenant)",
		},
		{
			"Tempo down", seedTraceID,
			func(t *testing.T) string { return fixtures.ClosedURL(t) }, nil, nil,
			0, "cannot reach Tempo at http://127.0.0.1:",
		},
		{
			"Tempo multi-tenant without a tenant (401 no org id)", seedTraceID,
			func(t *testing.T) string {
				return seedTempo(t, fixtures.Route{Path: v2, Handler: reply(http.StatusUnauthorized, "no org id\n")}).URL
			}, nil, nil,
			backend.StatusUnauthorized, "runs multi-tenant and needs a tenant (HTTP 401: no org id); set the tenant id (tenantId)",
		},
		{
			"Tempo refuses the token (401)", seedTraceID,
			func(t *testing.T) string {
				return seedTempo(t, fixtures.Route{Path: v2, Match: fixtures.HeaderIs("Authorization", "Bearer "+token), Handler: reply(http.StatusUnauthorized, "invalid token")}).URL
			}, map[string]string{"tempoToken": token}, []any{"tempoAuth", "bearer"},
			backend.StatusUnauthorized, "refused the request (HTTP 401: invalid token); check the token/tenant: the Tempo authentication (tempoAuth)",
		},
		{
			"Tempo failing (503)", seedTraceID,
			func(t *testing.T) string {
				return seedTempo(t, fixtures.Route{Path: v2, Handler: reply(http.StatusServiceUnavailable, "ingester unavailable")}).URL
			}, nil, nil,
			backend.StatusBadGateway, "failed (HTTP 503: ingester unavailable); check that Tempo is healthy",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lokiSrv := seedLoki(t)
			pCtx := pluginContext(t, settingsFor(tc.tempo(t), lokiSrv.URL, tc.more...), tc.secure)
			r := runTrace(t, pCtx, seedQuery(tc.traceID), captureRange)
			if r.Error == nil {
				t.Fatalf("no error; %d frames", len(r.Frames))
			}
			if !strings.Contains(r.Error.Error(), tc.says) {
				t.Errorf("error %q\nlacks %q", r.Error, tc.says)
			}
			if strings.Contains(r.Error.Error(), token) {
				t.Errorf("the error shows the token: %q", r.Error)
			}
			// Status 0 in the table: no HTTP answer to take a status from;
			// the SDK picks one.
			if (tc.status != 0 && r.Status != tc.status) || r.ErrorSource != backend.ErrorSourceDownstream || len(r.Frames) != 0 {
				t.Errorf("status %v source %q frames %d, want %v downstream and no frames", r.Status, r.ErrorSource, len(r.Frames), tc.status)
			}
			if p := lokiSrv.Paths(); len(p) != 0 {
				t.Errorf("Loki was asked without a trace: %q", p)
			}
		})
	}
}

// TestTraceQueryLokiFailures: without logs the trace is still worth seeing,
// so it comes back, with a warning that says the logs are missing and why.
func TestTraceQueryLokiFailures(t *testing.T) {
	tests := []struct {
		name     string
		loki     func(t *testing.T) string
		tenant   string
		selector string
		says     []string
	}{
		{
			"Loki down", func(t *testing.T) string { return fixtures.ClosedURL(t) }, "", "",
			[]string{"cannot reach Loki at http://127.0.0.1:", "check the Loki URL (lokiUrl)"},
		},
		{
			"Loki rejects the LogQL (400)", func(t *testing.T) string {
				return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_bad_logql"}).URL
			}, "", `{service_name=~".+"} |=`,
			[]string{"Loki rejected the request: parse error at line 1, col 25: syntax error: unexpected $end, expecting STRING or ip", `the LogQL was: {service_name=~".+"} |=`},
		},
		{
			"Loki multi-tenant without a tenant (401 no org id)", func(t *testing.T) string {
				return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/auth_query_range_missing_org_id"}).URL
			}, "", "",
			[]string{"runs multi-tenant and needs a tenant (HTTP 401: no org id); set the tenant id (tenantId) in the data source settings"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tempoSrv := seedTempo(t)
			q := `{"queryType":"trace","traceId":"` + seedTraceID + `","logSelector":` + jsonString(tc.selector) + `}`
			r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, tc.loki(t)), nil), q, captureRange)
			if r.Error != nil {
				t.Fatalf("a Loki failure must not fail the query: %v", r.Error)
			}
			if n := frameOf(t, r, "trace").Rows(); n != 9 {
				t.Errorf("trace frame has %d spans, want 9", n)
			}
			if n := frameOf(t, r, "logs").Rows() + frameOf(t, r, "gaps").Rows() + frameOf(t, r, "retries").Rows(); n != 0 {
				t.Errorf("%d log, gap and retry rows without logs", n)
			}
			// The figures that need no logs are still there.
			for _, s := range rows(frameOf(t, r, "spans")) {
				if s["spanID"] == span(4) && (s["selfTimeMs"] != 650.0 || s["onCriticalPath"] != true) {
					t.Errorf("span-4 without logs: %v", s)
				}
			}
			for _, f := range r.Frames {
				if f.Meta == nil || len(f.Meta.Notices) != 1 {
					t.Fatalf("%s: notices %+v, want the one about the logs", f.Name, f.Meta)
				}
				n := f.Meta.Notices[0]
				if n.Severity != data.NoticeSeverityWarning || !strings.HasPrefix(n.Text, "Logs are missing because Loki failed: ") ||
					!strings.HasSuffix(n.Text, "The trace is shown without log-derived gaps and retries.") {
					t.Errorf("%s: notice %v %q", f.Name, n.Severity, n.Text)
				}
				for _, s := range tc.says {
					if !strings.Contains(n.Text, s) {
						t.Errorf("%s: notice %q\nlacks %q", f.Name, n.Text, s)
					}
				}
			}
		})
	}
}

// TestTraceQueryOneLokiQueryFails: in auto mode the line query alone still
// finds the lines; the failed metadata query is a warning, not missing logs.
func TestTraceQueryOneLokiQueryFails(t *testing.T) {
	tempoSrv := seedTempo(t)
	lokiSrv := seedLoki(t, fixtures.Route{Path: queryRangePath, Match: isMetadataQuery, Capture: "loki/query_range_bad_logql"})
	r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	checkSeedFindings(t, r)
	notes := noticeTexts(frameOf(t, r, "gaps"))
	if len(notes) != 1 || !strings.Contains(notes[0], "failed, so only the other query's logs are shown") || !strings.Contains(notes[0], "parse error at line 1, col 25") {
		t.Errorf("notices %q", notes)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
