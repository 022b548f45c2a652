// Package explain runs the product's one job for a trace: fetch it from
// Tempo, fetch its logs from Loki over the trace's own time bounds, and run
// the correlation engine. It sits between the plugin shell (and the
// terminal command) and the clients: it knows the order of the steps and
// what to do when one fails (no logs is a notice, no trace is an error), but
// nothing of Grafana's frames.
package explain

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// LogOptions say how a trace's logs are looked up in Loki.
type LogOptions struct {
	// Selector is the LogQL stream selector the query starts from.
	Selector string
	// Mode is line, metadata or auto ("" is auto).
	Mode loki.Mode
	// TraceIDFields are the structured-metadata names for the trace id.
	TraceIDFields []string
	// Margin widens the trace's own time bounds on each side, for clocks
	// that disagree and lines logged just before or after a span.
	Margin time.Duration
	// MaxLines caps the lines fetched for one trace (over all pages).
	MaxLines int
}

// Explainer fetches traces and their logs. It is safe for concurrent use.
type Explainer struct {
	Tempo *tempo.Client
	Loki  *loki.Client
	// Tenant is the tenant both clients send; it keys Cache entries.
	Tenant string
	// Concurrency caps the trace fetches Search runs at once (0:
	// DefaultConcurrency).
	Concurrency int
	// Cache, when not nil, keeps fetched traces for Search and FetchCached.
	Cache *Cache
}

// Fetched is what the upstreams returned for one trace: the raw material an
// analysis is run on. It is immutable once returned, so it can be cached and
// analysed again with other options.
type Fetched struct {
	TraceID string // normalised
	Trace   *tempo.TraceResult
	// Logs is nil when Loki failed; LogsErr then says why.
	Logs    *loki.LogsResult
	LogsErr error
	// LogStart and LogEnd are the range the logs were looked up in.
	LogStart, LogEnd time.Time
}

// Severity of a notice.
type Severity int

// Notice severities.
const (
	Info Severity = iota
	Warning
)

// Notice is a remark for the person reading the result.
type Notice struct {
	Severity Severity
	Text     string
}

// Result is one trace explained.
type Result struct {
	Fetched  *Fetched
	Analysis *model.Analysis
	// Notices gather what the person should know about the result: a
	// partial trace, missing or capped logs, trace-level lines.
	Notices []Notice
}

// Fetch gets one trace from Tempo and then its logs from Loki. start and
// end (zero when unknown) narrow Tempo's search; the logs are looked up
// over the trace's own bounds widened by lo.Margin, not over the caller's
// range. A Tempo failure is returned as the error; a Loki failure is kept in
// Fetched.LogsErr so the trace is still shown.
func (e *Explainer) Fetch(ctx context.Context, traceID string, start, end time.Time, lo LogOptions) (*Fetched, error) {
	id, ok := model.NormalizeTraceID(traceID)
	if !ok {
		return nil, &InvalidTraceIDError{TraceID: traceID}
	}
	// The log query depends only on the trace's time bounds, which the
	// Tempo client tells before it decodes the spans: the logs are fetched
	// while the spans are decoded (the 10 000-span query took 472 ms
	// instead of 520, BENCHMARKS.md run 8), and dropped should the trace
	// then fail to decode.
	var early *logFetch
	tr, err := e.Tempo.TraceWithBounds(ctx, id, start, end, func(first, last time.Time) {
		s, en := logRange(first, last, lo.Margin)
		early = e.fetchLogs(ctx, id, s, en, lo)
	})
	if err != nil {
		early.drop()
		return nil, err
	}
	f := &Fetched{TraceID: id, Trace: tr}
	first, last := tr.Trace.Bounds()
	f.LogStart, f.LogEnd = logRange(first, last, lo.Margin)
	lf := early
	if lf == nil || !lf.start.Equal(f.LogStart) || !lf.end.Equal(f.LogEnd) {
		// A JSON answer tells no bounds early; bounds that differ from the
		// decoded trace's would be a decoder bug, not worth a wrong range.
		lf.drop()
		lf = e.fetchLogs(ctx, id, f.LogStart, f.LogEnd, lo)
	}
	f.Logs, f.LogsErr = lf.wait()
	if f.LogsErr != nil && ctx.Err() != nil {
		// The caller gave up: that is not a Loki problem to report.
		return nil, ctx.Err()
	}
	return f, nil
}

// logRange is the range a trace's logs are looked up in: its bounds widened
// by margin on each side.
func logRange(first, last time.Time, margin time.Duration) (start, end time.Time) {
	start, end = first.Add(-margin), last.Add(margin)
	if !end.After(start) {
		// A trace of zero-length spans still has logs around it.
		end = start.Add(time.Millisecond)
	}
	return start, end
}

// logFetch is one trace's log query running on its own goroutine.
type logFetch struct {
	start, end time.Time
	cancel     context.CancelFunc
	done       chan struct{}
	logs       *loki.LogsResult
	err        error
}

// fetchLogs starts fetching the logs of trace id in [start, end).
func (e *Explainer) fetchLogs(ctx context.Context, id string, start, end time.Time, lo LogOptions) *logFetch {
	ctx, cancel := context.WithCancel(ctx)
	lf := &logFetch{start: start, end: end, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(lf.done)
		lf.logs, lf.err = e.Loki.TraceLogs(ctx, loki.LogQuery{
			TraceID:       id,
			Selector:      lo.Selector,
			Mode:          lo.Mode,
			TraceIDFields: lo.TraceIDFields,
			Start:         start,
			End:           end,
			MaxLines:      lo.MaxLines,
		})
	}()
	return lf
}

// wait returns the fetch's result once it is done.
func (lf *logFetch) wait() (*loki.LogsResult, error) {
	<-lf.done
	lf.cancel()
	return lf.logs, lf.err
}

// drop cancels the fetch and waits for it to stop, so that nothing of it
// outlives the call that started it. A nil fetch is nothing to drop.
func (lf *logFetch) drop() {
	if lf == nil {
		return
	}
	lf.cancel()
	<-lf.done
}

// Analyze runs the engine on fetched material and gathers the notices.
func Analyze(f *Fetched, opts correlate.Options) *Result {
	var entries []model.LogEntry
	if f.Logs != nil {
		entries = f.Logs.Entries
	}
	r := &Result{Fetched: f, Analysis: correlate.Analyze(f.Trace.Trace, entries, opts)}
	if f.Trace.Partial {
		msg := "Tempo returned only part of this trace"
		if f.Trace.Message != "" {
			msg += ": " + f.Trace.Message
		}
		r.Notices = append(r.Notices, Notice{Warning, msg + "; spans may be missing and some findings may be wrong."})
	}
	if f.LogsErr != nil {
		without := "The trace is shown without log-derived gaps and retries."
		if r.Analysis.Join.Events > 0 {
			without = "Gaps and retries come from the trace's span events only."
		}
		r.Notices = append(r.Notices, Notice{Warning, fmt.Sprintf(
			"Logs are missing because Loki failed: %v. %s", f.LogsErr, without)})
	}
	if f.Logs != nil {
		for _, n := range f.Logs.Notices {
			r.Notices = append(r.Notices, Notice{Warning, n})
		}
	}
	join, joinWarning := correlate.JoinNotice(r.Analysis.Join)
	for _, n := range r.Analysis.Notices {
		if f.LogsErr != nil && strings.HasPrefix(n, noLogsNotice) {
			// The engine's advice to check the logging is wrong when
			// Loki failed: the warning above already says why.
			continue
		}
		sev := Info
		if n == join && joinWarning {
			// Most of the trace's lines did not join: its findings are
			// likely empty for that reason, not because nothing waited.
			sev = Warning
		}
		r.Notices = append(r.Notices, Notice{sev, n})
	}
	return r
}

// IsJoinNotice reports whether n is r's notice about entries that did not
// join a span (see JoinNotice), which many-trace queries replace with one
// summed over their traces.
func (r *Result) IsJoinNotice(n Notice) bool {
	if r == nil || r.Analysis == nil {
		return false
	}
	text, _ := correlate.JoinNotice(r.Analysis.Join)
	return text != "" && n.Text == text
}

// JoinNotice is the notice about entries that did not join a span, summed
// over the analyses of a many-trace query (search, wait metrics,
// annotations) so that it shows once and an empty result is never silent.
// ok is false when every entry joined.
func JoinNotice(as []*model.Analysis) (n Notice, ok bool) {
	var sum model.JoinStats
	for _, a := range as {
		if a == nil {
			continue
		}
		st := a.Join
		sum.Joined += st.Joined
		sum.NoSpanID += st.NoSpanID
		sum.UnknownSpan += st.UnknownSpan
		sum.OtherTrace += st.OtherTrace
		sum.ByKnownID += st.ByKnownID
		sum.Events += st.Events
		sum.EventDuplicates += st.EventDuplicates
		if sum.Sample == "" {
			sum.Sample = st.Sample
		}
	}
	text, warning := correlate.JoinNotice(sum)
	if text == "" {
		return Notice{}, false
	}
	if len(as) > 1 {
		text = fmt.Sprintf("Over the %d traces: %s", len(as), text)
	}
	sev := Info
	if warning {
		sev = Warning
	}
	return Notice{sev, text}, true
}

// noLogsNotice starts the engine's notice for a trace without log entries
// (pkg/correlate join.go); the plugin's Loki-failure tests pin it.
const noLogsNotice = "no log entries were found"

// Trace fetches and analyses one trace.
func (e *Explainer) Trace(ctx context.Context, traceID string, start, end time.Time, lo LogOptions, opts correlate.Options) (*Result, error) {
	f, err := e.Fetch(ctx, traceID, start, end, lo)
	if err != nil {
		return nil, err
	}
	return Analyze(f, opts), nil
}

// InvalidTraceIDError says a trace id is not 1–32 hex digits.
type InvalidTraceIDError struct{ TraceID string }

// Error says what a trace id looks like.
func (e *InvalidTraceIDError) Error() string {
	return fmt.Sprintf("trace id %q is not a trace id: it must be 1 to 32 hex digits (0-9, a-f), e.g. 0af7651916cd43dd8448eb211c80319c", e.TraceID)
}
