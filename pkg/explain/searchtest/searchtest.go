// Package searchtest serves many traces and their logs from in-process
// fake Tempo and Loki servers, for tests and benchmarks of the many-trace
// path (explain.Search and the plugin's search, waitMetrics and annotations
// queries). The real captures in pkg/internal/fixtures/testdata/real hold one trace; these
// fakes speak the same wire formats (Tempo's search JSON and v2 protobuf
// trace, Loki's categorized query_range JSON and its plain-text errors) for
// as many traces as a test builds, and evaluate the little TraceQL and
// LogQL the plugin sends, so a test checks what was asked, not only what
// was answered. It is for tests only.
package searchtest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/correlate/synth"
	"github.com/tracegap/correlator/pkg/demo"
	"github.com/tracegap/correlator/pkg/model"
)

// Trace is one trace the fakes serve: its spans (Tempo) and its log
// entries (Loki).
type Trace struct {
	Trace   *model.Trace
	Entries []model.LogEntry
	// TempoBody, when set, is served as the v2 trace-by-id body instead of
	// an encoding of Trace (a real capture).
	TempoBody []byte
}

// FromDemo turns a trace of the demo generator (pkg/demo) into the values
// Tempo and Loki return for it: spans with their resource's service name,
// and log entries in one stream per service (label service_name) with
// trace_id, span_id and detected_level as structured metadata, lines
// rendered as the services write them, exactly as the demo pushes them.
func FromDemo(t *demo.Trace) Trace {
	tr := &model.Trace{TraceID: t.TraceID}
	for _, s := range t.Spans {
		sp := model.Span{
			TraceID: t.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentID, ServiceName: s.Service, Name: s.Name,
			Kind: model.KindServer, Start: s.Start, End: s.End, StatusCode: model.StatusUnset,
			ResourceAttributes: []model.KeyValue{{Key: "service.name", Value: s.Service}},
			ScopeName:          demo.ScopeName, ScopeVersion: demo.ScopeVersion,
		}
		if s.Kind == demo.KindClient {
			sp.Kind = model.KindClient
		}
		if s.Error {
			sp.StatusCode, sp.StatusMessage = model.StatusError, s.StatusMessage
		}
		for _, a := range s.Attributes {
			sp.Attributes = append(sp.Attributes, model.KeyValue{Key: a.Key, Value: a.Value})
		}
		tr.Spans = append(tr.Spans, sp)
	}
	out := Trace{Trace: tr}
	for i := range t.Lines {
		l := &t.Lines[i]
		out.Entries = append(out.Entries, model.LogEntry{
			Time: l.Time, Line: l.Text(t.TraceID),
			Stream: model.Labels{{Name: "service_name", Value: l.Service}},
			Metadata: model.Labels{
				{Name: "detected_level", Value: strings.ToLower(l.Level)},
				{Name: "span_id", Value: l.SpanID},
				{Name: "trace_id", Value: t.TraceID},
			},
		})
	}
	return out
}

// Synth is the synthetic trace of pkg/correlate/synth with spans spans and
// about logsPerSpan entries each, given the id traceID and moved to start
// at start, so that many distinct traces can be built from it.
func Synth(traceID string, spans, logsPerSpan int, seed uint64, start time.Time) Trace {
	tr, entries := synth.Generate(synth.Config{Spans: spans, LogsPerSpan: logsPerSpan, Seed: seed})
	shift := start.Sub(synth.Base)
	tr.TraceID = traceID
	for i := range tr.Spans {
		s := &tr.Spans[i]
		s.TraceID = traceID
		s.Start, s.End = s.Start.Add(shift), s.End.Add(shift)
		s.ResourceAttributes = []model.KeyValue{{Key: "service.name", Value: s.ServiceName}}
	}
	for i := range entries {
		e := &entries[i]
		e.Time = e.Time.Add(shift)
		e.Line = strings.ReplaceAll(e.Line, synth.TraceID, traceID)
		md := slices.Clone(e.Metadata)
		for j := range md {
			if md[j].Value == synth.TraceID {
				md[j].Value = traceID
			}
		}
		e.Metadata = md
	}
	return Trace{Trace: tr, Entries: entries}
}

// Servers are a fake Tempo and a fake Loki over a fixed set of traces.
// Hooks let a test answer some requests itself (a 500, a slow answer);
// counters and the recorded Loki queries let it check what was asked.
type Servers struct {
	Tempo *httptest.Server
	Loki  *httptest.Server

	// TraceHook, when set, is called first for every trace-by-id request
	// with the requested id (normalised); returning true means it answered.
	TraceHook func(id string, w http.ResponseWriter, r *http.Request) bool
	// SearchHook, when set, is called first for every TraceQL search;
	// returning true means it answered.
	SearchHook func(w http.ResponseWriter, r *http.Request) bool
	// LokiHook, when set, is called first for every query_range request;
	// returning true means it answered.
	LokiHook func(w http.ResponseWriter, r *http.Request) bool
	// MaxEntries is Loki's max_entries_limit_per_query (0: Loki's default,
	// 5000): a larger limit is refused with Loki's 400.
	MaxEntries int

	traces  map[string]*Trace
	order   []string
	entries []model.LogEntry // every trace's, in time order

	searches, traceRequests, lokiRequests atomic.Int64
	inFlight                              atomic.Int64

	mu       sync.Mutex
	queries  []LokiQuery
	searched []SearchQuery
}

// SearchQuery is one TraceQL search the fake Tempo received.
type SearchQuery struct {
	Query      string
	Start, End string // unix seconds as sent ("" when absent)
	Limit      string // as sent ("" when absent)
}

// SearchQueries are the searches received, in order.
func (s *Servers) SearchQueries() []SearchQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.searched)
}

// LokiQuery is one query_range request the fake Loki received.
type LokiQuery struct {
	Query      string
	Start, End time.Time
	Limit      int
}

// Start serves traces until the test ends. Hooks may be set on the result
// before the first request.
func Start(t testing.TB, traces ...Trace) *Servers {
	t.Helper()
	s := &Servers{traces: map[string]*Trace{}}
	for i := range traces {
		tr := &traces[i]
		id, ok := model.NormalizeTraceID(tr.Trace.TraceID)
		if !ok {
			t.Fatalf("searchtest: trace id %q is not hex", tr.Trace.TraceID)
		}
		if _, dup := s.traces[id]; dup {
			t.Fatalf("searchtest: trace %s given twice", id)
		}
		s.traces[id] = tr
		s.order = append(s.order, id)
		s.entries = append(s.entries, tr.Entries...)
	}
	slices.SortStableFunc(s.entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
	s.Tempo = httptest.NewServer(s.count(http.HandlerFunc(s.serveTempo)))
	s.Loki = httptest.NewServer(s.count(http.HandlerFunc(s.serveLoki)))
	t.Cleanup(s.Close)
	return s
}

// Close shuts both servers down (Start arranges it at the end of the test).
func (s *Servers) Close() {
	s.Tempo.Close()
	s.Loki.Close()
}

func (s *Servers) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// Searches is the number of TraceQL searches received.
func (s *Servers) Searches() int { return int(s.searches.Load()) }

// TraceRequests is the number of trace-by-id requests received.
func (s *Servers) TraceRequests() int { return int(s.traceRequests.Load()) }

// LokiRequests is the number of query_range requests received.
func (s *Servers) LokiRequests() int { return int(s.lokiRequests.Load()) }

// Requests is every request received by either server.
func (s *Servers) Requests() int { return s.Searches() + s.TraceRequests() + s.LokiRequests() }

// InFlight is the number of requests being answered right now.
func (s *Servers) InFlight() int { return int(s.inFlight.Load()) }

// LokiQueries are the query_range requests received, in order.
func (s *Servers) LokiQueries() []LokiQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// ---- Tempo ----

func (s *Servers) serveTempo(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/search":
		s.searches.Add(1)
		s.search(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v2/traces/"):
		s.traceRequests.Add(1)
		raw := strings.TrimPrefix(r.URL.Path, "/api/v2/traces/")
		id, ok := model.NormalizeTraceID(raw)
		if !ok {
			plain(w, http.StatusBadRequest, fmt.Sprintf("trace IDs can only contain hex characters: invalid character in %q", raw))
			return
		}
		if s.TraceHook != nil && s.TraceHook(id, w, r) {
			return
		}
		tr := s.traces[id]
		w.Header().Set("Content-Type", "application/protobuf")
		if tr == nil {
			// Tempo's v2 answer for an unknown id: 200, empty trace and metrics.
			_, _ = w.Write([]byte{0x0a, 0x00, 0x12, 0x00})
			return
		}
		body := tr.TempoBody
		if body == nil {
			var err error
			if body, err = V2Body(tr.Trace); err != nil {
				plain(w, http.StatusInternalServerError, err.Error())
				return
			}
		}
		_, _ = w.Write(body)
	default:
		plain(w, http.StatusNotFound, "404 page not found")
	}
}

// search answers GET /api/search: the traces matching the TraceQL that
// start in [start, end] (unix seconds), latest first, at most limit.
func (s *Servers) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.searched = append(s.searched, SearchQuery{Query: q.Get("q"), Start: q.Get("start"), End: q.Get("end"), Limit: q.Get("limit")})
	s.mu.Unlock()
	if s.SearchHook != nil && s.SearchHook(w, r) {
		return
	}
	match, err := compileTraceQL(q.Get("q"))
	if err != nil {
		plain(w, http.StatusBadRequest, "invalid TraceQL query: "+err.Error())
		return
	}
	limit := 20
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			plain(w, http.StatusBadRequest, "invalid limit: "+l)
			return
		}
	}
	var from, to time.Time
	if v := q.Get("start"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		from = time.Unix(n, 0)
	}
	if v := q.Get("end"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		to = time.Unix(n+1, 0)
	}
	type hit struct {
		id         string
		start, end time.Time
		tr         *model.Trace
	}
	var hits []hit
	for _, id := range s.order {
		tr := s.traces[id].Trace
		first, last := tr.Bounds()
		if (!from.IsZero() && first.Before(from)) || (!to.IsZero() && !first.Before(to)) || !match(tr, last.Sub(first)) {
			continue
		}
		hits = append(hits, hit{id, first, last, tr})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return b.start.Compare(a.start) })
	if len(hits) > limit {
		hits = hits[:limit]
	}
	type jsonTrace struct {
		TraceID           string  `json:"traceID"`
		RootServiceName   string  `json:"rootServiceName"`
		RootTraceName     string  `json:"rootTraceName"`
		StartTimeUnixNano string  `json:"startTimeUnixNano"`
		DurationMs        float64 `json:"durationMs,omitempty"`
	}
	out := struct {
		Traces  []jsonTrace    `json:"traces"`
		Metrics map[string]any `json:"metrics"`
	}{Traces: []jsonTrace{}, Metrics: map[string]any{"inspectedTraces": len(s.order), "inspectedBytes": "1024"}}
	for _, h := range hits {
		jt := jsonTrace{
			// Tempo strips leading zeros from ids in search results.
			TraceID:           strings.TrimLeft(h.id, "0"),
			StartTimeUnixNano: strconv.FormatInt(h.start.UnixNano(), 10),
			DurationMs:        float64(h.end.Sub(h.start).Milliseconds()),
		}
		for i := range h.tr.Spans {
			if h.tr.Spans[i].ParentSpanID == "" {
				jt.RootServiceName, jt.RootTraceName = h.tr.Spans[i].ServiceName, h.tr.Spans[i].Name
				break
			}
		}
		out.Traces = append(out.Traces, jt)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

var (
	serviceCond  = regexp.MustCompile(`^(?:resource)?\.service\.name\s*=\s*"([^"]*)"$`)
	durationCond = regexp.MustCompile(`^duration\s*(>=|>|<=|<)\s*(\S+)$`)
	rootCond     = regexp.MustCompile(`^trace:(rootService|rootName)\s*=\s*("(?:[^"\\]|\\.)*")$`)
)

// compileTraceQL understands the TraceQL the tests send: {} and one span
// set of conditions joined by &&: resource.service.name = "x" (some span
// of the service), duration > 500ms (the trace's duration), and
// trace:rootService = "x" and trace:rootName = "y" (the root span's
// service and name; Go-quoted strings, as Tempo's lexer reads them).
func compileTraceQL(q string) (func(*model.Trace, time.Duration) bool, error) {
	body := strings.TrimSpace(q)
	if !strings.HasPrefix(body, "{") || !strings.HasSuffix(body, "}") {
		return nil, fmt.Errorf("parse error at line 1, col 1: syntax error: %q is not a span set", q)
	}
	body = strings.TrimSpace(body[1 : len(body)-1])
	var conds []func(*model.Trace, time.Duration) bool
	if body != "" {
		for _, c := range strings.Split(body, "&&") {
			c = strings.TrimSpace(c)
			if m := serviceCond.FindStringSubmatch(c); m != nil {
				svc := m[1]
				conds = append(conds, func(t *model.Trace, _ time.Duration) bool {
					return slices.ContainsFunc(t.Spans, func(s model.Span) bool { return s.ServiceName == svc })
				})
				continue
			}
			if m := rootCond.FindStringSubmatch(c); m != nil {
				want, err := strconv.Unquote(m[2])
				if err != nil {
					return nil, fmt.Errorf("parse error: string %s: %v", m[2], err)
				}
				byService := m[1] == "rootService"
				conds = append(conds, func(t *model.Trace, _ time.Duration) bool {
					for i := range t.Spans {
						if sp := &t.Spans[i]; sp.ParentSpanID == "" {
							if byService {
								return sp.ServiceName == want
							}
							return sp.Name == want
						}
					}
					return false
				})
				continue
			}
			if m := durationCond.FindStringSubmatch(c); m != nil {
				d, err := time.ParseDuration(m[2])
				if err != nil {
					return nil, fmt.Errorf("parse error: duration %q", m[2])
				}
				op := m[1]
				conds = append(conds, func(_ *model.Trace, td time.Duration) bool {
					switch op {
					case ">":
						return td > d
					case ">=":
						return td >= d
					case "<":
						return td < d
					}
					return td <= d
				})
				continue
			}
			return nil, fmt.Errorf("parse error at line 1: syntax error: unexpected %q", c)
		}
	}
	return func(t *model.Trace, d time.Duration) bool {
		for _, c := range conds {
			if !c(t, d) {
				return false
			}
		}
		return true
	}, nil
}

// V1Body encodes a trace as Tempo's GET /api/traces/{id} protobuf body
// (tempopb.Trace, wire-identical to OTLP TracesData): one ResourceSpans per
// service, in order of first appearance.
func V1Body(t *model.Trace) ([]byte, error) {
	tid, err := hex.DecodeString(t.TraceID)
	if err != nil || len(tid) != 16 {
		return nil, fmt.Errorf("trace id %q is not 32 hex digits", t.TraceID)
	}
	td := &tracepb.TracesData{}
	byService := map[string]*tracepb.ScopeSpans{}
	for i := range t.Spans {
		s := &t.Spans[i]
		ss, ok := byService[s.ServiceName]
		if !ok {
			ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: s.ScopeName, Version: s.ScopeVersion}}
			byService[s.ServiceName] = ss
			attrs := []*commonpb.KeyValue{{Key: "service.name", Value: anyValue(s.ServiceName)}}
			for _, kv := range s.ResourceAttributes {
				if kv.Key != "service.name" {
					attrs = append(attrs, &commonpb.KeyValue{Key: kv.Key, Value: anyValue(kv.Value)})
				}
			}
			td.ResourceSpans = append(td.ResourceSpans, &tracepb.ResourceSpans{
				Resource: &resourcepb.Resource{Attributes: attrs}, ScopeSpans: []*tracepb.ScopeSpans{ss},
			})
		}
		sid, err := hex.DecodeString(s.SpanID)
		if err != nil || len(sid) != 8 {
			return nil, fmt.Errorf("span id %q is not 16 hex digits", s.SpanID)
		}
		var pid []byte
		if s.ParentSpanID != "" {
			if pid, err = hex.DecodeString(s.ParentSpanID); err != nil {
				return nil, fmt.Errorf("parent span id %q: %w", s.ParentSpanID, err)
			}
		}
		ps := &tracepb.Span{
			TraceId: tid, SpanId: sid, ParentSpanId: pid, Name: s.Name, Kind: spanKind(s.Kind),
			StartTimeUnixNano: uint64(s.Start.UnixNano()), EndTimeUnixNano: uint64(s.End.UnixNano()),
			Status: &tracepb.Status{Message: s.StatusMessage},
		}
		switch s.StatusCode {
		case model.StatusOK:
			ps.Status.Code = tracepb.Status_STATUS_CODE_OK
		case model.StatusError:
			ps.Status.Code = tracepb.Status_STATUS_CODE_ERROR
		}
		for _, kv := range s.Attributes {
			ps.Attributes = append(ps.Attributes, &commonpb.KeyValue{Key: kv.Key, Value: anyValue(kv.Value)})
		}
		for _, ev := range s.Events {
			pe := &tracepb.Span_Event{Name: ev.Name, TimeUnixNano: uint64(ev.Time.UnixNano())}
			for _, kv := range ev.Attributes {
				pe.Attributes = append(pe.Attributes, &commonpb.KeyValue{Key: kv.Key, Value: anyValue(kv.Value)})
			}
			ps.Events = append(ps.Events, pe)
		}
		for _, l := range s.Links {
			ltid, err := hex.DecodeString(l.TraceID)
			if err != nil {
				return nil, fmt.Errorf("link trace id %q: %w", l.TraceID, err)
			}
			lsid, err := hex.DecodeString(l.SpanID)
			if err != nil {
				return nil, fmt.Errorf("link span id %q: %w", l.SpanID, err)
			}
			pl := &tracepb.Span_Link{TraceId: ltid, SpanId: lsid}
			for _, kv := range l.Attributes {
				pl.Attributes = append(pl.Attributes, &commonpb.KeyValue{Key: kv.Key, Value: anyValue(kv.Value)})
			}
			ps.Links = append(ps.Links, pl)
		}
		ss.Spans = append(ss.Spans, ps)
	}
	return proto.Marshal(td)
}

// V2Body encodes a trace as Tempo's GET /api/v2/traces/{id} protobuf body
// (tempopb.TraceByIDResponse): the v1 body as field 1, empty metrics as
// field 2, as Tempo 3 answers for a complete trace.
func V2Body(t *model.Trace) ([]byte, error) {
	v1, err := V1Body(t)
	if err != nil {
		return nil, err
	}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, v1)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, nil), nil
}

func spanKind(k model.SpanKind) tracepb.Span_SpanKind {
	switch k {
	case model.KindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case model.KindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	case model.KindInternal:
		return tracepb.Span_SPAN_KIND_INTERNAL
	case model.KindProducer:
		return tracepb.Span_SPAN_KIND_PRODUCER
	case model.KindConsumer:
		return tracepb.Span_SPAN_KIND_CONSUMER
	}
	return tracepb.Span_SPAN_KIND_UNSPECIFIED
}

func anyValue(v any) *commonpb.AnyValue {
	switch x := v.(type) {
	case string:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: x}}
	case int64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: x}}
	case int:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(x)}}
	case float64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: x}}
	case bool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: x}}
	}
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprint(v)}}
}

// ---- Loki ----

// defaultMaxEntries is Loki's default max_entries_limit_per_query.
const defaultMaxEntries = 5000

func (s *Servers) maxEntries() int {
	if s.MaxEntries > 0 {
		return s.MaxEntries
	}
	return defaultMaxEntries
}

func (s *Servers) serveLoki(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/loki/api/v1/query_range" {
		plain(w, http.StatusNotFound, "404 page not found")
		return
	}
	s.lokiRequests.Add(1)
	q := r.URL.Query()
	lq := LokiQuery{Query: q.Get("query")}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	lq.Start, lq.End, lq.Limit = time.Unix(0, start), time.Unix(0, end), limit
	s.mu.Lock()
	s.queries = append(s.queries, lq)
	s.mu.Unlock()
	if s.LokiHook != nil && s.LokiHook(w, r) {
		return
	}
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		plain(w, http.StatusBadRequest, "invalid start, end or limit")
		return
	case q.Get("direction") != "forward":
		plain(w, http.StatusBadRequest, "the fake Loki answers direction=forward only")
		return
	case limit > s.maxEntries():
		plain(w, http.StatusBadRequest, fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, s.maxEntries()))
		return
	}
	match, err := compileLogQL(lq.Query)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	var got []model.LogEntry
	from, _ := slices.BinarySearchFunc(s.entries, lq.Start, func(e model.LogEntry, t time.Time) int { return e.Time.Compare(t) })
	for i := from; i < len(s.entries) && s.entries[i].Time.Before(lq.End); i++ {
		e := &s.entries[i]
		if !match(e) {
			continue
		}
		got = append(got, *e)
		if len(got) == limit {
			break
		}
	}
	writeStreams(w, got, r.Header.Get("X-Loki-Response-Encoding-Flags") == "categorize-labels")
}

// writeStreams writes entries as Loki's query_range answer: one result per
// label set, values [ts, line] or, categorized, [ts, line,
// {"structuredMetadata": {…}}]. It writes the JSON by hand: the fake must
// not be what a benchmark of the client measures.
func writeStreams(w http.ResponseWriter, entries []model.LogEntry, categorized bool) {
	type stream struct {
		labels model.Labels
		values []int
	}
	var streams []*stream
	index := map[string]*stream{}
	var key []byte
	for i := range entries {
		e := &entries[i]
		labels := e.Stream
		if !categorized && len(e.Metadata) > 0 {
			labels = append(slices.Clone(e.Stream), e.Metadata...)
		}
		key = key[:0]
		for _, l := range labels {
			key = append(append(append(append(key, l.Name...), 0), l.Value...), 0)
		}
		st := index[string(key)]
		if st == nil {
			st = &stream{labels: labels}
			index[string(key)] = st
			streams = append(streams, st)
		}
		st.values = append(st.values, i)
	}
	b := make([]byte, 0, 256*len(entries)+256)
	b = append(b, `{"status":"success","data":{"resultType":"streams",`...)
	if categorized {
		b = append(b, `"encodingFlags":["categorize-labels"],`...)
	}
	b = append(b, `"result":[`...)
	for k, st := range streams {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stream":`...)
		b = appendObject(b, st.labels)
		b = append(b, `,"values":[`...)
		for j, i := range st.values {
			if j > 0 {
				b = append(b, ',')
			}
			e := &entries[i]
			b = append(b, `["`...)
			b = strconv.AppendInt(b, e.Time.UnixNano(), 10)
			b = append(b, `",`...)
			b = appendString(b, e.Line)
			if categorized {
				b = append(b, `,{"structuredMetadata":`...)
				b = appendObject(b, e.Metadata)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"stats":{"summary":{"totalEntriesReturned":`...)
	b = strconv.AppendInt(b, int64(len(entries)), 10)
	b = append(b, "}}}}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b)
}

// appendObject appends labels as a JSON object (a later duplicate name
// wins, as in Loki's merged form).
func appendObject(b []byte, ls model.Labels) []byte {
	b = append(b, '{')
	n := 0
	for i, l := range ls {
		if slices.ContainsFunc(ls[i+1:], func(o model.Label) bool { return o.Name == l.Name }) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

var (
	matcherRE     = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)
	lineFilterRE  = regexp.MustCompile(`^(\|~|\|=|!=|!~)\s*"((?:[^"\\]|\\.)*)"`)
	labelFilterRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)
)

// compileLogQL understands the LogQL the plugin sends: a stream selector,
// then line filters (|~ "re", |= "text") and label filters (| a=~"re" or
// b=~"re", read from structured metadata or stream labels).
func compileLogQL(q string) (func(*model.LogEntry) bool, error) {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "{") {
		return nil, fmt.Errorf("parse error at line 1, col 1: syntax error: unexpected %q, expecting {", q)
	}
	closeAt := strings.IndexByte(q, '}')
	if closeAt < 0 {
		return nil, fmt.Errorf("parse error: unclosed stream selector")
	}
	var preds []func(*model.LogEntry) bool
	for _, m := range strings.Split(q[1:closeAt], ",") {
		if strings.TrimSpace(m) == "" {
			continue
		}
		p, err := labelMatcher(m, false)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	rest := strings.TrimSpace(q[closeAt+1:])
	for rest != "" {
		if m := lineFilterRE.FindStringSubmatch(rest); m != nil {
			arg, err := strconv.Unquote(`"` + m[2] + `"`)
			if err != nil {
				return nil, fmt.Errorf("parse error: %v", err)
			}
			op := m[1]
			switch op {
			case "|~", "!~":
				if ids, ok := hexAlternation(arg); ok {
					neg := op == "!~"
					preds = append(preds, func(e *model.LogEntry) bool { return ids.in(e.Line) != neg })
					break
				}
				re, err := regexp.Compile(arg)
				if err != nil {
					return nil, fmt.Errorf("parse error: invalid regex %q: %v", arg, err)
				}
				neg := op == "!~"
				preds = append(preds, func(e *model.LogEntry) bool { return re.MatchString(e.Line) != neg })
			default:
				neg := op == "!="
				preds = append(preds, func(e *model.LogEntry) bool { return strings.Contains(e.Line, arg) != neg })
			}
			rest = strings.TrimSpace(rest[len(m[0]):])
			continue
		}
		if strings.HasPrefix(rest, "|") {
			rest = strings.TrimSpace(rest[1:])
			var alts []func(*model.LogEntry) bool
			for {
				m := labelFilterRE.FindStringSubmatch(rest)
				if m == nil {
					return nil, fmt.Errorf("parse error: unsupported stage %q", rest)
				}
				p, err := labelMatcher(m[0], true)
				if err != nil {
					return nil, err
				}
				alts = append(alts, p)
				rest = strings.TrimSpace(rest[len(m[0]):])
				if !strings.HasPrefix(rest, "or ") {
					break
				}
				rest = strings.TrimSpace(rest[3:])
			}
			preds = append(preds, func(e *model.LogEntry) bool {
				return slices.ContainsFunc(alts, func(p func(*model.LogEntry) bool) bool { return p(e) })
			})
			continue
		}
		return nil, fmt.Errorf("parse error: unexpected %q", rest)
	}
	return func(e *model.LogEntry) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		return true
	}, nil
}

// hexSet is a set of hex strings looked up inside a line's hex runs.
type hexSet struct {
	ids  map[string]bool
	lens []int
}

// hexAlternation recognises the line filter the plugin sends for trace
// ids, (?i)id or (?i)(?:id1|id2|…) with plain hex ids, and matches it the
// way Loki does (Loki turns such literals into case-insensitive substring
// filters instead of running a regex): a line matches when it contains one
// of the ids in any case. An id is made of hex digits only, so it can
// only occur inside one maximal run of hex digits of the line.
func hexAlternation(re string) (*hexSet, bool) {
	body, ok := strings.CutPrefix(re, "(?i)")
	if !ok {
		return nil, false
	}
	if inner, ok := strings.CutPrefix(body, "(?:"); ok && strings.HasSuffix(inner, ")") {
		body = strings.TrimSuffix(inner, ")")
	}
	set := &hexSet{ids: map[string]bool{}}
	for _, id := range strings.Split(body, "|") {
		if id == "" || strings.Trim(strings.ToLower(id), "0123456789abcdef") != "" {
			return nil, false
		}
		id = strings.ToLower(id)
		set.ids[id] = true
		if !slices.Contains(set.lens, len(id)) {
			set.lens = append(set.lens, len(id))
		}
	}
	return set, true
}

func (h *hexSet) in(line string) bool {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	for i := 0; i < len(line); {
		if !isHex(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isHex(line[j]) {
			j++
		}
		run := strings.ToLower(line[i:j])
		for _, n := range h.lens {
			for k := 0; k+n <= len(run); k++ {
				if h.ids[run[k:k+n]] {
					return true
				}
			}
		}
		i = j
	}
	return false
}

// labelMatcher compiles name op "value"; withMetadata also reads the
// entry's structured metadata (label filters), not only stream labels.
func labelMatcher(m string, withMetadata bool) (func(*model.LogEntry) bool, error) {
	parts := matcherRE.FindStringSubmatch(m)
	if parts == nil {
		return nil, fmt.Errorf("parse error: bad matcher %q", strings.TrimSpace(m))
	}
	name, op := parts[1], parts[2]
	val, err := strconv.Unquote(`"` + parts[3] + `"`)
	if err != nil {
		return nil, fmt.Errorf("parse error: %v", err)
	}
	var test func(string) bool
	switch op {
	case "=~", "!~":
		// The plugin's id filter, (?i)0*(?:id1|id2|…): Loki matches such
		// literals without running a regex; so does the fake.
		if rest, ok := strings.CutPrefix(val, "(?i)0*"); ok {
			if ids, ok := hexAlternation("(?i)" + rest); ok {
				test = func(s string) bool { return ids.ids[strings.TrimLeft(strings.ToLower(s), "0")] }
				break
			}
		}
		re, err := regexp.Compile("^(?:" + val + ")$")
		if err != nil {
			return nil, fmt.Errorf("parse error: invalid regex %q: %v", val, err)
		}
		test = re.MatchString
	default:
		test = func(s string) bool { return s == val }
	}
	neg := op == "!=" || op == "!~"
	return func(e *model.LogEntry) bool {
		v, ok := e.Stream.Get(name)
		if !ok && withMetadata {
			v, _ = e.Metadata.Get(name)
		}
		return test(v) != neg
	}, nil
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}
