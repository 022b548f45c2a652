package synth

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

func TestGenerate(t *testing.T) {
	tr, entries := Generate(Config{Spans: 500, LogsPerSpan: 10, Seed: 3})
	if len(tr.Spans) != 500 || len(entries) != 5000 {
		t.Fatalf("got %d spans and %d entries, want 500 and 5000", len(tr.Spans), len(entries))
	}
	again, entries2 := Generate(Config{Spans: 500, LogsPerSpan: 10, Seed: 3})
	if !reflect.DeepEqual(tr, again) || !reflect.DeepEqual(entries, entries2) {
		t.Error("the same config generated different data")
	}
	other, _ := Generate(Config{Spans: 500, LogsPerSpan: 10, Seed: 4})
	if reflect.DeepEqual(tr, other) {
		t.Error("another seed generated the same trace")
	}
	ids := map[string]bool{}
	for i, sp := range tr.Spans {
		if ids[sp.SpanID] || len(sp.SpanID) != 16 {
			t.Fatalf("span %d: id %q repeated or not 16 hex digits", i, sp.SpanID)
		}
		ids[sp.SpanID] = true
		if i > 0 && !ids[sp.ParentSpanID] {
			t.Fatalf("span %d: parent %q not generated before it", i, sp.ParentSpanID)
		}
	}
	// Each stream (service) is in time order, as Loki returns it.
	last := map[string]model.LogEntry{}
	for _, e := range entries {
		svc, _ := e.Stream.Get("service_name")
		if p, ok := last[svc]; ok && e.Time.Before(p.Time) {
			t.Fatalf("stream %s out of time order", svc)
		}
		last[svc] = e
	}
	if tr, es := Generate(Config{}); len(tr.Spans) != 1 || es != nil {
		t.Errorf("zero config: %d spans, %d entries; want 1 and none", len(tr.Spans), len(es))
	}
}

// TestTextLines: with TextEvery, that share of lines is in zap's console
// format and the rest stays as without it.
func TestTextLines(t *testing.T) {
	_, js := Generate(Config{Spans: 50, LogsPerSpan: 10, Seed: 3})
	_, mixed := Generate(Config{Spans: 50, LogsPerSpan: 10, Seed: 3, TextEvery: 2})
	if len(js) != len(mixed) {
		t.Fatalf("%d entries, %d with text lines", len(js), len(mixed))
	}
	text := 0
	for k := range mixed {
		if !strings.HasPrefix(mixed[k].Line, "{") {
			text++
			if !strings.Contains(mixed[k].Line, "\t{\"traceId\": \"") {
				t.Fatalf("text line %q lacks its trailing JSON object", mixed[k].Line)
			}
		} else if mixed[k].Line != js[k].Line {
			t.Fatalf("JSON line %d changed: %q, was %q", k, mixed[k].Line, js[k].Line)
		}
	}
	if text != len(mixed)/2 {
		t.Errorf("%d text lines of %d, want half", text, len(mixed))
	}
}
