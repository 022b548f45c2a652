package correlate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// bdRow is one row of a breakdown table as docs/analysis.md writes it:
// seed span names, ms, and the row's first instant in ms after the trace
// start (the table's "where" column).
type bdRow struct {
	span   string
	cat    model.BreakdownCategory
	callee string // seed name of the callee, "" for none
	what   string
	ms     float64
	first  float64
}

// seedBreakdown is the doc's breakdown table (the seed's own lines only),
// row for row and in its order.
var seedBreakdown = []bdRow{
	{"span-4", model.CategoryWaiting, "", `"Initiating call to data aggregator A" → "Received response from data aggregator A"`, 600, 400},
	{"span-1", model.CategorySelf, "", "", 300, 0},
	{"span-1", model.CategoryInCallee, "span-2", "user-service GET /users/{id}/preferences", 200, 100},
	{"span-7", model.CategorySelf, "", "", 200, 1100},
	{"span-6", model.CategorySelf, "", "", 100, 1000},
	{"span-4", model.CategorySelf, "", "", 50, 300},
	{"span-5", model.CategorySelf, "", "", 50, 350},
}

const seedHeadline = `GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between ` +
	`"Initiating call to data aggregator A" and "Received response from data aggregator A" with no span running; ` +
	`300 ms (20%) dashboard-service's own time; 200 ms (13%) in user-service GET /users/{id}/preferences`

func seedName(id string) string {
	if id == "" {
		return ""
	}
	return "span-" + strings.TrimPrefix(id, "00000000000000a")
}

func checkBreakdown(t *testing.T, a *model.Analysis, want []bdRow) {
	t.Helper()
	b := a.Breakdown
	if b.RootSpanID != seedID("span-1") || b.Took != msd(1500) {
		t.Errorf("root %s took %v, want span-1 1500 ms", b.RootSpanID, b.Took)
	}
	if len(b.Rows) != len(want) {
		t.Errorf("%d rows, want %d", len(b.Rows), len(want))
	}
	var sum time.Duration
	for k, r := range b.Rows {
		sum += r.Duration
		got := bdRow{seedName(r.SpanID), r.Category, seedName(r.CalleeSpanID), r.What,
			float64(r.Duration) / 1e6, float64(r.First.Sub(a.Start)) / 1e6}
		if k >= len(want) {
			t.Errorf("row %d: extra %+v", k, got)
			continue
		}
		if got != want[k] {
			t.Errorf("row %d:\n got %+v\nwant %+v", k, got, want[k])
		}
		sp := a.Trace.Spans[r.SpanIndex]
		if sp.SpanID != r.SpanID || sp.ServiceName != r.ServiceName || sp.Name != r.Operation {
			t.Errorf("row %d: span %s %s %s does not match index %d", k, r.SpanID, r.ServiceName, r.Operation, r.SpanIndex)
		}
		if math.Abs(r.Share-want[k].ms/1500) > 1e-12 {
			t.Errorf("row %d: share %v, want %v", k, r.Share, want[k].ms/1500)
		}
	}
	if sum != b.Took {
		t.Errorf("rows sum to %v, want %v", sum, b.Took)
	}
}

// TestSeedBreakdown is the doc's table: seven rows that sum to 1500 ms,
// the top finding and the headline.
func TestSeedBreakdown(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	a := Analyze(sc.trace(t), sc.entries(t, seedOnly), Options{MinGap: 100 * time.Millisecond})
	checkBreakdown(t, a, seedBreakdown)
	b := a.Breakdown
	if b.Top != 0 {
		t.Errorf("top %d, want 0 (span-4 waiting)", b.Top)
	}
	if b.Headline != seedHeadline {
		t.Errorf("headline\n got %q\nwant %q", b.Headline, seedHeadline)
	}
	if !strings.HasPrefix(b.Headline, "GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting") {
		t.Errorf("headline does not begin as the issue says: %q", b.Headline)
	}
	// Per service, a row counts for the span's own service: dashboard-
	// service's in-callee time is the caller's, spent on user-service.
	wantSvc := []model.ServiceBreakdownRow{
		{ServiceName: "widget-service", Category: model.CategoryWaiting, Duration: msd(600), Share: 0.4, First: at0(a, 400)},
		{ServiceName: "dashboard-service", Category: model.CategorySelf, Duration: msd(300), Share: 0.2, First: at0(a, 0)},
		{ServiceName: "data-aggregator-a", Category: model.CategorySelf, Duration: msd(300), Share: 0.2, First: at0(a, 1000)},
		{ServiceName: "dashboard-service", Category: model.CategoryInCallee, Duration: msd(200), Share: 200.0 / 1500, First: at0(a, 100)},
		{ServiceName: "widget-service", Category: model.CategorySelf, Duration: msd(100), Share: 100.0 / 1500, First: at0(a, 300)},
	}
	if len(b.Services) != len(wantSvc) {
		t.Fatalf("services %+v, want %+v", b.Services, wantSvc)
	}
	for k := range wantSvc {
		g, w := b.Services[k], wantSvc[k]
		if g.ServiceName != w.ServiceName || g.Category != w.Category || g.Duration != w.Duration ||
			math.Abs(g.Share-w.Share) > 1e-12 || !g.First.Equal(w.First) {
			t.Errorf("service row %d:\n got %+v\nwant %+v", k, g, w)
		}
	}
	if a.TopFinding != b.Headline {
		t.Errorf("top finding %q, want the headline", a.TopFinding)
	}
}

func at0(a *model.Analysis, ms float64) time.Time { return a.Start.Add(msd(ms)) }

// captureBreakdown is the table with the captures' extra lines (dashboard-
// service, user-service, edge-gateway). By the same rules: span-1's own
// lines turn its 300 ms of self time into two waits ([0, 100] before
// "Fetching user preferences", [1300, 1500] before "Dashboard rendered",
// where no child of span-1 runs) and leave [100, 300] in user-service
// (a running child comes before a gap). span-4's rows are unchanged.
var captureBreakdown = []bdRow{
	{"span-4", model.CategoryWaiting, "", `"Initiating call to data aggregator A" → "Received response from data aggregator A"`, 600, 400},
	{"span-1", model.CategoryInCallee, "span-2", "user-service GET /users/{id}/preferences", 200, 100},
	{"span-7", model.CategorySelf, "", "", 200, 1100},
	{"span-1", model.CategoryWaiting, "", `"Fetching widget data from widget-service" → "Dashboard rendered"`, 200, 1300},
	{"span-1", model.CategoryWaiting, "", `"Received request GET /dashboard" → "Fetching user preferences from user-service"`, 100, 0},
	{"span-6", model.CategorySelf, "", "", 100, 1000},
	{"span-4", model.CategorySelf, "", "", 50, 300},
	{"span-5", model.CategorySelf, "", "", 50, 350},
}

func TestSeedBreakdownWithCaptureLines(t *testing.T) {
	sc := loadScenario(t, seedFixture)
	a := Analyze(sc.trace(t), sc.entries(t, all), Options{})
	checkBreakdown(t, a, captureBreakdown)
	want := `GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between ` +
		`"Initiating call to data aggregator A" and "Received response from data aggregator A" with no span running; ` +
		`200 ms (13%) in user-service GET /users/{id}/preferences; 200 ms (13%) data-aggregator-a's own time`
	if a.Breakdown.Headline != want {
		t.Errorf("headline\n got %q\nwant %q", a.Breakdown.Headline, want)
	}
}

// randomTree builds a trace the way real ones go wrong, on a 1 ms grid (so
// that a per-millisecond reference can classify every instant): several
// roots, children that start before their parent, end after it or lie
// wholly outside it, spans without logs, CLIENT spans with a single SERVER
// child of another service, and retried attempts (an error, then the same
// call again, back to back or apart).
func randomTree(rng *rand.Rand) (*model.Trace, []model.LogEntry) {
	var spans []sp
	var logs []model.LogEntry
	svcs := []string{"web", "api", "db", "pay"}
	id := func(k int) string { return fmt.Sprintf("%016x", 0xb00+k) }
	var add func(parent int, lo, hi int, depth int)
	add = func(parent int, lo, hi int, depth int) {
		k := len(spans)
		if hi < lo {
			hi = lo
		}
		s := sp{id: id(k), svc: svcs[rng.IntN(len(svcs))], op: []string{"GET /a", "query", "POST /b"}[rng.IntN(3)],
			start: float64(lo), end: float64(hi), kind: []model.SpanKind{model.KindServer, model.KindInternal, model.KindClient}[rng.IntN(3)]}
		if parent >= 0 {
			s.parent = spans[parent].id
			if rng.IntN(6) == 0 {
				s.status = model.StatusError
			}
		}
		spans = append(spans, s)
		if rng.IntN(3) > 0 { // logs, some of them outside the span
			n := rng.IntN(6)
			for range n {
				t := lo - 20 + rng.IntN(hi-lo+41)
				logs = append(logs, jl(s.id, float64(t), []string{"start", "calling", "got it", "retrying", "done"}[rng.IntN(5)]))
			}
		}
		if depth > 3 || len(spans) > 30 {
			return
		}
		switch rng.IntN(5) {
		case 0: // a client and its server of another service
			spans[k].kind = model.KindClient
			a := lo + rng.IntN(max(1, (hi-lo)/3+1))
			b := hi - rng.IntN(max(1, (hi-lo)/3+1))
			if rng.IntN(4) == 0 { // skewed: the server outlasts the client
				a, b = lo-5, hi+5
			}
			c := len(spans)
			add(k, a, b, depth+1)
			spans[c].kind = model.KindServer
			spans[c].svc = spans[k].svc + "-server"
			return
		case 1: // attempts of one call, the first ones failing
			n := 2 + rng.IntN(3)
			t := lo + rng.IntN(max(1, (hi-lo)/4+1))
			svc := svcs[rng.IntN(len(svcs))]
			for a := range n {
				d := 1 + rng.IntN(max(1, (hi-lo)/n+1))
				c := len(spans)
				spans = append(spans, sp{id: id(c), parent: spans[k].id, svc: svc, op: "POST /charge", start: float64(t), end: float64(t + d)})
				if a < n-1 {
					spans[c].status = model.StatusError
				}
				t += d
				if rng.IntN(2) == 0 {
					t += rng.IntN(20) // apart, else back to back
				}
			}
		}
		for range rng.IntN(4) {
			a := lo - 30 + rng.IntN(hi-lo+61)
			b := a + rng.IntN(hi-lo+31)
			if rng.IntN(8) == 0 { // wholly outside its parent
				a, b = hi+1+rng.IntN(50), hi+60+rng.IntN(50)
			}
			add(k, a, b, depth+1)
		}
	}
	for range 1 + rng.IntN(3) { // several roots
		lo := rng.IntN(100)
		add(-1, lo, lo+rng.IntN(1000), 0)
	}
	tr := mkTrace(spans...)
	rng.Shuffle(len(tr.Spans), func(a, b int) { tr.Spans[a], tr.Spans[b] = tr.Spans[b], tr.Spans[a] })
	return tr, logs
}

// referenceBreakdown classifies every millisecond of the engine's
// critical-path sections by the doc's rules, one instant at a time, and
// sums the rows: the slow, obvious version of breakdown.go.
func referenceBreakdown(s *state) map[rowKey]time.Duration {
	failed := s.failedAttempts()
	out := map[rowKey]time.Duration{}
	ms := int64(time.Millisecond)
	for _, sec := range s.sections {
		i := sec.span
		for t := sec.lo; t < sec.hi; t += ms {
			u := min(t+ms, sec.hi)
			runs := func(c int32) bool { return s.start[c] <= t && s.end[c] >= u }
			earlier := func(a, b int32) bool {
				return s.start[a] < s.start[b] || s.start[a] == s.start[b] && (s.ids[a] < s.ids[b] || s.ids[a] == s.ids[b] && a < b)
			}
			var first, firstFailed int32 = -1, -1
			for _, c := range s.children(i) {
				if !runs(c) {
					continue
				}
				if first < 0 || earlier(c, first) {
					first = c
				}
				if failed[c] && (firstFailed < 0 || earlier(c, firstFailed)) {
					firstFailed = c
				}
			}
			key := rowKey{i, model.CategorySelf, -1}
			switch {
			case failed[i]:
				key = rowKey{i, model.CategoryFailedAttempt, -1}
			case firstFailed >= 0:
				key = rowKey{i, model.CategoryFailedAttempt, firstFailed}
			case s.isNetworkSpan(i) && first < 0:
				key = rowKey{i, model.CategoryNetwork, -1}
			case first >= 0:
				key = rowKey{i, model.CategoryInCallee, first}
			default:
				for k := range s.a.Gaps {
					g := &s.a.Gaps[k]
					if g.SpanIndex == int(i) && s.ns(g.Start) <= t && s.ns(g.End) >= u {
						key = rowKey{i, model.CategoryWaiting, int32(k)}
					}
				}
			}
			out[key] += time.Duration(u - t)
		}
	}
	return out
}

// TestBreakdownProperties: on random trees the rows sum to the root's
// duration, none is empty or negative, they are largest first, the
// per-service rows sum to the same, the top follows the rule, and every
// row is what the per-millisecond reference finds.
func TestBreakdownProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1500))
	sawCat := map[model.BreakdownCategory]int{}
	for trial := range 600 {
		tr, logs := randomTree(rng)
		a := Analyze(tr, logs, Options{MinGap: 30 * time.Millisecond})
		b := a.Breakdown

		// The root: the earliest root, then the longest.
		s := newState(tr, nil, Options{}.withDefaults())
		s.buildTree()
		root := s.roots[0]
		for _, r := range s.roots[1:] {
			if s.start[r] < s.start[root] || s.start[r] == s.start[root] && s.end[r] > s.end[root] {
				root = r
			}
		}
		want := max(0, tr.Spans[root].Duration())
		if b.Took != want || b.RootSpanID != s.ids[root] {
			t.Fatalf("trial %d: took %v of %s, want %v of %s", trial, b.Took, b.RootSpanID, want, s.ids[root])
		}
		var sum, svc time.Duration
		for k, r := range b.Rows {
			sum += r.Duration
			sawCat[r.Category]++
			if r.Duration <= 0 || r.Share <= 0 || r.Share > 1 {
				t.Errorf("trial %d row %d: %v (%v)", trial, k, r.Duration, r.Share)
			}
			if k > 0 && r.Duration > b.Rows[k-1].Duration {
				t.Errorf("trial %d: rows not largest first at %d", trial, k)
			}
		}
		for _, r := range b.Services {
			svc += r.Duration
		}
		if d := math.Abs(float64(sum-b.Took)) / 1e6; d > 0.001 || svc != sum {
			t.Fatalf("trial %d: rows sum to %v, services to %v, root took %v", trial, sum, svc, b.Took)
		}
		if (len(b.Rows) == 0) != (b.Top < 0) || want > 0 && b.Headline == "" {
			t.Errorf("trial %d: top %d of %d rows, headline %q", trial, b.Top, len(b.Rows), b.Headline)
		}
		if b.Top >= 0 {
			top := b.Rows[b.Top]
			for _, r := range b.Rows {
				if r.Category != model.CategorySelf && int64(r.Duration)*10 >= int64(b.Took) && top.Category == model.CategorySelf {
					t.Errorf("trial %d: top is self while %v %v is at least 10%%", trial, r.Category, r.Duration)
				}
			}
		}

		// The reference, on the engine's own sections (which must tile the
		// root's interval).
		s = newState(tr, logs, Options{MinGap: 30 * time.Millisecond}.withDefaults())
		s.buildTree()
		s.join(logs)
		s.findGaps()
		s.findRetries()
		s.computeFigures()
		s.findCriticalPath()
		at := s.start[root]
		for _, sec := range s.sections {
			if sec.lo != at || sec.hi <= sec.lo {
				t.Fatalf("trial %d: sections do not tile the root: %+v", trial, s.sections)
			}
			at = sec.hi
		}
		if want > 0 && at != s.end[root] {
			t.Fatalf("trial %d: sections end at %d, root at %d", trial, at, s.end[root])
		}
		ref := referenceBreakdown(s)
		if len(ref) != len(b.Rows) {
			t.Errorf("trial %d: %d rows, reference %d", trial, len(b.Rows), len(ref))
		}
		for _, r := range b.Rows {
			k := rowKey{int32(r.SpanIndex), r.Category, -1}
			switch {
			case r.CalleeSpanID != "":
				k.ref = -2
				for _, c := range s.children(k.span) {
					if s.ids[c] == r.CalleeSpanID {
						k.ref = c
					}
				}
			case r.Category == model.CategoryWaiting:
				for g := range a.Gaps {
					if a.Gaps[g].SpanIndex == r.SpanIndex && a.Gaps[g].FromMessage == r.FromMessage &&
						a.Gaps[g].ToMessage == r.ToMessage && r.First.Sub(a.Gaps[g].Start) >= 0 && r.First.Before(a.Gaps[g].End) {
						k.ref = int32(g)
					}
				}
			}
			if ref[k] != r.Duration {
				t.Errorf("trial %d: row %s %s %q = %v, reference %v", trial, r.SpanID, r.Category, r.What, r.Duration, ref[k])
			}
		}
		if t.Failed() {
			t.Fatalf("trial %d failed", trial)
		}
	}
	// The generator must reach every rule, or the test proves little.
	for _, c := range []model.BreakdownCategory{model.CategoryFailedAttempt, model.CategoryNetwork,
		model.CategoryInCallee, model.CategoryWaiting, model.CategorySelf} {
		if sawCat[c] == 0 {
			t.Errorf("no %q row in any trial", c)
		}
	}
}
