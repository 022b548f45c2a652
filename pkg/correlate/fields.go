package correlate

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// maxJSONDepth bounds nested objects in a line. Deeper values are kept as
// raw JSON text; the bound keeps adversarial lines from exhausting the stack.
const maxJSONDepth = 32

// parseLine appends the fields of line to dst: the members of a JSON object
// (nested objects flattened with "_" as Loki's json parser does), else the
// key=value pairs of logfmt. Values are strings. A malformed JSON line keeps
// the members read before the error, because a line cut at Loki's
// max_line_size usually still carries its ids near the start.
func parseLine(dst model.Labels, line string) model.Labels {
	i := skipSpace(line, 0)
	if i < len(line) && line[i] == '{' {
		p := jsonParser{s: line, i: i}
		dst, _ = p.object(dst, "", 0)
		return dst
	}
	return parseLogfmt(dst, line)
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

// parseLogfmt appends the key=value pairs of a logfmt line. Bare words
// without "=" are skipped: they are what a plain-text line is made of, not
// fields.
func parseLogfmt(dst model.Labels, s string) model.Labels {
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] <= ' ' {
			i++
		}
		start := i
		for i < len(s) && s[i] > ' ' && s[i] != '=' && s[i] != '"' {
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
			continue // bare word ended by a space
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
			for i < len(s) && s[i] > ' ' {
				i++
			}
			val = s[vs:i]
		}
		dst = append(dst, model.Label{Name: key, Value: val})
	}
	return dst
}

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
