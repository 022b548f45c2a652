package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/httpx"
)

// upstreamHealth is one upstream's part of the health check's JSONDetails.
type upstreamHealth struct {
	OK      bool   `json:"ok"`
	URL     string `json:"url"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// healthDetails is the health check's JSONDetails: a verdict per upstream,
// or the settings problem that kept the check from running.
type healthDetails struct {
	Settings string          `json:"settings,omitempty"`
	Tempo    *upstreamHealth `json:"tempo,omitempty"`
	Loki     *upstreamHealth `json:"loki,omitempty"`
}

// CheckHealth checks both upstreams at once (URL, version, credentials and
// tenant) and says, per upstream, what works or exactly what failed.
// Settings problems are reported before any request is made.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return healthResult(backend.HealthStatusError, d.settingsErr.Error(), healthDetails{Settings: d.settingsErr.Error()}), nil
	}

	// Each upstream gets the request timeout for its whole check, so a
	// hanging upstream cannot hold the check for three timeouts.
	check := func(url string, probe func(context.Context) (httpx.BuildInfo, error)) *upstreamHealth {
		cctx, cancel := context.WithTimeout(ctx, d.settings.Timeout())
		defer cancel()
		info, err := probe(cctx)
		if err != nil {
			return &upstreamHealth{URL: url, Error: err.Error()}
		}
		return &upstreamHealth{OK: true, URL: url, Version: info.Version}
	}
	var det healthDetails
	var wg sync.WaitGroup
	wg.Go(func() { det.Tempo = check(d.tempo.BaseURL(), d.tempo.Health) })
	wg.Go(func() { det.Loki = check(d.loki.BaseURL(), d.loki.Health) })
	wg.Wait()

	tempo, loki := named("Tempo", det.Tempo), named("Loki", det.Loki)
	switch {
	case det.Tempo.OK && det.Loki.OK:
		return healthResult(backend.HealthStatusOk, fmt.Sprintf("%s and %s reachable", tempo, loki), det), nil
	case det.Tempo.OK:
		return healthResult(backend.HealthStatusError, fmt.Sprintf("%s is reachable, but the Loki check failed: %s", tempo, det.Loki.Error), det), nil
	case det.Loki.OK:
		return healthResult(backend.HealthStatusError, fmt.Sprintf("%s is reachable, but the Tempo check failed: %s", loki, det.Tempo.Error), det), nil
	default:
		return healthResult(backend.HealthStatusError, fmt.Sprintf("The Tempo check failed: %s. The Loki check failed: %s", det.Tempo.Error, det.Loki.Error), det), nil
	}
}

// named is "Tempo v3.0.3", or "Tempo (version unknown)".
func named(name string, h *upstreamHealth) string {
	if h.Version == "" {
		return name + " (version unknown)"
	}
	return name + " " + h.Version
}

func healthResult(status backend.HealthStatus, msg string, det healthDetails) *backend.CheckHealthResult {
	// Marshalling plain strings and bools cannot fail.
	details, _ := json.Marshal(det)
	return &backend.CheckHealthResult{Status: status, Message: msg, JSONDetails: details}
}
