package model

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// realIDs returns every hex id written in the real captures (trace ids with
// and without leading zeros, span ids); a capture missing from the
// repository fails the test.
func realIDs(t testing.TB) []string {
	t.Helper()
	dir := os.Getenv("TRACEGAP_FIXTURES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "internal", "fixtures", "testdata", "real")
	}
	var ids []string
	seen := map[string]bool{}
	idRE := regexp.MustCompile(`"(?:traceI[dD]|spanI[dD]|parentSpanId|trace_id|span_id|traceId|spanId)"\s*:\s*"([0-9a-fA-F]{1,32})"`)
	for _, name := range []string{"scenario.json", "tempo/search_traceql_service.json", "tempo/search_traceql_service_duration.json", "loki/query_range_line_filter_categorized.json"} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatalf("capture missing from the repository: %v", err)
		}
		for _, m := range idRE.FindAllStringSubmatch(strings.ReplaceAll(string(b), `\"`, `"`), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				ids = append(ids, m[1])
			}
		}
	}
	return ids
}

// wantNormalized is the contract, written the slow obvious way: trim spaces,
// accept 1..width hex digits, lower-case, left-pad with zeros.
func wantNormalized(in string, width int) (string, bool) {
	s := strings.TrimSpace(in)
	if len(s) == 0 || len(s) > width {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return "", false
		}
	}
	return strings.Repeat("0", width-len(s)) + strings.ToLower(s), true
}

var lowerHex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func FuzzNormalizeTraceID(f *testing.F) {
	for _, id := range realIDs(f) {
		f.Add(id)
		f.Add(strings.ToUpper(id))
	}
	for _, s := range []string{
		"0af7651916cd43dd8448eb211c80319c", "af7651916cd43dd8448eb211c80319c", "8448eb211c80319c", " a4 ",
		"", " ", "abc123xyz", "0af7651916cd43dd8448eb211c80319c0", "\u00a0a4\u2028", "ＡＢ", "0x1f", "$traceId",
		"\xff\xfe", "a\x00", strings.Repeat("0", 32), strings.Repeat("F", 32),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := NormalizeTraceID(in)
		want, wantOK := wantNormalized(in, 32)
		if got != want || ok != wantOK {
			t.Fatalf("NormalizeTraceID(%q) = %q, %v; want %q, %v", in, got, ok, want, wantOK)
		}
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeTraceID(%q) failed but returned %q", in, got)
			}
			return
		}
		if !lowerHex32.MatchString(got) {
			t.Fatalf("NormalizeTraceID(%q) = %q: not 32 lower-case hex digits", in, got)
		}
		if again, ok := NormalizeTraceID(got); !ok || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, ok)
		}
		// A trace id of 16 digits or fewer is also a span id, and both
		// normalisations agree on its digits.
		if span, ok := NormalizeSpanID(in); ok && !strings.HasSuffix(got, span) {
			t.Fatalf("trace %q and span %q normalisations of %q disagree", got, span, in)
		}
	})
}

func FuzzNormalizeSpanID(f *testing.F) {
	for _, id := range realIDs(f) {
		f.Add(id)
	}
	for _, s := range []string{"00000000000000a1", "A1", " a1\t", "", "00000000000000a10", "span-4", "\u0085ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := NormalizeSpanID(in)
		want, wantOK := wantNormalized(in, 16)
		if got != want || ok != wantOK {
			t.Fatalf("NormalizeSpanID(%q) = %q, %v; want %q, %v", in, got, ok, want, wantOK)
		}
		if ok {
			if again, ok2 := NormalizeSpanID(got); !ok2 || again != got || len(got) != 16 {
				t.Fatalf("not idempotent or not 16 digits: %q -> %q -> %q", in, got, again)
			}
		}
	})
}

func TestRealIDsSeedTheFuzzers(t *testing.T) {
	ids := realIDs(t)
	if len(ids) == 0 {
		t.Skip("the real captures are not checked out next to the repo")
	}
	for _, id := range ids {
		if _, ok := NormalizeTraceID(id); !ok {
			t.Errorf("id %q from the captures does not normalise", id)
		}
	}
}
