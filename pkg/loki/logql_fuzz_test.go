package loki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// FuzzTraceQueries: whatever a trace id holds, the LogQL built for it is
// either refused or the selector followed by filters made only of the
// normalised id's hex digits; nothing else of the input reaches Loki.
func FuzzTraceQueries(f *testing.F) {
	for _, id := range hostileTraceIDs {
		f.Add(id, "trace_id")
	}
	f.Add(seedTraceID, "traceId")
	f.Add("A4", "trace-id")
	f.Add(" "+seedTraceID+"\n", "trace_id") // trimmed, like the normaliser does
	f.Add("af7651916cd43dd8448eb211c80319c", `x"=~".*`)
	// Ids as they appear in the real captures' log lines.
	if b, err := os.ReadFile(filepath.Join(fixturesDir, "scenario.json")); err != nil {
		f.Fatalf("capture missing from the repository: %v", err)
	} else {
		for _, id := range []string{"0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902c1"} {
			if strings.Contains(string(b), id) {
				f.Add(id, "trace_id")
			}
		}
	}
	f.Fuzz(func(t *testing.T, id, field string) {
		for _, mode := range []Mode{ModeLine, ModeMetadata, ModeAuto} {
			qs, err := Queries(sel, id, mode, []string{field, "trace_id"})
			norm, ok := model.NormalizeTraceID(id)
			if !ok || strings.Trim(norm, "0") == "" {
				if err == nil {
					t.Fatalf("id %q accepted: %q", id, qs)
				}
				continue
			}
			if err != nil {
				t.Fatalf("valid id %q refused: %v", id, err)
			}
			for _, q := range qs {
				checkPipeline(t, sel, q)
				if !strings.Contains(q, strings.TrimLeft(norm, "0")) {
					t.Fatalf("query %q lacks the id %s", q, norm)
				}
				if !utf8.ValidString(q) {
					t.Fatalf("query is not UTF-8: %q", q)
				}
			}
		}
	})
}

// FuzzErrorText: Loki's error bodies (plain text, or a JSON envelope from a
// proxy) always yield a message, never a panic, and never grow.
func FuzzErrorText(f *testing.F) {
	for _, name := range []string{
		"query_range_bad_logql.txt", "query_range_time_range_too_long.txt", "query_range_limit_too_high.txt",
		"auth_query_range_missing_org_id.txt", "auth_labels_missing_org_id.txt",
	} {
		b, err := os.ReadFile(filepath.Join(fixturesDir, "loki", name))
		if err != nil {
			f.Fatalf("capture missing from the repository: %v", err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"boom"}`))
	f.Add([]byte(`{"message":"m"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := ErrorText(b); len(got) > len(b) && !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
			t.Fatalf("ErrorText grew a plain body: %q -> %q", b, got)
		}
	})
}
