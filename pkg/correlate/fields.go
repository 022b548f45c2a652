package correlate

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// maxJSONDepth bounds nested objects in a line. Deeper values are kept as
// raw JSON text; the bound keeps adversarial lines from exhausting the stack.
const maxJSONDepth = 32

// lineShape says what parseLine found around the fields.
type lineShape struct {
	// inner is the line inside a Docker or CRI wrapper, else the line.
	inner string
	// text is, for a line that is not a JSON object, the text before its
	// trailing JSON object (the whole inner line when it has none): where
	// the message and a level word are read from.
	text   string
	isText bool
	// object says the text ended with a JSON object: the line's fields
	// are there, so the text before it is all message (zap's console
	// format writes the message verbatim, "=" and all).
	object bool
}

// parseLine appends the fields of line to dst, wherever they stand: the
// members of a JSON object line (nested objects flattened with "_" as
// Loki's json parser does); for any other line, the key=value pairs
// anywhere in its text (logfmt, or MDC groups such as [traceId=…,
// spanId=…]) and the members of a JSON object that ends the line after a
// text prefix (zap's console format, Python logging with a JSON extra).
// A Docker json-file or CRI wrapper is taken off first: its inner line is
// the one the service wrote. Values are strings. A malformed JSON line
// keeps the members read before the error, because a line cut at Loki's
// max_line_size usually still carries its ids near the start.
func parseLine(dst model.Labels, line string) (model.Labels, lineShape) {
	inner := line
	if s, ok := unwrapCRI(line); ok {
		inner = s
	}
	for unwrapped := false; ; unwrapped = true {
		i := skipSpace(inner, 0)
		if i >= len(inner) || inner[i] != '{' {
			break
		}
		n0 := len(dst)
		p := jsonParser{s: inner, i: i}
		dst, _ = p.object(dst, "", 0)
		// Docker's json-file driver writes "log" first.
		if !unwrapped && strings.HasPrefix(inner[i:], `{"log":`) {
			if s, ok := dockerLog(dst[n0:]); ok {
				dst, inner = dst[:n0], s
				continue
			}
		}
		return dst, lineShape{inner: inner}
	}
	dst, text, object := parseText(dst, inner)
	return dst, lineShape{inner: inner, text: text, isText: true, object: object}
}

// parseText appends the fields of a line that is not a JSON object: the
// key=value pairs of its text, then the members of its trailing JSON
// object, in the line's order. It returns the text before that object.
func parseText(dst model.Labels, s string) (model.Labels, string, bool) {
	t := trimRightSpace(s)
	if len(t) >= 2 && t[len(t)-1] == '}' {
		// The object is the one that starts at the leftmost '{' and runs
		// exactly to the end; a few tries bound a line of many braces.
		from := 0
		for range maxObjectTries {
			k := strings.IndexByte(t[from:], '{')
			if k < 0 {
				break
			}
			k += from
			from = k + 1
			if k == 0 || t[k-1] > ' ' {
				continue // inside a word ("k={}"), not an object of its own
			}
			n0 := len(dst)
			p := jsonParser{s: t, i: k}
			var ok bool
			if dst, ok = p.object(dst, "", 0); ok && p.i == len(t) {
				n1 := len(dst)
				dst = parsePairs(dst, t[:k])
				// The pairs stand before the object: rotate them in front.
				m := len(dst) - n1
				slices.Reverse(dst[n0:])
				slices.Reverse(dst[n0 : n0+m])
				slices.Reverse(dst[n0+m:])
				return dst, t[:k], true
			}
			clear(dst[n0:])
			dst = dst[:n0]
		}
	}
	return parsePairs(dst, t), t, false
}

// maxObjectTries bounds the '{' a text line is tried at for its trailing
// JSON object.
const maxObjectTries = 8

// dockerLog reports whether fields are a Docker json-file record
// ({"log": …, "stream": …, "time": …}, perhaps with "attrs") and returns
// the line it wraps, without the newline Docker keeps.
func dockerLog(fields model.Labels) (string, bool) {
	var log string
	hasLog, hasStream := false, false
	for _, f := range fields {
		switch {
		case f.Name == "log":
			log, hasLog = f.Value, true
		case f.Name == "stream":
			hasStream = true
		case f.Name == "time" || strings.HasPrefix(f.Name, "attrs_"):
		default:
			return "", false
		}
	}
	if !hasLog || !hasStream {
		return "", false
	}
	return strings.TrimRight(log, "\r\n"), true
}

// unwrapCRI takes off the CRI log format's prefix (containerd, CRI-O:
// "<RFC 3339 time> stdout|stderr F|P <line>") and returns the line.
func unwrapCRI(s string) (string, bool) {
	// The time is at least "2006-01-02T15:04:05Z".
	if len(s) < 30 || s[4] != '-' || s[0] < '0' || s[0] > '9' {
		return "", false
	}
	sp := strings.IndexByte(s[:min(len(s), 40)], ' ')
	if sp < 20 || s[10] != 'T' {
		return "", false
	}
	r := s[sp+1:]
	if len(r) < 9 || (r[:7] != "stdout " && r[:7] != "stderr ") || (r[7] != 'F' && r[7] != 'P') || r[8] != ' ' {
		return "", false
	}
	return r[9:], true
}

func trimRightSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonParser is a small scanner for one JSON object. It exists because
// encoding/json costs several microseconds per line and Analyze's budget is
// about one microsecond per entry; it keeps keys and values as substrings
// of the line unless they contain escapes.
type jsonParser struct {
	s string
	i int
}

// object parses the object at p.i, appending its members with the given key
// prefix. It reports false when the object is malformed.
func (p *jsonParser) object(dst model.Labels, prefix string, depth int) (model.Labels, bool) {
	p.i++ // '{'
	p.i = skipSpace(p.s, p.i)
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return dst, true
	}
	for {
		p.i = skipSpace(p.s, p.i)
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return dst, false
		}
		key, ok := p.str()
		if !ok {
			return dst, false
		}
		if prefix != "" {
			key = prefix + "_" + key
		}
		p.i = skipSpace(p.s, p.i)
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return dst, false
		}
		p.i = skipSpace(p.s, p.i+1)
		if p.i >= len(p.s) {
			return dst, false
		}
		// A member with an empty name is valid JSON but cannot be a field
		// (Loki cannot make a label of it either): parse it, keep nothing.
		keep := len(dst)
		switch c := p.s[p.i]; {
		case c == '"':
			v, ok := p.str()
			if !ok {
				return dst, false
			}
			dst = append(dst, model.Label{Name: key, Value: v})
		case c == '{' && depth < maxJSONDepth:
			if dst, ok = p.object(dst, key, depth+1); !ok {
				return dst, false
			}
		case c == '{' || c == '[':
			start := p.i
			if !p.skipComposite() {
				return dst, false
			}
			dst = append(dst, model.Label{Name: key, Value: p.s[start:p.i]})
		default:
			start := p.i
			for p.i < len(p.s) {
				c := p.s[p.i]
				if c == ',' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					break
				}
				p.i++
			}
			v := p.s[start:p.i]
			if v == "" {
				return dst, false
			}
			if v == "null" {
				v = ""
			}
			dst = append(dst, model.Label{Name: key, Value: v})
		}
		if key == "" {
			dst = dst[:keep]
		}
		p.i = skipSpace(p.s, p.i)
		if p.i >= len(p.s) {
			return dst, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return dst, true
		default:
			return dst, false
		}
	}
}

// str reads the string at p.i (which is '"') and returns it unescaped.
func (p *jsonParser) str() (string, bool) {
	start := p.i + 1
	// Keys and most values are short: a plain loop beats IndexByte's set-up.
	end := min(len(p.s), start+32)
	for j := start; j < end; j++ {
		switch p.s[j] {
		case '"':
			p.i = j + 1
			return p.s[start:j], true
		case '\\':
			return p.escapedStr(start)
		}
	}
	q := strings.IndexByte(p.s[end:], '"')
	if q < 0 {
		p.i = len(p.s)
		return "", false
	}
	q += end
	if strings.IndexByte(p.s[end:q], '\\') >= 0 {
		return p.escapedStr(start)
	}
	p.i = q + 1
	return p.s[start:q], true
}

// escapedStr decodes a string with escapes, starting after its quote.
func (p *jsonParser) escapedStr(start int) (string, bool) {
	var b strings.Builder
	j := start
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return b.String(), true
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(p.s) {
			break
		}
		j++
		switch e := p.s[j]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := hex4(p.s, j+1)
			if n == 0 {
				p.i = j
				return "", false
			}
			j += n
			if r >= 0xD800 && r < 0xDC00 && j+2 < len(p.s) && p.s[j+1] == '\\' && p.s[j+2] == 'u' {
				if r2, n2 := hex4(p.s, j+3); n2 != 0 && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					j += 2 + n2
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			p.i = j
			return "", false
		}
		j++
	}
	p.i = len(p.s)
	return "", false
}

// hex4 decodes four hex digits at s[i:]; n is 4, or 0 when they are not hex.
func hex4(s string, i int) (r rune, n int) {
	if i+4 > len(s) {
		return 0, 0
	}
	for k := i; k < i+4; k++ {
		c := s[k]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(v)
	}
	return r, 4
}

// skipComposite skips a JSON object or array at p.i, honouring strings.
func (p *jsonParser) skipComposite() bool {
	depth := 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			if _, ok := p.str(); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				return true
			}
		}
		p.i++
	}
	return false
}

// parsePairs appends the key=value pairs that stand anywhere in s: a
// logfmt line, pairs in the middle of a message, and groups in brackets,
// parentheses or braces ("[traceId=…, spanId=…]" of Java MDC patterns,
// "{spanId=…, traceId=…}" of log4j2's %X). Bare words are skipped: they
// are what a plain-text line is made of, not fields. A value is quoted
// (Go escapes, as go-logfmt writes them) or runs to the next space; inside
// a group also to the next ',', ';' or closing bracket.
func parsePairs(dst model.Labels, s string) model.Labels {
	if strings.IndexByte(s, '=') < 0 {
		return dst // plain text (most of a console line): no pair to find
	}
	depth := 0
	i := 0
	for i < len(s) {
		// Spaces, group separators and brackets between words.
		for i < len(s) {
			c := s[i]
			switch {
			case c <= ' ':
			case c == '[' || c == '(' || c == '{':
				depth++
			case depth > 0 && (c == ',' || c == ';'):
			case depth > 0 && (c == ']' || c == ')' || c == '}'):
				depth--
			default:
				goto word
			}
			i++
		}
		break
	word:
		start := i
		for i < len(s) {
			c := s[i]
			if c <= ' ' || c == '=' || c == '"' || depth > 0 && groupEnd[c] {
				break
			}
			i++
		}
		key := s[start:i]
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '"':
			// A quoted word without a key (free text): skip it whole.
			_, i = logfmtQuoted(s, i)
			continue
		case '=':
		default:
			continue // bare word ended by a space or a group's end
		}
		i++ // '='
		if key == "" {
			continue
		}
		var val string
		if i < len(s) && s[i] == '"' {
			val, i = logfmtQuoted(s, i)
		} else {
			vs := i
			for i < len(s) && s[i] > ' ' && !(depth > 0 && groupEnd[s[i]]) {
				i++
			}
			val = s[vs:i]
		}
		dst = append(dst, model.Label{Name: key, Value: val})
	}
	return dst
}

// groupEnd marks the bytes that end a key or value inside a group.
var groupEnd = func() (t [256]bool) {
	for _, c := range ",;])}" {
		t[c] = true
	}
	return t
}()

// logfmtQuoted reads the quoted value at s[i] (a '"') and returns it
// unquoted with the index after it. Escapes follow Go's syntax, as
// go-logfmt writes them; an unterminated value runs to the end of the line.
func logfmtQuoted(s string, i int) (string, int) {
	escaped := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			raw := s[i : j+1]
			if !escaped {
				return raw[1 : len(raw)-1], j + 1
			}
			if v, err := strconv.Unquote(raw); err == nil {
				return v, j + 1
			}
			return raw[1 : len(raw)-1], j + 1
		}
	}
	return s[i+1:], len(s)
}
