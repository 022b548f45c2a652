package explain

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/tempo"
)

// TestFetchAsksLokiOnceOverTheTraceBounds: the logs, fetched while the
// spans are decoded, are asked for over the decoded trace's bounds and the
// margin, each query once.
func TestFetchAsksLokiOnceOverTheTraceBounds(t *testing.T) {
	srv := searchtest.Start(t, seedTrace(t))
	lo := logOptions()
	f, err := explainer(t, srv).Fetch(context.Background(), seedTrace(t).Trace.TraceID, time.Time{}, time.Time{}, lo)
	if err != nil || f.LogsErr != nil {
		t.Fatal(err, f.LogsErr)
	}
	first, last := f.Trace.Trace.Bounds()
	if !f.LogStart.Equal(first.Add(-lo.Margin)) || !f.LogEnd.Equal(last.Add(lo.Margin)) {
		t.Errorf("logs range [%v, %v), want the trace's [%v, %v] widened by %v", f.LogStart, f.LogEnd, first, last, lo.Margin)
	}
	qs := srv.LokiQueries()
	if len(qs) != len(f.Logs.Queries) || len(qs) != f.Logs.Pages {
		t.Errorf("Loki was asked %d times for %d queries of %d pages: %v", len(qs), len(f.Logs.Queries), f.Logs.Pages, qs)
	}
	for _, q := range qs {
		if !q.Start.Equal(f.LogStart) || !q.End.Equal(f.LogEnd) {
			t.Errorf("Loki asked over [%v, %v), want [%v, %v)", q.Start, q.End, f.LogStart, f.LogEnd)
		}
	}
	if len(f.Logs.Entries) == 0 {
		t.Error("no log lines")
	}
}

// TestFetchDropsTheLogsOfATraceThatFailsToDecode: the bounds parse, so the
// log query starts, but a span does not decode: Fetch returns Tempo's
// error and cancels the log query rather than leaving it running.
func TestFetchDropsTheLogsOfATraceThatFailsToDecode(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	const id = "0af7651916cd43dd8448eb211c80319c"
	td, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{
		Spans: []*tracepb.Span{{Name: "no ids", StartTimeUnixNano: uint64(seedStart.UnixNano()), EndTimeUnixNano: uint64(seedStart.Add(time.Second).UnixNano())}},
	}}}}})
	if err != nil {
		t.Fatal(err)
	}
	body := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), td) // TraceByIDResponse.trace
	tempoSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/protobuf")
		w.Write(body)
	}))
	defer tempoSrv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections() // before goleak looks
	// Loki answers only a cancel: a query left running would stay blocked
	// here for good, which goleak reports.
	var asked atomic.Int32
	lokiRT := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		asked.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	hc := &http.Client{Transport: tr}
	ex := &Explainer{Tempo: tempo.New(tempoSrv.URL, hc, ""), Loki: loki.New("http://loki.invalid", &http.Client{Transport: lokiRT}, "")}

	_, err = ex.Fetch(context.Background(), id, time.Time{}, time.Time{}, logOptions())
	if err == nil || !strings.Contains(err.Error(), "trace id has 0 bytes") {
		t.Fatalf("error %v, want the span's", err)
	}
	t.Logf("Loki asked %d times before the drop", asked.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
