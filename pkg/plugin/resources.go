package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/httpx"
)

// resourceFunc answers one GET resource with a JSON-encodable value.
type resourceFunc func(ctx context.Context, query url.Values) (any, error)

// resources maps a resource path (what the frontend passes to getResource)
// to its handler. Add editor look-ups here.
func (d *Datasource) resources() map[string]resourceFunc {
	return map[string]resourceFunc{
		// services?start=<unix ms>&end=<unix ms> → ["svc", …] from Tempo.
		"services": d.resourceServices,
		// labels?start=<unix ms>&end=<unix ms> → ["label", …] from Loki.
		"labels": d.resourceLabels,
	}
}

// CallResource answers the frontend's getResource calls with JSON. Errors
// are JSON {"message": …} (what Grafana's frontend shows) with a status that
// says whose fault it is.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	routes := d.resources()
	path := strings.Trim(req.Path, "/")
	fn, ok := routes[path]
	if !ok {
		names := make([]string, 0, len(routes))
		for n := range routes {
			names = append(names, n)
		}
		slices.Sort(names)
		return sendError(sender, http.StatusNotFound, fmt.Sprintf("unknown resource %q; available resources: %s", path, strings.Join(names, ", ")))
	}
	if req.Method != http.MethodGet {
		return sendError(sender, http.StatusMethodNotAllowed, fmt.Sprintf("resource %q answers GET only, not %s", path, req.Method))
	}
	if d.settingsErr != nil {
		markDownstream(ctx)
		return sendError(sender, http.StatusBadRequest, d.settingsErr.Error())
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return sendError(sender, http.StatusBadRequest, fmt.Sprintf("cannot parse the resource URL: %v", err))
	}

	v, err := fn(ctx, u.Query())
	if err != nil {
		if backend.IsDownstreamError(err) {
			markDownstream(ctx)
		}
		return sendError(sender, resourceStatus(err), err.Error())
	}
	body, err := json.Marshal(v)
	if err != nil {
		return sendError(sender, http.StatusInternalServerError, fmt.Sprintf("encoding the %s answer: %v", path, err))
	}
	return sender.Send(&backend.CallResourceResponse{
		Status:  http.StatusOK,
		Headers: map[string][]string{"Content-Type": {"application/json"}},
		Body:    body,
	})
}

func (d *Datasource) resourceServices(ctx context.Context, q url.Values) (any, error) {
	start, end, err := timeRange(q)
	if err != nil {
		return nil, err
	}
	return d.tempo.ServiceNames(ctx, start, end)
}

func (d *Datasource) resourceLabels(ctx context.Context, q url.Values) (any, error) {
	start, end, err := timeRange(q)
	if err != nil {
		return nil, err
	}
	return d.loki.Labels(ctx, start, end)
}

// timeRange reads the optional start and end parameters, in Unix
// milliseconds (what the frontend's range.from.valueOf() gives).
func timeRange(q url.Values) (start, end time.Time, err error) {
	parse := func(name string) (time.Time, error) {
		s := q.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 {
			return time.Time{}, badQueryf("%s=%q is not a time in Unix milliseconds", name, s)
		}
		return time.UnixMilli(ms), nil
	}
	if start, err = parse("start"); err != nil {
		return
	}
	if end, err = parse("end"); err != nil {
		return
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		err = badQueryf("the time range ends (%s) before it starts (%s)", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	return
}

// resourceStatus maps an error to the status of a resource answer:
// the user's request 400, upstream problems 502/504, ours 500.
func resourceStatus(err error) int {
	if _, ok := errors.AsType[*queryError](err); ok {
		return http.StatusBadRequest
	}
	if errors.Is(err, httpx.ErrTimeout) {
		return http.StatusGatewayTimeout
	}
	if backend.IsDownstreamError(err) {
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// markDownstream tells the SDK's error-source middleware (and so Grafana's
// metrics) that a failed resource call was not the plugin's fault.
func markDownstream(ctx context.Context) {
	// Fails only when the context carries no error source slot (tests
	// calling the handler directly); there is nothing to mark then.
	_ = backend.WithDownstreamErrorSource(ctx)
}

func sendError(sender backend.CallResourceResponseSender, status int, msg string) error {
	body, _ := json.Marshal(map[string]string{"message": msg})
	return sender.Send(&backend.CallResourceResponse{
		Status:  status,
		Headers: map[string][]string{"Content-Type": {"application/json"}},
		Body:    body,
	})
}
