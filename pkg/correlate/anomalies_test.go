package correlate

import (
	"slices"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

func TestAnomalies(t *testing.T) {
	parent := sp{id: "a0", svc: "web", op: "GET /", start: 100, end: 500}
	tests := []struct {
		name     string
		spans    []sp
		logs     []model.LogEntry
		warnings map[string][]string // by span id; spans not listed have none
	}{
		{
			name:  "logs within 1 ms of the span are not anomalies",
			spans: []sp{parent},
			logs:  []model.LogEntry{jl("a0", 99, "just before"), jl("a0", 501, "just after")},
			warnings: map[string][]string{"a0": {
				`waited 402 ms between "just before" and "just after": 402 ms unaccounted (no child span ran during it)`}},
		},
		{
			name:  "logs outside the span by more than 1 ms",
			spans: []sp{parent},
			logs:  []model.LogEntry{jl("a0", 90, "early"), jl("a0", 98.5, "early too"), jl("a0", 300, "in"), jl("a0", 650, "late")},
			warnings: map[string][]string{"a0": {
				`waited 201.5 ms between "early too" and "in": 201.5 ms unaccounted (no child span ran during it)`,
				`waited 350 ms between "in" and "late": 350 ms unaccounted (no child span ran during it)`,
				"has 2 log lines before its start (by up to 10 ms)",
				"has 1 log line after its end (by up to 150 ms)",
			}},
		},
		{
			name:  "clock skew: a child that starts before its parent",
			spans: []sp{parent, {id: "a1", parent: "a0", svc: "api", op: "GET /x", start: 80, end: 200}},
			warnings: map[string][]string{"a1": {
				"starts 20 ms before its parent web GET / started (the hosts' clocks disagree)"}},
		},
		{
			name:  "a child that ends after its parent",
			spans: []sp{parent, {id: "a1", parent: "a0", svc: "api", op: "GET /x", start: 400, end: 550}},
			warnings: map[string][]string{"a1": {
				"ends 50 ms after its parent web GET / ended (the parent did not wait for it, or the hosts' clocks disagree)"}},
		},
		{
			name:  "a child wholly before its parent",
			spans: []sp{parent, {id: "a1", parent: "a0", svc: "api", op: "GET /x", start: 10, end: 60}},
			warnings: map[string][]string{"a1": {
				"ends 40 ms before its parent web GET / started (the hosts' clocks disagree)"}},
		},
		{
			name: "logs and a child past the end: the end time looks wrong",
			spans: []sp{parent, {id: "a1", parent: "a0", svc: "api", op: "GET /x", start: 450, end: 520},
				{id: "a2", parent: "a0", svc: "db", op: "q", start: 450, end: 530}},
			logs: []model.LogEntry{jl("a0", 100, "in"), jl("a0", 540, "out")},
			warnings: map[string][]string{
				"a0": {
					`waited 440 ms between "in" and "out": 80 ms in api GET /x (70 ms) and db q (80 ms), 360 ms unaccounted (350 ms before the first started, 10 ms after the last ended)`,
					"has 1 log line after its end (by up to 40 ms)",
					"its end time looks wrong: its logs and its children api GET /x and db q run past it, so it ended before its work finished",
				},
				"a1": {"ends 20 ms after its parent web GET / ended (the parent did not wait for it, or the hosts' clocks disagree)"},
				"a2": {"ends 30 ms after its parent web GET / ended (the parent did not wait for it, or the hosts' clocks disagree)"},
			},
		},
		{
			name:  "a span that ends before it starts",
			spans: []sp{{id: "a0", svc: "web", op: "GET /", start: 100, end: 90}},
			warnings: map[string][]string{"a0": {
				"ends 10 ms before it starts, so its end time is wrong; its duration is taken as 0"}},
		},
		{
			name:  "a zero-duration span with a log at its instant is fine",
			spans: []sp{{id: "a0", start: 100, end: 100}},
			logs:  []model.LogEntry{jl("a0", 100, "instant")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), tc.logs, Options{})
			for i, s := range tc.spans {
				if got := a.Figures[i].Warnings; !slices.Equal(got, tc.warnings[s.id]) {
					t.Errorf("warnings of %s:\n got %q\nwant %q", s.id, got, tc.warnings[s.id])
				}
			}
		})
	}
}
