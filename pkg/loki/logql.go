package loki

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracegap/correlator/pkg/model"
)

// Mode says how the LogQL for a trace finds its lines.
type Mode string

// Query modes.
const (
	// ModeLine filters lines that contain the trace id (any case, with or
	// without leading zeros). It finds ids written anywhere in the line.
	ModeLine Mode = "line"
	// ModeMetadata filters on structured metadata (trace_id="…"), for logs
	// shipped with the id as metadata (OTLP ingestion does this).
	ModeMetadata Mode = "metadata"
	// ModeAuto runs both: the line filter, and the metadata filter for the
	// lines whose text does not carry the id (a negative line filter with
	// the same pattern), so no line is fetched twice and none that carries
	// the id only in its metadata is missed. The results are merged.
	ModeAuto Mode = "auto"
)

// DefaultTraceIDFields are the names a trace id is looked up under.
var DefaultTraceIDFields = []string{"traceId", "trace_id", "traceID", "trace-id"}

// Batch limits: one query holds at most this many ids and roughly this
// many bytes, so URLs stay far below the 16 KiB many proxies accept and
// Loki's regex stays cheap.
const (
	MaxBatchIDs   = 100
	MaxBatchBytes = 8 << 10
)

// minPlainDigits is the shortest stripped id matched as a bare substring.
// Shorter ones (64-bit ids with leading zero digits) would match unrelated
// hex in lines, so they are matched between non-hex boundaries instead.
const minPlainDigits = 12

// ParseMode reads a mode name; "" is ModeAuto.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeAuto, nil
	case ModeLine, ModeMetadata, ModeAuto:
		return m, nil
	}
	return "", fmt.Errorf("unknown log query mode %q: use line, metadata or auto", s)
}

// CheckSelector validates a stream selector minimally: Loki's own 400 text
// explains anything subtler, and is passed on.
func CheckSelector(selector string) (string, error) {
	s := strings.TrimSpace(selector)
	if s == "" {
		return "", errors.New(`the Loki stream selector is empty; set one such as {service_name=~".+"} in the data source settings or the query`)
	}
	if s[0] != '{' {
		return "", fmt.Errorf(`the Loki stream selector %q must start with "{", e.g. {service_name=~".+"}`, s)
	}
	return s, nil
}

// checkTraceID normalises an id and refuses anything but hex, so an id can
// never inject LogQL.
func checkTraceID(traceID string) (string, error) {
	id, ok := model.NormalizeTraceID(traceID)
	if !ok {
		return "", fmt.Errorf("trace id %q is not 1 to 32 hex digits", traceID)
	}
	if strings.Trim(id, "0") == "" {
		return "", fmt.Errorf("trace id %q is all zeros, which is not a valid trace id", traceID)
	}
	return id, nil
}

// linePattern is the regex (without flags) that finds id in a line.
//
// Logs write an id as 32 digits, as 16 digits when it is a 64-bit id, with
// or without leading zeros, in either case. Every such form contains the id
// with its leading zeros stripped, so an unanchored case-insensitive search
// for that finds them all; a "0*" prefix would change nothing in an
// unanchored match, and the plain literal lets Loki use its fast
// case-insensitive substring filter instead of a regex. The join later
// compares normalised ids exactly, so a rare hit inside longer hex costs
// only a line. Very short stripped ids are bounded by non-hex characters.
func linePattern(id string) string {
	stripped := strings.TrimLeft(id, "0")
	if len(stripped) >= minPlainDigits {
		return stripped
	}
	return "(?:^|[^0-9a-f])0*" + stripped + "(?:[^0-9a-f]|$)"
}

// metadataPattern matches a whole label value (label regexes are anchored):
// optional leading zeros, then the stripped id, in either case.
func metadataPattern(ids []string) string {
	if len(ids) == 1 {
		return "(?i)0*" + strings.TrimLeft(ids[0], "0")
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strings.TrimLeft(id, "0")
	}
	return "(?i)0*(?:" + strings.Join(parts, "|") + ")"
}

// LineQuery is the LogQL that finds the lines containing traceID:
// {selector} |~ "(?i)<id without leading zeros>".
func LineQuery(selector, traceID string) (string, error) {
	sel, err := CheckSelector(selector)
	if err != nil {
		return "", err
	}
	id, err := checkTraceID(traceID)
	if err != nil {
		return "", err
	}
	return lineQuery(sel, []string{id}), nil
}

func lineQuery(sel string, ids []string) string {
	return sel + ` |~ "` + lineFilterRegex(ids) + `"`
}

// lineFilterRegex is the line filter's regex for ids.
func lineFilterRegex(ids []string) string {
	if len(ids) == 1 {
		return "(?i)" + linePattern(ids[0])
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = linePattern(id)
	}
	return "(?i)(?:" + strings.Join(parts, "|") + ")"
}

// autoMetadataQuery is auto mode's second query: the metadata filter over
// the lines the line filter does not match (`!~` with the same regex), so
// the two queries return disjoint sets whose union is every line that
// carries the id in its text or its metadata. Without the negative filter
// a fleet that writes the id in both places had each line fetched twice.
func autoMetadataQuery(sel string, ids, names []string) string {
	return metadataQuery(sel+` !~ "`+lineFilterRegex(ids)+`"`, ids, names)
}

// MetadataQuery is the LogQL that finds entries whose structured metadata
// (or extracted label) carries traceID under one of fields:
// {selector} | trace_id=~"(?i)0*<id>" or traceId=~"(?i)0*<id>". Names that
// are not valid label names (trace-id) cannot be filtered on and are left out.
func MetadataQuery(selector, traceID string, fields []string) (string, error) {
	sel, err := CheckSelector(selector)
	if err != nil {
		return "", err
	}
	id, err := checkTraceID(traceID)
	if err != nil {
		return "", err
	}
	names, err := labelNames(fields)
	if err != nil {
		return "", err
	}
	return metadataQuery(sel, []string{id}, names), nil
}

func metadataQuery(sel string, ids, names []string) string {
	pat := metadataPattern(ids)
	var b strings.Builder
	b.WriteString(sel)
	b.WriteString(" | ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(n)
		b.WriteString(`=~"`)
		b.WriteString(pat)
		b.WriteString(`"`)
	}
	return b.String()
}

func labelNames(fields []string) ([]string, error) {
	if len(fields) == 0 {
		fields = DefaultTraceIDFields
	}
	var names []string
	seen := map[string]bool{}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if validLabelName(f) && !seen[f] {
			seen[f] = true
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("none of the trace id fields %q is a valid Loki label name (letters, digits and _), so structured metadata cannot be filtered on; use the line mode", fields)
	}
	return names, nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// Queries returns the LogQL for one trace in a mode: one query for line and
// metadata, both (line first) for auto.
func Queries(selector, traceID string, mode Mode, fields []string) ([]string, error) {
	batches, err := BatchQueries(selector, []string{traceID}, mode, fields)
	if err != nil {
		return nil, err
	}
	return batches[0].Queries, nil
}

// Batch is a group of trace ids fetched together, and the LogQL for them.
type Batch struct {
	TraceIDs []string // normalised
	Queries  []string // one per mode; line first in auto
}

// BatchQueries builds the LogQL for many traces: one regex alternation per
// batch of ids, a new batch when one would exceed MaxBatchIDs ids or about
// MaxBatchBytes bytes. Ids are validated and de-duplicated first; an invalid
// one fails the whole call, naming it.
func BatchQueries(selector string, traceIDs []string, mode Mode, fields []string) ([]Batch, error) {
	sel, err := CheckSelector(selector)
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = ModeAuto
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return nil, err
	}
	var names []string
	if mode != ModeLine {
		if names, err = labelNames(fields); err != nil {
			return nil, err
		}
	}
	if len(traceIDs) == 0 {
		return nil, errors.New("no trace id to query logs for")
	}
	ids := make([]string, 0, len(traceIDs))
	seen := make(map[string]bool, len(traceIDs))
	for _, raw := range traceIDs {
		id, err := checkTraceID(raw)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	build := func(group []string) []string {
		var qs []string
		if mode != ModeMetadata {
			qs = append(qs, lineQuery(sel, group))
		}
		switch mode {
		case ModeMetadata:
			qs = append(qs, metadataQuery(sel, group, names))
		case ModeAuto:
			qs = append(qs, autoMetadataQuery(sel, group, names))
		}
		return qs
	}
	// Bytes a query grows by per id: the pattern once for the line query
	// and once per field name for the metadata one, plus a separator each.
	perID := func(id string) int {
		n := 0
		if mode != ModeMetadata {
			n += len(linePattern(id)) + 1
		}
		if mode != ModeLine {
			n += (len(strings.TrimLeft(id, "0")) + 1) * len(names)
		}
		if mode == ModeAuto {
			n += len(linePattern(id)) + 1 // the negative line filter
		}
		return n
	}
	base := 0
	for _, q := range build(ids[:1]) {
		base += len(q)
	}
	var out []Batch
	start, size := 0, base
	for i, id := range ids {
		grow := perID(id)
		if i > start && (i-start >= MaxBatchIDs || size+grow > MaxBatchBytes) {
			out = append(out, Batch{TraceIDs: ids[start:i:i], Queries: build(ids[start:i])})
			start, size = i, base
		}
		size += grow
	}
	out = append(out, Batch{TraceIDs: ids[start:], Queries: build(ids[start:])})
	return out, nil
}
