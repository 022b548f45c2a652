package loki

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/tracegap/correlator/pkg/model"
)

// DefaultPageSize is Loki's default max_entries_limit_per_query: the most
// entries one query_range request may return.
const DefaultPageSize = 5000

// EncodingFlagsHeader asks Loki to keep structured metadata and parsed
// labels apart from the stream labels (Grafana's Loki data source sends it).
const EncodingFlagsHeader = "X-Loki-Response-Encoding-Flags"

// LogQuery asks for the logs of one trace.
type LogQuery struct {
	TraceID  string
	Selector string // stream selector, e.g. {service_name=~".+"}
	Mode     Mode   // "" is ModeAuto
	// TraceIDFields are the structured-metadata names the metadata query
	// filters on; empty means DefaultTraceIDFields.
	TraceIDFields []string
	// Start and End bound the search: [Start, End), both required.
	Start, End time.Time
	// MaxLines caps the entries fetched per query (0: no cap).
	MaxLines int
	// PageSize is the limit of one request (0: DefaultPageSize).
	PageSize int
	// Split is how many parts of a range that needs many pages each query
	// fetches at once (0: DefaultSplit; 1: one page after another). See
	// PageSplit.
	Split int
}

// LogsResult is what TraceLogs found.
type LogsResult struct {
	// Entries are time-ordered, without entries returned twice (by two
	// pages, or by both queries of auto mode).
	Entries []model.LogEntry
	// Capped is true when MaxLines cut the result: there may be more.
	Capped bool
	// Queries are the LogQL queries run, for the query inspector.
	Queries []string
	// Notices are remarks for a person (a failed half of auto mode, the
	// cap, timestamps where entries may be missing).
	Notices []string
	// Pages is the number of query_range requests made.
	Pages int
	// Duplicates counts entries dropped because another page or query
	// had them.
	Duplicates int
	// EntryLimit is Loki's max_entries_limit_per_query when it refused the
	// page size and the pages were made that small (0 when it did not), so
	// the plugin can tell operators the settings and Loki disagree.
	EntryLimit int
	// FailedQueries holds, in auto mode, the error of a query that failed
	// while the other answered (its lines are then missing).
	FailedQueries []error
}

// QueryRange runs one /loki/api/v1/query_range request for a log query in
// forward direction over [start, end), asking for categorized labels.
func (c *Client) QueryRange(ctx context.Context, query string, start, end time.Time, limit int) (*QueryRangeResult, error) {
	const path = "/loki/api/v1/query_range"
	q := url.Values{}
	q.Set("query", query)
	q.Set("direction", "forward")
	q.Set("limit", strconv.Itoa(limit))
	q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	q.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	h := http.Header{}
	h.Set(EncodingFlagsHeader, "categorize-labels")
	resp, err := c.get(ctx, path, q, "application/json", h)
	if err != nil {
		if he, ok := errors.AsType[*HTTPError](err); ok && he.Status == http.StatusBadRequest {
			// Loki's 400 text names a position in the query: show it.
			return nil, fmt.Errorf("%w; the LogQL was: %s", err, query)
		}
		return nil, err
	}
	res, err := DecodeQueryRange(resp.Body)
	// The decoder copies what it keeps: the body's buffer serves the next page.
	resp.Release()
	if err != nil {
		return nil, backend.DownstreamError(fmt.Errorf("the answer from %s%s is not a Loki log query result (%w); check %s%s",
			c.BaseURL(), path, err, c.up.Hints().URL, c.up.Hints().Where))
	}
	return res, nil
}

// TraceLogs fetches the log entries of one trace: it builds the LogQL for
// the mode, pages through [Start, End) in forward direction (see Page; a
// range that proves to need many pages is fetched in parts at once, see
// PageSplit), and in auto mode runs the line and the metadata query
// concurrently and merges them. When only one half of auto mode fails, the other half's
// entries are returned with a notice.
func (c *Client) TraceLogs(ctx context.Context, lq LogQuery) (*LogsResult, error) {
	if lq.Start.IsZero() || lq.End.IsZero() || !lq.End.After(lq.Start) {
		return nil, backend.DownstreamErrorf("the log time range [%s, %s) is empty; pick a time range that covers the trace",
			lq.Start.UTC().Format(time.RFC3339), lq.End.UTC().Format(time.RFC3339))
	}
	mode := lq.Mode
	if mode == "" {
		mode = ModeAuto
	}
	queries, err := Queries(lq.Selector, lq.TraceID, mode, lq.TraceIDFields)
	if err != nil {
		return nil, backend.DownstreamError(err)
	}
	pageSize := lq.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	split := lq.Split
	if split <= 0 {
		split = DefaultSplit
	}

	results := make([]*PageResult, len(queries))
	limits := make([]int, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() {
			results[i], limits[i], errs[i] = c.page(ctx, q, lq.Start, lq.End, pageSize, lq.MaxLines, split)
		})
	}
	wg.Wait()

	out := &LogsResult{Queries: queries}
	var kept []*PageResult
	for i, r := range results {
		if errs[i] != nil {
			continue
		}
		kept = append(kept, r)
		out.EntryLimit = max(out.EntryLimit, limits[i])
		out.Pages += r.Pages
		out.Duplicates += r.Duplicates
		out.Capped = out.Capped || r.Capped
		out.Notices = append(out.Notices, r.Notices...)
	}
	if len(kept) == 0 {
		return nil, errs[0]
	}
	for i, err := range errs {
		if err != nil {
			out.FailedQueries = append(out.FailedQueries, err)
			out.Notices = append(out.Notices, fmt.Sprintf("the Loki query %s failed, so only the other query's logs are shown: %v", queries[i], err))
		}
	}
	out.Entries = kept[0].Entries
	for _, r := range kept[1:] {
		var dups int
		out.Entries, dups = Merge(out.Entries, r.Entries)
		out.Duplicates += dups
	}
	if lq.MaxLines > 0 && len(out.Entries) > lq.MaxLines {
		out.Entries = out.Entries[:lq.MaxLines:lq.MaxLines]
		out.Capped = true
	}
	if out.Capped {
		out.Notices = append(out.Notices, fmt.Sprintf("only the first %d log lines of the trace were fetched; there are more (raise %s, or narrow the selector)", len(out.Entries), c.up.Hints().LineLimit))
	}
	return out, nil
}

// page runs one query through PageSplit (in split parts once the range
// proves to need many pages). When Loki refuses the page size (its
// max_entries_limit_per_query is lower), it pages again with Loki's limit
// and says so; adopted is then Loki's limit (else 0).
func (c *Client) page(ctx context.Context, query string, start, end time.Time, pageSize, maxLines, split int) (res *PageResult, adopted int, err error) {
	fetch := func(ctx context.Context, s, e time.Time, limit int) ([]model.LogEntry, error) {
		res, err := c.QueryRange(ctx, query, s, e, limit)
		if err != nil {
			return nil, err
		}
		return res.Entries, nil
	}
	res, err = PageSplit(ctx, fetch, start, end, pageSize, maxLines, split)
	if limit, ok := serverEntryLimit(err); ok && limit < pageSize {
		res, err = PageSplit(ctx, fetch, start, end, limit, maxLines, split)
		if err == nil {
			res.Notices = append(res.Notices, fmt.Sprintf("Loki allows at most %d entries per query (max_entries_limit_per_query), so pages of %d were used", limit, limit))
			res.Pages++ // the refused request
			adopted = limit
		}
	}
	return res, adopted, err
}

// entryLimitRE reads Loki's "… max_entries_limit_per_query (5001 > 5000)".
var entryLimitRE = regexp.MustCompile(`max_entries_limit_per_query \((\d+) > (\d+)\)`)

func serverEntryLimit(err error) (int, bool) {
	he, ok := errors.AsType[*HTTPError](err)
	if !ok || he.Status != http.StatusBadRequest {
		return 0, false
	}
	m := entryLimitRE.FindStringSubmatch(he.Body)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[2])
	return n, err == nil && n > 0
}
