package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

var base = time.Date(2026, 11, 25, 16, 36, 37, 0, time.UTC)

func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

type sp struct {
	id, parent, service, name string
	start, end                int
}

func trace(spans ...sp) *model.Trace {
	t := &model.Trace{TraceID: "0af7651916cd43dd8448eb211c80319c"}
	for _, s := range spans {
		t.Spans = append(t.Spans, model.Span{TraceID: t.TraceID, SpanID: s.id, ParentSpanID: s.parent,
			ServiceName: s.service, Name: s.name, Kind: model.KindServer, StatusCode: model.StatusUnset,
			Start: at(s.start), End: at(s.end)})
	}
	return t
}

// result analyses a trace with its log lines, as explain does.
func result(t *model.Trace, entries ...model.LogEntry) *explain.Result {
	f := &explain.Fetched{TraceID: t.TraceID, Trace: &tempo.TraceResult{Trace: t}}
	return &explain.Result{Fetched: f, Analysis: correlate.Analyze(t, entries, correlate.DefaultOptions())}
}

func text(t *testing.T, r *explain.Result, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Text(&b, r, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWaterfallOrder(t *testing.T) {
	tr := trace(
		sp{"00000000000000b2", "00000000000000a1", "svc", "late child", 50, 90},
		sp{"00000000000000a1", "", "svc", "root", 0, 100},
		sp{"00000000000000b1", "00000000000000a1", "svc", "early child", 10, 40},
		sp{"00000000000000c1", "00000000000000b1", "svc", "grandchild", 20, 30},
		sp{"00000000000000d1", "00000000000000ff", "svc", "orphan", 5, 15},
		sp{"00000000000000e1", "00000000000000e2", "svc", "loop one", 60, 70},
		sp{"00000000000000E2", "e1", "svc", "loop two", 65, 75}, // upper case and short ids compare normalised
		sp{"00000000000000f1", "00000000000000f1", "svc", "own parent", 1, 2},
	)
	var got []string
	for _, r := range waterfall(tr) {
		got = append(got, r.lead+tr.Spans[r.span].Name)
	}
	want := []string{
		"root",
		"├─ early child",
		"│  └─ grandchild",
		"└─ late child",
		"own parent", // a root that starts at 1 ms
		"orphan",     // its parent is not in the trace: a root
		"loop one",   // the loop is shown from its earliest span
		"└─ loop two",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("waterfall:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTextDetails(t *testing.T) {
	tr := trace(
		sp{"00000000000000a1", "", "checkout", "POST /orders", 0, 1000},
		sp{"00000000000000a2", "00000000000000a1", "payments-with-a-rather-long-service-name", "POST /v1/payments/authorize/with/a/long/path", 100, 900},
	)
	tr.Spans[1].StatusCode = model.StatusError
	tr.Spans[1].StatusMessage = "card declined"
	line := func(ms int, span, msg string) model.LogEntry {
		return model.LogEntry{Time: at(ms), Stream: model.Labels{{Name: "service_name", Value: "checkout"}},
			Line: `{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"` + span + `","message":"` + msg + `"}`}
	}
	r := result(tr,
		line(0, "00000000000000a1", "Calling payments"),
		line(950, "00000000000000a1", "Payments answered"),
		line(1200, "00000000000000a1", "Done"),
		line(950, "00000000000000a2", "Declined"), // after its span's end
	)
	r.Notices = append(r.Notices, explain.Notice{Severity: explain.Warning, Text: "something to know"})

	plain := text(t, r, Options{Width: 80, Source: "test"})
	if strings.Contains(plain, "\x1b[") {
		t.Error("escape codes without Color")
	}
	for _, want := range []string{
		"error  the span's status is error: card declined",
		"wait   waited 950 ms between \"Calling payments\" and \"Payments answered\":",
		"warn   has 1 log line after its end",
		"warn   something to know",
		"…", // the long label is cut
		"░", // the root's log line after its end
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("output lacks %q\n%s", want, plain)
		}
	}
	for _, l := range strings.Split(plain, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d runes is wider than 80: %q", n, l)
		}
	}

	colored := text(t, r, Options{Width: 80, Color: true})
	if !strings.Contains(colored, "\x1b[31merror\x1b[0m") || !strings.Contains(colored, "\x1b[36mwait\x1b[0m") {
		t.Errorf("colored output lacks the colored tags\n%q", colored)
	}
	if stripANSI(colored) != strings.Replace(plain, "test\n", "", 1) {
		t.Errorf("colors change more than colors:\n%s\n---\n%s", stripANSI(colored), plain)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestBar(t *testing.T) {
	tr := trace(
		sp{"00000000000000a1", "", "s", "root", 0, 100},
		sp{"00000000000000a2", "00000000000000a1", "s", "instant at the end", 100, 100},
		sp{"00000000000000a3", "00000000000000a1", "s", "first half", 0, 50},
	)
	p := &printer{a: result(tr).Analysis}
	for _, tc := range []struct {
		span int
		want string
	}{
		{0, "██████████"},
		{1, "         █"}, // zero length still gets a cell, inside the bar
		{2, "█████     "},
	} {
		if got := p.bar(&tr.Spans[tc.span], time.Time{}, time.Time{}, 10); got != tc.want {
			t.Errorf("bar of %s = %q, want %q", tr.Spans[tc.span].Name, got, tc.want)
		}
	}
	// Logs before and after the span, clamped to the bar.
	if got := p.bar(&tr.Spans[2], at(-50), at(80), 10); got != "█████░░░  " {
		t.Errorf("bar with logs = %q", got)
	}

	// A trace of one instant draws without dividing by zero.
	flat := trace(sp{"00000000000000a1", "", "s", "instant", 0, 0})
	out := text(t, result(flat), Options{})
	if !strings.Contains(out, "│█") {
		t.Errorf("instant trace:\n%s", out)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four five-six-seven-eight nine", 9)
	want := []string{"one two", "three", "four", "five-six-seven-eight", "nine"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
	if got := wrap("", 10); len(got) != 1 || got[0] != "" {
		t.Errorf("wrap of nothing = %q", got)
	}
}

// Scripts iterate the lists without null checks.
func TestJSONWithoutLogs(t *testing.T) {
	r := result(trace(sp{"00000000000000a1", "", "s", "root", 0, 100}))
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	for _, k := range []string{"spans", "gaps", "retries", "services", "criticalPath", "notices", "findings"} {
		if _, ok := doc[k].([]any); !ok {
			t.Errorf("%s = %#v, want a list", k, doc[k])
		}
	}
	spans := doc["spans"].([]any)
	if w := spans[0].(map[string]any)["warnings"]; w == nil {
		t.Error("a span's warnings are null, want []")
	}
	if doc["durationMs"] != 100.0 || doc["start"] != "2026-11-25T16:36:37Z" {
		t.Errorf("durationMs %v, start %v", doc["durationMs"], doc["start"])
	}
}

// TestPoolFinding checks a pool finding reaches both renderings: tagged in
// the waterfall, a row of the JSON findings.
func TestPoolFinding(t *testing.T) {
	spans := []sp{{"00000000000000a1", "", "planner", "GET /plan", 0, 400}}
	for k, st := range []int{0, 0, 50, 60} { // two slots: 0–50, 0–60, 50–100, 60–120
		spans = append(spans, sp{fmt.Sprintf("00000000000000b%d", k), "00000000000000a1", "route", "GET /route", st, st + 50 + 10*(k%2)})
	}
	r := result(trace(spans...))
	const want = "4 calls to route GET /route ran at most 2 at a time: 120 ms from first start to last end; the longest took 60 ms"
	if out := stripANSI(text(t, r, Options{Width: 200})); !strings.Contains(out, "pool") || !strings.Contains(out, want) {
		t.Errorf("text lacks the tagged pool finding:\n%s", out)
	}
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct {
			Kind, Callee, Sentence string
			Calls, Concurrency     int
			LongestMs              *float64
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 1 || doc.Findings[0].Kind != "pool" || doc.Findings[0].Callee != "route GET /route" ||
		doc.Findings[0].Calls != 4 || doc.Findings[0].Concurrency != 2 || doc.Findings[0].LongestMs == nil ||
		*doc.Findings[0].LongestMs != 60 || doc.Findings[0].Sentence != want {
		t.Errorf("findings %+v", doc.Findings)
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]float64{
		1500 * time.Millisecond:   1500,
		1234567 * time.Nanosecond: 1.235,
		-2 * time.Millisecond:     -2,
	} {
		if got := ms(d); got != want {
			t.Errorf("ms(%v) = %v, want %v", d, got, want)
		}
	}
}
