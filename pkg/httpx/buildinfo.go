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

// DecodeBuildInfo reads a build-info body. Servers built from source
// answer with every field empty ({"version":"","revision":"",...}); that is
// still build info, with an unknown version. ok is false only when the body
// is not a JSON object at all. The caller never turns !ok into "not a
// Tempo/Loki API": the endpoints that prove the API (Tempo's /api/echo,
// Loki's labels) decide that, and build info only adds the version.
func DecodeBuildInfo(body []byte) (bi BuildInfo, ok bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return BuildInfo{}, false
	}
	// Decode field by field: a server that writes one field with another
	// type must not cost the others.
	for key, dst := range map[string]*string{"version": &bi.Version, "revision": &bi.Revision, "branch": &bi.Branch, "goVersion": &bi.GoVersion} {
		if raw, found := obj[key]; found {
			_ = json.Unmarshal(raw, dst)
		}
	}
	return bi, true
}

// NotAPI reports a 2xx answer that is not what the upstream sends: the URL
// points at some other web server.
func (u *Upstream) NotAPI(path, what string) error {
	return backend.DownstreamError(fmt.Errorf("the answer from %s is not what %s sends (%s): this URL is not a %s API; check %s%s",
		u.redactedPath(path), u.Name, what, u.Name, u.hints.URL, u.hints.Where))
}
