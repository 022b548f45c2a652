package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// QueryRangeResult is one decoded /loki/api/v1/query_range answer of a log
// query (resultType "streams").
type QueryRangeResult struct {
	// Entries are in wire order: stream after stream, each stream in the
	// query's direction. Loki does not sort the streams by time.
	Entries []model.LogEntry
	// Categorized is true when Loki honoured X-Loki-Response-Encoding-Flags:
	// categorize-labels: Stream then holds only indexed labels, and
	// structured metadata and parsed labels are in Metadata and Parsed.
	Categorized bool
	// Streams is the number of result streams.
	Streams int
	// First and Last are the earliest and latest entry times (zero without
	// entries). A forward pager continues from Last.
	First, Last time.Time
}

// ErrorText returns the message in a Loki error body. Loki answers errors
// in plain text (400 for LogQL and limit errors, 401 "no org id"); some
// proxies and older versions wrap it as {"status":"error","error":"…"}.
func ErrorText(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) > 0 && b[0] == '{' {
		var env struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Msg    string `json:"message"`
		}
		if json.Unmarshal(b, &env) == nil {
			if env.Error != "" {
				return env.Error
			}
			if env.Msg != "" {
				return env.Msg
			}
		}
	}
	return string(b)
}

// DecodeQueryRange decodes the JSON body of a /loki/api/v1/query_range log
// query. It handles both shapes Loki writes: categorized (each value is
// [ts, line, {"structuredMetadata":{…},"parsed":{…}}]) and merged (metadata
// and parser output merged into "stream"). Entries of one stream share one
// Stream slice, and entries with equal metadata share one Metadata (and
// Parsed) slice: treat them as read-only.
//
// It is a hand-written single-pass scanner over the known shape: it builds
// no generic maps and skips "stats" without decoding it (see
// BenchmarkDecodeQueryRange for the speed against encoding/json).
func DecodeQueryRange(body []byte) (*QueryRangeResult, error) {
	d := decoder{b: body}
	res, err := d.response()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// SyntaxError is a query_range body that is not the JSON Loki writes.
type SyntaxError struct {
	Offset int    // byte offset of the problem
	Msg    string // what was wrong
}

// Error says what is wrong and where.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("decode Loki query_range response: %s at byte %d", e.Msg, e.Offset)
}

// decoder is the scanner state. Strings that recur (label names, metadata
// values such as detected_level or a trace id) are interned so that a
// response with thousands of entries allocates each only once.
type decoder struct {
	b       []byte
	i       int
	scratch []byte
	labels  []model.Label // reused while reading one label object
	intern  map[string]string
	// sets holds the label sets read so far by their hash (seed), so that
	// entries with the same structured metadata share one slice although
	// other streams' and spans' entries come between them: the big
	// trace's 100 000 entries carried 9.6 MB of metadata slices, nine in
	// ten of them repeating an earlier one.
	sets map[uint64]model.Labels
	seed maphash.Seed
}

// maxIntern bounds the intern table: a response with many distinct values
// (say, one span id per entry) must not turn it into a second copy.
const (
	maxIntern    = 4096
	maxInternLen = 64
	maxSets      = 16384
)

func (d *decoder) fail(msg string, args ...any) error {
	return &SyntaxError{Offset: d.i, Msg: fmt.Sprintf(msg, args...)}
}

func (d *decoder) eof(what string) error {
	return &SyntaxError{Offset: d.i, Msg: "unexpected end of input in " + what + " (truncated response?)"}
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without consuming it.
func (d *decoder) next(what string) (byte, error) {
	d.ws()
	if d.i >= len(d.b) {
		return 0, d.eof(what)
	}
	return d.b[d.i], nil
}

func (d *decoder) expect(c byte, what string) error {
	got, err := d.next(what)
	if err != nil {
		return err
	}
	if got != c {
		return d.fail("expected %q in %s, found %q", c, what, got)
	}
	d.i++
	return nil
}

// more reads the separator after a member or element: it reports true after
// a ',' and false after the closing byte.
func (d *decoder) more(closing byte, what string) (bool, error) {
	c, err := d.next(what)
	if err != nil {
		return false, err
	}
	d.i++
	switch c {
	case ',':
		return true, nil
	case closing:
		return false, nil
	}
	d.i--
	return false, d.fail("expected ',' or %q in %s, found %q", closing, what, c)
}

// open consumes '{' or '[' and reports whether the container is empty (and
// already closed).
func (d *decoder) open(c byte, what string) (empty bool, err error) {
	if err := d.expect(c, what); err != nil {
		return false, err
	}
	closing := byte('}')
	if c == '[' {
		closing = ']'
	}
	n, err := d.next(what)
	if err != nil {
		return false, err
	}
	if n == closing {
		d.i++
		return true, nil
	}
	return false, nil
}

// key reads an object key and its ':'. The returned bytes are only valid
// until the next read.
func (d *decoder) key(what string) ([]byte, error) {
	k, err := d.str(what)
	if err != nil {
		return nil, err
	}
	return k, d.expect(':', what)
}

// str reads a JSON string. Without escapes it returns a slice of the input;
// with escapes it returns d.scratch. Either is valid until the next read.
func (d *decoder) str(what string) ([]byte, error) {
	if err := d.expect('"', what); err != nil {
		return nil, err
	}
	start := d.i
	q := bytes.IndexByte(d.b[start:], '"')
	if q < 0 {
		d.i = len(d.b)
		return nil, d.eof(what)
	}
	seg := d.b[start : start+q]
	bs := bytes.IndexByte(seg, '\\')
	if bs < 0 {
		d.i = start + q + 1
		return seg, nil
	}
	// Slow path: copy the clean prefix, then unescape the rest.
	d.scratch = append(d.scratch[:0], d.b[start:start+bs]...)
	d.i = start + bs
	for {
		if d.i >= len(d.b) {
			return nil, d.eof(what)
		}
		c := d.b[d.i]
		switch c {
		case '"':
			d.i++
			return d.scratch, nil
		case '\\':
			if err := d.unescape(what); err != nil {
				return nil, err
			}
		default:
			// Copy the run up to the next quote or backslash in one go.
			j := d.i + 1
			for j < len(d.b) && d.b[j] != '"' && d.b[j] != '\\' {
				j++
			}
			d.scratch = append(d.scratch, d.b[d.i:j]...)
			d.i = j
		}
	}
}

func (d *decoder) unescape(what string) error {
	if d.i+1 >= len(d.b) {
		d.i = len(d.b)
		return d.eof(what)
	}
	c := d.b[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		d.scratch = append(d.scratch, c)
	case 'n':
		d.scratch = append(d.scratch, '\n')
	case 't':
		d.scratch = append(d.scratch, '\t')
	case 'r':
		d.scratch = append(d.scratch, '\r')
	case 'b':
		d.scratch = append(d.scratch, '\b')
	case 'f':
		d.scratch = append(d.scratch, '\f')
	case 'u':
		r, ok := d.hex4()
		if !ok {
			return d.fail("invalid \\u escape in %s", what)
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate must be followed by \u and a low one.
			r2 := utf8.RuneError
			if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
				save := d.i
				d.i += 2
				if lo, ok := d.hex4(); ok {
					if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
						r2 = dec
					} else {
						d.i = save
					}
				} else {
					d.i = save
				}
			}
			r = r2
		}
		d.scratch = utf8.AppendRune(d.scratch, r)
	default:
		d.i -= 2
		return d.fail("invalid escape \\%c in %s", c, what)
	}
	return nil
}

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// internStr returns b as a string, shared with earlier equal strings when
// short enough to be worth it.
func (d *decoder) internStr(b []byte) string {
	if len(b) > maxInternLen {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if d.intern == nil {
		d.intern = make(map[string]string, 64)
	}
	if len(d.intern) < maxIntern {
		d.intern[s] = s
	}
	return s
}

// skip skips any JSON value. It checks structure (brackets, strings,
// separators) but not the spelling of numbers and literals: it only runs
// over parts of the answer we do not use, such as "stats".
func (d *decoder) skip(what string) error {
	c, err := d.next(what)
	if err != nil {
		return err
	}
	switch c {
	case '"':
		_, err := d.skipStr(what)
		return err
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		empty, err := d.open(c, what)
		if err != nil || empty {
			return err
		}
		for {
			if c == '{' {
				if _, err := d.skipStrExpect(what); err != nil {
					return err
				}
				if err := d.expect(':', what); err != nil {
					return err
				}
			}
			if err := d.skip(what); err != nil {
				return err
			}
			more, err := d.more(closing, what)
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
	default:
		start := d.i
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				if d.i == start {
					return d.fail("unexpected %q in %s", d.b[d.i], what)
				}
				return nil
			}
			d.i++
		}
		return d.eof(what)
	}
}

func (d *decoder) skipStrExpect(what string) (int, error) {
	c, err := d.next(what)
	if err != nil {
		return 0, err
	}
	if c != '"' {
		return 0, d.fail("expected an object key in %s, found %q", what, c)
	}
	return d.skipStr(what)
}

// skipStr skips a string starting at the opening quote, without copying.
func (d *decoder) skipStr(what string) (int, error) {
	d.i++ // opening quote
	for {
		q := bytes.IndexByte(d.b[d.i:], '"')
		if q < 0 {
			d.i = len(d.b)
			return 0, d.eof(what)
		}
		end := d.i + q
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := end - 1; k >= d.i && d.b[k] == '\\'; k-- {
			n++
		}
		d.i = end + 1
		if n%2 == 0 {
			return end, nil
		}
	}
}

func (d *decoder) response() (*QueryRangeResult, error) {
	res := &QueryRangeResult{}
	empty, err := d.open('{', "response")
	if err != nil {
		if len(bytes.TrimSpace(d.b)) == 0 {
			return nil, errors.New("decode Loki query_range response: the body is empty")
		}
		return nil, err
	}
	status, errMsg := "", ""
	sawData := false
	for !empty {
		k, err := d.key("response")
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "status":
			v, err := d.str("status")
			if err != nil {
				return nil, err
			}
			status = string(v)
		case "error":
			v, err := d.str("error")
			if err != nil {
				return nil, err
			}
			errMsg = string(v)
		case "data":
			if err := d.data(res); err != nil {
				return nil, err
			}
			sawData = true
		default:
			if err := d.skip("response"); err != nil {
				return nil, err
			}
		}
		more, err := d.more('}', "response")
		if err != nil {
			return nil, err
		}
		empty = !more
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, d.fail("unexpected data after the response")
	}
	if status != "" && status != "success" {
		if errMsg == "" {
			errMsg = "status " + status
		}
		return nil, fmt.Errorf("Loki query failed: %s", errMsg)
	}
	if !sawData {
		return nil, errors.New(`decode Loki query_range response: no "data" member; is this a Loki query_range answer?`)
	}
	return res, nil
}

func (d *decoder) data(res *QueryRangeResult) error {
	empty, err := d.open('{', "data")
	if err != nil {
		return err
	}
	resultType := ""
	for !empty {
		k, err := d.key("data")
		if err != nil {
			return err
		}
		switch string(k) {
		case "resultType":
			v, err := d.str("resultType")
			if err != nil {
				return err
			}
			resultType = string(v)
			if resultType != "streams" {
				return fmt.Errorf("Loki answered a %q result, not log lines: the query must be a log query (a stream selector with filters), not a metric query", resultType)
			}
		case "encodingFlags":
			if err := d.encodingFlags(res); err != nil {
				return err
			}
		case "result":
			if err := d.result(res); err != nil {
				return err
			}
		default: // stats, and anything newer
			if err := d.skip("data"); err != nil {
				return err
			}
		}
		more, err := d.more('}', "data")
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

func (d *decoder) encodingFlags(res *QueryRangeResult) error {
	empty, err := d.open('[', "encodingFlags")
	for err == nil && !empty {
		var v []byte
		if v, err = d.str("encodingFlags"); err != nil {
			break
		}
		if string(v) == "categorize-labels" {
			res.Categorized = true
		}
		var more bool
		more, err = d.more(']', "encodingFlags")
		empty = !more
	}
	return err
}

func (d *decoder) result(res *QueryRangeResult) error {
	empty, err := d.open('[', "result")
	if err != nil {
		return err
	}
	if res.Entries == nil {
		// A guess that avoids most regrowth: Loki lines with metadata take a
		// few hundred bytes each.
		res.Entries = make([]model.LogEntry, 0, min(len(d.b)/256+1, 8192))
	}
	for !empty {
		if err := d.stream(res); err != nil {
			return err
		}
		res.Streams++
		more, err := d.more(']', "result")
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

func (d *decoder) stream(res *QueryRangeResult) error {
	empty, err := d.open('{', "stream")
	if err != nil {
		return err
	}
	first := len(res.Entries)
	var labels model.Labels
	for !empty {
		k, err := d.key("stream")
		if err != nil {
			return err
		}
		switch string(k) {
		case "stream":
			if labels, err = d.labelSet("stream labels", nil); err != nil {
				return err
			}
		case "values":
			if err := d.values(res); err != nil {
				return err
			}
		default:
			if err := d.skip("stream"); err != nil {
				return err
			}
		}
		more, err := d.more('}', "stream")
		if err != nil {
			return err
		}
		empty = !more
	}
	// "stream" may come after "values": label the entries at the end.
	for i := first; i < len(res.Entries); i++ {
		res.Entries[i].Stream = labels
	}
	return nil
}

// labelSet reads a {"name":"value",…} object. When it equals prev, prev is
// returned, so runs of entries with the same metadata share one slice.
func (d *decoder) labelSet(what string, prev model.Labels) (model.Labels, error) {
	empty, err := d.open('{', what)
	if err != nil {
		return nil, err
	}
	d.labels = d.labels[:0]
	sorted := true
	for !empty {
		k, err := d.key(what)
		if err != nil {
			return nil, err
		}
		name := d.internStr(k)
		c, err := d.next(what)
		if err != nil {
			return nil, err
		}
		if c != '"' {
			return nil, d.fail("label %q in %s must have a string value, found %q", name, what, c)
		}
		v, err := d.str(what)
		if err != nil {
			return nil, err
		}
		if n := len(d.labels); n > 0 && d.labels[n-1].Name > name {
			sorted = false
		}
		d.labels = append(d.labels, model.Label{Name: name, Value: d.internStr(v)})
		more, err := d.more('}', what)
		if err != nil {
			return nil, err
		}
		empty = !more
	}
	if !sorted {
		slices.SortStableFunc(d.labels, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) })
	}
	if len(d.labels) == 0 {
		return nil, nil
	}
	if slices.Equal(prev, model.Labels(d.labels)) {
		return prev, nil
	}
	return d.shared(), nil
}

// shared returns the label set in d.labels as a slice shared with an
// equal set read before, or as a new one (remembered while the table has
// room). Entries are read-only after decoding, so sharing is safe.
func (d *decoder) shared() model.Labels {
	if d.sets == nil {
		d.sets, d.seed = map[uint64]model.Labels{}, maphash.MakeSeed()
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, l := range d.labels {
		h.WriteString(l.Name)
		h.WriteByte(0)
		h.WriteString(l.Value)
		h.WriteByte(0)
	}
	k := h.Sum64()
	if s, ok := d.sets[k]; ok && slices.Equal(s, model.Labels(d.labels)) {
		return s
	}
	s := slices.Clip(slices.Clone(model.Labels(d.labels)))
	if len(d.sets) < maxSets {
		d.sets[k] = s
	}
	return s
}

func (d *decoder) values(res *QueryRangeResult) error {
	empty, err := d.open('[', "values")
	if err != nil {
		return err
	}
	var prevMeta, prevParsed model.Labels
	for !empty {
		if err := d.expect('[', "value"); err != nil {
			return err
		}
		ts, err := d.timestamp()
		if err != nil {
			return err
		}
		if err := d.expect(',', "value"); err != nil {
			return err
		}
		line, err := d.str("log line")
		if err != nil {
			return err
		}
		e := model.LogEntry{Time: ts, Line: string(line)}
		more, err := d.more(']', "value")
		if err != nil {
			return err
		}
		if more {
			if err := d.entryMeta(&e, prevMeta, prevParsed); err != nil {
				return err
			}
			prevMeta, prevParsed = e.Metadata, e.Parsed
			if err := d.expect(']', "value"); err != nil {
				return err
			}
		}
		if len(res.Entries) == 0 || ts.Before(res.First) {
			res.First = ts
		}
		if ts.After(res.Last) {
			res.Last = ts
		}
		res.Entries = append(res.Entries, e)
		more, err = d.more(']', "values")
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// entryMeta reads the third element of a categorized value.
func (d *decoder) entryMeta(e *model.LogEntry, prevMeta, prevParsed model.Labels) error {
	empty, err := d.open('{', "entry metadata")
	if err != nil {
		return err
	}
	for !empty {
		k, err := d.key("entry metadata")
		if err != nil {
			return err
		}
		switch string(k) {
		case "structuredMetadata":
			if e.Metadata, err = d.labelSet("structuredMetadata", prevMeta); err != nil {
				return err
			}
		case "parsed":
			if e.Parsed, err = d.labelSet("parsed", prevParsed); err != nil {
				return err
			}
		default:
			if err := d.skip("entry metadata"); err != nil {
				return err
			}
		}
		more, err := d.more('}', "entry metadata")
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// timestamp reads a decimal-nanosecond string such as "1795624597000000000".
func (d *decoder) timestamp() (time.Time, error) {
	if err := d.expect('"', "timestamp"); err != nil {
		return time.Time{}, err
	}
	start := d.i
	var n int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		digit := int64(d.b[d.i] - '0')
		if n > (math.MaxInt64-digit)/10 {
			return time.Time{}, d.fail("timestamp does not fit in int64 nanoseconds")
		}
		n = n*10 + digit
		d.i++
	}
	if d.i >= len(d.b) {
		return time.Time{}, d.eof("timestamp")
	}
	if d.b[d.i] != '"' || d.i == start {
		return time.Time{}, d.fail("timestamp must be a string of decimal nanoseconds")
	}
	d.i++
	return time.Unix(0, n).UTC(), nil
}
