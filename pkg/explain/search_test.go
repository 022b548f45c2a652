package explain

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

func TestSearchExplainsEveryTraceWithFewLokiQueries(t *testing.T) {
	traces := append([]searchtest.Trace{seedTrace(t)}, demoTraces(7, seedStart.Add(15*time.Second), 20*time.Second, 1)...)
	srv := searchtest.Start(t, traces...)
	e := explainer(t, srv)
	from, to := wholeDay()

	res, err := e.Search(context.Background(), "{}", from, to, 20, logOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Found) != len(traces) || len(res.Fetched) != len(traces) || len(res.Notices) != 0 {
		t.Fatalf("found %d, fetched %d, notices %v; want %d traces and no notice", len(res.Found), len(res.Fetched), res.Notices, len(traces))
	}
	// Eight traces within three minutes: one batch, one query per mode.
	if srv.TraceRequests() != len(traces) || srv.LokiRequests() != 2 || res.LogBatches != 1 || len(res.LogQueries) != 2 {
		t.Errorf("requests: %d traces, %d Loki (%d batches, queries %q); want %d and 2", srv.TraceRequests(), srv.LokiRequests(), res.LogBatches, res.LogQueries, len(traces))
	}
	for _, q := range srv.LokiQueries() {
		for _, tr := range traces {
			if !strings.Contains(q.Query, strings.TrimLeft(tr.Trace.TraceID, "0")) {
				t.Errorf("Loki query %s lacks trace %s", q.Query, tr.Trace.TraceID)
			}
		}
	}

	byID := map[string]*Fetched{}
	for _, f := range res.Fetched {
		byID[f.TraceID] = f
		if f.LogsErr != nil || f.Logs == nil {
			t.Fatalf("trace %s: logs %v, error %v", f.TraceID, f.Logs, f.LogsErr)
		}
		for _, en := range f.Logs.Entries {
			if !strings.Contains(en.Line, f.TraceID) {
				t.Errorf("trace %s got another trace's line %s", f.TraceID, en.Line)
			}
		}
	}
	for _, tr := range traces {
		f := byID[tr.Trace.TraceID]
		if f == nil {
			t.Fatalf("trace %s not fetched", tr.Trace.TraceID)
		}
		if got, want := len(f.Logs.Entries), ownEntries(tr, 5*time.Second); got != want || want == 0 {
			t.Errorf("trace %s: %d entries, want its own %d", tr.Trace.TraceID, got, want)
		}
	}

	// The seed's figures, docs/analysis.md.
	a := analyze(byID[seedID])
	w, b := service(a, "widget-service"), service(a, "data-aggregator-b")
	if w.Wait != 1400*time.Millisecond || w.Unaccounted != 1000*time.Millisecond ||
		b.Wait != 500*time.Millisecond || b.Unaccounted != 200*time.Millisecond || b.Retries != 1 {
		t.Errorf("seed figures: widget-service %v/%v, data-aggregator-b %v/%v/%d retries; want 1400/1000 and 500/200/1",
			w.Wait, w.Unaccounted, b.Wait, b.Unaccounted, b.Retries)
	}
}

func TestSearchGivesEachTraceWhatFetchGivesIt(t *testing.T) {
	// Traces overlapping in time, so their windows share lines of others.
	traces := append([]searchtest.Trace{seedTrace(t)}, demoTraces(4, seedStart.Add(500*time.Millisecond), 700*time.Millisecond, 2)...)
	srv := searchtest.Start(t, traces...)
	e := explainer(t, srv)
	from, to := wholeDay()
	for _, mode := range []loki.Mode{loki.ModeLine, loki.ModeMetadata, loki.ModeAuto} {
		t.Run(string(mode), func(t *testing.T) {
			lo := logOptions()
			lo.Mode = mode
			res, err := e.Search(context.Background(), "{}", from, to, 20, lo)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Fetched {
				alone, err := e.Fetch(context.Background(), f.TraceID, from, to, lo)
				if err != nil {
					t.Fatal(err)
				}
				if !f.LogStart.Equal(alone.LogStart) || !f.LogEnd.Equal(alone.LogEnd) {
					t.Errorf("%s: window [%v, %v), alone [%v, %v)", f.TraceID, f.LogStart, f.LogEnd, alone.LogStart, alone.LogEnd)
				}
				got, want := lines(f.Logs.Entries), lines(alone.Logs.Entries)
				// Fetch keeps other traces' lines for the engine to
				// ignore; the batch hands each trace only its own.
				want = slices.DeleteFunc(want, func(l string) bool { return !strings.Contains(l, f.TraceID) })
				if !slices.Equal(got, want) {
					t.Errorf("%s: batched entries differ from Fetch's:\n got %q\nwant %q", f.TraceID, got, want)
				}
				ab, aa := analyze(f), analyze(alone)
				if ab.Total != aa.Total || len(ab.Gaps) != len(aa.Gaps) || ab.TopFinding != aa.TopFinding {
					t.Errorf("%s: analysis differs: batched %+v, alone %+v", f.TraceID, ab.Total, aa.Total)
				}
			}
		})
	}
}

func lines(es []model.LogEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Line
	}
	return out
}

func TestSearchBatchesByTime(t *testing.T) {
	// Three bursts an hour apart: three batches, whatever their size.
	var traces []searchtest.Trace
	for k := range 3 {
		traces = append(traces, demoTraces(5, seedStart.Add(time.Duration(k)*time.Hour), 10*time.Second, uint64(10+k))...)
	}
	srv := searchtest.Start(t, traces...)
	e := explainer(t, srv)
	lo := logOptions()
	lo.Mode = loki.ModeLine
	from, to := wholeDay()
	res, err := e.Search(context.Background(), "{}", from, to, 50, lo)
	if err != nil {
		t.Fatal(err)
	}
	if res.LogBatches != 3 || srv.LokiRequests() != 3 || len(res.Fetched) != 15 {
		t.Fatalf("%d batches, %d Loki requests, %d traces; want 3, 3, 15", res.LogBatches, srv.LokiRequests(), len(res.Fetched))
	}
	for _, q := range srv.LokiQueries() {
		if span := q.End.Sub(q.Start); span > MaxBatchWindow {
			t.Errorf("a batch spans %v, more than %v", span, MaxBatchWindow)
		}
	}
}

func TestSearchPartialFailures(t *testing.T) {
	// Two bursts an hour apart, so that each is a batch of its own; one
	// trace is gone from Tempo, one makes Tempo fail, and Loki does not
	// answer in time for the second burst.
	early := demoTraces(3, seedStart, 10*time.Second, 3)
	late := demoTraces(3, seedStart.Add(time.Hour), 10*time.Second, 4)
	gone, broken := early[0].Trace.TraceID, early[1].Trace.TraceID
	srv := searchtest.Start(t, append(early, late...)...)
	srv.TraceHook = func(id string, w http.ResponseWriter, r *http.Request) bool {
		switch id {
		case gone:
			w.Header().Set("Content-Type", "application/protobuf")
			_, _ = w.Write([]byte{0x0a, 0x00, 0x12, 0x00}) // Tempo 3's "not found"
			return true
		case broken:
			http.Error(w, "internal error: failed to read block", http.StatusInternalServerError)
			return true
		}
		return false
	}
	lateStart := seedStart.Add(time.Hour - time.Minute).UnixNano()
	srv.LokiHook = func(w http.ResponseWriter, r *http.Request) bool {
		if start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64); start > lateStart {
			<-r.Context().Done() // until the client gives up
			return true
		}
		return false
	}
	e := explainer(t, srv)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	// The timeout must be long enough for every answering request on a
	// busy 2-core CI machine (-race, other packages' tests beside it): only
	// the hanging batch may reach it.
	e.Loki = loki.New(srv.Loki.URL, &http.Client{Transport: tr, Timeout: 5 * time.Second}, "")
	from, to := wholeDay()

	res, err := e.Search(context.Background(), "{}", from, to, 20, logOptions())
	if err != nil {
		t.Fatalf("a partial failure must not fail the search: %v", err)
	}
	if len(res.Found) != 6 || len(res.Fetched) != 4 {
		t.Fatalf("found %d, fetched %d; want 6 and 4", len(res.Found), len(res.Fetched))
	}
	if len(res.Notices) != 1 || res.Notices[0].Severity != Warning ||
		!strings.Contains(res.Notices[0].Text, "2 of the 6 traces") || !strings.Contains(res.Notices[0].Text, gone+": trace "+gone+" not found") ||
		!strings.Contains(res.Notices[0].Text, broken+": Tempo at") || !strings.Contains(res.Notices[0].Text, "HTTP 500") {
		t.Errorf("notices %+v", res.Notices)
	}
	for _, f := range res.Fetched {
		isLate := slices.ContainsFunc(late, func(tr searchtest.Trace) bool { return tr.Trace.TraceID == f.TraceID })
		switch {
		case isLate && (f.LogsErr == nil || !errors.Is(f.LogsErr, httpx.ErrTimeout)):
			t.Errorf("late trace %s: logs error %v, want a timeout", f.TraceID, f.LogsErr)
		case !isLate && (f.LogsErr != nil || len(f.Logs.Entries) == 0):
			t.Errorf("early trace %s: logs %v, error %v", f.TraceID, f.Logs, f.LogsErr)
		}
		if isLate {
			r := Analyze(f, correlate.DefaultOptions())
			if !slices.ContainsFunc(r.Notices, func(n Notice) bool { return strings.Contains(n.Text, "Logs are missing because Loki failed") }) {
				t.Errorf("late trace %s: no notice about its logs: %+v", f.TraceID, r.Notices)
			}
		}
	}
}

func TestSearchFailsWhenTempoFailsForEveryTrace(t *testing.T) {
	srv := searchtest.Start(t, demoTraces(3, seedStart, time.Second, 5)...)
	srv.TraceHook = func(_ string, w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, "too many open files", http.StatusServiceUnavailable)
		return true
	}
	from, to := wholeDay()
	_, err := explainer(t, srv).Search(context.Background(), "{}", from, to, 20, logOptions())
	if he, ok := errors.AsType[*httpx.HTTPError](err); !ok || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want Tempo's 503", err)
	}
	if srv.LokiRequests() != 0 {
		t.Errorf("%d Loki requests for no trace", srv.LokiRequests())
	}
}

func TestSearchErrors(t *testing.T) {
	srv := searchtest.Start(t, demoTraces(2, seedStart, time.Second, 6)...)
	e := explainer(t, srv)
	from, to := wholeDay()
	if _, err := e.Search(context.Background(), `{resource.service.name = }`, from, to, 20, logOptions()); err == nil || !strings.Contains(err.Error(), "invalid TraceQL query") {
		t.Errorf("bad TraceQL: %v", err)
	}
	res, err := e.Search(context.Background(), `{resource.service.name="nobody"}`, from, to, 20, logOptions())
	if err != nil || len(res.Fetched) != 0 || srv.TraceRequests() != 0 || srv.LokiRequests() != 0 {
		t.Errorf("no match: %+v, %v; %d trace and %d Loki requests", res, err, srv.TraceRequests(), srv.LokiRequests())
	}
	lo := logOptions()
	lo.Selector = "service_name=api"
	res, err = e.Search(context.Background(), "{}", from, to, 20, lo)
	if err != nil || len(res.Fetched) != 2 {
		t.Fatalf("bad selector: %v, %v", res, err)
	}
	for _, f := range res.Fetched {
		if f.LogsErr == nil || !strings.Contains(f.LogsErr.Error(), `must start with "{"`) {
			t.Errorf("bad selector: logs error %v", f.LogsErr)
		}
	}
}

func TestSearchBoundsConcurrency(t *testing.T) {
	srv := searchtest.Start(t, demoTraces(12, seedStart, time.Second, 7)...)
	var now, most atomic.Int64
	srv.TraceHook = func(string, http.ResponseWriter, *http.Request) bool {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond) // let others pile up, if they may
		return false
	}
	e := explainer(t, srv)
	e.Concurrency = 3
	from, to := wholeDay()
	res, err := e.Search(context.Background(), "{}", from, to, 20, logOptions())
	if err != nil || len(res.Fetched) != 12 {
		t.Fatalf("%v, %v", res, err)
	}
	if m := most.Load(); m > 3 || m < 1 {
		t.Errorf("%d trace requests ran at once, want at most 3", m)
	}
}

func TestSearchStopsWhenCancelled(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	srv := searchtest.Start(t, demoTraces(20, seedStart, time.Second, 8)...)
	arrived := make(chan struct{}, 100)
	srv.TraceHook = func(_ string, _ http.ResponseWriter, r *http.Request) bool {
		arrived <- struct{}{}
		<-r.Context().Done() // Tempo is slow: only a cancel ends this
		return true
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections() // before goleak looks
	hc := &http.Client{Transport: tr}
	e := &Explainer{Tempo: tempo.New(srv.Tempo.URL, hc, ""), Loki: loki.New(srv.Loki.URL, hc, ""), Concurrency: 4}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	from, to := wholeDay()
	go func() {
		_, err := e.Search(ctx, "{}", from, to, 20, logOptions())
		done <- err
	}()
	for range 4 {
		<-arrived // the first four fetches are running
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Search returned only after its requests did; none started after the
	// cancel, and Loki was never asked.
	if n := srv.TraceRequests(); n != 4 {
		t.Errorf("%d trace requests, want the 4 that ran before the cancel", n)
	}
	if srv.LokiRequests() != 0 {
		t.Errorf("%d Loki requests after a cancel", srv.LokiRequests())
	}
	srv.Close() // waits for the handlers; goleak checks the rest
}

func TestSearchCapsLinesPerTrace(t *testing.T) {
	traces := demoTraces(3, seedStart, time.Second, 9)
	srv := searchtest.Start(t, traces...)
	lo := logOptions()
	lo.Mode, lo.MaxLines = loki.ModeMetadata, 4
	from, to := wholeDay()
	res, err := explainer(t, srv).Search(context.Background(), "{}", from, to, 20, lo)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Fetched {
		if len(f.Logs.Entries) != 4 || !f.Logs.Capped || !slices.ContainsFunc(f.Logs.Notices, func(n string) bool { return strings.Contains(n, "only the first 4 log lines") }) {
			t.Errorf("%s: %d entries, capped %v, notices %q", f.TraceID, len(f.Logs.Entries), f.Logs.Capped, f.Logs.Notices)
		}
	}
	// The batch asked for the lines of all three at once; the first trace
	// used them up, so the other two were asked for alone.
	q := srv.LokiQueries()
	if len(q) != 3 || q[0].Limit != 3*4+1 || q[1].Limit != 4+1 || q[2].Limit != 4+1 {
		t.Errorf("Loki queries %+v, want one for 13 lines, then two for 5", q)
	}
}

func TestForEachRunsEverythingOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	forEach(context.Background(), 50, 4, func(i int) {
		mu.Lock()
		seen[i]++
		mu.Unlock()
	})
	if len(seen) != 50 {
		t.Errorf("ran %d of 50", len(seen))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("%d ran %d times", i, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := 0
	forEach(ctx, 10, 2, func(int) { ran++ })
	if ran != 0 {
		t.Errorf("ran %d after a cancel", ran)
	}
}

func TestSearchPagesWithLokisEntryLimit(t *testing.T) {
	traces := append([]searchtest.Trace{seedTrace(t)}, demoTraces(3, seedStart.Add(time.Second), time.Second, 23)...)
	srv := searchtest.Start(t, traces...)
	srv.MaxEntries = 10 // a Loki configured far below the default 5000
	lo := logOptions()
	lo.Mode = loki.ModeMetadata
	from, to := wholeDay()
	res, err := explainer(t, srv).Search(context.Background(), "{}", from, to, 20, lo)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, tr := range traces {
		total += ownEntries(tr, 5*time.Second)
	}
	got := 0
	for _, f := range res.Fetched {
		if f.LogsErr != nil || f.Logs.Capped {
			t.Fatalf("%s: error %v, capped %v", f.TraceID, f.LogsErr, f.Logs.Capped)
		}
		got += len(f.Logs.Entries)
		if !slices.ContainsFunc(f.Logs.Notices, func(n string) bool { return strings.Contains(n, "pages of 10 were used") }) {
			t.Errorf("%s: notices %q", f.TraceID, f.Logs.Notices)
		}
	}
	// One refused request, then pages of 10 over every line of the batch.
	if got != total || srv.LokiRequests() < 1+total/10 {
		t.Errorf("%d of %d entries in %d Loki requests", got, total, srv.LokiRequests())
	}
	if a := analyze(res.Fetched[indexOf(res.Fetched, seedID)]); service(a, "widget-service").Wait != 1400*time.Millisecond {
		t.Errorf("seed across pages: widget-service wait %v", service(a, "widget-service").Wait)
	}
}
