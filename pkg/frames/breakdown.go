package frames

import (
	"math"
	"strconv"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// Breakdown builds the `breakdown` table: where the root span's duration
// went (docs/analysis.md, "Where the time went"), one row per (span,
// category, callee or gap), largest first; the rows' ms add up to the
// root's duration. what names the callee or the gap's two messages; share
// is a fraction (unit percentunit: 0.4 shows as 40%).
func Breakdown(a *model.Analysis, o Options) *data.Frame {
	var rows []model.BreakdownRow
	if a != nil {
		rows = a.Breakdown.Rows
	}
	n := len(rows)
	var (
		spanID, svc, op, cat, what = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		dur, share                 = make([]float64, n), make([]float64, n)
	)
	for i := range rows {
		r := &rows[i]
		spanID[i], svc[i], op[i], cat[i], what[i] = r.SpanID, r.ServiceName, r.Operation, string(r.Category), r.What
		dur[i], share[i] = ms(r.Duration), r.Share
	}
	return o.newFrame("breakdown",
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks(traceIDOf(a))),
		data.NewField("service", nil, svc),
		data.NewField("operation", nil, op),
		data.NewField("category", nil, cat),
		data.NewField("what", nil, what),
		msField("ms", dur),
		data.NewField("share", nil, share).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
	)
}

// headlineKey is the key of the headline in the Meta.Custom of every frame
// of a trace query, so that a text panel can show it from any frame.
const headlineKey = "headline"

// SetHeadline puts the analysis's headline (the breakdown's top finding)
// into Meta.Custom.headline of every frame, creating Meta where missing;
// nothing when the analysis has no headline.
func SetHeadline(frames data.Frames, a *model.Analysis) data.Frames {
	if a == nil || a.Breakdown.Headline == "" {
		return frames
	}
	for _, f := range frames {
		if f == nil {
			continue
		}
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		custom, _ := f.Meta.Custom.(map[string]any)
		if custom == nil {
			custom = map[string]any{}
		}
		custom[headlineKey] = a.Breakdown.Headline
		f.Meta.Custom = custom
	}
	return frames
}

// breakdownSummary writes the first n rows as "waiting 40% · self 20% · in
// callee 13%", for the slow-requests table.
func breakdownSummary(b *model.Breakdown, n int) string {
	var sb strings.Builder
	for k := 0; k < len(b.Rows) && k < n; k++ {
		if k > 0 {
			sb.WriteString(" · ")
		}
		sb.WriteString(string(b.Rows[k].Category))
		sb.WriteByte(' ')
		sb.WriteString(percent(b.Rows[k].Share))
	}
	return sb.String()
}

// percent writes a share as a whole percentage, "<1%" when a positive
// share rounds to 0 (the engine's headline writes shares the same way).
func percent(share float64) string {
	p := int64(math.Floor(share*100 + 0.5))
	if p == 0 && share > 0 {
		return "<1%"
	}
	return strconv.FormatInt(p, 10) + "%"
}

// breakdownRoot is the index of the breakdown's root span, -1 when the
// analysis has no breakdown.
func breakdownRoot(a *model.Analysis) int {
	if a == nil || a.Trace == nil || a.Breakdown.RootSpanID == "" {
		return -1
	}
	found := -1
	for i := range a.Trace.Spans {
		if a.Trace.Spans[i].SpanID == a.Breakdown.RootSpanID {
			if a.Trace.Spans[i].ParentSpanID == "" {
				return i
			}
			if found < 0 {
				found = i
			}
		}
	}
	return found
}
