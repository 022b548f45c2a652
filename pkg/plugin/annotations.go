package plugin

import (
	"context"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/model"
)

// handleAnnotations answers an annotations query with one `annotations`
// frame: a region per gap of at least minGapMs and per retry, titled with
// the service and operation, its text the engine's sentence, tagged, and
// linked to its trace and span, costliest first.
//
// With traceId it explains that trace; otherwise it explains the traces a
// TraceQL search finds in the dashboard's range, through the same path as
// the search query (cache, bounded concurrency, batched Loki). limit
// (default DefaultSearchLimit) caps both the traces searched and the
// regions shown, so a graph carries the costliest few findings.
func (d *Datasource) handleAnnotations(ctx context.Context, pCtx backend.PluginContext, dq backend.DataQuery) (data.Frames, error) {
	ts, err := d.parseTraceSearch(dq)
	if err != nil {
		return nil, err
	}
	minGap, err := ts.q.minGap(d.settings)
	if err != nil {
		return nil, err
	}
	ao := frames.AnnotationOptions{MinGap: minGap, Limit: ts.limit}

	if strings.TrimSpace(ts.q.TraceID) != "" {
		id, err := ts.q.validTraceID()
		if err != nil {
			return nil, err
		}
		res, cached, err := d.explainTrace(ctx, id, ts.start, ts.end, ts.lo, ts.opts)
		if err != nil {
			return nil, err
		}
		d.warnDegraded(ctx, QueryTypeAnnotations, res.Fetched)
		return data.Frames{frames.Annotations([]*model.Analysis{res.Analysis}, ao, frames.Options{
			RefID:               ts.q.RefID,
			ExecutedQueryString: fromCache(executedQuery(res, ts.lo), cached),
			Notices:             notices(joinAndWarnings(res)),
			Link:                selfLink(pCtx),
		})}, nil
	}

	s, err := d.searchTraces(ctx, ts)
	if err != nil {
		return nil, err
	}
	return data.Frames{frames.Annotations(s.analyses(), ao, s.frameOptions(pCtx, ts))}, nil
}

// joinAndWarnings are a trace's warnings and, whatever its severity, its
// notice about lines that did not join (so empty regions say why).
func joinAndWarnings(res *explain.Result) []explain.Notice {
	out := warnings(res.Notices)
	for _, n := range res.Notices {
		if n.Severity == explain.Info && res.IsJoinNotice(n) {
			out = append(out, n)
		}
	}
	return out
}

// warnings keeps the warnings: an annotation query shows what may be
// missing from its regions, not the trace's info remarks.
func warnings(ns []explain.Notice) []explain.Notice {
	var out []explain.Notice
	for _, n := range ns {
		if n.Severity == explain.Warning {
			out = append(out, n)
		}
	}
	return out
}
