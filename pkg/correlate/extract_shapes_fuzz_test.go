package correlate

import (
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// FuzzExtractTextShapes runs the extractor on arbitrary lines seeded with
// every line shape of the table (bare and wrapped): it never panics, ids
// come out normalised, a line that is not blank has a message, and an id
// read from a traceparent stands whole in the line.
func FuzzExtractTextShapes(f *testing.F) {
	for _, row := range lineShapeRows {
		f.Add(row.line)
		f.Add(dockerWrap(row.line))
		f.Add(criWrap(row.line))
	}
	f.Add("INFO[0000] x {\"a\": {\"b\": [1, {\"c\": \"}\"}]}} {")
	f.Add("[[[(( k=v, k2=\"unterminated")
	f.Add("00-" + strings.Repeat("a", 32) + "-" + strings.Repeat("b", 16) + "-01")
	x := NewExtractor(Options{})
	f.Fuzz(func(t *testing.T, line string) {
		e := model.LogEntry{Line: line}
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
		if tid, sid, ok := findTraceparent(line); ok {
			v := "00-" + tid + "-" + sid + "-"
			k := strings.Index(asciiLower(line), v)
			if k < 0 || k > 0 && isAlnum(line[k-1]) || k+traceparentLen < len(line) && isAlnum(line[k+traceparentLen]) {
				t.Fatalf("traceparent %q not whole in %q", v, line)
			}
		}
		msg, _ := textMessage(line, true)
		if len(msg) > len(line) {
			t.Fatalf("message %q longer than the line", msg)
		}
	})
}

// FuzzKnownSpanToken checks the known-id scan: every id it offers stands
// in the line as a whole token of exactly 16 hex digits (never inside a
// longer run or word, never shortened), and an id put in the line between
// spaces is always found.
func FuzzKnownSpanToken(f *testing.F) {
	f.Add("span 00F067AA0BA902B7 done", "00f067aa0ba902b7")
	f.Add("1234"+"00f067aa0ba902b7", "00f067aa0ba902b7")
	f.Add("[4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7]", "b7ad6b7169203331")
	f.Fuzz(func(t *testing.T, line, id string) {
		lower := asciiLower(line)
		spanIDToken(line, func(got []byte) bool {
			g := string(got)
			if !fuzzLowerHex(g, 16) {
				t.Fatalf("offered %q, not 16 lower-case hex digits", g)
			}
			whole := false
			for from := 0; ; {
				k := strings.Index(lower[from:], g)
				if k < 0 {
					break
				}
				k += from
				from = k + 1
				if (k == 0 || !isAlnum(line[k-1])) && (k+16 == len(line) || !isAlnum(line[k+16])) {
					whole = true
					break
				}
			}
			if !whole {
				t.Fatalf("offered %q, not a whole token of %q", g, line)
			}
			return false
		})
		if fuzzLowerHex(id, 16) {
			withID := line + " " + strings.ToUpper(id) + " "
			if !spanIDToken(withID, func(got []byte) bool { return string(got) == id }) {
				t.Fatalf("id %q standing alone in %q not found", id, withID)
			}
		}
	})
}

// asciiLower lower-cases A–F… byte by byte, keeping every index (unlike
// strings.ToLower on invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
