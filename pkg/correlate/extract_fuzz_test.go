package correlate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// realLine is a log line as the real captures hold it, with one metadata
// pair to go with it.
type realLine struct {
	line, name, value string
}

// realLines reads every log line of the real captures: the lines pushed to
// Loki (scenario.json) and the entries of the query_range answers, with
// their structured metadata and parsed labels. A capture that is not
// missing from the repository fails the test.
func realLines(t testing.TB) []realLine {
	t.Helper()
	dir := os.Getenv("TRACEGAP_FIXTURES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "internal", "fixtures", "testdata", "real")
	}
	var out []realLine
	seen := map[realLine]bool{}
	add := func(l realLine) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "scenario.json")); err != nil {
		t.Fatalf("capture missing from the repository: %v", err)
	} else {
		var sc struct {
			Logs []struct {
				Line string            `json:"line"`
				MD   map[string]string `json:"structuredMetadata"`
			} `json:"logs"`
		}
		if json.Unmarshal(b, &sc) == nil {
			for _, l := range sc.Logs {
				add(realLine{l.Line, "span_id", l.MD["span_id"]})
			}
		}
	}
	for _, name := range []string{"query_range_json_parse_all_categorized.json", "query_range_logfmt_categorized.json", "query_range_json_parse_all.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "loki", name))
		if err != nil {
			t.Fatalf("capture missing from the repository: %v", err)
		}
		var qr struct {
			Data struct {
				Result []struct {
					Stream map[string]string `json:"stream"`
					Values [][]json.RawMessage
				} `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &qr) != nil {
			continue
		}
		for _, r := range qr.Data.Result {
			for _, v := range r.Values {
				var line string
				if len(v) < 2 || json.Unmarshal(v[1], &line) != nil {
					continue
				}
				labels := map[string]string{}
				for k, val := range r.Stream {
					labels[k] = val
				}
				if len(v) > 2 {
					var cat struct{ StructuredMetadata, Parsed map[string]string }
					_ = json.Unmarshal(v[2], &cat)
					for k, val := range cat.StructuredMetadata {
						labels[k] = val
					}
					for k, val := range cat.Parsed {
						labels[k] = val
					}
				}
				for k, val := range labels {
					add(realLine{line, k, val})
				}
			}
		}
	}
	return out
}

// FuzzExtractRealLines runs the extractor on the captured lines and
// mutations of them: it never panics, ids come out normalised, and a line
// that carries an id in a configured field yields exactly that id.
func FuzzExtractRealLines(f *testing.F) {
	for _, l := range realLines(f) {
		f.Add(l.line, l.name, l.value)
	}
	f.Add(`{"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"A4"}`, "trace_id", "x")
	f.Add(`trace_id=af7651916cd43dd8448eb211c80319c span_id="a1" msg="quoted \"x\""`, "span_id_extracted", "a2")
	x := NewExtractor(Options{})
	f.Fuzz(func(t *testing.T, line, name, value string) {
		e := model.LogEntry{Line: line, Metadata: model.Labels{{Name: name, Value: value}}, Parsed: model.Labels{{Name: name, Value: value}}}
		l := x.Extract(&e)
		if l.TraceID != "" && !fuzzLowerHex(l.TraceID, 32) {
			t.Fatalf("trace id %q not normalised", l.TraceID)
		}
		if l.SpanID != "" && !fuzzLowerHex(l.SpanID, 16) {
			t.Fatalf("span id %q not normalised", l.SpanID)
		}
		if l.Message == "" && strings.TrimSpace(line) != "" {
			t.Fatalf("no message for %q", line)
		}
		// The line's own traceId wins over metadata, when it is an id.
		for _, fl := range l.Fields {
			if fl.Name == "traceId" {
				if id, ok := model.NormalizeTraceID(fl.Value); ok && l.TraceID != id {
					t.Fatalf("line says traceId %q, extracted %q", fl.Value, l.TraceID)
				}
				break
			}
		}
	})
}

func fuzzLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FuzzParseJSONLine checks the hand-written JSON field parser against
// encoding/json on every valid JSON object line: same fields, same values
// (strings unescaped, numbers and booleans as written, null as "", nested
// objects flattened with "_", arrays as their raw text).
func FuzzParseJSONLine(f *testing.F) {
	for _, l := range realLines(f) {
		if strings.HasPrefix(l.line, "{") {
			f.Add(l.line)
		}
	}
	f.Add(`{"a":{"b":{"c":[1, 2,{"d":"\u00e9\ud83d\ude00"}]}},"n":-1.5e3,"t":true,"z":null}`)
	f.Add(`{"":"empty name","esc":"tab\there \"q\" \\ \/","u":"\ud800"}`)
	f.Add(`  {"k" : "v" , "k2":{}}  `)
	f.Fuzz(func(t *testing.T, line string) {
		got, _ := parseLine(nil, line)
		for _, fl := range got {
			if fl.Name == "" {
				t.Fatalf("a field without a name from %q", line)
			}
		}
		b := []byte(line)
		if !json.Valid(b) || !utf8.Valid(b) || !strings.HasPrefix(strings.TrimSpace(line), "{") || bytes.Contains(b, []byte(`\u`)) {
			// \u escapes of lone surrogates decode differently by design
			// (encoding/json substitutes U+FFFD); leave them to the
			// no-panic check above.
			return
		}
		want := map[string]string{}
		if !flattenJSON(b, "", want, 0) {
			return // duplicate names, or deeper than the parser flattens
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d fields %v, encoding/json finds %d %v", line, len(got), got, len(want), want)
		}
		for _, fl := range got {
			if w, ok := want[fl.Name]; !ok || w != fl.Value {
				t.Fatalf("%q: field %q = %q, encoding/json says %q (present %v)", line, fl.Name, fl.Value, w, ok)
			}
		}
	})
}

// flattenJSON is the reference: it reports false for inputs outside the
// comparison (duplicate or colliding names, nesting beyond maxJSONDepth).
func flattenJSON(b []byte, prefix string, into map[string]string, depth int) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return false
		}
		key := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false
		}
		if key == "" {
			continue // no field can have an empty name
		}
		name := key
		if prefix != "" {
			name = prefix + "_" + key
		}
		switch raw[0] {
		case '{':
			if depth+1 > maxJSONDepth {
				return false
			}
			if !flattenJSON(raw, name, into, depth+1) {
				return false
			}
			continue
		case '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return false
			}
			if _, dup := into[name]; dup {
				return false
			}
			into[name] = s
			continue
		}
		if _, dup := into[name]; dup {
			return false
		}
		v := string(raw)
		if v == "null" {
			v = ""
		}
		into[name] = v
	}
	return true
}

// FuzzLogfmtRoundTrip writes two key=value pairs the way go-logfmt does
// (quoting values that need it) and checks the parser reads them back.
func FuzzLogfmtRoundTrip(f *testing.F) {
	f.Add("trace_id", "0af7651916cd43dd8448eb211c80319c", "msg", `proxied GET /dashboard upstream=dashboard-service status=200`)
	f.Add("level", "info", "err", `quote " and \ backslash`)
	f.Add("k", "", "k2", "\x00\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if !logfmtKey(k1) || !logfmtKey(k2) {
			return
		}
		line := k1 + "=" + logfmtValue(v1) + " " + k2 + "=" + logfmtValue(v2)
		got, _ := parseLine(nil, line)
		if strings.HasPrefix(strings.TrimSpace(line), "{") {
			return // parsed as JSON, not logfmt
		}
		want := model.Labels{{Name: k1, Value: v1}, {Name: k2, Value: v2}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("line %q: got %q, want %q", line, got, want)
		}
	})
}

func logfmtKey(k string) bool {
	if k == "" || !utf8.ValidString(k) {
		return false
	}
	if k[0] == '[' || k[0] == '(' || k[0] == '{' {
		// An opening bracket before a key starts a group ("[traceId=…,
		// spanId=…]"), whose values also end at ',', ';' and brackets.
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c == '=' || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

func logfmtValue(v string) string {
	if v == "" || !utf8.ValidString(v) {
		return strconv.Quote(v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f {
			return strconv.Quote(v)
		}
	}
	return v
}
