package tempo

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeSearchCaptures(t *testing.T) {
	got, err := DecodeSearch(readFixture(t, "tempo/search_traceql_service.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []SearchResult{
		{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", RootServiceName: "widget-service", RootTraceName: "GET /widgets/data",
			Start: time.Unix(0, 1795624597500000000).UTC(), Duration: 120 * time.Millisecond},
		// Tempo wrote this id with its leading zero stripped (31 digits).
		{TraceID: "0af7651916cd43dd8448eb211c80319c", RootServiceName: "dashboard-service", RootTraceName: "GET /dashboard",
			Start: time.Unix(0, 1795624597000000000).UTC(), Duration: 1800 * time.Millisecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	got, err = DecodeSearch(readFixture(t, "tempo/search_traceql_service_duration.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want[1] {
		t.Errorf("duration search = %+v, want only the main trace", got)
	}
}

func TestDecodeSearchEdgeCases(t *testing.T) {
	got, err := DecodeSearch([]byte(`{"traces":[{"traceID":"ABC","startTimeUnixNano":"5"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].TraceID != "00000000000000000000000000000abc" || got[0].Duration != 0 || !got[0].Start.Equal(time.Unix(0, 5)) {
		t.Errorf("got %+v", got[0])
	}
	if got, err := DecodeSearch([]byte(`{"traces":[],"metrics":{}}`)); err != nil || len(got) != 0 {
		t.Errorf("empty search: %v %v", got, err)
	}
	for _, bad := range []string{`{"traces":[{"traceID":"xyz"}]}`, `{"traces":[`, `{"traces":[{"traceID":"1","startTimeUnixNano":"soon"}]}`} {
		if _, err := DecodeSearch([]byte(bad)); err == nil || !strings.Contains(err.Error(), "Tempo search") {
			t.Errorf("%s: err = %v, want a Tempo search error", bad, err)
		}
	}
}
