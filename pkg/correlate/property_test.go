package correlate

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/internal/parts"
	"github.com/tracegap/correlator/pkg/model"
)

// byteSource turns fuzz input into decisions; once the input is used up it
// answers zero, so every input builds some trace.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) next() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

// intn returns a number in [0, n).
func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := int(s.next())
	if n > 256 {
		v = v<<8 | int(s.next())
	}
	return v % n
}

var (
	randServices = []string{"web", "api", "billing-service", "db", "data-aggregator-b", ""}
	randOps      = []string{"GET /", "POST /charge", "query", "GET /data/aggregator-b", "x", ""}
	randMessages = []string{
		"Initiating call to billing service", "Received response from billing service", "Querying db",
		"query timed out, retrying", "attempt 2 failed", "attempt 1 of 3", "done", "", "  ", "Calling data aggregator B",
		"Received response from data aggregator B", "will retry", "weird \"quoted\" \x01 text",
	}
	randLevels = []string{"", "INFO", "warn", "ERROR", "debug", "fatal", "W"}
)

// buildCase builds a trace and entries from decisions, bad data included:
// duplicate and non-hex ids, missing parents, parent loops, spans that end
// before they start, zero durations, entries of other traces, without ids,
// with 16-hex or upper-case ids, malformed lines.
func buildCase(src *byteSource, maxSpans, maxLogs int) (*model.Trace, []model.LogEntry) {
	n := src.intn(maxSpans + 1)
	tr := &model.Trace{TraceID: testTraceID}
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%016x", 0xa0+i)
		switch src.intn(20) {
		case 0:
			if i > 0 {
				ids[i] = ids[src.intn(i)] // duplicate
			}
		case 1:
			ids[i] = "not-hex"
		case 2:
			ids[i] = strings.ToUpper(ids[i][10:]) // short and upper-case
		}
	}
	for i := range n {
		start := float64(src.intn(1000)) - 50
		d := float64(src.intn(600))
		s := model.Span{
			TraceID: testTraceID, SpanID: ids[i],
			ServiceName: randServices[src.intn(len(randServices))], Name: randOps[src.intn(len(randOps))],
			Kind:  []model.SpanKind{model.KindServer, model.KindClient, model.KindInternal, ""}[src.intn(4)],
			Start: at(start), End: at(start + d),
		}
		switch src.intn(20) {
		case 0:
			s.End = at(start - d) // ends before it starts
		case 1:
			s.End = s.Start
		}
		if src.intn(8) == 0 {
			s.StatusCode = model.StatusError
		}
		switch k := src.intn(20); {
		case i == 0 || k == 0:
		case k == 1:
			s.ParentSpanID = "00000000000000ff" // missing
		case k == 2:
			s.ParentSpanID = ids[src.intn(n)] // any span: loops possible
		default:
			s.ParentSpanID = ids[src.intn(i)]
		}
		tr.Spans = append(tr.Spans, s)
	}
	m := src.intn(maxLogs + 1)
	entries := make([]model.LogEntry, 0, m)
	for range m {
		tid := testTraceID
		switch src.intn(20) {
		case 0:
			tid = "4bf92f3577b34da6a3ce929d0e0e4736"
		case 1:
			tid = ""
		case 2:
			tid = strings.ToUpper(testTraceID[16:]) // 64-bit form: a different trace
		}
		sid := ""
		if n > 0 {
			sid = ids[src.intn(n)]
		}
		switch src.intn(10) {
		case 0:
			sid = ""
		case 1:
			sid = "00000000000000fe"
		}
		msg := randMessages[src.intn(len(randMessages))]
		level := randLevels[src.intn(len(randLevels))]
		e := model.LogEntry{Time: at(float64(src.intn(1300)) - 100)}
		switch src.intn(5) {
		case 0:
			e.Line = fmt.Sprintf("level=%s msg=%q trace_id=%s span_id=%s duration_ms=%d", level, msg, tid, sid, src.intn(400))
		case 1:
			e.Line = msg
			e.Metadata = model.Labels{{Name: "trace_id", Value: tid}, {Name: "span_id", Value: sid}, {Name: "detected_level", Value: level}}
		case 2:
			e.Line = fmt.Sprintf(`{"message":%q,"traceId":%q,"spanId":%q,"level":%q`, msg, tid, sid, level) // cut short
		default:
			e.Line = fmt.Sprintf(`{"message":%q,"traceId":%q,"spanId":%q,"level":%q,"duration":"%dms"}`, msg, tid, sid, level, src.intn(400))
		}
		e.Stream = model.Labels{{Name: "service_name", Value: "svc"}}
		entries = append(entries, e)
	}
	return tr, entries
}

// checkInvariants checks what must hold for any input.
func checkInvariants(t *testing.T, tr *model.Trace, entries []model.LogEntry, a *model.Analysis, minGap time.Duration) {
	t.Helper()
	if len(a.Figures) != len(tr.Spans) {
		t.Fatalf("%d figures for %d spans", len(a.Figures), len(tr.Spans))
	}
	// Every entry is in a span, trace-level, or another trace's.
	if len(a.Logs)+a.OtherTraceLogs != len(entries) {
		t.Errorf("%d logs + %d of other traces != %d entries", len(a.Logs), a.OtherTraceLogs, len(entries))
	}
	traceLevel, perSpan := 0, make([]int, len(tr.Spans))
	for k, l := range a.Logs {
		switch {
		case l.SpanIndex == -1:
			traceLevel++
		case l.SpanIndex < 0 || l.SpanIndex >= len(tr.Spans):
			t.Fatalf("log %d: span index %d out of range", k, l.SpanIndex)
		default:
			perSpan[l.SpanIndex]++
			if id, _ := model.NormalizeSpanID(tr.Spans[l.SpanIndex].SpanID); id != l.SpanID {
				t.Errorf("log %d joined to span %q but carries %q", k, tr.Spans[l.SpanIndex].SpanID, l.SpanID)
			}
		}
		if k > 0 && l.Entry.Time.Before(a.Logs[k-1].Entry.Time) {
			t.Errorf("logs out of time order at %d", k)
		}
	}
	if traceLevel != a.TraceLevelLogs {
		t.Errorf("%d logs without a span, TraceLevelLogs says %d", traceLevel, a.TraceLevelLogs)
	}
	for i, f := range a.Figures {
		if f.LogCount != perSpan[i] {
			t.Errorf("span %d: LogCount %d, %d joined", i, f.LogCount, perSpan[i])
		}
		d := max(0, tr.Spans[i].Duration())
		if f.SelfTime < 0 || f.SelfTime > d {
			t.Errorf("span %d: self time %v outside [0, %v]", i, f.SelfTime, d)
		}
		for _, w := range f.Warnings {
			if w == "" || strings.Contains(w, "%!") {
				t.Errorf("span %d: bad warning %q", i, w)
			}
		}
	}
	// Gaps: in callees + unaccounted = gap; the figures are their sums.
	wait, unacc := make([]time.Duration, len(tr.Spans)), make([]time.Duration, len(tr.Spans))
	for k, g := range a.Gaps {
		d := g.Duration()
		if g.InCallees+g.Unaccounted != d {
			t.Errorf("gap %d: %v in callees + %v unaccounted != %v", k, g.InCallees, g.Unaccounted, d)
		}
		if d < minGap || g.InCallees < 0 || g.InCallees > d || g.BeforeCallee < 0 || g.AfterCallee < 0 ||
			g.BeforeCallee+g.AfterCallee > g.Unaccounted || g.OutsideTimer < 0 || g.OutsideTimer > d {
			t.Errorf("gap %d out of bounds: %+v", k, g)
		}
		for _, c := range append(slices.Clone(g.Callees), g.Concurrent...) {
			if c.Overlap < 0 || c.Overlap > d {
				t.Errorf("gap %d: overlap %v of %s outside [0, %v]", k, c.Overlap, c.SpanID, d)
			}
		}
		if g.Sentence == "" || !slices.Contains(a.Figures[g.SpanIndex].Warnings, g.Sentence) {
			t.Errorf("gap %d: sentence missing from its span", k)
		}
		wait[g.SpanIndex] += d
		unacc[g.SpanIndex] += g.Unaccounted
	}
	var total model.GroupFigures
	for i, f := range a.Figures {
		if f.Wait != wait[i] || f.Unaccounted != unacc[i] {
			t.Errorf("span %d: wait %v unaccounted %v, gaps sum to %v %v", i, f.Wait, f.Unaccounted, wait[i], unacc[i])
		}
		total.Wait += f.Wait
		total.Unaccounted += f.Unaccounted
		total.Retries += f.Retries
		total.Spans++
	}
	if a.Total != total {
		t.Errorf("total %+v, spans sum to %+v", a.Total, total)
	}
	var svc model.GroupFigures
	for _, g := range a.Services {
		svc.Wait += g.Wait
		svc.Unaccounted += g.Unaccounted
		svc.Retries += g.Retries
		svc.Spans += g.Spans
	}
	if svc != total {
		t.Errorf("services sum to %+v, total %+v", svc, total)
	}
	for k, r := range a.Retries {
		if r.Count < 1 || r.Cost < 0 || r.SpanIndex < 0 || r.SpanIndex >= len(tr.Spans) || r.Sentence == "" {
			t.Errorf("retry %d out of bounds: %+v", k, r)
		}
	}
	// The breakdown adds up to its root's duration, whatever the data.
	var sum time.Duration
	for k, r := range a.Breakdown.Rows {
		if r.Duration <= 0 || r.SpanIndex < 0 || r.SpanIndex >= len(tr.Spans) {
			t.Errorf("breakdown row %d out of bounds: %+v", k, r)
		}
		sum += r.Duration
	}
	if len(a.Breakdown.Rows) > 0 && sum != a.Breakdown.Took || a.Breakdown.Took < 0 {
		t.Errorf("breakdown rows sum to %v, took %v", sum, a.Breakdown.Took)
	}
	seen := map[string]bool{}
	for _, id := range a.CriticalPath {
		if seen[id] {
			t.Errorf("span %s twice on the critical path", id)
		}
		seen[id] = true
	}
}

// TestProperties runs random traces, bad data included, through Analyze
// and checks the invariants; and that the result is deterministic.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 4242))
	for trial := range 400 {
		b := make([]byte, 4096)
		for k := range b {
			b[k] = byte(rng.UintN(256))
		}
		tr, entries := buildCase(&byteSource{b: b}, 30, 120)
		a := Analyze(tr, entries, Options{})
		checkInvariants(t, tr, entries, a, DefaultMinGap)
		if again := Analyze(tr, entries, Options{}); !reflect.DeepEqual(a, again) {
			t.Fatalf("trial %d: two analyses of the same input differ", trial)
		}
		if t.Failed() {
			t.Fatalf("trial %d failed", trial)
		}
	}
}

// TestParallelDeterminism checks that splitting the work among cores does
// not change the result: one core and all cores give the same analysis.
func TestParallelDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	b := make([]byte, 1<<16)
	for k := range b {
		b[k] = byte(rng.UintN(256))
	}
	tr, entries := buildCase(&byteSource{b: b}, 200, 6000)
	for len(entries) < 3*parts.MinItems { // enough entries for several workers
		more := slices.Clone(entries)
		entries = append(entries, more...)
	}
	many := Analyze(tr, entries, Options{})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := Analyze(tr, entries, Options{})
	if !reflect.DeepEqual(many, one) {
		t.Fatal("the analysis depends on the number of cores")
	}
	checkInvariants(t, tr, entries, one, DefaultMinGap)
}

// TestAbsurdTimes feeds zero and far-apart instants, which overflow int64
// nanoseconds: nothing may panic, and the invariants still hold.
func TestAbsurdTimes(t *testing.T) {
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &model.Trace{TraceID: testTraceID, Spans: []model.Span{
		{SpanID: "a1", Start: time.Time{}, End: far},
		{SpanID: "a2", ParentSpanID: "a1", Start: at(0), End: far},
		{SpanID: "a3", ParentSpanID: "a1", Start: far, End: time.Time{}},
		{SpanID: "a4", ParentSpanID: "a2", Start: time.Time{}, End: time.Time{}},
	}}
	entries := []model.LogEntry{jl("a1", 0, "now"), jl("a2", 5, "retrying"), jl("a1", 10, "later")}
	entries = append(entries, model.LogEntry{Line: `{"traceId":"` + testTraceID + `","spanId":"a1","message":"zero time"}`})
	far1 := jl("a2", 0, "far")
	far1.Time = far
	entries = append(entries, far1)
	a := Analyze(tr, entries, Options{})
	checkInvariants(t, tr, entries, a, DefaultMinGap)
	b := Analyze(&model.Trace{TraceID: testTraceID}, entries, Options{})
	checkInvariants(t, &model.Trace{TraceID: testTraceID}, entries, b, DefaultMinGap)
}
