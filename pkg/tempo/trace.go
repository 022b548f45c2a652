package tempo

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/model"
)

// NotFoundError says Tempo has no trace with the id in the searched range.
// errors.Is(err, ErrTraceNotFound) is true for it.
type NotFoundError struct {
	TraceID string // normalised
}

// Error says which trace is missing and where to look.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("trace %s not found in Tempo (check the time range and tenant)", e.TraceID)
}

// Is makes errors.Is(err, ErrTraceNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrTraceNotFound }

// Trace fetches one trace by id. It asks GET /api/v2/traces/{id} for
// protobuf and falls back to the v1 /api/traces/{id} when Tempo answers 404
// (Tempo before 2.5 has no v2). Non-zero start and end bound the search
// (unix seconds; Tempo then skips blocks outside them). A trace Tempo does
// not have is a *NotFoundError, stamped as a downstream error.
func (c *Client) Trace(ctx context.Context, traceID string, start, end time.Time) (*TraceResult, error) {
	return c.TraceWithBounds(ctx, traceID, start, end, nil)
}

// BoundsFunc receives a trace's first span start and last span end.
type BoundsFunc func(first, last time.Time)

// TraceWithBounds is Trace, and calls bounds (when not nil) as soon as the
// trace's time bounds are known, before its spans are decoded: a caller
// can start what depends only on them, such as the trace's log query, while
// the spans are decoded. It is called at most once, on the calling
// goroutine, and only for a protobuf answer; the bounds are what the
// returned trace's Bounds gives. It may be called for an answer that then
// fails to decode (a bad span), so what it starts must be dropped when
// TraceWithBounds returns an error.
func (c *Client) TraceWithBounds(ctx context.Context, traceID string, start, end time.Time, bounds BoundsFunc) (*TraceResult, error) {
	id, ok := model.NormalizeTraceID(traceID)
	if !ok {
		return nil, backend.DownstreamErrorf("trace id %q is not 1 to 32 hex digits; copy it from a trace view or a log line", traceID)
	}
	q := url.Values{}
	setRange(q, start, end)

	v2 := "/api/v2/traces/" + id
	resp, err := c.get(ctx, v2, q, "application/protobuf", nil)
	if err == nil {
		return c.decodeTrace(id, v2, resp, decodeV2, bounds)
	}
	if he, ok := errors.AsType[*HTTPError](err); !ok || he.Status != http.StatusNotFound {
		return nil, err
	}

	v1 := "/api/traces/" + id
	resp, err = c.get(ctx, v1, q, "application/protobuf", nil)
	if err != nil {
		// v1 says "not found" with 404 and an empty body; a 404 with a body
		// ("404 page not found") is a router that knows neither path: the
		// URL is not Tempo's, and the HTTP error says so.
		if he, ok := errors.AsType[*HTTPError](err); ok && he.Status == http.StatusNotFound && he.Body == "" {
			return nil, backend.DownstreamError(&NotFoundError{TraceID: id})
		}
		return nil, err
	}
	return c.decodeTrace(id, v1, resp, decodeV1, bounds)
}

// decodeTrace decodes a 2xx trace answer: protobuf as asked, or JSON when a
// proxy or an old Tempo ignored the Accept header.
func (c *Client) decodeTrace(id, path string, resp *httpx.Response, decodePB func([]byte, BoundsFunc) (*TraceResult, error), bounds BoundsFunc) (*TraceResult, error) {
	decode := func(b []byte) (*TraceResult, error) { return decodePB(b, bounds) }
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		decode = DecodeTraceJSON
	}
	res, err := decode(resp.Body)
	switch {
	case errors.Is(err, ErrTraceNotFound):
		return nil, backend.DownstreamError(&NotFoundError{TraceID: id})
	case err != nil:
		return nil, backend.DownstreamError(fmt.Errorf("the answer from %s%s is not a Tempo trace (%w); check %s%s",
			c.BaseURL(), path, err, c.up.Hints().URL, c.up.Hints().Where))
	}
	return res, nil
}
