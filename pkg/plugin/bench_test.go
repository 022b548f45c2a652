package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/correlate/synth"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/frames"
	"github.com/tracegap/correlator/pkg/internal/bigtrace"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
)

// bigConfig is the end-to-end benchmark's trace: 10 000 spans with ten log
// lines each (synth puts about 1% of them in another trace, which Loki's
// filters leave out) and five chatty spans with 200 lines more each, far
// over the trace view's per-span cap: about 100 000 lines of the trace,
// twenty pages of 5 000 for each of auto mode's two queries.
var bigConfig = bigtrace.Config{Spans: 10_000, LinesPerSpan: 10, ChattySpans: 5, ChattyLines: 200, Seed: 1}

// bigFakes are fake Tempo and Loki servers holding a generated trace and
// its logs, preloaded: every Loki value is encoded once, and every answer is
// kept after it was first built, so serving a page is a write of ready bytes.
type bigFakes struct {
	tempoURL, lokiURL string
	lines             int // entries the trace's queries select
	spans             int
	// served returns the body bytes both fakes have sent so far.
	served func(testing.TB) int64
}

// fakesSpec is what a fakes process serves.
type fakesSpec struct {
	Trace bigtrace.Config
	// LokiLatency delays every Loki answer, as a real Loki's query time
	// does; the in-process fakes answer in microseconds.
	LokiLatency time.Duration
}

// fakesEnv holds the fakesSpec (JSON) of a fakes process.
const fakesEnv = "TRACEGAP_BIGTRACE_FAKES"

// servedPath is where a fakes process reports the bytes it has sent.
const servedPath = "/bigtrace/served"

// startFakes builds the fakes for cfg in this process.
func startFakes(tb testing.TB, spec fakesSpec) (*bigFakes, []*httptest.Server) {
	d := bigtrace.Generate(spec.Trace)
	tempoFake := bigtrace.NewTempo(bigtrace.TraceID, d.TempoV2)
	lokiFake := bigtrace.NewLoki(d.Entries, realStats(tb))
	lokiFake.CachePages = true
	lokiFake.Latency = spec.LokiLatency
	q, err := loki.LineQuery(`{service_name=~".+"}`, bigtrace.TraceID)
	if err != nil {
		tb.Fatal(err)
	}
	f := &bigFakes{spans: len(d.Trace.Spans)}
	if f.lines, err = lokiFake.Selected(q); err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", lokiFake)
	mux.HandleFunc(servedPath, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, tempoFake.BytesServed()+lokiFake.BytesServed())
	})
	tempoSrv, lokiSrv := httptest.NewServer(tempoFake), httptest.NewServer(mux)
	f.tempoURL, f.lokiURL = tempoSrv.URL, lokiSrv.URL
	f.served = func(testing.TB) int64 { return tempoFake.BytesServed() + lokiFake.BytesServed() }
	return f, []*httptest.Server{tempoSrv, lokiSrv}
}

// TestBigTraceFakesProcess is not a test: the benchmarks run this test
// binary again with fakesEnv set, and this function then serves the fakes
// until its standard input closes (when the benchmark process exits). The
// fakes live in their own process so that the benchmark's heap, allocations
// and CPU profile are the plugin's alone, and the fakes' tens of MiB of
// preloaded pages do not move the garbage collector's pacing.
func TestBigTraceFakesProcess(t *testing.T) {
	raw := os.Getenv(fakesEnv)
	if raw == "" {
		t.Skip("the big-trace benchmarks run this as their fake Tempo and Loki process")
	}
	var spec fakesSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	f, _ := startFakes(t, spec)
	fmt.Printf("BIGTRACE %s %s %d %d\n", f.tempoURL, f.lokiURL, f.lines, f.spans)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// fakesStdin holds the standard input of every fakes process.
var fakesStdin []io.WriteCloser

// startFakesProcess runs the fakes for spec in a child process.
func startFakesProcess(tb testing.TB, spec fakesSpec) *bigFakes {
	raw, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBigTraceFakesProcess$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), fakesEnv+"="+string(raw))
	cmd.Stderr = io.Discard
	// The pipe stays open for the life of this process (fakesStdin keeps it
	// from the finalizer that would close it); the child exits when it closes.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	fakesStdin = append(fakesStdin, stdin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	f := &bigFakes{}
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "BIGTRACE %s %s %d %d", &f.tempoURL, &f.lokiURL, &f.lines, &f.spans); err == nil {
			break
		}
	}
	if f.lokiURL == "" {
		tb.Fatalf("the fakes process did not start: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	f.served = func(tb testing.TB) int64 {
		resp, err := http.Get(f.lokiURL + servedPath)
		if err != nil {
			tb.Fatal(err)
		}
		defer resp.Body.Close()
		var n int64
		if _, err := fmt.Fscan(resp.Body, &n); err != nil {
			tb.Fatal(err)
		}
		return n
	}
	return f
}

// bigEnv is a data source instance on the fakes.
type bigEnv struct {
	*bigFakes
	pCtx  backend.PluginContext
	ds    *Datasource
	query backend.DataQuery
}

var (
	bigOnce, slowOnce sync.Once
	big, slow         *bigEnv
)

// bigSetup builds the benchmarks' environment once per test binary;
// generating and encoding 100 000 lines takes longer than a query.
func bigSetup(b testing.TB) *bigEnv {
	bigOnce.Do(func() { big = newBigEnv(b, startFakesProcess(b, fakesSpec{Trace: bigConfig})) })
	if big == nil {
		b.Fatal("the big trace environment failed to build")
	}
	return big
}

// slowLokiLatency is the slow Loki's time per query_range: a modest figure
// for a real Loki reading 5 000 entries of one trace from object storage.
const slowLokiLatency = 25 * time.Millisecond

// slowSetup is bigSetup with a Loki that takes slowLokiLatency per answer.
func slowSetup(b testing.TB) *bigEnv {
	slowOnce.Do(func() {
		slow = newBigEnv(b, startFakesProcess(b, fakesSpec{Trace: bigConfig, LokiLatency: slowLokiLatency}))
	})
	if slow == nil {
		b.Fatal("the slow-Loki environment failed to build")
	}
	return slow
}

// newBigEnv makes a data source instance on the fakes, with lokiMaxLines
// raised to 200 000.
func newBigEnv(tb testing.TB, f *bigFakes) *bigEnv {
	env := &bigEnv{bigFakes: f}
	raw, err := json.Marshal(settingsFor(f.tempoURL, f.lokiURL, "lokiMaxLines", 200_000))
	if err != nil {
		tb.Fatal(err)
	}
	n := instanceSeq.Add(1)
	env.pCtx = backend.PluginContext{OrgID: 1, PluginID: PluginID, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
		ID: n, UID: fmt.Sprintf("tracegap-big-%d", n), Name: "Tracegap", Type: PluginID, JSONData: raw, Updated: time.Now(),
	}}
	inst, err := NewDatasource(context.Background(), *env.pCtx.DataSourceInstanceSettings)
	if err != nil {
		tb.Fatal(err)
	}
	env.ds = inst.(*Datasource)
	if env.ds.settingsErr != nil {
		tb.Fatal(env.ds.settingsErr)
	}
	env.query = backend.DataQuery{
		RefID: "A", QueryType: QueryTypeTrace,
		JSON:      []byte(`{"refId":"A","queryType":"trace","traceId":"` + bigtrace.TraceID + `"}`),
		TimeRange: backend.TimeRange{From: synth.Base.Add(-time.Hour), To: synth.Base.Add(time.Hour)},
	}
	return env
}

// realStats is the data.stats member of a real Loki v3.7.6 answer, so the
// fake's pages carry what the decoder must skip.
func realStats(tb testing.TB) []byte {
	var body struct {
		Data struct {
			Stats json.RawMessage `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal(fixtures.Load(tb, "loki/query_range_line_filter_categorized").Body, &body); err != nil || len(body.Data.Stats) == 0 {
		tb.Fatalf("stats of the real capture: %v", err)
	}
	return body.Data.Stats
}

// queryData runs the trace query on the instance, as the SDK calls it.
func (e *bigEnv) queryData(tb testing.TB) backend.DataResponse {
	resp, err := e.ds.QueryData(context.Background(), &backend.QueryDataRequest{PluginContext: e.pCtx, Queries: []backend.DataQuery{e.query}})
	if err != nil {
		tb.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		tb.Fatal(r.Error)
	}
	return r
}

// check fails unless the response holds the whole trace and the lines a
// person is shown: the logs frame the first maxLogLines by preference with
// a notice counting every line analysed, the trace frame on each span at
// most the per-span cap and in all at most the total cap, with a tag on
// each span naming how many of its lines are left out.
func (e *bigEnv) check(tb testing.TB, r backend.DataResponse) {
	tb.Helper()
	if len(r.Frames) != 7 {
		tb.Fatalf("%d frames, want 7 (trace, logs, gaps, retries, spans, breakdown, findings)", len(r.Frames))
	}
	tr, logs, spansFrame := r.Frames[0], r.Frames[1], r.Frames[4]
	maxLogs := e.ds.settings.MaxLogLines
	// The engine's entries are the selected lines and the span events, which
	// are log entries of their spans too (docs/analysis.md, Inputs).
	total := e.lines + bigtrace.EventCount(e.spans)
	if tr.Rows() != e.spans || logs.Rows() != min(total, maxLogs) {
		tb.Fatalf("trace frame %d rows, logs frame %d; want %d spans and %d of %d lines + events", tr.Rows(), logs.Rows(), e.spans, min(total, maxLogs), total)
	}
	if total > maxLogs {
		want := fmt.Sprintf("shows %d of the %d log lines analysed", maxLogs, total)
		if len(logs.Meta.Notices) == 0 || !strings.Contains(logs.Meta.Notices[len(logs.Meta.Notices)-1].Text, want) {
			tb.Errorf("logs frame notices %+v lack %q", logs.Meta.Notices, want)
		}
	}
	// Lines per span from the spans frame (the engine's count) for the
	// spans it lists (maxTableRows); for every span, what it shows and its
	// hidden-lines tag must add up to the lines analysed.
	perSpan := map[string]int{}
	sIDs, _ := spansFrame.FieldByName("spanID")
	sCounts, _ := spansFrame.FieldByName("logCount")
	for i := 0; i < spansFrame.Rows(); i++ {
		perSpan[sIDs.At(i).(string)] = int(toFloat(sCounts.At(i)))
	}
	if want := min(e.spans, e.ds.settings.MaxTableRows); spansFrame.Rows() != want {
		tb.Errorf("the spans frame lists %d spans, want %d (maxTableRows)", spansFrame.Rows(), want)
	}
	ids, _ := tr.FieldByName("spanID")
	parents, _ := tr.FieldByName("parentSpanID")
	logsField, _ := tr.FieldByName("logs")
	tags, _ := tr.FieldByName("tags")
	capped, embedded, accounted := 0, 0, 0
	for i := 0; i < tr.Rows(); i++ {
		var ls []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(logsField.At(i).(json.RawMessage), &ls); err != nil {
			tb.Fatal(err)
		}
		var kvs []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		}
		if err := json.Unmarshal(tags.At(i).(json.RawMessage), &kvs); err != nil {
			tb.Fatal(err)
		}
		hidden := 0
		for _, kv := range kvs {
			if kv.Key == frames.TagHiddenLines {
				hidden = int(toFloat(kv.Value))
			}
		}
		// Span events are entries of their span too, but the trace view
		// shows them always (they are the trace's own); the cap is on lines.
		shown, events := len(ls), 0
		for _, l := range ls {
			if l.Name == bigtrace.EventName {
				events++
			}
		}
		embedded += shown - events
		accounted += shown + hidden
		if shown-events > frames.DefaultMaxLinesPerSpan {
			tb.Fatalf("span %d shows %d lines; the cap is %d", i, shown-events, frames.DefaultMaxLinesPerSpan)
		}
		// The root also shows the trace-level lines, which no span counts.
		if want, ok := perSpan[ids.At(i).(string)]; ok && parents.At(i).(string) != "" && shown+hidden != want {
			tb.Errorf("span %d shows %d lines and hides %d (its tag), but the engine counted %d", i, shown, hidden, want)
		}
		if hidden > 0 {
			capped++
		}
	}
	if accounted != total {
		tb.Errorf("the spans show %d lines and hide %d by their tags: %d, want the %d analysed", embedded, accounted-embedded, accounted, total)
	}
	maxEmbedded := e.ds.settings.MaxEmbeddedLines
	if embedded > maxEmbedded {
		tb.Errorf("the trace frame carries %d lines, over the cap of %d", embedded, maxEmbedded)
	}
	if capped < bigConfig.ChattySpans {
		tb.Errorf("%d spans say some of their lines are hidden, want at least the %d chatty ones", capped, bigConfig.ChattySpans)
	}
	if g := r.Frames[2]; g.Rows() > e.ds.settings.MaxTableRows {
		tb.Errorf("the gaps frame lists %d waits, over maxTableRows %d", g.Rows(), e.ds.settings.MaxTableRows)
	} else if g.Rows() == e.ds.settings.MaxTableRows && !slices.ContainsFunc(g.Meta.Notices, func(n data.Notice) bool { return strings.Contains(n.Text, "waits found (maxTableRows)") }) {
		tb.Errorf("the gaps frame is at its cap without saying so: %+v", g.Meta.Notices)
	}
	if !slices.ContainsFunc(tr.Meta.Notices, func(n data.Notice) bool { return strings.Contains(n.Text, "of their log lines in the trace view") }) {
		tb.Errorf("trace frame notices %+v lack the cap", tr.Meta.Notices)
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float64:
		return x
	case int:
		return float64(x)
	}
	return -1
}

// heapSampler records the peak of the Go heap (bytes in live and not yet
// swept objects: what runtime.MemStats.HeapAlloc reports) while it runs,
// reading runtime/metrics, which does not stop the world.
type heapSampler struct {
	stop chan struct{}
	done chan int64
}

var heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() int64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		s := []metrics.Sample{{Name: heapMetric}}
		var peak uint64
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				metrics.Read(s)
				h.done <- int64(max(peak, s[0].Value.Uint64()))
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) peak() int64 {
	close(h.stop)
	return <-h.done
}

// BenchmarkBigTraceQuery is the end-to-end figure: one trace query for a
// 10 000-span trace with about 100 000 log lines (twenty Loki pages of 5 000
// per query, auto mode's two queries concurrently), through the data source
// instance's QueryData, against in-process fake Tempo and Loki.
//
// It calls QueryData on the instance rather than over datasourcetest's
// gRPC, for two reasons: the peak heap must be the plugin's own, and over
// in-process gRPC the test client's decoding of the response would share
// the heap; and datasourcetest's client refuses messages over 16 MiB, while
// this answer is some 85 MiB of Arrow (Grafana's own client has no such cap;
// BenchmarkBigTraceStages/arrow measures the encoding the SDK adds). Before
// each query the heap is collected (outside the timer), as a plugin at rest
// would be; heap-x is the peak heap growth during the query over the bytes
// both fakes sent.
//
// The trace is far over the byte budget of the instance's cache of
// fetched traces, so every query fetches it again; the benchmark fails if
// a query fetches nothing.
//
// Target: ≤ 1 s per query and heap-x ≤ 4.
func BenchmarkBigTraceQuery(b *testing.B) {
	env := bigSetup(b)
	env.check(b, env.queryData(b)) // warm up connections; check the answer

	b.Run("instance", func(b *testing.B) {
		var peakSum, recvSum int64
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			recv0 := env.served(b)
			runtime.GC()
			base := heapNow()
			h := startHeapSampler()
			b.StartTimer()
			env.queryData(b)
			b.StopTimer()
			peakSum += h.peak() - base
			recv := env.served(b) - recv0
			if recv == 0 {
				// The instance's cache of fetched traces answered: that is
				// not the figure this benchmark is for.
				b.Fatal("the query fetched nothing: it was answered from the instance's trace cache")
			}
			recvSum += recv
			b.StartTimer()
		}
		b.ReportMetric(float64(peakSum)/float64(recvSum), "heap-x")
		b.ReportMetric(float64(peakSum)/float64(b.N), "peak-B")
		b.ReportMetric(float64(recvSum)/float64(b.N), "recv-B")
		b.ReportMetric(float64(env.lines), "lines")
	})
}

// BenchmarkBigTraceStages splits the end-to-end figure into its stages, run
// on the same data one at a time: Tempo fetch+decode, Loki fetch+decode (both
// queries, all pages, merged), the analysis, the five frames, and the Arrow
// encoding the SDK does before sending them.
func BenchmarkBigTraceStages(b *testing.B) {
	env := bigSetup(b)
	q, err := parseQuery(env.query)
	if err != nil {
		b.Fatal(err)
	}
	lo, opts, err := q.analysisOptions(env.ds.settings)
	if err != nil {
		b.Fatal(err)
	}
	start, end := tempoRange(q.TimeRange)
	ex := &explain.Explainer{Tempo: env.ds.tempo, Loki: env.ds.loki}
	ctx := context.Background()
	f, err := ex.Fetch(ctx, bigtrace.TraceID, start, end, lo)
	if err != nil {
		b.Fatal(err)
	}
	if f.LogsErr != nil {
		b.Fatal(f.LogsErr)
	}
	lq := loki.LogQuery{
		TraceID: f.TraceID, Selector: lo.Selector, Mode: lo.Mode, TraceIDFields: lo.TraceIDFields,
		Start: f.LogStart, End: f.LogEnd, MaxLines: lo.MaxLines,
	}
	res := explain.Analyze(f, opts)
	fo := frames.Options{RefID: "A", ExecutedQueryString: executedQuery(res, lo), MaxLinesPerSpan: env.ds.settings.MaxLinesPerSpan, Notices: notices(res.Notices)}

	b.Run("tempo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := env.ds.tempo.Trace(ctx, bigtrace.TraceID, start, end); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("loki", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := env.ds.loki.TraceLogs(ctx, lq)
			if err != nil || len(r.Entries) != env.lines {
				b.Fatalf("%v, %d entries", err, len(r.Entries))
			}
		}
	})
	b.Run("analyze", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			explain.Analyze(f, opts)
		}
	})
	b.Run("frames", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			traceFrames(res, fo)
		}
	})
	b.Run("arrow", func(b *testing.B) {
		fs := traceFrames(res, fo)
		var size int
		b.ReportAllocs()
		for b.Loop() {
			enc, err := fs.MarshalArrow()
			if err != nil {
				b.Fatal(err)
			}
			size = 0
			for _, e := range enc {
				size += len(e)
			}
		}
		b.ReportMetric(float64(size), "arrow-B")
		// Each frame's share: what a smaller answer has to cut.
		for _, f := range fs {
			enc, err := f.MarshalArrow()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(enc)), f.Name+"-B")
		}
	})
}

// BenchmarkBigTraceLokiSplit compares fetching the trace's logs (both
// queries of auto mode, about 21 pages each) in one forward paging per
// query with fetching the range in 2 or 4 parts at once (loki.PageSplit),
// against the fake Loki as is and against one that takes slowLokiLatency
// per answer, as a real one does. pages is the requests per fetch.
func BenchmarkBigTraceLokiSplit(b *testing.B) {
	for _, latency := range []time.Duration{0, slowLokiLatency} {
		env := bigSetup(b)
		if latency > 0 {
			env = slowSetup(b)
		}
		q, err := parseQuery(env.query)
		if err != nil {
			b.Fatal(err)
		}
		lo, _, err := q.analysisOptions(env.ds.settings)
		if err != nil {
			b.Fatal(err)
		}
		start, end := tempoRange(q.TimeRange)
		tr, err := env.ds.tempo.Trace(context.Background(), bigtrace.TraceID, start, end)
		if err != nil {
			b.Fatal(err)
		}
		first, last := tr.Trace.Bounds()
		for _, split := range []int{1, 2, 4} {
			lq := loki.LogQuery{
				TraceID: bigtrace.TraceID, Selector: lo.Selector, Mode: lo.Mode, TraceIDFields: lo.TraceIDFields,
				Start: first.Add(-lo.Margin), End: last.Add(lo.Margin), MaxLines: lo.MaxLines, Split: split,
			}
			b.Run(fmt.Sprintf("latency=%s/split=%d", latency, split), func(b *testing.B) {
				var pages int
				fetch := func() {
					r, err := env.ds.loki.TraceLogs(context.Background(), lq)
					if err != nil || len(r.Entries) != env.lines {
						b.Fatalf("%v, %d entries, want %d", err, len(r.Entries), env.lines)
					}
					pages = r.Pages
				}
				fetch() // the fake builds these pages once
				b.ReportAllocs()
				for b.Loop() {
					fetch()
				}
				b.ReportMetric(float64(pages), "pages")
			})
		}
	}
}

// TestBigTraceQueryShape runs the benchmark's query once at a tenth of the
// scale, so the checks the benchmark relies on (every line in the logs
// frame, the per-span cap with its tags) run with the tests.
func TestBigTraceQueryShape(t *testing.T) {
	cfg := bigConfig
	cfg.Spans = 1_000
	f, srvs := startFakes(t, fakesSpec{Trace: cfg})
	for _, s := range srvs {
		t.Cleanup(s.Close)
	}
	env := newBigEnv(t, f)
	r := env.queryData(t)
	env.check(t, r)
}
