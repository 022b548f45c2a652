package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/tracegap/correlator/pkg/explain"
)

// warnDegraded tells operators, through the SDK's logger at warn level,
// that a query's answer is degraded: Loki failed (the trace came without
// logs), Tempo returned a partial trace, or Loki refused the page size and
// its smaller max_entries_limit_per_query was adopted. The person at the
// panel sees a notice; without this line an operator reading Grafana's
// logs sees only status=ok. One line per query however many pages or
// queries were involved, with the data source uid, the trace id and the
// reasons. The reasons are the notices' own error texts, which never hold a
// secret (pkg/httpx redacts them where they are made).
func (d *Datasource) warnDegraded(ctx context.Context, queryType string, f *explain.Fetched) {
	reasons := degradedReasons(f)
	if len(reasons) == 0 {
		return
	}
	log.DefaultLogger.FromContext(ctx).Warn("Tracegap answered a query with degraded results",
		"uid", d.uid, "queryType", queryType, "traceId", f.TraceID, "reason", strings.Join(reasons, "; "))
}

// warnSearchDegraded is warnDegraded for a query over many traces: one line
// for the query, with how many traces were degraded, the first few ids and
// each distinct reason, plus the search's own warnings (traces Tempo did
// not return).
func (d *Datasource) warnSearchDegraded(ctx context.Context, queryType string, s *searched) {
	const most = 5
	var ids, reasons []string
	degraded := 0
	for _, f := range s.res.Fetched {
		rs := degradedReasons(f)
		if len(rs) == 0 {
			continue
		}
		degraded++
		if len(ids) < most {
			ids = append(ids, f.TraceID)
		}
		for _, r := range rs {
			if len(reasons) < most && !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
	}
	for _, n := range s.res.Notices {
		if n.Severity == explain.Warning && len(reasons) < most {
			reasons = append(reasons, n.Text)
		}
	}
	if len(reasons) == 0 {
		return
	}
	log.DefaultLogger.FromContext(ctx).Warn("Tracegap answered a query with degraded results",
		"uid", d.uid, "queryType", queryType, "traces", len(s.res.Fetched), "degradedTraces", degraded,
		"traceIds", strings.Join(ids, ","), "reason", strings.Join(reasons, "; "))
}

// degradedReasons says what is missing from one fetched trace's answer.
func degradedReasons(f *explain.Fetched) []string {
	var reasons []string
	if f.Trace != nil && f.Trace.Partial {
		r := "Tempo returned a partial trace"
		if f.Trace.Message != "" {
			r += ": " + f.Trace.Message
		}
		reasons = append(reasons, r)
	}
	if f.LogsErr != nil {
		reasons = append(reasons, "Loki failed, the trace is answered without logs: "+f.LogsErr.Error())
	}
	if f.Logs != nil {
		for _, err := range f.Logs.FailedQueries {
			reasons = append(reasons, "one of the two Loki queries failed, so only the other's lines are shown: "+err.Error())
		}
	}
	if f.Logs != nil && f.Logs.EntryLimit > 0 {
		reasons = append(reasons, fmt.Sprintf("Loki's max_entries_limit_per_query (%d) is below the page size, so pages of %d entries were used", f.Logs.EntryLimit, f.Logs.EntryLimit))
	}
	return reasons
}
