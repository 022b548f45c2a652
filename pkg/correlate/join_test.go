package correlate

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

func TestJoin(t *testing.T) {
	base := mkTrace(sp{id: "a1", start: 0, end: 1000}, sp{id: "a2", parent: "a1", start: 100, end: 900})
	other := "4bf92f3577b34da6a3ce929d0e0e4736"
	withTrace := func(e model.LogEntry, from, to string) model.LogEntry {
		e.Line = strings.Replace(e.Line, from, to, 1)
		return e
	}
	tests := []struct {
		name       string
		trace      *model.Trace
		entries    []model.LogEntry
		spanOf     []string // span id each kept log joins ("" for trace-level), in time order
		traceLevel int
		others     int
		notice     string
	}{
		{
			name:    "logs with only a trace id are trace-level, kept and counted",
			trace:   base,
			entries: []model.LogEntry{jl("", 10, "no span"), jl("a2", 200, "in a2")},
			spanOf:  []string{"", "a2"}, traceLevel: 1,
			notice: `1 of 2 log entries did not join a span: 1 carries no span id we could read (such as "{\"message\":\"no span\",\"traceId\":\"0af7651916cd43dd8448eb211c80319c\"}"). The one of this trace is kept as a trace-level log on the root span. If the lines carry the span id under another key, add the key to spanIdFields (traceIdFields for the trace id); if it stands where no field is read, add a LogQL parser stage (| json, | logfmt, | pattern or | regexp) to logSelector`,
		},
		{
			name:    "a span id the trace does not have is trace-level",
			trace:   base,
			entries: []model.LogEntry{jl("00000000000000ff", 10, "unknown span"), jl("00000000000000fe", 20, "another")},
			spanOf:  []string{"", ""}, traceLevel: 2,
			notice: "2 of 2 log entries did not join a span: 2 name a span that is not in the trace. Those of this trace are kept as trace-level logs on the root span",
		},
		{
			name:    "other traces' entries are ignored and counted",
			trace:   base,
			entries: []model.LogEntry{withTrace(jl("a1", 10, "noise"), testTraceID, other), jl("a1", 20, "mine")},
			spanOf:  []string{"a1"}, others: 1,
			notice: "1 of 2 log entries did not join a span: 1 belongs to another trace and was ignored",
		},
		{
			name: "a 16-hex trace id in the logs joins a trace whose id is padded",
			trace: func() *model.Trace {
				tr := mkTrace(sp{id: "a1", start: 0, end: 100})
				tr.TraceID = "00000000000000008448eb211c80319c"
				return tr
			}(),
			entries: []model.LogEntry{withTrace(jl("a1", 10, "short id"), testTraceID, "8448EB211C80319C")},
			spanOf:  []string{"a1"},
		},
		{
			name: "the trace id is taken from the spans when the trace has none",
			trace: func() *model.Trace {
				tr := mkTrace(sp{id: "a1", start: 0, end: 100})
				tr.TraceID = ""
				return tr
			}(),
			entries: []model.LogEntry{jl("a1", 10, "mine"), withTrace(jl("a1", 20, "noise"), testTraceID, other)},
			spanOf:  []string{"a1"}, others: 1,
			notice: "1 of 2 log entries did not join a span: 1 belongs to another trace and was ignored",
		},
		{
			name:  "an entry without a trace id joins by its span id",
			trace: base,
			entries: []model.LogEntry{
				{Time: at(10), Line: "plain", Metadata: model.Labels{{Name: "span_id", Value: "a2"}}},
				{Time: at(20), Line: "nothing at all"},
			},
			spanOf: []string{"a2", ""}, traceLevel: 1,
			notice: `1 of 2 log entries did not join a span: 1 carries no span id we could read (such as "nothing at all"). The one of this trace is kept as a trace-level log on the root span. If the lines carry the span id under another key, add the key to spanIdFields (traceIdFields for the trace id); if it stands where no field is read, add a LogQL parser stage (| json, | logfmt, | pattern or | regexp) to logSelector`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(tc.trace, tc.entries, Options{})
			var got []string
			for _, l := range a.Logs {
				if l.SpanIndex < 0 {
					got = append(got, "")
				} else {
					got = append(got, tc.trace.Spans[l.SpanIndex].SpanID)
				}
			}
			if !slices.Equal(got, tc.spanOf) {
				t.Errorf("joined to %q, want %q", got, tc.spanOf)
			}
			if a.TraceLevelLogs != tc.traceLevel || a.OtherTraceLogs != tc.others {
				t.Errorf("trace-level %d, other traces %d; want %d, %d", a.TraceLevelLogs, a.OtherTraceLogs, tc.traceLevel, tc.others)
			}
			if tc.notice != "" && !slices.Contains(a.Notices, tc.notice) {
				t.Errorf("notices %q lack %q", a.Notices, tc.notice)
			}
			if tc.notice == "" && len(a.Notices) != 0 {
				t.Errorf("unexpected notices %q", a.Notices)
			}
		})
	}
}

func TestJoinDuplicatesAndOrder(t *testing.T) {
	tr := mkTrace(sp{id: "a1", start: 0, end: 1000})
	same := jl("a1", 300, "same line")
	entries := []model.LogEntry{
		jl("a1", 500, "late"),
		same,
		jl("a1", 100, "early"),
		same, // the service logged it twice: both are kept
		jl("a1", 300, "tie, later in the input"),
	}
	a := Analyze(tr, entries, Options{})
	var msgs []string
	var before []time.Duration
	for _, l := range a.Logs {
		msgs = append(msgs, l.Message)
		before = append(before, l.GapBefore)
	}
	wantMsgs := []string{"early", "same line", "same line", "tie, later in the input", "late"}
	if !slices.Equal(msgs, wantMsgs) {
		t.Errorf("order %q, want %q (time order, ties in input order)", msgs, wantMsgs)
	}
	wantBefore := []time.Duration{0, msd(200), 0, 0, msd(200)}
	if !slices.Equal(before, wantBefore) {
		t.Errorf("GapBefore %v, want %v", before, wantBefore)
	}
	if a.DuplicateLogs != 0 || a.Figures[0].LogCount != 5 {
		t.Errorf("duplicates %d, log count %d; want 0 and 5", a.DuplicateLogs, a.Figures[0].LogCount)
	}
}

// TestTimeOrder checks the run merge against a stable sort, for inputs of
// few long runs (merged) and many short ones (sorted).
func TestTimeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, runs := range []int{1, 2, 3, 7, 12, 500} {
		var entries []model.LogEntry
		for r := range runs {
			t0 := rng.IntN(50)
			for k := range 2000 / runs {
				entries = append(entries, model.LogEntry{Time: at(float64(t0 + k*rng.IntN(3))), Line: string(rune('a'+r%26)) + string(rune(k))})
			}
		}
		s := &state{base: t0}
		split := len(entries) / 3 // the order runs over both slices as one
		got := s.timeOrder(entries[:split], entries[split:])
		want := make([]int, len(entries))
		for i := range want {
			want[i] = i
		}
		slices.SortStableFunc(want, func(a, b int) int { return entries[a].Time.Compare(entries[b].Time) })
		for k := range got {
			if int(got[k].i) != want[k] {
				t.Fatalf("%d runs: position %d holds entry %d, want %d", runs, k, got[k].i, want[k])
			}
		}
	}
}

// TestJoinKeepsEachLinesFields checks that the fields left after the
// extractor drops the ones it read (ids, message, level) belong to their
// own line: the join parses every line into shared arena chunks and gives
// the dropped fields' room to the next line, over enough lines to fill
// several chunks.
func TestJoinKeepsEachLinesFields(t *testing.T) {
	tr := mkTrace(sp{id: "a1", start: 0, end: 100_000})
	n := 3 * arenaChunk
	entries := make([]model.LogEntry, n)
	for i := range entries {
		kv := []string{"level", "INFO", "attempt", strconv.Itoa(i)}
		if i%3 == 0 {
			kv = append(kv, "db.table", "orders"+strconv.Itoa(i)) // one more field now and then
		}
		entries[i] = jl("a1", float64(i)/float64(n)*99_000, "line "+strconv.Itoa(i), kv...)
	}
	a := Analyze(tr, entries, Options{})
	if len(a.Logs) != n {
		t.Fatalf("%d logs, want %d", len(a.Logs), n)
	}
	for k, l := range a.Logs {
		i, _ := strconv.Atoi(strings.TrimPrefix(l.Message, "line "))
		want := model.Labels{{Name: "attempt", Value: strconv.Itoa(i)}}
		if i%3 == 0 {
			want = append(want, model.Label{Name: "db.table", Value: "orders" + strconv.Itoa(i)})
		}
		if !slices.Equal(l.Fields, want) || l.Level != "info" || l.SpanID != "00000000000000a1" {
			t.Fatalf("log %d (%q): fields %v level %q span %q, want fields %v, level info, span a1", k, l.Message, l.Fields, l.Level, l.SpanID, want)
		}
	}
}
