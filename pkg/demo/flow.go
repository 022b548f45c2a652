package demo

import (
	"math/rand/v2"
	"time"
)

// The odds behind the variation. They are high enough that a minute of
// traffic at 1/s shows every kind of finding, and low enough that the
// interesting traces still stand out among ordinary ones.
const (
	// PQueueB is the chance that the call to data-aggregator-b waits in a
	// queue (150–600 ms) before the callee's span starts: the seed's story.
	PQueueB = 0.45
	// PQueueA is the same for data-aggregator-a (120–400 ms).
	PQueueA = 0.2
	// PSlowReturn is the chance that a response takes 60–200 ms to reach
	// widget-service after the callee's span ended.
	PSlowReturn = 0.15
	// PTimeout is the chance that one Prometheus attempt times out.
	PTimeout = 0.3
	// MaxAttempts is how often data-aggregator-b tries the Prometheus query.
	MaxAttempts = 3
	// PromTimeout is the per-attempt Prometheus timeout.
	PromTimeout = 200 * time.Millisecond
	// PUserDBError is the chance that the preferences query fails.
	PUserDBError = 0.05
	// PEarlyEnd is the chance of the seed's anomaly: widget-service ends its
	// span before it has called data-aggregator-b.
	PEarlyEnd = 0.08
)

// Services of the flow, as resource attribute service.name and Loki label
// service_name.
const (
	Dashboard   = "dashboard-service"
	UserService = "user-service"
	Widget      = "widget-service"
	AggregatorA = "data-aggregator-a"
	AggregatorB = "data-aggregator-b"
	EdgeGateway = "edge-gateway" // logs only: the proxy in front of dashboard-service
)

// Generate draws one dashboard request starting at start. It is a pure
// function of rng and start: the same seed gives the same trace, ids
// included.
func Generate(rng *rand.Rand, start time.Time) *Trace {
	g := &gen{rng: rng, t: &Trace{TraceID: newTraceID(rng)}}
	g.dashboard(start)
	return g.t
}

// gen builds one trace. Spans are appended parent first; a span's end is
// set once its work is known, so indexes (not pointers) refer to spans
// while the slice grows.
type gen struct {
	rng *rand.Rand
	t   *Trace
}

// between draws a whole number of milliseconds in [lo, hi].
func (g *gen) between(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Millisecond
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) span(parent int, service, name string, kind Kind, start time.Time, attrs ...Attribute) int {
	s := Span{SpanID: newSpanID(g.rng), Service: service, Name: name, Kind: kind, Start: start, End: start, Attributes: attrs}
	if parent >= 0 {
		s.ParentID = g.t.Spans[parent].SpanID
	}
	g.t.Spans = append(g.t.Spans, s)
	return len(g.t.Spans) - 1
}

func (g *gen) sp(i int) *Span { return &g.t.Spans[i] }

func (g *gen) log(span int, service string, at time.Time, level, msg string) {
	g.t.Lines = append(g.t.Lines, Line{Service: service, Time: at, Level: level, Message: msg, SpanID: g.t.Spans[span].SpanID})
}

func (g *gen) logd(span int, service string, at time.Time, level, msg string, d time.Duration) {
	g.log(span, service, at, level, msg)
	l := &g.t.Lines[len(g.t.Lines)-1]
	l.Duration, l.HasDuration = d, true
}

func (g *gen) fail(i int, msg string) {
	s := g.sp(i)
	s.Error, s.StatusMessage = true, msg
}

func httpAttrs(path string, status int64) []Attribute {
	return []Attribute{{"http.method", "GET"}, {"http.url", path}, {"http.status_code", status}}
}

func (g *gen) dashboard(start time.Time) {
	root := g.span(-1, Dashboard, "GET /dashboard", KindServer, start, httpAttrs("/dashboard", 200)...)
	g.log(root, Dashboard, start, "INFO", "Received request GET /dashboard")

	askUser := start.Add(g.between(2, 8))
	g.log(root, Dashboard, askUser, "INFO", "Fetching user preferences from user-service")
	userBack := g.userService(root, askUser.Add(g.between(1, 8))).Add(g.between(1, 8))

	// dashboard-service asks for widget data while the preferences are
	// still on their way, as in the seed (widget call at 300, user-service
	// answers at 350).
	askWidget := askUser.Add(g.between(10, 150))
	g.log(root, Dashboard, askWidget, "INFO", "Fetching widget data from widget-service")
	widgetBack, ok := g.widgetService(root, askWidget.Add(g.between(1, 8)))
	widgetBack = widgetBack.Add(g.between(1, 8))

	end := later(userBack, widgetBack).Add(g.between(5, 40))
	r := g.sp(root)
	r.End = end
	status := "200"
	if ok {
		g.logd(root, Dashboard, end, "INFO", "Dashboard rendered", end.Sub(start))
	} else {
		g.fail(root, "widget data unavailable")
		r.Attributes[2].Value = int64(502)
		status = "502"
		g.logd(root, Dashboard, end, "ERROR", "Dashboard request failed: widget data unavailable", end.Sub(start))
	}
	// The edge gateway logs when it has proxied the response; logfmt, on
	// the root span. At the root's end, so it stays inside the span.
	level := "INFO"
	if !ok {
		level = "ERROR"
	}
	g.logd(root, EdgeGateway, end, level, "proxied GET /dashboard upstream=dashboard-service status="+status, end.Sub(start))
	g.t.Lines[len(g.t.Lines)-1].Logfmt = true
}

// userService serves the preferences and returns when its span ends.
func (g *gen) userService(parent int, start time.Time) time.Time {
	us := g.span(parent, UserService, "GET /users/{id}/preferences", KindServer, start, httpAttrs("/users/{id}/preferences", 200)...)
	g.log(us, UserService, start, "INFO", "Received request for user preferences")

	qs := start.Add(g.between(2, 10))
	db := g.span(us, UserService, "user-db.query", KindClient, qs, Attribute{"db.type", "postgresql"})
	qe := qs.Add(g.between(20, 140))
	g.sp(db).End = qe
	g.log(db, UserService, qs, "DEBUG", "Executing preferences query on postgresql")
	last := qe
	if g.chance(PUserDBError) {
		g.t.Facts.UserDBError = true
		g.fail(db, "connection reset by peer")
		g.logd(db, UserService, qe, "ERROR", "Preferences query failed: connection reset by peer", qe.Sub(qs))
		last = qe.Add(g.between(1, 3))
		g.log(us, UserService, last, "WARN", "Using default preferences")
	} else {
		g.logd(us, UserService, qe, "INFO", "Fetched user preferences from postgresql", qe.Sub(qs))
	}
	end := last.Add(g.between(2, 10))
	g.sp(us).End = end
	g.logd(us, UserService, end, "INFO", "Returning user preferences", end.Sub(start))
	return end
}

// widgetService serves the widget data. It returns when its work is done
// (which is after its span's end in the EarlyEnd anomaly) and whether it
// succeeded.
func (g *gen) widgetService(parent int, start time.Time) (time.Time, bool) {
	w := g.span(parent, Widget, "GET /widgets/data", KindServer, start, httpAttrs("/widgets/data", 200)...)
	g.log(w, Widget, start, "INFO", "Received request for widget data")

	cs := start.Add(g.between(1, 5))
	cfg := g.span(w, Widget, "widget-config-db.query", KindClient, cs, Attribute{"db.type", "redis"})
	ce := cs.Add(g.between(5, 60))
	g.sp(cfg).End = ce
	g.logd(w, Widget, ce, "INFO", "Fetched widget configurations from redis", ce.Sub(cs))

	// Call A, then B, one after the other (as in the seed).
	aInit := ce.Add(g.between(1, 8))
	g.log(w, Widget, aInit, "INFO", "Initiating call to data aggregator A")
	g.t.Facts.QueueA = g.queue(PQueueA, 120, 400)
	a := g.aggregatorA(w, aInit.Add(g.t.Facts.QueueA))
	g.t.Facts.ReturnA = g.back()
	aResp := g.sp(a).End.Add(g.t.Facts.ReturnA)
	g.logd(w, Widget, aResp, "INFO", "Received response from data aggregator A", g.sp(a).Duration())

	bInit := aResp.Add(g.between(2, 10))
	g.log(w, Widget, bInit, "INFO", "Initiating call to data aggregator B")
	g.t.Facts.QueueB = g.queue(PQueueB, 150, 600)
	b, ok := g.aggregatorB(w, bInit.Add(g.t.Facts.QueueB))
	g.t.Facts.ReturnB = g.back()
	bResp := g.sp(b).End.Add(g.t.Facts.ReturnB)
	var done time.Time
	if ok {
		g.logd(w, Widget, bResp, "INFO", "Received response from data aggregator B", g.sp(b).Duration())
		done = bResp.Add(g.between(2, 10))
		g.log(w, Widget, done, "INFO", "Finished processing widget data")
	} else {
		g.logd(w, Widget, bResp, "ERROR", "Data aggregator B failed: 503 Service Unavailable", g.sp(b).Duration())
		done = bResp.Add(g.between(1, 5))
		g.fail(w, "data aggregator B unavailable")
		g.sp(w).Attributes[2].Value = int64(502)
	}

	ws := g.sp(w)
	ws.End = done
	if g.chance(PEarlyEnd) {
		// The seed's anomaly: the handler's span is ended (e.g. by a
		// middleware that stops timing when headers are flushed) after the
		// call to B was initiated but before B's span started.
		g.t.Facts.EarlyEnd = true
		end := bInit.Add(g.between(20, 120))
		if bs := g.sp(b).Start; !end.Before(bs) {
			end = bs.Add(-time.Millisecond)
		}
		ws.End = later(end, bInit.Add(time.Millisecond))
	}
	return done, ok
}

// queue draws the time a call waits before the callee's span starts.
func (g *gen) queue(p float64, lo, hi int) time.Duration {
	if g.chance(p) {
		return g.between(lo, hi)
	}
	return g.between(2, 15)
}

// back draws the time a response takes to reach the caller.
func (g *gen) back() time.Duration {
	if g.chance(PSlowReturn) {
		return g.between(60, 200)
	}
	return g.between(1, 10)
}

// aggregatorA queries InfluxDB; it writes no logs (as in the seed), so its
// span is all the plugin knows of it.
func (g *gen) aggregatorA(parent int, start time.Time) int {
	a := g.span(parent, AggregatorA, "GET /data/aggregator-a", KindServer, start, httpAttrs("/data/aggregator-a", 200)...)
	qs := start.Add(g.between(5, 30))
	q := g.span(a, AggregatorA, "metric-db-a.query", KindClient, qs, Attribute{"db.type", "influxdb"})
	qe := qs.Add(g.between(40, 260))
	g.sp(q).End = qe
	g.sp(a).End = qe.Add(g.between(2, 20))
	return a
}

// aggregatorB queries Prometheus with a per-attempt timeout and retries:
// one CLIENT span per attempt, a WARN line per retried timeout.
func (g *gen) aggregatorB(parent int, start time.Time) (int, bool) {
	b := g.span(parent, AggregatorB, "GET /data/aggregator-b", KindServer, start, httpAttrs("/data/aggregator-b", 200)...)
	g.log(b, AggregatorB, start, "INFO", "Received request for aggregated metrics")
	t := start.Add(g.between(20, 100))
	g.log(b, AggregatorB, t, "INFO", "Querying prometheus")

	ok := false
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		q := g.span(b, AggregatorB, "metric-db-b.query", KindClient, t, Attribute{"db.type", "prometheus"})
		if !g.chance(PTimeout) {
			d := g.between(30, 180)
			t = t.Add(d)
			g.sp(q).End = t
			msg := "Prometheus query successful"
			if attempt > 1 {
				msg = "Prometheus query successful on retry"
			}
			g.logd(b, AggregatorB, t, "INFO", msg, d)
			ok = true
			break
		}
		t = t.Add(PromTimeout)
		g.sp(q).End = t
		g.fail(q, "context deadline exceeded")
		if attempt == MaxAttempts {
			g.logd(b, AggregatorB, t, "ERROR", "Prometheus query failed after 3 attempts, giving up", PromTimeout)
			break
		}
		g.t.Facts.Retries++
		g.logd(b, AggregatorB, t, "WARN", "Prometheus query timed out after 200ms, retrying", PromTimeout)
		t = t.Add(g.between(0, 30)) // back-off before the next attempt
	}

	end := t.Add(g.between(2, 15))
	bs := g.sp(b)
	bs.End = end
	if ok {
		g.log(b, AggregatorB, end, "INFO", "Finished processing aggregated metrics")
	} else {
		g.t.Facts.Failed = true
		g.fail(b, "prometheus query timed out 3 times")
		bs.Attributes[2].Value = int64(503)
	}
	return b, ok
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
