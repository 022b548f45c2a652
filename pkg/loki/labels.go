package loki

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// Labels returns the label names Loki has in [start, end]; zero times leave
// the range to Loki (the last 6 hours by default). The request is
// tenant-scoped, so it also proves the tenant and credentials.
func (c *Client) Labels(ctx context.Context, start, end time.Time) ([]string, error) {
	const path = "/loki/api/v1/labels"
	q := url.Values{}
	if !start.IsZero() {
		q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	}
	if !end.IsZero() {
		q.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	}
	resp, err := c.get(ctx, path, q, "application/json", nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Status != "success" {
		return nil, c.up.NotAPI(path, `Loki answers {"status":"success","data":[…]}`)
	}
	if body.Data == nil {
		body.Data = []string{}
	}
	return body.Data, nil
}
