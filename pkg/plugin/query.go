package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/settings"
)

// MaxMinGap is the largest minGapMs a query may ask for (the same bound as
// the data source setting): a longer "gap" is a typo, not a question.
const MaxMinGap = time.Hour

// Query is one Tracegap query as the frontend sends it (src/types.ts
// TracegapQuery; the JSON names are stored in dashboards and must not
// change). Every query type parses into it with parseQuery; each handler
// reads and validates the fields its type uses.
type Query struct {
	// RefID is the query's refId.
	RefID string `json:"-"`
	// QueryType is trace, search, waitMetrics or annotations.
	QueryType string `json:"queryType"`
	// TraceID is the trace to explain (trace queries): hex, possibly a
	// template variable the frontend could not replace.
	TraceID string `json:"traceId"`
	// MinGapMs overrides the data source's minimum gap; nil (absent, null,
	// "") or 0 means the setting.
	MinGapMs *float64 `json:"-"`
	// LogSelector overrides the data source's LogQL stream selector; ""
	// means the setting.
	LogSelector string `json:"logSelector"`
	// Query is the TraceQL of search, waitMetrics and annotations queries.
	Query string `json:"query"`
	// Limit is how many traces a TraceQL query analyses; nil means the
	// handler's default.
	Limit *int64 `json:"-"`
	// GroupBy splits waitMetrics series: service or service_operation.
	GroupBy string `json:"groupBy"`
	// MaxLogLines overrides the data source's cap on the logs frame's rows
	// (trace queries); nil means the setting.
	MaxLogLines *int64 `json:"-"`
	// TimeRange is the query's time range (zero times when Grafana sent none).
	TimeRange backend.TimeRange `json:"-"`
	// Compare asks a trace query to compare the trace with others like it;
	// nil means the data source's compareByDefault.
	Compare *bool `json:"-"`
	// BaselineLimit is how many traces like it a comparison fetches; nil
	// means explain.DefaultBaseline.
	BaselineLimit *int64 `json:"-"`
}

// queryJSON is the wire form: numbers may arrive as JSON numbers or as
// strings (a template variable, an emptied input), so they are read by hand.
type queryJSON struct {
	QueryType   string          `json:"queryType"`
	TraceID     string          `json:"traceId"`
	MinGapMs    json.RawMessage `json:"minGapMs"`
	LogSelector string          `json:"logSelector"`
	Query       string          `json:"query"`
	Limit       json.RawMessage `json:"limit"`
	GroupBy     string          `json:"groupBy"`
	Compare     *bool           `json:"compare"`
	// BaselineLimit is read by hand like limit.
	BaselineLimit json.RawMessage `json:"baselineLimit"`
	MaxLogLines   json.RawMessage `json:"maxLogLines"`
}

// parseQuery reads a DataQuery's JSON into a Query. Malformed JSON and
// fields of the wrong type are a 400 that names the field; values are not
// checked here (each handler checks what it uses).
func parseQuery(dq backend.DataQuery) (*Query, error) {
	var raw queryJSON
	if body := bytes.TrimSpace(dq.JSON); len(body) > 0 && !bytes.Equal(body, []byte("null")) {
		if err := json.Unmarshal(body, &raw); err != nil {
			if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
				return nil, badQueryf("the query's %s has the wrong type (%s where a %s was expected); re-enter it in the query editor", te.Field, te.Value, te.Type.Kind())
			}
			return nil, badQueryf("the query is not valid JSON (%v); re-save the query in the query editor", err)
		}
	}
	q := &Query{
		RefID:       dq.RefID,
		QueryType:   dq.QueryType,
		TraceID:     raw.TraceID,
		LogSelector: strings.TrimSpace(raw.LogSelector),
		Query:       raw.Query,
		GroupBy:     strings.TrimSpace(raw.GroupBy),
		TimeRange:   dq.TimeRange,
		Compare:     raw.Compare,
	}
	if q.QueryType == "" {
		q.QueryType = raw.QueryType
	}
	var err error
	if q.MinGapMs, err = optionalNumber("minGapMs", "a number of milliseconds, e.g. 100", raw.MinGapMs); err != nil {
		return nil, err
	}
	limit, err := optionalNumber("limit", "a whole number of traces, e.g. 20", raw.Limit)
	if err != nil {
		return nil, err
	}
	if limit != nil {
		if *limit != math.Trunc(*limit) || math.Abs(*limit) > 1<<53 {
			return nil, badQueryf("the query's limit %v is not a whole number; enter a whole number of traces, e.g. 20", *limit)
		}
		n := int64(*limit)
		q.Limit = &n
	}
	bl, err := optionalNumber("baselineLimit", "a whole number of traces, e.g. 20", raw.BaselineLimit)
	if err != nil {
		return nil, err
	}
	if bl != nil {
		if *bl != math.Trunc(*bl) || math.Abs(*bl) > 1<<53 {
			return nil, badQueryf("the query's baselineLimit %v is not a whole number; enter a whole number of traces to compare with, from %d to %d (e.g. 20)", *bl, explain.MinBaseline, explain.MaxBaseline)
		}
		n := int64(*bl)
		q.BaselineLimit = &n
	}
	maxLines, err := optionalNumber("maxLogLines", "a whole number of log lines, e.g. 5000", raw.MaxLogLines)
	if err != nil {
		return nil, err
	}
	if maxLines != nil {
		if v := *maxLines; v != math.Trunc(v) || v < 1 || v > settings.MaxLogLinesLimit {
			return nil, badQueryf("the query's maxLogLines %v is not a whole number from 1 to %d; enter how many log lines the logs frame shows, e.g. 5000 (leave it empty for the data source's setting)", v, settings.MaxLogLinesLimit)
		}
		n := int64(*maxLines)
		q.MaxLogLines = &n
	}
	return q, nil
}

// comparison says whether a trace query compares (its compare field, else
// the data source's compareByDefault) and with how many traces like it;
// a baselineLimit out of range is a 400, whether or not it compares.
func (q *Query) comparison(s *settings.Settings) (bool, int, error) {
	limit := explain.DefaultBaseline
	if q.BaselineLimit != nil {
		n := *q.BaselineLimit
		if n < explain.MinBaseline || n > explain.MaxBaseline {
			return false, 0, badQueryf("baselineLimit is %d; enter a number of traces to compare with from %d to %d (leave it empty for %d): fewer than %d say nothing about what is typical, more than %d take long to fetch",
				n, explain.MinBaseline, explain.MaxBaseline, explain.DefaultBaseline, explain.MinBaseline, explain.MaxBaseline)
		}
		limit = int(n)
	}
	compare := s.CompareByDefault
	if q.Compare != nil {
		compare = *q.Compare
	}
	return compare, limit, nil
}

// maxLogLines is the query's cap on the logs frame's rows, or the data
// source's.
func (q *Query) maxLogLines(s *settings.Settings) int {
	if q.MaxLogLines != nil {
		return int(*q.MaxLogLines)
	}
	return s.MaxLogLines
}

// optionalNumber reads a JSON number, a numeric string, or nothing (absent,
// null, ""), which is nil.
func optionalNumber(name, want string, raw json.RawMessage) (*float64, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return nil, nil
	}
	if text[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badQueryf("the query's %s is not %s", name, want)
		}
		if text = strings.TrimSpace(s); text == "" {
			return nil, nil
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if strings.Contains(text, "$") {
			return nil, badQueryf("the query's %s is %q: the template variable in it was not replaced; check that the dashboard variable exists and has a value", name, text)
		}
		return nil, badQueryf("the query's %s is %s, not %s", name, abbreviate(text), want)
	}
	return &v, nil
}

// traceIDExample shows what a trace id looks like, in messages.
const traceIDExample = "0af7651916cd43dd8448eb211c80319c"

// validTraceID returns the query's trace id normalised (lower-case, 32
// digits), or a 400 that says what is wrong: it is checked before anything
// is sent to Tempo or Loki.
func (q *Query) validTraceID() (string, error) {
	raw := strings.TrimSpace(q.TraceID)
	switch {
	case raw == "":
		return "", badQueryf("enter a trace id: 1 to 32 hex digits, e.g. %s", traceIDExample)
	case strings.Contains(raw, "$"):
		return "", badQueryf("the trace id is %s: the template variable %s was not replaced; check that the dashboard variable exists and has a value", abbreviate(raw), templateVariable(raw))
	}
	id, ok := model.NormalizeTraceID(raw)
	if !ok {
		return "", badQueryf("%s is not a trace id: a trace id is 1 to 32 hex digits (0-9, a-f), e.g. %s", abbreviate(raw), traceIDExample)
	}
	if strings.Trim(id, "0") == "" {
		return "", badQueryf("the trace id %s is all zeros, which no trace has; enter a trace id such as %s", abbreviate(raw), traceIDExample)
	}
	return id, nil
}

// templateVariable picks the variable reference out of s ($var, ${var},
// ${var:fmt} or [[var]]) for the message; s itself when none is found.
func templateVariable(s string) string {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s
	}
	rest := s[i:]
	if strings.HasPrefix(rest, "${") {
		if j := strings.IndexByte(rest, '}'); j > 0 {
			return rest[:j+1]
		}
		return rest
	}
	j := 1
	for j < len(rest) && (rest[j] == '_' || rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	return rest[:j]
}

// minGap is the query's minimum gap, or the data source's when the query
// sets none (or 0).
func (q *Query) minGap(s *settings.Settings) (time.Duration, error) {
	if q.MinGapMs == nil || *q.MinGapMs == 0 {
		return s.MinGap(), nil
	}
	v := *q.MinGapMs
	switch {
	case v < 0:
		return 0, badQueryf("minGapMs is %v; enter 0 or more milliseconds (leave it empty to use the data source's %d ms)", v, s.MinGapMs)
	case v > float64(MaxMinGap/time.Millisecond):
		return 0, badQueryf("minGapMs is %v, more than an hour; enter at most %d milliseconds (a gap is a silence between two log lines of one span, e.g. 100)", v, MaxMinGap/time.Millisecond)
	}
	return time.Duration(v * float64(time.Millisecond)), nil
}

// logSelector is the query's LogQL stream selector, or the data source's
// when the query sets none.
func (q *Query) logSelector(s *settings.Settings) (string, error) {
	sel := q.LogSelector
	if sel == "" {
		return s.LogSelector, nil
	}
	if !strings.HasPrefix(sel, "{") || !strings.Contains(sel, "}") {
		return "", badQueryf("logSelector %s is not a LogQL stream selector: it must start with { and name labels in braces, e.g. %s (leave it empty to use the data source's %s)",
			abbreviate(sel), settings.DefaultLogSelector, s.LogSelector)
	}
	return sel, nil
}

// analysisOptions turns the data source settings and the query's overrides
// into what explain needs: how to look up the logs and how to analyse them.
// It is the one place settings become engine options.
func (q *Query) analysisOptions(s *settings.Settings) (explain.LogOptions, correlate.Options, error) {
	minGap, err := q.minGap(s)
	if err != nil {
		return explain.LogOptions{}, correlate.Options{}, err
	}
	sel, err := q.logSelector(s)
	if err != nil {
		return explain.LogOptions{}, correlate.Options{}, err
	}
	mode, err := loki.ParseMode(string(s.LogQueryMode))
	if err != nil {
		// settings.Load refuses unknown modes, so this is our bug.
		return explain.LogOptions{}, correlate.Options{}, backend.PluginError(err)
	}
	lo := explain.LogOptions{
		Selector:      sel,
		Mode:          mode,
		TraceIDFields: s.TraceIDFields,
		Margin:        s.LokiMargin(),
		MaxLines:      s.LokiMaxLines,
	}
	return lo, correlateOptions(s, minGap), nil
}

// correlateOptions are the engine's defaults with the data source's retry
// and give-up patterns and id fields, and minGap.
func correlateOptions(s *settings.Settings, minGap time.Duration) correlate.Options {
	o := correlate.DefaultOptions()
	o.MinGap = minGap
	if s.Retry != nil {
		o.RetryPattern = s.Retry
	}
	if s.GiveUp != nil {
		o.GiveUpPattern = s.GiveUp
	}
	if len(s.TraceIDFields) > 0 {
		o.TraceIDFields = s.TraceIDFields
	}
	if len(s.SpanIDFields) > 0 {
		o.SpanIDFields = s.SpanIDFields
	}
	return o
}

// abbreviate quotes s for a message, cut to a readable length (a pasted log
// line is not a trace id, and need not be echoed whole).
func abbreviate(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return strconv.Quote(s)
}
