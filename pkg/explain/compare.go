package explain

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// Bounds of a comparison's baseline (the query field baselineLimit).
const (
	DefaultBaseline = 20
	MinBaseline     = model.MinBaseline
	MaxBaseline     = 200
)

// BaselineQuery is the TraceQL that finds the traces like one whose root
// span is service's operation: the same root service and root name.
// Strings are quoted as Go does, which Tempo's TraceQL lexer reads.
func BaselineQuery(service, operation string) string {
	return "{ trace:rootService = " + strconv.Quote(service) + " && trace:rootName = " + strconv.Quote(operation) + " }"
}

// Baseline is what a comparison was made against.
type Baseline struct {
	// TraceQL is the baseline's search ("" when there was none: no root).
	TraceQL string
	// Limit is how many baseline traces were asked for.
	Limit int
	// Search is the baseline's traces fetched (nil when the search failed
	// or was not run); SearchCached says the search's answer came from the
	// cache.
	Search       *SearchResult
	SearchCached bool
}

// Compare compares an explained trace with up to limit others of
// [start, end) whose root has the same service and operation (this trace
// excluded), fetched through e.Cache and in batched Loki queries as Search
// fetches, and analysed with opts (docs/analysis.md, "Compared with
// typical"). It sets res.Analysis.Comparison and adds to res.Notices what
// the person should know: no root span, fewer than model.MinBaseline
// traces like it, a baseline search Tempo failed. None of these is an
// error, since the trace itself is still worth seeing; only a cancelled ctx
// is.
//
// The search's answer is kept in e.Cache for SearchTTL, so a comparison
// repeated over the same range sends nothing for its baseline: the traces
// come from the cache of fetched traces.
func (e *Explainer) Compare(ctx context.Context, res *Result, start, end time.Time, limit int, lo LogOptions, opts correlate.Options) (*Baseline, error) {
	b := &Baseline{Limit: limit}
	root := rootSpan(res.Analysis.Trace)
	if root == nil {
		res.Analysis.Comparison = &model.Comparison{Top: -1, Notice: correlate.NoRootNotice}
		res.Notices = append(res.Notices, Notice{Warning, "No comparison with typical: " + correlate.NoRootNotice + "."})
		return b, nil
	}
	b.TraceQL = BaselineQuery(root.ServiceName, root.Name)

	found, cached, err := e.searchCached(ctx, b.TraceQL, start, end, limit+1)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Notices = append(res.Notices, Notice{Warning, fmt.Sprintf(
			"No comparison with typical: Tempo's search for traces like this one (%s) failed: %v. The trace is shown without it; try again, or turn compare off.", b.TraceQL, err)})
		return b, nil
	}
	b.SearchCached = cached
	others := make([]tempo.SearchResult, 0, len(found))
	for _, r := range found {
		if r.TraceID != res.Fetched.TraceID {
			others = append(others, r)
		}
	}
	if len(others) > limit {
		others = others[:limit]
	}

	var analyses []*model.Analysis
	if len(others) > 0 {
		sr, err := e.explainFound(ctx, others, start, end, lo)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Notices = append(res.Notices, Notice{Warning, fmt.Sprintf(
				"No comparison with typical: none of the %d traces like this one could be fetched from Tempo: %v", len(others), err)})
			return b, nil
		}
		b.Search = sr
		for _, n := range sr.Notices {
			res.Notices = append(res.Notices, Notice{n.Severity, "Comparison with typical: " + n.Text})
		}
		lokiFailed := 0
		for _, f := range sr.Fetched {
			if f.LogsErr != nil {
				lokiFailed++
			}
			analyses = append(analyses, Analyze(f, opts).Analysis)
		}
		if lokiFailed > 0 {
			res.Notices = append(res.Notices, Notice{Warning, fmt.Sprintf(
				"Comparison with typical: Loki failed for %d of the %d traces like this one, so their waits are missing from the typical figures", lokiFailed, len(sr.Fetched))})
		}
	}
	c := correlate.Compare(res.Analysis, analyses)
	res.Analysis.Comparison = c
	if c.Notice != "" {
		res.Notices = append(res.Notices, Notice{Warning, "No comparison with typical: " + c.Notice + "."})
	}
	return b, nil
}

// rootSpan is the earliest span without a parent, nil when there is none
// (a partial trace whose root Tempo does not have).
func rootSpan(t *model.Trace) *model.Span {
	if t == nil {
		return nil
	}
	var root *model.Span
	for i := range t.Spans {
		s := &t.Spans[i]
		if s.ParentSpanID == "" && (root == nil || s.Start.Before(root.Start)) {
			root = s
		}
	}
	return root
}

// searchCached runs a TraceQL search through e.Cache's short-lived cache of
// search answers.
func (e *Explainer) searchCached(ctx context.Context, traceql string, start, end time.Time, limit int) ([]tempo.SearchResult, bool, error) {
	from, to := tempo.Seconds(start, end) // what Tempo can tell apart
	k := searchKey{tenant: e.Tenant, traceql: traceql, start: from, end: to, limit: limit}
	if found, ok := e.Cache.getSearch(k); ok {
		return found, true, nil
	}
	found, err := e.Tempo.Search(ctx, traceql, start, end, limit)
	if err != nil {
		return nil, false, err
	}
	e.Cache.putSearch(k, found)
	return found, false, nil
}
