package loki

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tracegap/correlator/pkg/httpx"
)

// BuildInfo is what Loki's /loki/api/v1/status/buildinfo reports.
type BuildInfo = httpx.BuildInfo

// Health checks that Loki is ready (/ready), reads its build info, and proves
// the tenant and credentials by listing label names. Version is "" when
// Loki does not expose build info. Errors say what failed and what to do.
func (c *Client) Health(ctx context.Context) (BuildInfo, error) {
	// Gateways in front of Loki (the Helm chart's nginx, hosted Loki) often
	// pass only /loki/api/...; a 404 on /ready is then no verdict, and the
	// label lookup below decides whether this is a Loki API.
	if _, err := c.get(ctx, "/ready", nil, "text/plain", nil); err != nil && !isNotFound(err) {
		return BuildInfo{}, err
	}

	var info BuildInfo
	const buildinfo = "/loki/api/v1/status/buildinfo"
	resp, err := c.get(ctx, buildinfo, nil, "application/json", nil)
	switch {
	case isNotFound(err):
		// Older Loki releases have no build-info endpoint: version unknown.
	case err != nil:
		return BuildInfo{}, err
	default:
		// Empty or unreadable build info leaves the version unknown; it
		// says nothing about whether this is the API (see DecodeBuildInfo).
		info, _ = httpx.DecodeBuildInfo(resp.Body)
	}

	if _, err := c.Labels(ctx, time.Time{}, time.Time{}); err != nil {
		return BuildInfo{}, err
	}
	return info, nil
}

func isNotFound(err error) bool {
	he, ok := errors.AsType[*HTTPError](err)
	return ok && he.Status == http.StatusNotFound
}
