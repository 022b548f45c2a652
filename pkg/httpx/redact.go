package httpx

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redacted replaces a secret in text shown to a person.
const redacted = "[redacted]"

// minSecretLen keeps redaction from blanking out every "a" in a message
// when a header holds a one-letter value.
const minSecretLen = 4

// harmlessHeaders are request headers whose values are not secrets; every
// other header the request carried (Authorization, custom headers from the
// data source settings, cookies) is treated as one.
var harmlessHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "User-Agent": true, "Content-Type": true,
	http.CanonicalHeaderKey(TenantHeader): true, "X-Loki-Response-Encoding-Flags": true,
	"Traceparent": true, "Tracestate": true,
}

// authSchemeRE and assignedSecretRE find credentials anywhere in a text,
// for upstreams that echo them back in a form we did not send.
var (
	authSchemeRE     = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*`)
	assignedSecretRE = regexp.MustCompile(`(?i)\b(token|password|passwd|secret|api[_-]?key)(=|"\s*:\s*")[^\s"&,;]{4,}`)
)

// userinfoRE finds credentials in URLs written in a text.
var userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@`)

// redact removes from text (an upstream's error body) every secret the
// request carried: header values, the token and password inside
// Authorization, and anything that looks like credentials. An upstream
// that echoes the request back must not make us show the token.
func redact(text string, sent *http.Request) string {
	if text == "" {
		return text
	}
	var secrets []string
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= minSecretLen {
			secrets = append(secrets, s)
		}
	}
	if sent != nil {
		for k, vs := range sent.Header {
			if harmlessHeaders[http.CanonicalHeaderKey(k)] {
				continue
			}
			for _, v := range vs {
				add(v)
				scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
				if !ok {
					continue
				}
				add(cred)
				if strings.EqualFold(scheme, "basic") {
					if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
						// The user name is not a secret; the password is.
						_, pass, _ := strings.Cut(string(dec), ":")
						add(string(dec))
						add(pass)
					}
				}
			}
		}
		if sent.URL != nil && sent.URL.User != nil {
			if p, ok := sent.URL.User.Password(); ok {
				add(p)
			}
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, redacted)
	}
	text = authSchemeRE.ReplaceAllString(text, "${1}${2}"+redacted)
	text = assignedSecretRE.ReplaceAllString(text, "${1}${2}"+redacted)
	return userinfoRE.ReplaceAllString(text, "${1}:"+redacted+"@")
}

// scrub removes credentials written in URLs from a message (e.g. a proxy
// URL in a transport error).
func scrub(msg string) string { return userinfoRE.ReplaceAllString(msg, "${1}:"+redacted+"@") }

// sameOriginRedirects returns a copy of hc that follows redirects only
// within the same scheme, host and port. The SDK's auth middleware adds the
// Authorization header to every request it sends, redirected ones
// included, so following a redirect to a login page on another host would
// hand it the token.
func sameOriginRedirects(hc *http.Client, u *Upstream) *http.Client {
	c := *hc
	prev := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if first := via[0].URL; !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
			return &RedirectError{Upstream: u.Name, SettingPrefix: u.SettingPrefix, Hints: &u.hints, From: originOf(first), To: originOf(req.URL)}
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

func originOf(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// RedirectError is a redirect to another origin, which is not followed.
type RedirectError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// SettingPrefix is "tempo" or "loki".
	SettingPrefix string
	// Hints word what to change; nil means the data source's.
	Hints *Hints
	// From and To are the origins (scheme://host:port) involved.
	From, To string
}

func (e *RedirectError) Error() string {
	h := hintsOr(e.Hints, e.Upstream, e.SettingPrefix)
	return fmt.Sprintf("%s at %s redirected the request to %s, probably a login page; Tracegap does not follow redirects to another host, so that credentials are not sent there; set %s%s to the address %s's API answers on directly",
		e.Upstream, e.From, e.To, h.URL, h.Where, e.Upstream)
}
