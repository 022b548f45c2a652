package correlate

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// Upstream data as it really arrives during incidents: broken trees, broken
// clocks, lines in no format, garbage. Every case must analyse without a
// panic, keep the invariants, and tell the person what was odd.
func TestAnalyzeBadUpstreamData(t *testing.T) {
	md := func(span string) model.Labels {
		return model.Labels{{Name: "trace_id", Value: testTraceID}, {Name: "span_id", Value: span}}
	}
	raw := func(ms float64, line, span string) model.LogEntry {
		return model.LogEntry{Time: at(ms), Line: line, Metadata: md(span)}
	}
	garbage := string([]byte{0x00, 0xff, 0xfe, '{', '"', 0x80, 0xc3, 0x28, '\n', 0x1b, '[', '3', '1', 'm', '}', '=', '"'})
	huge := `{"message":"` + strings.Repeat("x", 1<<20) + `","traceId":"` + testTraceID + `","spanId":"a1"}`
	hugeLogfmt := "msg=" + strings.Repeat("y", 1<<20) + " trace_id=" + testTraceID + " span_id=a1"
	farPast, farFuture := time.Unix(0, 0).UTC(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	withTime := func(e model.LogEntry, ts time.Time) model.LogEntry { e.Time = ts; return e }

	tests := []struct {
		name    string
		trace   *model.Trace
		entries []model.LogEntry
		notices []string            // each must appear in some notice
		warns   map[string][]string // span id → texts its warnings must contain
		check   func(t *testing.T, a *model.Analysis)
	}{
		{
			name:    "span with a missing parent",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 100}, sp{id: "a2", parent: "ff", start: 10, end: 50}),
			notices: []string{"1 span names a parent that is not in the trace"},
			warns:   map[string][]string{"a2": {`its parent span "00000000000000ff" is not in the trace`, "shown as a root"}},
		},
		{
			name: "cycle in parent links and a span that is its own parent",
			trace: mkTrace(sp{id: "a1", parent: "a2", start: 0, end: 100}, sp{id: "a2", parent: "a1", start: 10, end: 90},
				sp{id: "a3", parent: "a3", start: 20, end: 30}),
			entries: []model.LogEntry{jl("a1", 5, "start"), jl("a1", 95, "end"), jl("a2", 50, "mid")},
			notices: []string{"form 1 loop", "broken at its earliest span"},
			warns:   map[string][]string{"a1": {"loop back to it through 2 spans"}, "a3": {"names itself as its parent"}},
		},
		{
			name:    "duplicate span ids",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 100}, sp{id: "a1", start: 5, end: 60}, sp{id: "a2", parent: "a1", start: 10, end: 20}),
			entries: []model.LogEntry{jl("a1", 1, "first"), jl("a1", 99, "last")},
			notices: []string{"1 span repeats the id of an earlier span"},
			check: func(t *testing.T, a *model.Analysis) {
				for _, l := range a.Logs {
					if l.SpanIndex != 0 {
						t.Errorf("log %q joined to span %d, want the earlier span 0", l.Message, l.SpanIndex)
					}
				}
			},
		},
		{
			name:    "span that ends before it starts",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 100}, sp{id: "a2", parent: "a1", start: 60, end: 10}),
			entries: []model.LogEntry{jl("a2", 60, "in"), jl("a2", 61, "out")},
			warns:   map[string][]string{"a2": {"ends 50 ms before it starts", "duration is taken as 0"}},
		},
		{
			name: "ids of the wrong length or not hex",
			trace: &model.Trace{TraceID: "abc", Spans: []model.Span{
				{TraceID: "abc", SpanID: "00000000000000a1ff", Start: at(0), End: at(100)},
				{TraceID: "abc", SpanID: "span-2", ParentSpanID: "00000000000000a1ff", Start: at(10), End: at(20)},
				{TraceID: "", SpanID: "", ParentSpanID: "zz", Start: at(30), End: at(40)},
			}},
			entries: []model.LogEntry{
				{Time: at(15), Line: `{"traceId":"abc","spanId":"span-2","message":"odd ids"}`},
				{Time: at(16), Line: `{"traceId":"` + strings.Repeat("a", 40) + `","spanId":"a1","message":"too long"}`},
			},
		},
		{
			name:    "log lines that are neither JSON nor logfmt",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 1000}),
			entries: []model.LogEntry{raw(100, "connection reset by peer", "a1"), raw(600, "   ", "a1"), raw(700, "{not json at all", "a1"), raw(800, "= = ==", "a1")},
			check: func(t *testing.T, a *model.Analysis) {
				if len(a.Logs) != 4 || a.Logs[0].Message != "connection reset by peer" || a.Logs[0].SpanIndex != 0 {
					t.Errorf("plain lines must join through metadata with the line as message: %+v", a.Logs)
				}
				if len(a.Gaps) == 0 || !strings.Contains(a.Gaps[0].Sentence, `"connection reset by peer"`) {
					t.Errorf("the gap after a plain line should quote it: %+v", a.Gaps)
				}
			},
		},
		{
			name:    "binary garbage lines",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 1000}),
			entries: []model.LogEntry{raw(100, garbage, "a1"), raw(900, garbage+garbage, "a1"), {Time: at(500), Line: garbage}},
		},
		{
			name:    "1 MiB lines, JSON and logfmt",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 1000}),
			entries: []model.LogEntry{{Time: at(100), Line: huge}, {Time: at(800), Line: hugeLogfmt}, jl("a1", 900, "after the big ones")},
			check: func(t *testing.T, a *model.Analysis) {
				if a.Figures[0].LogCount != 3 {
					t.Errorf("the big lines must still join: %d logs on a1", a.Figures[0].LogCount)
				}
			},
		},
		{
			name:  "timestamps far outside the trace",
			trace: mkTrace(sp{id: "a1", start: 0, end: 1000}, sp{id: "a2", parent: "a1", start: 100, end: 200}),
			entries: []model.LogEntry{
				withTime(jl("a1", 0, "from 1970"), farPast), jl("a1", 10, "in time"),
				withTime(jl("a2", 0, "from 2200"), farFuture), withTime(jl("a2", 0, "zero time"), time.Time{}),
			},
			warns: map[string][]string{"a1": {"before its start"}, "a2": {"after its end"}},
		},
		{
			name:    "only other traces' lines",
			trace:   mkTrace(sp{id: "a1", start: 0, end: 1000}),
			entries: []model.LogEntry{{Time: at(1), Line: `{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"a1","message":"noise"}`}},
			notices: []string{"belongs to another trace", "no log entries were found for this trace"},
		},
		{
			name:    "no spans, only lines",
			trace:   &model.Trace{TraceID: testTraceID},
			entries: []model.LogEntry{jl("a1", 0, "orphan"), jl("", 5, "no span")},
		},
		{
			name:    "nil trace",
			trace:   nil,
			entries: []model.LogEntry{jl("a1", 0, "x")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(tc.trace, tc.entries, Options{})
			tr := tc.trace
			if tr == nil {
				tr = &model.Trace{}
			}
			checkInvariants(t, tr, tc.entries, a, DefaultMinGap)
			texts := append([]string{a.TopFinding}, a.Notices...)
			for _, f := range a.Figures {
				texts = append(texts, f.Warnings...)
			}
			for _, g := range a.Gaps {
				texts = append(texts, g.Sentence)
			}
			for _, r := range a.Retries {
				texts = append(texts, r.Sentence)
			}
			for _, s := range texts {
				// Frames carry these as JSON strings: valid UTF-8, and
				// short however long the line they quote.
				if !utf8.ValidString(s) || len(s) > 4<<10 {
					t.Errorf("unfit for a frame (valid UTF-8 %v, %d bytes): %.200q", utf8.ValidString(s), len(s), s)
				}
			}
			for _, want := range tc.notices {
				if !strings.Contains(strings.Join(a.Notices, "\n"), want) {
					t.Errorf("notices %q lack %q", a.Notices, want)
				}
			}
			for id, wants := range tc.warns {
				i := -1
				for k, s := range tr.Spans {
					if s.SpanID == id && i < 0 {
						i = k
					}
				}
				got := strings.Join(a.Figures[i].Warnings, "\n")
				for _, want := range wants {
					if !strings.Contains(got, want) {
						t.Errorf("span %s warnings %q lack %q", id, a.Figures[i].Warnings, want)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

// A log time centuries before the span (a zero time.Time from a broken
// shipper) is before the span, not after it: the distance must saturate,
// not wrap around int64.
func TestAnalyzeZeroLogTimeIsBeforeTheSpan(t *testing.T) {
	tr := mkTrace(sp{id: "a1", start: 0, end: 1000})
	e := jl("a1", 0, "no time")
	e.Time = time.Time{}
	a := Analyze(tr, []model.LogEntry{e}, Options{})
	got := strings.Join(a.Figures[0].Warnings, "\n")
	if !strings.Contains(got, "1 log line before its start") || strings.Contains(got, "after its end") {
		t.Errorf("warnings %q: want the line before the start, not after the end", a.Figures[0].Warnings)
	}
}
