package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

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
	ex := &explain.Explainer{Tempo: d.tempo, Loki: d.loki}
	res, err := ex.Trace(ctx, id, start, end, lo, opts)
	if err != nil {
		return nil, err
	}
	return traceFrames(res, frames.Options{
		RefID:               q.RefID,
		ExecutedQueryString: executedQuery(res, lo),
		MaxLinesPerSpan:     d.settings.MaxLinesPerSpan,
		Notices:             notices(res.Notices),
		Link:                selfLink(pCtx),
	}), nil
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
