package plugin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

const degradedMsg = "Tracegap answered a query with degraded results"

// logRecord is one log call: level, message and its key/value pairs.
type logRecord struct {
	level, msg string
	kv         map[string]string
}

// structuredLogger records log calls with their key/value pairs, so a test
// can check each field (recordingLogger flattens them into text).
type structuredLogger struct {
	mu   *sync.Mutex
	recs *[]logRecord
	with []any
}

func (l structuredLogger) rec(level, msg string, args []any) {
	kv := map[string]string{}
	all := append(append([]any(nil), l.with...), args...)
	for i := 0; i+1 < len(all); i += 2 {
		kv[fmt.Sprint(all[i])] = fmt.Sprint(all[i+1])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.recs = append(*l.recs, logRecord{level, msg, kv})
}

func (l structuredLogger) Debug(msg string, args ...any) { l.rec("debug", msg, args) }
func (l structuredLogger) Info(msg string, args ...any)  { l.rec("info", msg, args) }
func (l structuredLogger) Warn(msg string, args ...any)  { l.rec("warn", msg, args) }
func (l structuredLogger) Error(msg string, args ...any) { l.rec("error", msg, args) }
func (l structuredLogger) Level() log.Level              { return log.Debug }
func (l structuredLogger) With(args ...any) log.Logger {
	l.with = append(append([]any(nil), l.with...), args...)
	return l
}
func (l structuredLogger) FromContext(context.Context) log.Logger { return l }

// degradedWarnings records the plugin's log calls until the test ends and
// returns a function giving the degraded-answer ones and all of them as text.
func degradedWarnings(t *testing.T) func() ([]logRecord, string) {
	t.Helper()
	var mu sync.Mutex
	var recs []logRecord
	prev := log.DefaultLogger
	log.DefaultLogger = structuredLogger{mu: &mu, recs: &recs}
	t.Cleanup(func() { log.DefaultLogger = prev })
	return func() ([]logRecord, string) {
		mu.Lock()
		defer mu.Unlock()
		var out []logRecord
		var all strings.Builder
		for _, r := range recs {
			fmt.Fprintln(&all, r.level, r.msg, r.kv)
			if r.msg == degradedMsg {
				out = append(out, r)
			}
		}
		return out, all.String()
	}
}

// TestDegradedAnswersAreLogged: a Loki failure, a partial trace and an
// adopted Loki entry limit each reach the plugin's log once per query, at
// warn level, with the data source uid, the trace id and the reason, and
// never a secret; a complete answer logs no warning.
func TestDegradedAnswersAreLogged(t *testing.T) {
	const lokiPass = "TGSECRET-degraded-loki-pass"
	tests := []struct {
		name    string
		tempo   func(t *testing.T) string
		loki    func(t *testing.T) string
		reasons []string // empty: no warning at all
	}{
		{"complete answer", func(t *testing.T) string { return seedTempo(t).URL }, func(t *testing.T) string { return seedLoki(t).URL }, nil},
		{"Loki down", func(t *testing.T) string { return seedTempo(t).URL }, func(t *testing.T) string { return fixtures.ClosedURL(t) },
			[]string{"Loki failed, the trace is answered without logs: cannot reach Loki at http://127.0.0.1:"}},
		{"Loki refuses the query", func(t *testing.T) string { return seedTempo(t).URL }, func(t *testing.T) string {
			return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "too many outstanding requests", http.StatusInternalServerError)
			})}).URL
		}, []string{"Loki failed", "HTTP 500: too many outstanding requests"}},
		{"one of auto's two Loki queries fails", func(t *testing.T) string { return seedTempo(t).URL }, func(t *testing.T) string {
			return seedLoki(t, fixtures.Route{Path: queryRangePath, Match: isMetadataQuery, Capture: "loki/query_range_bad_logql"}).URL
		}, []string{"one of the two Loki queries failed, so only the other's lines are shown: Loki rejected the request: parse error"}},
		{"partial trace", func(t *testing.T) string {
			return seedTempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedTraceID, Handler: partialTrace(t)}).URL
		}, func(t *testing.T) string { return seedLoki(t).URL }, []string{"Tempo returned a partial trace: trace exceeds max size (max bytes: 5000000)"}},
		{"Loki entry limit adopted", func(t *testing.T) string { return seedTempo(t).URL }, func(t *testing.T) string {
			return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: newPagedLoki(t, 9)}).URL
		}, []string{"Loki's max_entries_limit_per_query (9) is below the page size, so pages of 9 entries were used"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := degradedWarnings(t)
			pCtx := pluginContext(t, settingsFor(tc.tempo(t), tc.loki(t), "lokiAuth", "basic", "lokiUser", "grafana"), map[string]string{"lokiPassword": lokiPass})
			r := runTrace(t, pCtx, seedQuery(seedTraceID), captureRange)
			if r.Error != nil {
				t.Fatalf("a degraded answer is still an answer: %v", r.Error)
			}
			warns, all := logs()
			scanForSecrets(t, "logs", []string{all}, []string{lokiPass})
			if len(tc.reasons) == 0 {
				if len(warns) != 0 {
					t.Fatalf("a complete answer logged %v", warns)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("want one warning for the query, got %d:\n%s", len(warns), all)
			}
			w := warns[0]
			if w.level != "warn" || w.kv["uid"] != pCtx.DataSourceInstanceSettings.UID || w.kv["queryType"] != QueryTypeTrace || w.kv["traceId"] != seedTraceID {
				t.Errorf("warning %+v", w)
			}
			for _, want := range tc.reasons {
				if !strings.Contains(w.kv["reason"], want) {
					t.Errorf("reason lacks %q: %s", want, w.kv["reason"])
				}
			}
		})
	}
}

// TestDegradedSearchIsLoggedOnce: a query over many traces logs one line
// however many of its traces were degraded.
func TestDegradedSearchIsLoggedOnce(t *testing.T) {
	logs := degradedWarnings(t)
	tempoSrv := seedTempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"})
	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, fixtures.ClosedURL(t)), nil)
	r := runQuery(t, pCtx, QueryTypeSearch, `{"query":"{resource.service.name=\"widget-service\"}"}`, captureRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	warns, all := logs()
	if len(warns) != 1 || warns[0].level != "warn" || warns[0].kv["queryType"] != QueryTypeSearch || !strings.Contains(warns[0].kv["reason"], "Loki failed") ||
		warns[0].kv["degradedTraces"] != warns[0].kv["traces"] || warns[0].kv["traces"] == "0" {
		t.Errorf("want one warning for the search, every trace degraded, got:\n%s", all)
	}
}
