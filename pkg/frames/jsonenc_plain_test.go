package frames

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// appendStringBytewise is appendString before its eight-bytes-at-a-time
// fast path: the reference the fast one must match byte for byte.
func appendStringBytewise(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func TestAppendStringMatchesBytewise(t *testing.T) {
	// Every byte value at every offset of a 17-byte run, so each lands in
	// every lane of a word and in the bytewise tail.
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			s := []byte("abcdefghijklmnopq")
			s[pos] = byte(c)
			if got, want := appendString(nil, string(s)), appendStringBytewise(nil, string(s)); !bytes.Equal(got, want) {
				t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "~", "\x7f", "\"", "\\", "\n", "\x00", "\x1f", "é", "✓", "\u2028", "\xff", "\xe2\x80"}
	for range 20000 {
		var s []byte
		for range rng.IntN(40) {
			s = append(s, alphabet[rng.IntN(len(alphabet))]...)
		}
		if got, want := appendString(nil, string(s)), appendStringBytewise(nil, string(s)); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain ascii, long enough for words")
	f.Add("quote \" backslash \\ newline \n and \u2028 \xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString(nil, s), appendStringBytewise(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{
		`{"timestamp":"2026-11-25T16:36:37.000Z","level":"INFO","message":"Received response from widget service","spanId":"00000000000000a1"}`,
		"Received response from widget service",
		"2026-11-25T16:36:37.000Z",
	} {
		for _, tc := range []struct {
			name string
			f    func([]byte, string) []byte
		}{{"words", appendString}, {"bytewise", appendStringBytewise}} {
			b.Run(fmt.Sprintf("%s/%d", tc.name, len(s)), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				var buf []byte
				for b.Loop() {
					buf = tc.f(buf[:0], s)
				}
			})
		}
	}
}

// TestPlain8 checks the word test against a byte-by-byte one on every
// byte value in every lane, next to every other lane's extremes.
func TestPlain8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for c := 0; c < 256; c++ {
		for _, fill := range []byte{' ', '~', 0x21, 0x7f, 'a'} {
			for lane := range 8 {
				w := bytes.Repeat([]byte{fill}, 8)
				w[lane] = byte(c)
				want := true
				for _, b := range w {
					want = want && plain(b)
				}
				if got := plain8(string(w)); got != want {
					t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}
