package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// HTTPError is a non-2xx answer from Tempo or Loki. Callers branch on Status
// (for example Tempo's 404 for an unknown trace); Error() says what is wrong
// and what to do.
type HTTPError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// SettingPrefix is "tempo" or "loki", for naming settings in messages.
	SettingPrefix string
	// Hints word what to change; nil means the data source's.
	Hints *Hints
	// URL is the request URL without credentials or query string.
	URL string
	// Status is the HTTP status code.
	Status int
	// Body is the upstream's (plain-text) answer, trimmed, at most 4 KiB,
	// with every secret the request carried redacted. For an HTML page it
	// is only "an HTML page titled …" (see HTML).
	Body string
	// HTML is true when the answer was an HTML page (a proxy's or a login
	// page), not the upstream's own words.
	HTML bool
	// RetryAfter is the wait the upstream asked for in Retry-After, or -1.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent (429 is retried).
	Attempts int
}

// NoOrgID reports the answer Tempo and Loki give in multi-tenant mode when
// no tenant header was sent: 401 "no org id".
func (e *HTTPError) NoOrgID() bool {
	return e.Status == http.StatusUnauthorized && strings.Contains(strings.ToLower(e.Body), "no org id")
}

func (e *HTTPError) Error() string {
	said := e.said()
	h := hintsOr(e.Hints, e.Upstream, e.SettingPrefix)
	switch {
	case e.HTML:
		title := ""
		if _, t, ok := strings.Cut(e.Body, " titled "); ok {
			title, _ = strconv.Unquote(t)
		}
		return htmlMessage(e.Upstream, h, e.URL, e.Status, title)
	case e.NoOrgID():
		return fmt.Sprintf("%s at %s runs multi-tenant and needs a tenant (HTTP 401%s); set %s%s",
			e.Upstream, e.URL, said, h.Tenant, h.Where)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return fmt.Sprintf("%s at %s refused the request (HTTP %d%s); check the token/tenant: %s%s",
			e.Upstream, e.URL, e.Status, said, h.Auth, h.Where)
	case e.Status == http.StatusNotFound:
		if e.Body != "" {
			said = " (" + e.Body + ")"
		}
		return fmt.Sprintf("%s answered HTTP 404%s: this URL is not a %s API; check %s%s: it should be the %s base URL, e.g. %s",
			e.URL, said, e.Upstream, h.URL, h.Where, e.Upstream, exampleURL(e.Upstream))
	case e.Status == http.StatusBadRequest:
		if e.Body != "" {
			return fmt.Sprintf("%s rejected the request: %s (HTTP 400 from %s)", e.Upstream, e.Body, e.URL)
		}
		return fmt.Sprintf("%s rejected the request to %s (HTTP 400)", e.Upstream, e.URL)
	case e.Status == http.StatusTooManyRequests:
		tried := ""
		if e.Attempts > 1 {
			tried = fmt.Sprintf(" after %d attempts", e.Attempts)
		}
		if e.RetryAfter > 0 {
			tried += fmt.Sprintf("; it asks to wait %v", e.RetryAfter)
		}
		return fmt.Sprintf("%s at %s is rate-limiting requests (HTTP 429%s%s); try again later or narrow the time range", e.Upstream, e.URL, said, tried)
	case e.Status >= 500:
		return fmt.Sprintf("%s at %s failed (HTTP %d%s); check that %s is healthy and try again", e.Upstream, e.URL, e.Status, said, e.Upstream)
	default:
		return fmt.Sprintf("%s at %s answered HTTP %d%s", e.Upstream, e.URL, e.Status, said)
	}
}

func (e *HTTPError) said() string {
	if e.Body == "" {
		return ""
	}
	return ": " + e.Body
}

func exampleURL(upstream string) string {
	if upstream == "Loki" {
		return "http://loki:3100"
	}
	return "http://tempo:3200"
}

// transportError words a failure to get any answer at all. Everything here
// is downstream (the network or the upstream), except a request the caller
// built wrongly, which net/http reports before dialing.
func (u *Upstream) transportError(ctx context.Context, err error) error {
	where := u.BaseURL()
	cause := err
	if ue, ok := errors.AsType[*url.Error](err); ok {
		// url.Error repeats the full URL (query included); keep only the cause.
		cause = ue.Err
	}
	if re, ok := errors.AsType[*RedirectError](err); ok {
		return backend.DownstreamError(re)
	}
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return backend.DownstreamErrorf("the request to %s at %s was cancelled", u.Name, where)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return backend.DownstreamError(fmt.Errorf("%s at %s did not answer in time (%s); check that %s is healthy, %s or narrow the query: %w",
			u.Name, where, scrub(fmt.Sprint(cause)), u.Name, u.hints.Timeout, ErrTimeout))
	case isTLSVerify(err):
		return backend.DownstreamErrorf("cannot verify the TLS certificate of %s at %s: %s; %s",
			u.Name, where, scrub(fmt.Sprint(cause)), u.hints.TLS)
	default:
		return backend.DownstreamErrorf("cannot reach %s at %s: %s; check %s and that %s is running and reachable from %s",
			u.Name, where, scrub(fmt.Sprint(cause)), u.hints.URL, u.Name, u.hints.From)
	}
}

// ErrTimeout is wrapped by errors for requests that did not finish in time,
// so callers and tests can recognise them with errors.Is.
var ErrTimeout = errors.New("timeout")

func isTimeout(err error) bool {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	return false
}

func isTLSVerify(err error) bool {
	var (
		certErr      x509.CertificateInvalidError
		authorityErr x509.UnknownAuthorityError
		hostErr      x509.HostnameError
	)
	_, verifyErr := errors.AsType[*tls.CertificateVerificationError](err)
	return verifyErr || errors.As(err, &certErr) || errors.As(err, &authorityErr) || errors.As(err, &hostErr)
}
