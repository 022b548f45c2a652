package demo

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// scenario is the part of fixtures/real/scenario.json this test reads: the
// exact OTLP/HTTP JSON and Loki push bodies that real servers accepted.
type scenario struct {
	TraceID    string            `json:"traceId"`
	BaseUnixMs int64             `json:"baseUnixMs"`
	SpanIDMap  map[string]string `json:"spanIdMap"`
	OTLP       []struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []otlpJSONKV `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []struct {
					TraceID      string       `json:"traceId"`
					SpanID       string       `json:"spanId"`
					ParentSpanID string       `json:"parentSpanId"`
					Name         string       `json:"name"`
					Kind         int          `json:"kind"`
					Start        string       `json:"startTimeUnixNano"`
					End          string       `json:"endTimeUnixNano"`
					Attributes   []otlpJSONKV `json:"attributes"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"otlpRequests"`
	Loki struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]any           `json:"values"`
		} `json:"streams"`
	} `json:"lokiPushRequest"`
}

type otlpJSONKV struct {
	Key   string `json:"key"`
	Value struct {
		StringValue string `json:"stringValue"`
	} `json:"value"`
}

func loadScenario(t *testing.T) *scenario {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures.Dir(t), "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s scenario
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("scenario.json: %v", err)
	}
	return &s
}

// seedStoryAsSent is SeedStory at the scenario's base time with the
// scenario's ids (span n gets span-n's id), so it can be compared byte for
// byte with what was sent to the real servers.
func seedStoryAsSent(t *testing.T, s *scenario) *Trace {
	t.Helper()
	tr := SeedStory(rand.New(rand.NewPCG(1, 1)), time.UnixMilli(s.BaseUnixMs).UTC())
	ids := map[string]string{}
	for i := range tr.Spans {
		ids[tr.Spans[i].SpanID] = s.SpanIDMap["span-"+strconv.Itoa(i+1)]
	}
	tr.TraceID = s.TraceID
	for i := range tr.Spans {
		tr.Spans[i].SpanID = ids[tr.Spans[i].SpanID]
		tr.Spans[i].ParentID = ids[tr.Spans[i].ParentID]
	}
	for i := range tr.Lines {
		tr.Lines[i].SpanID = ids[tr.Lines[i].SpanID]
	}
	return tr
}

// TestSeedStoryMatchesTheSentSpans compares the OTLP built from SeedStory
// with the OTLP/HTTP JSON request a real Tempo accepted for the seed trace.
func TestSeedStoryMatchesTheSentSpans(t *testing.T) {
	s := loadScenario(t)
	tr := seedStoryAsSent(t, s)
	got, err := TracesData(tr)
	if err != nil {
		t.Fatal(err)
	}
	idx := -1
	for i, r := range s.OTLP {
		if r.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceID == s.TraceID {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("scenario.json has no OTLP request for trace %s", s.TraceID)
	}
	sent := s.OTLP[idx]
	if len(got.ResourceSpans) != len(sent.ResourceSpans) {
		t.Fatalf("%d resource spans, the scenario sent %d", len(got.ResourceSpans), len(sent.ResourceSpans))
	}
	for i, rs := range got.ResourceSpans {
		wrs := sent.ResourceSpans[i]
		if svc, wsvc := rs.Resource.Attributes[0].GetValue().GetStringValue(), wrs.Resource.Attributes[0].Value.StringValue; svc != wsvc {
			t.Errorf("resource %d: service %q, sent %q", i, svc, wsvc)
		}
		spans, wspans := rs.ScopeSpans[0].Spans, wrs.ScopeSpans[0].Spans
		if len(spans) != len(wspans) {
			t.Fatalf("resource %d: %d spans, sent %d", i, len(spans), len(wspans))
		}
		for j, sp := range spans {
			w := wspans[j]
			gotSpan := []string{hexOf(sp.TraceId), hexOf(sp.SpanId), hexOf(sp.ParentSpanId), sp.Name,
				strconv.Itoa(int(sp.Kind)), strconv.FormatUint(sp.StartTimeUnixNano, 10), strconv.FormatUint(sp.EndTimeUnixNano, 10)}
			wantSpan := []string{w.TraceID, w.SpanID, w.ParentSpanID, w.Name, strconv.Itoa(w.Kind), w.Start, w.End}
			if !reflect.DeepEqual(gotSpan, wantSpan) {
				t.Errorf("span %s:\n got %q\nsent %q", w.SpanID, gotSpan, wantSpan)
			}
			attrs, wattrs := map[string]string{}, map[string]string{}
			for _, a := range sp.Attributes {
				attrs[a.Key] = a.GetValue().GetStringValue()
			}
			for _, a := range w.Attributes {
				wattrs[a.Key] = a.Value.StringValue
			}
			if !reflect.DeepEqual(attrs, wattrs) {
				t.Errorf("span %s attributes %v, sent %v", w.SpanID, attrs, wattrs)
			}
			if sp.Status.GetCode() != 0 {
				t.Errorf("span %s has status %v; the seed's spans have none", w.SpanID, sp.Status)
			}
		}
	}
}

// TestSeedStoryMatchesTheSentLogs compares the Loki push body built from
// SeedStory with the one a real Loki accepted: the same streams, timestamps,
// lines (byte for byte) and structured metadata, for the seed trace.
func TestSeedStoryMatchesTheSentLogs(t *testing.T) {
	s := loadScenario(t)
	raw, err := json.Marshal(LokiPush(seedStoryAsSent(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]any           `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	wantByService := map[string][][]any{}
	for _, st := range s.Loki.Streams {
		for _, v := range st.Values {
			if md, _ := v[2].(map[string]any); md["trace_id"] == s.TraceID { // skip the noise trace
				wantByService[st.Stream["service_name"]] = append(wantByService[st.Stream["service_name"]], v)
			}
		}
	}
	gotByService := map[string][][]any{}
	for _, st := range got.Streams {
		if len(st.Stream) != 1 {
			t.Errorf("stream labels %v: want only service_name, as sent", st.Stream)
		}
		gotByService[st.Stream["service_name"]] = st.Values
	}
	if len(wantByService) != 5 {
		t.Fatalf("scenario.json: want the seed trace's lines in 5 streams, found %d", len(wantByService))
	}
	if len(gotByService) != len(wantByService) {
		t.Errorf("streams for %d services, sent %d", len(gotByService), len(wantByService))
	}
	for svc, want := range wantByService {
		if !reflect.DeepEqual(gotByService[svc], want) {
			t.Errorf("%s entries differ:\n got %v\nsent %v", svc, gotByService[svc], want)
		}
	}
}

func TestSeedStoryFreshIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	a, b := SeedStory(rng, testStart), SeedStory(rng, testStart)
	if a.TraceID == b.TraceID || a.Spans[0].SpanID == b.Spans[0].SpanID {
		t.Error("two seed stories share ids: Tempo would merge them into one trace")
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
