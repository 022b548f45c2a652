package searchtest

import (
	"fmt"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// Order is one request of the orders service's POST /orders, for the
// comparison tests: the root span, a child "reserve stock" whose lines say
// how long it waited for a row lock, and Extra fast SQL SELECT children,
// each with Lines lines of its own.
type Order struct {
	// K numbers the request: it makes the trace and span ids.
	K     int
	Start time.Time
	// Wait is the time between "Waiting for lock behind N transactions"
	// and "Acquired lock"; 0 means the lock was taken at once (only
	// "Acquired lock" is logged).
	Wait   time.Duration
	Behind int
	// Extra SQL SELECT spans after the reservation, Lines lines each.
	Extra, Lines int
}

// OrderTraceID is the trace id of request k.
func OrderTraceID(k int) string { return fmt.Sprintf("%016x%016x", 0x5eed0000+k, 0x0dde7000+k) }

// Trace builds the request as Tempo and Loki hold it: a Spring Boot
// service logging through logstash-logback-encoder (one JSON object per
// line, trace_id and span_id in the line, no structured metadata), its
// stream labelled service_name="orders".
func (o Order) Trace() Trace {
	id := OrderTraceID(o.K)
	spanID := func(n int) string { return fmt.Sprintf("%08x%08x", 0x0a000000+o.K, n+1) }
	at := func(d time.Duration) time.Time { return o.Start.Add(d) }
	const ms = time.Millisecond

	// Layout, in ms after the start: root [0, end]; reserve stock
	// [10, 10+60+wait]: "Reserving" at 10, the lock lines from 30, "Reserved"
	// 20 ms after the lock; then the selects 2 ms each; 30 ms of the root's
	// own work at the end.
	reserveEnd := 70*ms + o.Wait
	selectsEnd := reserveEnd + time.Duration(o.Extra)*2*ms
	end := selectsEnd + 30*ms

	svc := []model.KeyValue{{Key: "service.name", Value: "orders"}, {Key: "telemetry.sdk.language", Value: "java"}}
	tr := &model.Trace{TraceID: id}
	add := func(n int, parent, name string, kind model.SpanKind, from, to time.Duration, attrs ...model.KeyValue) string {
		sid := spanID(n)
		tr.Spans = append(tr.Spans, model.Span{
			TraceID: id, SpanID: sid, ParentSpanID: parent, ServiceName: "orders", Name: name, Kind: kind,
			Start: at(from), End: at(to), StatusCode: model.StatusUnset, ResourceAttributes: svc, Attributes: attrs,
			ScopeName: "io.opentelemetry.spring-webmvc-6.0", ScopeVersion: "2.10.0-alpha",
		})
		return sid
	}
	root := add(0, "", "POST /orders", model.KindServer, 0, end, model.KeyValue{Key: "http.route", Value: "/orders"})
	reserve := add(1, root, "reserve stock", model.KindInternal, 10*ms, reserveEnd)

	var entries []model.LogEntry
	logAt := func(d time.Duration, span, logger, thread, level, msg string) {
		ts := at(d)
		levelValue := map[string]int{"INFO": 20000, "DEBUG": 10000, "WARN": 30000}[level]
		entries = append(entries, model.LogEntry{
			Time: ts,
			Line: fmt.Sprintf(`{"@timestamp":"%s","@version":"1","message":%q,"logger_name":%q,"thread_name":%q,"level":%q,"level_value":%d,"trace_id":"%s","span_id":"%s"}`,
				ts.UTC().Format("2006-01-02T15:04:05.000Z07:00"), msg, logger, thread, level, levelValue, id, span),
			Stream: model.Labels{{Name: "service_name", Value: "orders"}},
		})
	}
	thread := fmt.Sprintf("http-nio-8080-exec-%d", 1+o.K%10)
	logAt(ms, root, "com.shop.orders.OrderController", thread, "INFO", fmt.Sprintf("Received order %d for customer %d", 70000+o.K, 300+o.K%17))
	logAt(10*ms, reserve, "com.shop.orders.StockService", thread, "INFO", fmt.Sprintf("Reserving %d items of sku-%d", 1+o.K%4, 8800+o.K%9))
	if o.Wait > 0 {
		logAt(30*ms, reserve, "com.shop.orders.RowLocks", thread, "INFO", fmt.Sprintf("Waiting for lock behind %d transactions", o.Behind))
	}
	logAt(30*ms+o.Wait, reserve, "com.shop.orders.RowLocks", thread, "INFO", "Acquired lock")
	logAt(50*ms+o.Wait, reserve, "com.shop.orders.StockService", thread, "INFO", "Reserved items")
	for i := range o.Extra {
		from := reserveEnd + time.Duration(i)*2*ms
		sel := add(2+i, root, "SELECT shop.prices", model.KindClient, from, from+ms,
			model.KeyValue{Key: "db.system", Value: "mysql"}, model.KeyValue{Key: "db.operation", Value: "SELECT"})
		for j := range o.Lines {
			logAt(from+time.Duration(j)*ms/time.Duration(max(o.Lines, 1)), sel, "org.hibernate.SQL", thread, "DEBUG",
				fmt.Sprintf("select p.price from prices p where p.sku=%d /* line %d */", 8800+i, j))
		}
	}
	logAt(end-ms, root, "com.shop.orders.OrderController", thread, "INFO", fmt.Sprintf("Order %d stored", 70000+o.K))
	return Trace{Trace: tr, Entries: entries}
}
