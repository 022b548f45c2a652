package plugin

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// handleTrace answers a trace query: the trace from Tempo, its logs from
// Loki, the engine's findings, as the frames trace, logs, gaps, retries,
// spans and breakdown, in that order (the provisioned dashboard reads them
// by index).
//
// The query is checked before anything is sent. A trace Tempo does not
// have is a 404; any other Tempo failure is an error with Tempo's message.
// A Loki failure is not an error: the trace is still worth seeing, so the
// frames come back with a warning that says why the logs are missing.
//
// A finished trace comes from the instance's cache when it was fetched
// before with the same log options (see explainTrace).
func (d *Datasource) handleTrace(ctx context.Context, pCtx backend.PluginContext, dq backend.DataQuery) (data.Frames, error) {
	q, err := parseQuery(dq)
	if err != nil {
		return nil, err
	}
	id, err := q.validTraceID()
	if err != nil {
		return nil, err
	}
	lo, opts, err := q.analysisOptions(d.settings)
	if err != nil {
		return nil, err
	}
	compare, baselineLimit, err := q.comparison(d.settings)
	if err != nil {
		return nil, err
	}
	start, end := tempoRange(q.TimeRange)
	// A query holds its fetched entries, its analysis and its frames until
	// it returns: bound how many do at once, or a burst of them holds all
	// its answers together (20 concurrent 1 000-span queries peaked at 6×
	// their bytes in flight). The bound leaves room for queries waiting on
	// the network while others use the CPUs.
	if err := querySlots.acquire(ctx); err != nil {
		return nil, err
	}
	defer querySlots.release()
	f, cached, err := d.explainer.FetchCached(ctx, id, start, end, lo)
	if err != nil {
		return nil, err
	}
	// The analysis and the frames are CPU work: more of them at once than
	// there are CPUs finish no sooner, but keep every query's analysis and
	// frames in memory together (20 concurrent queries held 20 of each).
	// A comparison's baseline is fetched outside the slots: waiting on the
	// network must not hold a CPU's turn.
	if err := analysisSlots.acquire(ctx); err != nil {
		return nil, err
	}
	res := explain.Analyze(f, opts)
	analysisSlots.release()
	collect := collection.due(res.Analysis)
	d.warnDegraded(ctx, QueryTypeTrace, res.Fetched)
	executed := fromCache(executedQuery(res, lo), cached)
	if compare {
		b, err := d.explainer.Compare(ctx, res, start, end, baselineLimit, lo, opts)
		if err != nil {
			return nil, err
		}
		executed += baselineExecuted(b)
	}
	if err := analysisSlots.acquire(ctx); err != nil {
		return nil, err
	}
	defer analysisSlots.release()
	fs := traceFrames(res, frames.Options{
		RefID:               q.RefID,
		ExecutedQueryString: executed,
		MaxLinesPerSpan:     d.settings.MaxLinesPerSpan,
		MaxLogLines:         q.maxLogLines(d.settings),
		MaxEmbeddedLines:    d.settings.MaxEmbeddedLines,
		MaxTableRows:        d.settings.MaxTableRows,
		LogsExplore:         logsExplore(ctx, pCtx, d.settings.LogsDatasourceUID, res, lo),
		Notices:             notices(res.Notices),
		Link:                selfLink(pCtx),
	})
	if compare {
		// Last: the frames before it keep the indexes dashboards read.
		c := frames.Comparison(res.Analysis, frames.Options{
			RefID: q.RefID, ExecutedQueryString: executed, Notices: notices(res.Notices), Link: selfLink(pCtx),
		})
		fs = append(fs, frames.SetHeadline(data.Frames{c}, res.Analysis)...)
	}
	if collect {
		// Nothing of res is used from here on: only the frames are
		// returned, so the analysis is garbage for this collection. (A
		// cached trace stays live; collecting is then merely useless.)
		runtime.GC()
	}
	return fs, nil
}

// bigAnalysisSize is the size, in spans and log lines, from which a trace
// query collects the heap once its frames are built. The 10 000-span
// trace with 100 000 lines holds 86 MB at the end of its analysis and 19
// MB once only its frames are left; the collector's pacing had set the
// next collection at twice the larger figure, so the SDK's encoding of the
// answer grew the heap into that headroom (188 MB of heap, 37 MB live).
// A collection there sets the pace from the frames instead; such a query's
// CPU went down with it (1.22 -> 1.07 s, BENCHMARKS.md run 5), fewer fresh
// pages being touched. Concurrent calls of runtime.GC share a cycle.
const bigAnalysisSize = 20_000

// collector decides when a trace query collects: after a big analysis,
// and after smaller ones once those analysed since the last collection add
// up to bigAnalysisSize. Twenty concurrent 1 000-span queries, each under
// the size, peaked at 3.96× the bytes in flight; collecting after every
// second of them, 3.39× (3.01× in a first try), the burst within its
// spread (BENCHMARKS.md run 6).
// Queries of a few hundred spans and lines, the usual ones, collect once in
// a hundred. The heap is the process's, so one collector serves every
// data source instance.
type collector struct{ since atomic.Int64 }

var collection collector

// due reports whether the query of analysis a collects once its frames are
// built, and counts a towards the next collection.
func (c *collector) due(a *model.Analysis) bool {
	n := analysisSize(a)
	if n >= bigAnalysisSize || c.since.Add(int64(n)) >= bigAnalysisSize {
		c.since.Store(0) // two queries crossing it together both collect: harmless
		return true
	}
	return false
}

// analysisSize is an analysis's spans and log lines.
func analysisSize(a *model.Analysis) int {
	if a == nil {
		return 0
	}
	n := len(a.Logs)
	if a.Trace != nil {
		n += len(a.Trace.Spans)
	}
	return n
}

// baselineExecuted describes a comparison's baseline for the query
// inspector: its TraceQL, how many traces it found and fetched (and how
// many came from the cache), and the batched LogQL.
func baselineExecuted(b *explain.Baseline) string {
	if b == nil || b.TraceQL == "" {
		return ""
	}
	var s strings.Builder
	fmt.Fprintf(&s, " · compared with: Tempo: TraceQL %s (limit %d)", b.TraceQL, b.Limit+1)
	if b.SearchCached {
		s.WriteString(" from the cache")
	}
	if b.Search == nil {
		return s.String()
	}
	fmt.Fprintf(&s, ": %d traces like it explained", len(b.Search.Fetched))
	if b.Search.Cached > 0 {
		fmt.Fprintf(&s, " (%d from the cache)", b.Search.Cached)
	}
	if len(b.Search.LogQueries) > 0 {
		fmt.Fprintf(&s, " · Loki, %d %s: %s", b.Search.LogBatches, plural(b.Search.LogBatches, "batch", "batches"), strings.Join(b.Search.LogQueries, " ; "))
	}
	return s.String()
}

// logsExplore is where the logs frame's notice sends a person for every
// line: the LogQL that fetched them (or would have) on the Loki data source
// of tracesToLogsV2, over the range they were fetched for, under Grafana's
// root URL when Grafana sent it.
func logsExplore(ctx context.Context, pCtx backend.PluginContext, lokiUID string, res *explain.Result, lo explain.LogOptions) frames.ExploreLogs {
	e := frames.ExploreLogs{DatasourceUID: lokiUID, OrgID: pCtx.OrgID}
	if f := res.Fetched; f != nil {
		e.From, e.To = f.LogStart, f.LogEnd
		if f.Logs != nil {
			e.Queries = f.Logs.Queries
		} else {
			e.Queries, _ = loki.Queries(lo.Selector, f.TraceID, lo.Mode, lo.TraceIDFields)
		}
	}
	if cfg := backend.GrafanaConfigFromContext(ctx); cfg != nil {
		e.AppURL, _ = cfg.AppURL() // absent: a link relative to Grafana's host
	}
	return e
}

// explainTrace fetches one trace through the instance's cache and analyses
// it with opts; cached says nothing was sent upstream. The cache keeps a
// trace only when it is complete, its logs came without a failure and it
// ended long enough ago (explain.DefaultSettle) that neither Tempo nor Loki
// will return more for it, so a live trace or a Loki failure is fetched
// again next time. Entries are keyed by tenant, trace id and every log
// option, while the analysis runs again each time: a query with another
// minGapMs reuses the fetched material, one with another logSelector
// fetches its own.
func (d *Datasource) explainTrace(ctx context.Context, id string, start, end time.Time, lo explain.LogOptions, opts correlate.Options) (*explain.Result, bool, error) {
	f, cached, err := d.explainer.FetchCached(ctx, id, start, end, lo)
	if err != nil {
		return nil, false, err
	}
	return explain.Analyze(f, opts), cached, nil
}

// slots bounds how many trace queries do something at once.
type slots chan struct{}

// analysisSlots is shared by every instance: the CPUs are the process's.
var analysisSlots = make(slots, runtime.GOMAXPROCS(0))

// querySlots bounds the trace queries in progress (fetching, analysing or
// building frames), process-wide: the memory is the process's too.
var querySlots = make(slots, 4*runtime.GOMAXPROCS(0))

// acquire waits for a free slot, or for ctx to end.
func (s slots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the query ended while it waited for other trace queries to finish (at most %d run at once in this plugin): %w", cap(s), context.Cause(ctx))
	}
}

func (s slots) release() { <-s }

// fromCache marks the executed query of a trace that came from the cache,
// or from the same query's fetch in flight for another caller, so the query
// inspector does not claim this query sent them.
func fromCache(executed string, cached bool) string {
	if !cached {
		return executed
	}
	return executed + " · from the cache (fetched by an earlier or concurrent query)"
}

// traceFrames builds the frames of a trace query, in the order the
// provisioned dashboard and the frontend read them: the five first, then
// breakdown, then findings (pools and queues); every frame carries the
// headline in meta.custom.headline.
func traceFrames(res *explain.Result, o frames.Options) data.Frames {
	a := res.Analysis
	fs := make(data.Frames, 7)
	// The builders only read the analysis. The trace frame is most of the
	// work and spreads its rows over the CPUs itself; the others are built
	// beside it, in its parts that run on one CPU.
	var wg sync.WaitGroup
	wg.Go(func() {
		fs[1] = frames.Logs(a, o)
		fs[2] = frames.Gaps(a, o)
		fs[3] = frames.Retries(a, o)
		fs[4] = frames.Spans(a, o)
		fs[5] = frames.Breakdown(a, o)
		fs[6] = frames.Findings(a, o)
	})
	fs[0] = frames.Trace(a, o)
	wg.Wait()
	return frames.SetHeadline(fs, a)
}

// tempoRange is the query's range for Tempo's trace lookup, or zero times
// (search everywhere) when Grafana sent none.
func tempoRange(tr backend.TimeRange) (start, end time.Time) {
	if tr.From.IsZero() || tr.To.IsZero() || !tr.To.After(tr.From) {
		return time.Time{}, time.Time{}
	}
	return tr.From, tr.To
}

// executedQuery is the short description the query inspector shows: the
// trace asked of Tempo and the LogQL asked of Loki (the queries that ran,
// or, when Loki failed before answering, the ones that were sent).
func executedQuery(res *explain.Result, lo explain.LogOptions) string {
	id := res.Fetched.TraceID
	var queries []string
	if res.Fetched.Logs != nil {
		queries = res.Fetched.Logs.Queries
	} else {
		queries, _ = loki.Queries(lo.Selector, id, lo.Mode, lo.TraceIDFields)
	}
	s := "Tempo: trace " + id
	if len(queries) > 0 {
		s += " · Loki: " + strings.Join(queries, " and ")
	}
	return s
}

// notices turns explain's notices into frame notices.
func notices(ns []explain.Notice) []data.Notice {
	if len(ns) == 0 {
		return nil
	}
	out := make([]data.Notice, len(ns))
	for i, n := range ns {
		switch n.Severity {
		case explain.Warning:
			out[i] = frames.Warning(n.Text)
		default:
			out[i] = frames.Info(n.Text)
		}
	}
	return out
}

// selfLink makes data links point back at this data source's trace query.
func selfLink(pCtx backend.PluginContext) frames.Link {
	ds := pCtx.DataSourceInstanceSettings
	if ds == nil {
		return frames.Link{}
	}
	return frames.Link{DatasourceUID: ds.UID, DatasourceName: ds.Name}
}
