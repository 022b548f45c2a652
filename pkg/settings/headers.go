package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Custom HTTP headers follow Grafana's convention for data sources
// (httpHeaderName1 in jsonData, httpHeaderValue1 in secureJsonData), once
// per upstream: tempoHttpHeaderName1..N / tempoHttpHeaderValue1..N and
// lokiHttpHeaderName1..N / lokiHttpHeaderValue1..N. Values are secrets
// (API keys, gateway tokens): they are read only from secureJsonData, never
// marshalled, never quoted in messages, and pkg/httpx redacts them from any
// upstream answer that echoes them.
//
// Two headers are refused because a setting already owns them and two
// sources of truth would silently disagree:
//   - X-Scope-OrgID: the tenant comes from tenantId, for both upstreams.
//   - Authorization, when the upstream's authentication (tempoAuth,
//     lokiAuth) is basic or bearer; with none it is allowed, for schemes
//     the authentication setting does not offer (e.g. "Api-Key …").
//
// Names are checked as HTTP tokens (no spaces, colons, CR or LF), values
// for CR, LF and other control characters; a name without a saved value,
// or a value without a name, is a problem too.

// headerNameKey matches the jsonData keys of custom header names.
var headerNameKey = regexp.MustCompile(`^(tempo|loki)HttpHeaderName([1-9][0-9]{0,2})$`)

// readHeaders reads one upstream's custom headers from jsonData (names)
// and secureJsonData (values), in the order of their numbers, and the
// problems found.
func readHeaders(jsonData json.RawMessage, secure map[string]string, prefix, name string, auth AuthKind) (http.Header, []Problem) {
	names := map[int]string{}
	var obj map[string]json.RawMessage
	if trimmed := bytes.TrimSpace(jsonData); len(trimmed) > 0 {
		_ = json.Unmarshal(trimmed, &obj) // decode already reported invalid JSON
	}
	var ps []Problem
	for key, raw := range obj {
		m := headerNameKey.FindStringSubmatch(key)
		if m == nil || m[1] != prefix {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			ps = append(ps, Problem{Key: key, Message: "has the wrong type (a header name is text); re-save it in the data source settings"})
			continue
		}
		names[n] = strings.TrimSpace(s)
	}
	for key := range secure {
		if n, ok := strings.CutPrefix(key, prefix+"HttpHeaderValue"); ok {
			if i, err := strconv.Atoi(n); err == nil && i > 0 {
				if _, named := names[i]; !named {
					names[i] = ""
				}
			}
		}
	}
	nums := make([]int, 0, len(names))
	for n := range names {
		nums = append(nums, n)
	}
	slices.Sort(nums)

	h := http.Header{}
	for _, n := range nums {
		nameKey := fmt.Sprintf("%sHttpHeaderName%d", prefix, n)
		valueKey := fmt.Sprintf("%sHttpHeaderValue%d", prefix, n)
		header := names[n]
		value, saved := secure[valueKey]
		switch {
		case header == "" && saved:
			ps = append(ps, Problem{Key: nameKey, Message: fmt.Sprintf("is empty but %s is saved; enter the header's name or remove the header", valueKey)})
			continue
		case header == "":
			continue // an empty row the editor left behind
		case !validHeaderName(header):
			ps = append(ps, Problem{Key: nameKey, Message: fmt.Sprintf("%q is not an HTTP header name; use letters, digits and dashes, e.g. X-Api-Key (no spaces, colons or line breaks)", clipName(header))})
			continue
		case strings.EqualFold(header, "X-Scope-OrgID"):
			ps = append(ps, Problem{Key: nameKey, Message: "X-Scope-OrgID is the tenant, which is set by the tenant id (tenantId) for both Tempo and Loki; remove this header and set tenantId"})
			continue
		case strings.EqualFold(header, "Authorization") && auth != AuthNone:
			ps = append(ps, Problem{Key: nameKey, Message: fmt.Sprintf("Authorization is already set by the %s authentication (%sAuth is %s); remove this header, or set %sAuth to none to send your own", name, prefix, auth, prefix)})
			continue
		case !saved:
			ps = append(ps, Problem{Key: valueKey, Message: fmt.Sprintf("header %s has no saved value; enter its value or remove the header", header)})
			continue
		case !validHeaderValue(value):
			// Never quote the value: it is a secret.
			ps = append(ps, Problem{Key: valueKey, Message: fmt.Sprintf("the value of header %s holds a line break or another control character; enter it on one line", header)})
			continue
		}
		h.Add(header, strings.TrimSpace(value))
	}
	if len(h) == 0 {
		h = nil
	}
	return h, ps
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses CR, LF, NUL and the other control characters
// (tab is allowed), which would split or corrupt the request.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// clipName keeps a bad header name short in a message (%q, which quotes
// it, keeps it on one line).
func clipName(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
