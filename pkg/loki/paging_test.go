package loki

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

var t0 = time.Unix(0, 1795624597000000000).UTC()

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// fakeLoki answers like Loki's forward query_range: the earliest limit
// entries in [start, end); among entries sharing a timestamp it picks in an
// order that changes per request (Loki gives no tie order), and it returns
// them grouped by stream, not time-sorted.
type fakeLoki struct {
	entries []model.LogEntry // time-sorted
	calls   []string         // "start end limit" per request, in ms offsets
	rotate  int
}

func (f *fakeLoki) fetch(_ context.Context, start, end time.Time, limit int) ([]model.LogEntry, error) {
	f.calls = append(f.calls, fmt.Sprintf("%d-%d/%d", start.Sub(t0).Nanoseconds(), end.Sub(t0).Milliseconds(), limit))
	var in []model.LogEntry
	for _, e := range f.entries {
		if !e.Time.Before(start) && e.Time.Before(end) {
			in = append(in, e)
		}
	}
	f.rotate++
	// Shuffle ties deterministically: rotate each group of equal times.
	for i := 0; i < len(in); {
		j := i
		for j < len(in) && in[j].Time.Equal(in[i].Time) {
			j++
		}
		g := in[i:j]
		r := f.rotate % len(g)
		rot := append(slices.Clone(g[r:]), g[:r]...)
		copy(g, rot)
		i = j
	}
	if len(in) > limit {
		in = in[:limit]
	}
	// Group by stream like Loki's response.
	slices.SortStableFunc(in, func(a, b model.LogEntry) int {
		return strings.Compare(a.Stream[0].Value, b.Stream[0].Value)
	})
	return in, nil
}

var (
	streamA = model.Labels{{Name: "service_name", Value: "a"}}
	streamB = model.Labels{{Name: "service_name", Value: "b"}}
)

func entry(ms int, stream model.Labels, line string) model.LogEntry {
	return model.LogEntry{Time: at(ms), Stream: stream, Line: line}
}

func lines(es []model.LogEntry) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("%d:%s:%s", e.Time.Sub(t0).Milliseconds(), e.Stream[0].Value, e.Line))
	}
	return strings.Join(parts, " ")
}

func TestPage(t *testing.T) {
	seq := func(n int) []model.LogEntry {
		var es []model.LogEntry
		for i := range n {
			s := streamA
			if i%2 == 1 {
				s = streamB
			}
			es = append(es, entry(i*10, s, fmt.Sprintf("l%d", i)))
		}
		return es
	}
	cases := []struct {
		name               string
		store              []model.LogEntry
		pageSize, maxLines int
		want               string
		pages, dups        int
		capped             bool
		notice             string
	}{
		{name: "three pages", store: seq(12), pageSize: 5,
			want:  lines(seq(12)),
			pages: 3, dups: 2},
		{name: "one page, not full", store: seq(4), pageSize: 5, want: lines(seq(4)), pages: 1},
		{name: "empty range", store: nil, pageSize: 5, want: "", pages: 1},
		{name: "page boundary inside a timestamp",
			store: []model.LogEntry{
				entry(1, streamA, "x"), entry(2, streamA, "y"),
				entry(3, streamA, "p"), entry(3, streamB, "q"), entry(3, streamA, "r"),
				entry(4, streamB, "z"), entry(5, streamA, "w"),
			},
			pageSize: 4,
			want:     "1:a:x 2:a:y 3:a:p 3:a:r 3:b:q 4:b:z 5:a:w",
			pages:    3, dups: 3},
		{name: "identical lines logged twice are kept twice",
			store: []model.LogEntry{
				entry(1, streamA, "start"),
				entry(2, streamA, "same"), entry(2, streamA, "same"), entry(2, streamB, "same"),
				entry(3, streamA, "end"),
			},
			pageSize: 4,
			want:     "1:a:start 2:a:same 2:a:same 2:b:same 3:a:end",
			pages:    3, dups: 4},
		{name: "the cap stops early", store: seq(20), pageSize: 5, maxLines: 12,
			want: lines(seq(12)), pages: 3, dups: 2, capped: true},
		{name: "exactly maxLines is not capped", store: seq(12), pageSize: 100, maxLines: 12,
			want: lines(seq(12)), pages: 1},
		{name: "a full page of one timestamp moves on with a notice",
			store: append([]model.LogEntry{
				entry(5, streamA, "1"), entry(5, streamA, "2"), entry(5, streamA, "3"), entry(5, streamB, "4"), entry(5, streamB, "5"),
			}, entry(9, streamA, "after")),
			pageSize: 3,
			pages:    3,
			notice:   "more than 3 log entries share the timestamp 2026-11-25T16:36:37.005Z",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLoki{entries: tc.store}
			res, err := Page(context.Background(), f.fetch, at(0), at(1000), tc.pageSize, tc.maxLines)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(res.Entries)
			if tc.notice == "" {
				// Compare as sorted multisets within a timestamp: tie order
				// is Loki's business.
				if canon(got) != canon(tc.want) {
					t.Errorf("entries\n got %s\nwant %s", got, tc.want)
				}
				if len(res.Notices) != 0 {
					t.Errorf("notices %q", res.Notices)
				}
			} else {
				if len(res.Notices) != 1 || !strings.Contains(res.Notices[0], tc.notice) {
					t.Errorf("notices %q, want one containing %q", res.Notices, tc.notice)
				}
				// Whatever it got at the crowded timestamp, it has no
				// duplicates and it got past it.
				seen := map[string]bool{}
				for _, e := range res.Entries {
					k := e.Stream[0].Value + e.Line
					if seen[k] {
						t.Errorf("duplicate %s", k)
					}
					seen[k] = true
				}
				if !seen["aafter"] {
					t.Errorf("the entry after the crowded timestamp is missing: %s", got)
				}
			}
			if !slices.IsSortedFunc(res.Entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
				t.Errorf("not time-sorted: %s", got)
			}
			if res.Pages != tc.pages || res.Capped != tc.capped || (tc.notice == "" && res.Duplicates != tc.dups) {
				t.Errorf("pages %d capped %v dups %d; want %d %v %d (calls %v)", res.Pages, res.Capped, res.Duplicates, tc.pages, tc.capped, tc.dups, f.calls)
			}
			if len(f.calls) != res.Pages {
				t.Errorf("%d fetches, Pages says %d", len(f.calls), res.Pages)
			}
		})
	}
}

// canon sorts the entries of each timestamp so tie order does not matter.
func canon(s string) string {
	parts := strings.Fields(s)
	slices.SortStableFunc(parts, func(a, b string) int {
		ta, _, _ := strings.Cut(a, ":")
		tb, _, _ := strings.Cut(b, ":")
		if len(ta) != len(tb) {
			return len(ta) - len(tb)
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return strings.Join(parts, " ")
}

func TestPageRequests(t *testing.T) {
	// The limit shrinks near maxLines: what is still needed, the overlap,
	// and one more to learn whether there is more.
	f := &fakeLoki{}
	for i := range 20 {
		f.entries = append(f.entries, entry(i*10, streamA, fmt.Sprint(i)))
	}
	if _, err := Page(context.Background(), f.fetch, at(0), at(1000), 5, 12); err != nil {
		t.Fatal(err)
	}
	want := []string{"0-1000/5", "40000000-1000/5", "80000000-1000/5"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}

func TestPageDropsEntriesBeforeStart(t *testing.T) {
	fetch := func(_ context.Context, start, end time.Time, limit int) ([]model.LogEntry, error) {
		return []model.LogEntry{entry(-5, streamA, "early"), entry(1, streamA, "in")}, nil
	}
	res, err := Page(context.Background(), fetch, at(0), at(10), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(res.Entries); got != "1:a:in" {
		t.Errorf("got %s", got)
	}
}

func TestPageErrors(t *testing.T) {
	boom := errors.New("boom")
	fetch := func(context.Context, time.Time, time.Time, int) ([]model.LogEntry, error) { return nil, boom }
	if _, err := Page(context.Background(), fetch, at(0), at(10), 10, 0); !errors.Is(err, boom) {
		t.Errorf("fetch error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeLoki{}
	if _, err := Page(ctx, f.fetch, at(0), at(10), 10, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Page(context.Background(), f.fetch, at(0), at(10), 0, 0); err == nil {
		t.Error("page size 0: no error")
	}
	// An empty or inverted range asks nothing.
	res, err := Page(context.Background(), f.fetch, at(10), at(10), 10, 0)
	if err != nil || res.Pages != 0 || len(f.calls) != 0 {
		t.Errorf("empty range: %+v %v %v", res, err, f.calls)
	}
}

func TestMerge(t *testing.T) {
	meta := model.Labels{{Name: "trace_id", Value: seedTraceID}}
	withMeta := func(e model.LogEntry) model.LogEntry { e.Metadata = meta; return e }
	a := []model.LogEntry{ // line query
		withMeta(entry(1, streamA, "x")),
		withMeta(entry(2, streamA, "dup")), withMeta(entry(2, streamA, "dup")),
		withMeta(entry(4, streamA, "line only")),
	}
	b := []model.LogEntry{ // metadata query
		withMeta(entry(0, streamB, "meta only")),
		withMeta(entry(1, streamA, "x")),
		withMeta(entry(2, streamA, "dup")), withMeta(entry(2, streamA, "dup")), withMeta(entry(2, streamA, "dup")),
		withMeta(entry(3, streamB, "meta only")),
		entry(4, streamA, "line only"), // other metadata: another entry
	}
	got, dups := Merge(a, b)
	want := "0:b:meta only 1:a:x 2:a:dup 2:a:dup 2:a:dup 3:b:meta only 4:a:line only 4:a:line only"
	if lines(got) != want || dups != 3 {
		t.Errorf("Merge =\n%s (dups %d)\nwant\n%s (dups 3)", lines(got), dups, want)
	}
	if g, _ := Merge(nil, b); len(g) != len(b) {
		t.Error("Merge(nil, b)")
	}
	if g, _ := Merge(a, nil); len(g) != len(a) {
		t.Error("Merge(a, nil)")
	}
}
