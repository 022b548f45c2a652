package demo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// received is one request a receiver captured.
type received struct {
	path, contentType, tenant string
	body                      []byte
}

// receiver records what is POSTed to it and answers with h.
type receiver struct {
	mu   sync.Mutex
	reqs []received
	seen chan struct{}
}

func newReceiver() *receiver { return &receiver{seen: make(chan struct{}, 1000)} }

func (rc *receiver) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-Scope-OrgID"), body})
		rc.mu.Unlock()
		rc.seen <- struct{}{}
		h.ServeHTTP(w, r)
	})
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// tempoServer answers OTLP/HTTP like Tempo's receiver did for the captures
// (200 {"partialSuccess":{}}).
func tempoServer(t *testing.T, rc *receiver) *httptest.Server {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != TempoTracesPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"partialSuccess":{}}`)
	})
	s := httptest.NewServer(rc.wrap(ok))
	t.Cleanup(s.Close)
	return s
}

// lokiServer answers pushes with the real captures of a Loki with auth
// enabled: 401 "no org id" without X-Scope-OrgID, 204 with one.
func lokiServer(t *testing.T, rc *receiver) *fixtures.Server {
	return fixtures.Loki(t,
		fixtures.Route{Method: http.MethodPost, Path: LokiPushPath, Handler: rc.wrap(fixtures.Load(t, "loki/auth_push_with_org_id"))},
		fixtures.Route{Method: http.MethodPost, Path: LokiPushPath, Match: fixtures.HeaderIs("X-Scope-OrgID", ""),
			Handler: rc.wrap(fixtures.Load(t, "loki/auth_push_missing_org_id"))},
	)
}

var clock = time.Date(2026, 11, 25, 16, 37, 37, 123_000_000, time.UTC)

func TestRunOnceSendsOneTraceToTempoAndLoki(t *testing.T) {
	tempoRC, lokiRC := newReceiver(), newReceiver()
	tempo, loki := tempoServer(t, tempoRC), lokiServer(t, lokiRC)
	sender, err := NewSender(tempo.Client(), tempo.URL, loki.URL, "tenant-a")
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Options{Logger: quiet, Sender: sender, Once: true, Seed: 11, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	tr, lk := tempoRC.all(), lokiRC.all()
	if len(tr) != 1 || len(lk) != 1 {
		t.Fatalf("Tempo got %d requests, Loki %d; want one each", len(tr), len(lk))
	}
	for _, r := range []received{tr[0], lk[0]} {
		if r.tenant != "tenant-a" {
			t.Errorf("%s: X-Scope-OrgID %q, want tenant-a", r.path, r.tenant)
		}
	}
	if tr[0].path != "/v1/traces" || tr[0].contentType != "application/x-protobuf" {
		t.Errorf("Tempo got %s (%s), want /v1/traces as application/x-protobuf", tr[0].path, tr[0].contentType)
	}
	if lk[0].path != "/loki/api/v1/push" || lk[0].contentType != "application/json" {
		t.Errorf("Loki got %s (%s), want /loki/api/v1/push as application/json", lk[0].path, lk[0].contentType)
	}

	spans := decodeOTLP(t, tr[0].body)
	entries := decodePush(t, lk[0].body)
	checkSent(t, spans, entries)

	// The trace has just finished: its last span or line is "now".
	var last int64
	for _, s := range spans {
		last = max(last, s.end)
	}
	for _, e := range entries {
		last = max(last, e.ts)
	}
	if want := clock.UnixNano(); last != want {
		t.Errorf("the trace ends at %v, want now (%v)", time.Unix(0, last).UTC(), clock)
	}
}

func TestRunOnceSeedStoryFirst(t *testing.T) {
	tempoRC, lokiRC := newReceiver(), newReceiver()
	tempo, loki := tempoServer(t, tempoRC), lokiServer(t, lokiRC)
	sender, err := NewSender(nil, tempo.URL, loki.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Options{Logger: quiet, Sender: sender, Once: true, SeedStoryFirst: true, Now: func() time.Time { return clock }}); err != nil {
		t.Fatal(err)
	}
	spans := decodeOTLP(t, tempoRC.all()[0].body)
	checkSent(t, spans, decodePush(t, lokiRC.all()[0].body))
	if len(spans) != 9 {
		t.Fatalf("%d spans, want the seed's 9", len(spans))
	}
	// The seed's last line is at +1950 ms, so its root starts 1950 ms ago.
	for _, s := range spans {
		if s.parent == "" && time.Duration(clock.UnixNano()-s.start) != 1950*time.Millisecond {
			t.Errorf("root starts %v before now, want 1.95s", time.Duration(clock.UnixNano()-s.start))
		}
	}
}

func TestRunOnceReportsWhatLokiSaid(t *testing.T) {
	tempoRC, lokiRC := newReceiver(), newReceiver()
	tempo, loki := tempoServer(t, tempoRC), lokiServer(t, lokiRC)
	sender, err := NewSender(nil, tempo.URL, loki.URL, "") // no tenant: Loki has auth on
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Options{Logger: quiet, Sender: sender, Once: true, Seed: 3})
	if err == nil {
		t.Fatal("Run succeeded although Loki answered 401")
	}
	for _, want := range []string{"Loki", "401", "no org id", "--tenant"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := len(tempoRC.all()); n != 1 {
		t.Errorf("Tempo got %d requests: a Loki failure must not stop the trace", n)
	}
	if got := lokiRC.all(); len(got) != 1 || got[0].tenant != "" {
		t.Errorf("Loki got %d requests, want 1 without X-Scope-OrgID", len(got))
	}
}

func TestRunOnceTempoDown(t *testing.T) {
	lokiRC := newReceiver()
	loki := lokiServer(t, lokiRC)
	sender, err := NewSender(nil, fixtures.ClosedURL(t), loki.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Options{Logger: quiet, Sender: sender, Once: true, Seed: 3})
	if err == nil || !strings.Contains(err.Error(), "Tempo") || !strings.Contains(err.Error(), "is it running") {
		t.Errorf("error %v: want it to name Tempo and ask whether it runs", err)
	}
	if len(lokiRC.all()) != 1 {
		t.Error("Loki got nothing: a Tempo failure must not stop the logs")
	}
}

// TestRunStopsBetweenTraces cancels a running loop and checks that every
// trace it started was sent whole: as many Tempo as Loki requests.
func TestRunStopsBetweenTraces(t *testing.T) {
	tempoRC, lokiRC := newReceiver(), newReceiver()
	tempo, loki := tempoServer(t, tempoRC), lokiServer(t, lokiRC)
	sender, err := NewSender(nil, tempo.URL, loki.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Logger: quiet, Sender: sender, Interval: time.Millisecond, Seed: 9}) }()
	for range 3 {
		select {
		case <-tempoRC.seen:
		case <-time.After(10 * time.Second):
			t.Fatal("no trace arrived")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	tr, lk := tempoRC.all(), lokiRC.all()
	if len(tr) < 3 || len(tr) != len(lk) {
		t.Fatalf("Tempo got %d traces, Loki %d pushes: want the same, at least 3", len(tr), len(lk))
	}
	ids := map[string]bool{}
	for i := range tr {
		spans := decodeOTLP(t, tr[i].body)
		checkSent(t, spans, decodePush(t, lk[i].body))
		if ids[spans[0].trace] {
			t.Errorf("trace id %s sent twice", spans[0].trace)
		}
		ids[spans[0].trace] = true
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	if err := Run(context.Background(), Options{}); err == nil {
		t.Error("Run without a sender succeeded")
	}
	s, _ := NewSender(nil, "http://tempo:4318", "http://loki:3100", "")
	if err := Run(context.Background(), Options{Sender: s}); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("Run with no interval: %v", err)
	}
}

func TestNewSenderURLs(t *testing.T) {
	for _, tc := range []struct {
		tempo, loki         string
		wantTempo, wantLoki string
		wantErr             string
	}{
		{tempo: "http://tempo:4318", loki: "http://loki:3100",
			wantTempo: "http://tempo:4318/v1/traces", wantLoki: "http://loki:3100/loki/api/v1/push"},
		{tempo: "http://tempo:4318/", loki: "https://loki.example/base/",
			wantTempo: "http://tempo:4318/v1/traces", wantLoki: "https://loki.example/base/loki/api/v1/push"},
		{tempo: "http://tempo:4318/v1/traces", loki: "http://loki:3100/loki/api/v1/push",
			wantTempo: "http://tempo:4318/v1/traces", wantLoki: "http://loki:3100/loki/api/v1/push"},
		{tempo: "tempo:4318", loki: "http://loki:3100", wantErr: `--tempo "tempo:4318" is not an http(s) URL`},
		{tempo: "http://tempo:4318", loki: "", wantErr: `--loki "" is not an http(s) URL`},
		{tempo: "http://tempo:4318", loki: "ftp://loki", wantErr: "--loki"},
	} {
		s, err := NewSender(nil, tc.tempo, tc.loki, "")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewSender(%q, %q) error %v, want %q", tc.tempo, tc.loki, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSender(%q, %q): %v", tc.tempo, tc.loki, err)
			continue
		}
		if s.TempoURL != tc.wantTempo || s.LokiURL != tc.wantLoki {
			t.Errorf("NewSender(%q, %q) = %s, %s; want %s, %s", tc.tempo, tc.loki, s.TempoURL, s.LokiURL, tc.wantTempo, tc.wantLoki)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "1/s", want: time.Second},
		{in: "2", want: 500 * time.Millisecond},
		{in: "0.5/s", want: 2 * time.Second},
		{in: "30/m", want: 2 * time.Second},
		{in: "60/h", want: time.Minute},
		{in: " 4 / s ", want: 250 * time.Millisecond},
		{in: "0/s", err: true},
		{in: "-1/s", err: true},
		{in: "1/d", err: true},
		{in: "fast", err: true},
		{in: "5000/s", err: true},
	} {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// sentSpan is a span as Tempo received it.
type sentSpan struct {
	trace, id, parent, service string
	start, end                 int64
}

// decodeOTLP decodes an OTLP/HTTP protobuf body as the collector's
// ExportTraceServiceRequest, the message Tempo's receiver expects.
func decodeOTLP(t *testing.T, body []byte) []sentSpan {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatalf("OTLP body: %v", err)
	}
	var out []sentSpan
	for _, rs := range req.ResourceSpans {
		svc := ""
		for _, a := range rs.Resource.GetAttributes() {
			if a.Key == "service.name" {
				svc = a.GetValue().GetStringValue()
			}
		}
		if svc == "" {
			t.Errorf("resource without service.name: %v", rs.Resource)
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				out = append(out, sentSpan{hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId),
					hex.EncodeToString(s.ParentSpanId), svc, int64(s.StartTimeUnixNano), int64(s.EndTimeUnixNano)})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("OTLP body has no spans")
	}
	return out
}

// sentEntry is a log entry as Loki received it.
type sentEntry struct {
	service, line, traceID, spanID string
	ts                             int64
}

// decodePush decodes a Loki push body strictly in the shape scenario.json's
// lokiPushRequest has: streams of [ns string, line, {trace_id, span_id}].
func decodePush(t *testing.T, body []byte) []sentEntry {
	t.Helper()
	var req struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("Loki push body: %v", err)
	}
	var out []sentEntry
	for _, st := range req.Streams {
		svc := st.Stream["service_name"]
		if svc == "" || len(st.Stream) != 1 {
			t.Errorf("stream labels %v: want exactly service_name", st.Stream)
		}
		var prev int64
		for _, v := range st.Values {
			if len(v) != 3 {
				t.Fatalf("entry %s: want [ts, line, metadata]", v)
			}
			var tsStr, line string
			var md map[string]string
			if err := json.Unmarshal(v[0], &tsStr); err != nil {
				t.Fatalf("timestamp %s: want a string of unix nanoseconds", v[0])
			}
			ts, err := strconv.ParseInt(tsStr, 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", tsStr, err)
			}
			if ts < prev {
				t.Errorf("%s: entries out of time order", svc)
			}
			prev = ts
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatalf("line %s: %v", v[1], err)
			}
			if err := json.Unmarshal(v[2], &md); err != nil || len(md) != 2 {
				t.Fatalf("structured metadata %s: want {trace_id, span_id}", v[2])
			}
			out = append(out, sentEntry{svc, line, md["trace_id"], md["span_id"], ts})
		}
	}
	return out
}

var logfmtID = regexp.MustCompile(`(trace_id|span_id)=([0-9a-f]+)`)

// checkSent checks that what Tempo and Loki received joins: one trace id,
// every entry's metadata and line naming that trace and one of its spans,
// the line's own timestamp equal to Loki's, children inside parents except
// the widget-service anomaly.
func checkSent(t *testing.T, spans []sentSpan, entries []sentEntry) {
	t.Helper()
	traceID := spans[0].trace
	byID := map[string]sentSpan{}
	for _, s := range spans {
		if s.trace != traceID {
			t.Errorf("span %s has trace id %s, want %s", s.id, s.trace, traceID)
		}
		byID[s.id] = s
	}
	for _, s := range spans {
		if s.parent == "" {
			continue
		}
		p, ok := byID[s.parent]
		if !ok {
			t.Errorf("span %s: parent %s was not sent", s.id, s.parent)
			continue
		}
		if (s.start < p.start || s.end > p.end) && !(p.service == Widget && s.service == AggregatorB) {
			t.Errorf("span %s (%s) lies outside its parent %s (%s)", s.id, s.service, p.id, p.service)
		}
	}
	if len(entries) == 0 {
		t.Fatal("no log entries sent")
	}
	for _, e := range entries {
		if e.traceID != traceID {
			t.Errorf("entry %q: trace_id %s, want %s", e.line, e.traceID, traceID)
		}
		if _, ok := byID[e.spanID]; !ok {
			t.Errorf("entry %q: span_id %s is not a span of the trace", e.line, e.spanID)
		}
		var inLine struct {
			Timestamp string `json:"timestamp"`
			TraceID   string `json:"traceId"`
			SpanID    string `json:"spanId"`
		}
		if strings.HasPrefix(e.line, "{") {
			if err := json.Unmarshal([]byte(e.line), &inLine); err != nil {
				t.Errorf("line %q is not JSON: %v", e.line, err)
				continue
			}
			if ts, err := time.Parse(time.RFC3339Nano, inLine.Timestamp); err != nil || ts.UnixNano() != e.ts {
				t.Errorf("line %q: its timestamp is not Loki's entry time %d", e.line, e.ts)
			}
		} else {
			for _, m := range logfmtID.FindAllStringSubmatch(e.line, -1) {
				if m[1] == "trace_id" {
					inLine.TraceID = m[2]
				} else {
					inLine.SpanID = m[2]
				}
			}
		}
		if inLine.TraceID != e.traceID || inLine.SpanID != e.spanID {
			t.Errorf("line %q names %s/%s, its metadata %s/%s", e.line, inLine.TraceID, inLine.SpanID, e.traceID, e.spanID)
		}
	}
}

// TestRunResendsTheSeedStoryUntilItArrives starts against a Tempo that is
// not ready yet (503, as Tempo answers while starting): the seed story must
// still arrive, once Tempo is up.
func TestRunResendsTheSeedStoryUntilItArrives(t *testing.T) {
	tempoRC, lokiRC := newReceiver(), newReceiver()
	var calls atomic.Int32
	starting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "Ingester not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"partialSuccess":{}}`)
	})
	tempo := httptest.NewServer(tempoRC.wrap(starting))
	t.Cleanup(tempo.Close)
	loki := lokiServer(t, lokiRC)
	sender, err := NewSender(nil, tempo.URL, loki.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Logger: quiet, Sender: sender, Interval: time.Millisecond, Seed: 4, SeedStoryFirst: true})
	}()
	for range 4 {
		select {
		case <-tempoRC.seen:
		case <-time.After(10 * time.Second):
			t.Fatal("no trace arrived")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var story []bool
	for _, r := range tempoRC.all() {
		story = append(story, isSeedStory(decodeOTLP(t, r.body)))
	}
	// Requests 1 and 2 are refused seed stories; the third, the first
	// accepted, must be the seed story again; then generated traffic.
	if len(story) < 4 || !story[0] || !story[1] || !story[2] || story[3] {
		t.Errorf("seed story per request %v: want it sent until Tempo accepts it, then generated traces", story)
	}
}

// isSeedStory tells the seed story from generated traces by its span
// durations, which generated traces draw at random.
func isSeedStory(spans []sentSpan) bool {
	want := []time.Duration{1500, 250, 100, 1000, 50, 300, 200, 400, 300}
	if len(spans) != len(want) {
		return false
	}
	for i, s := range spans {
		if time.Duration(s.end-s.start) != want[i]*time.Millisecond {
			return false
		}
	}
	return true
}

// quiet drops Run's log lines: tests check what was sent, not what was said.
var quiet = slog.New(slog.DiscardHandler)
