package explain

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// Candidates per trace shown: Tempo returns a search's matches by recency,
// not by duration, so the slowest requests of a range are found only among
// many more candidates than are shown. Ten times as many in one search
// request (Tempo's results carry durationMs) costs one larger answer, not
// more requests; the cap keeps that answer a few hundred kilobytes.
const (
	CandidateFactor = 10
	MaxCandidates   = 1000
)

// CandidatesFor is how many traces SearchSlowest asks Tempo for to show
// limit of them.
func CandidatesFor(limit int) int {
	return min(max(limit, 1)*CandidateFactor, MaxCandidates)
}

// SearchSlowest explains the slowest limit traces of a TraceQL search: it
// asks Tempo once for CandidatesFor(limit) matches over [start, end),
// ranks them by the duration Tempo reports (longest first; ties: later
// start, then trace id), and fetches and explains the first limit as Search
// does. Each kept trace gets its typical duration (SearchResult.Typical):
// the median of the other candidates with the same root service and
// operation.
func (e *Explainer) SearchSlowest(ctx context.Context, traceql string, start, end time.Time, limit int, lo LogOptions) (*SearchResult, error) {
	found, err := e.Tempo.Search(ctx, traceql, start, end, CandidatesFor(limit))
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(found))
	cands := make([]tempo.SearchResult, 0, len(found))
	for _, r := range found {
		if !seen[r.TraceID] {
			seen[r.TraceID] = true
			cands = append(cands, r)
		}
	}
	typical := TypicalDurations(cands)
	ranked := slices.Clone(cands)
	slices.SortStableFunc(ranked, func(a, b tempo.SearchResult) int {
		return cmp.Or(cmp.Compare(b.Duration, a.Duration), b.Start.Compare(a.Start), strings.Compare(a.TraceID, b.TraceID))
	})
	if limit > 0 && len(ranked) > limit {
		ranked = ranked[:limit]
	}
	res, err := e.explainFound(ctx, ranked, start, end, lo)
	if err != nil {
		return nil, err
	}
	res.Candidates = len(cands)
	res.Typical = make(map[string]model.TypicalDuration, len(ranked))
	for _, r := range ranked {
		res.Typical[r.TraceID] = typical[r.TraceID]
	}
	return res, nil
}

// TypicalDurations gives each search result its duration and the median
// duration of the other results with the same root service and operation
// (HasTypical false when it is the only one), keyed by trace id.
func TypicalDurations(found []tempo.SearchResult) map[string]model.TypicalDuration {
	type root struct{ service, name string }
	groups := map[root][]time.Duration{}
	for _, r := range found {
		k := root{r.RootServiceName, r.RootTraceName}
		groups[k] = append(groups[k], r.Duration)
	}
	for _, g := range groups {
		slices.Sort(g)
	}
	out := make(map[string]model.TypicalDuration, len(found))
	for _, r := range found {
		g := groups[root{r.RootServiceName, r.RootTraceName}]
		td := model.TypicalDuration{Duration: r.Duration}
		if len(g) > 1 {
			k, _ := slices.BinarySearch(g, r.Duration)
			td.Typical, td.HasTypical = medianWithout(g, k), true
		}
		out[r.TraceID] = td
	}
	return out
}

// medianWithout is the median of sorted s without its element k (the mean
// of the two middle values of an even count), without copying s.
func medianWithout(s []time.Duration, k int) time.Duration {
	at := func(i int) time.Duration {
		if i >= k {
			i++
		}
		return s[i]
	}
	m := len(s) - 1
	if m%2 == 1 {
		return at(m / 2)
	}
	a, b := at(m/2-1), at(m/2)
	return a + (b-a)/2
}
