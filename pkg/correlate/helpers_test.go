package correlate

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// Paths of the seed fixture: the package's own copy, and the real captures'
// scenario.json (pkg/internal/fixtures/testdata/real, unchanged bytes).
const (
	seedFixture   = "testdata/seed.json"
	sharedFixture = "../internal/fixtures/testdata/real/scenario.json"
)

// scenario is the subset of fixtures/real/scenario.json the tests use.
type scenario struct {
	TraceID      string     `json:"traceId"`
	NoiseTraceID string     `json:"noiseTraceId"`
	Spans        []scenSpan `json:"spans"`
	NoiseSpans   []scenSpan `json:"noiseSpans"`
	Logs         []scenLog  `json:"logs"`
}

type scenSpan struct {
	SeedID       string            `json:"seedId"`
	SpanID       string            `json:"spanId"`
	ParentSpanID *string           `json:"parentSpanId"`
	Service      string            `json:"service"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	StartUnixNs  string            `json:"startUnixNano"`
	EndUnixNs    string            `json:"endUnixNano"`
	Attributes   map[string]string `json:"attributes"`
}

type scenLog struct {
	Service  string            `json:"service"`
	TsUnixNs string            `json:"tsUnixNano"`
	SeedSpan *string           `json:"seedSpan"`
	TraceID  string            `json:"traceId"`
	Level    string            `json:"level"`
	Format   string            `json:"format"`
	Line     string            `json:"line"`
	Metadata map[string]string `json:"structuredMetadata"`
}

func loadScenario(t testing.TB, path string) *scenario {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the seed fixture %s: %v (the captures live in pkg/internal/fixtures/testdata/real)", path, err)
	}
	var sc scenario
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(sc.Spans) != 9 || len(sc.Logs) != 25 {
		t.Fatalf("%s: want 9 spans and 25 log lines, got %d and %d", path, len(sc.Spans), len(sc.Logs))
	}
	return &sc
}

func unixNs(t testing.TB, s string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad unix nanos %q: %v", s, err)
	}
	return time.Unix(0, n).UTC()
}

// trace builds the main trace as pkg/tempo would: normalised ids, kinds
// lower-case, resource service.name.
func (sc *scenario) trace(t testing.TB) *model.Trace {
	tr := &model.Trace{TraceID: sc.TraceID}
	for _, s := range sc.Spans {
		sp := model.Span{
			TraceID:      sc.TraceID,
			SpanID:       s.SpanID,
			ServiceName:  s.Service,
			Name:         s.Name,
			Kind:         model.SpanKind(strings.ToLower(s.Kind)),
			Start:        unixNs(t, s.StartUnixNs),
			End:          unixNs(t, s.EndUnixNs),
			StatusCode:   model.StatusUnset,
			ScopeName:    "gap-demo-fixtures",
			ScopeVersion: "1.0.0",
		}
		if s.ParentSpanID != nil {
			sp.ParentSpanID = *s.ParentSpanID
		}
		keys := make([]string, 0, len(s.Attributes))
		for k := range s.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sp.Attributes = append(sp.Attributes, model.KeyValue{Key: k, Value: s.Attributes[k]})
		}
		sp.ResourceAttributes = []model.KeyValue{{Key: "service.name", Value: s.Service}}
		tr.Spans = append(tr.Spans, sp)
	}
	return tr
}

// entries returns the log lines keep accepts as a categorized Loki response
// would carry them: the stream label service_name, and structured metadata
// trace_id, span_id and the detected_level Loki adds.
func (sc *scenario) entries(t testing.TB, keep func(scenLog) bool) []model.LogEntry {
	var out []model.LogEntry
	for _, l := range sc.Logs {
		if !keep(l) {
			continue
		}
		md := model.Labels{{Name: "detected_level", Value: strings.ToLower(l.Level)}}
		for k, v := range l.Metadata {
			md = append(md, model.Label{Name: k, Value: v})
		}
		slices.SortFunc(md, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, model.LogEntry{
			Time:     unixNs(t, l.TsUnixNs),
			Line:     l.Line,
			Stream:   model.Labels{{Name: "service_name", Value: l.Service}},
			Metadata: md,
		})
	}
	return out
}

// seedOnly keeps the seed document's own lines (widget-service on span-4,
// data-aggregator-b on span-8).
func seedOnly(l scenLog) bool {
	return l.SeedSpan != nil && (*l.SeedSpan == "span-4" || *l.SeedSpan == "span-8")
}

// mainTrace keeps the 21 lines of the main trace.
func mainTrace(l scenLog) bool { return l.SeedSpan != nil }

func all(scenLog) bool { return true }

// ---- small builders for table tests ----

const testTraceID = "0af7651916cd43dd8448eb211c80319c"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms float64) time.Time { return t0.Add(msd(ms)) }

// msd is ms milliseconds as a Duration.
func msd(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// sp describes a span for mkTrace; times in ms after t0.
type sp struct {
	id, parent, svc, op string
	start, end          float64
	kind                model.SpanKind
	status              model.StatusCode
	attrs               []model.KeyValue
	links               []string // span ids of this trace the span links to
}

func mkTrace(spans ...sp) *model.Trace {
	tr := &model.Trace{TraceID: testTraceID}
	for _, s := range spans {
		tr.Spans = append(tr.Spans, model.Span{
			TraceID: testTraceID, SpanID: s.id, ParentSpanID: s.parent,
			ServiceName: s.svc, Name: s.op, Kind: s.kind,
			Start: at(s.start), End: at(s.end), StatusCode: s.status, Attributes: s.attrs,
		})
		for _, l := range s.links {
			tr.Spans[len(tr.Spans)-1].Links = append(tr.Spans[len(tr.Spans)-1].Links, model.SpanLink{TraceID: testTraceID, SpanID: l})
		}
	}
	return tr
}

// jl is a JSON log line of span spanID at ms; kv adds "key", value pairs
// (values written as JSON strings unless they parse as numbers).
func jl(spanID string, ms float64, msg string, kv ...string) model.LogEntry {
	var b strings.Builder
	fmt.Fprintf(&b, `{"message":%q,"traceId":%q`, msg, testTraceID)
	if spanID != "" {
		fmt.Fprintf(&b, `,"spanId":%q`, spanID)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if _, err := strconv.ParseFloat(kv[i+1], 64); err == nil {
			fmt.Fprintf(&b, `,%q:%s`, kv[i], kv[i+1])
		} else {
			fmt.Fprintf(&b, `,%q:%q`, kv[i], kv[i+1])
		}
	}
	b.WriteString("}")
	return model.LogEntry{Time: at(ms), Line: b.String(), Stream: model.Labels{{Name: "service_name", Value: "svc"}}}
}

// spanIDs returns the span ids of callees or concurrent spans.
func spanIDs(os []model.SpanOverlap) []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.SpanID)
	}
	return ids
}

// pad16 writes a short test span id the way the engine normalises it.
func pad16(id string) string {
	n, _ := model.NormalizeSpanID(id)
	return n
}
