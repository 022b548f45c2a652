package frames

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// Gaps builds the `gaps` table: one row per log-derived wait, in the
// engine's order (span start, span id, gap start). outsideTimerMs is null
// when the line after the gap states no duration.
func Gaps(a *model.Analysis, o Options) *data.Frame {
	var gaps []model.Gap
	if a != nil {
		gaps = a.Gaps
	}
	keep := shownGaps(a, o.maxTableRows())
	gaps = kept(gaps, keep)
	n := len(gaps)
	var (
		traceID, spanID, svc, op, from, to = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		start, end                         = make([]time.Time, n), make([]time.Time, n)
		gap, inCallees, unaccounted        = make([]float64, n), make([]float64, n), make([]float64, n)
		before, after                      = make([]float64, n), make([]float64, n)
		outside                            = make([]*float64, n)
		callees, concurrent, sentence      = make([]string, n), make([]string, n), make([]string, n)
	)
	for i := range gaps {
		g := &gaps[i]
		s := spanAt(a, g.SpanIndex)
		traceID[i], spanID[i], svc[i], op[i] = traceIDOf(a), g.SpanID, s.ServiceName, s.Name
		from[i], to[i] = g.FromMessage, g.ToMessage
		start[i], end[i] = g.Start, g.End
		gap[i], inCallees[i], unaccounted[i] = ms(g.Duration()), ms(g.InCallees), ms(g.Unaccounted)
		before[i], after[i] = ms(g.BeforeCallee), ms(g.AfterCallee)
		if g.HasStated {
			v := ms(g.OutsideTimer)
			outside[i] = &v
		}
		callees[i], concurrent[i] = describeOverlaps(g.Callees), describeOverlaps(g.Concurrent)
		sentence[i] = g.Sentence
	}
	f := o.newFrame("gaps",
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks("")),
		data.NewField("serviceName", nil, svc),
		data.NewField("operationName", nil, op),
		data.NewField("fromMessage", nil, from),
		data.NewField("toMessage", nil, to),
		data.NewField("start", nil, start),
		data.NewField("end", nil, end),
		msField("gapMs", gap),
		msField("inCalleesMs", inCallees),
		msField("unaccountedMs", unaccounted),
		msField("beforeCalleeMs", before),
		msField("afterCalleeMs", after),
		msField("outsideTimerMs", outside),
		data.NewField("callees", nil, callees),
		data.NewField("concurrent", nil, concurrent),
		data.NewField("sentence", nil, sentence),
	)
	if keep != nil {
		f.AppendNotices(Info(gapsNotice(n, len(a.Gaps))))
	}
	return f
}

// Retries builds the `retries` table: one row per retry group, in the
// engine's order; at most maxTableRows of them, the costliest.
func Retries(a *model.Analysis, o Options) *data.Frame {
	var retries []model.Retry
	if a != nil {
		retries = a.Retries
	}
	keep := shownRetries(a, o.maxTableRows())
	retries = kept(retries, keep)
	n := len(retries)
	var (
		traceID, spanID, svc, op, source = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		count                            = make([]int64, n)
		cost                             = make([]float64, n)
		outcome, message, sentence       = make([]string, n), make([]string, n), make([]string, n)
	)
	for i := range retries {
		r := &retries[i]
		s := spanAt(a, r.SpanIndex)
		traceID[i], spanID[i], svc[i], op[i] = traceIDOf(a), r.SpanID, s.ServiceName, s.Name
		source[i], count[i], cost[i] = string(r.Source), int64(r.Count), ms(r.Cost)
		outcome[i], message[i], sentence[i] = string(r.Outcome), r.Message, r.Sentence
	}
	f := o.newFrame("retries",
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks("")),
		data.NewField("serviceName", nil, svc),
		data.NewField("operationName", nil, op),
		data.NewField("source", nil, source),
		data.NewField("retries", nil, count),
		msField("costMs", cost),
		data.NewField("outcome", nil, outcome),
		data.NewField("message", nil, message),
		data.NewField("sentence", nil, sentence),
	)
	if keep != nil {
		f.AppendNotices(Info(retriesNotice(n, len(a.Retries))))
	}
	return f
}

// Spans builds the `spans` table: one row per span with its figures,
// ordered by start time (then span id); at most maxTableRows of them, those
// on the critical path first, then the most self time. networkMs is null
// for spans without measured network time.
func Spans(a *model.Analysis, o Options) *data.Frame {
	var spans []model.Span
	if a != nil && a.Trace != nil {
		spans = a.Trace.Spans
	}
	keep := shownSpans(a, o.maxTableRows())
	order := make([]int, 0, len(spans))
	for i := range spans {
		if keep == nil || keep[i] {
			order = append(order, i)
		}
	}
	n := len(order)
	sort.SliceStable(order, func(x, y int) bool {
		sx, sy := &spans[order[x]], &spans[order[y]]
		if !sx.Start.Equal(sy.Start) {
			return sx.Start.Before(sy.Start)
		}
		return sx.SpanID < sy.SpanID
	})
	var (
		spanID, svc, op             = make([]string, n), make([]string, n), make([]string, n)
		start                       = make([]time.Time, n)
		duration, self, wait, unacc = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		critical                    = make([]bool, n)
		logCount, retries           = make([]int64, n), make([]int64, n)
		network, queue              = make([]*float64, n), make([]*float64, n)
	)
	for row, i := range order {
		s := &spans[i]
		var fig model.SpanFigures
		if i < len(a.Figures) {
			fig = a.Figures[i]
		}
		spanID[row], svc[row], op[row], start[row] = s.SpanID, s.ServiceName, s.Name, s.Start
		duration[row], self[row], wait[row], unacc[row] = ms(s.Duration()), ms(fig.SelfTime), ms(fig.Wait), ms(fig.Unaccounted)
		critical[row], logCount[row], retries[row] = fig.OnCriticalPath, int64(fig.LogCount), int64(fig.Retries)
		if fig.HasNetwork {
			v := ms(fig.Network)
			network[row] = &v
		}
		if fig.HasQueue {
			v := ms(fig.Queue)
			queue[row] = &v
		}
	}
	f := o.newFrame("spans",
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks(traceIDOf(a))),
		data.NewField("serviceName", nil, svc),
		data.NewField("operationName", nil, op),
		data.NewField("start", nil, start),
		msField("durationMs", duration),
		msField("selfTimeMs", self),
		data.NewField("onCriticalPath", nil, critical),
		data.NewField("logCount", nil, logCount),
		msField("waitMs", wait),
		msField("unaccountedMs", unacc),
		msField("networkMs", network),
		data.NewField("retries", nil, retries),
		// Last, so that the fields before keep their positions; named as
		// issue 14 asks. Null for spans that are not a PRODUCER's CONSUMER.
		msField("queue_ms", queue),
	)
	if keep != nil {
		f.AppendNotices(Info(spansNotice(n, len(spans))))
	}
	return f
}

// Findings builds the `findings` table: one row per finding that is
// neither a gap nor a retry (pool: calls through a bounded pool, on their
// parent; queue: a message's time between its producer and its consumer,
// on the consumer), in the engine's order. calls and concurrency are null
// for queue rows.
func Findings(a *model.Analysis, o Options) *data.Frame {
	var fs []model.Finding
	if a != nil {
		fs = a.Findings
	}
	n := len(fs)
	var (
		traceID, spanID, svc, op, kind = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		callSvc, callOp, sentence      = make([]string, n), make([]string, n), make([]string, n)
		calls, concurrency             = make([]*int64, n), make([]*int64, n)
		duration, longest              = make([]float64, n), make([]*float64, n)
		start, end                     = make([]time.Time, n), make([]time.Time, n)
	)
	for i := range fs {
		f := &fs[i]
		s := spanAt(a, f.SpanIndex)
		traceID[i], spanID[i], svc[i], op[i], kind[i] = traceIDOf(a), f.SpanID, s.ServiceName, s.Name, f.Kind
		callSvc[i], callOp[i], sentence[i] = f.Service, f.Operation, f.Sentence
		start[i], end[i], duration[i] = f.Start, f.End, ms(f.Duration)
		if f.Kind == model.FindingPool {
			c, k, l := int64(f.Calls), int64(f.Concurrency), ms(f.Longest)
			calls[i], concurrency[i], longest[i] = &c, &k, &l
		}
	}
	return o.newFrame("findings",
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks("")),
		data.NewField("serviceName", nil, svc),
		data.NewField("operationName", nil, op),
		data.NewField("kind", nil, kind),
		data.NewField("calleeService", nil, callSvc),
		data.NewField("calleeOperation", nil, callOp),
		data.NewField("calls", nil, calls),
		data.NewField("concurrency", nil, concurrency),
		data.NewField("start", nil, start),
		data.NewField("end", nil, end),
		msField("durationMs", duration),
		msField("longestMs", longest),
		data.NewField("sentence", nil, sentence),
	)
}

// msField is a field of milliseconds, with the unit set so panels show
// "400 ms" and scale to seconds on their own.
func msField(name string, values any) *data.Field {
	return data.NewField(name, nil, values).SetConfig(&data.FieldConfig{Unit: "ms"})
}

var noSpan model.Span

// spanAt is span i of the analysis, or an empty span when i is out of range.
func spanAt(a *model.Analysis, i int) *model.Span {
	if a == nil || a.Trace == nil || i < 0 || i >= len(a.Trace.Spans) {
		return &noSpan
	}
	return &a.Trace.Spans[i]
}

func traceIDOf(a *model.Analysis) string {
	if a == nil || a.Trace == nil {
		return ""
	}
	return a.Trace.TraceID
}

// describeOverlaps names spans with their overlap for a table cell:
// "data-aggregator-b GET /data/aggregator-b (400 ms), …".
func describeOverlaps(os []model.SpanOverlap) string {
	if len(os) == 0 {
		return ""
	}
	var b strings.Builder
	for i, o := range os {
		if i > 0 {
			b.WriteString(", ")
		}
		name := strings.TrimSpace(o.ServiceName + " " + o.Operation)
		if name == "" {
			name = o.SpanID
		}
		b.WriteString(name)
		b.WriteString(" (")
		b.WriteString(formatMs(o.Overlap))
		b.WriteString(")")
	}
	return b.String()
}

// formatMs writes a duration in milliseconds to the microsecond, without
// trailing zeros: "400 ms", "0.25 ms".
func formatMs(d time.Duration) string {
	v := math.Round(ms(d)*1000) / 1000
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}
