package tempo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

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
