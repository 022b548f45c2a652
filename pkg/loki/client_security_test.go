package loki

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// hostileTraceIDs are what a dashboard variable, a copied log line or an
// attacker may put where a trace id belongs.
var hostileTraceIDs = []string{
	`abc") |= "x`,
	`0af7651916cd43dd8448eb211c80319c" or trace_id=~".*`,
	`0af7651916cd43dd8448eb211c80319c"} |= "`,
	"../../api",
	`\x22`,
	"$traceId",
	"${traceId}",
	"[[traceId]]",
	"0af7651916cd43dd8448eb211c80319c|4bf92f3577b34da6a3ce929d0e0e4736",
	".*",
	"00000000000000000000000000000000",
	strings.Repeat("f", 33),
	"",
}

func TestTraceIDsNeverReachLogQLUnchecked(t *testing.T) {
	srv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Capture: "loki/query_range_line_filter_categorized"})
	c := New(srv.URL, srv.Client(), "tenant-a")
	for _, id := range hostileTraceIDs {
		for _, mode := range []Mode{ModeLine, ModeMetadata, ModeAuto} {
			lq := seedQuery(mode)
			lq.TraceID = id
			if _, err := c.TraceLogs(context.Background(), lq); err == nil {
				t.Errorf("TraceLogs(%q, %s) was accepted", id, mode)
			}
		}
		if _, err := BatchQueries(sel, []string{seedTraceID, id}, ModeAuto, nil); err == nil {
			t.Errorf("BatchQueries with %q was accepted", id)
		}
	}
	if paths := srv.Paths(); len(paths) != 0 {
		t.Errorf("hostile ids reached Loki: %q", paths)
	}
}

// quotedRE finds the double-quoted strings of a LogQL pipeline.
var quotedRE = regexp.MustCompile(`"[^"]*"`)

// safeLiteralRE is all an id may become inside a LogQL string: a regex
// made of hex digits and the fixed pattern syntax the builder adds.
var safeLiteralRE = regexp.MustCompile(`^"\(\?i\)[0-9a-f()?:^|\[\]*$-]*"$`)

// checkPipeline asserts a built query is the selector followed by filters
// whose every string literal is a safe id pattern: nothing from the input
// survives but hex digits.
func checkPipeline(t *testing.T, selector, q string) {
	t.Helper()
	rest, ok := strings.CutPrefix(q, selector)
	if !ok {
		t.Fatalf("query %q does not start with the selector %q", q, selector)
	}
	if strings.ContainsAny(rest, "{}\\\n\r`") {
		t.Fatalf("query tail %q holds characters an id cannot produce", rest)
	}
	lits := quotedRE.FindAllString(rest, -1)
	if len(lits) == 0 || strings.Count(rest, `"`) != 2*len(lits) {
		t.Fatalf("query tail %q: unbalanced quotes", rest)
	}
	for _, l := range lits {
		if !safeLiteralRE.MatchString(l) {
			t.Fatalf("literal %s in %q is not an id pattern", l, q)
		}
	}
}

func TestTraceQueryStringsAreSafe(t *testing.T) {
	for _, id := range []string{seedTraceID, strings.ToUpper(seedTraceID), "8448eb211c80319c", "a4", "0000000000000001"} {
		qs, err := Queries(sel, id, ModeAuto, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			checkPipeline(t, sel, q)
		}
	}
}
