package frames

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// Logs builds the `logs` frame: the trace's log entries, time-ordered, in
// Grafana's log-lines shape (timestamp, body, severity, id, labels) plus the
// join (traceID, spanID — "" for trace-level lines —, serviceName) and the
// time since the span's previous line. It holds at most Options.MaxLogLines
// entries: first those that bound a gap or announce a retry, then the
// earliest of the rest; when some are left out, a notice says how many and
// links to every line in Explore (Options.LogsExplore).
func Logs(a *model.Analysis, o Options) *data.Frame {
	var logs []model.Log
	var spans []model.Span
	var traceIDOfTrace string
	if a != nil {
		logs = a.Logs
		if a.Trace != nil {
			spans, traceIDOfTrace = a.Trace.Spans, a.Trace.TraceID
		}
	}
	analysed := len(logs)
	if limit := o.maxLogLines(); len(logs) > limit {
		logs = capLogs(a, limit)
	}
	n := len(logs)
	var (
		ts                                   = make([]time.Time, n)
		body, severity, traceID, spanID, svc = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		labels                               = make([]json.RawMessage, n)
		gapBefore                            = make([]float64, n)
	)
	ids := entryIDs(logs)
	var (
		ar       arena
		buf      []byte
		byStream = map[*model.Label]json.RawMessage{}
	)
	for i := range logs {
		l := &logs[i]
		ts[i], body[i], severity[i] = l.Entry.Time, l.Entry.Line, l.Level
		traceID[i] = l.TraceID
		if traceID[i] == "" {
			traceID[i] = traceIDOfTrace
		}
		if l.SpanIndex >= 0 && l.SpanIndex < len(spans) {
			spanID[i], svc[i] = spans[l.SpanIndex].SpanID, spans[l.SpanIndex].ServiceName
		} else {
			svc[i] = streamService(l.Entry.Stream)
		}
		gapBefore[i] = ms(l.GapBefore)

		// Entries of one stream share its label slice; without metadata of
		// their own they share one labels value too.
		shared := len(l.Entry.Metadata) == 0 && len(l.Entry.Parsed) == 0 && len(l.Entry.Stream) > 0
		if shared {
			if v, ok := byStream[&l.Entry.Stream[0]]; ok {
				labels[i] = v
				continue
			}
		}
		buf = appendLabels(buf[:0], idColumns{traceID[i], spanID[i]}, l.Entry.Stream, l.Entry.Metadata, l.Entry.Parsed)
		labels[i] = ar.keep(buf)
		if shared {
			byStream[&l.Entry.Stream[0]] = labels[i]
		}
	}

	f := o.newFrame("logs",
		data.NewField("timestamp", nil, ts),
		data.NewField("body", nil, body),
		data.NewField("severity", nil, severity),
		data.NewField("id", nil, ids),
		data.NewField("labels", nil, labels),
		linkField(data.NewField("traceID", nil, traceID), o.Link.traceIDLinks()),
		linkField(data.NewField("spanID", nil, spanID), o.Link.spanIDLinks("")),
		data.NewField("serviceName", nil, svc),
		data.NewField("gapBeforeMs", nil, gapBefore),
	)
	f.Meta.Type = data.FrameTypeLogLines
	f.Meta.TypeVersion = data.FrameTypeVersion{0, 0}
	f.Meta.PreferredVisualization = data.VisTypeLogs
	if n < analysed {
		text, link := logLinesNotice(analysed, n, o.LogsExplore)
		f.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: text, Link: link})
	}
	return f
}

// capLogs returns the limit lines of a.Logs the logs frame shows, in their
// order: the story lines first, then the earliest of the rest.
func capLogs(a *model.Analysis, limit int) []model.Log {
	all := make([]int32, len(a.Logs))
	for i := range all {
		all[i] = int32(i)
	}
	keep := preferStory(a, all, limit, storyLines(a), func(l *model.Log) int { return l.SpanIndex })
	out := make([]model.Log, len(keep))
	for j, li := range keep {
		out[j] = a.Logs[li]
	}
	return out
}

// streamService names the service of a line that belongs to no span, from
// the labels Loki and the OTel collector give it.
func streamService(stream model.Labels) string {
	for _, k := range [...]string{"service_name", "service", "app"} {
		if v, ok := stream.Get(k); ok {
			return v
		}
	}
	return ""
}

// idColumns are a row's traceID and spanID columns.
type idColumns struct{ traceID, spanID string }

// repeats reports a structured-metadata or parsed label that is the row's
// trace or span id (trace_id, span_id, traceId …): the traceID and spanID
// columns already carry it, and their links. OTLP-ingested lines all have
// both, which was 0.3 MB of a 5 000-row logs frame. An id that is not the
// row's (an unknown span) is kept: it is why the line joined nothing.
func (c idColumns) repeats(l model.Label) bool {
	return isIDKey(l.Name) && l.Value != "" && (strings.EqualFold(l.Value, c.traceID) || strings.EqualFold(l.Value, c.spanID))
}

// appendLabels appends one JSON object of the stream labels, structured
// metadata and parsed labels; a name seen earlier wins. Labels after the
// stream's that repeat the row's id columns are left out.
func appendLabels(buf []byte, ids idColumns, sets ...model.Labels) []byte {
	buf = append(buf, '{')
	n := 0
	for si, set := range sets {
	next:
		for li, l := range set {
			if si > 0 && ids.repeats(l) {
				continue
			}
			for _, earlier := range sets[:si] {
				if _, dup := earlier.Get(l.Name); dup {
					continue next
				}
			}
			for _, earlier := range set[:li] {
				if earlier.Name == l.Name {
					continue next
				}
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = appendString(buf, l.Name)
			buf = append(buf, ':')
			buf = appendString(buf, l.Value)
		}
	}
	return append(buf, '}')
}

// entryIDs gives every entry an id that is unique in the frame and stable
// across queries, so Grafana can deduplicate lines on refresh: the entry's
// nanosecond time, a hash of its stream labels and line, and, for identical
// entries, their occurrence ("1795624597300000000_9f1c…", "…_1").
func entryIDs(logs []model.Log) []string {
	ids := make([]string, len(logs))
	if len(logs) == 0 {
		return ids
	}
	hashes := make([]uint64, len(logs))
	byStream := map[*model.Label]uint64{}
	for i := range logs {
		e := logs[i].Entry
		var h uint64
		if len(e.Stream) > 0 {
			var ok bool
			if h, ok = byStream[&e.Stream[0]]; !ok {
				h = hashLabels(e.Stream)
				byStream[&e.Stream[0]] = h
			}
		} else {
			h = hashSeed
		}
		hashes[i] = hashString(h, e.Line)
	}

	// Identical entries share their time, and in a time-ordered slice
	// entries of one time are neighbours: counting the earlier identical
	// ones in the run is enough. An unordered slice falls back to a map.
	ordered := slices.IsSortedFunc(logs, func(x, y model.Log) int { return x.Entry.Time.Compare(y.Entry.Time) })
	var seen map[[2]uint64]int
	if !ordered {
		seen = make(map[[2]uint64]int)
	}
	buf := make([]byte, 0, len(logs)*40)
	ends := make([]int, len(logs))
	for i := range logs {
		ns := logs[i].Entry.Time.UnixNano()
		occ := 0
		if ordered {
			for j := i - 1; j >= 0 && logs[j].Entry.Time.UnixNano() == ns; j-- {
				if hashes[j] == hashes[i] {
					occ++
				}
			}
		} else {
			key := [2]uint64{uint64(ns), hashes[i]}
			occ = seen[key]
			seen[key] = occ + 1
		}
		buf = strconv.AppendInt(buf, ns, 10)
		buf = append(buf, '_')
		buf = appendHex64(buf, hashes[i])
		if occ > 0 {
			buf = append(buf, '_')
			buf = strconv.AppendInt(buf, int64(occ), 10)
		}
		ends[i] = len(buf)
	}
	// One string for all ids; each id is a substring of it.
	all := string(buf)
	start := 0
	for i, end := range ends {
		ids[i] = all[start:end]
		start = end
	}
	return ids
}

const (
	hashSeed  = 14695981039346656037 // FNV-1a's offset basis
	hashPrime = 1099511628211        // FNV-1a's prime
	hashMul   = 0x9e3779b97f4a7c15   // 2^64 / golden ratio
)

// hashString continues a 64-bit hash with s, eight bytes a step (a
// byte-wise FNV-1a cost a third of building the logs frame). It is fixed
// across processes, unlike hash/maphash, which keeps ids stable; ids only
// need it to tell apart entries of the same nanosecond.
func hashString(h uint64, s string) uint64 {
	for ; len(s) >= 8; s = s[8:] {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = bits.RotateLeft64((h^w)*hashMul, 31)
	}
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * hashPrime
	}
	// Finish like splitmix64, so that every input bit reaches every output bit.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// hashLabels hashes a label set independently of its order.
func hashLabels(ls model.Labels) uint64 {
	if !slices.IsSortedFunc(ls, func(x, y model.Label) int { return strings.Compare(x.Name, y.Name) }) {
		ls = slices.Clone(ls)
		slices.SortFunc(ls, func(x, y model.Label) int { return strings.Compare(x.Name, y.Name) })
	}
	h := uint64(hashSeed)
	for _, l := range ls {
		h = hashString(h, l.Name)
		h = hashString(h, "\xff")
		h = hashString(h, l.Value)
		h = hashString(h, "\xfe")
	}
	return h
}

func appendHex64(b []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(v>>uint(shift))&0xf])
	}
	return b
}
