package tempo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/model"
)

// Search runs a TraceQL search (GET /api/search) and returns the traces
// found, in Tempo's order. limit <= 0 leaves the count to Tempo (20 by
// default); zero times leave the range to Tempo. Tempo's 400 text for a bad
// TraceQL query is passed on in the error.
func (c *Client) Search(ctx context.Context, traceql string, start, end time.Time, limit int) ([]SearchResult, error) {
	traceql = strings.TrimSpace(traceql)
	if traceql == "" {
		return nil, backend.DownstreamErrorf(`the TraceQL query is empty; write one such as {resource.service.name="checkout"}`)
	}
	q := url.Values{}
	q.Set("q", traceql)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	setRange(q, start, end)
	const path = "/api/search"
	resp, err := c.get(ctx, path, q, "application/json", nil)
	if err != nil {
		return nil, err
	}
	res, err := DecodeSearch(resp.Body)
	if err != nil {
		return nil, backend.DownstreamError(fmt.Errorf("the answer from %s%s is not a Tempo search result (%w); check %s%s",
			c.BaseURL(), path, err, c.up.Hints().URL, c.up.Hints().Where))
	}
	return res, nil
}

// SearchResult is one trace a TraceQL search found.
type SearchResult struct {
	TraceID         string // normalised: 32 lower-case hex digits
	RootServiceName string
	RootTraceName   string
	Start           time.Time
	Duration        time.Duration
}

// DecodeSearch decodes the JSON body of Tempo's GET /api/search. Tempo
// strips leading zeros from traceID there (31 digits for our seed trace);
// the ids returned here are normalised back to 32 digits.
func DecodeSearch(b []byte) ([]SearchResult, error) {
	var doc struct {
		Traces []struct {
			TraceID           string      `json:"traceID"`
			RootServiceName   string      `json:"rootServiceName"`
			RootTraceName     string      `json:"rootTraceName"`
			StartTimeUnixNano json.Number `json:"startTimeUnixNano"`
			DurationMs        json.Number `json:"durationMs"`
		} `json:"traces"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode Tempo search response: %w", err)
	}
	out := make([]SearchResult, 0, len(doc.Traces))
	for i, t := range doc.Traces {
		id, ok := model.NormalizeTraceID(t.TraceID)
		if !ok {
			return nil, fmt.Errorf("decode Tempo search response: trace %d has id %q, which is not 1–32 hex digits", i, t.TraceID)
		}
		r := SearchResult{TraceID: id, RootServiceName: t.RootServiceName, RootTraceName: t.RootTraceName}
		if t.StartTimeUnixNano != "" {
			ns, err := strconv.ParseInt(string(t.StartTimeUnixNano), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("decode Tempo search response: trace %s: startTimeUnixNano %q: %w", id, t.StartTimeUnixNano, err)
			}
			r.Start = time.Unix(0, ns).UTC()
		}
		// Tempo omits durationMs when it rounds to 0.
		if t.DurationMs != "" {
			ms, err := t.DurationMs.Float64()
			if err != nil {
				return nil, fmt.Errorf("decode Tempo search response: trace %s: durationMs %q: %w", id, t.DurationMs, err)
			}
			r.Duration = time.Duration(ms * float64(time.Millisecond))
		}
		out = append(out, r)
	}
	return out, nil
}
