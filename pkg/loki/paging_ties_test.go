package loki

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// TestPageKeepsLokisOrderOnTies: at millisecond precision with 40 lines
// per millisecond in two streams, pages of 100 end inside groups of equal
// timestamps (a page must hold more than one timestamp's 80 lines: Loki
// cannot page past a timestamp with more lines than the limit, which Page
// says in a notice); the result keeps each stream's lines in the order Loki
// returned (and the service wrote) them, the streams merged stably.
func TestPageKeepsLokisOrderOnTies(t *testing.T) {
	var all []model.LogEntry // time order, then stream a before b, then write order
	for ms := range 4 {
		for _, s := range []model.Labels{streamA, streamB} {
			for k := range 40 {
				all = append(all, entry(ms, s, fmt.Sprintf("%s-%d-%02d", s[0].Value, ms, k)))
			}
		}
	}
	// Loki, as it answers a forward query: entries in [start, end) in time
	// order, each stream's ties in the order they were pushed, the first
	// limit of them, grouped by stream.
	fetch := func(_ context.Context, start, end time.Time, limit int) ([]model.LogEntry, error) {
		var in []model.LogEntry
		for _, e := range all {
			if !e.Time.Before(start) && e.Time.Before(end) {
				in = append(in, e)
			}
		}
		in = in[:min(limit, len(in))]
		slices.SortStableFunc(in, func(a, b model.LogEntry) int {
			if a.Stream[0].Value < b.Stream[0].Value {
				return -1
			} else if a.Stream[0].Value > b.Stream[0].Value {
				return 1
			}
			return 0
		})
		return in, nil
	}
	res, err := Page(context.Background(), fetch, at(0), at(10), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages < 2 {
		t.Fatalf("%d pages: the test needs pages that end inside a timestamp", res.Pages)
	}
	if len(res.Notices) > 0 {
		t.Errorf("notices %q", res.Notices)
	}
	if lines(res.Entries) != lines(all) {
		t.Errorf("paged\n%s\nwant\n%s", lines(res.Entries), lines(all))
	}
}
