// Package settings turns a data source's jsonData and secureJsonData into one
// typed, validated Settings value, and derives from it the SDK httpclient
// options for Tempo and Loki. It is the only place that knows the setting
// keys, their defaults and their limits.
package settings

import (
	"net/http"
	"regexp"
	"time"
)

// AuthKind is how Tracegap authenticates to one upstream.
type AuthKind string

// Authentication kinds accepted in tempoAuth / lokiAuth.
const (
	AuthNone   AuthKind = "none"
	AuthBasic  AuthKind = "basic"
	AuthBearer AuthKind = "bearer"
)

// LogQueryMode is how Loki is asked for a trace's logs.
type LogQueryMode string

// Log query modes accepted in logQueryMode.
const (
	// LogQueryAuto runs the line filter and, for the lines whose text does
	// not carry the id, the structured-metadata filter (pkg/loki ModeAuto).
	LogQueryAuto LogQueryMode = "auto"
	// LogQueryLine filters lines containing the trace id (`|= "<id>"`).
	LogQueryLine LogQueryMode = "line"
	// LogQueryMetadata filters on structured metadata (`| trace_id="<id>"`).
	LogQueryMetadata LogQueryMode = "metadata"
)

// Defaults applied when a setting is absent (or, for sizes, counts and
// timeouts where zero means nothing useful, zero or an empty string).
const (
	DefaultTimeoutSeconds    = 30
	DefaultLogSelector       = `{service_name=~".+"}`
	DefaultLogQueryMode      = LogQueryAuto
	DefaultMinGapMs          = 100
	DefaultRetryPattern      = `retrying|will retry|attempt \d+ failed`
	DefaultGiveUpPattern     = `not retrying|giving up|no more retries|won't retry|will not retry|retries exhausted`
	DefaultLokiMarginSeconds = 5
	DefaultLokiMaxLines      = 50000
	DefaultMaxLinesPerSpan   = 100
	DefaultTempoConcurrency  = 8
	DefaultMaxTraceMB        = 512
	DefaultMaxLogsMB         = 512
	// DefaultMaxLogLines is how many lines the logs frame carries (the
	// engine analyses every line fetched; a browser's logs panel is not
	// usable with 100 000 rows, and Grafana's Loki data source stops at 1 000).
	DefaultMaxLogLines = 5000
	// DefaultMaxEmbeddedLines is how many log lines the trace frame's spans
	// carry in all (besides MaxLinesPerSpan on each).
	DefaultMaxEmbeddedLines = 20000
	// DefaultMaxTableRows is how many rows the gaps, retries and spans
	// frames list each (the ones that matter first).
	DefaultMaxTableRows = 1000
)

// DefaultTraceIDFields are the log fields (structured metadata, parsed
// labels, JSON/logfmt keys) read for a trace id when traceIdFields is empty:
// the keys docs/analysis.md lists, in the engine's order. trace-id is not a
// valid Loki label name, so the metadata query leaves it out; the engine
// still reads it from the line.
var DefaultTraceIDFields = []string{"traceId", "trace_id", "traceID", "trace-id"}

// DefaultSpanIDFields are the log fields read for a span id when
// spanIdFields is empty (the trace id's keys with "span").
var DefaultSpanIDFields = []string{"spanId", "span_id", "spanID", "span-id"}

// Settings is one data source instance's configuration, validated. jsonData
// keys are in the json tags; secrets (json:"-") come only from
// secureJsonData so marshalling Settings can never leak them.
type Settings struct {
	// TempoURL is the Tempo base URL, e.g. http://tempo:3200 (required).
	TempoURL string `json:"tempoUrl"`
	// LokiURL is the Loki base URL, e.g. http://loki:3100 (required).
	LokiURL string `json:"lokiUrl"`
	// TenantID is sent as X-Scope-OrgID to both upstreams when not empty.
	TenantID string `json:"tenantId"`

	// TempoAuth is how to authenticate to Tempo (default none).
	TempoAuth AuthKind `json:"tempoAuth"`
	// TempoUser is the basic-auth user for Tempo.
	TempoUser string `json:"tempoUser"`
	// TempoTLSSkipVerify turns off TLS certificate checks for Tempo.
	TempoTLSSkipVerify bool `json:"tempoTlsSkipVerify"`
	// LokiAuth is how to authenticate to Loki (default none).
	LokiAuth AuthKind `json:"lokiAuth"`
	// LokiUser is the basic-auth user for Loki.
	LokiUser string `json:"lokiUser"`
	// LokiTLSSkipVerify turns off TLS certificate checks for Loki.
	LokiTLSSkipVerify bool `json:"lokiTlsSkipVerify"`

	// TimeoutSeconds bounds each HTTP request to Tempo or Loki.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// LogSelector is the LogQL stream selector a trace's log query starts from.
	LogSelector string `json:"logSelector"`
	// LogQueryMode picks how logs are matched to the trace in LogQL.
	LogQueryMode LogQueryMode `json:"logQueryMode"`
	// MinGapMs is the shortest silence between log lines reported as a gap.
	MinGapMs int `json:"minGapMs"`
	// RetryPattern matches log lines that announce a retry (case-insensitive).
	RetryPattern string `json:"retryPattern"`
	// GiveUpPattern matches log lines that say a failed attempt will not be
	// retried (case-insensitive): not retries, and the retry before fails.
	GiveUpPattern string `json:"giveUpPattern"`
	// TraceIDFields are the log fields that may hold the trace id.
	TraceIDFields []string `json:"traceIdFields"`
	// SpanIDFields are the log fields that may hold the span id.
	SpanIDFields []string `json:"spanIdFields"`
	// LokiMarginSeconds widens the Loki time range around the trace.
	LokiMarginSeconds int `json:"lokiMarginSeconds"`
	// LokiMaxLines caps the log lines fetched for one trace (over all pages).
	LokiMaxLines int `json:"lokiMaxLines"`
	// MaxLinesPerSpan caps the log lines attached to one span in the trace view.
	MaxLinesPerSpan int `json:"maxLinesPerSpan"`
	// TempoConcurrency caps parallel Tempo requests (search fan-out).
	TempoConcurrency int `json:"tempoConcurrency"`
	// MaxTraceMB caps one Tempo response body, in MiB.
	MaxTraceMB int `json:"maxTraceMB"`
	// MaxLogsMB caps one Loki response body, in MiB.
	MaxLogsMB int `json:"maxLogsMB"`
	// CompareByDefault compares trace queries that do not say otherwise
	// with the traces like them (the query's compare field; off).
	CompareByDefault bool `json:"compareByDefault"`
	// MaxLogLines caps the rows of the logs frame (a query may override it).
	MaxLogLines int `json:"maxLogLines"`
	// MaxEmbeddedLines caps the log lines of all spans of the trace frame.
	MaxEmbeddedLines int `json:"maxEmbeddedLines"`
	// MaxTableRows caps the rows of the gaps, retries and spans frames
	// and the gap sentences of the trace frame's spans; the figures count
	// every gap, retry and span.
	MaxTableRows int `json:"maxTableRows"`
	// LogsDatasourceUID is jsonData.tracesToLogsV2.datasourceUid: the Loki
	// data source Grafana's "Logs for this span" opens, which the logs
	// frame's notice links to in Explore for the lines it leaves out.
	LogsDatasourceUID string `json:"-"`

	// TempoToken is the bearer token for Tempo (secureJsonData tempoToken).
	TempoToken string `json:"-"`
	// TempoPassword is the basic-auth password for Tempo (tempoPassword).
	TempoPassword string `json:"-"`
	// TempoTLSCACert is a PEM CA certificate for Tempo (tempoTlsCACert).
	TempoTLSCACert string `json:"-"`
	// LokiToken is the bearer token for Loki (secureJsonData lokiToken).
	LokiToken string `json:"-"`
	// LokiPassword is the basic-auth password for Loki (lokiPassword).
	LokiPassword string `json:"-"`
	// LokiTLSCACert is a PEM CA certificate for Loki (lokiTlsCACert).
	LokiTLSCACert string `json:"-"`

	// EnableSecureSocksProxy sends both upstreams' requests through
	// Grafana's secure socks proxy (the SDK's key; the SDK's httpclient
	// options carry it, see HTTPOptions).
	EnableSecureSocksProxy bool `json:"enableSecureSocksProxy"`
	// TempoHeaders and LokiHeaders are the custom headers sent to each
	// upstream (tempoHttpHeaderName1..N with secureJsonData
	// tempoHttpHeaderValue1..N, and the same for loki; see headers.go).
	// The values are secrets, so the headers are never marshalled.
	TempoHeaders http.Header `json:"-"`
	LokiHeaders  http.Header `json:"-"`

	// Retry is RetryPattern compiled, case-insensitive.
	Retry *regexp.Regexp `json:"-"`
	// GiveUp is GiveUpPattern compiled, case-insensitive.
	GiveUp *regexp.Regexp `json:"-"`
}

// Timeout is TimeoutSeconds as a duration.
func (s *Settings) Timeout() time.Duration { return time.Duration(s.TimeoutSeconds) * time.Second }

// MinGap is MinGapMs as a duration.
func (s *Settings) MinGap() time.Duration { return time.Duration(s.MinGapMs) * time.Millisecond }

// LokiMargin is LokiMarginSeconds as a duration.
func (s *Settings) LokiMargin() time.Duration {
	return time.Duration(s.LokiMarginSeconds) * time.Second
}

// MaxTraceBytes is MaxTraceMB in bytes.
func (s *Settings) MaxTraceBytes() int64 { return int64(s.MaxTraceMB) << 20 }

// MaxLogsBytes is MaxLogsMB in bytes.
func (s *Settings) MaxLogsBytes() int64 { return int64(s.MaxLogsMB) << 20 }
