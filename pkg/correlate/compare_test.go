package correlate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

func TestNormalizeMessage(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"lower-cased", "Acquired Lock", "acquired lock"},
		{"digit runs", "Waiting for lock behind 7 transactions", "waiting for lock behind # transactions"},
		{"digit runs differ, key the same", "Waiting for lock behind 12 transactions", "waiting for lock behind # transactions"},
		{"digits inside words", "retry 3/5 after 250ms on shard-07", "retry #/# after #ms on shard-#"},
		{"decimal", "took 1.25 s", "took #.# s"},
		{"hex id of 16", "span 0af7651916cd43dd done", "span # done"},
		{"hex id of 32", "trace_id=0af7651916cd43dd8448eb211c80319c", "trace_id=#"},
		{"hex of 8, letters only", "object deadbeef freed", "object # freed"},
		{"short hex word kept", "cafe added", "cafe added"},
		{"seven hex chars are digits and letters", "commit ab12cd3", "commit ab#cd#"},
		{"0x prefix", "at 0x7ffd5e", "at #"},
		{"uuid", "order 123e4567-e89b-12d3-a456-426614174000 placed", "order # placed"},
		{"upper-case uuid", "Order 123E4567-E89B-12D3-A456-426614174000", "order #"},
		{"uuid followed by a word char is not one", "123e4567-e89b-12d3-a456-426614174000x", "#-e#b-#d#-a#-#x"},
		{"double-quoted text", `Fetching "user 42" from cache`, `fetching "…" from cache`},
		{"back-quoted text", "table `orders_2024` locked", "table \"…\" locked"},
		{"single-quoted text", "key 'session:abc' expired", `key "…" expired`},
		{"apostrophe is not a quote", "don't retry", "don't retry"},
		{"unclosed quote kept", `say "hello`, `say "hello`},
		{"spaces and control characters", "  a\t\tb \n c  ", "a b c"},
		{"logback style", "HikariPool-1 - Connection is not available, request timed out after 30000ms.", "hikaripool-# - connection is not available, request timed out after #ms."},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeMessage(tc.in); got != tc.want {
				t.Errorf("NormalizeMessage(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	long := NormalizeMessage(strings.Repeat("x", 400))
	if len(long) > maxQuoted+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("a long message is cut to %d bytes with …, got %d bytes", maxQuoted, len(long))
	}
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func msList(ns ...float64) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = ms(n)
	}
	return out
}

func TestPercentile(t *testing.T) {
	fourteenZeros := make([]float64, 14)
	for _, tc := range []struct {
		name        string
		values      []time.Duration
		median, p90 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", msList(7), ms(7), ms(7)},
		{"odd count", msList(5, 1, 3, 2, 4), ms(3), ms(4.6)},
		{"even count: mean of the middle two", msList(4, 1, 3, 2), ms(2.5), ms(3.7)},
		{"ten", msList(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), ms(5.5), ms(9.1)},
		{"eleven", msList(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), ms(6), ms(10)},
		{"14 absent (0) and 6 of 150", msList(append(fourteenZeros, 150, 150, 150, 150, 150, 150)...), 0, ms(150)},
		{"15 absent and 5 of 150: p90 still 150", msList(append(make([]float64, 15), 150, 150, 150, 150, 150)...), 0, ms(150)},
		{"17 absent and 3 of 150", msList(append(make([]float64, 17), 150, 150, 150)...), 0, ms(150)},
		{"18 absent and 2 of 150: p90 interpolates", msList(append(make([]float64, 18), 150, 150)...), 0, ms(15)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.values)
			if got := Median(tc.values); got != tc.median {
				t.Errorf("Median = %v, want %v", got, tc.median)
			}
			if got := Percentile(tc.values, 0.9); got != tc.p90 {
				t.Errorf("Percentile(0.9) = %v, want %v", got, tc.p90)
			}
			if fmt.Sprint(tc.values) != before {
				t.Errorf("the input was reordered: %v", tc.values)
			}
		})
	}
}

// lockTrace is a request of orders POST /orders whose mysql span waits
// wait between the lock lines (behind n transactions), with 300 ms of the
// root's own work and 50 ms in the inventory service.
func lockTrace(id string, wait time.Duration, n int, extra ...model.BreakdownRow) *model.Analysis {
	a := &model.Analysis{Trace: &model.Trace{TraceID: id, Spans: []model.Span{
		{SpanID: "root-" + id, ServiceName: "orders", Name: "POST /orders"},
		{SpanID: "db-" + id, ParentSpanID: "root-" + id, ServiceName: "mysql", Name: "SQL SELECT"},
		{SpanID: "inv-" + id, ParentSpanID: "root-" + id, ServiceName: "inventory", Name: "GET /stock/{sku}"},
	}}}
	rows := []model.BreakdownRow{
		{SpanIndex: 0, ServiceName: "orders", Operation: "POST /orders", Category: model.CategorySelf, Duration: ms(300)},
		{SpanIndex: 0, ServiceName: "orders", Operation: "POST /orders", Category: model.CategoryInCallee, CalleeService: "inventory", CalleeOperation: "GET /stock/{sku}", Duration: ms(50)},
	}
	if wait > 0 {
		rows = append(rows, model.BreakdownRow{
			SpanIndex: 1, ServiceName: "mysql", Operation: "SQL SELECT", Category: model.CategoryWaiting,
			FromMessage: fmt.Sprintf("Waiting for lock behind %d transactions", n),
			ToMessage:   fmt.Sprintf("Acquired lock; %d transactions waiting behind", n+2),
			Duration:    wait,
		})
	}
	rows = append(rows, extra...)
	var took time.Duration
	for _, r := range rows {
		took += r.Duration
	}
	a.Breakdown = model.Breakdown{RootSpanID: "root-" + id, Took: took, Rows: rows}
	return a
}

func TestCompare(t *testing.T) {
	var base []*model.Analysis
	for i := range 20 {
		var wait time.Duration
		if i%3 == 0 && i < 18 { // 6 of 20: 0, 3, 6, 9, 12, 15
			wait = ms(150)
		}
		base = append(base, lockTrace(fmt.Sprintf("b%02d", i), wait, i+1))
	}
	// One baseline trace also paid a failed attempt this trace did not.
	base[19].Breakdown.Rows = append(base[19].Breakdown.Rows, model.BreakdownRow{
		ServiceName: "orders", Operation: "POST /orders", Category: model.CategoryFailedAttempt,
		CalleeService: "payments", CalleeOperation: "POST /charge", Duration: ms(400),
	})
	this := lockTrace("this", ms(900), 7, model.BreakdownRow{
		SpanIndex: 2, ServiceName: "inventory", Operation: "GET /stock/{sku}", Category: model.CategoryNetwork, Duration: ms(20),
	})

	c := Compare(this, base)
	if c.Notice != "" || c.Baseline != 20 || c.Took != ms(1270) || c.TypicalTook != ms(350) {
		t.Fatalf("comparison: baseline %d, took %v, typical %v, notice %q", c.Baseline, c.Took, c.TypicalTook, c.Notice)
	}
	type row struct {
		svc, op  string
		cat      model.BreakdownCategory
		what     string
		this     time.Duration
		med, p90 time.Duration
		seen     int
		delta    time.Duration
		spans    []int
	}
	var got []row
	for _, r := range c.Rows {
		got = append(got, row{r.ServiceName, r.Operation, r.Category, r.What, r.This, r.Median, r.P90, r.SeenIn, r.Delta, r.SpanIndexes})
	}
	want := []row{
		{"mysql", "SQL SELECT", model.CategoryWaiting, `"waiting for lock behind # transactions" → "acquired lock; # transactions waiting behind"`, ms(900), 0, ms(150), 6, ms(900), []int{1}},
		{"inventory", "GET /stock/{sku}", model.CategoryNetwork, "", ms(20), 0, 0, 0, ms(20), []int{2}},
		{"orders", "POST /orders", model.CategorySelf, "", ms(300), ms(300), ms(300), 20, 0, []int{0}},
		{"orders", "POST /orders", model.CategoryInCallee, "inventory GET /stock/{sku}", ms(50), ms(50), ms(50), 20, 0, []int{0}},
		// Only the baseline has it: this trace counts 0, a negative delta.
		{"orders", "POST /orders", model.CategoryFailedAttempt, "payments POST /charge", 0, 0, 0, 1, 0, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
	if c.Top != 0 {
		t.Errorf("Top = %d, want 0", c.Top)
	}
	const sentence = `POST /orders took 1270 ms, 920 ms more than the median of 20 like it (350 ms); +900 ms is mysql SQL SELECT waiting between "waiting for lock behind # transactions" and "acquired lock; # transactions waiting behind" (typically 0 ms, seen in 6 of 20).`
	if c.Sentence != sentence {
		t.Errorf("sentence:\n got %s\nwant %s", c.Sentence, sentence)
	}
}

func TestCompareFasterThanTypical(t *testing.T) {
	base := []*model.Analysis{lockTrace("a", ms(500), 1), lockTrace("b", ms(500), 2), lockTrace("c", 0, 0)}
	c := Compare(lockTrace("this", 0, 0), base)
	if c.Top != -1 {
		t.Errorf("no key took longer than typical, yet Top = %d (%+v)", c.Top, c.Rows[c.Top])
	}
	const sentence = "POST /orders took 350 ms, 500 ms less than the median of 3 like it (850 ms)."
	if c.Sentence != sentence {
		t.Errorf("sentence:\n got %s\nwant %s", c.Sentence, sentence)
	}
	last := c.Rows[len(c.Rows)-1]
	if last.Category != model.CategoryWaiting || last.This != 0 || last.Median != ms(500) || last.Delta != -ms(500) || last.SeenIn != 2 {
		t.Errorf("the wait only the baseline has ranks last with −median: %+v", last)
	}
}

func TestCompareTooFewOrNoRoot(t *testing.T) {
	noRoot := &model.Analysis{Trace: &model.Trace{Spans: []model.Span{{SpanID: "x", ParentSpanID: "gone"}}}}
	for _, tc := range []struct {
		name     string
		this     *model.Analysis
		base     []*model.Analysis
		baseline int
		notice   string
	}{
		{"no baseline", lockTrace("t", 0, 0), nil, 0, "no other trace of orders POST /orders were found in the time range, and a comparison with typical needs at least 3: widen the dashboard's time range"},
		{"one", lockTrace("t", 0, 0), []*model.Analysis{lockTrace("a", 0, 0)}, 1, "only 1 other trace of orders POST /orders"},
		{"two, and traces without a root do not count", lockTrace("t", 0, 0), []*model.Analysis{lockTrace("a", 0, 0), nil, noRoot, lockTrace("b", 0, 0)}, 2, "only 2 other traces of orders POST /orders"},
		{"this trace has no root", noRoot, []*model.Analysis{lockTrace("a", 0, 0), lockTrace("b", 0, 0), lockTrace("c", 0, 0)}, 0, "this trace has no root span"},
		{"nil", nil, nil, 0, "this trace has no root span"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.this, tc.base)
			if !strings.HasPrefix(c.Notice, tc.notice) || c.Baseline != tc.baseline || len(c.Rows) != 0 || c.Sentence != "" || c.Top != -1 {
				t.Errorf("got baseline %d, %d rows, sentence %q, notice %q; want baseline %d and a notice starting %q",
					c.Baseline, len(c.Rows), c.Sentence, c.Notice, tc.baseline, tc.notice)
			}
		})
	}
}

func TestRowPhrase(t *testing.T) {
	for _, tc := range []struct {
		r    model.ComparisonRow
		want string
	}{
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategoryWaiting}, To: "done"}, `a op waiting between the span's start and "done"`},
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategoryWaiting}, From: "start"}, `a op waiting between "start" and the span's end`},
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategoryInCallee, What: "b GET /x"}}, "a op in b GET /x"},
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategoryFailedAttempt}}, "a op in failed attempts"},
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategoryNetwork}}, "a op on the network"},
		{model.ComparisonRow{ComparisonKey: model.ComparisonKey{ServiceName: "a", Operation: "op", Category: model.CategorySelf}}, "a op doing its own work"},
	} {
		if got := string(RowPhrase(nil, &tc.r)); got != tc.want {
			t.Errorf("RowPhrase(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
