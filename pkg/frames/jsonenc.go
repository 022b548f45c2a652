package frames

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// The trace frame carries several JSON values per span and the logs frame
// one per line. encoding/json with reflection and `any` values would cost
// several allocations per value; these append-style writers cost none, and
// arena hands out the finished values from large shared blocks.

// arena hands out json.RawMessage values copied into large blocks, so
// thousands of small values cost a handful of allocations.
type arena struct {
	block []byte
}

const arenaBlock = 64 << 10

// keep copies b into the arena and returns the copy, capped so that an
// append by a reader can never write into a neighbour.
func (a *arena) keep(b []byte) json.RawMessage {
	if len(b) > cap(a.block)-len(a.block) {
		size := arenaBlock
		if len(b) > size/4 {
			// A large value gets its own block rather than wasting the rest
			// of a shared one.
			out := make([]byte, len(b))
			copy(out, b)
			return out
		}
		a.block = make([]byte, 0, size)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return json.RawMessage(a.block[start:len(a.block):len(a.block)])
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (without its HTML escaping, which frames do not need). Invalid UTF-8
// becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most bytes need nothing: skip them eight at a time (a third of
		// building the trace frame went to a loop a byte at a time). A
		// word that holds something goes through the byte loop whole, so
		// quote-dense text does not test every byte twice.
		if i+8 <= len(s) {
			// plain8, by hand: the inliner finds it too costly.
			w := s[i : i+8]
			_ = w[7]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			q, bs := x^('"'*ones8), x^('\\'*ones8)
			if ((x-0x20*ones8)|x|((q-ones8)&^q)|((bs-ones8)&^bs))&high8 == 0 {
				i += 8
				continue
			}
		}
		for end := min(i+8, len(s)); i < end; {
			c := s[i]
			if c < utf8.RuneSelf {
				if c >= 0x20 && c != '"' && c != '\\' {
					i++
					continue
				}
				b = append(b, s[start:i]...)
				switch c {
				case '"', '\\':
					b = append(b, '\\', c)
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				}
				i++
				start = i
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			// U+2028 and U+2029 are valid JSON but end lines in JavaScript.
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
				i += size
				start = i
				continue
			}
			i += size // may pass end: the next word starts after the rune
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Constants of the word test in appendString and plain8.
const (
	ones8 = 0x0101010101010101
	high8 = 0x8080808080808080
)

// plain8 reports whether none of the 8 bytes of s needs escaping or is
// outside ASCII: no control byte, quote, backslash or high bit. It tests
// all eight at once in one word: a byte below 0x20 borrows into its high
// bit when 0x20 is subtracted, and a byte equal to c is a zero byte of
// the word XOR c, found the same way (the "has zero byte" idiom). A borrow
// can only flag too much, never too little. appendString inlines it.
func plain8(s string) bool {
	_ = s[7] // one bounds check for the eight loads, which merge into one
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	q, bs := x^('"'*ones8), x^('\\'*ones8)
	return ((x-0x20*ones8)|x|((q-ones8)&^q)|((bs-ones8)&^bs))&high8 == 0
}

// appendFloat appends f as encoding/json formats a float64. NaN and ±Inf
// have no JSON form; they are written as strings rather than failing the
// whole frame.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(b, strconv.FormatFloat(f, 'g', -1, 64))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Like encoding/json: 1e-07 becomes 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendValue appends an attribute value. Arrays and key-value lists become
// JSON text inside a string, as Grafana's Tempo data source shows them.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return appendFloat(b, x)
	case []byte:
		return appendString(b, string(x))
	case []any, map[string]any:
		raw, err := json.Marshal(x)
		if err != nil {
			return appendString(b, fmt.Sprint(x))
		}
		return appendString(b, string(raw))
	default:
		return appendString(b, fmt.Sprint(x))
	}
}

// appendKV appends {"key":k,"value":v}.
func appendKV(b []byte, k string, v any) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = appendValue(b, v)
	return append(b, '}')
}

// appendKVString is appendKV for a string value, without boxing it.
func appendKVString(b []byte, k, v string) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = appendString(b, v)
	return append(b, '}')
}

// appendKVFloat is appendKV for a float value, without boxing it.
func appendKVFloat(b []byte, k string, v float64) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = appendFloat(b, v)
	return append(b, '}')
}

// appendKVInt is appendKV for an int value, without boxing it.
func appendKVInt(b []byte, k string, v int64) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, '}')
}

// appendKeyValues appends a JSON array [{key,value}] of attributes.
func appendKeyValues(b []byte, kvs []model.KeyValue) []byte {
	b = append(b, '[')
	for i, kv := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKV(b, kv.Key, kv.Value)
	}
	return append(b, ']')
}

// appendStrings appends a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// ms converts a duration to milliseconds, keeping sub-millisecond
// precision.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// epochMs converts an instant to milliseconds since the epoch. Whole and
// fractional milliseconds are converted separately: a float64 cannot hold
// today's nanosecond timestamps exactly, but it holds these two parts.
func epochMs(t time.Time) float64 {
	ns := t.UnixNano()
	return float64(ns/1e6) + float64(ns%1e6)/1e6
}
