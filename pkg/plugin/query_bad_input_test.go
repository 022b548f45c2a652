package plugin

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// TestQueryBadInputEveryType sends bad queries of every query type in ONE
// request over the plugin's gRPC protocol, next to good ones: each bad
// query gets its own 400 that says what to fix (short, valid UTF-8, never
// the whole input echoed), the good ones are unaffected, and nothing bad
// reaches Tempo or Loki.
func TestQueryBadInputEveryType(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil)
	huge := strings.Repeat("ab", 50_000) // 100 KB of hex
	id := seedTraceID

	type tc struct {
		name, queryType, json, says string
	}
	var bad []tc
	// The same mistakes, in every query type that reads the field.
	many := []string{QueryTypeSearch, QueryTypeWaitMetrics, QueryTypeAnnotations}
	for _, qt := range append([]string{QueryTypeTrace}, many...) {
		bad = append(bad,
			tc{"malformed JSON", qt, `{"queryType":"` + qt + `",`, "the query is not valid JSON"},
			tc{"JSON of the wrong shape", qt, `["traceId"]`, "the query is not valid JSON"},
			tc{"binary garbage", qt, "\x00\xff\xfe{", "the query is not valid JSON"},
			tc{"negative minGapMs", qt, `{"traceId":"` + id + `","query":"{}","minGapMs":-100}`, "minGapMs is -100; enter 0 or more milliseconds"},
			tc{"absurd minGapMs", qt, `{"traceId":"` + id + `","query":"{}","minGapMs":1e300}`, "more than an hour"},
			tc{"minGapMs Infinity", qt, `{"traceId":"` + id + `","query":"{}","minGapMs":"Infinity"}`, `minGapMs is "Infinity", not a number of milliseconds`},
			tc{"minGapMs left as a variable", qt, `{"traceId":"` + id + `","query":"{}","minGapMs":"${gap}"}`, "the template variable in it was not replaced"},
			tc{"selector that is not one", qt, `{"traceId":"` + id + `","query":"{}","logSelector":"rate(x[1m])"}`, "is not a LogQL stream selector"},
		)
	}
	bad = append(bad,
		tc{"maxLogLines 0", QueryTypeTrace, `{"traceId":"` + id + `","maxLogLines":0}`, "maxLogLines 0 is not a whole number from 1 to 1000000"},
		tc{"fractional maxLogLines", QueryTypeTrace, `{"traceId":"` + id + `","maxLogLines":"2.5"}`, "maxLogLines 2.5 is not a whole number"},
		tc{"maxLogLines as a word", QueryTypeTrace, `{"traceId":"` + id + `","maxLogLines":"all"}`, "is \"all\", not a whole number of log lines"},
	)
	for _, qt := range many {
		bad = append(bad,
			tc{"negative limit", qt, `{"query":"{}","limit":-1}`, "limit is -1; enter a number of traces from 1 to"},
			tc{"absurd limit", qt, `{"query":"{}","limit":1000000000}`, "limit is 1000000000"},
			tc{"limit beyond float precision", qt, `{"query":"{}","limit":1e300}`, "not a whole number"},
			tc{"limit left as a variable", qt, `{"query":"{}","limit":"$limit"}`, "the template variable in it was not replaced"},
		)
	}
	bad = append(bad,
		tc{"no query type", "", `{"traceId":"` + id + `"}`, "the query has no query type"},
		tc{"unknown query type", "flamegraph", `{"traceId":"` + id + `"}`, `unknown query type "flamegraph"; valid query types: trace, search, waitMetrics, annotations`},
		tc{"query type with garbage", "trace\x00; drop", `{}`, "unknown query type"},
		tc{"missing trace id", QueryTypeTrace, `{"queryType":"trace"}`, "enter a trace id"},
		tc{"trace id of 100 KB", QueryTypeTrace, `{"traceId":"` + huge + `"}`, "is not a trace id: a trace id is 1 to 32 hex digits"},
		tc{"trace id not hex", QueryTypeTrace, `{"traceId":"span-4"}`, `"span-4" is not a trace id`},
		tc{"trace id of 33 digits", QueryTypeTrace, `{"traceId":"f` + id + `"}`, "is not a trace id"},
		tc{"trace id injecting LogQL", QueryTypeTrace, `{"traceId":"abc\") |= \"x"}`, "is not a trace id"},
		tc{"trace id walking the API", QueryTypeTrace, `{"traceId":"../../api/status/buildinfo"}`, "is not a trace id"},
		tc{"trace id with a query string", QueryTypeTrace, `{"traceId":"` + id + `?limit=1"}`, "is not a trace id"},
		tc{"trace id as $traceId", QueryTypeTrace, `{"traceId":"$traceId"}`, "the template variable $traceId was not replaced"},
		tc{"trace id as ${traceId:raw}", QueryTypeTrace, `{"traceId":"${traceId:raw}"}`, "the template variable ${traceId:raw} was not replaced"},
		tc{"trace id as [[traceId]]", QueryTypeTrace, `{"traceId":"[[traceId]]"}`, `"[[traceId]]" is not a trace id`},
		tc{"trace id as a number", QueryTypeTrace, `{"traceId":42}`, "the query's traceId has the wrong type"},
		tc{"trace id invalid UTF-8", QueryTypeTrace, "{\"traceId\":\"\xff\xfe0af7\"}", "is not a trace id"},
	)

	var queries []backend.DataQuery
	for i, b := range bad {
		queries = append(queries, backend.DataQuery{RefID: fmt.Sprintf("bad%02d", i), QueryType: b.queryType, JSON: []byte(b.json), TimeRange: captureRange})
	}
	// Good neighbours, one per type, in the same request.
	queries = append(queries,
		backend.DataQuery{RefID: "goodTrace", QueryType: QueryTypeTrace, JSON: []byte(seedQuery(id)), TimeRange: captureRange},
		backend.DataQuery{RefID: "goodUnknownTrace", QueryType: QueryTypeTrace, JSON: []byte(seedQuery(unknownTraceID)), TimeRange: captureRange},
	)
	resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: queries})
	if err != nil {
		t.Fatalf("QueryData must answer per refID, not fail: %v", err)
	}
	for i, b := range bad {
		t.Run(b.queryType+"/"+b.name, func(t *testing.T) {
			r := resp.Responses[fmt.Sprintf("bad%02d", i)]
			if r.Error == nil {
				t.Fatalf("accepted: %d frames", len(r.Frames))
			}
			msg := r.Error.Error()
			if !strings.Contains(msg, b.says) {
				t.Errorf("error %q\nlacks %q", msg, b.says)
			}
			if r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
				t.Errorf("status %v source %q, want 400 downstream", r.Status, r.ErrorSource)
			}
			if !utf8.ValidString(msg) || len(msg) > 600 {
				t.Errorf("message unfit to show (valid UTF-8 %v, %d bytes): %.200q", utf8.ValidString(msg), len(msg), msg)
			}
		})
	}
	if r := resp.Responses["goodTrace"]; r.Error != nil || frameOf(t, r, "trace").Rows() != 9 {
		t.Errorf("the good trace query next to bad ones: %v", r.Error)
	}
	if r := resp.Responses["goodUnknownTrace"]; r.Error == nil || r.Status != backend.StatusNotFound {
		t.Errorf("unknown trace: %v %v", r.Status, r.Error)
	}
	// Only the two good trace queries reached the upstreams.
	for _, p := range append(tempoSrv.Paths(), lokiSrv.Paths()...) {
		if !strings.Contains(p, seedTraceID) && !strings.Contains(p, unknownTraceID) && !strings.Contains(p, strings.TrimLeft(seedTraceID, "0")) {
			t.Errorf("a bad query reached an upstream: %s", p)
		}
	}
}

// TestQueryBadSettingsEveryType: a data source whose settings do not
// validate (here a retry pattern that does not compile) answers every query
// type with the settings problem, and asks no upstream anything.
func TestQueryBadSettingsEveryType(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	for _, pattern := range []string{"retry(ing", "(?i", "x**", "retry|"} {
		pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL, "retryPattern", pattern), nil)
		var queries []backend.DataQuery
		for _, qt := range []string{QueryTypeTrace, QueryTypeSearch, QueryTypeWaitMetrics, QueryTypeAnnotations, "flamegraph"} {
			queries = append(queries, backend.DataQuery{RefID: qt, QueryType: qt, JSON: []byte(seedQuery(seedTraceID)), TimeRange: captureRange})
		}
		resp, err := startPlugin(t).QueryData(ctx(t), &backend.QueryDataRequest{PluginContext: pCtx, Queries: queries})
		if err != nil {
			t.Fatal(err)
		}
		for refID, r := range resp.Responses {
			if r.Error == nil || !strings.Contains(r.Error.Error(), "retryPattern: ") || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
				t.Errorf("pattern %q, %s: %v (status %v, source %q)", pattern, refID, r.Error, r.Status, r.ErrorSource)
			}
		}
		res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pCtx})
		if err != nil || res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "retryPattern") {
			t.Errorf("pattern %q: health %v %q", pattern, res.Status, res.Message)
		}
	}
	if p := append(tempoSrv.Paths(), lokiSrv.Paths()...); len(p) != 0 {
		t.Errorf("a data source with bad settings asked the upstreams: %q", p)
	}
}

// TestQueryInvalidLogQLSelectorIsANotice: a selector Loki refuses (its 400
// is passed on in Loki's words) costs the logs, not the trace.
func TestQueryInvalidLogQLSelectorIsANotice(t *testing.T) {
	tempoSrv := seedTempo(t)
	lokiSrv := seedLoki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_bad_logql"})
	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil)
	r := runTrace(t, pCtx, `{"traceId":"`+seedTraceID+`","logSelector":"{service_name=~\".+\"} |= "}`, captureRange)
	if r.Error != nil {
		t.Fatalf("a LogQL error must not fail the trace: %v", r.Error)
	}
	if frameOf(t, r, "trace").Rows() != 9 {
		t.Error("the trace is missing")
	}
	notes := strings.Join(noticeTexts(frameOf(t, r, "trace")), "\n")
	for _, s := range []string{"Logs are missing because Loki failed", "Loki rejected the request: parse error at line 1, col 25: syntax error: unexpected $end, expecting STRING or ip", `the LogQL was: {service_name=~".+"} |=`} {
		if !strings.Contains(notes, s) {
			t.Errorf("notice %q\nlacks %q", notes, s)
		}
	}
}
