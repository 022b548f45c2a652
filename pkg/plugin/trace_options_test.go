package plugin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// TestTraceQueryOlderTempo: a Tempo without the v2 API answers the v1 path
// with the same trace, and the frames are the same golden ones.
func TestTraceQueryOlderTempo(t *testing.T) {
	tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: "/api/traces/" + seedTraceID, Capture: "tempo/trace_v1_protobuf_time_range"})
	lokiSrv := seedLoki(t)
	r := runTrace(t, goldenContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL)), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	experimental.CheckGoldenJSONResponse(t, "testdata", "trace_seed", &r, false)
	if p := tempoSrv.Paths(); len(p) != 2 || !strings.HasPrefix(p[0], "GET /api/v2/traces/") || !strings.HasPrefix(p[1], "GET /api/traces/"+seedTraceID+"?end=1795624897&start=1795624297") {
		t.Errorf("Tempo requests %q, want v2 then v1 with the range", p)
	}
}

// TestTraceQueryOptions: the settings and the query's overrides reach
// Tempo, Loki, the engine and the frames.
func TestTraceQueryOptions(t *testing.T) {
	lokiQueries := func(s *fixtures.Server) []string {
		var qs []string
		for _, r := range s.Requests() {
			if r.URL.Path == queryRangePath {
				qs = append(qs, r.URL.Query().Get("query"))
			}
		}
		return qs
	}
	gapMs := func(r backend.DataResponse) []float64 {
		var out []float64
		for _, g := range rows(frameOf(t, r, "gaps")) {
			out = append(out, g["gapMs"].(float64))
		}
		return out
	}
	tests := []struct {
		name     string
		settings []any
		query    string // extra JSON members
		tr       *backend.TimeRange
		check    func(t *testing.T, r backend.DataResponse, tempo, loki *fixtures.Server)
	}{
		{"no time range: Tempo searches everywhere", nil, "", &backend.TimeRange{}, func(t *testing.T, r backend.DataResponse, tempo, _ *fixtures.Server) {
			if p := tempo.Paths(); len(p) != 1 || p[0] != "GET /api/v2/traces/"+seedTraceID {
				t.Errorf("Tempo requests %q", p)
			}
			checkSeedFindings(t, r)
		}},
		{"minGapMs from the query", nil, `"minGapMs":250`, nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			if got := gapMs(r); !slices.Equal(got, []float64{1200, 600, 800}) {
				t.Errorf("gaps %v, want those of at least 250 ms", got)
			}
		}},
		{"minGapMs from the query as a string", nil, `"minGapMs":" 250 "`, nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			if got := gapMs(r); !slices.Equal(got, []float64{1200, 600, 800}) {
				t.Errorf("gaps %v", got)
			}
		}},
		{"minGapMs from the settings", []any{"minGapMs", 700}, "", nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			if got := gapMs(r); !slices.Equal(got, []float64{1200, 800}) {
				t.Errorf("gaps %v, want those of at least 700 ms", got)
			}
		}},
		{"minGapMs 0 in the query means the setting's", []any{"minGapMs", 700}, `"minGapMs":0`, nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			if got := gapMs(r); !slices.Equal(got, []float64{1200, 800}) {
				t.Errorf("gaps %v", got)
			}
		}},
		{"logSelector from the query", nil, `"logSelector":" {service_name=\"widget-service\"} "`, nil, func(t *testing.T, _ backend.DataResponse, _, loki *fixtures.Server) {
			qs := lokiQueries(loki)
			if len(qs) != 2 || !strings.HasPrefix(qs[0], `{service_name="widget-service"} `) || !strings.HasPrefix(qs[1], `{service_name="widget-service"} `) {
				t.Errorf("LogQL %q", qs)
			}
		}},
		{"logSelector from the settings", []any{"logSelector", `{env="prod"}`}, "", nil, func(t *testing.T, _ backend.DataResponse, _, loki *fixtures.Server) {
			for _, q := range lokiQueries(loki) {
				if !strings.HasPrefix(q, `{env="prod"} |`) && !strings.HasPrefix(q, `{env="prod"} !~`) {
					t.Errorf("LogQL %q", q)
				}
			}
		}},
		{"line mode", []any{"logQueryMode", "line"}, "", nil, func(t *testing.T, r backend.DataResponse, _, loki *fixtures.Server) {
			if qs := lokiQueries(loki); len(qs) != 1 || !strings.Contains(qs[0], "|~") {
				t.Errorf("LogQL %q, want the line query alone", qs)
			}
			checkSeedFindings(t, r)
		}},
		{"metadata mode with the settings' id fields", []any{"logQueryMode", "metadata", "traceIdFields", []string{"trace_id", "trace-id"}}, "", nil, func(t *testing.T, r backend.DataResponse, _, loki *fixtures.Server) {
			// trace-id is not a label name Loki can filter on: left out.
			if qs := lokiQueries(loki); len(qs) != 1 || qs[0] != `{service_name=~".+"} | trace_id=~"(?i)0*af7651916cd43dd8448eb211c80319c"` {
				t.Errorf("LogQL %q", qs)
			}
			checkSeedFindings(t, r)
		}},
		{"retryPattern from the settings", []any{"retryPattern", "gave up"}, "", nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			if n := frameOf(t, r, "retries").Rows(); n != 0 {
				t.Errorf("%d retries with a pattern no line matches", n)
			}
			if n := frameOf(t, r, "gaps").Rows(); n != 11 {
				t.Errorf("%d gaps, want the 11 of the default", n)
			}
		}},
		{"maxLinesPerSpan", []any{"maxLinesPerSpan", 2}, "", nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			for _, row := range rows(frameOf(t, r, "trace")) {
				if row["spanID"] != span(4) {
					continue
				}
				var logs []json.RawMessage
				_ = json.Unmarshal(row["logs"].(json.RawMessage), &logs)
				tags := string(row["tags"].(json.RawMessage))
				if len(logs) != 2 || !strings.Contains(tags, `{"key":"`+frames.TagHiddenLines+`","value":5}`) {
					t.Errorf("span-4: %d lines, tags %s", len(logs), tags)
				}
			}
			if n := frameOf(t, r, "logs").Rows(); n != 21 {
				t.Errorf("the logs frame has %d lines, want all 21", n)
			}
		}},
		{"lokiMarginSeconds", []any{"lokiMarginSeconds", 60}, "", nil, func(t *testing.T, _ backend.DataResponse, _, loki *fixtures.Server) {
			for _, req := range loki.Requests() {
				q := req.URL.Query()
				if q.Get("start") != strconv.FormatInt(at(-60000).UnixNano(), 10) || q.Get("end") != strconv.FormatInt(at(1800+60000).UnixNano(), 10) {
					t.Errorf("Loki range %s–%s, want the trace ± 60 s", q.Get("start"), q.Get("end"))
				}
			}
		}},
		{"lokiMaxLines", []any{"lokiMaxLines", 10}, "", nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			logs := frameOf(t, r, "logs")
			notes := noticeTexts(logs)
			if logs.Rows() != 10 || !slices.ContainsFunc(notes, func(n string) bool {
				return strings.Contains(n, "only the first 10 log lines of the trace were fetched")
			}) {
				t.Errorf("%d lines, notices %q", logs.Rows(), notes)
			}
			checkTimeOrdered(t, logs)
		}},
		{"maxLogLines with tracesToLogsV2: the logs frame's notice links to every line in Explore", []any{"maxLogLines", 8, "tracesToLogsV2", map[string]any{"datasourceUid": "loki-uid"}}, "", nil, func(t *testing.T, r backend.DataResponse, _, loki *fixtures.Server) {
			logs := frameOf(t, r, "logs")
			if logs.Rows() != 8 {
				t.Fatalf("the logs frame has %d lines, want maxLogLines' 8", logs.Rows())
			}
			checkTimeOrdered(t, logs)
			var link string
			for _, n := range logs.Meta.Notices {
				if strings.Contains(n.Text, "shows 8 of the 21 log lines analysed") {
					link = n.Link
				}
			}
			if link == "" {
				t.Fatalf("logs notices %+v lack the count of 8 shown of 21 with a link", logs.Meta.Notices)
			}
			u, err := url.Parse(link)
			if err != nil || u.Path != "/explore" {
				t.Fatalf("link %q: %v", link, err)
			}
			var panes map[string]struct {
				Datasource string
				Queries    []struct{ Expr string }
				Range      struct{ From, To string }
			}
			if err := json.Unmarshal([]byte(u.Query().Get("panes")), &panes); err != nil {
				t.Fatal(err)
			}
			sent := lokiQueries(loki)
			for _, p := range panes {
				var exprs []string
				for _, q := range p.Queries {
					exprs = append(exprs, q.Expr)
				}
				slices.Sort(exprs)
				slices.Sort(sent)
				if p.Datasource != "loki-uid" || !slices.Equal(exprs, sent) {
					t.Errorf("Explore pane on %q with %q, want loki-uid with the LogQL sent %q", p.Datasource, exprs, sent)
				}
				// The range Loki was asked for: the trace ± the 5 s margin.
				if p.Range.From != strconv.FormatInt(at(-5000).UnixMilli(), 10) || p.Range.To != strconv.FormatInt(at(1800+5000).UnixMilli(), 10) {
					t.Errorf("Explore range %+v, want the trace's range with the margin", p.Range)
				}
			}
		}},
		{"maxLogLines from the query overrides the setting's", []any{"maxLogLines", 8}, `"maxLogLines":"4"`, nil, func(t *testing.T, r backend.DataResponse, _, _ *fixtures.Server) {
			logs := frameOf(t, r, "logs")
			if logs.Rows() != 4 {
				t.Errorf("the logs frame has %d lines, want the query's 4", logs.Rows())
			}
			for _, n := range logs.Meta.Notices {
				if strings.Contains(n.Text, "shows 4 of the 21") && (n.Link != "" || !strings.Contains(n.Text, "tracesToLogsV2")) {
					t.Errorf("without tracesToLogsV2 the notice %+v should say how to get a link", n)
				}
			}
		}},
		{"tenantId goes to both", []any{"tenantId", "tenant-a"}, "", nil, func(t *testing.T, _ backend.DataResponse, tempo, loki *fixtures.Server) {
			for _, req := range append(tempo.Requests(), loki.Requests()...) {
				if got := req.Header.Get("X-Scope-OrgID"); got != "tenant-a" {
					t.Errorf("%s: X-Scope-OrgID %q", req.URL.Path, got)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
			q := `{"refId":"A","queryType":"trace","traceId":"` + seedTraceID + `"`
			if tc.query != "" {
				q += "," + tc.query
			}
			tr := captureRange
			if tc.tr != nil {
				tr = *tc.tr
			}
			r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL, tc.settings...), nil), q+"}", tr)
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			tc.check(t, r, tempoSrv, lokiSrv)
		})
	}
}

// TestTraceQueryIDForms: a 64-bit id, upper case or padded, is the same
// trace; Tempo is asked for it in its normal form.
func TestTraceQueryIDForms(t *testing.T) {
	for _, id := range []string{"0AF7651916CD43DD8448EB211C80319C", "  af7651916cd43dd8448eb211c80319c  "} {
		t.Run(id, func(t *testing.T) {
			tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
			r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(id), captureRange)
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			if n := frameOf(t, r, "trace").Rows(); n != 9 {
				t.Errorf("%d spans", n)
			}
		})
	}
}

// partialTrace answers as Tempo does when it returns only part of a trace
// (v2 status PARTIAL, e.g. over its size limit): the captured trace as
// field 1, status PARTIAL (3 = 1) and its message (4).
func partialTrace(t *testing.T) http.Handler {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, fixtures.Load(t, "tempo/trace_v1_protobuf").Body)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "trace exceeds max size (max bytes: 5000000)")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/protobuf")
		_, _ = w.Write(b)
	})
}

// TestTraceQueryPartialTrace: when Tempo says it returned only part of the
// trace (v2 status PARTIAL, e.g. over its size limit), the frames say so.
func TestTraceQueryPartialTrace(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedTraceID, Handler: partialTrace(t)}), seedLoki(t)
	r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	checkSeedFindings(t, r)
	for _, f := range r.Frames {
		if f.Meta == nil || len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Severity != data.NoticeSeverityWarning ||
			f.Meta.Notices[0].Text != "Tempo returned only part of this trace: trace exceeds max size (max bytes: 5000000); spans may be missing and some findings may be wrong." {
			t.Errorf("%s: notices %+v", f.Name, f.Meta)
		}
	}
}
