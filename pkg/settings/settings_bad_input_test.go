package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Bad settings beyond TestLoadRejects: schemes that are not HTTP, URLs that
// do not parse, tenants that would inject headers, values of the wrong
// shape. Each is refused with a message that names the key, never echoes a
// secret, and never reaches an HTTP client.
func TestLoadRejectsHostileOrBrokenSettings(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	tests := []struct {
		name     string
		jsonData string // raw, to send shapes a map cannot
		secure   map[string]string
		key      string
		says     string
	}{
		{"javascript URL", `{"tempoUrl":"javascript:alert(1)","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "has no scheme"},
		{"file URL", `{"tempoUrl":"http://tempo:3200","lokiUrl":"file:///etc/passwd"}`, nil, "lokiUrl", `uses the scheme "file"`},
		{"unix socket URL", `{"tempoUrl":"unix:///var/run/tempo.sock","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", `uses the scheme "unix"`},
		{"gopher", `{"tempoUrl":"gopher://tempo:70","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "http:// or https://"},
		{"port without host", `{"tempoUrl":"http://:3200","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "has no host"},
		{"space in host", `{"tempoUrl":"http://tem po:3200","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "is not a valid URL"},
		{"control character in URL", `{"tempoUrl":"http://tempo:3200/a\u0000b","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "is not a valid URL"},
		{"password in URL is not echoed", `{"tempoUrl":"http://admin:` + secret + `@tempo:3200","lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "contains credentials"},
		{"fragment in URL", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100/#x"}`, nil, "lokiUrl", "query or fragment"},
		{"URL as a number", `{"tempoUrl":3200,"lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "wrong type"},
		{"URL as a list", `{"tempoUrl":["http://tempo:3200"],"lokiUrl":"http://loki:3100"}`, nil, "tempoUrl", "wrong type"},
		{"tenant injecting a header", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":"a\r\nAuthorization: Bearer x"}`, nil, "tenantId", `'\r'`},
		{"tenant with a newline", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":"a\nb"}`, nil, "tenantId", `'\n'`},
		{"tenant with a NUL", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":"a\u0000"}`, nil, "tenantId", `'\x00'`},
		{"tenant with a colon", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":"a:b"}`, nil, "tenantId", "':'"},
		{"tenant as a number", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":7}`, nil, "tenantId", "wrong type"},
		{"trailing pipe federation", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","tenantId":"a|"}`, nil, "tenantId", "empty tenant"},
		{"size in exponent form", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","maxTraceMB":"1e3"}`, nil, "maxTraceMB", "not a whole number"},
		{"absurd size", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","maxLogsMB":99999999999999999999}`, nil, "maxLogsMB", "not a whole number"},
		{"huge timeout", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","timeoutSeconds":9223372036854775807}`, nil, "timeoutSeconds", "out of range"},
		{"regex that never compiles", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","retryPattern":"(?P<x"}`, nil, "retryPattern", "not a valid regular expression"},
		{"regex matching everything, in disguise", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","retryPattern":"retry|"}`, nil, "retryPattern", "matches every log line"},
		{"give-up regex that never compiles", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","giveUpPattern":"giving up ("}`, nil, "giveUpPattern", "not a valid regular expression"},
		{"give-up regex matching everything", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","giveUpPattern":"(giving up)?"}`, nil, "giveUpPattern", "matches every log line"},
		{"selector that is LogQL but not a selector", `{"tempoUrl":"http://tempo:3200","lokiUrl":"http://loki:3100","logSelector":"rate({a=\"b\"}[1m])"}`, nil, "logSelector", "not a LogQL stream selector"},
		{"jsonData is a list", `["tempoUrl"]`, nil, "jsonData", "not valid JSON"},
		{"CA certificate that is a private key", `{"tempoUrl":"https://tempo:3200","lokiUrl":"http://loki:3100"}`,
			map[string]string{"tempoTlsCACert": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI" + secret + "\n-----END PRIVATE KEY-----\n"}, "tempoTlsCACert", "not a PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(backend.DataSourceInstanceSettings{JSONData: json.RawMessage(tc.jsonData), DecryptedSecureJSONData: tc.secure})
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok || !ve.Has(tc.key) {
				t.Fatalf("want a problem for %s, got %v", tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("message lacks %q: %v", tc.says, err)
			}
			if !backend.IsDownstreamError(err) {
				t.Errorf("want downstream: %v", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("secret leaked: %v", err)
			}
		})
	}
}
