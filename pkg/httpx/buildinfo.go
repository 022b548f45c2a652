package httpx

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// BuildInfo is what Tempo's /api/status/buildinfo and Loki's
// /loki/api/v1/status/buildinfo report (both use Prometheus' build-info
// shape).
type BuildInfo struct {
	// Version is the release, e.g. "v3.0.3"; "" when the server does not say.
	Version string `json:"version"`
	// Revision is the commit the server was built from.
	Revision string `json:"revision"`
	// Branch is the branch the server was built from.
	Branch string `json:"branch"`
	// GoVersion is the Go toolchain (Loki 3.7 leaves it empty).
	GoVersion string `json:"goVersion"`
}

// DecodeBuildInfo reads a build-info body. A body that is not build info
// (for example an HTML page from a web server at the wrong URL) is reported
// as "not a <upstream> API".
func (u *Upstream) DecodeBuildInfo(path string, body []byte) (BuildInfo, error) {
	var bi BuildInfo
	if err := json.Unmarshal(body, &bi); err != nil || bi.Version == "" && bi.Revision == "" {
		return BuildInfo{}, u.NotAPI(path, "it is not build information")
	}
	return bi, nil
}

// NotAPI reports a 2xx answer that is not what the upstream sends: the URL
// points at some other web server.
func (u *Upstream) NotAPI(path, what string) error {
	return backend.DownstreamError(fmt.Errorf("the answer from %s is not what %s sends (%s): this URL is not a %s API; check the %s URL (%sUrl) in the data source settings",
		u.redactedPath(path), u.Name, what, u.Name, u.Name, u.SettingPrefix))
}
