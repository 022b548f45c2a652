package correlate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// The ids of every line-shape row: a W3C trace and its span.
const (
	shapeTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	shapeSpan  = "00f067aa0ba902b7"
	shapeMsg   = "Waiting for lock behind 3 transactions"
)

// lineShapeRow is one row: a line exactly as the named software writes it,
// and what the engine must read from it.
type lineShapeRow struct {
	name     string
	line     string
	metadata model.Labels // structured metadata, for Loki's OTLP ingestion
	stream   model.Labels
	trace    string // "" when the line carries none
	span     string
	message  string // shapeMsg unless set
	level    string
	wrap     bool // also test it inside Docker json-file and CRI wrappers
}

// lineShapeRows are written from the libraries' documented formats (their
// default encoders and the patterns their documentation shows), with
// trace_id/span_id as the OpenTelemetry bridges of each name them.
var lineShapeRows = []lineShapeRow{
	{
		name:  "JSON (logstash-logback-encoder)",
		line:  `{"@timestamp":"2026-11-25T16:36:38.850Z","@version":"1","message":"` + shapeMsg + `","logger_name":"com.example.ledger.LockManager","thread_name":"http-nio-8080-exec-1","level":"WARN","level_value":30000,"traceId":"` + shapeTrace + `","spanId":"` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "logfmt (go-kit log)",
		line:  `ts=2026-11-25T16:36:38.850Z caller=lock.go:88 level=warn msg="` + shapeMsg + `" trace_id=` + shapeTrace + ` span_id=` + shapeSpan,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "zap production JSON",
		line:  `{"level":"warn","ts":1764088598.8501234,"caller":"lockmgr/lock.go:88","msg":"` + shapeMsg + `","trace_id":"` + shapeTrace + `","span_id":"` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "zap console (development config)",
		line:  "2026-11-25T16:36:38.850Z\tWARN\tlockmgr/lock.go:88\t" + shapeMsg + "\t" + `{"service": "ledger", "trace_id": "` + shapeTrace + `", "span_id": "` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "zap console (production config: epoch time, named logger)",
		line:  "1.7640885988501234e+09\twarn\tlockmgr/lock.go:88\t" + shapeMsg + "\t" + `{"trace_id": "` + shapeTrace + `", "span_id": "` + shapeSpan + `", "waiters": 3}`,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "zap console: the text before the fields is all message, '=' and all",
		line:  "2026-11-25T16:36:38.850Z\tINFO\tproxy/proxy.go:120\tproxied GET /dashboard upstream=dashboard-service status=200\t" + `{"trace_id": "` + shapeTrace + `", "span_id": "` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "info", wrap: true,
		message: "proxied GET /dashboard upstream=dashboard-service status=200",
	},
	{
		name:  "a sentence that starts with a level-like word has no level",
		line:  "Error budget exceeded trace_id=" + shapeTrace + " span_id=" + shapeSpan,
		trace: shapeTrace, span: shapeSpan, wrap: true,
		message: "Error budget exceeded",
	},
	{
		name:  "logrus text formatter (fields sorted)",
		line:  `time="2026-11-25T16:36:38Z" level=warning msg="` + shapeMsg + `" span_id=` + shapeSpan + ` trace_id=` + shapeTrace,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "logrus text formatter on a terminal",
		line:  "WARN[0042] " + shapeMsg + "                 span_id=" + shapeSpan + " trace_id=" + shapeTrace,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "logrus JSON formatter",
		line:  `{"level":"warning","msg":"` + shapeMsg + `","span_id":"` + shapeSpan + `","time":"2026-11-25T16:36:38Z","trace_id":"` + shapeTrace + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "Python logging, the cookbook's format, ids appended",
		line:  "2026-11-25 16:36:38,850 - ledger.locks - WARNING - " + shapeMsg + " trace_id=" + shapeTrace + " span_id=" + shapeSpan,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "Python logging.basicConfig default format, ids appended",
		line:  "WARNING:ledger.locks:" + shapeMsg + " trace_id=" + shapeTrace + " span_id=" + shapeSpan,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "Python OpenTelemetry logging instrumentation default format",
		line:  "2026-11-25 16:36:38,850 WARNING [ledger.locks] [locks.py:42] [trace_id=" + shapeTrace + " span_id=" + shapeSpan + " resource.service.name=ledger trace_sampled=True] - " + shapeMsg,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "Python logging with a JSON extra after the text",
		line:  "2026-11-25 16:36:38,850 WARNING ledger.locks " + shapeMsg + ` {"trace_id": "` + shapeTrace + `", "span_id": "` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warning", wrap: true,
	},
	{
		name:  "logback MDC pattern [traceId=…, spanId=…]",
		line:  "2026-11-25 16:36:38.850 [http-nio-8080-exec-1] WARN  c.e.ledger.LockManager [traceId=" + shapeTrace + ", spanId=" + shapeSpan + "] - " + shapeMsg,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "logback MDC pattern [traceId=… spanId=…] before the logger",
		line:  "16:36:38.850 [http-nio-8080-exec-1] [traceId=" + strings.ToUpper(shapeTrace) + " spanId=" + strings.ToUpper(shapeSpan) + "] WARN  c.e.ledger.LockManager - " + shapeMsg,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "log4j2 pattern with the OpenTelemetry agent's MDC keys",
		line:  "16:36:38.850 WARN  [http-nio-8080-exec-1] c.e.ledger.LockManager trace_id=" + shapeTrace + " span_id=" + shapeSpan + " trace_flags=01 - " + shapeMsg,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "log4j2 %X (the whole MDC map)",
		line:  "2026-11-25 16:36:38,850 WARN [main] c.e.ledger.LockManager {span_id=" + shapeSpan + ", trace_flags=01, trace_id=" + shapeTrace + "} " + shapeMsg,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "Spring Boot 3 console with its correlation id (ids only as [trace-span])",
		line:  "2026-11-25T16:36:38.850Z  WARN 4242 --- [ledger] [nio-8080-exec-1] [" + shapeTrace + "-" + shapeSpan + "] c.e.ledger.LockManager           : " + shapeMsg,
		level: "warn", wrap: true,
	},
	{
		name:  "Go slog TextHandler",
		line:  `time=2026-11-25T16:36:38.850Z level=WARN msg="` + shapeMsg + `" trace_id=` + shapeTrace + ` span_id=` + shapeSpan,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "Go slog JSONHandler",
		line:  `{"time":"2026-11-25T16:36:38.850123456Z","level":"WARN","msg":"` + shapeMsg + `","trace_id":"` + shapeTrace + `","span_id":"` + shapeSpan + `"}`,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "Go slog default handler (through package log)",
		line:  "2026/11/25 16:36:38 WARN " + shapeMsg + " trace_id=" + shapeTrace + " span_id=" + shapeSpan,
		trace: shapeTrace, span: shapeSpan, level: "warn", wrap: true,
	},
	{
		name:  "nginx access log with $http_traceparent",
		line:  `10.0.0.7 - - [25/Nov/2026:16:36:38 +0000] "GET /api/ledger HTTP/1.1" 200 512 "-" "curl/8.5.0" "00-` + shapeTrace + `-` + shapeSpan + `-01"`,
		trace: shapeTrace, span: shapeSpan, wrap: true,
		message: `10.0.0.7 - - [25/Nov/2026:16:36:38 +0000] "GET /api/ledger HTTP/1.1" 200 512 "-" "curl/8.5.0" "00-` + shapeTrace + `-` + shapeSpan + `-01"`,
	},
	{
		name:  "envoy access log with %REQ(TRACEPARENT)%",
		line:  `[2026-11-25T16:36:38.850Z] "GET /api/ledger HTTP/1.1" 200 - 0 512 12 11 "-" "curl/8.5.0" "7c1f0a52-4b8e-4a57-9a57-6c1d2e3f4a5b" "ledger:8080" "10.0.0.9:8080" traceparent=00-` + strings.ToUpper(shapeTrace) + `-` + shapeSpan + `-01`,
		trace: shapeTrace, span: shapeSpan, wrap: true,
		message: `[2026-11-25T16:36:38.850Z] "GET /api/ledger HTTP/1.1" 200 - 0 512 12 11 "-" "curl/8.5.0" "7c1f0a52-4b8e-4a57-9a57-6c1d2e3f4a5b" "ledger:8080" "10.0.0.9:8080"`,
	},
	{
		name:     "OpenTelemetry through Loki's OTLP ingestion (body, ids and severity in metadata)",
		line:     shapeMsg,
		metadata: model.Labels{{Name: "observed_timestamp", Value: "1764088598850123456"}, {Name: "severity_number", Value: "13"}, {Name: "severity_text", Value: "WARN"}, {Name: "span_id", Value: shapeSpan}, {Name: "trace_id", Value: shapeTrace}},
		stream:   model.Labels{{Name: "service_name", Value: "ledger"}},
		trace:    shapeTrace, span: shapeSpan, level: "warn",
	},
	{
		name:     "OpenTelemetry through Loki's OTLP ingestion, severity_number only",
		line:     shapeMsg,
		metadata: model.Labels{{Name: "severity_number", Value: "17"}, {Name: "span_id", Value: shapeSpan}, {Name: "trace_id", Value: shapeTrace}},
		stream:   model.Labels{{Name: "service_name", Value: "ledger"}},
		trace:    shapeTrace, span: shapeSpan, level: "error",
	},
}

// dockerWrap writes a line as Docker's json-file driver does.
func dockerWrap(line string) string {
	b, _ := json.Marshal(struct {
		Log    string `json:"log"`
		Stream string `json:"stream"`
		Time   string `json:"time"`
	}{line + "\n", "stdout", "2026-11-25T16:36:38.850123456Z"})
	return string(b)
}

// criWrap writes a line as containerd and CRI-O do.
func criWrap(line string) string {
	return "2026-11-25T16:36:38.850123456Z stdout F " + line
}

func TestLineShapes(t *testing.T) {
	x := NewExtractor(Options{})
	for _, row := range lineShapeRows {
		variants := map[string]string{"": row.line}
		if row.wrap {
			variants["/docker"] = dockerWrap(row.line)
			variants["/cri"] = criWrap(row.line)
		}
		for suffix, line := range variants {
			t.Run(row.name+suffix, func(t *testing.T) {
				e := model.LogEntry{Time: time.Unix(0, 1), Line: line, Metadata: row.metadata, Stream: row.stream}
				l := x.Extract(&e)
				want := row.message
				if want == "" {
					want = shapeMsg
				}
				if l.TraceID != row.trace || l.SpanID != row.span {
					t.Errorf("ids %q/%q, want %q/%q", l.TraceID, l.SpanID, row.trace, row.span)
				}
				if l.Message != want {
					t.Errorf("message %q, want %q", l.Message, want)
				}
				if l.Level != row.level {
					t.Errorf("level %q, want %q", l.Level, row.level)
				}
			})
		}
	}
}
