package model

import "strings"

// NormalizeTraceID lower-cases a hex trace id and left-pads it to 32 digits
// (64-bit Jaeger/Zipkin ids). It reports false for anything that is not 1–32
// hex digits after trimming spaces.
func NormalizeTraceID(id string) (string, bool) { return normalizeHex(id, 32) }

// NormalizeSpanID lower-cases a hex span id and left-pads it to 16 digits.
// It reports false for anything that is not 1–16 hex digits after trimming.
func NormalizeSpanID(id string) (string, bool) { return normalizeHex(id, 16) }

func normalizeHex(id string, width int) (string, bool) {
	id = strings.TrimSpace(id)
	if len(id) == 0 || len(id) > width {
		return "", false
	}
	lower := true
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			lower = false
		default:
			return "", false
		}
	}
	if lower && len(id) == width {
		return id, true // the common case allocates nothing
	}
	if !lower {
		id = strings.ToLower(id)
	}
	return strings.Repeat("0", width-len(id)) + id, true
}
