// Package tempo speaks Grafana Tempo's HTTP API: trace by id, TraceQL
// search, tag values, health. It returns pkg/model values and errors that
// carry their source; it knows nothing of Grafana's frames.
package tempo

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracegap/correlator/pkg/httpx"
)

// HTTPError is a non-2xx answer from Tempo; use errors.As to read Status.
type HTTPError = httpx.HTTPError

// DefaultMaxBodyBytes is the response size limit when none is set (512 MiB).
const DefaultMaxBodyBytes = httpx.DefaultMaxBodyBytes

// Client talks to one Tempo through an *http.Client that already carries
// auth, TLS and timeouts (built by the SDK's httpclient from the settings).
type Client struct {
	up *httpx.Upstream
}

// Option changes a Client built by New.
type Option func(*Client)

// WithMaxBodyBytes caps each response body; larger answers are an error that
// names the limit and the maxTraceMB setting. n <= 0 keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) { c.up.MaxBodyBytes = n }
}

// WithHints words the client's messages for another reader than the data
// source's: the terminal command names its flags (see httpx.Hints).
func WithHints(h httpx.Hints) Option {
	return func(c *Client) { c.up.SetHints(h) }
}

// New returns a Client for the Tempo at baseURL (e.g. http://tempo:3200).
// tenant, when not empty, is sent as X-Scope-OrgID. A nil hc means
// http.DefaultClient. A malformed baseURL is reported by every request.
func New(baseURL string, hc *http.Client, tenant string, opts ...Option) *Client {
	c := &Client{up: httpx.NewUpstream("Tempo", "tempo", baseURL, hc, tenant)}
	c.up.LimitSetting = "maxTraceMB"
	c.up.SetHints(httpx.DataSourceHints("Tempo", "tempo", c.up.LimitSetting))
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the Tempo base URL without credentials.
func (c *Client) BaseURL() string { return c.up.BaseURL() }

// HTTPClient returns the underlying *http.Client (the plugin closes its idle
// connections on Dispose).
func (c *Client) HTTPClient() *http.Client { return c.up.HTTPClient() }

// get sends GET path?query to Tempo and returns the 2xx answer, fully read.
// Non-2xx answers are errors wrapping *HTTPError; every error carries its
// source (downstream vs plugin) and says what to do.
func (c *Client) get(ctx context.Context, path string, query url.Values, accept string, header http.Header) (*httpx.Response, error) {
	return c.up.Get(ctx, path, query, accept, header)
}

// Seconds is the range Tempo is asked for when asked for [start, end]:
// whole seconds, the end rounded up, since Tempo's range is in whole
// seconds. A zero time is no bound (0): Tempo then picks its own. Caches
// key on it, so that ranges Tempo cannot tell apart share an answer.
func Seconds(start, end time.Time) (from, to int64) {
	if !start.IsZero() {
		from = start.Unix()
	}
	if !end.IsZero() {
		to = end.Add(time.Second - 1).Unix()
	}
	return from, to
}

// setRange puts Seconds(start, end) on q, leaving out the bounds that are
// not set (zero times).
func setRange(q url.Values, start, end time.Time) {
	from, to := Seconds(start, end)
	if !start.IsZero() {
		q.Set("start", strconv.FormatInt(from, 10))
	}
	if !end.IsZero() {
		q.Set("end", strconv.FormatInt(to, 10))
	}
}
