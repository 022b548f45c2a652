package httpx

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// decodedBody returns the response body with its Content-Encoding undone.
// Go's transport already undoes gzip when it asked for it (then
// resp.Uncompressed is set and the header is gone); a gzip body nobody asked
// for (a proxy, or a transport with compression off) is undone here, so the
// size limit applies to the decompressed bytes and a small gzip bomb cannot
// exhaust memory. Other encodings cannot be read: *EncodingError.
func decodedBody(resp *http.Response) (io.Reader, error) {
	if resp.Uncompressed {
		return resp.Body, nil
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return resp.Body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, &EncodingError{Encoding: enc, Err: err}
		}
		return &gzipBody{zr}, nil
	default:
		return nil, &EncodingError{Encoding: enc}
	}
}

// gzipBody marks read errors of a gzip stream as encoding errors, except a
// stream that simply ends early (a truncated answer, worded as such).
type gzipBody struct{ r *gzip.Reader }

func (g *gzipBody) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		var corrupt flate.CorruptInputError
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
			err = &EncodingError{Encoding: "gzip", Err: err}
		}
	}
	return n, err
}

// bodyPool holds read buffers between answers (Response.Release): reading
// each page into a fresh slice grown by doubling allocated about twice the
// bytes fetched, a fifth of a large trace query's allocations.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse; a larger one (a huge
// trace) is left to the garbage collector rather than held.
const maxPooledBody = 32 << 20

// readBody reads a 2xx body, at most max bytes, into buf (reused from its
// start; grown when the answer announces or turns out to be larger), and
// words every way that can fail.
func (u *Upstream) readBody(ctx context.Context, path string, resp *http.Response, max int64, buf []byte) ([]byte, error) {
	r, err := decodedBody(resp)
	if err != nil {
		return nil, u.encodingError(path, err)
	}
	if n := resp.ContentLength; n > 0 && n < max && int64(cap(buf)) <= n {
		buf = make([]byte, 0, n+1) // room for the EOF read
	}
	body, err := readAll(buf[:0], io.LimitReader(r, max))
	switch {
	case err == nil:
		return body, nil
	case errors.Is(err, io.ErrUnexpectedEOF) && ctx.Err() == nil:
		return nil, backend.DownstreamError(&TruncatedError{
			Upstream: u.Name, URL: u.redactedPath(path), Got: int64(len(body)), Announced: resp.ContentLength,
		})
	default:
		if _, ok := errors.AsType[*EncodingError](err); ok {
			return nil, u.encodingError(path, err)
		}
		return nil, u.transportError(ctx, err)
	}
}

// readAll is io.ReadAll appending to b. Without a buffer to reuse it is
// io.ReadAll itself, whose growth wastes less than doubling a slice.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	if cap(b) == 0 {
		return io.ReadAll(r)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the growth
		}
	}
}

func (u *Upstream) encodingError(path string, err error) error {
	ee, _ := errors.AsType[*EncodingError](err)
	if ee == nil {
		ee = &EncodingError{Err: err}
	}
	ee.Upstream, ee.URL = u.Name, u.redactedPath(path)
	return backend.DownstreamError(ee)
}

// EncodingError is an answer whose Content-Encoding cannot be read (not
// gzip), or a gzip answer that is corrupt.
type EncodingError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// URL is the request URL without credentials or query.
	URL string
	// Encoding is the Content-Encoding the answer declared.
	Encoding string
	// Err is the decompression error (nil for an unknown encoding).
	Err error
}

func (e *EncodingError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("the %s answer from %s is compressed as %q, which Tracegap cannot read; configure the proxy in front of %s to send it uncompressed or gzip-compressed",
			e.Upstream, e.URL, e.Encoding, e.Upstream)
	}
	return fmt.Sprintf("the %s answer from %s says it is %s-compressed but cannot be decompressed (%v); check the proxy in front of %s",
		e.Upstream, e.URL, e.Encoding, e.Err, e.Upstream)
}

// Unwrap returns the decompression error.
func (e *EncodingError) Unwrap() error { return e.Err }

// ErrTruncated is wrapped by errors for answers that ended before their
// announced end, so callers and tests can recognise them with errors.Is.
var ErrTruncated = errors.New("truncated answer")

// TruncatedError is an answer whose connection closed before the whole
// body arrived (fewer bytes than Content-Length, or a cut chunked stream).
type TruncatedError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// URL is the request URL without credentials or query.
	URL string
	// Got is how many (decoded) bytes arrived.
	Got int64
	// Announced is the Content-Length, or -1 when none was sent.
	Announced int64
}

func (e *TruncatedError) Error() string {
	of := ""
	if e.Announced > 0 {
		of = fmt.Sprintf(" of the %d announced", e.Announced)
	}
	return fmt.Sprintf("the %s answer from %s was cut off after %d bytes%s (the connection closed early); check that %s and any proxy in front of it are healthy, then try again",
		e.Upstream, e.URL, e.Got, of, e.Upstream)
}

// Is makes errors.Is(err, ErrTruncated) hold.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

// HTMLPageError is a 2xx answer that is an HTML page: a login page or a
// proxy's page answered in the upstream's place.
type HTMLPageError struct {
	// Upstream is "Tempo" or "Loki".
	Upstream string
	// SettingPrefix is "tempo" or "loki".
	SettingPrefix string
	// Hints word what to change; nil means the data source's.
	Hints *Hints
	// URL is the request URL without credentials or query.
	URL string
	// Status is the HTTP status code.
	Status int
	// Title is the page's <title>, if any (never the page itself).
	Title string
}

func (e *HTMLPageError) Error() string {
	return htmlMessage(e.Upstream, hintsOr(e.Hints, e.Upstream, e.SettingPrefix), e.URL, e.Status, e.Title)
}

// htmlMessage words an HTML page answered in Tempo's or Loki's place. The
// page itself is never shown: it is long, and a login page may echo what
// was sent.
func htmlMessage(upstream string, h Hints, url string, status int, title string) string {
	titled := ""
	if title != "" {
		titled = ", titled " + fmt.Sprintf("%q", title)
	}
	hint := fmt.Sprintf("check %s%s and that no proxy or single sign-on intercepts requests from %s", h.URL, h.Where, h.From)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusProxyAuthRequired:
		hint = fmt.Sprintf("check %s, and %s%s; Tracegap must reach %s's API directly, not through a login page", h.Auth, h.URL, h.Where, upstream)
	case status >= 500:
		hint = fmt.Sprintf("check that %s and the proxy in front of it are healthy and try again", upstream)
	}
	return fmt.Sprintf("the request to %s got an HTML page (HTTP %d%s), probably a proxy or login page, not %s; %s",
		url, status, titled, upstream, hint)
}

// acceptsHTML says whether the caller asked for HTML (then an HTML page is
// the answer, not a sign of a proxy).
func acceptsHTML(accept string) bool {
	return strings.Contains(accept, "text/html")
}

// isHTML recognises an HTML page by its content type or, for servers that
// send none or a wrong one, by how it starts.
func isHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n\f")
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	if len(b) > 32 {
		b = b[:32]
	}
	lower := bytes.ToLower(b)
	return bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html")) ||
		bytes.HasPrefix(lower, []byte("<head")) || bytes.HasPrefix(lower, []byte("<body"))
}

// htmlTitle returns a page's <title> text, tidied and capped: enough to
// recognise "502 Bad Gateway" or "Sign in", never the page.
func htmlTitle(body []byte) string {
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	lower := bytes.ToLower(body)
	i := bytes.Index(lower, []byte("<title"))
	if i < 0 {
		return ""
	}
	gt := bytes.IndexByte(lower[i:], '>')
	if gt < 0 {
		return ""
	}
	start := i + gt + 1
	end := bytes.Index(lower[start:], []byte("</title"))
	if end < 0 {
		return ""
	}
	t := strings.Join(strings.Fields(html.UnescapeString(string(body[start:start+end]))), " ")
	return clip(t, 80)
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
