package loki

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/internal/bigtrace"
	"github.com/tracegap/correlator/pkg/model"
)

// autoTrace is the trace whose lines the auto-mode tests look for, and
// otherTrace a neighbour whose lines must never come back.
const (
	autoTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	otherTrace = "5c0a9f1b2e3d4c5b6a798897a6b5c4d3"
)

// autoEntries writes n lines per shape the way real libraries ship them:
//   - text: logrus text format to a file tailed by Promtail (the id only in
//     the line, upper-case on every other line, as some loggers print it);
//   - metadata: OTel logs through Loki's OTLP endpoint (the body is the
//     message; the ids are structured metadata only);
//   - both: zap JSON through the OTel collector's Loki exporter with the
//     ids in the line and as structured metadata.
//
// Each shape also has lines of otherTrace.
func autoEntries(shapes []string, n int) (mine, all []model.LogEntry) {
	base := time.Unix(0, 1795624597300000000)
	svc := func(name string) model.Labels { return model.Labels{{Name: "service_name", Value: name}} }
	streams := map[string]model.Labels{"text": svc("billing"), "metadata": svc("checkout"), "both": svc("payments")}
	k := 0
	for _, shape := range shapes {
		for i := range n {
			for _, trace := range []string{autoTrace, otherTrace} {
				k++
				t := base.Add(time.Duration(k) * 1700 * time.Microsecond)
				span := fmt.Sprintf("%016x", 0xa1b2c3d4e5f60000+uint64(k))
				var e model.LogEntry
				switch shape {
				case "text":
					id := trace
					if i%2 == 1 {
						id = strings.ToUpper(trace)
					}
					e = model.LogEntry{Line: `time="` + t.UTC().Format(time.RFC3339Nano) + `" level=info msg="charged card" amount_cents=` + strconv.Itoa(100+i) + ` trace_id=` + id + ` span_id=` + span}
				case "metadata":
					e = model.LogEntry{Line: "reserved stock for order " + strconv.Itoa(7000+i),
						Metadata: model.Labels{{Name: "severity_text", Value: "INFO"}, {Name: "span_id", Value: span}, {Name: "trace_id", Value: trace}}}
				case "both":
					e = model.LogEntry{Line: `{"level":"info","ts":` + strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 6, 64) + `,"caller":"pay/handler.go:88","msg":"authorised payment","traceId":"` + trace + `","spanId":"` + span + `"}`,
						Metadata: model.Labels{{Name: "span_id", Value: span}, {Name: "trace_id", Value: trace}}}
				}
				e.Time, e.Stream = t, streams[shape]
				all = append(all, e)
				if trace == autoTrace {
					mine = append(mine, e)
				}
			}
		}
	}
	return mine, all
}

func autoKeys(es []model.LogEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = strconv.FormatInt(e.Time.UnixNano(), 10) + " " + e.Line
	}
	slices.Sort(out)
	return out
}

// TestAutoModeEachLineOnce runs auto mode against a Loki that applies the
// LogQL as Loki does (bigtrace's fake): whether the id is in the text only,
// in the metadata only, or in both, every line of the trace comes back
// exactly once, no other trace's line comes back, and nothing is fetched
// twice. Line mode alone misses the metadata-only lines, which is why auto
// mode runs the second query.
func TestAutoModeEachLineOnce(t *testing.T) {
	cases := [][]string{{"text"}, {"metadata"}, {"both"}, {"text", "metadata", "both"}}
	for _, shapes := range cases {
		t.Run(strings.Join(shapes, "+"), func(t *testing.T) {
			mine, all := autoEntries(shapes, 150)
			fake := bigtrace.NewLoki(all, nil)
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			c := New(srv.URL, srv.Client(), "")
			lq := LogQuery{TraceID: autoTrace, Selector: `{service_name=~".+"}`, Mode: ModeAuto,
				Start: all[0].Time, End: all[len(all)-1].Time.Add(time.Second), PageSize: 1000}

			res, err := c.TraceLogs(context.Background(), lq)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := autoKeys(res.Entries), autoKeys(mine); !slices.Equal(got, want) {
				t.Fatalf("auto mode returned %d lines, want the trace's %d, each once", len(got), len(want))
			}
			if res.Duplicates != 0 {
				t.Errorf("auto mode fetched %d lines twice", res.Duplicates)
			}
			for _, q := range res.Queries {
				n, err := fake.Selected(q)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d lines: %s", n, q)
			}

			// Line mode on the same store: what auto mode adds is exactly
			// the lines whose text does not carry the id.
			autoBytes := fake.BytesServed()
			lq.Mode = ModeLine
			line, err := c.TraceLogs(context.Background(), lq)
			if err != nil {
				t.Fatal(err)
			}
			lineBytes := fake.BytesServed() - autoBytes
			inText := 0
			for _, e := range mine {
				if strings.Contains(strings.ToLower(e.Line), autoTrace) {
					inText++
				}
			}
			if len(line.Entries) != inText {
				t.Errorf("line mode found %d lines, want the %d with the id in their text", len(line.Entries), inText)
			}
			if !slices.Contains(shapes, "metadata") && float64(autoBytes) > 1.1*float64(lineBytes) {
				t.Errorf("auto mode fetched %d bytes, line mode %d: more than 1.1× when every line carries its id in the text", autoBytes, lineBytes)
			}
		})
	}
}

// TestAutoModeQueries pins the second query's negative line filter: the
// same regex as the first query's filter, so the two are disjoint.
func TestAutoModeQueries(t *testing.T) {
	qs, err := Queries(`{service_name=~".+"}`, "00000000000000000000000000abc123", ModeAuto, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{service_name=~".+"} |~ "(?i)(?:^|[^0-9a-f])0*abc123(?:[^0-9a-f]|$)"`,
		`{service_name=~".+"} !~ "(?i)(?:^|[^0-9a-f])0*abc123(?:[^0-9a-f]|$)" | traceId=~"(?i)0*abc123" or trace_id=~"(?i)0*abc123" or traceID=~"(?i)0*abc123"`,
	}
	if !slices.Equal(qs, want) {
		t.Errorf("queries\n%q\nwant\n%q", qs, want)
	}
	md, err := Queries(`{service_name=~".+"}`, autoTrace, ModeMetadata, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md[0], "!~") {
		t.Errorf("metadata mode alone must not exclude lines by their text: %s", md[0])
	}
}
