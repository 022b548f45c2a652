package settings

import (
	"context"
	"maps"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
)

// HTTPOptions returns the SDK httpclient options for Tempo and for Loki.
//
// The SDK's DataSourceInstanceSettings.HTTPClientOptions reads a single set
// of root keys (basicAuth, tlsSkipVerify, …), but Tempo and Loki each have
// their own URL, auth and TLS here. So it is used only for what is common to
// both (secure socks proxy, Grafana's TLS 1.3 toggle, forwarded headers,
// custom headers, metric labels), and each upstream's auth, TLS and timeout
// are set from its own keys.
func (s *Settings) HTTPOptions(ctx context.Context, inst backend.DataSourceInstanceSettings) (tempo, loki httpclient.Options, err error) {
	base, err := inst.HTTPClientOptions(ctx)
	if err != nil {
		return tempo, loki, backend.DownstreamErrorf("reading the data source's HTTP settings: %w", err)
	}
	tempo = s.upstreamOptions(base, "tempo", s.TempoAuth, s.TempoUser, s.TempoPassword, s.TempoToken, s.TempoTLSSkipVerify, s.TempoTLSCACert, s.TempoHeaders)
	loki = s.upstreamOptions(base, "loki", s.LokiAuth, s.LokiUser, s.LokiPassword, s.LokiToken, s.LokiTLSSkipVerify, s.LokiTLSCACert, s.LokiHeaders)
	return tempo, loki, nil
}

// upstreamOptions derives one upstream's options from the common ones. The
// secure socks proxy (base.ProxyOptions, from enableSecureSocksProxy) is
// kept for both: the proxy decides per data source, not per upstream.
func (s *Settings) upstreamOptions(base httpclient.Options, upstream string, auth AuthKind, user, password, token string, skipVerify bool, caCert string, custom http.Header) httpclient.Options {
	opts := base
	// Copy the maps: the two upstreams must not share (and later mutate)
	// one header set or label set.
	opts.Header = base.Header.Clone()
	if opts.Header == nil {
		opts.Header = http.Header{}
	}
	opts.Labels = maps.Clone(base.Labels)
	if opts.Labels == nil {
		opts.Labels = map[string]string{}
	}
	opts.Labels["upstream"] = upstream
	opts.CustomOptions = maps.Clone(base.CustomOptions)

	timeouts := httpclient.DefaultTimeoutOptions
	timeouts.Timeout = s.Timeout()
	opts.Timeouts = &timeouts

	// The root-level auth and TLS keys belong to no upstream here.
	opts.BasicAuth = nil
	opts.Header.Del("Authorization")
	switch auth {
	case AuthBasic:
		opts.BasicAuth = &httpclient.BasicAuthOptions{User: user, Password: password}
	case AuthBearer:
		opts.Header.Set("Authorization", "Bearer "+token)
	}
	// This upstream's own custom headers, after the common ones (which they
	// replace when both name the same header). Load refused the ones that
	// a setting owns (X-Scope-OrgID; Authorization with basic or bearer).
	for name, values := range custom {
		opts.Header.Del(name)
		for _, v := range values {
			opts.Header.Add(name, v)
		}
	}

	var tlsOpts *httpclient.TLSOptions
	if skipVerify || caCert != "" {
		tlsOpts = &httpclient.TLSOptions{InsecureSkipVerify: skipVerify, CACertificate: caCert}
	}
	if base.TLS != nil && (base.TLS.MinVersion != 0 || base.TLS.MaxVersion != 0) {
		// Keep Grafana's forced TLS version (the PluginsForceTLS13 toggle).
		if tlsOpts == nil {
			tlsOpts = &httpclient.TLSOptions{}
		}
		tlsOpts.MinVersion, tlsOpts.MaxVersion = base.TLS.MinVersion, base.TLS.MaxVersion
	}
	opts.TLS = tlsOpts
	return opts
}
