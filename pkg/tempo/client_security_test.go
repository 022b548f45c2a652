package tempo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// Trace ids are validated before they reach a URL: nothing a query says can
// change the path, add parameters or reach another API.
func TestTraceIDsNeverReachTheURLUnchecked(t *testing.T) {
	hostile := []string{
		"../../api/status/buildinfo",
		"..%2f..%2fapi",
		`abc") |= "x`,
		"0af7651916cd43dd8448eb211c80319c?start=0",
		"0af7651916cd43dd8448eb211c80319c/../../x",
		"0af7651916cd43dd8448eb211c80319c#frag",
		"0af7\r\nX-Scope-OrgID: tenant-b",
		"$traceId",
		"${__data.fields.traceID}",
		"0x0af7651916cd43dd",
		"0af7651916cd43dd8448eb211c80319c00", // 34 digits
		strings.Repeat("a", 10_000),
		"",
		" ",
		"ａｂｃ", // full-width letters are not hex
	}
	srv := fixtures.Tempo(t)
	c := New(srv.URL, srv.Client(), "tenant-a")
	for _, id := range hostile {
		if _, err := c.Trace(context.Background(), id, time.Time{}, time.Time{}); err == nil || !strings.Contains(err.Error(), "is not 1 to 32 hex digits") {
			t.Errorf("Trace(%.40q): %v", id, err)
		}
	}
	if paths := srv.Paths(); len(paths) != 0 {
		t.Errorf("hostile ids reached Tempo: %q", paths)
	}
}

func TestTraceIDIsNormalisedIntoThePath(t *testing.T) {
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedID, Capture: "tempo/trace_v2_protobuf"})
	c := New(srv.URL, srv.Client(), "")
	// Upper case, stripped leading zero (Tempo search), surrounding spaces.
	for _, id := range []string{strings.ToUpper(seedID), seedID[1:], " " + seedID + "\t"} {
		if _, err := c.Trace(context.Background(), id, time.Time{}, time.Time{}); err != nil {
			t.Errorf("Trace(%q): %v", id, err)
		}
	}
	for _, r := range srv.Requests() {
		if r.URL.Path != "/api/v2/traces/"+seedID || r.URL.RawQuery != "" {
			t.Errorf("request %s", r.URL)
		}
	}
}

func TestSearchQueryCannotAddParameters(t *testing.T) {
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"})
	q := `{resource.service.name="a&limit=100000&tenant=b"}`
	if _, err := New(srv.URL, srv.Client(), "").Search(context.Background(), q, time.Unix(1795624297, 0), time.Unix(1795624897, 0), 20); err != nil {
		t.Fatal(err)
	}
	got := srv.Requests()[0].URL.Query()
	if got.Get("q") != q || got.Get("limit") != "20" || got.Has("tenant") {
		t.Errorf("query parameters %v", got)
	}
}
