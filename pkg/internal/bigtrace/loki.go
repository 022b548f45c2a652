package bigtrace

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// QueryRangePath is the Loki endpoint the fake answers.
const QueryRangePath = "/loki/api/v1/query_range"

// DefaultMaxEntries is Loki's default max_entries_limit_per_query.
const DefaultMaxEntries = 5000

// Loki is a fake Loki that answers /loki/api/v1/query_range over a fixed
// set of entries the way Loki v3 does for direction=forward with the
// categorize-labels encoding flag: the first limit entries in [start, end)
// that the query selects, grouped into one result stream per stream label
// set (in order of first appearance), each stream's values time-ordered,
// with structured metadata as the third element of each value, and a
// "stats" member. A limit over MaxEntries gets Loki's own 400 text.
//
// It understands the LogQL the plugin sends: a stream selector of = and =~
// matchers, then either a line filter `|~ "re"` or label filters
// `| name=~"re" or name=~"re"…` on structured metadata. Each entry's JSON is
// encoded once, up front, so that serving a page is little more than
// copying bytes: what the benchmarks measure is the client.
type Loki struct {
	// MaxEntries is the largest limit accepted (0: DefaultMaxEntries).
	MaxEntries int
	// Latency delays every answer, like a real Loki's query time.
	Latency time.Duration
	// CachePages keeps every answer to serve the same request again without
	// building it: after a warm-up query, serving is a write of ready bytes.
	CachePages bool

	times   []int64 // entry i's time, unix ns; ascending
	stream  []int32 // entry i's stream, an index into streams
	enc     []byte  // every entry's value JSON, back to back
	off     []int   // entry i's value is enc[off[i]:off[i+1]]
	labels  []model.Labels
	meta    []model.Labels // entry i's structured metadata (for label filters)
	lines   []string       // entry i's line (for line filters)
	streams [][]byte       // `{"stream":{…},"values":[` per stream
	stats   []byte

	mu       sync.Mutex
	selected map[string][]int32 // query → indices of the entries it selects
	pages    map[string][]byte  // request → answer, with CachePages

	requests atomic.Int64
	served   atomic.Int64
}

// NewLoki preloads entries (in any order) into a fake Loki. stats is the
// value of data.stats in every answer (nil: an empty object); pass a real
// capture's to keep the real shape.
func NewLoki(entries []model.LogEntry, stats []byte) *Loki {
	es := slices.Clone(entries)
	slices.SortStableFunc(es, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
	l := &Loki{
		times:    make([]int64, len(es)),
		stream:   make([]int32, len(es)),
		off:      make([]int, len(es)+1),
		meta:     make([]model.Labels, len(es)),
		lines:    make([]string, len(es)),
		stats:    stats,
		selected: map[string][]int32{},
		pages:    map[string][]byte{},
	}
	if l.stats == nil {
		l.stats = []byte("{}")
	}
	byKey := map[string]int32{}
	var key []byte
	for i := range es {
		e := &es[i]
		key = appendLabels(key[:0], e.Stream)
		s, ok := byKey[string(key)]
		if !ok {
			s = int32(len(l.streams))
			byKey[string(key)] = s
			l.labels = append(l.labels, e.Stream)
			l.streams = append(l.streams, append(append([]byte(`{"stream":`), key...), `,"values":[`...))
		}
		l.times[i], l.stream[i], l.meta[i], l.lines[i] = e.Time.UnixNano(), s, e.Metadata, e.Line
		l.off[i] = len(l.enc)
		l.enc = append(l.enc, `["`...)
		l.enc = strconv.AppendInt(l.enc, e.Time.UnixNano(), 10)
		l.enc = append(l.enc, `",`...)
		l.enc = appendJSONString(l.enc, e.Line)
		l.enc = append(l.enc, `,{"structuredMetadata":`...)
		l.enc = appendLabels(l.enc, e.Metadata)
		if len(e.Parsed) > 0 {
			l.enc = append(l.enc, `,"parsed":`...)
			l.enc = appendLabels(l.enc, e.Parsed)
		}
		l.enc = append(l.enc, "}]"...)
	}
	l.off[len(es)] = len(l.enc)
	return l
}

// Requests is the number of query_range requests answered so far.
func (l *Loki) Requests() int64 { return l.requests.Load() }

// BytesServed is the number of body bytes written so far.
func (l *Loki) BytesServed() int64 { return l.served.Load() }

// Selected returns how many stored entries query selects over all time.
func (l *Loki) Selected(query string) (int, error) {
	sel, err := l.selectFor(query)
	return len(sel), err
}

// ServeHTTP answers GET /loki/api/v1/query_range.
func (l *Loki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != QueryRangePath {
		http.NotFound(w, r)
		return
	}
	l.requests.Add(1)
	if l.Latency > 0 {
		select {
		case <-time.After(l.Latency):
		case <-r.Context().Done():
			return
		}
	}
	q := r.URL.Query()
	bad := func(format string, args ...any) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, format, args...)
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		bad("invalid start, end or limit (this fake wants unix nanoseconds and a number)")
		return
	case q.Get("direction") != "forward":
		bad("this fake Loki pages forward only, got direction %q", q.Get("direction"))
		return
	case r.Header.Get("X-Loki-Response-Encoding-Flags") != "categorize-labels":
		bad("this fake Loki answers only with categorize-labels")
		return
	}
	maxEntries := l.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if limit > maxEntries {
		bad("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, maxEntries)
		return
	}
	key := fmt.Sprint(q.Get("query"), "\x00", start, "\x00", end, "\x00", limit)
	l.mu.Lock()
	body, ok := l.pages[key]
	l.mu.Unlock()
	if !ok {
		sel, err := l.selectFor(q.Get("query"))
		if err != nil {
			bad("parse error: %v", err)
			return
		}
		lo := sort.Search(len(sel), func(k int) bool { return l.times[sel[k]] >= start })
		hi := lo
		for hi < len(sel) && hi-lo < limit && l.times[sel[hi]] < end {
			hi++
		}
		body = l.page(sel[lo:hi])
		if l.CachePages {
			l.mu.Lock()
			l.pages[key] = body
			l.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	n, _ := w.Write(body)
	l.served.Add(int64(n))
}

// page writes the answer holding the given entries (time-ordered).
func (l *Loki) page(page []int32) []byte {
	var order []int32               // streams in order of first appearance
	byStream := map[int32][]int32{} // stream → its entries, time-ordered
	size := 256 + len(l.stats)
	for _, i := range page {
		s := l.stream[i]
		if _, ok := byStream[s]; !ok {
			order = append(order, s)
			size += len(l.streams[s]) + 3
		}
		byStream[s] = append(byStream[s], i)
		size += l.off[i+1] - l.off[i] + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[`...)
	for k, s := range order {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, l.streams[s]...)
		for j, i := range byStream[s] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, l.enc[l.off[i]:l.off[i+1]]...)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"stats":`...)
	b = append(b, l.stats...)
	return append(b, "}}"...)
}

// selectFor returns the (cached) time-ordered indices of the entries a
// query selects.
func (l *Loki) selectFor(query string) ([]int32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sel, ok := l.selected[query]; ok {
		return sel, nil
	}
	m, err := parseLogQL(query)
	if err != nil {
		return nil, err
	}
	var sel []int32
	for i := range l.times {
		if m.matches(l.labels[l.stream[i]], l.meta[i], l.lines[i]) {
			sel = append(sel, int32(i))
		}
	}
	l.selected[query] = sel
	return sel, nil
}

// logQL is the part of LogQL the fake understands.
type logQL struct {
	selector []matcher
	lines    []lineFilter // |~ and !~ filters, all must hold
	labelAny []matcher    // | a=~"…" or b=~"…": any one must match
}

type matcher struct {
	name string
	re   *regexp.Regexp // anchored
}

// lineFilter is `|~ "re"` (keep matching lines) or `!~ "re"` (drop them).
type lineFilter struct {
	re  *regexp.Regexp
	neg bool
}

var (
	matcherRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|=)\s*("(?:[^"\\]|\\.)*")\s*$`)
	lineRE    = regexp.MustCompile(`^(\|~|!~)\s*("(?:[^"\\]|\\.)*")`)
)

func parseLogQL(q string) (*logQL, error) {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "{") {
		return nil, fmt.Errorf("query %q has no stream selector", q)
	}
	closeAt := strings.IndexByte(q, '}')
	if closeAt < 0 {
		return nil, fmt.Errorf("query %q: unclosed stream selector", q)
	}
	out := &logQL{}
	for _, part := range strings.Split(q[1:closeAt], ",") {
		m, err := parseMatcher(part)
		if err != nil {
			return nil, err
		}
		out.selector = append(out.selector, m)
	}
	rest := strings.TrimSpace(q[closeAt+1:])
	// Line filters first (as the plugin writes them), then at most one
	// label filter stage, which ends the query.
	for strings.HasPrefix(rest, "|~") || strings.HasPrefix(rest, "!~") {
		m := lineRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("line filter %q not understood", rest)
		}
		pat, err := strconv.Unquote(m[2])
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, err
		}
		out.lines = append(out.lines, lineFilter{re: re, neg: m[1] == "!~"})
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	switch {
	case rest == "":
	case strings.HasPrefix(rest, "|"):
		for _, part := range strings.Split(rest[1:], " or ") {
			m, err := parseMatcher(part)
			if err != nil {
				return nil, err
			}
			out.labelAny = append(out.labelAny, m)
		}
	default:
		return nil, fmt.Errorf("pipeline %q not understood", rest)
	}
	return out, nil
}

func parseMatcher(s string) (matcher, error) {
	m := matcherRE.FindStringSubmatch(s)
	if m == nil {
		return matcher{}, fmt.Errorf("matcher %q not understood", s)
	}
	v, err := strconv.Unquote(m[3])
	if err != nil {
		return matcher{}, err
	}
	if m[2] == "=" {
		v = regexp.QuoteMeta(v)
	}
	re, err := regexp.Compile("^(?:" + v + ")$")
	if err != nil {
		return matcher{}, err
	}
	return matcher{name: m[1], re: re}, nil
}

func (q *logQL) matches(stream, meta model.Labels, line string) bool {
	for _, m := range q.selector {
		v, _ := stream.Get(m.name)
		if !m.re.MatchString(v) {
			return false
		}
	}
	for _, f := range q.lines {
		if f.re.MatchString(line) == f.neg {
			return false
		}
	}
	if len(q.labelAny) == 0 {
		return true
	}
	for _, m := range q.labelAny {
		v, ok := meta.Get(m.name)
		if !ok {
			v, ok = stream.Get(m.name)
		}
		if ok && m.re.MatchString(v) {
			return true
		}
	}
	return false
}

// appendLabels appends a label set as a JSON object, names sorted as Loki
// writes them.
func appendLabels(b []byte, ls model.Labels) []byte {
	if !slices.IsSortedFunc(ls, func(x, y model.Label) int { return strings.Compare(x.Name, y.Name) }) {
		ls = slices.Clone(ls)
		slices.SortStableFunc(ls, func(x, y model.Label) int { return strings.Compare(x.Name, y.Name) })
	}
	b = append(b, '{')
	for i, lb := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, lb.Name)
		b = append(b, ':')
		b = appendJSONString(b, lb.Value)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaping only what JSON
// requires (Loki does not escape HTML characters either).
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
