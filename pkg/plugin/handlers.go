package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Query types the frontend sends (src/types.ts QUERY_TYPES).
const (
	QueryTypeTrace       = "trace"
	QueryTypeSearch      = "search"
	QueryTypeWaitMetrics = "waitMetrics"
	QueryTypeAnnotations = "annotations"
)

// registerHandlers wires one handler per query type into the mux. This is
// the one place query types are added:
//
//	d.handle(QueryTypeTrace, d.handleTrace)         // one query at a time
//	d.handleRequest(QueryTypeSearch, d.handleSearch) // the whole batch
//
// handle suits most handlers: it runs the function per query and funnels
// each result through respond, so one failing query never fails the others.
func (d *Datasource) registerHandlers() {
	// Every handler fetches through d.explainer, so all four share the
	// instance's cache of fetched traces.
	d.handle(QueryTypeTrace, d.handleTrace)
	d.handle(QueryTypeSearch, d.handleSearch)
	d.handle(QueryTypeWaitMetrics, d.handleWaitMetrics)
	d.handle(QueryTypeAnnotations, d.handleAnnotations)
}

// queryFunc answers one query with frames, or an error carrying its source.
type queryFunc func(ctx context.Context, pCtx backend.PluginContext, q backend.DataQuery) (data.Frames, error)

// handle registers fn for queryType, run once per query of that type.
func (d *Datasource) handle(queryType string, fn queryFunc) {
	d.handleRequest(queryType, func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = respond(fn(ctx, req.PluginContext, q))
		}
		return resp, nil
	})
}

// handleRequest registers a handler that gets every query of queryType in
// one request (for handlers that batch upstream calls). It must answer each
// refID through respond and return a nil error.
func (d *Datasource) handleRequest(queryType string, fn backend.QueryDataHandlerFunc) {
	d.mux.HandleFunc(queryType, fn)
	d.queryTypes = append(d.queryTypes, queryType)
}

// knownQueryTypes are the types the frontend can send, in its order.
var knownQueryTypes = []string{QueryTypeTrace, QueryTypeSearch, QueryTypeWaitMetrics, QueryTypeAnnotations}

// handleUnknownQueryType answers queries whose type has no handler.
func (d *Datasource) handleUnknownQueryType(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = respond(nil, d.unknownQueryTypeError(q.QueryType))
	}
	return resp, nil
}

func (d *Datasource) unknownQueryTypeError(queryType string) error {
	valid := strings.Join(d.queryTypes, ", ")
	if valid == "" {
		valid = "(none in this build)"
	}
	switch {
	case queryType == "":
		return badQueryf("the query has no query type; choose one in the query editor (%s)", valid)
	case slices.Contains(knownQueryTypes, queryType):
		// The frontend knows it but this backend build does not: a version
		// mismatch between frontend and backend, not the user's doing.
		return backend.PluginError(fmt.Errorf("query type %q is not available in this build of the plugin; valid query types: %s", queryType, valid))
	default:
		return badQueryf("unknown query type %q; valid query types: %s", queryType, valid)
	}
}
