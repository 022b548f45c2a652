package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/frames"
)

// handleWaitMetrics answers a waitMetrics query with time series in
// Grafana's timeseries-multi shape: per service (or service and
// operation, groupBy "service_operation") and measure, one point at each
// trace's start. The labels are service=…, operation=… and measure=…;
// measure keeps the three series of one service apart, because Grafana's
// server-side expressions tell series apart by labels only (see
// frames.MeasureLabel). The optional "measures" field picks some of
// wait_ms, unaccounted_ms and retries (default all three), and of the
// breakdown's critical-path time breakdown_waiting_ms,
// breakdown_network_ms and breakdown_failed_attempt_ms (asked by name); an
// alert rule picks the one it thresholds.
//
// It needs nothing from the frontend: alert rules send the stored JSON as
// is, without template variables replaced, and get the same frames.
func (d *Datasource) handleWaitMetrics(ctx context.Context, pCtx backend.PluginContext, dq backend.DataQuery) (data.Frames, error) {
	ts, err := d.parseTraceSearch(dq)
	if err != nil {
		return nil, err
	}
	by := frames.GroupBy(ts.q.GroupBy)
	switch by {
	case "":
		by = frames.GroupByService
	case frames.GroupByService, frames.GroupByServiceOperation:
	default:
		return nil, badQueryf("groupBy is %s; use %q (one series per service) or %q (per service and operation)", abbreviate(string(by)), frames.GroupByService, frames.GroupByServiceOperation)
	}
	measures, err := parseMeasures(dq.JSON)
	if err != nil {
		return nil, err
	}
	s, err := d.searchTraces(ctx, ts)
	if err != nil {
		return nil, err
	}
	fs, err := frames.WaitSeriesOf(s.analyses(), by, measures, s.frameOptions(pCtx, ts))
	if err != nil {
		// groupBy and measures were checked above.
		return nil, backend.PluginError(err)
	}
	return fs, nil
}

// parseMeasures reads the query's optional "measures": a list of measure
// names, or one name or a comma-separated string (as typed in an alert
// rule's JSON); absent, null or empty means all. Unknown names are a 400
// naming the valid ones.
func parseMeasures(raw []byte) ([]string, error) {
	var q struct {
		Measures json.RawMessage `json:"measures"`
	}
	if body := bytes.TrimSpace(raw); len(body) > 0 {
		if err := json.Unmarshal(body, &q); err != nil {
			return nil, badQueryf("the query is not valid JSON (%v); re-save the query in the query editor", err)
		}
	}
	text := strings.TrimSpace(string(q.Measures))
	if text == "" || text == "null" {
		return nil, nil
	}
	var names []string
	if text[0] == '"' {
		var s string
		if err := json.Unmarshal(q.Measures, &s); err != nil {
			return nil, badQueryf("measures is not a list of measure names")
		}
		names = strings.Split(s, ",")
	} else if err := json.Unmarshal(q.Measures, &names); err != nil {
		return nil, badQueryf("measures must be a list of measure names, e.g. [%q]; valid names: %s", frames.MeasureWait, strings.Join(frames.Measures, ", "))
	}
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if !slices.Contains(frames.Measures, n) {
			return nil, badQueryf("unknown measure %s; valid measures: %s", abbreviate(n), strings.Join(frames.Measures, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}
