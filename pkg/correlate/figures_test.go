package correlate

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

func TestSelfTime(t *testing.T) {
	tests := []struct {
		name  string
		spans []sp
		self  []float64 // per span, ms
	}{
		{
			name:  "no children",
			spans: []sp{{id: "a1", start: 0, end: 100}},
			self:  []float64{100},
		},
		{
			name: "overlapping children count once",
			spans: []sp{{id: "a1", start: 0, end: 1000}, {id: "a2", parent: "a1", start: 100, end: 400},
				{id: "a3", parent: "a1", start: 300, end: 600}, {id: "a4", parent: "a1", start: 800, end: 900}},
			self: []float64{400, 300, 300, 100},
		},
		{
			name: "children overflowing the span are clipped to it",
			spans: []sp{{id: "a1", start: 100, end: 500}, {id: "a2", parent: "a1", start: 0, end: 200},
				{id: "a3", parent: "a1", start: 450, end: 900}, {id: "a4", parent: "a1", start: 600, end: 700}},
			self: []float64{250, 200, 450, 100},
		},
		{
			name:  "zero-duration spans",
			spans: []sp{{id: "a1", start: 0, end: 0}, {id: "a2", parent: "a1", start: 0, end: 0}},
			self:  []float64{0, 0},
		},
		{
			name:  "a span that ends before it starts has no self time",
			spans: []sp{{id: "a1", start: 100, end: 50}, {id: "a2", parent: "a1", start: 60, end: 70}},
			self:  []float64{0, 10},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), nil, Options{})
			for i, want := range tc.self {
				if got := a.Figures[i].SelfTime; got != msd(want) {
					t.Errorf("span %s self time %v, want %v ms", tc.spans[i].id, got, want)
				}
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	client := sp{id: "a1", svc: "web", op: "HTTP GET", kind: model.KindClient, start: 0, end: 500}
	server := func(svc string, start, end float64) sp {
		return sp{id: "a2", parent: "a1", svc: svc, op: "GET /x", kind: model.KindServer, start: start, end: end}
	}
	tests := []struct {
		name    string
		spans   []sp
		has     bool
		network float64
		warning string
	}{
		{
			name: "a call and its server span of another service", spans: []sp{client, server("api", 100, 350)},
			has: true, network: 250,
			warning: "250 ms of this call is not in api GET /x's span (network, queueing in the callee, connection set-up): the call took 500 ms, the server 250 ms",
		},
		{
			name: "little network time: a figure, no warning", spans: []sp{client, server("api", 10, 480)},
			has: true, network: 30,
		},
		{
			name: "a server span longer than its call: clock skew", spans: []sp{client, server("api", -50, 520)},
			has: true, network: -70,
			warning: "api GET /x's span lasts 70 ms longer than this call, which is impossible on one clock: the two hosts' clocks disagree",
		},
		{name: "same service: not a network hop", spans: []sp{client, server("web", 100, 200)}},
		{
			name: "two children: not a single call",
			spans: []sp{client, server("api", 100, 200),
				{id: "a3", parent: "a1", svc: "api", op: "GET /y", kind: model.KindServer, start: 250, end: 300}},
		},
		{
			name:  "a server child of a server: not a call",
			spans: []sp{{id: "a1", svc: "web", op: "GET /", kind: model.KindServer, start: 0, end: 500}, server("api", 100, 200)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(mkTrace(tc.spans...), nil, Options{})
			f := a.Figures[0]
			if f.HasNetwork != tc.has || f.Network != msd(tc.network) {
				t.Errorf("network %v (has %v), want %v ms (has %v)", f.Network, f.HasNetwork, tc.network, tc.has)
			}
			var warnings []string
			for _, w := range f.Warnings {
				if w != "" {
					warnings = append(warnings, w)
				}
			}
			if tc.warning == "" && len(warnings) > 0 || tc.warning != "" && !slices.Contains(warnings, tc.warning) {
				t.Errorf("warnings %q, want %q", warnings, tc.warning)
			}
		})
	}
}

func TestGroupFigures(t *testing.T) {
	spans := []sp{
		{id: "a1", svc: "web", op: "GET /", start: 0, end: 1000},
		{id: "a2", parent: "a1", svc: "api", op: "GET /x", start: 100, end: 900},
		{id: "a3", parent: "a2", svc: "api", op: "db", start: 200, end: 300},
		{id: "a4", parent: "a2", svc: "api", op: "db", start: 400, end: 500},
	}
	logs := []model.LogEntry{
		jl("a1", 0, "in"), jl("a1", 950, "out"), // 950 wait, 150 unaccounted
		jl("a2", 100, "x in"), jl("a2", 600, "x retrying", "duration_ms", "10"), jl("a2", 900, "x out"), // 500 + 300
		jl("a3", 200, "q"), jl("a3", 300, "q done"), jl("a4", 400, "q"), jl("a4", 450, "q done"),
	}
	a := Analyze(mkTrace(spans...), logs, Options{})
	want := []model.GroupFigures{
		{ServiceName: "api", Wait: msd(500 + 300 + 100), Unaccounted: msd(300 + 300 + 100), Retries: 1, Spans: 3},
		{ServiceName: "web", Wait: msd(950), Unaccounted: msd(150), Spans: 1},
	}
	if !reflect.DeepEqual(a.Services, want) {
		t.Errorf("services\n got %+v\nwant %+v", a.Services, want)
	}
	wantOps := []model.GroupFigures{
		{ServiceName: "api", Operation: "GET /x", Wait: msd(800), Unaccounted: msd(600), Retries: 1, Spans: 1},
		{ServiceName: "api", Operation: "db", Wait: msd(100), Unaccounted: msd(100), Spans: 2},
		{ServiceName: "web", Operation: "GET /", Wait: msd(950), Unaccounted: msd(150), Spans: 1},
	}
	if !reflect.DeepEqual(a.Operations, wantOps) {
		t.Errorf("operations\n got %+v\nwant %+v", a.Operations, wantOps)
	}
	if a.Total != (model.GroupFigures{Wait: msd(1850), Unaccounted: msd(850), Retries: 1, Spans: 4}) {
		t.Errorf("total %+v", a.Total)
	}
	if a.Start != at(0) || a.End != at(1000) {
		t.Errorf("trace bounds %v..%v", a.Start, a.End)
	}
}
