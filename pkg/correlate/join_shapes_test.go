package correlate

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate/synth"
	"github.com/tracegap/correlator/pkg/model"
)

// spanOf lists the span id each kept log joined ("" for trace-level).
func spanOf(a *model.Analysis) []string {
	var got []string
	for _, l := range a.Logs {
		if l.SpanIndex < 0 {
			got = append(got, "")
		} else {
			got = append(got, a.Trace.Spans[l.SpanIndex].SpanID)
		}
	}
	return got
}

func textEntry(ms float64, line string) model.LogEntry {
	return model.LogEntry{Time: at(ms), Line: line, Stream: model.Labels{{Name: "service_name", Value: "ledger"}}}
}

func TestKnownIDFallback(t *testing.T) {
	const (
		s1    = "00f067aa0ba902b7"
		s2    = "b7ad6b7169203331"
		other = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	tr := mkTrace(sp{id: s1, start: 0, end: 1000}, sp{id: s2, parent: s1, start: 100, end: 900})
	tests := []struct {
		name, line string
		span       string // "" trace-level, "-" dropped (another trace)
	}{
		{"Spring Boot's [trace-span] correlation id", "2026-11-25T16:36:38.850Z  WARN 4242 --- [ledger] [nio-8080-exec-1] [" + testTraceID + "-" + s1 + "] c.e.Lock : waiting", s1},
		{"upper-case id standing alone", "span " + strings.ToUpper(s2) + " done", s2},
		{"id in quotes", `finished "` + s2 + `"`, s2},
		{"id inside a longer hex run", "digest 1234" + s1 + " computed", ""},
		{"id followed by more hex", "digest " + s1 + "ff computed", ""},
		{"id joined to a letter", "ref x" + s1, ""},
		{"a shortened id (15 digits)", "span " + s1[1:] + " done", ""},
		{"an id-like token of 17 digits", "span 0" + s1 + " done", ""},
		{"the span id as the low half of a 32-digit id", "trace 4bf92f3577b34da6" + s1 + " done", ""},
		{"another trace's line naming our span is not ours", `{"traceId":"` + other + `","message":"span ` + s1 + `"}`, "-"},
		{"a named span wins over an id in the text", `{"traceId":"` + testTraceID + `","spanId":"00000000000000ff","message":"parent ` + s1 + `"}`, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(tr, []model.LogEntry{textEntry(float64(10+i), tc.line)}, Options{})
			got := spanOf(a)
			want := []string{tc.span}
			if tc.span == "-" {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Errorf("joined %q, want %q", got, want)
			}
		})
	}
	a := Analyze(tr, []model.LogEntry{textEntry(10, "span "+s1), textEntry(20, "none")}, Options{})
	if a.Join.ByKnownID != 1 || a.Join.NoSpanID != 1 || a.Join.Joined != 1 {
		t.Errorf("join stats %+v, want 1 by known id, 1 without span id, 1 joined", a.Join)
	}
}

func TestSpanEventsAreEntries(t *testing.T) {
	const root, child = "00f067aa0ba902b7", "b7ad6b7169203331"
	tr := mkTrace(sp{id: root, svc: "dashboard", op: "GET /dashboard", start: 0, end: 1000},
		sp{id: child, parent: root, svc: "aggregator-b", op: "GET /data", start: 300, end: 700})
	tr.Spans[0].Events = []model.SpanEvent{
		{Time: at(100), Name: "log", Attributes: []model.KeyValue{{Key: "message", Value: "Initiating call to aggregator b"}}},
		{Time: at(150), Name: "Query timed out after 40ms, retrying", Attributes: []model.KeyValue{{Key: "duration_ms", Value: int64(40)}}},
		{Time: at(900), Name: "log", Attributes: []model.KeyValue{{Key: "message", Value: "Received response from aggregator b"}, {Key: "level", Value: "INFO"}}},
		{Time: at(950), Name: "exception", Attributes: []model.KeyValue{{Key: "exception.type", Value: "TimeoutError"}, {Key: "exception.message", Value: "read timed out"}}},
	}

	t.Run("without Loki", func(t *testing.T) {
		a := Analyze(tr, nil, Options{})
		if len(a.Logs) != 4 || a.Join.Events != 4 || a.Join.Joined != 4 {
			t.Fatalf("%d logs, stats %+v; want the 4 events joined", len(a.Logs), a.Join)
		}
		var gap *model.Gap
		for i := range a.Gaps {
			if a.Gaps[i].FromMessage == "Query timed out after 40ms, retrying" && a.Gaps[i].ToMessage == "Received response from aggregator b" {
				gap = &a.Gaps[i]
			}
		}
		if gap == nil || gap.Duration() != 750*time.Millisecond || len(gap.Callees) != 1 || gap.Callees[0].SpanID != child {
			t.Fatalf("gaps %+v; want 750 ms from the retry event to the response event, in %s", a.Gaps, child)
		}
		if len(a.Retries) != 1 || a.Retries[0].Source != model.RetryFromLogs || a.Retries[0].Cost != 40*time.Millisecond {
			t.Errorf("retries %+v; want one from the event, costing its stated 40 ms", a.Retries)
		}
		last := a.Logs[3]
		if last.Message != "TimeoutError: read timed out" || last.Level != "error" || !last.FromEvent || last.SpanID != root {
			t.Errorf("exception event read as %q level %q event %v span %q", last.Message, last.Level, last.FromEvent, last.SpanID)
		}
		for _, n := range a.Notices {
			if strings.Contains(n, "no log entries were found") {
				t.Errorf("notice %q although events are entries", n)
			}
		}
	})

	t.Run("an event repeating a Loki line of its span is that line", func(t *testing.T) {
		entries := []model.LogEntry{
			jl(root, 100.4, "Initiating call to aggregator b"),     // the event 0.4 ms earlier repeats it
			jl(root, 900+2, "Received response from aggregator b"), // 2 ms away: both kept
			jl(child, 150, "Query timed out after 40ms, retrying"), // another span: both kept
		}
		a := Analyze(tr, entries, Options{})
		if a.Join.EventDuplicates != 1 || len(a.Logs) != 6 {
			t.Fatalf("%d logs, stats %+v; want 1 event dropped of 4, 6 entries", len(a.Logs), a.Join)
		}
		for _, l := range a.Logs {
			if l.FromEvent && l.Message == "Initiating call to aggregator b" {
				t.Errorf("the repeating event was kept")
			}
		}
	})
}

// TestTiesKeepLokiOrder: many lines in one millisecond keep the order Loki
// returned them in within a stream, and the merge of streams is stable,
// so a gap is bounded by the last line written before it.
func TestTiesKeepLokiOrder(t *testing.T) {
	const s1 = "00f067aa0ba902b7"
	tr := mkTrace(sp{id: s1, start: 0, end: 1000})
	mk := func(stream string, ms float64, msg string) model.LogEntry {
		e := jl(s1, ms, msg)
		e.Stream = model.Labels{{Name: "stream", Value: stream}}
		return e
	}
	// Loki answers stream by stream; each stream in time order at 1 ms
	// precision, 40 lines per millisecond.
	var x, y []model.LogEntry
	var want []string
	for ms := 10; ms < 13; ms++ {
		for k := range 40 {
			x = append(x, mk("x", float64(ms), fmt.Sprintf("x %d.%02d", ms, k)))
		}
	}
	for ms := 10; ms < 13; ms++ {
		for k := range 40 {
			y = append(y, mk("y", float64(ms), fmt.Sprintf("y %d.%02d", ms, k)))
		}
	}
	for ms := 10; ms < 13; ms++ {
		for _, s := range []string{"x", "y"} {
			for k := range 40 {
				want = append(want, fmt.Sprintf("%s %d.%02d", s, ms, k))
			}
		}
	}
	y = append(y, mk("y", 500, "resumed"))
	want = append(want, "resumed")
	entries := append(slices.Clone(x), y...)
	a := Analyze(tr, entries, Options{})
	var got []string
	for _, l := range a.Logs {
		got = append(got, l.Message)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %q…, want %q…", got[:min(len(got), 45)], want[:45])
	}
	var g *model.Gap
	for i := range a.Gaps {
		if a.Gaps[i].ToMessage == "resumed" {
			g = &a.Gaps[i]
		}
	}
	if g == nil || g.FromMessage != "y 12.39" {
		t.Fatalf("gaps %+v; want one from the last line written at 12 ms, y 12.39", a.Gaps)
	}
}

func TestJoinNotice(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes: cut on a rune boundary
	tr := mkTrace(sp{id: "00f067aa0ba902b7", start: 0, end: 1000})
	entries := []model.LogEntry{
		textEntry(10, long),
		textEntry(20, "trace_id="+testTraceID+" no span here"),
		jl("00000000000000ff", 30, "unknown span"),
		jl("00f067aa0ba902b7", 40, "joined"),
		{Time: at(50), Line: `{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}`},
	}
	a := Analyze(tr, entries, Options{})
	st := a.Join
	if st.NoSpanID != 2 || st.UnknownSpan != 1 || st.OtherTrace != 1 || st.Joined != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(st.Sample) > maxSampleLen+len("…") || !strings.HasSuffix(st.Sample, "…") || !strings.HasPrefix(long, strings.TrimSuffix(st.Sample, "…")) {
		t.Errorf("sample %q is not the first unreadable line cut to %d bytes", st.Sample, maxSampleLen)
	}
	text, warning := JoinNotice(st)
	for _, want := range []string{"4 of 5 log entries did not join a span", "2 carry no span id we could read", "1 names a span that is not in the trace", "1 belongs to another trace", "spanIdFields", "logSelector"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice %q lacks %q", text, want)
		}
	}
	if !warning {
		t.Errorf("3 of the trace's 4 entries did not join: want a warning")
	}
	if !slices.Contains(a.Notices, text) {
		t.Errorf("the engine's notices %q lack it", a.Notices)
	}
	// Half or fewer: information.
	if _, warning := JoinNotice(model.JoinStats{Joined: 2, NoSpanID: 2, Sample: "x"}); warning {
		t.Errorf("2 of 4 did not join: want information, not a warning")
	}
	if text, _ := JoinNotice(model.JoinStats{Joined: 3}); text != "" {
		t.Errorf("every entry joined, notice %q", text)
	}
}

// TestTextLinesSameAnalysis: a trace whose lines are half in zap's console
// format gets the same gaps, retries and figures as its JSON version.
func TestTextLinesSameAnalysis(t *testing.T) {
	tr, js := synth.Generate(synth.Config{Spans: 300, LogsPerSpan: 10, Seed: 5})
	_, mixed := synth.Generate(synth.Config{Spans: 300, LogsPerSpan: 10, Seed: 5, TextEvery: 2})
	want, got := Analyze(tr, js, Options{}), Analyze(tr, mixed, Options{})
	if len(want.Gaps) == 0 || len(want.Retries) == 0 {
		t.Fatalf("the JSON trace has %d gaps, %d retries: the comparison would prove nothing", len(want.Gaps), len(want.Retries))
	}
	if !reflect.DeepEqual(got.Gaps, want.Gaps) {
		t.Errorf("gaps differ: %d vs %d", len(got.Gaps), len(want.Gaps))
	}
	if !reflect.DeepEqual(got.Retries, want.Retries) {
		t.Errorf("retries differ: %+v vs %+v", got.Retries, want.Retries)
	}
	if !reflect.DeepEqual(got.Figures, want.Figures) || got.Total != want.Total || got.Join != want.Join {
		t.Errorf("figures or join stats differ: %+v vs %+v", got.Join, want.Join)
	}
	for k := range got.Logs {
		if g, w := got.Logs[k], want.Logs[k]; g.Message != w.Message || g.Level != w.Level || g.SpanID != w.SpanID || g.Stated != w.Stated {
			t.Fatalf("entry %d read as %q/%q/%q/%v, JSON as %q/%q/%q/%v", k, g.Message, g.Level, g.SpanID, g.Stated, w.Message, w.Level, w.SpanID, w.Stated)
		}
	}
}
