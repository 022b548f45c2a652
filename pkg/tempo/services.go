package tempo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// ServiceNames returns the service.name values Tempo has seen in
// [start, end], sorted; zero times leave the range to Tempo (recent data).
// It asks the v2 tag-values API and falls back to v1 when Tempo answers 404.
func (c *Client) ServiceNames(ctx context.Context, start, end time.Time) ([]string, error) {
	q := url.Values{}
	setRange(q, start, end)

	const v2 = "/api/v2/search/tag/resource.service.name/values"
	resp, err := c.get(ctx, v2, q, "application/json", nil)
	if err == nil {
		var body struct {
			TagValues []struct {
				Value string `json:"value"`
			} `json:"tagValues"`
		}
		if json.Unmarshal(resp.Body, &body) != nil {
			return nil, c.up.NotAPI(v2, `Tempo answers {"tagValues":[…]}`)
		}
		names := make([]string, 0, len(body.TagValues))
		for _, v := range body.TagValues {
			names = append(names, v.Value)
		}
		return sortedUnique(names), nil
	}
	if he, ok := errors.AsType[*HTTPError](err); !ok || he.Status != http.StatusNotFound {
		return nil, err
	}

	const v1 = "/api/search/tag/service.name/values"
	resp, err = c.get(ctx, v1, q, "application/json", nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		TagValues []string `json:"tagValues"`
	}
	if json.Unmarshal(resp.Body, &body) != nil {
		return nil, c.up.NotAPI(v1, `Tempo answers {"tagValues":[…]}`)
	}
	return sortedUnique(body.TagValues), nil
}

func sortedUnique(names []string) []string {
	out := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == "" })
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}
