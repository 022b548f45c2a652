package plugin

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
)

// seedOwnLoki answers both queries of auto mode with the seed document's
// own lines only (widget-service on span-4, data-aggregator-b on span-8),
// taken from the real line-filter capture: the input of docs/analysis.md's
// breakdown table.
func seedOwnLoki(t *testing.T) *fixtures.Server {
	t.Helper()
	c := fixtures.Load(t, "loki/query_range_line_filter_categorized")
	res, err := loki.DecodeQueryRange(c.Body)
	if err != nil {
		t.Fatal(err)
	}
	var own []model.LogEntry
	var last int64
	for _, e := range res.Entries {
		svc := ""
		for _, l := range e.Stream {
			if l.Name == "service_name" {
				svc = l.Value
			}
		}
		if (svc == "widget-service" || svc == "data-aggregator-b") && strings.Contains(e.Line, seedTraceID) {
			own = append(own, e)
			last = max(last, e.Time.UnixNano())
		}
	}
	if len(own) != 12 {
		t.Fatalf("%d of the seed's own lines in the capture, want 12", len(own))
	}
	return fixtures.Loki(t, fixtures.Route{Path: queryRangePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64); start > last {
			writeStreams(w, nil)
			return
		}
		writeStreams(w, own)
	})})
}

// TestTraceQueryBreakdown: through the plugin protocol, the breakdown
// frame (the 6th) is docs/analysis.md's table of the seed, row for row and
// in its order, and the headline leads the root span's warnings and sits
// in meta.custom.headline of every frame.
func TestTraceQueryBreakdown(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedOwnLoki(t)
	r := runTrace(t, goldenContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL)), seedQuery(seedTraceID), captureRange)
	if r.Error != nil {
		t.Fatalf("error %v", r.Error)
	}
	bd := frameOf(t, r, "breakdown")
	if r.Frames[5] != bd {
		t.Fatalf("breakdown is not the 6th frame")
	}
	const callA = `"Initiating call to data aggregator A" → "Received response from data aggregator A"`
	want := []string{
		span(4) + " widget-service|GET /widgets/data|waiting|" + callA + "|600",
		span(1) + " dashboard-service|GET /dashboard|self||300",
		span(1) + " dashboard-service|GET /dashboard|in callee|user-service GET /users/{id}/preferences|200",
		span(7) + " data-aggregator-a|metric-db-a.query|self||200",
		span(6) + " data-aggregator-a|GET /data/aggregator-a|self||100",
		span(4) + " widget-service|GET /widgets/data|self||50",
		span(5) + " widget-service|widget-config-db.query|self||50",
	}
	var got []string
	var sum float64
	for _, row := range rows(bd) {
		got = append(got, fmt.Sprintf("%s %s|%s|%s|%s|%v", row["spanID"], row["service"], row["operation"], row["category"], row["what"], row["ms"]))
		sum += row["ms"].(float64)
		if share := row["share"].(float64); math.Abs(share-row["ms"].(float64)/1500) > 1e-12 {
			t.Errorf("share %v for %v ms", share, row["ms"])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("breakdown rows\n got %q\nwant %q", got, want)
	}
	if sum != 1500 {
		t.Errorf("rows sum to %v ms, want 1500", sum)
	}
	if u := bd.Fields[5].Config; u == nil || u.Unit != "ms" {
		t.Errorf("ms unit %+v", u)
	}

	const headline = `GET /dashboard took 1500 ms: 600 ms (40%) widget-service waiting between "Initiating call to data aggregator A" and ` +
		`"Received response from data aggregator A" with no span running; 300 ms (20%) dashboard-service's own time; ` +
		`200 ms (13%) in user-service GET /users/{id}/preferences`
	for _, f := range r.Frames {
		custom, _ := f.Meta.Custom.(map[string]any)
		if custom["headline"] != headline {
			t.Errorf("%s: meta.custom %v, want the headline", f.Name, f.Meta.Custom)
		}
	}
	for _, row := range rows(frameOf(t, r, "trace")) {
		if row["spanID"] != span(1) {
			continue
		}
		var warnings []string
		_ = json.Unmarshal(row["warnings"].(json.RawMessage), &warnings)
		if len(warnings) == 0 || warnings[0] != headline {
			t.Errorf("root warnings %q, want the headline first", warnings)
		}
	}
}
