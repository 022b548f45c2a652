package frames

import (
	"fmt"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// The seed trace of docs/analysis.md, built by hand: the frames package
// must not depend on the engine, so the analysis below states the engine's
// results for the seed as the doc's tables give them.

const seedTraceID = "0af7651916cd43dd8448eb211c80319c"

var seedBase = time.Date(2026, 11, 25, 16, 36, 37, 0, time.UTC)

// at is an instant ms after the seed trace's start.
func at(ms float64) time.Time {
	return seedBase.Add(time.Duration(ms * float64(time.Millisecond)))
}

func msd(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// builder assembles a model.Analysis span by span and line by line.
type builder struct {
	a      *model.Analysis
	byID   map[string]int
	stream map[string]model.Labels
}

func newBuilder(traceID string) *builder {
	return &builder{
		a:      &model.Analysis{Trace: &model.Trace{TraceID: traceID}},
		byID:   map[string]int{},
		stream: map[string]model.Labels{},
	}
}

// span adds a span starting at startMs lasting durMs.
func (b *builder) span(id, parent, service, name string, kind model.SpanKind, startMs, durMs float64) *model.Span {
	b.a.Trace.Spans = append(b.a.Trace.Spans, model.Span{
		TraceID: b.a.Trace.TraceID, SpanID: id, ParentSpanID: parent,
		ServiceName: service, Name: name, Kind: kind,
		Start: at(startMs), End: at(startMs + durMs),
		StatusCode:         model.StatusUnset,
		ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: service}},
		ScopeName:          "tracegap-seed", ScopeVersion: "1.0.0",
	})
	b.a.Figures = append(b.a.Figures, model.SpanFigures{SelfTime: msd(durMs)})
	b.byID[id] = len(b.a.Trace.Spans) - 1
	return &b.a.Trace.Spans[len(b.a.Trace.Spans)-1]
}

func (b *builder) fig(id string) *model.SpanFigures { return &b.a.Figures[b.byID[id]] }

// line adds a log line of service at tMs for span spanID ("" for a
// trace-level line; an id not in the trace is trace-level too).
func (b *builder) line(service, spanID string, tMs float64, level, msg string, extra ...model.Label) *model.Log {
	st, ok := b.stream[service]
	if !ok {
		st = model.Labels{{Name: "service_name", Value: service}, {Name: "env", Value: "seed"}}
		b.stream[service] = st
	}
	fields := model.Labels{{Name: "level", Value: level}, {Name: "message", Value: msg}, {Name: "traceId", Value: b.a.Trace.TraceID}}
	if spanID != "" {
		fields = append(fields, model.Label{Name: "spanId", Value: spanID})
	}
	fields = append(fields, extra...)
	line := fmt.Sprintf(`{"level":%q,"message":%q,"traceId":%q,"spanId":%q}`, level, msg, b.a.Trace.TraceID, spanID)
	idx, known := b.byID[spanID]
	if !known {
		idx = -1
	}
	l := model.Log{
		Entry:   &model.LogEntry{Time: at(tMs), Line: line, Stream: st},
		TraceID: b.a.Trace.TraceID, SpanID: spanID, SpanIndex: idx,
		Message: msg, Level: lowerASCII(level), Fields: fields,
	}
	if v, ok := fields.Get("duration_ms"); ok {
		var d float64
		fmt.Sscan(v, &d)
		l.Stated, l.HasStated = msd(d), true
	}
	// GapBefore: time since the span's previous line.
	if idx >= 0 {
		for i := len(b.a.Logs) - 1; i >= 0; i-- {
			if b.a.Logs[i].SpanIndex == idx {
				l.GapBefore = l.Entry.Time.Sub(b.a.Logs[i].Entry.Time)
				break
			}
		}
		b.a.Figures[idx].LogCount++
	}
	b.a.Logs = append(b.a.Logs, l)
	return &b.a.Logs[len(b.a.Logs)-1]
}

func lowerASCII(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

func (b *builder) overlap(id string, ms float64) model.SpanOverlap {
	s := b.a.Trace.Spans[b.byID[id]]
	return model.SpanOverlap{SpanID: id, ServiceName: s.ServiceName, Operation: s.Name, Overlap: msd(ms)}
}

// gap adds a gap of span id between fromMs and toMs.
func (b *builder) gap(id string, fromMs, toMs float64, from, to string) *model.Gap {
	b.a.Gaps = append(b.a.Gaps, model.Gap{
		SpanID: id, SpanIndex: b.byID[id], Start: at(fromMs), End: at(toMs),
		FromMessage: from, ToMessage: to, Unaccounted: msd(toMs - fromMs),
	})
	return &b.a.Gaps[len(b.a.Gaps)-1]
}

// finish sets the trace-wide figures from the spans and gaps.
func (b *builder) finish() *model.Analysis {
	a := b.a
	for i, s := range a.Trace.Spans {
		if i == 0 || s.Start.Before(a.Start) {
			a.Start = s.Start
		}
		if i == 0 || s.End.After(a.End) {
			a.End = s.End
		}
	}
	services := map[string]*model.GroupFigures{}
	ops := map[[2]string]*model.GroupFigures{}
	var svcOrder []string
	var opOrder [][2]string
	for i, s := range a.Trace.Spans {
		f := a.Figures[i]
		g, ok := services[s.ServiceName]
		if !ok {
			g = &model.GroupFigures{ServiceName: s.ServiceName}
			services[s.ServiceName] = g
			svcOrder = append(svcOrder, s.ServiceName)
		}
		k := [2]string{s.ServiceName, s.Name}
		o, ok := ops[k]
		if !ok {
			o = &model.GroupFigures{ServiceName: s.ServiceName, Operation: s.Name}
			ops[k] = o
			opOrder = append(opOrder, k)
		}
		for _, g := range []*model.GroupFigures{g, o, &a.Total} {
			g.Wait += f.Wait
			g.Unaccounted += f.Unaccounted
			g.Retries += f.Retries
			g.Spans++
		}
	}
	for _, s := range svcOrder {
		a.Services = append(a.Services, *services[s])
	}
	for _, k := range opOrder {
		a.Operations = append(a.Operations, *ops[k])
	}
	return a
}

// seedAnalysis is the seed trace with the seed's own log lines (span-4 and
// span-8), two trace-level lines, a span event and a span link, and the
// engine's results from docs/analysis.md.
func seedAnalysis() *model.Analysis {
	b := newBuilder(seedTraceID)
	root := b.span("00000000000000a1", "", "dashboard-service", "GET /dashboard", model.KindServer, 0, 1500)
	root.Attributes = []model.KeyValue{{Key: "http.method", Value: "GET"}, {Key: "http.url", Value: "/dashboard"}}
	root.ResourceAttributes = append(root.ResourceAttributes, model.KeyValue{Key: "k8s.pod.restarts", Value: int64(2)})
	b.span("00000000000000a2", "00000000000000a1", "user-service", "GET /users/{id}/preferences", model.KindServer, 100, 250)
	db := b.span("00000000000000a3", "00000000000000a2", "user-service", "user-db.query", model.KindClient, 150, 100)
	db.Attributes = []model.KeyValue{{Key: "db.type", Value: "postgresql"}, {Key: "db.rows", Value: int64(12)}, {Key: "db.cached", Value: false}}
	w := b.span("00000000000000a4", "00000000000000a1", "widget-service", "GET /widgets/data", model.KindServer, 300, 1000)
	w.Events = []model.SpanEvent{{Time: at(1200), Name: "cache.miss", Attributes: []model.KeyValue{{Key: "cache.key", Value: "widgets:42"}, {Key: "ratio", Value: 0.25}}}}
	b.span("00000000000000a5", "00000000000000a4", "widget-service", "widget-config-db.query", model.KindClient, 350, 50)
	b.span("00000000000000a6", "00000000000000a4", "data-aggregator-a", "GET /data/aggregator-a", model.KindServer, 1000, 300)
	b.span("00000000000000a7", "00000000000000a6", "data-aggregator-a", "metric-db-a.query", model.KindClient, 1100, 200)
	agg := b.span("00000000000000a8", "00000000000000a4", "data-aggregator-b", "GET /data/aggregator-b", model.KindServer, 1400, 400)
	agg.Links = []model.SpanLink{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Attributes: []model.KeyValue{{Key: "link.reason", Value: "batch"}}}}
	q := b.span("00000000000000a9", "00000000000000a8", "data-aggregator-b", "metric-db-b.query", model.KindClient, 1500, 300)
	q.StatusCode, q.StatusMessage = model.StatusError, "deadline exceeded"
	q.Kind = model.KindUnspecified

	b.line("edge-gateway", "", 10, "info", "proxied GET /dashboard")
	b.line("widget-service", "00000000000000a4", 300, "INFO", "Received request for widget data")
	b.line("widget-service", "00000000000000a4", 350, "INFO", "Fetched widget configurations from redis", model.Label{Name: "duration_ms", Value: "50"})
	b.line("widget-service", "00000000000000a4", 400, "INFO", "Initiating call to data aggregator A")
	b.line("widget-service", "00000000000000a4", 1000, "INFO", "Received response from data aggregator A", model.Label{Name: "duration_ms", Value: "300"})
	b.line("widget-service", "00000000000000a4", 1050, "INFO", "Initiating call to data aggregator B")
	b.line("data-aggregator-b", "00000000000000a8", 1400, "INFO", "Received request for aggregated metrics")
	b.line("data-aggregator-b", "00000000000000a8", 1500, "INFO", "Querying prometheus")
	b.line("data-aggregator-b", "ffffffffffffffff", 1600, "WARN", "Prometheus query slow") // unknown span: trace-level
	b.line("data-aggregator-b", "00000000000000a8", 1700, "WARN", "Prometheus query timed out after 200ms, retrying", model.Label{Name: "duration_ms", Value: "200"})
	b.line("widget-service", "00000000000000a4", 1850, "INFO", "Received response from data aggregator B", model.Label{Name: "duration_ms", Value: "400"})
	b.line("widget-service", "00000000000000a4", 1900, "INFO", "Finished processing widget data")
	b.line("data-aggregator-b", "00000000000000a8", 1900, "INFO", "Prometheus query successful on retry", model.Label{Name: "duration_ms", Value: "200"})
	b.line("data-aggregator-b", "00000000000000a8", 1950, "INFO", "Finished processing aggregated metrics")
	b.a.TraceLevelLogs = 2

	g := b.gap("00000000000000a4", 400, 1000, "Initiating call to data aggregator A", "Received response from data aggregator A")
	g.Callees, g.Named = []model.SpanOverlap{b.overlap("00000000000000a6", 0)}, true
	g.OutsideTimer, g.HasStated = msd(300), true
	g.Sentence = `waited 600 ms between "Initiating call to data aggregator A" and "Received response from data aggregator A": 0 ms in data-aggregator-a GET /data/aggregator-a, 600 ms unaccounted; the call's own timer says 300 ms`
	g = b.gap("00000000000000a4", 1050, 1850, "Initiating call to data aggregator B", "Received response from data aggregator B")
	g.Callees, g.Named = []model.SpanOverlap{b.overlap("00000000000000a8", 400)}, true
	g.InCallees, g.Unaccounted, g.BeforeCallee, g.AfterCallee = msd(400), msd(400), msd(350), msd(50)
	g.OutsideTimer, g.HasStated = msd(400), true
	g.Concurrent = []model.SpanOverlap{b.overlap("00000000000000a6", 250)}
	g.Sentence = `waited 800 ms between "Initiating call to data aggregator B" and "Received response from data aggregator B": 400 ms in data-aggregator-b GET /data/aggregator-b, 400 ms unaccounted (350 ms before it started, 50 ms after it ended); the call's own timer says 400 ms; data-aggregator-a GET /data/aggregator-a ran concurrently for 250 ms`
	g = b.gap("00000000000000a8", 1400, 1500, "Received request for aggregated metrics", "Querying prometheus")
	g.Sentence = `waited 100 ms between "Received request for aggregated metrics" and "Querying prometheus": 100 ms unaccounted`
	g = b.gap("00000000000000a8", 1500, 1700, "Querying prometheus", "Prometheus query timed out after 200ms, retrying")
	g.Callees, g.InCallees, g.Unaccounted, g.HasStated = []model.SpanOverlap{b.overlap("00000000000000a9", 200)}, msd(200), 0, true
	g.Sentence = `waited 200 ms between "Querying prometheus" and "Prometheus query timed out after 200ms, retrying": 200 ms in data-aggregator-b metric-db-b.query`
	g = b.gap("00000000000000a8", 1700, 1900, "Prometheus query timed out after 200ms, retrying", "Prometheus query successful on retry")
	g.Callees, g.InCallees, g.Unaccounted, g.AfterCallee, g.HasStated = []model.SpanOverlap{b.overlap("00000000000000a9", 100)}, msd(100), msd(100), msd(100), true
	g.Sentence = `waited 200 ms between "Prometheus query timed out after 200ms, retrying" and "Prometheus query successful on retry": 100 ms in data-aggregator-b metric-db-b.query, 100 ms unaccounted (0 ms before it started, 100 ms after it ended)`

	b.a.Retries = []model.Retry{{
		SpanID: "00000000000000a8", SpanIndex: b.byID["00000000000000a8"], Source: model.RetryFromLogs,
		Count: 1, Cost: msd(200), Outcome: model.OutcomeSucceeded,
		Message: "Prometheus query timed out after 200ms, retrying", Start: at(1500), End: at(1700),
		Sentence: "retried the Prometheus query once, cost 200 ms, succeeded",
	}}

	*b.fig("00000000000000a1") = model.SpanFigures{SelfTime: msd(300), OnCriticalPath: true, Warnings: nil}
	f4 := b.fig("00000000000000a4")
	f4.SelfTime, f4.Wait, f4.Unaccounted, f4.OnCriticalPath = msd(650), msd(1400), msd(1000), true
	f4.Warnings = []string{b.a.Gaps[0].Sentence, b.a.Gaps[1].Sentence, "2 log lines after the span's end (by up to 600 ms)", "its end time looks wrong: its logs and its child span-8 run past it"}
	f8 := b.fig("00000000000000a8")
	f8.SelfTime, f8.Wait, f8.Unaccounted, f8.Retries = msd(100), msd(500), msd(200), 1
	f8.Warnings = []string{"starts after its parent GET /widgets/data ended", b.a.Gaps[2].Sentence, b.a.Gaps[3].Sentence, b.a.Gaps[4].Sentence, b.a.Retries[0].Sentence}
	f3 := b.fig("00000000000000a3")
	f3.Network, f3.HasNetwork = msd(12.5), true
	for _, id := range []string{"00000000000000a5", "00000000000000a6", "00000000000000a7"} {
		b.fig(id).OnCriticalPath = true
	}
	b.a.CriticalPath = []string{"00000000000000a1", "00000000000000a4", "00000000000000a5", "00000000000000a6", "00000000000000a7"}
	// LogCount was counted by line(); keep the root's, which finish() does not touch.
	b.fig("00000000000000a4").LogCount = 7
	b.fig("00000000000000a8").LogCount = 5
	a := b.finish()
	a.Breakdown = seedBreakdown(b)
	a.TopFinding = a.Breakdown.Headline
	a.Notices = []string{"2 log lines of this trace name no span of it"}
	return a
}

// seedBreakdown is the doc's breakdown table of the seed (its own lines).
func seedBreakdown(b *builder) model.Breakdown {
	row := func(id string, cat model.BreakdownCategory, callee, what string, msv, first float64) model.BreakdownRow {
		s := b.a.Trace.Spans[b.byID[id]]
		r := model.BreakdownRow{SpanID: id, SpanIndex: b.byID[id], ServiceName: s.ServiceName, Operation: s.Name,
			Category: cat, What: what, Duration: msd(msv), Share: msv / 1500, First: at(first)}
		if callee != "" {
			c := b.a.Trace.Spans[b.byID[callee]]
			r.CalleeSpanID, r.CalleeService, r.CalleeOperation = callee, c.ServiceName, c.Name
		}
		return r
	}
	bd := model.Breakdown{RootSpanID: "00000000000000a1", Took: msd(1500), Top: 0, Rows: []model.BreakdownRow{
		row("00000000000000a4", model.CategoryWaiting, "", `"Initiating call to data aggregator A" → "Received response from data aggregator A"`, 600, 400),
		row("00000000000000a1", model.CategorySelf, "", "", 300, 0),
		row("00000000000000a1", model.CategoryInCallee, "00000000000000a2", "user-service GET /users/{id}/preferences", 200, 100),
		row("00000000000000a7", model.CategorySelf, "", "", 200, 1100),
		row("00000000000000a6", model.CategorySelf, "", "", 100, 1000),
		row("00000000000000a4", model.CategorySelf, "", "", 50, 300),
		row("00000000000000a5", model.CategorySelf, "", "", 50, 350),
	}}
	bd.Rows[0].FromMessage, bd.Rows[0].ToMessage = "Initiating call to data aggregator A", "Received response from data aggregator A"
	bd.Headline = `GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between "Initiating call to data aggregator A" and ` +
		`"Received response from data aggregator A" with no span running; 300 ms (20%) dashboard-service's own time; ` +
		`200 ms (13%) in user-service GET /users/{id}/preferences`
	return bd
}
