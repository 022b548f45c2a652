package plugin

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// seedLine is what one of the seed's captured lines says.
type seedLine struct {
	time             time.Time
	stream           model.Labels
	level, message   string // level upper-case as the services write it
	traceID, spanID  string
	durationMs       int64 // 0: none stated
	service, handler string
}

// seedLines reads the seed trace's lines from the real line-filter capture.
func seedLines(t *testing.T) []seedLine {
	t.Helper()
	res, err := loki.DecodeQueryRange(fixtures.Load(t, "loki/query_range_line_filter_categorized").Body)
	if err != nil {
		t.Fatal(err)
	}
	x := correlate.NewExtractor(correlate.Options{})
	var out []seedLine
	for i := range res.Entries {
		e := &res.Entries[i]
		l := x.Extract(e)
		svc, _ := e.Stream.Get("service_name")
		out = append(out, seedLine{
			time: e.Time, stream: e.Stream, level: strings.ToUpper(l.Level), message: l.Message,
			traceID: l.TraceID, spanID: l.SpanID, durationMs: l.Stated.Milliseconds(),
			service: svc, handler: strings.ReplaceAll(svc, "-", "."),
		})
	}
	if len(out) != 21 {
		t.Fatalf("%d seed lines, want the capture's 21", len(out))
	}
	return out
}

// pyLevel is Python's level name.
func pyLevel(l string) string {
	if l == "WARN" {
		return "WARNING"
	}
	return l
}

// withDur appends " duration_ms=N" when the line states a duration.
func withDur(l seedLine, sep string) string {
	if l.durationMs == 0 {
		return ""
	}
	return sep + "duration_ms=" + strconv.FormatInt(l.durationMs, 10)
}

// seedShapes write a seed line as each library writes it (see the table
// of pkg/correlate's lineshapes_test.go for the formats' sources).
var seedShapes = []struct {
	name  string
	write func(l seedLine) string
	// full: the shape carries message, level, both ids and the stated
	// duration, so the analysis must equal the JSON version's.
	full bool
}{
	{"json", func(l seedLine) string {
		d := ""
		if l.durationMs > 0 {
			d = fmt.Sprintf(`,"duration_ms":%d`, l.durationMs)
		}
		return fmt.Sprintf(`{"timestamp":%q,"level":%q,"message":%q,"traceId":%q,"spanId":%q%s}`, l.time.UTC().Format("2006-01-02T15:04:05.000Z"), l.level, l.message, l.traceID, l.spanID, d)
	}, true},
	{"logfmt", func(l seedLine) string {
		return fmt.Sprintf(`ts=%s level=%s msg=%q trace_id=%s span_id=%s%s`, l.time.UTC().Format(time.RFC3339Nano), strings.ToLower(l.level), l.message, l.traceID, l.spanID, withDur(l, " "))
	}, true},
	{"zap console", func(l seedLine) string {
		d := ""
		if l.durationMs > 0 {
			d = fmt.Sprintf(`, "duration_ms": %d`, l.durationMs)
		}
		return fmt.Sprintf("%s\t%s\t%s/handler.go:42\t%s\t{\"service\": %q, \"trace_id\": %q, \"span_id\": %q%s}", l.time.UTC().Format("2006-01-02T15:04:05.000Z0700"), l.level, l.service, l.message, l.service, l.traceID, l.spanID, d)
	}, true},
	{"logrus text", func(l seedLine) string {
		return fmt.Sprintf(`time="%s" level=%s msg=%q%s span_id=%s trace_id=%s`, l.time.UTC().Format(time.RFC3339), strings.ToLower(pyLevel(l.level)), l.message, withDur(l, " "), l.spanID, l.traceID)
	}, true},
	{"slog text", func(l seedLine) string {
		return fmt.Sprintf(`time=%s level=%s msg=%q trace_id=%s span_id=%s%s`, l.time.UTC().Format(time.RFC3339Nano), l.level, l.message, l.traceID, l.spanID, withDur(l, " "))
	}, true},
	{"logback MDC", func(l seedLine) string {
		return fmt.Sprintf("%s [http-nio-8080-exec-1] %-5s c.e.%s.Handler [traceId=%s, spanId=%s%s] - %s", l.time.UTC().Format("2006-01-02 15:04:05.000"), l.level, l.handler, l.traceID, l.spanID, withDur(l, ", "), l.message)
	}, true},
	{"log4j2 OpenTelemetry MDC", func(l seedLine) string {
		return fmt.Sprintf("%s %-5s [main] c.e.%s.Handler trace_id=%s span_id=%s trace_flags=01%s - %s", l.time.UTC().Format("15:04:05.000"), l.level, l.handler, l.traceID, l.spanID, withDur(l, " "), l.message)
	}, true},
	{"Python logging", func(l seedLine) string {
		return fmt.Sprintf("%s - %s - %s - %s trace_id=%s span_id=%s%s", strings.Replace(l.time.UTC().Format("2006-01-02 15:04:05.000"), ".", ",", 1), l.handler, pyLevel(l.level), l.message, l.traceID, l.spanID, withDur(l, " "))
	}, false /* the edge-gateway message ends in key=value pairs, which read as fields */},
	{"Python OpenTelemetry format", func(l seedLine) string {
		return fmt.Sprintf("%s %s [%s] [app.py:42] [trace_id=%s span_id=%s resource.service.name=%s trace_sampled=True%s] - %s", strings.Replace(l.time.UTC().Format("2006-01-02 15:04:05.000"), ".", ",", 1), pyLevel(l.level), l.handler, l.traceID, l.spanID, l.service, withDur(l, " "), l.message)
	}, true},
	{"nginx access with traceparent", func(l seedLine) string {
		return fmt.Sprintf(`10.0.0.7 - - [%s] "GET /api HTTP/1.1" 200 512 "-" "curl/8.5.0" "00-%s-%s-01"`, l.time.UTC().Format("02/Jan/2006:15:04:05 -0700"), l.traceID, l.spanID)
	}, false},
	{"Loki OTLP (ids in metadata)", func(l seedLine) string { return l.message }, false},
}

// shapeLoki serves lines in Loki's categorized query_range format over
// [start, end), for both queries auto mode sends.
func shapeLoki(t *testing.T, entries []model.LogEntry) *fixtures.Server {
	t.Helper()
	return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
		end, _ := strconv.ParseInt(r.URL.Query().Get("end"), 10, 64)
		var in []model.LogEntry
		for _, e := range entries {
			if ns := e.Time.UnixNano(); ns >= start && ns < end {
				in = append(in, e)
			}
		}
		writeStreams(w, in)
	})})
}

// TestLineShapesThroughThePlugin: the seed trace with its lines in each
// shape, served by a fake Loki in the real query_range format, gives the
// same gaps, retries and span figures as the JSON version of the same
// lines; in the shapes that carry less, every line still joins its span.
func TestLineShapesThroughThePlugin(t *testing.T) {
	lines := seedLines(t)
	tempoSrv := seedTempo(t)
	var ref map[string][]map[string]any
	for _, shape := range seedShapes {
		t.Run(shape.name, func(t *testing.T) {
			entries := make([]model.LogEntry, len(lines))
			for i, l := range lines {
				entries[i] = model.LogEntry{Time: l.time, Line: shape.write(l), Stream: l.stream}
				if strings.HasPrefix(shape.name, "Loki OTLP") {
					md := model.Labels{{Name: "severity_text", Value: l.level}, {Name: "span_id", Value: l.spanID}, {Name: "trace_id", Value: l.traceID}}
					if l.durationMs > 0 {
						md = append(model.Labels{{Name: "duration_ms", Value: strconv.FormatInt(l.durationMs, 10)}}, md...)
					}
					entries[i].Metadata = md
				}
			}
			lokiSrv := shapeLoki(t, entries)
			r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(seedTraceID), captureRange)
			if r.Error != nil {
				t.Fatalf("error %v", r.Error)
			}
			logs := rows(frameOf(t, r, "logs"))
			if len(logs) != len(lines) {
				t.Fatalf("%d log rows, want %d", len(logs), len(lines))
			}
			for _, row := range logs {
				if row["spanID"] == "" || row["spanID"] == nil {
					t.Errorf("a line did not join: %v", row)
				}
			}
			for _, f := range r.Frames {
				if notes := noticeTexts(f); len(notes) != 0 {
					t.Errorf("%s: notices %q although every line joins", f.Name, notes)
					break
				}
			}
			got := map[string][]map[string]any{}
			for _, name := range []string{"gaps", "retries", "spans"} {
				got[name] = rows(frameOf(t, r, name))
			}
			if shape.name == "json" {
				ref = got
				checkSeedFindings(t, r)
				return
			}
			if !shape.full {
				return
			}
			if ref == nil {
				t.Fatal("the JSON version ran first and failed")
			}
			for _, name := range []string{"gaps", "retries", "spans"} {
				if !reflect.DeepEqual(got[name], ref[name]) {
					t.Errorf("%s frame differs from the JSON version's:\n got %v\nwant %v", name, got[name], ref[name])
				}
			}
		})
	}
}
