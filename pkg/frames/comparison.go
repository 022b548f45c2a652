package frames

import (
	"strconv"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// TagTypical is the trace frame's tag, on spans whose comparison keys
// occur in the baseline, of the typical milliseconds of the span's service
// and operation: the sum of the baseline medians of the keys (category and
// callee or gap) the span's breakdown rows have.
const TagTypical = "tracegap.typical_ms"

// CustomComparison is the key of the comparison's sentence in the trace
// and comparison frames' meta.custom.
const CustomComparison = "comparison"

// Comparison builds the `comparison` table of a trace query with compare
// on: one row per key (service, operation, category, what) with this
// trace's milliseconds, the baseline's median (typical_ms) and 90th
// percentile, in how many baseline traces it occurs ("6 of 20") and
// this − typical, largest first (docs/analysis.md, "Compared with
// typical"). No comparison (too few traces like it, no root) gives the
// frame without rows; the notice saying why is the plugin's.
func Comparison(a *model.Analysis, o Options) *data.Frame {
	var c *model.Comparison
	if a != nil {
		c = a.Comparison
	}
	var rows []model.ComparisonRow
	if c != nil {
		rows = c.Rows
	}
	n := len(rows)
	var (
		svc, op, cat, what, seen = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		this, typ, p90, delta    = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	)
	for i := range rows {
		r := &rows[i]
		svc[i], op[i], cat[i], what[i] = r.ServiceName, r.Operation, string(r.Category), r.What
		this[i], typ[i], p90[i], delta[i] = ms(r.This), ms(r.Median), ms(r.P90), ms(r.Delta)
		seen[i] = strconv.Itoa(r.SeenIn) + " of " + strconv.Itoa(c.Baseline)
	}
	f := o.newFrame("comparison",
		data.NewField("service", nil, svc),
		data.NewField("operation", nil, op),
		data.NewField("category", nil, cat),
		data.NewField("what", nil, what),
		msField("this_ms", this),
		msField("typical_ms", typ),
		msField("p90_ms", p90),
		data.NewField("seen_in", nil, seen),
		msField("delta_ms", delta),
	)
	if c != nil && c.Sentence != "" {
		setCustom(f, CustomComparison, c.Sentence)
	}
	return f
}

// setCustom adds key to a frame's meta.custom object, keeping what other
// builders put there.
func setCustom(f *data.Frame, key string, v any) {
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	m, ok := f.Meta.Custom.(map[string]any)
	if !ok {
		m = map[string]any{}
	}
	m[key] = v
	f.Meta.Custom = m
}

// typicalBySpan is each span's TagTypical value (false: no tag), from the
// comparison's rows whose keys occur in the baseline.
func typicalBySpan(a *model.Analysis, n int) ([]float64, []bool) {
	if a == nil || a.Comparison == nil || len(a.Comparison.Rows) == 0 {
		return nil, nil
	}
	vals, has := make([]float64, n), make([]bool, n)
	for i := range a.Comparison.Rows {
		r := &a.Comparison.Rows[i]
		if r.SeenIn == 0 {
			continue
		}
		for _, s := range r.SpanIndexes {
			if s >= 0 && s < n {
				vals[s] += ms(r.Median)
				has[s] = true
			}
		}
	}
	return vals, has
}

// withComparison places the comparison's sentence among the root span's
// warnings: right after the breakdown's headline, or first without one.
func withComparison(a *model.Analysis, warnings []string) []string {
	if a == nil || a.Comparison == nil || a.Comparison.Sentence == "" {
		return warnings
	}
	at := 0
	for i, w := range warnings {
		if w != "" && w == a.Breakdown.Headline {
			at = i + 1
			break
		}
	}
	out := make([]string, 0, len(warnings)+1)
	out = append(out, warnings[:at]...)
	out = append(out, a.Comparison.Sentence)
	return append(out, warnings[at:]...)
}
