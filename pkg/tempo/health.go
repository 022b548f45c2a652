package tempo

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tracegap/correlator/pkg/httpx"
)

// BuildInfo is what Tempo's /api/status/buildinfo reports.
type BuildInfo = httpx.BuildInfo

// Health proves that the URL is a Tempo API (/api/echo answers "echo"),
// reads Tempo's build info, and proves the tenant and credentials with a
// tenant-scoped request (resource tag names). Version is "" when Tempo does
// not expose build info. Errors say what failed and what to do.
func (c *Client) Health(ctx context.Context) (BuildInfo, error) {
	const echo = "/api/echo"
	resp, err := c.get(ctx, echo, nil, "text/plain", nil)
	if err != nil {
		return BuildInfo{}, err
	}
	if strings.TrimSpace(string(resp.Body)) != "echo" {
		return BuildInfo{}, c.up.NotAPI(echo, "Tempo answers \"echo\"")
	}

	var info BuildInfo
	const buildinfo = "/api/status/buildinfo"
	resp, err = c.get(ctx, buildinfo, nil, "application/json", nil)
	switch he, isHTTP := errors.AsType[*HTTPError](err); {
	case isHTTP && he.Status == http.StatusNotFound:
		// Older Tempo releases have no build-info endpoint; the version is
		// then unknown, which is not a failure.
	case err != nil:
		return BuildInfo{}, err
	default:
		// Empty or unreadable build info leaves the version unknown; it
		// says nothing about whether this is the API (see DecodeBuildInfo).
		info, _ = httpx.DecodeBuildInfo(resp.Body)
	}

	// /api/echo and build info need no tenant and no credentials, so they
	// cannot show that the configured ones work; a tag-name lookup is
	// tenant-scoped, goes through the same auth as trace reads, and without
	// a time range touches only recent data.
	if _, err := c.get(ctx, "/api/search/tags", url.Values{"scope": {"resource"}}, "application/json", nil); err != nil {
		return BuildInfo{}, err
	}
	return info, nil
}
