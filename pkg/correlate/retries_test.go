package correlate

import (
	"regexp"
	"slices"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// retryWant is one expected retry.
type retryWant struct {
	span     string
	source   model.RetrySource
	count    int
	cost     float64
	outcome  model.Outcome
	message  string
	attempts []string
	sentence string // checked when set
}

func TestRetries(t *testing.T) {
	worker := sp{id: "f0", svc: "worker", op: "job", start: 0, end: 1000}
	failed := worker
	failed.status = model.StatusError
	tests := []struct {
		name  string
		spans []sp
		logs  []model.LogEntry
		opts  Options
		want  []retryWant
	}{
		{
			name:  "stated cost, then success",
			spans: []sp{worker},
			logs: []model.LogEntry{jl("f0", 0, "start"), jl("f0", 300, "Query timed out, retrying", "level", "WARN", "duration_ms", "200"),
				jl("f0", 600, "query ok", "level", "INFO")},
			want: []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 200, outcome: model.OutcomeSucceeded,
				message:  "Query timed out, retrying",
				sentence: `retried after "Query timed out, retrying": the failed attempt took 200 ms (stated by the line), and the retry succeeded`}},
		},
		{
			name:  "no stated cost: the time since the previous entry",
			spans: []sp{worker},
			logs:  []model.LogEntry{jl("f0", 100, "start"), jl("f0", 350, "will retry in 1s")},
			want: []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 250, outcome: model.OutcomeUnknown,
				message:  "will retry in 1s",
				sentence: `retried after "will retry in 1s": the failed attempt took 250 ms (since the previous log line); no later log line of the span tells whether the retry worked`}},
		},
		{
			name:  "the first entry: the time since the span started",
			spans: []sp{worker},
			logs:  []model.LogEntry{jl("f0", 120, "Attempt 1 failed: connection refused"), jl("f0", 130, "done")},
			want: []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 120, outcome: model.OutcomeSucceeded,
				message: "Attempt 1 failed: connection refused"}},
		},
		{
			name:  "an error after the last retry: failed",
			spans: []sp{worker},
			logs: []model.LogEntry{jl("f0", 0, "start"), jl("f0", 100, "retrying", "duration_ms", "50"),
				jl("f0", 200, "fine for now"), jl("f0", 300, "gave up", "level", "error")},
			want: []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 50, outcome: model.OutcomeFailed, message: "retrying",
				sentence: `retried after "retrying": the failed attempt took 50 ms (stated by the line), and the retry failed (an error was logged after the last retry)`}},
		},
		{
			name:  "an error status on the span: failed",
			spans: []sp{failed},
			logs:  []model.LogEntry{jl("f0", 0, "start"), jl("f0", 100, "retrying"), jl("f0", 200, "ok")},
			want:  []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 100, outcome: model.OutcomeFailed, message: "retrying"}},
		},
		{
			name:  "only warnings after it: unknown",
			spans: []sp{worker},
			logs:  []model.LogEntry{jl("f0", 0, "retrying"), jl("f0", 100, "slow", "level", "warn")},
			want:  []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 0, outcome: model.OutcomeUnknown, message: "retrying"}},
		},
		{
			name:  "announcing an attempt is not a retry",
			spans: []sp{worker},
			logs:  []model.LogEntry{jl("f0", 0, "attempt 1 of 3"), jl("f0", 100, "Retry policy loaded"), jl("f0", 200, "attempt failed")},
			want:  nil,
		},
		{
			name:  "nested retries: two in a row, then success",
			spans: []sp{worker, {id: "c1", parent: "f0", svc: "db", op: "query", start: 100, end: 900}},
			logs: []model.LogEntry{
				jl("f0", 0, "start"), jl("f0", 200, "RETRYING call", "duration_ms", "150"), jl("f0", 500, "Retrying call again"),
				jl("f0", 800, "call ok"),
				jl("c1", 300, "deadlock, will retry", "duration_ms", "20"), jl("c1", 400, "committed"),
			},
			want: []retryWant{
				{span: "f0", source: model.RetryFromLogs, count: 1, cost: 150, outcome: model.OutcomeSucceeded, message: "RETRYING call"},
				{span: "f0", source: model.RetryFromLogs, count: 1, cost: 300, outcome: model.OutcomeSucceeded, message: "Retrying call again"},
				{span: "c1", source: model.RetryFromLogs, count: 1, cost: 20, outcome: model.OutcomeSucceeded, message: "deadlock, will retry"},
			},
		},
		{
			name:  "a custom pattern",
			spans: []sp{worker},
			logs:  []model.LogEntry{jl("f0", 0, "start"), jl("f0", 100, "retrying"), jl("f0", 300, "backing off"), jl("f0", 400, "ok")},
			opts:  Options{RetryPattern: regexp.MustCompile(`backing off`)},
			want:  []retryWant{{span: "f0", source: model.RetryFromLogs, count: 1, cost: 200, outcome: model.OutcomeSucceeded, message: "backing off"}},
		},
		{
			name: "spans only: failed attempts repeated under one parent",
			spans: []sp{worker,
				{id: "c1", parent: "f0", svc: "pay", op: "POST /charge", start: 100, end: 200, status: model.StatusError},
				{id: "c2", parent: "f0", svc: "pay", op: "POST /charge", start: 250, end: 400, status: model.StatusError},
				{id: "c3", parent: "f0", svc: "pay", op: "POST /charge", start: 400, end: 450},
				{id: "c4", parent: "f0", svc: "pay", op: "GET /status", start: 500, end: 600, status: model.StatusError},
			},
			want: []retryWant{{span: "f0", source: model.RetryFromSpans, count: 2, cost: 250, outcome: model.OutcomeSucceeded,
				message: "pay POST /charge", attempts: []string{"c1", "c2"},
				sentence: "pay POST /charge was attempted 3 times: 2 failed attempts took 250 ms, and the last attempt succeeded"}},
		},
		{
			name: "spans only: every attempt failed",
			spans: []sp{worker,
				{id: "c1", parent: "f0", svc: "pay", op: "POST /charge", start: 100, end: 200, status: model.StatusError},
				{id: "c2", parent: "f0", svc: "pay", op: "POST /charge", start: 300, end: 350, status: model.StatusError},
			},
			want: []retryWant{{span: "f0", source: model.RetryFromSpans, count: 2, cost: 150, outcome: model.OutcomeFailed,
				message: "pay POST /charge", attempts: []string{"c1", "c2"},
				sentence: "pay POST /charge was attempted 2 times: 2 failed attempts took 150 ms, and the last attempt failed too"}},
		},
		{
			name: "spans only: overlapping siblings are a fan-out, not retries",
			spans: []sp{worker,
				{id: "c1", parent: "f0", svc: "pay", op: "POST /charge", start: 100, end: 300, status: model.StatusError},
				{id: "c2", parent: "f0", svc: "pay", op: "POST /charge", start: 200, end: 400},
			},
			want: nil,
		},
		{
			name: "spans only: an error on the last attempt alone is not a retry",
			spans: []sp{worker,
				{id: "c1", parent: "f0", svc: "pay", op: "POST /charge", start: 100, end: 200},
				{id: "c2", parent: "f0", svc: "pay", op: "POST /charge", start: 300, end: 350, status: model.StatusError},
			},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), tc.logs, tc.opts)
			if len(a.Retries) != len(tc.want) {
				t.Fatalf("got %d retries, want %d: %+v", len(a.Retries), len(tc.want), a.Retries)
			}
			perSpan := map[int]int{}
			for k, w := range tc.want {
				r := a.Retries[k]
				var attempts []string
				for _, id := range w.attempts {
					attempts = append(attempts, pad16(id))
				}
				if r.SpanID != pad16(w.span) || r.Source != w.source || r.Count != w.count || r.Cost != msd(w.cost) ||
					r.Outcome != w.outcome || r.Message != w.message || !slices.Equal(r.Attempts, attempts) {
					t.Errorf("retry %d = %+v;\nwant %+v", k, r, w)
				}
				if r.End.Sub(r.Start) != r.Cost && r.Source == model.RetryFromLogs {
					t.Errorf("retry %d: region %v..%v does not span its cost %v", k, r.Start, r.End, r.Cost)
				}
				if w.sentence != "" && r.Sentence != w.sentence {
					t.Errorf("retry %d sentence\n got %q\nwant %q", k, r.Sentence, w.sentence)
				}
				if !slices.Contains(a.Figures[r.SpanIndex].Warnings, r.Sentence) {
					t.Errorf("retry %d: sentence not among its span's warnings", k)
				}
				perSpan[r.SpanIndex] += r.Count
			}
			for i, f := range a.Figures {
				if f.Retries != perSpan[i] {
					t.Errorf("span %d counts %d retries, want %d", i, f.Retries, perSpan[i])
				}
			}
		})
	}
}

// TestRetryMatcher checks the hand-written matcher against the regexp it
// replaces.
func TestRetryMatcher(t *testing.T) {
	for _, msg := range retryCorpus {
		if got, want := matchDefaultRetry(msg), defaultRetryRE.MatchString(msg); got != want {
			t.Errorf("matchDefaultRetry(%q) = %v, regexp says %v", msg, got, want)
		}
	}
	// A pattern equal to the default but compiled elsewhere takes the fast path.
	s := &state{opts: Options{RetryPattern: regexp.MustCompile(DefaultRetryPattern)}}
	if !s.retryMatcher()("RETRYING") {
		t.Error("recompiled default pattern does not match")
	}
}

var retryCorpus = []string{
	"Prometheus query timed out after 200ms, retrying", "RETRYING", "will retry", "WILL RETRY in 5s", "will  retry",
	"attempt 1 failed", "Attempt 12 FAILED: x", "attempt failed", "attempt 1 of 3", "attempt 1  failed", "attempt x1 failed",
	"retry", "retried", "re-trying", "", "aattempt 3 failed", "attempt 3 failedd", "willretry", "Retrying…", "ŕetrying",
	"attempt ３ failed", "r", "wil", "attempt 99999999999999999999 failed",
}

func TestSeverity(t *testing.T) {
	for level, want := range map[string]int{
		"": sevInfo, "info": sevInfo, "debug": sevInfo, "trace": sevInfo, "i": sevInfo, "verbose": sevInfo,
		"warn": sevWarn, "warning": sevWarn, "w": sevWarn, "notice": sevWarn,
		"error": sevError, "err": sevError, "fatal": sevError, "critical": sevError, "crit": sevError,
		"panic": sevError, "emergency": sevError, "alert": sevError, "severe": sevError, "e": sevError,
	} {
		if got := severity(level); got != want {
			t.Errorf("severity(%q) = %d, want %d", level, got, want)
		}
	}
}

// TestTopFinding: the top finding is the breakdown's headline (the largest
// row that is not self when it is at least 10%, else the largest self row,
// with the next two rows); the costliest gap or retry only when there is
// no breakdown (a root without duration).
func TestTopFinding(t *testing.T) {
	worker := sp{id: "f0", svc: "worker", op: "job", start: 0, end: 100}
	tests := []struct {
		name  string
		spans []sp
		logs  []model.LogEntry
		want  string
	}{
		{name: "one gap over the whole span", spans: []sp{worker}, logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 100, "b")},
			want: `job took 100 ms: 100 ms (100%) worker waiting between "a" and "b" with no span running`},
		{name: "no logs: its own time", spans: []sp{worker}, want: "job took 100 ms: 100 ms (100%) worker's own time"},
		{name: "a wait under 10% loses to self", spans: []sp{{id: "f0", svc: "worker", op: "job", start: 0, end: 2000},
			{id: "d1", parent: "f0", svc: "db", op: "query", start: 100, end: 2000}},
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 100, "b")},
			want: `job took 2000 ms: 1900 ms (95%) db's own time; 100 ms (5%) worker waiting between "a" and "b" with no span running`},
		{name: "a retry line is no row of its own", spans: []sp{worker},
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 10, "retrying", "duration_ms", "5"), jl("f0", 20, "retrying", "duration_ms", "7"),
				jl("f0", 30, "ok"), jl("f0", 100, "end")},
			want: `job took 100 ms: 100 ms (100%) worker's own time`},
		{name: "a failed attempt on the path at exactly 10%", spans: []sp{worker,
			{id: "c1", parent: "f0", svc: "pay", op: "POST", start: 10, end: 20, status: model.StatusError},
			{id: "c2", parent: "f0", svc: "pay", op: "POST", start: 30, end: 40}},
			want: "job took 100 ms: 10 ms (10%) in pay POST, a failed attempt that was retried; 80 ms (80%) worker's own time; 10 ms (10%) pay's own time"},
		{name: "back-to-back attempts: the failed one is off the path and still counts", spans: []sp{worker,
			{id: "c1", parent: "f0", svc: "pay", op: "POST", start: 10, end: 50, status: model.StatusError},
			{id: "c2", parent: "f0", svc: "pay", op: "POST", start: 50, end: 60}},
			want: "job took 100 ms: 40 ms (40%) in pay POST, a failed attempt that was retried; 50 ms (50%) worker's own time; 10 ms (10%) pay's own time"},
		{name: "network between a client and its server", spans: []sp{worker,
			{id: "c1", parent: "f0", svc: "worker", op: "GET", start: 10, end: 90, kind: model.KindClient},
			{id: "s1", parent: "c1", svc: "pay", op: "GET /pay", start: 30, end: 80, kind: model.KindServer}},
			want: "job took 100 ms: 30 ms (30%) on the network between worker and pay (the call's time its server span does not cover); 50 ms (50%) pay's own time; 20 ms (20%) worker's own time"},
		{name: "no breakdown: the costliest gap", spans: []sp{{id: "f0", svc: "worker", op: "job", start: 0, end: 0}},
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 100, "b")},
			want: `worker waited 100 ms between "a" and "b" while no child span ran; all of it is unaccounted`},
		{name: "no breakdown, no gap: the costliest retry", spans: []sp{{id: "f0", svc: "worker", op: "job", start: 0, end: 0}},
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 10, "retrying", "duration_ms", "5"), jl("f0", 20, "retrying", "duration_ms", "7"),
				jl("f0", 30, "ok")},
			want: `worker retried after "retrying": the failed attempt took 7 ms (stated by the line), and the retry succeeded`},
		{name: "nothing at all", spans: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), tc.logs, Options{})
			if a.TopFinding != tc.want {
				t.Errorf("top finding\n got %q\nwant %q", a.TopFinding, tc.want)
			}
		})
	}
}
