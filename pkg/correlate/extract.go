package correlate

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// prop is a property of a log entry that the extractor looks up.
type prop uint8

const (
	propTrace prop = iota
	propSpan
	propMessage
	propLevel
	propStated
	numProps
)

// extractedSuffix is what Loki's logfmt and json stages append to a parsed
// key that collides with a stream label or structured metadata name
// (trace_id_extracted). The suffixed value is the line's own.
const extractedSuffix = "_extracted"

// keyRef says which property a key names and its rank among that
// property's keys (lower is preferred).
type keyRef struct {
	p      prop
	rank   uint16
	millis bool // for propStated: the value is a number of milliseconds
	sevNum bool // for propLevel: the value is an OpenTelemetry severity_number
}

// Extractor reads ids, message, level and stated duration from log entries.
// Build one with NewExtractor and reuse it: it holds the key table. An
// Extractor is not safe for concurrent use; use one per goroutine.
type Extractor struct {
	// byLen holds the keys by length: a lookup is an array index and one
	// or two string compares, several times cheaper than hashing every
	// field name of every line. Keys longer than maxKeyLen go to long.
	byLen [maxKeyLen + 1][]keyEntry
	long  map[string]keyRef
	// scratch is reused for parsing; when useArena is set, each entry's
	// fields are copied into arena, so that Analyze makes one allocation
	// per few thousand entries instead of one per entry.
	scratch  model.Labels
	arena    model.Labels
	useArena bool
}

type keyEntry struct {
	name string
	ref  keyRef
}

// maxKeyLen is the longest key held in Extractor.byLen.
const maxKeyLen = 40

// arenaChunk is how many fields Analyze allocates at a time, and
// arenaSlack the room a chunk must have left for the next line.
const (
	arenaChunk = 4096
	arenaSlack = 64
)

// NewExtractor returns an Extractor for opts (zero fields take defaults).
func NewExtractor(opts Options) *Extractor {
	opts = opts.withDefaults()
	x := &Extractor{}
	add := func(p prop, names []string, millis bool, offset int) {
		x.addKeys(p, names, millis, false, offset)
	}
	add(propTrace, opts.TraceIDFields, false, 0)
	add(propSpan, opts.SpanIDFields, false, 0)
	add(propMessage, opts.MessageFields, false, 0)
	add(propLevel, opts.LevelFields, false, 0)
	// OpenTelemetry's severity_number serves when no level key does.
	x.addKeys(propLevel, []string{severityNumberKey}, false, true, len(opts.LevelFields))
	add(propStated, opts.MillisFields, true, 0)
	add(propStated, opts.DurationFields, false, len(opts.MillisFields))
	return x
}

// severityNumberKey is the OpenTelemetry log record's severity number, as
// Loki's OTLP ingestion stores it in structured metadata.
const severityNumberKey = "severity_number"

// addKeys adds names to the key table for p, ranked from offset.
func (x *Extractor) addKeys(p prop, names []string, millis, sevNum bool, offset int) {
	{
		for i, n := range names {
			if _, dup := x.lookup(n); dup { // the first property to claim a key keeps it
				continue
			}
			ref := keyRef{p: p, rank: uint16(offset + i), millis: millis, sevNum: sevNum}
			if len(n) <= maxKeyLen {
				x.byLen[len(n)] = append(x.byLen[len(n)], keyEntry{n, ref})
			} else {
				if x.long == nil {
					x.long = map[string]keyRef{}
				}
				x.long[n] = ref
			}
		}
	}
}

// Extract reads one entry with opts. It builds the key table on every call;
// use NewExtractor for many entries.
func Extract(e *model.LogEntry, opts Options) model.Log {
	return NewExtractor(opts).Extract(e)
}

// lookup finds the property a key names.
func (x *Extractor) lookup(name string) (keyRef, bool) {
	if len(name) <= maxKeyLen {
		for _, e := range x.byLen[len(name)] {
			if e.name == name {
				return e.ref, true
			}
		}
		return keyRef{}, false
	}
	ref, ok := x.long[name]
	return ref, ok
}

// found is the best value seen so far for each property.
type found struct {
	val    [numProps]string
	rank   [numProps]uint32
	has    [numProps]bool
	at     [numProps]int // index in its source of the field each value came from
	stated time.Duration
}

// Extract reads one entry. SpanIndex is -1: the join sets it.
//
// Each property is looked up in the line's own fields, then in Loki's
// parser output (also the line's fields, read by Loki: it matters when a
// query's pattern or regexp stage read a line this package cannot), then
// in structured metadata, then in stream labels. Within one source the
// configured key order decides. A value that is not valid for its property
// (an id that is not hex, an unparsable duration) is passed over, so a
// later source can still supply it.
func (x *Extractor) Extract(e *model.LogEntry) model.Log {
	var l model.Log
	x.extractInto(&l, e)
	return l
}

// extractInto is Extract writing into l, which saves Analyze copying a
// large struct twice per entry.
func (x *Extractor) extractInto(l *model.Log, e *model.LogEntry) {
	var fields model.Labels
	var shape lineShape
	if x.useArena {
		// Parse straight into the arena. A line with more fields than the
		// chunk has room for makes append move to a bigger array; the
		// fields handed out before keep the old one, which stays valid.
		if cap(x.arena)-len(x.arena) < arenaSlack {
			x.arena = make(model.Labels, 0, arenaChunk)
		}
		n := len(x.arena)
		x.arena, shape = parseLine(x.arena, e.Line)
		if len(x.arena) > n {
			fields = x.arena[n:len(x.arena):len(x.arena)]
		}
	} else if x.scratch, shape = parseLine(x.scratch[:0], e.Line); len(x.scratch) > 0 {
		fields = append(model.Labels(nil), x.scratch...)
	}

	var f found
	x.scan(&f, fields, false)
	if kept := dropRead(fields, &f); len(kept) < len(fields) {
		if x.useArena {
			x.arena = x.arena[:len(x.arena)-(len(fields)-len(kept))] // the room goes to the next line
		}
		fields = kept[:len(kept):len(kept)]
	}
	if !f.has[propTrace] || !f.has[propSpan] {
		// A W3C traceparent anywhere in the line, under any key or bare
		// (access logs, proxies), still counts as the line's own.
		if tid, sid, ok := findTraceparent(shape.inner); ok && (!f.has[propTrace] || f.val[propTrace] == tid) {
			f.val[propTrace], f.has[propTrace] = tid, true
			if !f.has[propSpan] {
				f.val[propSpan], f.has[propSpan] = sid, true
			}
		}
	}
	if !f.complete() {
		x.scan(&f, e.Parsed, true)
	}
	if !f.complete() {
		x.scan(&f, e.Metadata, false)
	}
	if !f.complete() {
		x.scan(&f, e.Stream, true)
	}

	*l = model.Log{
		Entry:     e,
		TraceID:   f.val[propTrace],
		SpanID:    f.val[propSpan],
		SpanIndex: -1,
		Message:   f.val[propMessage],
		Level:     lowerLevel(f.val[propLevel]),
		Fields:    fields,
		Stated:    f.stated,
		HasStated: f.has[propStated],
	}
	if f.has[propMessage] && f.has[propLevel] {
		return
	}
	if !shape.isText {
		if !f.has[propMessage] {
			l.Message = shape.inner
			if l.Message == "" {
				l.Message = e.Line // an empty wrapped line
			}
		}
		return
	}
	// A text line: its message and level word are in the text.
	msg, level := textMessage(shape.text, !shape.object)
	if !f.has[propMessage] {
		l.Message = msg
		if msg == "" {
			l.Message = shape.inner
		}
		if l.Message == "" {
			l.Message = e.Line // an empty wrapped line
		}
	}
	if !f.has[propLevel] {
		l.Level = level
	}
}

// dropRead removes, in place, the fields whose values became the entry's
// trace id, span id, message and level: the Log holds those already, and
// only the trace view reads Fields, leaving exactly those out. On 100 000
// JSON lines the four were 13 MB of the analysis's live heap, held until
// the frames are built. The stated duration's field stays: the trace view
// shows it.
func dropRead(fields model.Labels, f *found) model.Labels {
	var drop uint64 // by index; a field past the 64th stays (the trace view still leaves it out)
	for _, p := range [...]prop{propTrace, propSpan, propMessage, propLevel} {
		if f.has[p] && f.at[p] < 64 {
			drop |= 1 << f.at[p]
		}
	}
	if drop == 0 {
		return fields
	}
	k := 0
	for i := range fields {
		if i >= 64 || drop&(1<<i) == 0 {
			fields[k] = fields[i]
			k++
		}
	}
	return fields[:k]
}

func (f *found) complete() bool {
	for p := range numProps {
		if !f.has[p] {
			return false
		}
	}
	return true
}

// scan looks up every property still missing in one source. labelSource
// says whether Loki may have renamed colliding keys with "_extracted".
func (x *Extractor) scan(f *found, src model.Labels, labelSource bool) {
	var local [numProps]bool // found in this source (rank comparison applies)
	for i, l := range src {
		name, extracted := l.Name, false
		ref, ok := x.lookup(name)
		if !ok && labelSource && strings.HasSuffix(name, extractedSuffix) {
			name = name[:len(name)-len(extractedSuffix)]
			ref, ok = x.lookup(name)
			extracted = true
		}
		if !ok || (f.has[ref.p] && !local[ref.p]) {
			continue
		}
		// The line's value (…_extracted) beats the label it collided with.
		rank := uint32(ref.rank) * 2
		if !extracted {
			rank++
		}
		if local[ref.p] && rank >= f.rank[ref.p] {
			continue
		}
		v, stated, valid := validate(ref, l.Value)
		if !valid {
			continue
		}
		f.val[ref.p], f.rank[ref.p], f.has[ref.p], local[ref.p], f.at[ref.p] = v, rank, true, true, i
		if ref.p == propStated {
			f.stated = stated
		}
	}
}

// validate normalises a value for its property, reporting false when the
// value cannot serve.
func validate(ref keyRef, v string) (string, time.Duration, bool) {
	switch ref.p {
	case propTrace:
		v = trimIDPunct(v)
		if isLowerHex(v, 32) {
			return v, 0, true
		}
		id, ok := model.NormalizeTraceID(v)
		return id, 0, ok
	case propSpan:
		v = trimIDPunct(v)
		if isLowerHex(v, 16) {
			return v, 0, true
		}
		id, ok := model.NormalizeSpanID(v)
		return id, 0, ok
	case propStated:
		d, ok := parseStated(v, ref.millis)
		return v, d, ok
	case propLevel:
		if ref.sevNum {
			lv := severityNumberLevel(v)
			return lv, 0, lv != ""
		}
		return v, 0, v != "" && (v[0] > ' ' || strings.TrimSpace(v) != "")
	default:
		return v, 0, v != "" && (v[0] > ' ' || strings.TrimSpace(v) != "")
	}
}

// trimIDPunct takes off the ',' or ';' that ends a value written before
// another field outside a group ("trace_id=…, span_id=…").
func trimIDPunct(v string) string {
	if n := len(v); n > 0 && (v[n-1] == ',' || v[n-1] == ';') {
		return v[:n-1]
	}
	return v
}

// severityNumberLevel maps OpenTelemetry's severity_number to a level:
// 1–8 debug (TRACE and DEBUG), 9–12 info, 13–16 warn, 17–24 error (FATAL counts
// as an error). Anything else is no level.
func severityNumberLevel(v string) string {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil || n < 1 || n > 24:
		return ""
	case n <= 8:
		return "debug"
	case n <= 12:
		return "info"
	case n <= 16:
		return "warn"
	}
	return "error"
}

// maxStatedMs keeps a stated duration inside time.Duration.
const maxStatedMs = float64(math.MaxInt64 / int64(time.Millisecond))

// parseStated reads a stated duration: a number of milliseconds, or (when
// millis is false) also a Go duration string such as "200ms".
func parseStated(v string, millis bool) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if ms, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(ms) || ms < 0 || ms >= maxStatedMs {
			return 0, false
		}
		return time.Duration(math.Round(ms * float64(time.Millisecond))), true
	}
	if millis {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// lowerLevel lower-cases a level, without allocating for the usual ones.
func lowerLevel(s string) string {
	lower := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			lower = false
			break
		}
	}
	if lower {
		return s
	}
	for _, l := range commonLevels {
		if strings.EqualFold(s, l) {
			return l
		}
	}
	return strings.ToLower(s)
}

var commonLevels = [...]string{"info", "warn", "error", "debug", "trace", "warning", "fatal", "critical"}

// lowerHex marks the bytes of a normalised id.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// isLowerHex reports whether v is already a normalised id of width digits,
// the usual case, checked with a table instead of model's general parser.
func isLowerHex(v string, width int) bool {
	if len(v) != width {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !lowerHex[v[i]] {
			return false
		}
	}
	return true
}
