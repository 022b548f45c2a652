package correlate

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// gapWant is one expected gap of the span "f0".
type gapWant struct {
	from, to      float64 // ms
	callees       []string
	named         bool
	in, un        float64
	before, after float64
	outside       float64 // -1: the later line states nothing
	concurrent    []string
	sentence      string // checked when set
}

func TestGaps(t *testing.T) {
	parent := sp{id: "f0", svc: "caller", op: "GET /work", start: 0, end: 1000, kind: model.KindServer}
	kid := func(id, svc, op string, start, end float64) sp {
		return sp{id: id, parent: "f0", svc: svc, op: op, start: start, end: end, kind: model.KindClient}
	}
	tests := []struct {
		name   string
		parent *sp
		kids   []sp
		logs   []model.LogEntry
		opts   Options
		want   []gapWant
	}{
		{
			name: "min gap is inclusive",
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 100, "b"), jl("f0", 199.999, "c"), jl("f0", 1000, "d")},
			want: []gapWant{
				{from: 0, to: 100, un: 100, outside: -1},
				{from: 199.999, to: 1000, un: 800.001, outside: -1},
			},
		},
		{
			name: "min gap is configurable",
			logs: []model.LogEntry{jl("f0", 0, "a"), jl("f0", 60, "b"), jl("f0", 100, "c"), jl("f0", 1000, "d")},
			opts: Options{MinGap: 50 * time.Millisecond},
			want: []gapWant{
				{from: 0, to: 60, un: 60, outside: -1},
				{from: 100, to: 1000, un: 900, outside: -1},
			},
		},
		{
			name: "the span's start and end bound gaps only outside the logs",
			logs: []model.LogEntry{jl("f0", 200, "first"), jl("f0", 700, "last")},
			want: []gapWant{
				{from: 0, to: 200, un: 200, outside: -1,
					sentence: `waited 200 ms between the span's start and "first": 200 ms unaccounted (no child span ran during it)`},
				{from: 200, to: 700, un: 500, outside: -1},
				{from: 700, to: 1000, un: 300, outside: -1,
					sentence: `waited 300 ms between "last" and the span's end: 300 ms unaccounted (no child span ran during it)`},
			},
		},
		{
			name:   "logs that straddle the span leave no boundary gap",
			parent: &sp{id: "f0", start: 100, end: 200},
			logs:   []model.LogEntry{jl("f0", 50, "before"), jl("f0", 250, "after")},
			want:   []gapWant{{from: 50, to: 250, un: 200, outside: -1}},
		},
		{
			name: "a span with no logs has no gaps",
			kids: []sp{kid("c1", "a", "GET /a", 100, 900)},
			logs: []model.LogEntry{jl("c1", 100, "x"), jl("c1", 900, "y")},
			want: nil,
		},
		{
			name: "parallel children overlapping one gap count once (union)",
			kids: []sp{kid("c1", "a", "GET /a", 100, 300), kid("c2", "b", "GET /b", 200, 500)},
			logs: []model.LogEntry{jl("f0", 0, "start work"), jl("f0", 600, "done"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 600, callees: []string{"c1", "c2"}, in: 400, un: 200, before: 100, after: 100, outside: -1,
					sentence: `waited 600 ms between "start work" and "done": 400 ms in a GET /a (200 ms) and b GET /b (300 ms), ` +
						`200 ms unaccounted (100 ms before the first started, 100 ms after the last ended)`},
				{from: 600, to: 1000, un: 400, outside: -1},
			},
		},
		{
			name: "time between callees is unaccounted too",
			kids: []sp{kid("c1", "a", "GET /a", 100, 200), kid("c2", "b", "GET /b", 400, 500)},
			logs: []model.LogEntry{jl("f0", 0, "start"), jl("f0", 600, "done"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 600, callees: []string{"c1", "c2"}, in: 200, un: 400, before: 100, after: 100, outside: -1,
					sentence: `waited 600 ms between "start" and "done": 200 ms in a GET /a (100 ms) and b GET /b (100 ms), ` +
						`400 ms unaccounted (100 ms before the first started, 100 ms after the last ended, 200 ms between them)`},
				{from: 600, to: 1000, un: 400, outside: -1},
			},
		},
		{
			name: "a named callee; other overlapping children are concurrent work",
			kids: []sp{kid("c1", "search-service", "GET /q", 50, 450), kid("c2", "billing", "POST /charge", 200, 800)},
			logs: []model.LogEntry{jl("f0", 100, "Calling Billing"), jl("f0", 900, "billing answered"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 100, callees: []string{"c1"}, in: 50, un: 50, before: 50, outside: -1},
				{from: 100, to: 900, callees: []string{"c2"}, named: true, in: 600, un: 200, before: 100, after: 100, outside: -1,
					concurrent: []string{"c1"},
					sentence: `waited 800 ms between "Calling Billing" and "billing answered": 600 ms in billing POST /charge, ` +
						`200 ms unaccounted (100 ms before it started, 100 ms after it ended); search-service GET /q ran concurrently for 350 ms`},
				{from: 900, to: 1000, un: 100, outside: -1},
			},
		},
		{
			name: "named by the operation without its HTTP method",
			kids: []sp{kid("c1", "inv", "GET /inventory/items", 300, 500), kid("c2", "other", "GET /x", 300, 600)},
			logs: []model.LogEntry{jl("f0", 0, "fetching /inventory/items"), jl("f0", 700, "got inventory items"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 700, callees: []string{"c1"}, named: true, in: 200, un: 500, before: 300, after: 200, outside: -1,
					concurrent: []string{"c2"}},
				{from: 700, to: 1000, un: 300, outside: -1},
			},
		},
		{
			name: "names shorter than 3 characters do not name a callee",
			kids: []sp{kid("c1", "db", "Q", 100, 300), kid("c2", "other", "GET /x", 200, 400)},
			logs: []model.LogEntry{jl("f0", 0, "db call"), jl("f0", 500, "db done"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 500, callees: []string{"c1", "c2"}, in: 300, un: 200, before: 100, after: 100, outside: -1},
				{from: 500, to: 1000, un: 500, outside: -1},
			},
		},
		{
			name: "both messages must name the child",
			kids: []sp{kid("c1", "billing", "POST /charge", 100, 300), kid("c2", "other", "GET /x", 200, 400)},
			logs: []model.LogEntry{jl("f0", 0, "calling billing"), jl("f0", 500, "all done"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 500, callees: []string{"c1", "c2"}, in: 300, un: 200, before: 100, after: 100, outside: -1},
				{from: 500, to: 1000, un: 500, outside: -1},
			},
		},
		{
			name:   "a callee is not clipped to its parent",
			parent: &sp{id: "f0", svc: "caller", op: "GET /work", start: 0, end: 500},
			kids:   []sp{kid("c1", "slow", "GET /slow", 300, 700)},
			logs:   []model.LogEntry{jl("f0", 0, "calling slow"), jl("f0", 800, "slow answered")},
			want: []gapWant{
				{from: 0, to: 800, callees: []string{"c1"}, named: true, in: 400, un: 400, before: 300, after: 100, outside: -1},
			},
		},
		{
			name: "a zero-length child overlaps nothing",
			kids: []sp{kid("c1", "a", "GET /a", 300, 300)},
			logs: []model.LogEntry{jl("f0", 0, "x"), jl("f0", 1000, "y")},
			want: []gapWant{{from: 0, to: 1000, un: 1000, outside: -1}},
		},
		{
			name: "a named callee that ended before the wait",
			kids: []sp{kid("c1", "billing", "POST /charge", 100, 150)},
			logs: []model.LogEntry{jl("f0", 0, "start"), jl("f0", 200, "billing requested"), jl("f0", 900, "billing answered"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 200, callees: []string{"c1"}, in: 50, un: 150, before: 100, after: 50, outside: -1},
				{from: 200, to: 900, callees: []string{"c1"}, named: true, in: 0, un: 700, outside: -1,
					sentence: `waited 700 ms between "billing requested" and "billing answered": 0 ms in billing POST /charge, ` +
						`700 ms unaccounted (its span ends 50 ms before the wait begins)`},
				{from: 900, to: 1000, un: 100, outside: -1},
			},
		},
		{
			name: "before / after come from the named callees that overlap",
			kids: []sp{kid("c1", "billing", "POST /charge", 100, 150), kid("c2", "billing", "POST /charge", 300, 500)},
			logs: []model.LogEntry{jl("f0", 200, "billing requested"), jl("f0", 900, "billing answered"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 200, callees: []string{"c1"}, in: 50, un: 150, before: 100, after: 50, outside: -1},
				{from: 200, to: 900, callees: []string{"c1", "c2"}, named: true, in: 200, un: 500, before: 100, after: 400, outside: -1,
					sentence: `waited 700 ms between "billing requested" and "billing answered": 200 ms in billing POST /charge, ` +
						`500 ms unaccounted (100 ms before it started, 400 ms after it ended)`},
				{from: 900, to: 1000, un: 100, outside: -1},
			},
		},
		{
			name: "identical callees are named once, with their count and total",
			kids: []sp{kid("c1", "email-gw", "POST /send", 100, 200), kid("c2", "email-gw", "POST /send", 200, 300),
				kid("c3", "email-gw", "POST /send", 300, 400), kid("c4", "billing", "POST /charge", 400, 500),
				kid("c5", "audit", "POST /log", 50, 100)},
			logs: []model.LogEntry{jl("f0", 100, "sending receipts"), jl("f0", 600, "receipts sent"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 100, callees: []string{"c5"}, in: 50, un: 50, before: 50, outside: -1},
				{from: 100, to: 600, callees: []string{"c1", "c2", "c3", "c4"}, in: 400, un: 100, after: 100, outside: -1,
					sentence: `waited 500 ms between "sending receipts" and "receipts sent": 400 ms in 3 calls to email-gw POST /send (300 ms in all) ` +
						`and billing POST /charge (100 ms), 100 ms unaccounted (100 ms after the last ended)`},
				{from: 600, to: 1000, un: 400, outside: -1},
			},
		},
		{
			name: "several callees of one kind are never \"it\"",
			kids: []sp{kid("c1", "email-gw", "POST /send", 200, 300), kid("c2", "email-gw", "POST /send", 300, 400)},
			logs: []model.LogEntry{jl("f0", 100, "sending"), jl("f0", 600, "sent"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 0, to: 100, un: 100, outside: -1},
				{from: 100, to: 600, callees: []string{"c1", "c2"}, in: 200, un: 300, before: 100, after: 200, outside: -1,
					sentence: `waited 500 ms between "sending" and "sent": 200 ms in 2 calls to email-gw POST /send, ` +
						`300 ms unaccounted (100 ms before the first started, 200 ms after the last ended)`},
				{from: 600, to: 1000, un: 400, outside: -1},
			},
		},
		{
			name:   "a name the parent shares names nothing: a child of its own service is named by its operation",
			parent: &sp{id: "f0", svc: "checkout", op: "POST /checkout", start: 0, end: 1000, kind: model.KindServer},
			kids: []sp{kid("c1", "checkout", "SELECT cart", 100, 300), kid("c2", "checkout", "reserve stock", 400, 700),
				kid("c3", "payments", "POST /pay", 450, 650)},
			logs: []model.LogEntry{jl("f0", 50, "checkout: loading cart"), jl("f0", 350, "checkout: cart loaded"),
				jl("f0", 380, "checkout: reserve stock"), jl("f0", 750, "checkout: reserve stock done"), jl("f0", 1000, "end")},
			want: []gapWant{
				{from: 50, to: 350, callees: []string{"c1"}, in: 200, un: 100, before: 50, after: 50, outside: -1},
				{from: 380, to: 750, callees: []string{"c2"}, named: true, in: 300, un: 70, before: 20, after: 50, outside: -1,
					concurrent: []string{"c3"}},
				{from: 750, to: 1000, un: 250, outside: -1},
			},
		},
		{
			name: "the later line's own timer: shorter, longer, none",
			logs: []model.LogEntry{
				jl("f0", 0, "a"), jl("f0", 400, "b", "duration_ms", "250"),
				jl("f0", 800, "c", "duration_ms", "500"), jl("f0", 1000, "d"),
			},
			want: []gapWant{
				{from: 0, to: 400, un: 400, outside: 150,
					sentence: `waited 400 ms between "a" and "b": 400 ms unaccounted (no child span ran during it); the call's own timer says 250 ms`},
				{from: 400, to: 800, un: 400, outside: 0,
					sentence: `waited 400 ms between "b" and "c": 400 ms unaccounted (no child span ran during it)`},
				{from: 800, to: 1000, un: 200, outside: -1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parent
			if tc.parent != nil {
				p = *tc.parent
			}
			tr := mkTrace(append([]sp{p}, tc.kids...)...)
			a := Analyze(tr, tc.logs, tc.opts)
			var got []model.Gap
			for _, g := range a.Gaps {
				if g.SpanID == pad16("f0") {
					got = append(got, g)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d gaps of p, want %d: %+v", len(got), len(tc.want), got)
			}
			var wait, unacc time.Duration
			for k, w := range tc.want {
				g := got[k]
				wait += g.Duration()
				unacc += g.Unaccounted
				if g.Start != at(w.from) || g.End != at(w.to) {
					t.Errorf("gap %d: %v → %v, want %v → %v ms", k, g.Start.Sub(t0), g.End.Sub(t0), w.from, w.to)
				}
				var wantIDs []string
				for _, c := range w.callees {
					wantIDs = append(wantIDs, pad16(c))
				}
				var wantConc []string
				for _, c := range w.concurrent {
					wantConc = append(wantConc, pad16(c))
				}
				if !slices.Equal(spanIDs(g.Callees), wantIDs) || g.Named != w.named || !slices.Equal(spanIDs(g.Concurrent), wantConc) {
					t.Errorf("gap %d: callees %v named %v concurrent %v; want %v named %v concurrent %v", k,
						spanIDs(g.Callees), g.Named, spanIDs(g.Concurrent), wantIDs, w.named, wantConc)
				}
				if g.InCallees != msd(w.in) || g.Unaccounted != msd(w.un) || g.BeforeCallee != msd(w.before) || g.AfterCallee != msd(w.after) {
					t.Errorf("gap %d: in %v un %v before %v after %v; want %v %v %v %v ms", k,
						g.InCallees, g.Unaccounted, g.BeforeCallee, g.AfterCallee, w.in, w.un, w.before, w.after)
				}
				if g.InCallees+g.Unaccounted != g.Duration() {
					t.Errorf("gap %d: in callees + unaccounted != gap", k)
				}
				if (w.outside < 0) == g.HasStated || w.outside >= 0 && g.OutsideTimer != msd(w.outside) {
					t.Errorf("gap %d: outside timer %v (stated %v), want %v", k, g.OutsideTimer, g.HasStated, w.outside)
				}
				if w.sentence != "" && g.Sentence != w.sentence {
					t.Errorf("gap %d sentence\n got %q\nwant %q", k, g.Sentence, w.sentence)
				}
				if !slices.Contains(a.Figures[0].Warnings, g.Sentence) {
					t.Errorf("gap %d: sentence not among the span's warnings", k)
				}
			}
			if f := a.Figures[0]; f.Wait != wait || f.Unaccounted != unacc {
				t.Errorf("span wait %v unaccounted %v, want the sums %v %v", f.Wait, f.Unaccounted, wait, unacc)
			}
		})
	}
}

// TestGapSentenceLists checks that long lists of spans are cut short.
func TestGapSentenceLists(t *testing.T) {
	spans := []sp{{id: "f0", svc: "caller", op: "GET /", start: 0, end: 1000}, {id: "c0", parent: "f0", svc: "named", op: "x", start: 100, end: 200}}
	for k := 1; k <= 7; k++ {
		spans = append(spans, sp{id: fmt.Sprintf("c%d", k), parent: "f0", svc: fmt.Sprintf("s%d", k), op: "op", start: float64(100 + k), end: 300})
	}
	logs := []model.LogEntry{jl("f0", 0, "call named"), jl("f0", 400, "named done"), jl("f0", 1000, "end")}
	a := Analyze(mkTrace(spans...), logs, Options{})
	want := `waited 400 ms between "call named" and "named done": 100 ms in named x, 300 ms unaccounted ` +
		`(100 ms before it started, 200 ms after it ended); s1 op ran concurrently for 199 ms, s2 op for 198 ms, ` +
		`s3 op for 197 ms, s4 op for 196 ms, s5 op for 195 ms, and 2 more`
	if a.Gaps[0].Sentence != want {
		t.Errorf("sentence\n got %q\nwant %q", a.Gaps[0].Sentence, want)
	}
}

func TestFormatMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		800 * time.Millisecond:    "800 ms",
		12500 * time.Microsecond:  "12.5 ms",
		1234500 * time.Nanosecond: "1.235 ms",
		0:                         "0 ms",
		-20 * time.Millisecond:    "-20 ms",
		time.Microsecond:          "0.001 ms",
		400 * time.Nanosecond:     "0 ms",
		1500 * time.Nanosecond:    "0.002 ms",
		1500 * time.Millisecond:   "1500 ms",
		-500 * time.Microsecond:   "-0.5 ms",
	} {
		if got := FormatMillis(d); got != want {
			t.Errorf("FormatMillis(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"data aggregator B":  "dataaggregatorb",
		"data-aggregator-b":  "dataaggregatorb",
		"/data/aggregator-b": "dataaggregatorb",
		"Ünïcode Straße 42":  "ünïcodestraße42",
		"":                   "",
	} {
		if got := normalizeName(in); got != want {
			t.Errorf("normalizeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"GET /x": "/x", "get /x": "/x", "GETTER": "GETTER", "POST": "POST", "PATCH /a b": "/a b"} {
		if got := stripHTTPMethod(in); got != want {
			t.Errorf("stripHTTPMethod(%q) = %q, want %q", in, got, want)
		}
	}
}
