package frames

import (
	"flag"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/tracegap/correlator/pkg/model"
)

// Run `go test ./pkg/frames -update` after an intended contract change, and
// review the diff of testdata/ like code.
var update = flag.Bool("update", false, "rewrite the golden frame files in testdata/")

var testOptions = Options{
	RefID:               "A",
	ExecutedQueryString: "trace 0af7651916cd43dd8448eb211c80319c + logs",
	Link:                Link{DatasourceUID: "tracegap-uid", DatasourceName: "Tracegap"},
}

// secondAnalysis is a small second trace for the multi-trace frames: it
// starts in the same millisecond as the seed (sub-ms later) so the wait
// series must merge the two.
func secondAnalysis() *model.Analysis {
	b := newBuilder("4bf92f3577b34da6a3ce929d0e0e4736")
	b.span("00f067aa0ba902b7", "", "widget-service", "GET /widgets/data", model.KindServer, 0.4, 120)
	b.span("00f067aa0ba902b8", "00f067aa0ba902b7", "data-aggregator-b", "GET /data/aggregator-b", model.KindServer, 10.4, 100)
	b.line("widget-service", "00f067aa0ba902b7", 0.4, "info", "Received request for widget data")
	b.line("widget-service", "00f067aa0ba902b7", 120.4, "info", "Finished processing widget data")
	g := b.gap("00f067aa0ba902b7", 0.4, 120.4, "Received request for widget data", "Finished processing widget data")
	g.Callees, g.InCallees, g.Unaccounted = []model.SpanOverlap{b.overlap("00f067aa0ba902b8", 100)}, msd(100), msd(20)
	g.BeforeCallee, g.AfterCallee = msd(10), msd(10)
	g.Sentence = "waited 120 ms for data-aggregator-b: 100 ms in it, 20 ms unaccounted"
	f := b.fig("00f067aa0ba902b7")
	f.Wait, f.Unaccounted = msd(120), msd(20)
	b.a.Retries = []model.Retry{{
		SpanID: "00f067aa0ba902b7", SpanIndex: 0, Source: model.RetryFromSpans, Count: 2, Cost: msd(20),
		Outcome: model.OutcomeFailed, Message: "GET /data/aggregator-b", Start: at(20), End: at(40),
		Attempts: []string{"00f067aa0ba902c1", "00f067aa0ba902c2"},
	}}
	f.Retries = 2
	a := b.finish()
	a.TopFinding = g.Sentence
	return a
}

// thirdAnalysis starts a minute later, for the series' second point.
func thirdAnalysis() *model.Analysis {
	b := newBuilder("00000000000000000000000000000bad")
	b.span("0000000000000001", "", "widget-service", "GET /widgets/data", model.KindServer, 60_000, 3000)
	f := b.fig("0000000000000001")
	f.Wait, f.Unaccounted = msd(2500), msd(2500)
	return b.finish()
}

func TestGoldenFrames(t *testing.T) {
	seed := seedAnalysis()
	many := []*model.Analysis{seedAnalysis(), secondAnalysis(), thirdAnalysis()}
	series := func(by GroupBy) data.Frames {
		fs, err := WaitSeries(many, by, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	tests := []struct {
		name   string
		frames data.Frames
	}{
		{"trace", data.Frames{Trace(seed, testOptions)}},
		{"logs", data.Frames{Logs(seed, testOptions)}},
		{"gaps", data.Frames{Gaps(seed, testOptions)}},
		{"retries", data.Frames{Retries(seed, testOptions)}},
		{"spans", data.Frames{Spans(seed, testOptions)}},
		{"breakdown", data.Frames{Breakdown(seed, testOptions)}},
		{"headline", SetHeadline(data.Frames{Breakdown(seed, testOptions)}, seed)},
		{"traces", data.Frames{Traces(many, testOptions)}},
		{"wait_series_service", series(GroupByService)},
		{"wait_series_service_operation", series(GroupByServiceOperation)},
		{"annotations", data.Frames{Annotations(many, AnnotationOptions{MinGap: 100 * time.Millisecond, Limit: 5}, testOptions)}},
		{"empty_trace", data.Frames{Trace(&model.Analysis{Trace: &model.Trace{TraceID: seedTraceID}}, testOptions)}},
		{"empty_breakdown", SetHeadline(data.Frames{Breakdown(&model.Analysis{Trace: &model.Trace{TraceID: seedTraceID}}, testOptions)}, nil)},
		{"empty_wait_series", series2(t, nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dr := backend.DataResponse{Frames: tc.frames}
			experimental.CheckGoldenJSONResponse(t, "testdata", tc.name, &dr, *update)
		})
	}
}

func series2(t *testing.T, as []*model.Analysis) data.Frames {
	t.Helper()
	fs, err := WaitSeries(as, GroupByService, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
