package plugin

import (
	"errors"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/httpx"
	"github.com/tracegap/correlator/pkg/settings"
	"github.com/tracegap/correlator/pkg/tempo"
)

// respond is the one funnel from a handler's (frames, err) to a refID's
// DataResponse. The error keeps the source stamped where it happened (the
// Tempo/Loki clients, settings); an unstamped network error counts as
// downstream and anything else as a plugin error. Frames that came with an
// error are kept: a partial answer beats none.
func respond(frames data.Frames, err error) backend.DataResponse {
	if err == nil {
		return backend.DataResponse{Frames: frames}
	}
	if _, sourced := errors.AsType[backend.ErrorWithSource](err); !sourced {
		if backend.IsDownstreamHTTPError(err) {
			err = backend.DownstreamError(err)
		} else {
			err = backend.PluginError(err)
		}
	}
	r := backend.ErrorResponseWithErrorSource(err)
	r.Frames = frames
	r.Status = statusOf(err)
	return r
}

// statusOf picks the HTTP-like status Grafana shows with an error; 0 lets
// the SDK derive one.
func statusOf(err error) backend.Status {
	if _, ok := errors.AsType[*queryError](err); ok {
		return backend.StatusBadRequest
	}
	if _, ok := errors.AsType[*settings.ValidationError](err); ok {
		return backend.StatusBadRequest
	}
	if errors.Is(err, tempo.ErrTraceNotFound) {
		// Tempo says "no such trace" with a v2 200 or a v1 404; either way
		// the person sees a 404.
		return backend.StatusNotFound
	}
	if errors.Is(err, httpx.ErrTimeout) {
		return backend.StatusTimeout
	}
	if he, ok := errors.AsType[*httpx.HTTPError](err); ok {
		if he.Status >= 500 {
			return backend.StatusBadGateway
		}
		return backend.Status(he.Status)
	}
	return 0
}

// queryError is a query the user must change.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

// badQueryf reports a query the user must fix (bad JSON, missing trace id,
// unknown type): a downstream error answered with HTTP 400.
func badQueryf(format string, args ...any) error {
	return backend.DownstreamError(&queryError{msg: fmt.Sprintf(format, args...)})
}
