package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/model"
)

// Limits of the traces one TraceQL query analyses.
const (
	// DefaultSearchLimit is the number of traces when the query sets none.
	DefaultSearchLimit = 20
	// MaxSearchLimit bounds limit: each trace is fetched with its logs and
	// analysed, so more than this is a mistake, not a dashboard.
	MaxSearchLimit = 1000
	// maxNotices caps the notices a many-trace query shows; the rest are
	// counted in the last one.
	maxNotices = 8
)

// traceSearch is a checked TraceQL query of a search, waitMetrics or
// annotations query, with the options its traces are explained with.
type traceSearch struct {
	q          *Query
	traceql    string
	limit      int
	start, end time.Time
	lo         explain.LogOptions
	opts       correlate.Options
	// slowest ranks CandidatesFor(limit) candidates by duration and
	// explains the slowest limit (the search table), instead of the first
	// limit Tempo returns (which are the latest).
	slowest bool
}

// parseTraceSearch reads and checks the parts of a query that select and
// explain traces: the TraceQL ("" is {}, every trace), limit (default
// DefaultSearchLimit), the time range, and the analysis options.
func (d *Datasource) parseTraceSearch(dq backend.DataQuery) (*traceSearch, error) {
	q, err := parseQuery(dq)
	if err != nil {
		return nil, err
	}
	ts := &traceSearch{q: q, traceql: strings.TrimSpace(q.Query), limit: DefaultSearchLimit}
	if ts.traceql == "" {
		ts.traceql = "{}"
	}
	if q.Limit != nil && *q.Limit != 0 {
		if *q.Limit < 0 || *q.Limit > MaxSearchLimit {
			return nil, badQueryf("limit is %d; enter a number of traces from 1 to %d (leave it empty for %d)", *q.Limit, MaxSearchLimit, DefaultSearchLimit)
		}
		ts.limit = int(*q.Limit)
	}
	ts.start, ts.end = tempoRange(q.TimeRange)
	if ts.lo, ts.opts, err = q.analysisOptions(d.settings); err != nil {
		return nil, err
	}
	return ts, nil
}

// searched is a search run and every trace it fetched, analysed.
type searched struct {
	res     *explain.SearchResult
	results []*explain.Result
}

// searchTraces searches, fetches (through the instance's cache) and
// analyses the traces of ts.
func (d *Datasource) searchTraces(ctx context.Context, ts *traceSearch) (*searched, error) {
	search := d.explainer.Search
	if ts.slowest {
		search = d.explainer.SearchSlowest
	}
	res, err := search(ctx, ts.traceql, ts.start, ts.end, ts.limit, ts.lo)
	if err != nil {
		return nil, withTraceQLHint(err, ts.traceql)
	}
	out := &searched{res: res, results: make([]*explain.Result, len(res.Fetched))}
	for i, f := range res.Fetched {
		out.results[i] = explain.Analyze(f, ts.opts)
	}
	d.warnSearchDegraded(ctx, ts.q.QueryType, out)
	return out, nil
}

// withTraceQLHint adds to Tempo's refusal of a query with a "$" in it that
// nothing replaces template variables in alert rules: the query goes to
// Tempo exactly as written there.
func withTraceQLHint(err error, traceql string) error {
	he, ok := errors.AsType[*httpx.HTTPError](err)
	if !ok || he.Status != http.StatusBadRequest || !strings.Contains(traceql, "$") {
		return err
	}
	return fmt.Errorf("%w; if the $ in %s is a dashboard variable, note that alert rules and other queries without a dashboard do not replace variables: write the value itself", err, abbreviate(traceql))
}

// analyses are the analyses of the traces found.
func (s *searched) analyses() []*model.Analysis {
	out := make([]*model.Analysis, len(s.results))
	for i, r := range s.results {
		out[i] = r.Analysis
	}
	return out
}

// notices are the search's own notices (traces left out) and each
// distinct warning of its traces (a partial trace, Loki failing for some
// of them), at most maxNotices, and the notice about lines that did not
// join a span once, summed over the traces. The traces' other info remarks
// belong to the trace query, not to a search over many traces.
func (s *searched) notices() []data.Notice {
	var out []data.Notice
	seen := map[string]bool{}
	dropped := 0
	add := func(n explain.Notice) {
		if seen[n.Text] {
			return
		}
		seen[n.Text] = true
		if len(out) == maxNotices {
			dropped++
			return
		}
		out = append(out, notices([]explain.Notice{n})...)
	}
	for _, n := range s.res.Notices {
		add(n)
	}
	// Why lines did not join, once, summed over the traces: an empty
	// table or wait series then says why.
	if n, ok := explain.JoinNotice(s.analyses()); ok {
		add(n)
	}
	for _, r := range s.results {
		for _, n := range r.Notices {
			if n.Severity == explain.Warning && !r.IsJoinNotice(n) {
				add(n)
			}
		}
	}
	if dropped > 0 {
		out = append(out, frames.Warning(fmt.Sprintf("%d more warnings about single traces are not shown; run a trace query on a trace to see its own", dropped)))
	}
	return out
}

// executed describes the search for the query inspector: the TraceQL and
// its range, what came of it, and the batched LogQL.
func (s *searched) executed(ts *traceSearch) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tempo: TraceQL %s", ts.traceql)
	if !ts.start.IsZero() {
		fmt.Fprintf(&b, " from %s to %s", ts.start.UTC().Format(time.RFC3339), ts.end.UTC().Format(time.RFC3339))
	}
	if ts.slowest {
		fmt.Fprintf(&b, " (limit %d, %d candidates asked for): %d candidates ranked by duration, the %d slowest explained",
			ts.limit, explain.CandidatesFor(ts.limit), s.res.Candidates, len(s.res.Fetched))
	} else {
		fmt.Fprintf(&b, " (limit %d): %d traces found, %d explained", ts.limit, len(s.res.Found), len(s.res.Fetched))
	}
	if s.res.Cached > 0 {
		fmt.Fprintf(&b, " (%d from the cache)", s.res.Cached)
	}
	if len(s.res.LogQueries) > 0 {
		fmt.Fprintf(&b, " · Loki, %d %s: %s", s.res.LogBatches, plural(s.res.LogBatches, "batch", "batches"), strings.Join(s.res.LogQueries, " ; "))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// frameOptions are the options every frame of a many-trace query shares.
func (s *searched) frameOptions(pCtx backend.PluginContext, ts *traceSearch) frames.Options {
	return frames.Options{
		RefID:               ts.q.RefID,
		ExecutedQueryString: s.executed(ts),
		Notices:             s.notices(),
		Link:                selfLink(pCtx),
	}
}

// handleSearch answers a search query with the `traces` table: the
// slowest limit of the limit × 10 candidates Tempo returns (Tempo orders
// matches by recency, so the first limit would miss the range's slowest),
// each with its duration, wait, unaccounted time, retries, costliest
// finding and its duration against the typical one of the candidates like
// it, longest first, each trace id linking to its trace query.
func (d *Datasource) handleSearch(ctx context.Context, pCtx backend.PluginContext, dq backend.DataQuery) (data.Frames, error) {
	ts, err := d.parseTraceSearch(dq)
	if err != nil {
		return nil, err
	}
	ts.slowest = true
	s, err := d.searchTraces(ctx, ts)
	if err != nil {
		return nil, err
	}
	return data.Frames{frames.TracesVsTypical(s.analyses(), s.res.Typical, s.frameOptions(pCtx, ts))}, nil
}
