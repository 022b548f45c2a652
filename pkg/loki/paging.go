package loki

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// FetchFunc fetches at most limit entries in [start, end) in forward
// direction, as one Loki query_range request does. Start is inclusive and
// end exclusive, as in Loki.
type FetchFunc func(ctx context.Context, start, end time.Time, limit int) ([]model.LogEntry, error)

// PageResult is everything a paged fetch returned.
type PageResult struct {
	// Entries are in time order (ties keep Loki's order), without the
	// entries that two pages both returned.
	Entries []model.LogEntry
	// Capped is true when maxLines stopped the fetch before the range was
	// exhausted: there may be more entries.
	Capped bool
	// Pages is the number of requests made.
	Pages int
	// Duplicates counts entries dropped because an earlier page had them.
	Duplicates int
	// Notices are remarks for a person, such as timestamps where entries
	// may be missing.
	Notices []string
}

// Page fetches every entry in [start, end) through fetch, pageSize entries
// per request, stopping at maxLines (<= 0: no limit).
//
// Loki caps entries per query (max_entries_limit_per_query, 5000 by
// default), so a trace's logs can need several requests. Each next page
// starts at the last timestamp of the previous one, inclusively, because
// several entries can share one nanosecond and the page may have ended
// among them; the entries at that timestamp that the previous page already
// had are then dropped by identity (timestamp, stream labels, structured
// metadata, line, and occurrence among identical ones), so identical lines
// logged twice are kept twice while one entry returned by two pages is
// kept once.
//
// When a whole page shares one timestamp, the next page could not get
// past it: Page then moves on by one nanosecond and says in a notice that
// entries at that timestamp may be missing.
func Page(ctx context.Context, fetch FetchFunc, start, end time.Time, pageSize, maxLines int) (*PageResult, error) {
	if pageSize <= 0 {
		return nil, fmt.Errorf("page size must be positive, got %d", pageSize)
	}
	res := &PageResult{}
	cur := start
	var (
		boundary      map[string]int // identities already kept at time cur
		boundaryCount int
		keyBuf        []byte
	)
	for cur.Before(end) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		limit := pageSize
		if maxLines > 0 {
			// Ask only for what can still be used, plus the overlap the
			// page will repeat, plus one to learn whether there is more.
			limit = min(pageSize, maxLines-len(res.Entries)+boundaryCount+1)
		}
		page, err := fetch(ctx, cur, end, limit)
		if err != nil {
			return nil, err
		}
		res.Pages++
		full := len(page) >= limit
		slices.SortStableFunc(page, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })

		var last time.Time
		for i := range page {
			e := &page[i]
			// Loki has been seen returning entries before start; anything
			// before cur came with an earlier page.
			if e.Time.Before(cur) {
				continue
			}
			last = e.Time
			if boundaryCount > 0 && e.Time.Equal(cur) {
				keyBuf = appendIdentity(keyBuf[:0], e)
				if n := boundary[string(keyBuf)]; n > 0 {
					boundary[string(keyBuf)] = n - 1
					res.Duplicates++
					continue
				}
			}
			res.Entries = append(res.Entries, *e)
		}
		if maxLines > 0 && len(res.Entries) >= maxLines {
			// More than maxLines means there is more; exactly maxLines from
			// a full page may or may not be all, and is reported as capped.
			if res.Capped = len(res.Entries) > maxLines || full; res.Capped {
				res.Entries = res.Entries[:maxLines:maxLines]
				break
			}
		}
		if !full || last.IsZero() {
			break // Loki had no more than this: the range is exhausted
		}
		if !last.After(cur) {
			res.Notices = append(res.Notices, fmt.Sprintf(
				"more than %d log entries share the timestamp %s, more than one Loki query returns; some of them may be missing",
				len(page), cur.UTC().Format(time.RFC3339Nano)))
			cur = cur.Add(time.Nanosecond)
			boundary, boundaryCount = nil, 0
			continue
		}
		cur = last
		// The next page starts at last and repeats what we have at last.
		boundary = make(map[string]int)
		boundaryCount = 0
		for i := len(res.Entries) - 1; i >= 0 && res.Entries[i].Time.Equal(last); i-- {
			keyBuf = appendIdentity(keyBuf[:0], &res.Entries[i])
			boundary[string(keyBuf)]++
			boundaryCount++
		}
	}
	return res, nil
}

// appendIdentity appends an entry's identity: every part length-prefixed,
// so no line or label can make two different entries look alike. Parsed
// labels are left out: they derive from the line.
func appendIdentity(b []byte, e *model.LogEntry) []byte {
	b = binary.AppendVarint(b, e.Time.UnixNano())
	for _, ls := range []model.Labels{e.Stream, e.Metadata} {
		b = binary.AppendUvarint(b, uint64(len(ls)))
		for _, l := range ls {
			b = appendString(b, l.Name)
			b = appendString(b, l.Value)
		}
	}
	return appendString(b, e.Line)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Merge merges two time-ordered results of queries over the same logs
// (the line and the metadata query of auto mode). An entry both returned is
// kept once; identical entries are kept as often as the query that saw
// more of them has them. The result is time-ordered, a's entries first on
// ties. It reports how many of b's entries were duplicates.
func Merge(a, b []model.LogEntry) ([]model.LogEntry, int) {
	if len(b) == 0 {
		return a, 0
	}
	if len(a) == 0 {
		return b, 0
	}
	var keyBuf []byte
	have := make(map[string]int, len(a))
	for i := range a {
		keyBuf = appendIdentity(keyBuf[:0], &a[i])
		have[string(keyBuf)]++
	}
	extra := make([]model.LogEntry, 0, len(b))
	dups := 0
	for i := range b {
		keyBuf = appendIdentity(keyBuf[:0], &b[i])
		if n := have[string(keyBuf)]; n > 0 {
			have[string(keyBuf)] = n - 1
			dups++
			continue
		}
		extra = append(extra, b[i])
	}
	out := make([]model.LogEntry, 0, len(a)+len(extra))
	i, j := 0, 0
	for i < len(a) && j < len(extra) {
		if extra[j].Time.Before(a[i].Time) {
			out = append(out, extra[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	out = append(out, extra[j:]...)
	return out, dups
}
