package frames

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/internal/parts"
	"github.com/tracegap/correlator/pkg/model"
)

// Tag keys Tracegap adds to the spans of the trace frame, so span filters
// and the span detail show the analysis inside the waterfall. A figure
// that is zero is left out (tracegap.retries absent: no retries).
const (
	TagSelfTime       = "tracegap.self_time_ms"
	TagWait           = "tracegap.wait_ms"
	TagUnaccounted    = "tracegap.unaccounted_ms"
	TagRetries        = "tracegap.retries"
	TagNetwork        = "tracegap.network_ms" // CLIENT spans with network time only
	TagQueue          = "tracegap.queue_ms"   // CONSUMER spans of a PRODUCER only
	TagOnCriticalPath = "tracegap.on_critical_path"
	// TagHiddenLines counts a span's log lines the trace view does not show
	// (maxLinesPerSpan, maxEmbeddedLines). A tag, not a warning: a capped
	// span is not a finding, and on a big trace nearly every span is capped.
	TagHiddenLines = "tracegap.log_lines_not_shown"
	// FieldTraceLevel marks, on the root span, a log line that names no span
	// of the trace.
	FieldTraceLevel = "tracegap.trace_level"
)

// Trace builds the `trace` frame Grafana's trace view reads: one row per
// span, in Trace.Spans order. Each span's logs hold its OTel span events and
// its correlated log lines (at most Options.MaxLinesPerSpan of them; the
// logs frame has all), and its warnings hold the engine's sentences.
// Trace-level lines go on the earliest root span; the breakdown's headline
// is the first warning of the span it breaks down.
func Trace(a *model.Analysis, o Options) *data.Frame {
	var spans []model.Span
	if a != nil && a.Trace != nil {
		spans = a.Trace.Spans
	}
	n := len(spans)
	var (
		traceID, spanID, parentID, operation, service = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		serviceTags, logs, refs, tags, warnings       = make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n)
		start, duration                               = make([]float64, n), make([]float64, n)
		kind, statusMsg, libName, libVersion          = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		status                                        = make([]int64, n)
	)

	b := traceBuilder{a: a, max: o.maxLines(), root: rootSpan(spans)}
	headlineAt := -1
	if a != nil && a.Breakdown.Headline != "" {
		headlineAt = breakdownRoot(a)
	}
	b.groupLines()
	typical, hasTypical := typicalBySpan(a, n)
	totalCut := b.planLines(o.maxEmbedded())
	var unlistedBySpan []unlisted
	if a != nil {
		unlistedBySpan = unlistedGaps(a, shownGaps(a, o.maxTableRows()))
	}
	// The rows are independent: each part of the spans gets its own
	// scratch buffer and arena, on its own goroutine when the trace is big
	// (the rows were half of the 10 000-span trace's frames stage, 113 ms,
	// on one CPU; 91 ms in parts, BENCHMARKS.md run 8).
	row := func(w *traceBuilder, i int) (dropped int) {
		s := &spans[i]
		var fig model.SpanFigures
		if i < len(a.Figures) {
			fig = a.Figures[i]
		}
		traceID[i], spanID[i], parentID[i] = s.TraceID, s.SpanID, s.ParentSpanID
		operation[i], service[i] = s.Name, s.ServiceName
		start[i], duration[i] = epochMs(s.Start), ms(s.Duration())
		kind[i], status[i], statusMsg[i] = spanKind(s.Kind), statusCode(s.StatusCode), s.StatusMessage
		libName[i], libVersion[i] = s.ScopeName, s.ScopeVersion

		serviceTags[i] = w.serviceTags(s.ResourceAttributes)
		refs[i] = w.keep(appendReferences(w.buf[:0], s.Links))
		lines, dropped := b.planned(i)
		tb := appendTags(w.buf[:0], s, &fig, dropped)
		if hasTypical != nil && hasTypical[i] {
			if len(tb) > 2 {
				tb = append(tb[:len(tb)-1], ',')
			} else {
				tb = tb[:1]
			}
			tb = append(appendKVFloat(tb, TagTypical, typical[i]), ']')
		}
		tags[i] = w.keep(tb)
		logs[i] = w.keep(w.appendLogs(w.buf[:0], s, lines))

		var extraBuf [2]string
		extra := extraBuf[:0]
		if i == b.root && b.traceLevel > 0 {
			extra = append(extra, fmt.Sprintf("%s name no span of this trace (no span id, or an unknown one); they are shown on this root span and in the logs frame", plural(b.traceLevel, "log line")))
		}
		engine := fig.Warnings
		if i < len(unlistedBySpan) && unlistedBySpan[i].count > 0 {
			u := &unlistedBySpan[i]
			// Sentences of the gaps the gaps frame does not list either.
			engine = u.filter(engine)
			extra = append(extra, u.sentence())
		}
		if i == headlineAt {
			// The headline leads the root's Warnings card: the one
			// answer, before the findings it sums up.
			engine = append([]string{a.Breakdown.Headline}, engine...)
		}
		if i == headlineAt || (headlineAt < 0 && i == b.root) {
			// The comparison comes right after the headline.
			engine = withComparison(a, engine)
		}
		warnings[i] = w.keep(appendWarnings(w.buf[:0], engine, extra))
		return dropped
	}
	ps := parts.Split(n)
	cappedIn := make([]int, len(ps))
	parts.Run(ps, func(k, lo, hi int) {
		w := b.worker()
		for i := lo; i < hi; i++ {
			if row(w, i) > 0 {
				cappedIn[k]++
			}
		}
	})
	capped := 0
	for _, c := range cappedIn {
		capped += c
	}

	f := o.newFrame("trace",
		data.NewField("traceID", nil, traceID),
		data.NewField("spanID", nil, spanID),
		data.NewField("parentSpanID", nil, parentID),
		data.NewField("operationName", nil, operation),
		data.NewField("serviceName", nil, service),
		data.NewField("serviceTags", nil, serviceTags),
		data.NewField("startTime", nil, start),
		data.NewField("duration", nil, duration),
		data.NewField("logs", nil, logs),
		data.NewField("references", nil, refs),
		data.NewField("tags", nil, tags),
		data.NewField("kind", nil, kind),
		data.NewField("statusCode", nil, status),
		data.NewField("statusMessage", nil, statusMsg),
		data.NewField("instrumentationLibraryName", nil, libName),
		data.NewField("instrumentationLibraryVersion", nil, libVersion),
		data.NewField("warnings", nil, warnings),
	)
	f.Meta.PreferredVisualization = data.VisTypeTrace
	if a != nil && a.Comparison != nil && a.Comparison.Sentence != "" {
		setCustom(f, CustomComparison, a.Comparison.Sentence)
	}
	switch {
	case totalCut:
		f.AppendNotices(Info(fmt.Sprintf("%s show only some of their log lines in the trace view: at most %d per span and %d in all (maxEmbeddedLines), the lines that bound a gap or announce a retry first; the tag %s counts each span's other lines", plural(capped, "span"), b.max, o.maxEmbedded(), TagHiddenLines)))
	case capped > 0:
		f.AppendNotices(Info(fmt.Sprintf("%s show only %d of their log lines in the trace view (the tag %s counts the others); the logs frame has more", plural(capped, "span"), b.max, TagHiddenLines)))
	}
	return f
}

// traceBuilder holds the scratch state of one trace frame.
type traceBuilder struct {
	a    *model.Analysis
	max  int
	root int // index of the span trace-level lines go on, -1 when none

	// Lines of span i are a.Logs[idx[off[i]:off[i+1]]], time-ordered.
	off        []int32
	idx        []int32
	traceLevel int

	// Lines span i shows are plan[planOff[i]:planOff[i+1]] (planLines).
	plan    []int32
	planOff []int32

	buf   []byte // scratch for one JSON value
	mark  []bool // scratch for selectLines
	kept  []int32
	arena arena

	// resTags are the serviceTags already encoded, by resource: the spans
	// of one resource share its attribute slice, and then one encoding
	// (10 000 spans of 20 resources encoded the same 240 bytes 500 times).
	resTags map[resKey]json.RawMessage
}

// resKey is one attribute slice: where it starts and how long it is.
type resKey struct {
	first *model.KeyValue
	n     int
}

// serviceTags is the JSON of a span's resource attributes, shared with
// the spans of the same resource.
func (w *traceBuilder) serviceTags(kvs []model.KeyValue) json.RawMessage {
	if len(kvs) == 0 {
		return w.keep(appendKeyValues(w.buf[:0], kvs))
	}
	k := resKey{&kvs[0], len(kvs)}
	if j, ok := w.resTags[k]; ok {
		return j
	}
	j := w.keep(appendKeyValues(w.buf[:0], kvs))
	if w.resTags == nil {
		w.resTags = map[resKey]json.RawMessage{}
	}
	w.resTags[k] = j
	return j
}

// worker is a copy of b that shares its read-only plan and has scratch of
// its own, for one part of the rows.
func (b *traceBuilder) worker() *traceBuilder {
	w := *b
	w.buf, w.mark, w.kept, w.arena, w.resTags = nil, nil, nil, arena{}, nil
	return &w
}

func (b *traceBuilder) keep(v []byte) json.RawMessage {
	b.buf = v[:0] // keep the grown scratch buffer for the next value
	return b.arena.keep(v)
}

// groupLines buckets the analysis's lines by span with a counting sort,
// which keeps each bucket in the lines' time order. Trace-level lines join
// the root's bucket.
func (b *traceBuilder) groupLines() {
	n := 0
	if b.a != nil && b.a.Trace != nil {
		n = len(b.a.Trace.Spans)
	}
	b.off = make([]int32, n+2)
	if b.a == nil || len(b.a.Logs) == 0 {
		return
	}
	bucket := func(l *model.Log) int {
		if l.FromEvent {
			return -1 // a span event: appendLogs writes it from the span
		}
		if l.SpanIndex >= 0 && l.SpanIndex < n {
			return l.SpanIndex
		}
		return b.root // -1 when the trace has no span at all
	}
	for i := range b.a.Logs {
		l := &b.a.Logs[i]
		if l.SpanIndex < 0 || l.SpanIndex >= n {
			b.traceLevel++
		}
		b.off[bucket(l)+2]++
	}
	for i := 2; i < len(b.off); i++ {
		b.off[i] += b.off[i-1]
	}
	// off[k+1] is now the start of bucket k; filling advances it to the
	// bucket's end, which is the start of bucket k+1.
	b.idx = make([]int32, len(b.a.Logs))
	for i := range b.a.Logs {
		k := bucket(&b.a.Logs[i]) + 1
		b.idx[b.off[k]] = int32(i)
		b.off[k]++
	}
	// Bucket k now spans off[k]..off[k+1]; bucket −1 (lines of a trace
	// without spans) is never read.
}

// planLines picks the lines every span shows: each span's selectLines, then,
// when they come to more than limit in all, the limit of them that bound a
// gap or announce a retry first and the earliest of the rest. It reports
// whether limit cut any.
func (b *traceBuilder) planLines(limit int) bool {
	n := len(b.off) - 2
	b.planOff = make([]int32, n+1)
	var plan []int32
	for i := range n {
		sel, _ := b.selectLines(i)
		plan = append(plan, sel...)
		b.planOff[i+1] = int32(len(plan))
	}
	b.plan = plan
	if len(plan) <= limit {
		return false
	}
	candidates := slices.Clone(plan)
	slices.Sort(candidates) // indices into a.Logs: time order
	bucket := func(l *model.Log) int {
		if b.a.Trace != nil && l.SpanIndex >= 0 && l.SpanIndex < len(b.a.Trace.Spans) {
			return l.SpanIndex
		}
		return b.root
	}
	allowed := make([]bool, len(b.a.Logs))
	for _, li := range preferStory(b.a, candidates, limit, storyLines(b.a), bucket) {
		allowed[li] = true
	}
	kept := plan[:0]
	start := int32(0)
	for i := range n {
		end := b.planOff[i+1]
		for _, li := range plan[start:end] {
			if allowed[li] {
				kept = append(kept, li)
			}
		}
		start, b.planOff[i+1] = end, int32(len(kept))
	}
	b.plan = kept
	return true
}

// planned returns the lines span i shows and how many of its lines are
// left out.
func (b *traceBuilder) planned(i int) ([]int32, int) {
	shown := b.plan[b.planOff[i]:b.planOff[i+1]]
	return shown, len(b.lines(i)) - len(shown)
}

// lines returns the indices into a.Logs of span i's lines.
func (b *traceBuilder) lines(i int) []int32 {
	if len(b.idx) == 0 {
		return nil
	}
	return b.idx[b.off[i]:b.off[i+1]]
}

// selectLines returns the lines span i shows, time-ordered, and how many
// were left out. Under the cap every line shows. Over it, the lines that
// tell the story win: those bounding a gap or announcing a retry, then
// warnings and errors, then the earliest of the rest.
func (b *traceBuilder) selectLines(i int) ([]int32, int) {
	all := b.lines(i)
	if len(all) <= b.max {
		return all, 0
	}
	story := b.storyTimes(i)
	if cap(b.mark) < len(all) {
		b.mark = make([]bool, len(all))
	}
	mark := b.mark[:len(all)]
	clear(mark)
	left := b.max
	tiers := [...]func(l *model.Log) bool{
		func(l *model.Log) bool { _, ok := story[l.Entry.Time.UnixNano()]; return ok },
		func(l *model.Log) bool { return severe(l.Level) },
		func(*model.Log) bool { return true },
	}
	for _, tier := range tiers {
		for j, li := range all {
			if left == 0 {
				break
			}
			if !mark[j] && tier(&b.a.Logs[li]) {
				mark[j] = true
				left--
			}
		}
	}
	b.kept = b.kept[:0]
	for j, li := range all {
		if mark[j] {
			b.kept = append(b.kept, li)
		}
	}
	return b.kept, len(all) - len(b.kept)
}

// storyTimes are the instants of span i's lines that bound a gap or
// announce a retry.
func (b *traceBuilder) storyTimes(i int) map[int64]struct{} {
	times := map[int64]struct{}{}
	for k := range b.a.Gaps {
		if g := &b.a.Gaps[k]; g.SpanIndex == i {
			times[g.Start.UnixNano()] = struct{}{}
			times[g.End.UnixNano()] = struct{}{}
		}
	}
	for k := range b.a.Retries {
		if r := &b.a.Retries[k]; r.SpanIndex == i && !r.LogTime.IsZero() {
			times[r.LogTime.UnixNano()] = struct{}{}
		}
	}
	return times
}

func severe(level string) bool {
	switch level {
	case "warn", "warning", "error", "err", "fatal", "critical", "crit", "panic", "emerg", "alert":
		return true
	}
	return false
}

// appendLogs appends the span's events and lines as the trace view's logs:
// [{timestamp, name, fields:[{key,value}]}], merged in time order (an event
// first on a tie).
func (b *traceBuilder) appendLogs(buf []byte, s *model.Span, lines []int32) []byte {
	events := s.Events
	if !sort.SliceIsSorted(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) }) {
		events = append([]model.SpanEvent(nil), events...)
		sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	}
	buf = append(buf, '[')
	first := true
	comma := func() {
		if !first {
			buf = append(buf, ',')
		}
		first = false
	}
	e, l := 0, 0
	for e < len(events) || l < len(lines) {
		if l == len(lines) || (e < len(events) && !events[e].Time.After(b.a.Logs[lines[l]].Entry.Time)) {
			ev := &events[e]
			comma()
			buf = append(buf, `{"timestamp":`...)
			buf = appendFloat(buf, epochMs(ev.Time))
			buf = append(buf, `,"name":`...)
			buf = appendString(buf, ev.Name)
			buf = append(buf, `,"fields":`...)
			buf = appendKeyValues(buf, ev.Attributes)
			buf = append(buf, '}')
			e++
			continue
		}
		comma()
		buf = b.appendLine(buf, &b.a.Logs[lines[l]])
		l++
	}
	return append(buf, ']')
}

// appendLine appends one log line as a trace-view log: its message as the
// name, its level and the other parsed fields as fields.
func (b *traceBuilder) appendLine(buf []byte, l *model.Log) []byte {
	buf = append(buf, `{"timestamp":`...)
	buf = appendFloat(buf, epochMs(l.Entry.Time))
	buf = append(buf, `,"name":`...)
	name := l.Message
	if name == "" {
		name = l.Entry.Line
	}
	buf = appendString(buf, name)
	buf = append(buf, `,"fields":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
	}
	// "info" is left out: it is nearly every line's level and says
	// nothing in a span's logs (17 875 of the big trace's 20 000 embedded
	// lines, 0.55 MB of the answer), while a warn or error line stands out
	// by having one. The logs frame keeps every line's level.
	if l.Level != "" && l.Level != "info" {
		sep()
		buf = appendKVString(buf, "level", l.Level)
	}
	for _, f := range l.Fields {
		if f.Value == name || isIDKey(f.Name) || (l.Level != "" && isLevelKey(f.Name) && strings.EqualFold(f.Value, l.Level)) || sameTime(f, l.Entry.Time) {
			continue // already the name, the span it is on, the level or the timestamp
		}
		sep()
		buf = appendKVString(buf, f.Name, f.Value)
	}
	if l.SpanIndex < 0 || b.a.Trace == nil || l.SpanIndex >= len(b.a.Trace.Spans) {
		sep()
		buf = append(buf, `{"key":"`+FieldTraceLevel+`","value":true}`...)
		if l.SpanID != "" {
			// The unknown span id is why the line is here; say it.
			sep()
			buf = appendKVString(buf, "spanID", l.SpanID)
		}
	}
	return append(buf, "]}"...)
}

// isIDKey reports the default trace and span id keys of a log line
// (traceId, trace_id, traceID, trace-id and the same with span), which the
// span a line shows on already says.
func isIDKey(k string) bool {
	return anyFold(k, "traceid", "trace_id", "trace-id", "spanid", "span_id", "span-id")
}

// anyFold reports whether k equals one of names, ignoring case, without the
// allocation of strings.ToLower.
func anyFold(k string, names ...string) bool {
	for _, n := range names {
		if len(k) == len(n) && strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// sameTime reports a line's own time field (time, ts, timestamp,
// @timestamp) that says the instant the log entry already has, to the
// millisecond: on 20 000 embedded lines that repetition was 1 MB of the
// answer. A time that differs (the line's clock against Loki's) is kept.
func sameTime(f model.Label, t time.Time) bool {
	if !anyFold(f.Name, "time", "ts", "timestamp", "@timestamp") || len(f.Value) < len("2006-01-02T15:04:05Z") {
		return false
	}
	v, err := time.Parse(time.RFC3339Nano, f.Value)
	if err != nil {
		return false
	}
	d := v.Sub(t)
	return d > -time.Millisecond && d < time.Millisecond
}

func isLevelKey(k string) bool {
	return anyFold(k, "level", "lvl", "severity", "detected_level", "loglevel", "log.level")
}

// appendTags appends the span's attributes and Tracegap's figures.
func appendTags(buf []byte, s *model.Span, fig *model.SpanFigures, hidden int) []byte {
	buf = appendKeyValues(buf, s.Attributes)
	buf = buf[:len(buf)-1] // reopen the array
	if len(s.Attributes) > 0 {
		buf = append(buf, ',')
	}
	// Each tag below is followed by a comma; the last comma becomes the
	// closing bracket.
	//
	// A figure that is zero is left out: absent means none, as in the
	// span detail of any trace, and on a 10 000-span trace the zeros were
	// half a megabyte of the answer. The spans frame has every figure.
	for _, f := range [...]struct {
		key string
		v   time.Duration
	}{{TagSelfTime, fig.SelfTime}, {TagWait, fig.Wait}, {TagUnaccounted, fig.Unaccounted}} {
		if f.v != 0 {
			buf = append(appendKVFloat(buf, f.key, tagMs(f.v)), ',')
		}
	}
	if fig.Retries > 0 {
		buf = append(appendKVInt(buf, TagRetries, int64(fig.Retries)), ',')
	}
	// Network and queue time are measured only where they can be: a
	// measured zero says something, so they are kept.
	if fig.HasNetwork {
		buf = append(appendKVFloat(buf, TagNetwork, tagMs(fig.Network)), ',')
	}
	if fig.HasQueue {
		buf = append(appendKVFloat(buf, TagQueue, tagMs(fig.Queue)), ',')
	}
	if fig.OnCriticalPath {
		buf = append(buf, `{"key":"`+TagOnCriticalPath+`","value":true},`...)
	}
	if hidden > 0 {
		buf = append(appendKVInt(buf, TagHiddenLines, int64(hidden)), ',')
	}
	if buf[len(buf)-1] == ',' {
		buf = buf[:len(buf)-1]
	}
	return append(buf, ']')
}

// tagMs is a figure in milliseconds to the microsecond, as the sentences
// write them: the nanoseconds were three more digits per figure (about
// 70 kB of a 10 000-span answer) that no one reads in a span's detail. The
// tables keep the exact figures.
func tagMs(d time.Duration) float64 { return ms(d.Round(time.Microsecond)) }

// appendReferences appends span links as the trace view's references:
// [{traceID, spanID, tags}].
func appendReferences(buf []byte, links []model.SpanLink) []byte {
	buf = append(buf, '[')
	for i := range links {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"traceID":`...)
		buf = appendString(buf, links[i].TraceID)
		buf = append(buf, `,"spanID":`...)
		buf = appendString(buf, links[i].SpanID)
		buf = append(buf, `,"tags":`...)
		buf = appendKeyValues(buf, links[i].Attributes)
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

func appendWarnings(buf []byte, engine, extra []string) []byte {
	buf = appendStrings(buf, engine)
	if len(extra) == 0 {
		return buf
	}
	buf = buf[:len(buf)-1]
	for i, w := range extra {
		if i > 0 || len(engine) > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, w)
	}
	return append(buf, ']')
}

// rootSpan is the index of the earliest span without a parent; in a
// partial trace, of the earliest span whose parent is missing; -1 when
// there are no spans.
func rootSpan(spans []model.Span) int {
	root := earliest(spans, func(s *model.Span) bool { return s.ParentSpanID == "" })
	if root >= 0 || len(spans) == 0 {
		return root
	}
	ids := make(map[string]struct{}, len(spans))
	for i := range spans {
		ids[spans[i].SpanID] = struct{}{}
	}
	root = earliest(spans, func(s *model.Span) bool { _, ok := ids[s.ParentSpanID]; return !ok })
	if root < 0 {
		root = earliest(spans, func(*model.Span) bool { return true }) // a cycle: any span will do
	}
	return root
}

func earliest(spans []model.Span, ok func(*model.Span) bool) int {
	best := -1
	for i := range spans {
		if ok(&spans[i]) && (best < 0 || spans[i].Start.Before(spans[best].Start)) {
			best = i
		}
	}
	return best
}

// spanKind is the kind as Grafana's Tempo data source writes it: lower-case,
// "" when unspecified.
func spanKind(k model.SpanKind) string {
	if k == model.KindUnspecified {
		return ""
	}
	return string(k)
}

// statusCode is the OTel status code number Grafana's trace view expects:
// 0 unset, 1 ok, 2 error.
func statusCode(c model.StatusCode) int64 {
	switch c {
	case model.StatusOK:
		return 1
	case model.StatusError:
		return 2
	}
	return 0
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
