package demo

import (
	"math/rand/v2"
	"time"
)

// SeedStory is the seed document's trace exactly as written (and as
// fixtures/real/scenario.json sent it to real servers): the same spans,
// offsets, attributes and log lines, including the seed's inconsistencies
// (widget-service's span ends at +1300 ms while its child data-aggregator-b
// runs +1400…+1800 ms and its logs run until +1900 ms). Only the ids are
// fresh, drawn from rng, so the story can be sent again and again without
// Tempo merging the copies into one trace.
//
// The runner sends it first, so the dashboard has the golden case to show
// right away: widget-service waited 800 ms for data-aggregator-b, whose
// span covers 400 ms of it.
func SeedStory(rng *rand.Rand, start time.Time) *Trace {
	t := &Trace{TraceID: newTraceID(rng)}
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	ids := make([]string, 10) // ids[n] is seed span-n
	for n := 1; n <= 9; n++ {
		ids[n] = newSpanID(rng)
	}
	type seedSpan struct {
		n, parent      int
		service, name  string
		kind           Kind
		offset, length int
		attrs          []Attribute
	}
	http := func(path string) []Attribute {
		return []Attribute{{"http.method", "GET"}, {"http.url", path}}
	}
	for _, s := range []seedSpan{
		{1, 0, Dashboard, "GET /dashboard", KindServer, 0, 1500, http("/dashboard")},
		{2, 1, UserService, "GET /users/{id}/preferences", KindServer, 100, 250, http("/users/{id}/preferences")},
		{3, 2, UserService, "user-db.query", KindClient, 150, 100, []Attribute{{"db.type", "postgresql"}}},
		{4, 1, Widget, "GET /widgets/data", KindServer, 300, 1000, http("/widgets/data")},
		{5, 4, Widget, "widget-config-db.query", KindClient, 350, 50, []Attribute{{"db.type", "redis"}}},
		{6, 4, AggregatorA, "GET /data/aggregator-a", KindServer, 1000, 300, http("/data/aggregator-a")},
		{7, 6, AggregatorA, "metric-db-a.query", KindClient, 1100, 200, []Attribute{{"db.type", "influxdb"}}},
		{8, 4, AggregatorB, "GET /data/aggregator-b", KindServer, 1400, 400, http("/data/aggregator-b")},
		{9, 8, AggregatorB, "metric-db-b.query", KindClient, 1500, 300, []Attribute{{"db.type", "prometheus"}}},
	} {
		sp := Span{SpanID: ids[s.n], Service: s.service, Name: s.name, Kind: s.kind,
			Start: at(s.offset), End: at(s.offset + s.length), Attributes: s.attrs}
		if s.parent > 0 {
			sp.ParentID = ids[s.parent]
		}
		t.Spans = append(t.Spans, sp)
	}

	type seedLine struct {
		service  string
		span     int
		offset   int
		level    string
		message  string
		duration int // ms; 0 = the line states none
	}
	for _, l := range []seedLine{
		// Lines the captures added for dashboard-service and user-service.
		{Dashboard, 1, 0, "INFO", "Received request GET /dashboard", 0},
		{Dashboard, 1, 100, "INFO", "Fetching user preferences from user-service", 0},
		{Dashboard, 1, 300, "INFO", "Fetching widget data from widget-service", 0},
		{Dashboard, 1, 1500, "INFO", "Dashboard rendered", 1500},
		{UserService, 2, 100, "INFO", "Received request for user preferences", 0},
		{UserService, 3, 150, "DEBUG", "Executing preferences query on postgresql", 0},
		{UserService, 2, 250, "INFO", "Fetched user preferences from postgresql", 100},
		{UserService, 2, 350, "INFO", "Returning user preferences", 250},
		// The seed's own lines.
		{Widget, 4, 300, "INFO", "Received request for widget data", 0},
		{Widget, 4, 350, "INFO", "Fetched widget configurations from redis", 50},
		{Widget, 4, 400, "INFO", "Initiating call to data aggregator A", 0},
		{Widget, 4, 1000, "INFO", "Received response from data aggregator A", 300},
		{Widget, 4, 1050, "INFO", "Initiating call to data aggregator B", 0},
		{Widget, 4, 1850, "INFO", "Received response from data aggregator B", 400},
		{Widget, 4, 1900, "INFO", "Finished processing widget data", 0},
		{AggregatorB, 8, 1400, "INFO", "Received request for aggregated metrics", 0},
		{AggregatorB, 8, 1500, "INFO", "Querying prometheus", 0},
		{AggregatorB, 8, 1700, "WARN", "Prometheus query timed out after 200ms, retrying", 200},
		{AggregatorB, 8, 1900, "INFO", "Prometheus query successful on retry", 200},
		{AggregatorB, 8, 1950, "INFO", "Finished processing aggregated metrics", 0},
	} {
		line := Line{Service: l.service, Time: at(l.offset), Level: l.level, Message: l.message, SpanID: ids[l.span]}
		if l.duration > 0 {
			line.Duration, line.HasDuration = time.Duration(l.duration)*time.Millisecond, true
		}
		t.Lines = append(t.Lines, line)
	}
	t.Lines = append(t.Lines, Line{Service: EdgeGateway, Time: at(1510), Level: "INFO",
		Message: "proxied GET /dashboard upstream=dashboard-service status=200", SpanID: ids[1],
		Duration: 1510 * time.Millisecond, HasDuration: true, Logfmt: true})

	t.Facts = Facts{
		QueueA: 600 * time.Millisecond, ReturnA: -300 * time.Millisecond, // the seed's A response precedes A's span end
		QueueB: 350 * time.Millisecond, ReturnB: 50 * time.Millisecond,
		Retries: 1, EarlyEnd: true,
	}
	return t
}
