package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// TestSlotsBoundAndCancel: a full set of slots makes the next query wait,
// and a query whose context ends while waiting gets an error saying so,
// not a slot.
func TestSlotsBoundAndCancel(t *testing.T) {
	s := make(slots, 2)
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("Grafana cancelled the query"))
	err := s.acquire(cctx)
	if err == nil || !errors.Is(err, context.Cause(cctx)) {
		t.Fatalf("acquire on full slots with an ended context: %v", err)
	}
	if len(s) != 2 {
		t.Fatalf("%d slots taken, want 2", len(s))
	}
	s.release()
	if err := s.acquire(ctx); err != nil {
		t.Fatalf("a released slot is free again: %v", err)
	}
}

// TestTraceQueryWaitsForAQuerySlot: with every query slot taken, a trace
// query waits instead of fetching, and when its context ends first it says
// why; once a slot is free the same query is answered.
func TestTraceQueryWaitsForAQuerySlot(t *testing.T) {
	tempo, loki := seedTempo(t), seedLoki(t)
	pCtx := goldenContext(t, settingsFor(tempo.URL, loki.URL))
	inst, err := NewDatasource(context.Background(), *pCtx.DataSourceInstanceSettings)
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	t.Cleanup(ds.Dispose)
	req := &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{
		{RefID: "A", QueryType: QueryTypeTrace, JSON: []byte(seedQuery(seedTraceID)), TimeRange: captureRange},
	}}

	for range cap(querySlots) {
		querySlots <- struct{}{}
	}
	held := cap(querySlots)
	t.Cleanup(func() {
		for ; held > 0; held-- {
			<-querySlots
		}
	})
	cctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("Grafana cancelled the query"))
	resp, err := ds.QueryData(cctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), fmt.Sprintf("waited for other trace queries to finish (at most %d run at once", cap(querySlots))) {
		t.Fatalf("with every slot taken: error %v, frames %d", r.Error, len(r.Frames))
	}
	if n := len(tempo.Requests()); n != 0 {
		t.Errorf("a query waiting for a slot fetched anyway: %d Tempo requests", n)
	}

	<-querySlots
	held--
	resp, err = ds.QueryData(context.Background(), req)
	if err != nil || resp.Responses["A"].Error != nil || len(resp.Responses["A"].Frames) == 0 {
		t.Fatalf("with a slot free: %v, %+v", err, resp.Responses["A"].Error)
	}
}
