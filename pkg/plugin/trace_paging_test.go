package plugin

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// pagedLoki answers query_range like a Loki whose max_entries_limit_per_query
// is maxEntries: a larger limit is refused with Loki's own 400 text, and a
// page holds the first limit entries in [start, end) in time order. The
// entries are a capture's, per kind of query.
type pagedLoki struct {
	maxEntries int
	line, meta []model.LogEntry // time-sorted

	mu       sync.Mutex
	requests []string // "line|meta start limit"
}

func newPagedLoki(t *testing.T, maxEntries int) *pagedLoki {
	load := func(name string) []model.LogEntry {
		res, err := loki.DecodeQueryRange(fixtures.Load(t, name).Body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		es := slices.Clone(res.Entries)
		slices.SortStableFunc(es, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
		return es
	}
	return &pagedLoki{
		maxEntries: maxEntries,
		line:       load("loki/query_range_line_filter_categorized"),
		meta:       load("loki/query_range_structured_metadata_categorized"),
	}
}

func (p *pagedLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	kind, entries := "meta", p.meta
	if isLineQuery(r) {
		kind, entries = "line", p.line
	}
	p.mu.Lock()
	p.requests = append(p.requests, fmt.Sprintf("%s %d %d", kind, start, limit))
	p.mu.Unlock()
	if limit > p.maxEntries {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, p.maxEntries)
		return
	}
	var page []model.LogEntry
	for _, e := range entries {
		if ns := e.Time.UnixNano(); ns >= start && ns < end && len(page) < limit {
			page = append(page, e)
		}
	}
	writeStreams(w, page)
}

// TestTraceQueryLogsAcrossThreePages: the seed's 21 lines from a Loki that
// returns at most 9 per query arrive complete, once each, in time order, and
// the findings are the same as from one page.
func TestTraceQueryLogsAcrossThreePages(t *testing.T) {
	tempoSrv, fake := seedTempo(t), newPagedLoki(t, 9)
	lokiSrv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: fake})
	r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}

	logs := frameOf(t, r, "logs")
	checkTimeOrdered(t, logs)
	var got, want []string
	for i := 0; i < logs.Rows(); i++ {
		got = append(got, fmt.Sprint(logs.Fields[0].At(i), " ", logs.Fields[1].At(i)))
	}
	for _, e := range fake.line {
		want = append(want, fmt.Sprint(e.Time, " ", e.Line))
	}
	// Entries sharing a nanosecond may come in either order: compare sets.
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != 21 || !slices.Equal(got, want) {
		t.Errorf("logs frame has %d lines, want the capture's %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	checkSeedFindings(t, r)

	// Per query: the default page refused, then three pages of 9, each
	// starting at the last timestamp of the one before.
	fake.mu.Lock()
	reqs := slices.Clone(fake.requests)
	fake.mu.Unlock()
	for _, kind := range []string{"line", "meta"} {
		var starts []string
		for _, req := range reqs {
			if f := strings.Fields(req); f[0] == kind {
				starts = append(starts, f[1]+"/"+f[2])
			}
		}
		ns := func(ms int) string { return strconv.FormatInt(at(ms).UnixNano(), 10) }
		// Pages end at +350 and +1510 (see pkg/loki TestTraceLogsThreePages).
		wantStarts := []string{ns(-5000) + "/5000", ns(-5000) + "/9", ns(350) + "/9", ns(1510) + "/9"}
		if !slices.Equal(starts, wantStarts) {
			t.Errorf("%s requests (start/limit) %q, want %q", kind, starts, wantStarts)
		}
	}
	notes := noticeTexts(logs)
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "Loki allows at most 9 entries per query") }) {
		t.Errorf("notices %q lack the page size Loki imposed", notes)
	}
}
