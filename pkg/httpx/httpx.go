// Package httpx holds what Tracegap's two HTTP speakers, pkg/tempo and
// pkg/loki, share: one GET with a body-size limit, and an error for every way
// it can fail, worded for the person who reads it in Grafana and stamped with
// its error source (downstream vs plugin) where the HTTP happens.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// DefaultMaxBodyBytes is the response size limit used when none is set: 512 MiB.
const DefaultMaxBodyBytes int64 = 512 << 20

// TenantHeader is the header Tempo and Loki read the tenant (org) id from.
const TenantHeader = "X-Scope-OrgID"

// Upstream is one HTTP API (Tempo or Loki) reached through an *http.Client
// that already carries auth, TLS and timeouts.
type Upstream struct {
	// Name is the product name used in messages: "Tempo" or "Loki".
	Name string
	// SettingPrefix is the prefix of this upstream's setting keys ("tempo",
	// "loki"), so messages can name the setting to change (lokiUrl, …).
	SettingPrefix string
	// LimitSetting names the setting that raises MaxBodyBytes (maxTraceMB,
	// …); messages word it through the hints (DataSourceHints).
	LimitSetting string
	// MaxBodyBytes caps a response body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	base    *url.URL
	baseErr error
	// hints word what to change in messages (DataSourceHints by default).
	hints  Hints
	http   *http.Client
	tenant string

	// retry and sleep are the 429 policy and how to wait; nil means
	// defaultRetryPolicy and a timer (tests replace both).
	retry *retryPolicy
	sleep func(context.Context, time.Duration) error
}

// NewUpstream builds an Upstream. A bad base URL is not reported here but by
// every request, so constructors stay infallible; settings validation
// catches it earlier in practice.
func NewUpstream(name, settingPrefix, baseURL string, hc *http.Client, tenant string) *Upstream {
	if hc == nil {
		hc = http.DefaultClient
	}
	u := &Upstream{Name: name, SettingPrefix: settingPrefix, tenant: tenant, hints: DataSourceHints(name, settingPrefix, "")}
	u.http = sameOriginRedirects(hc, u)
	u.base, u.baseErr = parseBase(baseURL)
	if u.baseErr != nil {
		u.baseErr = backend.DownstreamErrorf("the %s URL (%sUrl) %q is not a valid http(s) URL: %v; fix it in the data source settings",
			name, settingPrefix, redactRaw(baseURL), u.baseErr)
	}
	return u
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("it must start with http:// or https://")
	}
	if u.Host == "" {
		return nil, errors.New("it has no host")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// BaseURL returns the base URL without credentials, for messages.
func (u *Upstream) BaseURL() string {
	if u.base == nil {
		return ""
	}
	return u.base.Redacted()
}

// HTTPClient returns the client requests go through (for Dispose).
func (u *Upstream) HTTPClient() *http.Client { return u.http }

// Response is a fully read 2xx answer.
type Response struct {
	// Status is the HTTP status code (2xx).
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body holds the whole body, at most MaxBodyBytes.
	Body []byte

	buf *[]byte // Body's pooled buffer, until Release
}

// Release hands the body's buffer back for the next answer (a Loki pager
// reads dozens of pages of megabytes one after another). Call it only once
// nothing refers to Body any more; Body is nil afterwards. Not calling it
// is fine: the buffer is then garbage like any other.
func (r *Response) Release() {
	if r == nil || r.buf == nil {
		return
	}
	if cap(r.Body) <= maxPooledBody {
		*r.buf = r.Body[:0]
		bodyPool.Put(r.buf)
	}
	r.Body, r.buf = nil, nil
}

// Get sends GET base+path?query with the given Accept header, extra headers
// and the tenant header, reads the body up to the limit and returns it for a
// 2xx answer. Every failure is an error that carries its source; a non-2xx
// answer wraps an *HTTPError so callers can branch on the status.
//
// A 429 is tried again (GET is idempotent) after the wait the upstream asks
// for in Retry-After, within a small budget (see retryPolicy) and never past
// ctx: during an incident a short, bounded wait beats failing the panel, and
// an upstream that asks for a long pause gets it from us, not more load.
func (u *Upstream) Get(ctx context.Context, path string, query url.Values, accept string, header http.Header) (*Response, error) {
	if u.baseErr != nil {
		return nil, u.baseErr
	}
	target := *u.base
	target.Path = u.base.Path + "/" + strings.TrimLeft(path, "/")
	target.RawQuery = query.Encode()

	policy := u.retry
	if policy == nil {
		policy = &defaultRetryPolicy
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := u.getOnce(ctx, target.String(), path, accept, header)
		he, ok := errors.AsType[*HTTPError](err)
		if !ok || he.Status != http.StatusTooManyRequests {
			return resp, err
		}
		he.Attempts = attempt
		wait, retry := policy.next(ctx, attempt, waited, he.RetryAfter)
		if !retry {
			return nil, err
		}
		sleep := u.sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if serr := sleep(ctx, wait); serr != nil {
			return nil, u.transportError(ctx, serr)
		}
		waited += wait
	}
}

// getOnce is one GET: request, answer, body.
func (u *Upstream) getOnce(ctx context.Context, target, path, accept string, header http.Header) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, backend.PluginErrorf("building the %s request for %s: %w", u.Name, path, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	// The tenant comes from the data source settings only: whatever a
	// caller passed under that name is dropped, so nothing derived from a
	// query can pick another tenant's data.
	req.Header.Del(TenantHeader)
	if u.tenant != "" {
		req.Header.Set(TenantHeader, u.tenant)
	}

	resp, err := u.http.Do(req)
	if err != nil {
		return nil, u.transportError(ctx, err)
	}
	// Not drained on purpose: an upstream that stalls mid-body must not
	// hold us. Bodies read to the end (every short error body) keep their
	// connection for reuse anyway.
	defer func() { _ = resp.Body.Close() }()
	// The request the transport saw carries what the auth middleware added
	// (Authorization, custom headers): those values must never be echoed.
	sent := req
	if resp.Request != nil {
		sent = resp.Request
	}

	limit := u.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, u.httpError(path, resp, sent)
	}
	if resp.ContentLength > limit {
		// Refuse before reading: the upstream told us the size.
		return nil, backend.DownstreamError(u.tooLarge(path, limit))
	}
	buf := bodyPool.Get().(*[]byte)
	body, err := u.readBody(ctx, path, resp, limit+1, *buf)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, backend.DownstreamError(u.tooLarge(path, limit))
	}
	if !acceptsHTML(accept) && isHTML(resp.Header.Get("Content-Type"), body) {
		// A login page or proxy page answered 200 in Tempo's/Loki's place;
		// decoding it would only produce a confusing parse error (or, for
		// protobuf, a "valid" empty trace).
		return nil, backend.DownstreamError(&HTMLPageError{
			Upstream: u.Name, SettingPrefix: u.SettingPrefix, URL: u.redactedPath(path),
			Status: resp.StatusCode, Title: htmlTitle(body), Hints: &u.hints,
		})
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, buf: buf}, nil
}

// httpError reads a non-2xx answer into an *HTTPError stamped with the
// source its status implies.
func (u *Upstream) httpError(path string, resp *http.Response, sent *http.Request) error {
	he := &HTTPError{
		Upstream:      u.Name,
		SettingPrefix: u.SettingPrefix,
		Hints:         &u.hints,
		URL:           u.redactedPath(path),
		Status:        resp.StatusCode,
		RetryAfter:    parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	// Error bodies are short plain text; never read more than needed to
	// pass the upstream's own words on. Read a little beyond what is kept,
	// so a secret that straddles the cut is still recognised and redacted.
	r, encErr := decodedBody(resp)
	var raw []byte
	if encErr == nil {
		raw, _ = io.ReadAll(io.LimitReader(r, maxErrorBody+1<<10))
	}
	switch {
	case encErr != nil:
		he.Body = "(a body compressed as " + strings.TrimSpace(resp.Header.Get("Content-Encoding")) + ", not shown)"
	case isHTML(resp.Header.Get("Content-Type"), raw):
		he.HTML = true
		he.Body = "an HTML page"
		if t := htmlTitle(raw); t != "" {
			he.Body += " titled " + strconv.Quote(t)
		}
	default:
		he.Body = clip(strings.TrimSpace(redact(string(raw), sent)), maxErrorBody)
	}
	return backend.NewErrorWithSource(he, backend.ErrorSourceFromHTTPStatus(resp.StatusCode))
}

// maxErrorBody caps how much of an error body is kept: enough for any
// Tempo/Loki message, small enough for a panel's error banner.
const maxErrorBody = 4 << 10

// redactedPath is base+path without credentials or query string: queries
// can be long and say nothing the message does not already say.
func (u *Upstream) redactedPath(path string) string {
	return u.BaseURL() + "/" + strings.TrimLeft(path, "/")
}

func redactRaw(raw string) string {
	if p, err := url.Parse(raw); err == nil {
		return p.Redacted()
	}
	return "<unparsable>"
}

// tooLarge is the error for an answer above limit, with the hints' way
// to raise it (or LimitSetting, for the data source).
func (u *Upstream) tooLarge(path string, limit int64) *TooLargeError {
	e := &TooLargeError{Upstream: u.Name, URL: u.redactedPath(path), Limit: limit, Raise: u.hints.Limit}
	if e.Raise == "" && u.hints.Where != "" {
		// Hints that point at the data source settings: name the setting.
		e.Setting = u.LimitSetting
	}
	return e
}

// TooLargeError reports a response body above the configured limit.
type TooLargeError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// URL is the request URL without credentials or query.
	URL string
	// Limit is the limit in bytes.
	Limit int64
	// Setting names the setting that raises the limit.
	Setting string
	// Raise says how to raise the limit; "" means Setting in the data
	// source settings.
	Raise string
}

func (e *TooLargeError) Error() string {
	msg := fmt.Sprintf("the %s response from %s is larger than the %s limit", e.Upstream, e.URL, formatBytes(e.Limit))
	switch {
	case e.Raise != "":
		msg += "; " + e.Raise + " or narrow the query"
	case e.Setting != "":
		msg += fmt.Sprintf("; raise %s in the data source settings or narrow the query", e.Setting)
	default:
		msg += "; narrow the query"
	}
	return msg
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
