package frames

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// Traces builds the `traces` table of a search: one row per analysed trace,
// longest first. traceID links to the trace query of Options.Link.
// topFinding is the breakdown's headline; breakdown its first three rows
// ("waiting 40% · self 20% · in callee 13%").
func Traces(as []*model.Analysis, o Options) *data.Frame {
	return TracesVsTypical(as, nil, o)
}

// TracesVsTypical is Traces with two more columns when typical is not nil:
// typical_ms, the median duration of the other candidates like the trace
// (same root service and operation, as Tempo reported them; null when there
// were none), and vs_typical, the trace's duration against it ("+4400 ms").
func TracesVsTypical(as []*model.Analysis, typical map[string]model.TypicalDuration, o Options) *data.Frame {
	list := analysed(as)
	slices.SortStableFunc(list, func(x, y *model.Analysis) int {
		if c := cmp.Compare(y.End.Sub(y.Start), x.End.Sub(x.Start)); c != 0 {
			return c
		}
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.Trace.TraceID, y.Trace.TraceID)
	})
	n := len(list)
	var (
		traceID, rootSvc, rootOp, top = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		breakdown                     = make([]string, n)
		start                         = make([]time.Time, n)
		duration, wait, unaccounted   = make([]float64, n), make([]float64, n), make([]float64, n)
		retries, logCount             = make([]int64, n), make([]int64, n)
	)
	for i, a := range list {
		traceID[i], start[i] = a.Trace.TraceID, a.Start
		if r := rootSpan(a.Trace.Spans); r >= 0 {
			rootSvc[i], rootOp[i] = a.Trace.Spans[r].ServiceName, a.Trace.Spans[r].Name
		}
		duration[i], wait[i], unaccounted[i] = ms(a.End.Sub(a.Start)), ms(a.Total.Wait), ms(a.Total.Unaccounted)
		retries[i], top[i], logCount[i] = int64(a.Total.Retries), a.TopFinding, int64(len(a.Logs))
		breakdown[i] = breakdownSummary(&a.Breakdown, 3)
	}
	fields := []*data.Field{
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		data.NewField("start", nil, start),
		data.NewField("rootService", nil, rootSvc),
		data.NewField("rootOperation", nil, rootOp),
		msField("durationMs", duration),
		msField("waitMs", wait),
		msField("unaccountedMs", unaccounted),
		data.NewField("retries", nil, retries),
		data.NewField("topFinding", nil, top),
		data.NewField("logCount", nil, logCount),
		data.NewField("breakdown", nil, breakdown),
	}
	if typical != nil {
		typ, vs := make([]*float64, n), make([]string, n)
		for i, a := range list {
			if td := typical[a.Trace.TraceID]; td.HasTypical {
				v := ms(td.Typical)
				typ[i] = &v
				vs[i] = signedMs(td.Duration - td.Typical)
			}
		}
		fields = append(fields, msField("typical_ms", typ), data.NewField("vs_typical", nil, vs))
	}
	return o.newFrame("traces", fields...)
}

// signedMs writes a difference of durations with its sign: "+4400 ms",
// "-120 ms", "+0 ms".
func signedMs(d time.Duration) string {
	if d < 0 {
		return "-" + formatMs(-d)
	}
	return "+" + formatMs(d)
}

// analysed drops nil analyses and analyses without a trace.
func analysed(as []*model.Analysis) []*model.Analysis {
	out := make([]*model.Analysis, 0, len(as))
	for _, a := range as {
		if a != nil && a.Trace != nil {
			out = append(out, a)
		}
	}
	return out
}

// GroupBy says which spans one wait series sums over.
type GroupBy string

// The groupings of WaitSeries.
const (
	GroupByService          GroupBy = "service"
	GroupByServiceOperation GroupBy = "service_operation"
)

// Measure names: the name of each wait series' number field and frame.
// The breakdown_* measures are critical-path time of the breakdown
// (docs/analysis.md, "Where the time went"): a service's figure never
// exceeds the request's duration, unlike wait_ms, which counts nested
// waits at every level.
const (
	MeasureWait        = "wait_ms"
	MeasureUnaccounted = "unaccounted_ms"
	MeasureRetries     = "retries"
	// MeasureBreakdownWaiting is the critical-path time the group's spans
	// waited between two log lines with no span running.
	MeasureBreakdownWaiting = "breakdown_waiting_ms"
	// MeasureBreakdownNetwork is the critical-path time of the group's
	// CLIENT spans that their server span does not cover.
	MeasureBreakdownNetwork = "breakdown_network_ms"
	// MeasureBreakdownFailedAttempt is the critical-path time spent in
	// failed attempts that were retried.
	MeasureBreakdownFailedAttempt = "breakdown_failed_attempt_ms"
)

// Measures lists every measure name in the order WaitSeries emits them.
var Measures = []string{MeasureWait, MeasureUnaccounted, MeasureRetries,
	MeasureBreakdownWaiting, MeasureBreakdownNetwork, MeasureBreakdownFailedAttempt}

// DefaultMeasures are the measures of a query that names none (the three
// the series had before the breakdown, so existing panels keep their
// series); the breakdown_* ones are asked for by name.
var DefaultMeasures = Measures[:3]

// MeasureLabel is the label that names a series' measure. Grafana's
// server-side expressions (alert rules) tell series apart by their labels
// alone: a reduce keeps only the labels, and an evaluation whose results
// share a label set fails with "duplicate results with labels". Without it
// the three measures of one service would collide.
const MeasureLabel = "measure"

// WaitSeries builds wait metrics over many traces in Grafana's
// timeseries-multi shape: one frame per (group, measure) with a `time`
// field and one number field (wait_ms, unaccounted_ms or retries) labelled
// service=… (and operation=… for GroupByServiceOperation) and measure=…,
// displayed as "<service> [<operation>] <measure>". Each trace adds
// a point at its start; traces starting in the same millisecond merge (the
// longest wait, the sum of retries). Frames are ordered by labels, then
// wait_ms, unaccounted_ms, retries. No traces give one frame without
// fields, the contract's "no data". (WaitSeriesOf adds the breakdown_*
// measures on request.)
func WaitSeries(as []*model.Analysis, by GroupBy, o Options) (data.Frames, error) {
	return WaitSeriesOf(as, by, nil, o)
}

// WaitSeriesOf is WaitSeries for some measures (nil or empty: the
// DefaultMeasures),
// still in the order of Measures; an unknown name is an error naming the
// valid ones. An alert rule selects one measure, so each of its series is
// one (service, measure).
func WaitSeriesOf(as []*model.Analysis, by GroupBy, measures []string, o Options) (data.Frames, error) {
	want := map[string]bool{}
	for _, m := range measures {
		if !slices.Contains(Measures, m) {
			return nil, fmt.Errorf("unknown measure %q: use %s", m, strings.Join(Measures, ", "))
		}
		want[m] = true
	}
	if len(want) == 0 {
		for _, m := range DefaultMeasures {
			want[m] = true
		}
	}
	if by != GroupByService && by != GroupByServiceOperation {
		return nil, fmt.Errorf("unknown groupBy %q: use %q or %q", by, GroupByService, GroupByServiceOperation)
	}
	type key struct{ service, operation string }
	type point struct {
		t                 int64 // ms since epoch
		wait, unaccounted time.Duration
		retries           int
		bd                [3]time.Duration // breakdown waiting, network, failed attempt
	}
	bdIndex := map[model.BreakdownCategory]int{model.CategoryWaiting: 0, model.CategoryNetwork: 1, model.CategoryFailedAttempt: 2}
	series := map[key][]point{}
	for _, a := range analysed(as) {
		if a.Start.IsZero() {
			continue // a trace without spans has no start to plot at
		}
		groups := a.Services
		if by == GroupByServiceOperation {
			groups = a.Operations
		}
		var bd map[key]*[3]time.Duration
		for _, r := range a.Breakdown.Rows {
			j, ok := bdIndex[r.Category]
			if !ok {
				continue
			}
			k := key{service: r.ServiceName}
			if by == GroupByServiceOperation {
				k.operation = r.Operation
			}
			if bd == nil {
				bd = map[key]*[3]time.Duration{}
			}
			if bd[k] == nil {
				bd[k] = &[3]time.Duration{}
			}
			bd[k][j] += r.Duration
		}
		for _, g := range groups {
			k := key{service: g.ServiceName}
			if by == GroupByServiceOperation {
				k.operation = g.Operation
			}
			p := point{t: a.Start.UnixMilli(), wait: g.Wait, unaccounted: g.Unaccounted, retries: g.Retries}
			if v := bd[k]; v != nil {
				p.bd = *v
			}
			series[k] = append(series[k], p)
		}
	}

	keys := make([]key, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(strings.Compare(x.service, y.service), strings.Compare(x.operation, y.operation))
	})

	frames := make(data.Frames, 0, 3*len(keys))
	for _, k := range keys {
		pts := series[k]
		slices.SortStableFunc(pts, func(x, y point) int { return cmp.Compare(x.t, y.t) })
		merged := pts[:0]
		for _, p := range pts {
			if m := len(merged) - 1; m >= 0 && merged[m].t == p.t {
				merged[m].wait = max(merged[m].wait, p.wait)
				merged[m].unaccounted = max(merged[m].unaccounted, p.unaccounted)
				merged[m].retries += p.retries
				for j := range p.bd {
					merged[m].bd[j] = max(merged[m].bd[j], p.bd[j])
				}
				continue
			}
			merged = append(merged, p)
		}
		times := make([]time.Time, len(merged))
		wait, unaccounted := make([]float64, len(merged)), make([]float64, len(merged))
		retries := make([]int64, len(merged))
		var bd [3][]float64
		for i, p := range merged {
			times[i] = time.UnixMilli(p.t).UTC()
			wait[i], unaccounted[i], retries[i] = ms(p.wait), ms(p.unaccounted), int64(p.retries)
		}
		for j := range bd {
			if !want[Measures[3+j]] {
				continue
			}
			bd[j] = make([]float64, len(merged))
			for i, p := range merged {
				bd[j][i] = ms(p.bd[j])
			}
		}
		for _, m := range Measures {
			if !want[m] {
				continue
			}
			labels := data.Labels{"service": k.service, MeasureLabel: m}
			display := k.service
			if by == GroupByServiceOperation {
				labels["operation"] = k.operation
				display += " " + k.operation
			}
			var values any
			cfg := &data.FieldConfig{DisplayNameFromDS: display + " " + m}
			switch m {
			case MeasureWait:
				values, cfg.Unit = wait, "ms"
			case MeasureUnaccounted:
				values, cfg.Unit = unaccounted, "ms"
			case MeasureBreakdownWaiting:
				values, cfg.Unit = bd[0], "ms"
			case MeasureBreakdownNetwork:
				values, cfg.Unit = bd[1], "ms"
			case MeasureBreakdownFailedAttempt:
				values, cfg.Unit = bd[2], "ms"
			default:
				values = retries
			}
			frames = append(frames, o.seriesFrame(m, times, data.NewField(m, labels, values).SetConfig(cfg)))
		}
	}
	if len(frames) == 0 {
		for _, m := range Measures {
			if want[m] {
				frames = append(frames, o.seriesFrame(m, nil, nil))
				break
			}
		}
	}
	return frames, nil
}

// seriesFrame is one timeseries-multi frame; with a nil value field it is
// the empty "no data" frame.
func (o Options) seriesFrame(name string, times []time.Time, value *data.Field) *data.Frame {
	var f *data.Frame
	if value == nil {
		f = o.newFrame(name)
	} else {
		f = o.newFrame(name, data.NewField("time", nil, times), value)
	}
	f.Meta.Type = data.FrameTypeTimeSeriesMulti
	f.Meta.TypeVersion = data.FrameTypeVersion{0, 1}
	return f
}

// AnnotationOptions choose the findings Annotations shows.
type AnnotationOptions struct {
	// MinGap is the shortest gap shown (inclusive); retries always show.
	MinGap time.Duration
	// Limit caps the rows, keeping the costliest (0: no cap).
	Limit int
}

// Annotations builds the `annotations` frame Grafana's annotation support
// reads from a backend data source. Each trace's headline (the breakdown's
// top finding) leads, as a region over the whole request (the root span),
// tagged "headline"; then one region (time, timeEnd) per gap of
// at least MinGap and per retry, titled with the service and operation, its
// text the engine's sentence (led by the unaccounted time, when there is
// some), tags a comma-separated string (Grafana splits it on commas).
// Headlines come first (by time), then rows ordered by cost: unaccounted
// time (a retry's cost), then the gap's length, then time; Limit keeps the
// first rows (so over many traces, their headlines first).
func Annotations(as []*model.Analysis, ao AnnotationOptions, o Options) *data.Frame {
	type row struct {
		start, end       time.Time
		cost, length     time.Duration
		title, text, tag string
		traceID, spanID  string
		headline         bool
	}
	var rows []row
	for _, a := range analysed(as) {
		if r := breakdownRoot(a); r >= 0 && a.Breakdown.Headline != "" {
			s := &a.Trace.Spans[r]
			rows = append(rows, row{
				start: s.Start, end: s.Start.Add(a.Breakdown.Took), headline: true,
				title: spanTitle(s), text: a.Breakdown.Headline, tag: tags("headline", s.ServiceName),
				traceID: a.Trace.TraceID, spanID: s.SpanID,
			})
		}
		for i := range a.Gaps {
			g := &a.Gaps[i]
			if g.Duration() < ao.MinGap {
				continue
			}
			s := spanAt(a, g.SpanIndex)
			text := g.Sentence
			if text == "" {
				text = fmt.Sprintf("waited %s between %q and %q", formatMs(g.Duration()), g.FromMessage, g.ToMessage)
			}
			if g.Unaccounted > 0 {
				text = formatMs(g.Unaccounted) + " unaccounted: " + text
			}
			rows = append(rows, row{
				start: g.Start, end: g.End, cost: g.Unaccounted, length: g.Duration(),
				title: spanTitle(s), text: text, tag: tags("gap", s.ServiceName),
				traceID: a.Trace.TraceID, spanID: g.SpanID,
			})
		}
		for i := range a.Retries {
			r := &a.Retries[i]
			s := spanAt(a, r.SpanIndex)
			text := r.Sentence
			if text == "" {
				text = fmt.Sprintf("%s of %q cost %s (%s)", plural(r.Count, "retry"), r.Message, formatMs(r.Cost), r.Outcome)
			}
			rows = append(rows, row{
				start: r.Start, end: r.End, cost: r.Cost, length: r.Cost,
				title: spanTitle(s), text: text, tag: tags("retry", s.ServiceName, string(r.Outcome)),
				traceID: a.Trace.TraceID, spanID: r.SpanID,
			})
		}
	}
	slices.SortStableFunc(rows, func(x, y row) int {
		return cmp.Or(
			-cmp.Compare(btoi(x.headline), btoi(y.headline)),
			cmp.Compare(y.cost, x.cost),
			cmp.Compare(y.length, x.length),
			x.start.Compare(y.start),
			strings.Compare(x.traceID, y.traceID),
			strings.Compare(x.spanID, y.spanID),
		)
	})
	if ao.Limit > 0 && len(rows) > ao.Limit {
		rows = rows[:ao.Limit]
	}
	n := len(rows)
	var (
		start, end                        = make([]time.Time, n), make([]time.Time, n)
		title, text, tag, traceID, spanID = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, r := range rows {
		start[i], end[i] = r.start, r.end
		title[i], text[i], tag[i], traceID[i], spanID[i] = r.title, r.text, r.tag, r.traceID, r.spanID
	}
	return o.newFrame("annotations",
		data.NewField("time", nil, start),
		data.NewField("timeEnd", nil, end),
		data.NewField("title", nil, title),
		data.NewField("text", nil, text),
		data.NewField("tags", nil, tag),
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks("")),
	)
}

func spanTitle(s *model.Span) string {
	return strings.TrimSpace(s.ServiceName + " " + s.Name)
}

// tags joins annotation tags with commas, dropping empty ones and commas
// inside a tag (Grafana splits the string on them).
func tags(ts ...string) string {
	out := make([]string, 0, len(ts)+1)
	out = append(out, "tracegap")
	for _, t := range ts {
		if t = strings.TrimSpace(strings.ReplaceAll(t, ",", " ")); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, ",")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
