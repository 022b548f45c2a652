package plugin

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// TestSpanEventsWithoutLoki: a trace whose services record their log
// lines only as span events (the seed's lines, moved into its spans as
// Tempo's JSON writes events) gets the seed's gaps and retry with Loki
// down, and the notice says where they came from.
func TestSpanEventsWithoutLoki(t *testing.T) {
	lines := seedLines(t)
	var doc map[string]any
	if err := json.Unmarshal(fixtures.Load(t, "tempo/trace_v2_json").Body, &doc); err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, rs := range doc["trace"].(map[string]any)["resourceSpans"].([]any) {
		for _, ss := range rs.(map[string]any)["scopeSpans"].([]any) {
			for _, s := range ss.(map[string]any)["spans"].([]any) {
				sp := s.(map[string]any)
				raw, _ := base64.StdEncoding.DecodeString(sp["spanId"].(string))
				id := hex.EncodeToString(raw)
				var evs []any
				for _, l := range lines {
					if l.spanID != id || l.service == "edge-gateway" {
						continue // the gateway's line is another service's
					}
					attrs := []any{map[string]any{"key": "level", "value": map[string]any{"stringValue": strings.ToLower(l.level)}}}
					if l.durationMs > 0 {
						attrs = append(attrs, map[string]any{"key": "duration_ms", "value": map[string]any{"intValue": strconv.FormatInt(l.durationMs, 10)}})
					}
					evs = append(evs, map[string]any{"timeUnixNano": strconv.FormatInt(l.time.UnixNano(), 10), "name": l.message, "attributes": attrs})
					events++
				}
				if evs != nil {
					sp["events"] = evs
				}
			}
		}
	}
	body, _ := json.Marshal(doc)
	tempoSrv := fixtures.Tempo(t, fixtures.Route{Path: "/api/v2/traces/" + seedTraceID, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})})
	lokiSrv := fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
	})})
	r := runTrace(t, pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatalf("error %v", r.Error)
	}
	if events != 20 {
		t.Fatalf("%d events made, want the seed's 20 lines of its own services", events)
	}
	gaps := rows(frameOf(t, r, "gaps"))
	var story bool
	for _, g := range gaps {
		if g["spanID"] == span(4) && g["fromMessage"] == "Initiating call to data aggregator B" && g["gapMs"] == 800.0 && g["unaccountedMs"] == 400.0 {
			story = true
		}
	}
	if !story {
		t.Errorf("gaps %v lack span-4's 800 ms wait for aggregator B (400 ms unaccounted)", gaps)
	}
	retries := rows(frameOf(t, r, "retries"))
	if len(retries) != 1 || retries[0]["spanID"] != span(8) || retries[0]["costMs"] != 200.0 {
		t.Errorf("retries %v; want span-8's 200 ms retry", retries)
	}
	var said bool
	for _, n := range noticeTexts(frameOf(t, r, "gaps")) {
		if strings.Contains(n, "Loki failed") && strings.Contains(n, "span events only") {
			said = true
		}
		if strings.Contains(n, "without log-derived gaps") {
			t.Errorf("notice %q although the events give gaps", n)
		}
	}
	if !said {
		t.Errorf("notices %q do not say the gaps come from span events", noticeTexts(frameOf(t, r, "gaps")))
	}
}
