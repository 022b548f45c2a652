package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/frames"
)

// lockOrders are 21 POST /orders requests 30 s apart; the queried one is
// k = 10. Of the 20 others, 14 take the row lock at once and 6 wait 150 ms
// between "Waiting for lock behind N transactions" (N = 1 … 6) and
// "Acquired lock"; the queried one waits 900 ms behind 7.
func lockOrders() []searchtest.Trace {
	var out []searchtest.Trace
	waited := 0
	for k := range 21 {
		o := searchtest.Order{K: k, Start: seedBase.Add(10*time.Minute + time.Duration(k)*30*time.Second)}
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

// frameNamed is the response's frame called name, nil when there is none.
func frameNamed(r backend.DataResponse, name string) *data.Frame {
	for _, f := range r.Frames {
		if f.Name == name {
			return f
		}
	}
	return nil
}

const lockWaitWhat = `"waiting for lock behind # transactions" → "acquired lock"`

func TestTraceQueryComparesWithTypical(t *testing.T) {
	srv := searchtest.Start(t, lockOrders()...)
	pCtx := manyContext(t, srv)
	query := fmt.Sprintf(`{"queryType":"trace","traceId":%q,"compare":true}`, searchtest.OrderTraceID(10))
	r := runTrace(t, pCtx, query, searchRange)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	var names []string
	for _, f := range r.Frames {
		names = append(names, f.Name)
	}
	if names[len(names)-1] != "comparison" || !slices.Equal(names[:6], []string{"trace", "logs", "gaps", "retries", "spans", "breakdown"}) {
		t.Fatalf("frames %q: want the trace query's frames, the comparison last", names)
	}
	cmp := frameNamed(r, "comparison")
	got := rows(cmp)
	if len(got) == 0 {
		t.Fatalf("no comparison rows; notices %q", noticeTexts(cmp))
	}
	first := got[0]
	want := map[string]any{
		"service": "orders", "operation": "reserve stock", "category": "waiting", "what": lockWaitWhat,
		"this_ms": 900.0, "typical_ms": 0.0, "p90_ms": 150.0, "seen_in": "6 of 20", "delta_ms": 900.0,
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first row %s = %v, want %v (row %v)", k, first[k], v, first)
		}
	}
	for _, row := range got[1:] {
		if row["delta_ms"].(float64) > 50 {
			t.Errorf("another key is far above typical: %v", row)
		}
	}

	// The sentence: in meta.custom and on the root span, right after the
	// breakdown's headline.
	custom, _ := cmp.Meta.Custom.(map[string]any)
	sentence, _ := custom[frames.CustomComparison].(string)
	if !strings.Contains(sentence, `POST /orders took `) || !strings.Contains(sentence, ` more than the median of 20 like it (`) ||
		!strings.Contains(sentence, `+900 ms is orders reserve stock waiting between "waiting for lock behind # transactions" and "acquired lock" (typically 0 ms, seen in 6 of 20).`) {
		t.Errorf("sentence %q", sentence)
	}
	tf := frameNamed(r, "trace")
	if c, _ := tf.Meta.Custom.(map[string]any); c[frames.CustomComparison] != sentence {
		t.Errorf("trace frame meta.custom %v", tf.Meta.Custom)
	}
	var ws []string
	warnings, _ := tf.FieldByName("warnings")
	if err := json.Unmarshal(warnings.At(0).(json.RawMessage), &ws); err != nil {
		t.Fatal(err)
	}
	at := slices.Index(ws, sentence)
	if at != 1 || !strings.HasPrefix(ws[0], "POST /orders took ") {
		t.Errorf("root warnings %q: want the comparison right after the headline", ws)
	}

	// typical_ms tags on the spans whose keys the baseline has.
	tags, _ := tf.FieldByName("tags")
	tagged := 0
	for i := range tf.Rows() {
		if strings.Contains(string(tags.At(i).(json.RawMessage)), `"`+frames.TagTypical+`"`) {
			tagged++
		}
	}
	if tagged != 2 {
		t.Errorf("%d spans have %s, want both (root and reserve stock)", tagged, frames.TagTypical)
	}

	// One search for 21 (this trace is excluded), 21 trace fetches in all.
	sq := srv.SearchQueries()
	if len(sq) != 1 || sq[0].Query != `{ trace:rootService = "orders" && trace:rootName = "POST /orders" }` || sq[0].Limit != "21" {
		t.Errorf("searches %+v", sq)
	}
	if srv.TraceRequests() != 21 {
		t.Errorf("%d trace requests, want 21", srv.TraceRequests())
	}
	if eq := cmp.Meta.ExecutedQueryString; !strings.Contains(eq, "compared with: Tempo: TraceQL { trace:rootService") || !strings.Contains(eq, "20 traces like it explained") {
		t.Errorf("executed query %q", eq)
	}

	// Again, within the cache's lifetime: nothing is sent for the baseline.
	before := srv.Requests()
	r2 := runTrace(t, pCtx, query, searchRange)
	if got := srv.Requests() - before; got != 0 || r2.Error != nil {
		t.Errorf("the repeat sent %d requests (error %v)", got, r2.Error)
	}
	if c2 := rows(frameNamed(r2, "comparison")); len(c2) != len(got) || c2[0]["this_ms"] != 900.0 {
		t.Errorf("the repeat compares otherwise: %v", c2)
	}
}

func TestTraceQueryCompareSettingsAndBadInput(t *testing.T) {
	srv := searchtest.Start(t, lockOrders()...)
	id := searchtest.OrderTraceID(10)

	pCtx := manyContext(t, srv)
	for _, tc := range []struct{ json, says string }{
		{`"compare":true,"baselineLimit":2`, "baselineLimit is 2; enter a number of traces to compare with from 3 to 200"},
		{`"compare":true,"baselineLimit":201`, "baselineLimit is 201"},
		{`"baselineLimit":0`, "baselineLimit is 0"},
		{`"compare":true,"baselineLimit":"twenty"`, `baselineLimit is "twenty", not a whole number`},
		{`"compare":true,"baselineLimit":7.5`, "baselineLimit 7.5 is not a whole number"},
		{`"compare":"yes"`, "compare has the wrong type"},
	} {
		r := runTrace(t, pCtx, fmt.Sprintf(`{"traceId":%q,%s}`, id, tc.json), searchRange)
		if r.Error == nil || !strings.Contains(r.Error.Error(), tc.says) || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: %v (status %v), want a 400 saying %q", tc.json, r.Error, r.Status, tc.says)
		}
	}
	if srv.Requests() != 0 {
		t.Errorf("bad queries reached upstream: %d requests", srv.Requests())
	}

	// Off by default: no comparison frame, no search.
	r := runTrace(t, pCtx, fmt.Sprintf(`{"traceId":%q}`, id), searchRange)
	if r.Error != nil || frameNamed(r, "comparison") != nil || srv.Searches() != 0 {
		t.Errorf("without compare: error %v, %d frames, %d searches", r.Error, len(r.Frames), srv.Searches())
	}

	// compareByDefault turns it on; the query's compare:false off again;
	// baselineLimit 3 asks for 4.
	on := manyContext(t, srv, "compareByDefault", true)
	r = runTrace(t, on, fmt.Sprintf(`{"traceId":%q,"baselineLimit":3}`, id), searchRange)
	if c := frameNamed(r, "comparison"); r.Error != nil || c == nil || rows(c)[0]["seen_in"] == nil || !strings.HasSuffix(rows(c)[0]["seen_in"].(string), " of 3") {
		t.Errorf("compareByDefault: error %v, comparison %v", r.Error, c)
	}
	if sq := srv.SearchQueries(); len(sq) != 1 || sq[0].Limit != "4" {
		t.Errorf("searches %+v, want one for 4", sq)
	}
	r = runTrace(t, on, fmt.Sprintf(`{"traceId":%q,"compare":false}`, id), searchRange)
	if frameNamed(r, "comparison") != nil || srv.Searches() != 1 {
		t.Errorf("compare:false still compared")
	}
}

func TestTraceQueryCompareNotices(t *testing.T) {
	t.Run("fewer than 3 like it", func(t *testing.T) {
		srv := searchtest.Start(t, lockOrders()[9:12]...)
		r := runTrace(t, manyContext(t, srv), fmt.Sprintf(`{"traceId":%q,"compare":true}`, searchtest.OrderTraceID(10)), searchRange)
		c := frameNamed(r, "comparison")
		if r.Error != nil || c == nil || c.Rows() != 0 {
			t.Fatalf("error %v, comparison %v", r.Error, c)
		}
		if !slices.ContainsFunc(noticeTexts(c), func(n string) bool {
			return strings.Contains(n, "only 2 other traces of orders POST /orders were found in the time range") && strings.Contains(n, "widen the dashboard's time range")
		}) {
			t.Errorf("notices %q", noticeTexts(c))
		}
	})
	t.Run("no root span", func(t *testing.T) {
		partial := lockOrders()[10]
		partial.Trace.Spans = partial.Trace.Spans[1:]
		srv := searchtest.Start(t, partial)
		r := runTrace(t, manyContext(t, srv), fmt.Sprintf(`{"traceId":%q,"compare":true}`, searchtest.OrderTraceID(10)), searchRange)
		c := frameNamed(r, "comparison")
		if r.Error != nil || c == nil || c.Rows() != 0 || srv.Searches() != 0 {
			t.Fatalf("error %v, comparison %v, %d searches", r.Error, c, srv.Searches())
		}
		if !slices.ContainsFunc(noticeTexts(c), func(n string) bool {
			return strings.Contains(n, "this trace has no root span") && strings.Contains(n, "turn compare off")
		}) {
			t.Errorf("notices %q", noticeTexts(c))
		}
	})
}
