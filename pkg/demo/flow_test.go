package demo

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	traceIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
	spanIDRe  = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

var testStart = time.Date(2026, 11, 25, 16, 36, 37, 0, time.UTC)

// generateN draws n traces from one seeded source, as a run would.
func generateN(seed uint64, n int) []*Trace {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]*Trace, n)
	for i := range out {
		out[i] = Generate(rng, testStart.Add(time.Duration(i)*time.Second))
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generateN(7, 20), generateN(7, 20)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed produced different traces")
	}
	c := generateN(8, 1)
	if c[0].TraceID == a[0].TraceID {
		t.Errorf("seeds 7 and 8 produced the same trace id %s", c[0].TraceID)
	}
}

// TestGenerateInvariants checks every generated trace against what the
// plugin relies on: ids that join, spans nested in time (except the seed's
// deliberate anomaly), lines inside their spans, and facts that agree with
// what the spans and lines show.
func TestGenerateInvariants(t *testing.T) {
	traces := generateN(42, 500)
	seenTrace := map[string]bool{}
	for n, tr := range traces {
		if !traceIDRe.MatchString(tr.TraceID) || seenTrace[tr.TraceID] {
			t.Fatalf("trace %d: trace id %q is not fresh 32-digit lower-case hex", n, tr.TraceID)
		}
		seenTrace[tr.TraceID] = true
		checkTrace(t, tr)
	}
}

func checkTrace(t *testing.T, tr *Trace) {
	t.Helper()
	spans := map[string]*Span{}
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if !spanIDRe.MatchString(s.SpanID) || spans[s.SpanID] != nil {
			t.Fatalf("%s: span id %q is not a fresh 16-digit lower-case hex id", tr.TraceID, s.SpanID)
		}
		spans[s.SpanID] = s
		if !s.End.After(s.Start) {
			t.Errorf("%s: span %s %s has no duration (%v → %v)", tr.TraceID, s.Service, s.Name, s.Start, s.End)
		}
		if (i == 0) != (s.ParentID == "") {
			t.Errorf("%s: span %d %s has parent %q; only the first span is the root", tr.TraceID, i, s.Name, s.ParentID)
		}
		if ms := s.Start.Sub(testStart) % time.Millisecond; ms != 0 {
			t.Errorf("%s: span %s starts off the millisecond grid", tr.TraceID, s.Name)
		}
	}
	widget := findSpan(tr, Widget, "GET /widgets/data")
	aggB := findSpan(tr, AggregatorB, "GET /data/aggregator-b")
	for i := range tr.Spans[1:] {
		s := &tr.Spans[i+1]
		p := spans[s.ParentID]
		if p == nil {
			t.Fatalf("%s: span %s has unknown parent %s", tr.TraceID, s.Name, s.ParentID)
		}
		inside := !s.Start.Before(p.Start) && !s.End.After(p.End)
		anomaly := tr.Facts.EarlyEnd && p == widget && s == aggB
		switch {
		case anomaly && inside:
			t.Errorf("%s: EarlyEnd, yet data-aggregator-b (%v–%v) lies inside widget-service (%v–%v)",
				tr.TraceID, s.Start, s.End, p.Start, p.End)
		case !anomaly && !inside:
			t.Errorf("%s: child %s %s (%v–%v) is outside its parent %s (%v–%v)",
				tr.TraceID, s.Service, s.Name, s.Start, s.End, p.Name, p.Start, p.End)
		}
	}
	if tr.Facts.EarlyEnd && !aggB.Start.After(widget.End) {
		t.Errorf("%s: EarlyEnd: data-aggregator-b should start after widget-service's span ended, as in the seed", tr.TraceID)
	}

	widgetLate := 0
	for _, l := range tr.Lines {
		s := spans[l.SpanID]
		if s == nil {
			t.Fatalf("%s: line %q names span %q, not in the trace", tr.TraceID, l.Message, l.SpanID)
		}
		if l.Service != s.Service && !(l.Service == EdgeGateway && s == &tr.Spans[0]) {
			t.Errorf("%s: line %q of %s is on a span of %s", tr.TraceID, l.Message, l.Service, s.Service)
		}
		if l.Time.Before(s.Start) || l.Time.After(s.End) {
			if s == widget && tr.Facts.EarlyEnd {
				widgetLate++
				continue
			}
			t.Errorf("%s: line %q at %v is outside its span %s (%v–%v)", tr.TraceID, l.Message, l.Time, s.Name, s.Start, s.End)
		}
	}
	if tr.Facts.EarlyEnd && widgetLate == 0 {
		t.Errorf("%s: EarlyEnd, yet every widget-service line is inside its span", tr.TraceID)
	}

	// The log-revealed wait: the widget-service lines around the call to B
	// span more than B's own span, by exactly the queueing before it and
	// the trip back.
	call := findLine(t, tr, Widget, "Initiating call to data aggregator B")
	resp := findLine(t, tr, Widget, "data aggregator B")
	if gap, extra := resp.Time.Sub(call.Time), resp.Time.Sub(call.Time)-aggB.Duration(); extra != tr.Facts.QueueB+tr.Facts.ReturnB {
		t.Errorf("%s: gap %v − aggregator-b span %v = %v, facts say queue %v + return %v",
			tr.TraceID, gap, aggB.Duration(), extra, tr.Facts.QueueB, tr.Facts.ReturnB)
	}
	if !resp.HasDuration || resp.Duration != aggB.Duration() {
		t.Errorf("%s: the response line states %v, want the callee's span duration %v", tr.TraceID, resp.Duration, aggB.Duration())
	}

	// Retries: one WARN line per retried timeout, one CLIENT span per
	// attempt, failed attempts marked, attempts one after another.
	warns := 0
	for _, l := range tr.Lines {
		if strings.Contains(l.Message, "retrying") {
			warns++
			if l.Level != "WARN" || !l.HasDuration || l.Duration != PromTimeout || l.SpanID != aggB.SpanID {
				t.Errorf("%s: retry line %+v: want WARN on data-aggregator-b stating %v", tr.TraceID, l, PromTimeout)
			}
		}
	}
	if warns != tr.Facts.Retries {
		t.Errorf("%s: %d retry lines, facts say %d retries", tr.TraceID, warns, tr.Facts.Retries)
	}
	var attempts []*Span
	for i := range tr.Spans {
		if tr.Spans[i].Name == "metric-db-b.query" {
			attempts = append(attempts, &tr.Spans[i])
		}
	}
	wantAttempts := tr.Facts.Retries + 1
	if tr.Facts.Failed {
		wantAttempts = MaxAttempts
	}
	if len(attempts) != wantAttempts {
		t.Errorf("%s: %d Prometheus attempts, want %d", tr.TraceID, len(attempts), wantAttempts)
	}
	for i, a := range attempts {
		last := i == len(attempts)-1
		if a.Error != (!last || tr.Facts.Failed) {
			t.Errorf("%s: attempt %d error=%v (failed trace: %v)", tr.TraceID, i+1, a.Error, tr.Facts.Failed)
		}
		if a.Error && a.Duration() != PromTimeout {
			t.Errorf("%s: timed-out attempt %d lasted %v, want %v", tr.TraceID, i+1, a.Duration(), PromTimeout)
		}
		if i > 0 && a.Start.Before(attempts[i-1].End) {
			t.Errorf("%s: attempt %d overlaps attempt %d", tr.TraceID, i+1, i)
		}
	}

	// Errors: a failed request carries error statuses and ERROR lines up to
	// the root; a successful one has none on that path.
	root := &tr.Spans[0]
	for _, s := range []*Span{root, widget, aggB} {
		if s.Error != tr.Facts.Failed {
			t.Errorf("%s: %s error=%v, facts say failed=%v", tr.TraceID, s.Service, s.Error, tr.Facts.Failed)
		}
		if errorLines(tr, s.SpanID) > 0 != tr.Facts.Failed {
			t.Errorf("%s: %s has %d ERROR lines, facts say failed=%v", tr.TraceID, s.Service, errorLines(tr, s.SpanID), tr.Facts.Failed)
		}
	}
	userDB := findSpan(tr, UserService, "user-db.query")
	if userDB.Error != tr.Facts.UserDBError || (errorLines(tr, userDB.SpanID) > 0) != tr.Facts.UserDBError {
		t.Errorf("%s: user-db error=%v with %d ERROR lines, facts say %v", tr.TraceID, userDB.Error, errorLines(tr, userDB.SpanID), tr.Facts.UserDBError)
	}
}

// TestGenerateVariety checks that a run shows every finding the dashboard
// is built to explain, and ordinary requests too.
func TestGenerateVariety(t *testing.T) {
	const n = 300
	var retried, revealed, failed, dbErrors, earlyEnd, plain int
	for _, tr := range generateN(1, n) {
		aggB := findSpan(tr, AggregatorB, "GET /data/aggregator-b")
		call := findLine(t, tr, Widget, "Initiating call to data aggregator B")
		resp := findLine(t, tr, Widget, "data aggregator B")
		waited := resp.Time.Sub(call.Time) - aggB.Duration()
		f := tr.Facts
		if f.Retries > 0 {
			retried++
		}
		if waited > 100*time.Millisecond {
			revealed++
		}
		if f.Failed {
			failed++
		}
		if f.UserDBError {
			dbErrors++
		}
		if f.EarlyEnd {
			earlyEnd++
		}
		if f.Retries == 0 && !f.Failed && waited < 50*time.Millisecond && f.QueueA < 50*time.Millisecond {
			plain++
		}
	}
	t.Logf("of %d traces: %d retried, %d with a log-revealed wait > 100 ms, %d failed, %d user-db errors, %d early ends, %d plain",
		n, retried, revealed, failed, dbErrors, earlyEnd, plain)
	for name, got := range map[string]int{"retried": retried, "log-revealed wait": revealed, "failed": failed,
		"user-db error": dbErrors, "early end": earlyEnd, "plain": plain} {
		if got == 0 {
			t.Errorf("no %s trace among %d", name, n)
		}
		if got == n && name != "plain" {
			t.Errorf("every trace is %s: the finding no longer stands out", name)
		}
	}
}

func TestShiftMovesEverything(t *testing.T) {
	tr := generateN(3, 1)[0]
	start, end := tr.Start(), tr.End()
	tr.Shift(time.Hour)
	if got := tr.Start(); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("start %v, want %v", got, start.Add(time.Hour))
	}
	if got := tr.End(); !got.Equal(end.Add(time.Hour)) {
		t.Errorf("end %v, want %v", got, end.Add(time.Hour))
	}
}

func findSpan(tr *Trace, service, name string) *Span {
	for i := range tr.Spans {
		if tr.Spans[i].Service == service && tr.Spans[i].Name == name {
			return &tr.Spans[i]
		}
	}
	return nil
}

// findLine returns the last line of service whose message contains part,
// ignoring case.
func findLine(t *testing.T, tr *Trace, service, part string) *Line {
	t.Helper()
	var found *Line
	for i := range tr.Lines {
		if tr.Lines[i].Service == service && strings.Contains(strings.ToLower(tr.Lines[i].Message), strings.ToLower(part)) {
			found = &tr.Lines[i]
		}
	}
	if found == nil {
		t.Fatalf("%s: no %s line containing %q", tr.TraceID, service, part)
	}
	return found
}

func errorLines(tr *Trace, spanID string) int {
	n := 0
	for _, l := range tr.Lines {
		if l.SpanID == spanID && l.Level == "ERROR" {
			n++
		}
	}
	return n
}
