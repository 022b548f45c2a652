package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Load reads and validates one data source instance's settings. Every
// problem found is reported at once in a *ValidationError (a downstream
// error: the fix is in the data source settings, not in the plugin).
func Load(inst backend.DataSourceInstanceSettings) (*Settings, error) {
	raw, err := decode(inst.JSONData)
	if err != nil {
		return nil, backend.DownstreamError(err)
	}
	s := raw.settings()
	secret := inst.DecryptedSecureJSONData
	s.TempoToken = secret["tempoToken"]
	s.TempoPassword = secret["tempoPassword"]
	s.TempoTLSCACert = secret["tempoTlsCACert"]
	s.LokiToken = secret["lokiToken"]
	s.LokiPassword = secret["lokiPassword"]
	s.LokiTLSCACert = secret["lokiTlsCACert"]

	problems := s.validate(raw)
	var hp []Problem
	s.TempoHeaders, hp = readHeaders(inst.JSONData, secret, "tempo", "Tempo", s.TempoAuth)
	problems = append(problems, hp...)
	s.LokiHeaders, hp = readHeaders(inst.JSONData, secret, "loki", "Loki", s.LokiAuth)
	problems = append(problems, hp...)
	if len(problems) > 0 {
		return nil, backend.DownstreamError(&ValidationError{Problems: problems})
	}
	return s, nil
}

// Problem is one invalid setting: its key and what to do about it.
type Problem struct {
	// Key is the jsonData or secureJsonData key, e.g. "lokiUrl".
	Key string
	// Message says what is wrong and what to do.
	Message string
}

// ValidationError lists every invalid setting of a data source.
type ValidationError struct {
	// Problems holds one entry per invalid setting, in a stable order.
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Key + ": " + p.Message
	}
	return "invalid data source settings: " + strings.Join(parts, "; ")
}

// Has reports whether key is among the problems (for tests and callers that
// highlight one field).
func (e *ValidationError) Has(key string) bool {
	for _, p := range e.Problems {
		if p.Key == key {
			return true
		}
	}
	return false
}

// rawSettings is jsonData as stored. Numbers are optional and may arrive as
// strings (Grafana's inputs often save "30"), so each is a *number and the
// defaults are applied in one place, settings().
type rawSettings struct {
	TempoURL           string   `json:"tempoUrl"`
	LokiURL            string   `json:"lokiUrl"`
	TenantID           string   `json:"tenantId"`
	TempoAuth          string   `json:"tempoAuth"`
	TempoUser          string   `json:"tempoUser"`
	TempoTLSSkipVerify bool     `json:"tempoTlsSkipVerify"`
	LokiAuth           string   `json:"lokiAuth"`
	LokiUser           string   `json:"lokiUser"`
	LokiTLSSkipVerify  bool     `json:"lokiTlsSkipVerify"`
	EnableSocksProxy   bool     `json:"enableSecureSocksProxy"`
	LogSelector        string   `json:"logSelector"`
	LogQueryMode       string   `json:"logQueryMode"`
	RetryPattern       *string  `json:"retryPattern"`
	GiveUpPattern      *string  `json:"giveUpPattern"`
	TraceIDFields      []string `json:"traceIdFields"`
	SpanIDFields       []string `json:"spanIdFields"`
	CompareByDefault   bool     `json:"compareByDefault"`

	TimeoutSeconds    *number `json:"timeoutSeconds"`
	MinGapMs          *number `json:"minGapMs"`
	LokiMarginSeconds *number `json:"lokiMarginSeconds"`
	LokiMaxLines      *number `json:"lokiMaxLines"`
	MaxLinesPerSpan   *number `json:"maxLinesPerSpan"`
	TempoConcurrency  *number `json:"tempoConcurrency"`
	MaxTraceMB        *number `json:"maxTraceMB"`
	MaxLogsMB         *number `json:"maxLogsMB"`
	MaxLogLines       *number `json:"maxLogLines"`
	MaxEmbeddedLines  *number `json:"maxEmbeddedLines"`
	MaxTableRows      *number `json:"maxTableRows"`

	TracesToLogsV2 struct {
		DatasourceUID string `json:"datasourceUid"`
	} `json:"tracesToLogsV2"`
}

func decode(jsonData json.RawMessage) (*rawSettings, error) {
	raw := &rawSettings{}
	trimmed := bytes.TrimSpace(jsonData)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return raw, nil
	}
	if err := json.Unmarshal(trimmed, raw); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return nil, &ValidationError{Problems: []Problem{{Key: te.Field, Message: fmt.Sprintf("has the wrong type (%s where %s was expected); re-save it in the data source settings", te.Value, jsonKind(te.Type.Kind().String()))}}}
		}
		return nil, &ValidationError{Problems: []Problem{{Key: "jsonData", Message: fmt.Sprintf("is not valid JSON (%v); re-save the data source settings", err)}}}
	}
	return raw, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "true/false"
	case "slice":
		return "a list of strings"
	default:
		return goKind
	}
}

// number is an optional whole number that may be written as a JSON number
// or a numeric string; the empty string means "not set".
type number struct {
	set   bool
	value int64
	text  string // as written, for messages
}

func (n *number) UnmarshalJSON(b []byte) error {
	text := strings.TrimSpace(string(b))
	if text == "null" {
		return nil
	}
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		text = strings.TrimSpace(s)
		if text == "" {
			return nil
		}
	}
	// A bad value is kept, not returned as an error: validate() can name
	// the key and list it with the other problems; json.Unmarshal cannot.
	n.set, n.text = true, text
	n.value, _ = strconv.ParseInt(text, 10, 64)
	return nil
}

func (n *number) valid() bool {
	if n == nil || !n.set {
		return true
	}
	_, err := strconv.ParseInt(n.text, 10, 64)
	return err == nil
}

// orDefault returns the written value, or def when it is absent. When
// zeroIsUnset, a written 0 also means "use the default": the frontend saves
// 0 for an emptied number input where 0 would be meaningless (a timeout, a
// size, a count).
func (n *number) orDefault(def int64, zeroIsUnset bool) int64 {
	if n == nil || !n.set || (zeroIsUnset && n.value == 0 && n.valid()) {
		return def
	}
	return n.value
}

func (r *rawSettings) settings() *Settings {
	s := &Settings{
		TempoURL:               strings.TrimSpace(r.TempoURL),
		LokiURL:                strings.TrimSpace(r.LokiURL),
		TenantID:               strings.TrimSpace(r.TenantID),
		TempoAuth:              AuthKind(strings.TrimSpace(r.TempoAuth)),
		TempoUser:              r.TempoUser,
		TempoTLSSkipVerify:     r.TempoTLSSkipVerify,
		LokiAuth:               AuthKind(strings.TrimSpace(r.LokiAuth)),
		LokiUser:               r.LokiUser,
		LokiTLSSkipVerify:      r.LokiTLSSkipVerify,
		EnableSecureSocksProxy: r.EnableSocksProxy,
		LogSelector:            strings.TrimSpace(r.LogSelector),
		LogQueryMode:           LogQueryMode(strings.TrimSpace(r.LogQueryMode)),
		RetryPattern:           DefaultRetryPattern,
		GiveUpPattern:          DefaultGiveUpPattern,
		TraceIDFields:          fieldList(r.TraceIDFields, DefaultTraceIDFields),
		SpanIDFields:           fieldList(r.SpanIDFields, DefaultSpanIDFields),
		TimeoutSeconds:         int(r.TimeoutSeconds.orDefault(DefaultTimeoutSeconds, true)),
		MinGapMs:               int(r.MinGapMs.orDefault(DefaultMinGapMs, false)),
		LokiMarginSeconds:      int(r.LokiMarginSeconds.orDefault(DefaultLokiMarginSeconds, false)),
		LokiMaxLines:           int(r.LokiMaxLines.orDefault(DefaultLokiMaxLines, true)),
		MaxLinesPerSpan:        int(r.MaxLinesPerSpan.orDefault(DefaultMaxLinesPerSpan, true)),
		TempoConcurrency:       int(r.TempoConcurrency.orDefault(DefaultTempoConcurrency, true)),
		MaxTraceMB:             int(r.MaxTraceMB.orDefault(DefaultMaxTraceMB, true)),
		MaxLogsMB:              int(r.MaxLogsMB.orDefault(DefaultMaxLogsMB, true)),
		CompareByDefault:       r.CompareByDefault,
		MaxLogLines:            int(r.MaxLogLines.orDefault(DefaultMaxLogLines, true)),
		MaxEmbeddedLines:       int(r.MaxEmbeddedLines.orDefault(DefaultMaxEmbeddedLines, true)),
		MaxTableRows:           int(r.MaxTableRows.orDefault(DefaultMaxTableRows, true)),
		LogsDatasourceUID:      strings.TrimSpace(r.TracesToLogsV2.DatasourceUID),
	}
	if s.TempoAuth == "" {
		s.TempoAuth = AuthNone
	}
	if s.LokiAuth == "" {
		s.LokiAuth = AuthNone
	}
	if s.LogSelector == "" {
		s.LogSelector = DefaultLogSelector
	}
	if s.LogQueryMode == "" {
		s.LogQueryMode = DefaultLogQueryMode
	}
	// An explicitly empty pattern also means the default: an empty regexp
	// would match every line and call each one a retry.
	if r.RetryPattern != nil && strings.TrimSpace(*r.RetryPattern) != "" {
		s.RetryPattern = *r.RetryPattern
	}
	if r.GiveUpPattern != nil && strings.TrimSpace(*r.GiveUpPattern) != "" {
		s.GiveUpPattern = *r.GiveUpPattern
	}
	return s
}

// fieldList trims names, drops empty ones and duplicates, and falls back to
// def when nothing is left.
func fieldList(names, def []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) == 0 {
		return append([]string(nil), def...)
	}
	return out
}
