package correlate

import "strings"

// This file reads the message and the level word of a text line: what
// remains once the leading time, level and caller tokens and the trailing
// fields are taken off (docs/analysis.md, Inputs). It is a byte scan over
// whitespace-separated tokens, run only for lines whose message or level
// no field gives.

// maxLeadTokens is how far from the start a level word may stand.
const maxLeadTokens = 6

// maxCallerTokens bounds the caller tokens (logger, thread, pid, file:line)
// taken off after the level.
const maxCallerTokens = 8

// textMessage returns the message of a text line (t has no trailing JSON
// object) and the level word near its start ("" when there is none). The
// message is "" when nothing remains. With trimFields, key=value pairs
// and groups that end the text are fields, not message.
func textMessage(t string, trimFields bool) (msg, level string) {
	i := 0
	prefixed := false // a time or bracketed token came before
	msgAt := -1       // where the message starts once a level is found
	for k := 0; k < maxLeadTokens; k++ {
		s, e := nextToken(t, i)
		if s >= len(t) {
			break
		}
		tok := t[s:e]
		if lv, rest, ok := levelToken(t, s, e, prefixed); ok {
			level, msgAt = lv, rest
			break
		}
		switch {
		case isTimeToken(tok):
			prefixed = true
		case tok[0] == '[' || tok[0] == '(' || tok[0] == '{':
			e = groupClose(t, s)
			prefixed = true
		case isSeparator(tok):
		default:
			// A plain word counts as a prefix (Python's "%(name)s -")
			// only when a separator follows it.
			if ns, ne := nextToken(t, e); ns >= len(t) || !isSeparator(t[ns:ne]) {
				k = maxLeadTokens // the text has begun: no level word here
				continue
			}
		}
		i = e
	}
	start := 0
	if msgAt >= 0 {
		start = skipCallers(t, msgAt)
	} else {
		// No level: take off only a leading time, when words follow it.
		j := 0
		for {
			s, e := nextToken(t, j)
			if s >= len(t) || !isTimeToken(t[s:e]) {
				if s < len(t) && j > 0 && !isSeparator(t[s:e]) && t[s] != '[' {
					start = s
				}
				break
			}
			j = e
		}
	}
	if !trimFields {
		return trimRightSpace(t[start:]), level
	}
	return trimTrailingFields(t[start:]), level
}

// nextToken returns the bounds of the whitespace-separated token at or
// after i; s is len(t) when there is none.
func nextToken(t string, i int) (s, e int) {
	for i < len(t) && t[i] <= ' ' {
		i++
	}
	s = i
	for i < len(t) && t[i] > ' ' {
		i++
	}
	return s, i
}

// groupClose returns the index after the bracket group that opens at s
// (which may hold spaces: "[main thread]"), or the token's end when it
// does not close nearby.
func groupClose(t string, s int) int {
	closer := byte(']')
	switch t[s] {
	case '(':
		closer = ')'
	case '{':
		closer = '}'
	}
	limit := min(len(t), s+256)
	if k := strings.IndexByte(t[s+1:limit], closer); k >= 0 {
		return s + 1 + k + 1
	}
	_, e := nextToken(t, s)
	return e
}

// isTimeToken reports whether tok looks like a date, a time or an epoch:
// it starts with a digit and holds only digits and the punctuation of
// timestamps ("2026-11-25T16:36:38.850Z", "16:36:38,850", "2026/11/25").
func isTimeToken(tok string) bool {
	if tok == "" || tok[0] < '0' || tok[0] > '9' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c >= '0' && c <= '9', c == '-', c == ':', c == '.', c == ',', c == '/', c == 'T', c == 'Z', c == '+', c == 'e':
		default:
			return false
		}
	}
	return true
}

// isSeparator reports whether tok is punctuation patterns put between
// their parts ("-", "---", "|", ":", "::", ">").
func isSeparator(tok string) bool {
	if tok == "" || len(tok) > 3 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c != '-' && c != '|' && c != ':' && c != '>' && c != '*' {
			return false
		}
	}
	return true
}

// levelWords are the level words recognised standing alone, upper-case.
var levelWords = [...]string{"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "PANIC", "DPANIC", "SEVERE", "ALERT", "EMERG"}

// levelToken reads a level word at t[s:e]: the word alone, in brackets
// ("[INFO]"), or followed by ':' or a bracket ("INFO:root:…",
// logrus's "INFO[0000]"). An upper-case word always counts; another case
// only after a time or bracketed token, in brackets, or before ':' (a
// sentence may start with "Error"). It returns the lower-case level and
// where the rest of the line starts.
func levelToken(t string, s, e int, prefixed bool) (string, int, bool) {
	bracketed := false
	ws := s
	if t[ws] == '[' {
		bracketed = true
		ws++
	}
	we := ws
	for we < e && (t[we] >= 'a' && t[we] <= 'z' || t[we] >= 'A' && t[we] <= 'Z') {
		we++
	}
	n := we - ws
	if n < 3 || n > 8 {
		return "", 0, false
	}
	rest := we
	switch {
	case bracketed:
		if we >= e || t[we] != ']' {
			return "", 0, false
		}
		rest = we + 1
	case we == e:
	case t[we] == ':':
		rest = we + 1
	case t[we] == '[':
		rest = groupClose(t, we)
	default:
		return "", 0, false
	}
	word := t[ws:we]
	upper := true
	for i := 0; i < len(word); i++ {
		if word[i] >= 'a' {
			upper = false
			break
		}
	}
	if !upper && !prefixed && !bracketed && (we == e || t[we] != ':') {
		return "", 0, false
	}
	for _, w := range levelWords {
		if strings.EqualFold(word, w) {
			return lowerLevel(w), rest, true
		}
	}
	return "", 0, false
}

// skipCallers moves past what patterns put between the level and the
// message: separators, bracket groups (thread, MDC), a pid, file:line, a
// logger name before a separator or group, Python's "name:" right after
// "LEVEL:".
func skipCallers(t string, i int) int {
	if i < len(t) && t[i] > ' ' {
		// Python's default "%(levelname)s:%(name)s:%(message)s".
		j := i
		for j < len(t) && (isIdent(t[j]) || t[j] == '.') {
			j++
		}
		if j > i && j < len(t) && t[j] == ':' {
			i = j + 1
		}
		return i
	}
	for range maxCallerTokens {
		s, e := nextToken(t, i)
		if s >= len(t) {
			return s
		}
		tok := t[s:e]
		switch {
		case isSeparator(tok), isNumber(tok), isFileLine(tok), isLoggerName(tok), isPair(tok):
		case tok[0] == '[' || tok[0] == '(' || tok[0] == '{':
			e = groupClose(t, s)
		default:
			return s
		}
		i = e
	}
	s, _ := nextToken(t, i)
	return s
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

func isNumber(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return tok != ""
}

// isFileLine reports "lock.go:88", "app/handler.go:88:", "Main.java:42)".
func isFileLine(tok string) bool {
	for len(tok) > 0 && (tok[len(tok)-1] == ':' || tok[len(tok)-1] == ')') {
		tok = tok[:len(tok)-1]
	}
	k := strings.LastIndexByte(tok, ':')
	if k <= 0 || !isNumber(tok[k+1:]) {
		return false
	}
	return strings.IndexByte(tok[:k], '.') >= 0 || strings.IndexByte(tok[:k], '/') >= 0
}

// isPair reports a key=value token (an MDC value in a pattern:
// "trace_id=…").
func isPair(tok string) bool {
	eq := strings.IndexByte(tok, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		if c := tok[i]; !isIdent(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// isLoggerName reports a dotted or slashed name ("c.e.demo.Controller",
// "com.example.App:", "lockmgr/lock"), perhaps ending with ':'.
func isLoggerName(tok string) bool {
	tok = strings.TrimSuffix(tok, ":")
	dotted := false
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '.' || c == '/':
			dotted = true
		case isIdent(c) || c == '-':
		default:
			return false
		}
	}
	return dotted
}

// trimTrailingFields takes the fields off the end of a message: key=value
// pairs (quoted values too) and bracket groups that hold one, then the
// separators left before them.
func trimTrailingFields(m string) string {
	for {
		m = trimRightSpace(m)
		if m == "" {
			return m
		}
		cut := -1
		switch last := m[len(m)-1]; {
		case last == ']' || last == ')' || last == '}':
			open := byte('[')
			if last == ')' {
				open = '('
			} else if last == '}' {
				open = '{'
			}
			if k := strings.LastIndexByte(m, open); k >= 0 && strings.IndexByte(m[k:], '=') > 0 {
				cut = k
			}
		case last == '"':
			// k="quoted value": find the quote that opens it.
			if k := strings.LastIndex(m[:len(m)-1], `="`); k > 0 && strings.IndexByte(m[k+2:len(m)-1], '"') < 0 {
				cut = strings.LastIndexAny(m[:k], " \t[(,") + 1
				if cut == k {
					cut = -1
				}
			}
		default:
			k := strings.LastIndexAny(m, " \t")
			tok := m[k+1:]
			if eq := strings.IndexByte(tok, '='); eq > 0 && tok[0] != '"' {
				cut = k + 1
			}
		}
		if cut < 0 {
			break
		}
		m = m[:cut]
	}
	for len(m) > 0 {
		switch m[len(m)-1] {
		case ' ', '\t', ',', ';', '|', '-', ':':
			m = m[:len(m)-1]
			continue
		}
		break
	}
	return m
}

// traceparentLen is the length of a version-00 W3C traceparent value:
// "00-" 32 hex "-" 16 hex "-" 2 hex.
const traceparentLen = 55

// findTraceparent finds a W3C traceparent value standing as a whole token
// anywhere in s and returns its normalised trace and parent span ids.
func findTraceparent(s string) (traceID, spanID string, ok bool) {
	for from := 0; from+traceparentLen <= len(s); {
		k := strings.Index(s[from:], "00-")
		if k < 0 {
			return "", "", false
		}
		k += from
		from = k + 1
		if k+traceparentLen > len(s) {
			return "", "", false
		}
		if k > 0 && isAlnum(s[k-1]) || k+traceparentLen < len(s) && isAlnum(s[k+traceparentLen]) {
			continue
		}
		v := s[k : k+traceparentLen]
		if v[35] != '-' || v[52] != '-' || !isHexRun(v[3:35]) || !isHexRun(v[36:52]) || !isHexRun(v[53:]) {
			continue
		}
		tid, ok1 := normalHex(v[3:35])
		sid, ok2 := normalHex(v[36:52])
		if !ok1 || !ok2 || allZero(tid) || allZero(sid) {
			continue
		}
		return tid, sid, true
	}
	return "", "", false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// hexVal marks hex digits of either case.
var hexVal = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

func isHexRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if !hexVal[s[i]] {
			return false
		}
	}
	return true
}

// normalHex returns hex digits lower-cased, allocating only when they
// are not lower-case already.
func normalHex(s string) (string, bool) {
	if isLowerHex(s, len(s)) {
		return s, true
	}
	if !isHexRun(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

func allZero(s string) bool {
	return strings.Trim(s, "0") == ""
}

// spanIDToken scans s for a 16-hex-digit token (either case) standing
// whole, that is not part of a longer hex run or word, and calls known
// with it lower-cased in buf; it returns the first for which known is
// true. Ids are never shortened or read from inside a longer token.
func spanIDToken(s string, known func(id []byte) bool) bool {
	var buf [16]byte
	run := 0 // length of the current run of alphanumerics
	hexOnly := true
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			if !hexVal[s[i]] {
				hexOnly = false
			}
			run++
			continue
		}
		if run == 16 && hexOnly {
			for k := range 16 {
				c := s[i-16+k]
				if c >= 'A' && c <= 'F' {
					c += 'a' - 'A'
				}
				buf[k] = c
			}
			if known(buf[:]) {
				return true
			}
		}
		run, hexOnly = 0, true
	}
	return false
}
