package explain

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/model"
)

// lockOrders are 21 orders a minute apart (the one queried is k = 10):
// 14 of the others take the lock at once, 6 wait 150 ms behind 1 to 6
// transactions, the queried one waits 900 ms behind 7.
func lockOrders(extra, lines int) []searchtest.Trace {
	var out []searchtest.Trace
	waited := 0
	for k := range 21 {
		o := searchtest.Order{K: k, Start: seedStart.Add(time.Duration(k) * 30 * time.Second), Extra: extra, Lines: lines}
		switch {
		case k == 10:
			o.Wait, o.Behind = 900*time.Millisecond, 7
		case k%3 == 1 && waited < 6:
			waited++
			o.Wait, o.Behind = 150*time.Millisecond, waited
		}
		out = append(out, o.Trace())
	}
	return out
}

func TestCompareWithTheBaseline(t *testing.T) {
	srv := searchtest.Start(t, lockOrders(0, 0)...)
	e := explainer(t, srv)
	e.Cache = NewCache(0, 0, WithSettle(0))
	from, to := wholeDay()
	id := searchtest.OrderTraceID(10)
	opts := correlate.DefaultOptions()
	res, err := e.Trace(context.Background(), id, from, to, logOptions(), opts)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	b, err := e.Compare(context.Background(), res, from, to, DefaultBaseline, logOptions(), opts)
	if err != nil {
		t.Fatal(err)
	}
	const traceql = `{ trace:rootService = "orders" && trace:rootName = "POST /orders" }`
	if b.TraceQL != traceql || b.Search == nil || len(b.Search.Fetched) != 20 {
		t.Fatalf("baseline %q with %v", b.TraceQL, b.Search)
	}
	for _, f := range b.Search.Fetched {
		if f.TraceID == id {
			t.Errorf("the queried trace is in its own baseline")
		}
	}
	sq := srv.SearchQueries()
	if len(sq) != 1 || sq[0].Query != traceql || sq[0].Limit != "21" || sq[0].Start != strconv.FormatInt(from.Unix(), 10) {
		t.Errorf("searches %+v; want one for 21 over the query's range", sq)
	}
	c := res.Analysis.Comparison
	if c == nil || len(c.Rows) == 0 {
		t.Fatalf("no comparison: %+v, notices %+v", c, res.Notices)
	}
	r := c.Rows[0]
	if r.ServiceName != "orders" || r.Operation != "reserve stock" || r.Category != model.CategoryWaiting ||
		r.What != `"waiting for lock behind # transactions" → "acquired lock"` ||
		r.This != 900*time.Millisecond || r.Median != 0 || r.P90 != 150*time.Millisecond || r.SeenIn != 6 {
		t.Errorf("first row %+v", r)
	}
	if !strings.Contains(c.Sentence, `+900 ms is orders reserve stock waiting between "waiting for lock behind # transactions" and "acquired lock" (typically 0 ms, seen in 6 of 20)`) {
		t.Errorf("sentence %q", c.Sentence)
	}
	// Baseline: 20 trace fetches, a few Loki queries (two batches of
	// ten minutes, both halves of auto mode).
	if got := srv.Requests() - before; got > 1+20+4 || srv.LokiRequests() > 2+4 {
		t.Errorf("the baseline took %d requests (%d Loki in all)", got, srv.LokiRequests())
	}

	// Again: the search's answer and the traces come from the cache.
	res2, _ := e.Trace(context.Background(), id, from, to, logOptions(), opts)
	mid := srv.Requests()
	b2, err := e.Compare(context.Background(), res2, from, to, DefaultBaseline, logOptions(), opts)
	if err != nil || !b2.SearchCached || b2.Search.Cached != 20 {
		t.Fatalf("repeat: %v, %+v", err, b2)
	}
	if srv.Requests() != mid {
		t.Errorf("a repeated comparison sent %d requests for its baseline", srv.Requests()-mid)
	}
	if res2.Analysis.Comparison.Sentence != c.Sentence {
		t.Errorf("repeat sentence %q, want %q", res2.Analysis.Comparison.Sentence, c.Sentence)
	}
}

func TestCompareNotices(t *testing.T) {
	from, to := wholeDay()
	opts := correlate.DefaultOptions()

	t.Run("fewer than 3 like it", func(t *testing.T) {
		srv := searchtest.Start(t, lockOrders(0, 0)[8:11]...) // 8, 9 and 10
		e := explainer(t, srv)
		res, err := e.Trace(context.Background(), searchtest.OrderTraceID(10), from, to, logOptions(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Compare(context.Background(), res, from, to, DefaultBaseline, logOptions(), opts); err != nil {
			t.Fatal(err)
		}
		if c := res.Analysis.Comparison; c == nil || len(c.Rows) != 0 || c.Baseline != 2 {
			t.Fatalf("comparison %+v", c)
		}
		if !hasNotice(res, "only 2 other traces of orders POST /orders were found in the time range") || !hasNotice(res, "widen the dashboard's time range") {
			t.Errorf("notices %+v", res.Notices)
		}
	})

	t.Run("Tempo's search fails", func(t *testing.T) {
		srv := searchtest.Start(t, lockOrders(0, 0)...)
		srv.SearchHook = func(w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "too many jobs in the queue", http.StatusTooManyRequests)
			return true
		}
		e := explainer(t, srv)
		res, err := e.Trace(context.Background(), searchtest.OrderTraceID(10), from, to, logOptions(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Compare(context.Background(), res, from, to, DefaultBaseline, logOptions(), opts); err != nil {
			t.Fatalf("a failing baseline search is a notice, not an error: %v", err)
		}
		if res.Analysis.Comparison != nil || !hasNotice(res, "Tempo's search for traces like this one") || !hasNotice(res, "try again, or turn compare off") {
			t.Errorf("comparison %+v, notices %+v", res.Analysis.Comparison, res.Notices)
		}
	})

	t.Run("no root span", func(t *testing.T) {
		trs := lockOrders(0, 0)
		partial := trs[10]
		partial.Trace.Spans = partial.Trace.Spans[1:] // Tempo lacks the root
		srv := searchtest.Start(t, partial)
		e := explainer(t, srv)
		res, err := e.Trace(context.Background(), searchtest.OrderTraceID(10), from, to, logOptions(), opts)
		if err != nil {
			t.Fatal(err)
		}
		before := srv.Requests()
		b, err := e.Compare(context.Background(), res, from, to, DefaultBaseline, logOptions(), opts)
		if err != nil || b.TraceQL != "" || srv.Requests() != before {
			t.Errorf("a trace without a root searched for %q (%d requests), err %v", b.TraceQL, srv.Requests()-before, err)
		}
		if !hasNotice(res, "this trace has no root span") || !hasNotice(res, "compare another trace of the same request, or turn compare off") {
			t.Errorf("notices %+v", res.Notices)
		}
	})
}

func hasNotice(res *Result, part string) bool {
	for _, n := range res.Notices {
		if strings.Contains(n.Text, part) {
			return true
		}
	}
	return false
}
