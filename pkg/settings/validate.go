package settings

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// MaxTenantIDLength is the longest tenant id Tempo and Loki accept (dskit).
const MaxTenantIDLength = 150

// limit is the accepted range of one numeric setting.
type limit struct {
	key      string
	min, max int64
	unit     string
}

// limits are generous: they catch typos (a timeout of 30000 seconds, a
// negative margin) without second-guessing a deliberate choice.
var limits = []limit{
	{"timeoutSeconds", 1, 3600, "seconds"},
	{"minGapMs", 0, 3_600_000, "milliseconds"},
	{"lokiMarginSeconds", 0, 3600, "seconds"},
	{"lokiMaxLines", 1, 1_000_000, "lines"},
	{"maxLinesPerSpan", 1, 10_000, "lines"},
	{"tempoConcurrency", 1, 64, "requests"},
	{"maxTraceMB", 1, 4096, "MiB"},
	{"maxLogsMB", 1, 4096, "MiB"},
	{"maxLogLines", 1, MaxLogLinesLimit, "lines"},
	{"maxEmbeddedLines", 1, MaxLogLinesLimit, "lines"},
	{"maxTableRows", 1, MaxLogLinesLimit, "rows"},
}

// MaxLogLinesLimit is the most rows maxLogLines and maxEmbeddedLines (and a
// query's maxLogLines) may ask for: lokiMaxLines' own bound.
const MaxLogLinesLimit = 1_000_000

func (s *Settings) validate(raw *rawSettings) []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}

	if msg := checkURL(s.TempoURL, "Tempo", "http://tempo:3200", "tempo"); msg != "" {
		add("tempoUrl", "%s", msg)
	}
	if msg := checkURL(s.LokiURL, "Loki", "http://loki:3100", "loki"); msg != "" {
		add("lokiUrl", "%s", msg)
	}
	if msg := checkTenant(s.TenantID); msg != "" {
		add("tenantId", "%s", msg)
	}

	checkAuth := func(prefix, name string, kind AuthKind, user, password, token, caCert string) {
		switch kind {
		case AuthNone:
		case AuthBasic:
			if strings.TrimSpace(user) == "" {
				add(prefix+"User", "%s authentication is basic but no user is set; enter the user, or set %sAuth to none", name, prefix)
			}
			if password == "" {
				add(prefix+"Password", "%s authentication is basic but no password is saved; enter the password", name)
			}
		case AuthBearer:
			if strings.TrimSpace(token) == "" {
				add(prefix+"Token", "%s authentication is bearer but no token is saved; enter the token", name)
			}
		default:
			add(prefix+"Auth", "%q is not an authentication kind; choose none, basic or bearer", string(kind))
		}
		if caCert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(caCert)) {
			add(prefix+"TlsCACert", "is not a PEM certificate; paste the CA certificate including the BEGIN/END CERTIFICATE lines")
		}
	}
	checkAuth("tempo", "Tempo", s.TempoAuth, s.TempoUser, s.TempoPassword, s.TempoToken, s.TempoTLSCACert)
	checkAuth("loki", "Loki", s.LokiAuth, s.LokiUser, s.LokiPassword, s.LokiToken, s.LokiTLSCACert)

	values := map[string]int64{
		"timeoutSeconds":    int64(s.TimeoutSeconds),
		"minGapMs":          int64(s.MinGapMs),
		"lokiMarginSeconds": int64(s.LokiMarginSeconds),
		"lokiMaxLines":      int64(s.LokiMaxLines),
		"maxLinesPerSpan":   int64(s.MaxLinesPerSpan),
		"tempoConcurrency":  int64(s.TempoConcurrency),
		"maxTraceMB":        int64(s.MaxTraceMB),
		"maxLogsMB":         int64(s.MaxLogsMB),
		"maxLogLines":       int64(s.MaxLogLines),
		"maxEmbeddedLines":  int64(s.MaxEmbeddedLines),
		"maxTableRows":      int64(s.MaxTableRows),
	}
	written := map[string]*number{
		"timeoutSeconds":    raw.TimeoutSeconds,
		"minGapMs":          raw.MinGapMs,
		"lokiMarginSeconds": raw.LokiMarginSeconds,
		"lokiMaxLines":      raw.LokiMaxLines,
		"maxLinesPerSpan":   raw.MaxLinesPerSpan,
		"tempoConcurrency":  raw.TempoConcurrency,
		"maxTraceMB":        raw.MaxTraceMB,
		"maxLogsMB":         raw.MaxLogsMB,
		"maxLogLines":       raw.MaxLogLines,
		"maxEmbeddedLines":  raw.MaxEmbeddedLines,
		"maxTableRows":      raw.MaxTableRows,
	}
	for _, l := range limits {
		if n := written[l.key]; !n.valid() {
			add(l.key, "%q is not a whole number; enter a number from %d to %d (%s)", n.text, l.min, l.max, l.unit)
			continue
		}
		if v := values[l.key]; v < l.min || v > l.max {
			add(l.key, "%d is out of range; enter a number from %d to %d (%s)", v, l.min, l.max, l.unit)
		}
	}

	if !strings.HasPrefix(s.LogSelector, "{") || !strings.HasSuffix(s.LogSelector, "}") {
		add("logSelector", "%q is not a LogQL stream selector; write one in braces, e.g. %s", s.LogSelector, DefaultLogSelector)
	}
	switch s.LogQueryMode {
	case LogQueryAuto, LogQueryLine, LogQueryMetadata:
	default:
		add("logQueryMode", "%q is not a log query mode; choose auto, line or metadata", string(s.LogQueryMode))
	}

	// Compile as written first, so the error quotes the user's pattern and
	// not our (?i) prefix. A pattern that matches the empty string matches
	// every line: every line would be a retry (or a give-up).
	s.Retry = checkPattern(add, "retryPattern", s.RetryPattern, DefaultRetryPattern, "retry messages")
	s.GiveUp = checkPattern(add, "giveUpPattern", s.GiveUpPattern, DefaultGiveUpPattern, "messages that give up retrying")
	return ps
}

// checkPattern compiles a message pattern case-insensitively, or reports
// through add why it cannot be used and returns nil.
func checkPattern(add func(key, format string, args ...any), key, pattern, example, what string) *regexp.Regexp {
	re, err := regexp.Compile(pattern)
	if err == nil {
		re, err = regexp.Compile("(?i)" + pattern)
	}
	switch {
	case err != nil:
		add(key, "is not a valid regular expression (%v); fix it, e.g. %s", err, example)
	case re.MatchString(""):
		add(key, "%q matches every log line; make it match only %s, e.g. %s", pattern, what, example)
	default:
		return re
	}
	return nil
}

// checkURL returns what is wrong with an upstream base URL, or "". It never
// echoes credentials found in the URL.
func checkURL(raw, name, example, prefix string) string {
	if raw == "" {
		return fmt.Sprintf("the %s URL is empty; enter the %s base URL, e.g. %s", name, name, example)
	}
	if !strings.Contains(raw, "://") {
		return fmt.Sprintf("%q has no scheme; write it with http:// or https://, e.g. %s", raw, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("is not a valid URL; enter the %s base URL, e.g. %s", name, example)
	}
	shown := u.Redacted()
	switch {
	case u.User != nil:
		return fmt.Sprintf("%q contains credentials; remove them from the URL and use %sAuth basic with %sUser and the password field, which is stored encrypted", shown, prefix, prefix)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q uses the scheme %q; %s speaks http:// or https://, e.g. %s", shown, u.Scheme, name, example)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host; enter the %s base URL, e.g. %s", shown, name, example)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment; enter only the %s base URL, e.g. %s", shown, name, example)
	}
	return ""
}

// checkTenant applies Tempo's and Loki's tenant id rules (dskit's
// ValidTenantID). "a|b" is allowed: both read it as a multi-tenant query
// when multi-tenant queries are enabled, and each part must be valid.
func checkTenant(id string) string {
	if id == "" {
		return ""
	}
	for part := range strings.SplitSeq(id, "|") {
		switch {
		case part == "":
			return fmt.Sprintf("%q has an empty tenant between '|' separators; remove the extra '|'", id)
		case len(part) > MaxTenantIDLength:
			return fmt.Sprintf("tenant %q is %d characters long; Tempo and Loki accept at most %d", abbreviate(part), len(part), MaxTenantIDLength)
		case part == "." || part == "..":
			return fmt.Sprintf("%q is not allowed as a tenant id; use letters, digits and ! - _ . * ' ( )", part)
		}
		for _, r := range part {
			if !tenantRune(r) {
				return fmt.Sprintf("%q contains %q, which Tempo and Loki reject; use only letters, digits and ! - _ . * ' ( )", abbreviate(part), r)
			}
		}
	}
	return ""
}

func tenantRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!-_.*'()", r)
}

func abbreviate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
