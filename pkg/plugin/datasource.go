// Package plugin is Tracegap's shell around the core: the data source
// instance Grafana talks to over gRPC. It loads the settings, builds the
// Tempo and Loki clients, routes queries by type, answers health checks and
// resource calls, and turns every error into a response with its source.
package plugin

import (
	"context"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/settings"
	"github.com/tracegap/correlator/pkg/tempo"
)

// PluginID is the plugin's id in plugin.json.
const PluginID = "tracegap-correlator-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured Tracegap data source. When its settings are
// invalid it still exists: it keeps the error, and CheckHealth, every query
// and every resource call report it, so the user sees what to fix instead
// of a plugin that failed to load.
type Datasource struct {
	// uid is the data source's uid, for log lines.
	uid         string
	settings    *settings.Settings
	settingsErr error

	tempo *tempo.Client
	loki  *loki.Client
	// explainer is the one path every query type fetches traces through:
	// both clients, the tenant, the Tempo concurrency and this instance's
	// cache of fetched traces. The cache lives and dies with the instance,
	// so a settings change (another tenant, another Loki) starts empty,
	// and a refreshed dashboard or re-evaluated alert rule does not fetch
	// a finished trace again.
	explainer *explain.Explainer

	// transports are the *http.Transports under both clients. The SDK wraps
	// them in middleware round-trippers that do not pass
	// CloseIdleConnections on, so Dispose needs them directly.
	transports []*http.Transport

	mux *datasource.QueryTypeMux
	// queryTypes lists the registered query types, for the fallback's message.
	queryTypes []string
}

// NewDatasource is the instance factory Grafana's instance manager calls
// whenever a data source's settings change. It never fails: a settings
// problem is kept and reported by every call instead.
func NewDatasource(ctx context.Context, inst backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{uid: inst.UID}
	d.settings, d.settingsErr = settings.Load(inst)
	if d.settingsErr == nil {
		d.settingsErr = d.connect(ctx, inst)
	}
	if d.settingsErr != nil {
		// Validation messages name settings, never their secret values.
		log.DefaultLogger.FromContext(ctx).Warn("Tracegap data source settings are invalid", "uid", inst.UID, "error", d.settingsErr)
		d.settings, d.tempo, d.loki, d.explainer = nil, nil, nil, nil
	}

	d.mux = datasource.NewQueryTypeMux()
	d.registerHandlers()
	d.mux.HandleFunc("", d.handleUnknownQueryType)
	return d, nil
}

// connect builds the two HTTP clients through the SDK's httpclient (auth,
// TLS, timeouts, proxy, metrics), the Tempo and Loki clients on top, and
// the explainer with its empty cache.
func (d *Datasource) connect(ctx context.Context, inst backend.DataSourceInstanceSettings) error {
	s := d.settings
	tempoOpts, lokiOpts, err := s.HTTPOptions(ctx, inst)
	if err != nil {
		return err
	}
	d.keepTransport(&tempoOpts)
	d.keepTransport(&lokiOpts)
	tempoHTTP, err := httpclient.New(tempoOpts)
	if err != nil {
		return backend.DownstreamErrorf("cannot set up the HTTP client for Tempo (check the Tempo TLS settings): %w", err)
	}
	lokiHTTP, err := httpclient.New(lokiOpts)
	if err != nil {
		return backend.DownstreamErrorf("cannot set up the HTTP client for Loki (check the Loki TLS settings): %w", err)
	}
	d.tempo = tempo.New(s.TempoURL, tempoHTTP, s.TenantID, tempo.WithMaxBodyBytes(s.MaxTraceBytes()))
	d.loki = loki.New(s.LokiURL, lokiHTTP, s.TenantID, loki.WithMaxBodyBytes(s.MaxLogsBytes()))
	d.explainer = &explain.Explainer{
		Tempo: d.tempo, Loki: d.loki, Tenant: s.TenantID, Concurrency: s.TempoConcurrency,
		Cache: explain.NewCache(explain.DefaultCacheEntries, explain.DefaultCacheBytes),
	}
	return nil
}

// keepTransport makes httpclient.New hand over the transport it builds.
func (d *Datasource) keepTransport(opts *httpclient.Options) {
	prev := opts.ConfigureTransport
	opts.ConfigureTransport = func(o httpclient.Options, t *http.Transport) {
		if prev != nil {
			prev(o, t)
		}
		d.transports = append(d.transports, t)
	}
}

// Dispose is called when the settings change and this instance is replaced;
// it releases the idle connections of both HTTP clients. The cache needs
// nothing: only this instance holds it, so it goes with the instance.
func (d *Datasource) Dispose() {
	for _, t := range d.transports {
		t.CloseIdleConnections()
	}
}

// QueryData answers each query through the handler of its query type. It
// never fails as a whole: every refID gets frames or its own error.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	if d.settingsErr != nil {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = respond(nil, d.settingsErr)
		}
		return resp, nil
	}
	return d.mux.QueryData(ctx, req)
}
