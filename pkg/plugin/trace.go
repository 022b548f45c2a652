package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/loki"
)

// handleTrace answers a trace query: the trace from Tempo, its logs from
// Loki, the engine's findings, as the frames trace, logs, gaps, retries and
// spans, in that order (the provisioned dashboard reads them by index).
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
	start, end := tempoRange(q.TimeRange)
	res, cached, err := d.explainTrace(ctx, id, start, end, lo, opts)
	if err != nil {
		return nil, err
	}
	d.warnDegraded(ctx, QueryTypeTrace, res.Fetched)
	return traceFrames(res, frames.Options{
		RefID:               q.RefID,
		ExecutedQueryString: fromCache(executedQuery(res, lo), cached),
		MaxLinesPerSpan:     d.settings.MaxLinesPerSpan,
		Notices:             notices(res.Notices),
		Link:                selfLink(pCtx),
	}), nil
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

// fromCache marks the executed query of a trace that came from the cache,
// so the query inspector does not claim the queries ran just now.
func fromCache(executed string, cached bool) string {
	if !cached {
		return executed
	}
	return executed + " · from the cache (fetched earlier)"
}

// traceFrames builds the five frames of a trace query, in the order the
// provisioned dashboard and the frontend read them.
func traceFrames(res *explain.Result, o frames.Options) data.Frames {
	a := res.Analysis
	return data.Frames{
		frames.Trace(a, o),
		frames.Logs(a, o),
		frames.Gaps(a, o),
		frames.Retries(a, o),
		frames.Spans(a, o),
	}
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
