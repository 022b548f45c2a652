package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/model"
)

// The capture window: base ± 300 s, in nanoseconds on the wire.
var (
	winStart = time.Unix(0, 1795624297000000000)
	winEnd   = time.Unix(0, 1795624897000000000)
)

const queryRangePath = "/loki/api/v1/query_range"

func seedQuery(mode Mode) LogQuery {
	return LogQuery{TraceID: seedTraceID, Selector: sel, Mode: mode, Start: winStart, End: winEnd}
}

func isLine(r *http.Request) bool { return strings.Contains(r.URL.Query().Get("query"), "|~") }
func isMetadata(r *http.Request) bool {
	return strings.Contains(r.URL.Query().Get("query"), "trace_id=~")
}

// checkSeedLogs checks the 21 entries of the main trace, in time order.
func checkSeedLogs(t *testing.T, es []model.LogEntry) {
	t.Helper()
	var want []string
	for _, l := range scenarioLogs(t) {
		if l.TraceID == seedTraceID {
			want = append(want, l.TsUnixNano+" "+l.Line)
		}
	}
	var got []string
	for _, e := range es {
		got = append(got, strconv.FormatInt(e.Time.UnixNano(), 10)+" "+e.Line)
		if v, _ := e.Metadata.Get("trace_id"); v != seedTraceID {
			t.Errorf("entry %v has metadata %v", e.Time, e.Metadata)
		}
	}
	if !slices.IsSortedFunc(es, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
		t.Error("entries are not time-ordered")
	}
	slices.Sort(want) // ties: compare as sets within a timestamp
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestTraceLogsLineMode(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_line_filter_categorized"})
	res, err := New(srv.URL, srv.Client(), "tenant-a").TraceLogs(context.Background(), seedQuery(ModeLine))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 21 || res.Capped || res.Pages != 1 || len(res.Notices) != 0 {
		t.Fatalf("%d entries, capped %v, %d pages, notices %q", len(res.Entries), res.Capped, res.Pages, res.Notices)
	}
	checkSeedLogs(t, res.Entries)
	wantQuery := sel + ` |~ "(?i)af7651916cd43dd8448eb211c80319c"`
	if diff := cmp.Diff([]string{wantQuery}, res.Queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	got := map[string]string{"path": r.URL.Path}
	for _, k := range []string{"query", "direction", "limit", "start", "end"} {
		got[k] = r.URL.Query().Get(k)
	}
	for _, h := range []string{"Accept", EncodingFlagsHeader, "X-Scope-OrgID"} {
		got[h] = r.Header.Get(h)
	}
	want := map[string]string{
		"path": queryRangePath, "query": wantQuery, "direction": "forward", "limit": "5000",
		"start": "1795624297000000000", "end": "1795624897000000000",
		"Accept": "application/json", EncodingFlagsHeader: "categorize-labels", "X-Scope-OrgID": "tenant-a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestTraceLogsMetadataMode(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Match: isMetadata, Capture: "loki/query_range_structured_metadata_categorized"})
	res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), seedQuery(ModeMetadata))
	if err != nil {
		t.Fatal(err)
	}
	checkSeedLogs(t, res.Entries)
	if len(res.Queries) != 1 || !strings.HasPrefix(res.Queries[0], sel+` | traceId=~"(?i)0*af76`) {
		t.Errorf("queries %q", res.Queries)
	}
}

func TestTraceLogsAutoModeMerges(t *testing.T) {
	srv := fixtures.Loki(t,
		fixtures.Route{Path: queryRangePath, Match: isLine, Capture: "loki/query_range_line_filter_categorized"},
		fixtures.Route{Path: queryRangePath, Match: isMetadata, Capture: "loki/query_range_structured_metadata_categorized"},
	)
	res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), seedQuery(""))
	if err != nil {
		t.Fatal(err)
	}
	checkSeedLogs(t, res.Entries)
	// Both queries find the same 21 entries: each is kept once.
	if res.Duplicates != 21 || res.Pages != 2 || len(res.Queries) != 2 || len(res.Notices) != 0 {
		t.Errorf("duplicates %d, pages %d, queries %q, notices %q", res.Duplicates, res.Pages, res.Queries, res.Notices)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests", n)
	}
}

func TestTraceLogsAutoModeOneHalfFails(t *testing.T) {
	srv := fixtures.Loki(t,
		fixtures.Route{Path: queryRangePath, Match: isLine, Capture: "loki/query_range_line_filter_categorized"},
		fixtures.Route{Path: queryRangePath, Match: isMetadata, Handler: replyWith(http.StatusBadRequest, "parse error at line 1, col 30: syntax error")},
	)
	res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), seedQuery(ModeAuto))
	if err != nil {
		t.Fatal(err)
	}
	checkSeedLogs(t, res.Entries)
	if len(res.Notices) != 1 || !strings.Contains(res.Notices[0], "parse error at line 1, col 30") || !strings.Contains(res.Notices[0], "trace_id=~") {
		t.Errorf("notices %q", res.Notices)
	}
}

// pagedLoki serves entries like Loki's forward query_range: the first
// limit entries in [start, end), grouped by stream, categorized.
type pagedLoki struct {
	entries []model.LogEntry // time-sorted
	mu      sync.Mutex
	starts  []string
}

func (p *pagedLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	p.mu.Lock()
	p.starts = append(p.starts, q.Get("start"))
	p.mu.Unlock()
	var in []model.LogEntry
	for _, e := range p.entries {
		if ns := e.Time.UnixNano(); ns >= start && ns < end && len(in) < limit {
			in = append(in, e)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[`)
	labelsJSON := func(ls model.Labels) string {
		var parts []string
		for _, l := range ls {
			k, _ := json.Marshal(l.Name)
			v, _ := json.Marshal(l.Value)
			parts = append(parts, string(k)+":"+string(v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	done := make([]bool, len(in))
	for i := range in {
		if done[i] {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"stream":%s,"values":[`, labelsJSON(in[i].Stream))
		first := true
		for j := i; j < len(in); j++ {
			if done[j] || !slices.Equal(in[j].Stream, in[i].Stream) {
				continue
			}
			done[j] = true
			if !first {
				b.WriteByte(',')
			}
			first = false
			line, _ := json.Marshal(in[j].Line)
			fmt.Fprintf(&b, `["%d",%s,{"structuredMetadata":%s}]`, in[j].Time.UnixNano(), line, labelsJSON(in[j].Metadata))
		}
		b.WriteString("]}")
	}
	b.WriteString(`],"stats":{"summary":{"totalEntriesReturned":` + strconv.Itoa(len(in)) + `}}}}`)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

func TestTraceLogsThreePages(t *testing.T) {
	capture, err := DecodeQueryRange(readFixture(t, "loki/query_range_line_filter_categorized.json"))
	if err != nil {
		t.Fatal(err)
	}
	entries := slices.Clone(capture.Entries)
	slices.SortStableFunc(entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
	ts := func(i int) string { return strconv.FormatInt(entries[i].Time.UnixNano(), 10) }
	cases := []struct {
		pageSize, pages, dups int
		starts                []string
	}{
		// 9: pages end at +350 (both entries there) and +1510.
		{9, 3, 3, []string{"1795624297000000000", ts(8), ts(15)}},
		// 8: the first page ends between the two entries at +350, the
		// second takes both at +1500, the third fills up exactly.
		{8, 4, 4, []string{"1795624297000000000", ts(7), ts(14), ts(20)}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("page size %d", tc.pageSize), func(t *testing.T) {
			loki := &pagedLoki{entries: entries}
			srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: loki})
			lq := seedQuery(ModeLine)
			lq.PageSize = tc.pageSize
			res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), lq)
			if err != nil {
				t.Fatal(err)
			}
			checkSeedLogs(t, res.Entries)
			if len(res.Entries) != 21 || res.Pages != tc.pages || res.Duplicates != tc.dups || res.Capped {
				t.Errorf("%d entries in %d pages, %d duplicates, capped %v; want 21 in %d, %d", len(res.Entries), res.Pages, res.Duplicates, res.Capped, tc.pages, tc.dups)
			}
			// Each page starts at the previous page's last timestamp.
			if diff := cmp.Diff(tc.starts, loki.starts); diff != "" {
				t.Errorf("page starts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTraceLogsCap(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_line_filter_categorized"})
	lq := seedQuery(ModeLine)
	lq.MaxLines = 10
	res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), lq)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 10 || !res.Capped || len(res.Notices) != 1 || !strings.Contains(res.Notices[0], "only the first 10 log lines") {
		t.Errorf("%d entries, capped %v, notices %q", len(res.Entries), res.Capped, res.Notices)
	}
	if l := srv.Requests()[0].URL.Query().Get("limit"); l != "11" {
		t.Errorf("limit %s, want 11 (the cap plus one to learn whether there is more)", l)
	}
}

func TestTraceLogsAdoptsLokiEntryLimit(t *testing.T) {
	srv := fixtures.Loki(t,
		fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_line_filter_categorized"},
		fixtures.Route{Path: queryRangePath, Match: fixtures.QueryHas("limit", "6000"), Capture: "loki/query_range_limit_too_high"},
	)
	lq := seedQuery(ModeLine)
	lq.PageSize = 6000
	res, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), lq)
	if err != nil {
		t.Fatal(err)
	}
	checkSeedLogs(t, res.Entries)
	if len(res.Notices) != 1 || !strings.Contains(res.Notices[0], "at most 5000 entries per query") || res.Pages != 2 {
		t.Errorf("notices %q, pages %d", res.Notices, res.Pages)
	}
	var limits []string
	for _, r := range srv.Requests() {
		limits = append(limits, r.URL.Query().Get("limit"))
	}
	if diff := cmp.Diff([]string{"6000", "5000"}, limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
}

func TestTraceLogsErrors(t *testing.T) {
	cases := []struct {
		name     string
		lq       func(LogQuery) LogQuery
		routes   []fixtures.Route
		says     []string
		requests int
	}{
		{"bad LogQL passes Loki's words on", func(q LogQuery) LogQuery { q.Selector = `{service_name=~".+"} |= `; return q },
			[]fixtures.Route{{Path: queryRangePath, Capture: "loki/query_range_bad_logql"}},
			[]string{"parse error at line 1, col 25: syntax error: unexpected $end", "the LogQL was: {service_name=~\".+\"} |= |~"}, 2},
		{"range too long", nil,
			[]fixtures.Route{{Path: queryRangePath, Capture: "loki/query_range_time_range_too_long"}},
			[]string{"the query time range exceeds the limit (query length: 768h5m0s, limit: 30d1h)"}, 2},
		{"multi-tenant Loki without a tenant", nil,
			[]fixtures.Route{{Path: queryRangePath, Capture: "loki/auth_query_range_missing_org_id"}},
			[]string{"set the tenant id (tenantId)"}, 2},
		{"not a Loki answer", nil,
			[]fixtures.Route{{Path: queryRangePath, Capture: "loki/buildinfo"}},
			[]string{"is not a Loki log query result", `no "data" member`}, 2},
		{"invalid trace id", func(q LogQuery) LogQuery { q.TraceID = `x" or 1=1`; return q }, nil,
			[]string{"not 1 to 32 hex digits"}, 0},
		{"selector without brace", func(q LogQuery) LogQuery { q.Selector = "app=x"; return q }, nil,
			[]string{`must start with "{"`}, 0},
		{"empty range", func(q LogQuery) LogQuery { q.End = q.Start; return q }, nil,
			[]string{"time range", "is empty"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.Loki(t, tc.routes...)
			lq := seedQuery(ModeAuto)
			if tc.lq != nil {
				lq = tc.lq(lq)
			}
			_, err := New(srv.URL, srv.Client(), "").TraceLogs(context.Background(), lq)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if !backend.IsDownstreamError(err) {
				t.Errorf("error %v is not stamped downstream", err)
			}
			if n := len(srv.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestTraceLogsCancelled(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_line_filter_categorized"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(srv.URL, srv.Client(), "").TraceLogs(ctx, seedQuery(ModeAuto))
	if !errors.Is(err, context.Canceled) && (err == nil || !strings.Contains(err.Error(), "cancelled")) {
		t.Errorf("err = %v", err)
	}
}
