package plugin

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
)

// hangingServer answers nothing until the request's context ends; arrived
// gets a value per request and finished one per handler that returned.
type hangingServer struct {
	*httptest.Server
	arrived  chan struct{}
	finished chan struct{}
}

func newHangingServer(t *testing.T) *hangingServer {
	t.Helper()
	h := &hangingServer{arrived: make(chan struct{}, 64), finished: make(chan struct{}, 64)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		h.arrived <- struct{}{}
		<-r.Context().Done()
		h.finished <- struct{}{}
	}))
	return h
}

// TestQueryCancelStopsUpstreamRequests: when Grafana cancels a query (the
// user leaves the dashboard), the requests to Tempo or Loki in flight are
// cancelled too, the upstream sees them end, and after Dispose no
// goroutine of the instance is left. The instance is built directly (not
// over gRPC) so that goleak sees only its goroutines.
func TestQueryCancelStopsUpstreamRequests(t *testing.T) {
	tests := []struct {
		name       string
		hangsTempo bool
		// requests is how many upstream requests hang at once: one trace
		// request, or the two log queries of auto mode.
		requests int
	}{
		{"Tempo hangs", true, 1},
		{"Loki hangs (both queries of auto mode)", false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
			hang := newHangingServer(t)
			var other *fixtures.Server
			var tempoURL, lokiURL string
			if tc.hangsTempo {
				other = fixtures.Loki(t)
				tempoURL, lokiURL = hang.URL, other.URL
			} else {
				other = seedTempo(t)
				tempoURL, lokiURL = other.URL, hang.URL
			}
			inst, err := NewDatasource(context.Background(), *pluginContext(t, settingsFor(tempoURL, lokiURL), nil).DataSourceInstanceSettings)
			if err != nil {
				t.Fatal(err)
			}
			d := inst.(*Datasource)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				// Cancel once every request hangs upstream, or after a
				// bound, so a request that never arrives fails the test
				// below instead of hanging it.
				defer cancel()
				for range tc.requests {
					select {
					case <-hang.arrived:
					case <-time.After(30 * time.Second):
						return
					}
				}
			}()
			resp, err := d.QueryData(ctx, &backend.QueryDataRequest{Queries: []backend.DataQuery{
				{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(seedQuery(seedTraceID)), TimeRange: captureRange},
			}})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Responses["A"]
			if r.Error == nil || !strings.Contains(r.Error.Error(), "cancel") || r.ErrorSource != backend.ErrorSourceDownstream {
				t.Errorf("a cancelled query: error %v, source %q", r.Error, r.ErrorSource)
			}
			// Every hanging request ended at the upstream too.
			for i := range tc.requests {
				select {
				case <-hang.finished:
				case <-time.After(30 * time.Second):
					t.Fatalf("%d of %d upstream requests arrived and ended within 30 s", i, tc.requests)
				}
			}
			d.Dispose()
			hang.Close()
			other.Close()
		})
	}
}

// TestRequestTimeoutFromSettings: timeoutSeconds bounds every upstream
// request. A hanging Tempo fails the query with a timeout (504); a hanging
// Loki costs only the logs.
func TestRequestTimeoutFromSettings(t *testing.T) {
	hang := newHangingServer(t)
	t.Cleanup(hang.Close)

	t.Run("Tempo", func(t *testing.T) {
		pCtx := pluginContext(t, settingsFor(hang.URL, seedLoki(t).URL, "timeoutSeconds", 1), nil)
		r := runTrace(t, pCtx, seedQuery(seedTraceID), captureRange)
		if r.Error == nil || !strings.Contains(r.Error.Error(), "Tempo at "+hang.URL+" did not answer in time") ||
			!strings.Contains(r.Error.Error(), "raise timeoutSeconds") || r.Status != backend.StatusTimeout || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("error %v, status %v, source %q", r.Error, r.Status, r.ErrorSource)
		}
	})
	t.Run("Loki", func(t *testing.T) {
		// Tempo answers and must do so within the timeout on a busy CI
		// machine too, so the timeout is not the shortest one.
		pCtx := pluginContext(t, settingsFor(seedTempo(t).URL, hang.URL, "timeoutSeconds", "5"), nil)
		r := runTrace(t, pCtx, seedQuery(seedTraceID), captureRange)
		if r.Error != nil {
			t.Fatalf("a slow Loki must not fail the trace: %v", r.Error)
		}
		notes := strings.Join(noticeTexts(frameOf(t, r, "trace")), "\n")
		if frameOf(t, r, "trace").Rows() != 9 || !strings.Contains(notes, "Loki at "+hang.URL+" did not answer in time") {
			t.Errorf("notices %q", notes)
		}
	})
	t.Run("health", func(t *testing.T) {
		pCtx := pluginContext(t, settingsFor(hang.URL, hang.URL, "timeoutSeconds", 1), nil)
		res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pCtx})
		if err != nil || res.Status != backend.HealthStatusError || strings.Count(res.Message, "did not answer in time") != 2 {
			t.Errorf("health %v %q (%v)", res.Status, res.Message, err)
		}
	})
}

// connCounter counts the connections a server opened and closed.
type connCounter struct {
	mu             sync.Mutex
	opened, closed int
}

func (c *connCounter) state(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.opened++
	case http.StateClosed, http.StateHijacked:
		c.closed++
	}
}

func (c *connCounter) counts() (opened, closed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.closed
}

// TestSettingsChangeDisposesTheOldInstance: when a data source's settings
// are saved, Grafana's instance manager replaces the instance and (after a
// short grace period for queries in flight) disposes the old one, whose
// idle connections to Tempo and Loki must then close. This goes through the
// real instance manager over gRPC.
func TestSettingsChangeDisposesTheOldInstance(t *testing.T) {
	var tempoConns, lokiConns connCounter
	start := func(h http.Handler, c *connCounter) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ConnState = c.state
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	tempoSrv := start(seedTempo(t).Config.Handler, &tempoConns)
	lokiSrv := start(seedLoki(t).Config.Handler, &lokiConns)

	pCtx := pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil)
	health := func(pc backend.PluginContext) {
		res, err := startPlugin(t).CheckHealth(ctx(t), &backend.CheckHealthRequest{PluginContext: pc})
		if err != nil || res.Status != backend.HealthStatusOk {
			t.Fatalf("health %v %q (%v)", res.Status, res.Message, err)
		}
	}
	health(pCtx)
	tOpened, tClosed := tempoConns.counts()
	lOpened, lClosed := lokiConns.counts()
	if tOpened == 0 || lOpened == 0 || tClosed != 0 || lClosed != 0 {
		t.Fatalf("after the first check: Tempo %d/%d, Loki %d/%d connections opened/closed", tOpened, tClosed, lOpened, lClosed)
	}

	// The same data source, saved with other settings.
	changed := pCtx
	ds := *pCtx.DataSourceInstanceSettings
	ds.JSONData = []byte(`{"tempoUrl":"` + tempoSrv.URL + `","lokiUrl":"` + lokiSrv.URL + `","minGapMs":50}`)
	ds.Updated = ds.Updated.Add(time.Minute)
	changed.DataSourceInstanceSettings = &ds
	health(changed)

	// The SDK disposes the old instance 5 s after replacing it; wait for
	// the connections it kept idle to close, with a generous bound.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, tc := tempoConns.counts()
		_, lc := lokiConns.counts()
		if tc >= tOpened && lc >= lOpened {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, tc := tempoConns.counts()
	_, lc := lokiConns.counts()
	t.Errorf("the old instance's connections stayed open: Tempo %d of %d closed, Loki %d of %d", tc, tOpened, lc, lOpened)
}

// TestQueryAfterDisposeStillWorks: a query that reaches the old instance
// in the grace period after Dispose still gets its answer (new
// connections are opened as needed).
func TestQueryAfterDisposeStillWorks(t *testing.T) {
	tempoSrv, lokiSrv := seedTempo(t), seedLoki(t)
	inst, err := NewDatasource(context.Background(), *pluginContext(t, settingsFor(tempoSrv.URL, lokiSrv.URL), nil).DataSourceInstanceSettings)
	if err != nil {
		t.Fatal(err)
	}
	d := inst.(*Datasource)
	var n atomic.Int32
	for range 2 {
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
			{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(seedQuery(seedTraceID)), TimeRange: captureRange},
		}})
		if err != nil || resp.Responses["A"].Error != nil {
			t.Fatalf("query %d: %v %v", n.Load(), err, resp.Responses["A"].Error)
		}
		n.Add(1)
		d.Dispose()
	}
}
