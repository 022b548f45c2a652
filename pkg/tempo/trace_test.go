package tempo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

const (
	seedID    = "0af7651916cd43dd8448eb211c80319c"
	unknownID = "deadbeefdeadbeefdeadbeefdeadbeef"
)

// The capture window: base ± 300 s.
var (
	winStart = time.Unix(1795624297, 0)
	winEnd   = time.Unix(1795624897, 0)
)

func TestTraceV2Protobuf(t *testing.T) {
	sc := loadScenario(t)
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedID, Capture: "tempo/trace_v2_protobuf"})
	// Upper case and a missing leading zero are normalised before asking.
	res, err := New(srv.URL, srv.Client(), "tenant-a").Trace(context.Background(), strings.ToUpper(seedID[1:]), winStart, winEnd)
	if err != nil {
		t.Fatal(err)
	}
	checkSeedTrace(t, sc, res.Trace)
	if res.Partial {
		t.Error("complete trace reported partial")
	}
	want := []string{"GET /api/v2/traces/" + seedID + "?end=1795624897&start=1795624297"}
	if diff := cmp.Diff(want, srv.Paths()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	r := srv.Requests()[0]
	if r.Header.Get("Accept") != "application/protobuf" || r.Header.Get("X-Scope-OrgID") != "tenant-a" {
		t.Errorf("headers %v", r.Header)
	}
}

func TestTraceFallsBackToV1(t *testing.T) {
	sc := loadScenario(t)
	// An old Tempo has no v2 route: its router answers "404 page not found".
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/traces/" + seedID, Capture: "tempo/trace_v1_protobuf"})
	res, err := New(srv.URL, srv.Client(), "").Trace(context.Background(), seedID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkSeedTrace(t, sc, res.Trace)
	want := []string{"GET /api/v2/traces/" + seedID, "GET /api/traces/" + seedID}
	if diff := cmp.Diff(want, srv.Paths()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("Accept") != "application/protobuf" || r.Header.Get("X-Scope-OrgID") != "" {
			t.Errorf("%s headers %v", r.URL.Path, r.Header)
		}
	}
}

func TestTraceJSONAnswer(t *testing.T) {
	// A proxy that ignores Accept and answers JSON still works.
	sc := loadScenario(t)
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedID, Capture: "tempo/trace_v2_json"})
	res, err := New(srv.URL, srv.Client(), "").Trace(context.Background(), seedID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkSeedTrace(t, sc, res.Trace)
}

func TestTraceNotFound(t *testing.T) {
	cases := []struct {
		name   string
		routes []fixtures.Route
		paths  []string
	}{
		{"v2 answers 200 with an empty trace",
			[]fixtures.Route{{Path: "/api/v2/traces/" + unknownID, Capture: "tempo/trace_v2_not_found_protobuf"}},
			[]string{"/api/v2/traces/" + unknownID}},
		{"old Tempo: v1 answers 404 with an empty body",
			[]fixtures.Route{{Path: "/api/traces/" + unknownID, Capture: "tempo/trace_v1_not_found_protobuf"}},
			[]string{"/api/v2/traces/" + unknownID, "/api/traces/" + unknownID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.Tempo(t, tc.routes...)
			res, err := New(srv.URL, srv.Client(), "").Trace(context.Background(), unknownID, winStart, winEnd)
			if err == nil {
				t.Fatalf("got %+v", res)
			}
			if want := "trace " + unknownID + " not found in Tempo (check the time range and tenant)"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			var nf *NotFoundError
			if !errors.Is(err, ErrTraceNotFound) || !errors.As(err, &nf) || nf.TraceID != unknownID {
				t.Errorf("error %v is not a *NotFoundError for the id", err)
			}
			if !backend.IsDownstreamError(err) {
				t.Error("not found is not stamped downstream")
			}
			var got []string
			for _, r := range srv.Requests() {
				got = append(got, r.URL.Path)
			}
			if diff := cmp.Diff(tc.paths, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTraceErrors(t *testing.T) {
	cases := []struct {
		name   string
		id     string
		routes []fixtures.Route
		says   string
		calls  int
	}{
		{"invalid id is refused before asking", "zzz", nil, `trace id "zzz" is not 1 to 32 hex digits`, 0},
		{"not a Tempo: both paths unknown", seedID, nil, "this URL is not a Tempo API", 2},
		{"Tempo fails", seedID, []fixtures.Route{{Path: "/api/v2/traces/" + seedID, Handler: replyWith(http.StatusInternalServerError, "querier unavailable")}}, "HTTP 500: querier unavailable", 1},
		{"answer is not a trace", seedID, []fixtures.Route{{Path: "/api/v2/traces/" + seedID, Capture: "tempo/buildinfo"}}, "is not a Tempo trace", 1},
		{"multi-tenant Tempo without a tenant", seedID, []fixtures.Route{{Path: "/api/v2/traces/" + seedID, Handler: replyWith(http.StatusUnauthorized, "no org id")}}, "set the tenant id (tenantId)", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.NewServer(t, tc.routes...)
			_, err := New(srv.URL, srv.Client(), "").Trace(context.Background(), tc.id, time.Time{}, time.Time{})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want an error saying %q, got %v", tc.says, err)
			}
			if errors.Is(err, ErrTraceNotFound) {
				t.Errorf("%v must not read as not found", err)
			}
			if n := len(srv.Requests()); n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_service"})
	const q = `{resource.service.name="widget-service"}`
	res, err := New(srv.URL, srv.Client(), "").Search(context.Background(), q, winStart, winEnd, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].TraceID != seedID || res[1].RootServiceName != "dashboard-service" || res[1].Duration != 1800*time.Millisecond {
		t.Errorf("results %+v", res)
	}
	r := srv.Requests()[0]
	got := map[string]string{"q": r.URL.Query().Get("q"), "limit": r.URL.Query().Get("limit"),
		"start": r.URL.Query().Get("start"), "end": r.URL.Query().Get("end"), "Accept": r.Header.Get("Accept")}
	want := map[string]string{"q": q, "limit": "20", "start": "1795624297", "end": "1795624897", "Accept": "application/json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestSearchErrors(t *testing.T) {
	srv := fixtures.Tempo(t, fixtures.Route{Path: "/api/search", Capture: "tempo/search_traceql_bad_query"})
	c := New(srv.URL, srv.Client(), "")
	_, err := c.Search(context.Background(), `{resource.service.name = }`, winStart, winEnd, 0)
	if err == nil || !strings.Contains(err.Error(), "invalid TraceQL query: parse error at line 1, col 26: syntax error: unexpected }") {
		t.Fatalf("bad TraceQL: %v", err)
	}
	if q := srv.Requests()[0].URL.Query(); q.Has("limit") {
		t.Errorf("limit 0 sent as %q", q.Get("limit"))
	}
	if _, err := c.Search(context.Background(), "  ", winStart, winEnd, 0); err == nil || !strings.Contains(err.Error(), "TraceQL query is empty") {
		t.Errorf("empty query: %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (the empty query is refused locally)", n)
	}
}

// TestTraceWithBounds: the bounds come once, before the spans are decoded,
// for both protobuf versions, and are the decoded trace's; a JSON answer
// (decoded whole) tells none.
func TestTraceWithBounds(t *testing.T) {
	for _, c := range []struct {
		path, capture string
		told          bool
	}{
		{"/api/v2/traces/" + seedID, "tempo/trace_v2_protobuf", true},
		{"/api/traces/" + seedID, "tempo/trace_v1_protobuf", true},
		{"/api/v2/traces/" + seedID, "tempo/trace_v2_json", false},
	} {
		srv := fixtures.Tempo(t, fixtures.Route{Path: c.path, Capture: c.capture})
		var told [][2]time.Time
		res, err := New(srv.URL, srv.Client(), "").TraceWithBounds(context.Background(), seedID, winStart, winEnd, func(first, last time.Time) {
			told = append(told, [2]time.Time{first, last})
		})
		if err != nil {
			t.Fatalf("%s: %v", c.capture, err)
		}
		if !c.told {
			if len(told) != 0 {
				t.Errorf("%s: bounds told %d times, want none", c.capture, len(told))
			}
			continue
		}
		first, last := res.Trace.Bounds()
		if len(told) != 1 || !told[0][0].Equal(first) || !told[0][1].Equal(last) {
			t.Errorf("%s: bounds told %v, want once [%v %v]", c.capture, told, first, last)
		}
	}
}
