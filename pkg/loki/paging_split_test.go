package loki

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/model"
)

// lockedLoki is fakeLoki for concurrent pagers; inclusiveEnd makes it a
// server that also returns entries at end, which PageSplit must not let
// two parts both keep.
type lockedLoki struct {
	mu           sync.Mutex
	f            fakeLoki
	inclusiveEnd bool
	failAfter    int // fail every request from this one on (0: never)
}

var errUpstream = errors.New("upstream broke")

func (l *lockedLoki) fetch(ctx context.Context, start, end time.Time, limit int) ([]model.LogEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAfter > 0 && len(l.f.calls) >= l.failAfter {
		return nil, errUpstream
	}
	if l.inclusiveEnd {
		end = end.Add(time.Nanosecond)
	}
	return l.f.fetch(ctx, start, end, limit)
}

// splitStore has three entries every millisecond of [0, ms), some of them
// identical, so page and part boundaries fall among shared timestamps.
func splitStore(ms int) []model.LogEntry {
	var es []model.LogEntry
	for i := range ms {
		es = append(es, entry(i, streamA, "x"), entry(i, streamB, "y"), entry(i, streamA, "x"))
	}
	return es
}

// endsOf lists the distinct request ends, in ms.
func endsOf(calls []string) []string {
	var ends []string
	for _, c := range calls {
		_, rest, _ := strings.Cut(c, "-")
		e, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(ends, e) {
			ends = append(ends, e)
		}
	}
	slices.Sort(ends)
	return ends
}

func TestPageSplitMatchesPage(t *testing.T) {
	// Pages of 30 hold 10 ms; the first page ends at +9 ms, and the rest,
	// [9, 409), splits into four parts of 100 ms whose bounds carry entries.
	for _, inclusive := range []bool{false, true} {
		for _, tc := range []struct {
			name            string
			parts, maxLines int
			wantEnds        []string // distinct request ends: the parts
		}{
			{"four parts", 4, 0, []string{"109", "209", "309", "409"}},
			{"two parts", 2, 0, []string{"209", "409"}},
			{"one part is Page", 1, 0, []string{"409"}},
			{"a cap the range exceeds is not split", 4, 600, []string{"409"}},
			{"a cap the range stays under", 4, 5000, []string{"109", "209", "309", "409"}},
		} {
			t.Run(fmt.Sprintf("%s/inclusive end %v", tc.name, inclusive), func(t *testing.T) {
				store := splitStore(500)
				whole := &lockedLoki{f: fakeLoki{entries: store}, inclusiveEnd: inclusive}
				want, err := Page(context.Background(), whole.fetch, at(0), at(409), 30, tc.maxLines)
				if err != nil {
					t.Fatal(err)
				}
				split := &lockedLoki{f: fakeLoki{entries: store}, inclusiveEnd: inclusive}
				got, err := PageSplit(context.Background(), split.fetch, at(0), at(409), 30, tc.maxLines, tc.parts)
				if err != nil {
					t.Fatal(err)
				}
				// Each part asks up to its end; a part done early takes the
				// upper half of another's rest, which adds that half's
				// start as an end, always inside the range.
				ends := endsOf(split.f.calls)
				for _, e := range tc.wantEnds {
					if !slices.Contains(ends, e) {
						t.Errorf("requests end at %v ms, want the parts' ends %v among them", ends, tc.wantEnds)
					}
				}
				if tc.parts == 1 || tc.maxLines == 600 {
					if !slices.Equal(ends, tc.wantEnds) {
						t.Errorf("requests end at %v ms; one pager asks only up to %v", ends, tc.wantEnds)
					}
				}
				if canon(lines(got.Entries)) != canon(lines(want.Entries)) {
					t.Errorf("entries differ from one pager's:\n got %s\nwant %s", lines(got.Entries), lines(want.Entries))
				}
				if !slices.IsSortedFunc(got.Entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
					t.Error("entries are not time-ordered")
				}
				if got.Capped != want.Capped || len(got.Notices) != len(want.Notices) {
					t.Errorf("capped %v notices %q; one pager: %v %q", got.Capped, got.Notices, want.Capped, want.Notices)
				}
				if got.Pages != len(split.f.calls) {
					t.Errorf("Pages = %d, %d requests made", got.Pages, len(split.f.calls))
				}
			})
		}
	}
}

// TestPageSplitRandom: for random stores, page sizes, caps and part
// counts, the parts together are exactly what one pager gets.
func TestPageSplitRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	splits, compared, stolen := 0, 0, 0
	for n := range 120 {
		var store []model.LogEntry
		spread := 50 + rng.IntN(2000)
		for range rng.IntN(1500) {
			s := streamA
			if rng.IntN(2) == 0 {
				s = streamB
			}
			// Bursts: a tenth of the range holds half the entries.
			ms := rng.IntN(spread)
			if rng.IntN(2) == 0 {
				ms = rng.IntN(spread/10 + 1)
			}
			store = append(store, entry(ms, s, fmt.Sprint("l", rng.IntN(4))))
		}
		slices.SortStableFunc(store, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
		pageSize, maxLines, parts := 10+rng.IntN(60), 0, 1+rng.IntN(6)
		if rng.IntN(3) == 0 {
			maxLines = 1 + rng.IntN(len(store)+10)
		}
		whole := &lockedLoki{f: fakeLoki{entries: store}, inclusiveEnd: n%2 == 0}
		want, err := Page(context.Background(), whole.fetch, at(0), at(spread), pageSize, maxLines)
		if err != nil {
			t.Fatal(err)
		}
		split := &lockedLoki{f: fakeLoki{entries: store}, inclusiveEnd: n%2 == 0}
		got, err := PageSplit(context.Background(), split.fetch, at(0), at(spread), pageSize, maxLines, parts)
		if err != nil {
			t.Fatal(err)
		}
		// Crowded timestamps may lose entries in either (with a notice);
		// compare only where neither had to skip.
		if len(want.Notices) > 0 || len(got.Notices) > 0 {
			continue
		}
		compared++
		if n := len(endsOf(split.f.calls)); n > 1 {
			splits++
			if n > parts {
				stolen++ // a part done took half of another's rest
			}
		}
		if canon(lines(got.Entries)) != canon(lines(want.Entries)) || got.Capped != want.Capped {
			t.Fatalf("case %d (page %d, cap %d, parts %d): split capped %v\n%s\none pager capped %v\n%s",
				n, pageSize, maxLines, parts, got.Capped, lines(got.Entries), want.Capped, lines(want.Entries))
		}
	}
	t.Logf("%d cases compared, %d split, %d with a part taken over", compared, splits, stolen)
	// How often a part is taken over depends on how the goroutines ran;
	// TestPageSplitTakesOverASlowPart makes it happen for certain.
	if compared < 80 || splits < 20 {
		t.Errorf("only %d cases compared, %d of them split: the generator no longer exercises PageSplit", compared, splits)
	}
}

func TestPageSplitErrorStopsEveryPart(t *testing.T) {
	defer fixtures.VerifyNoLeaks(t, goleak.IgnoreCurrent())
	l := &lockedLoki{f: fakeLoki{entries: splitStore(500)}, failAfter: 3}
	if _, err := PageSplit(context.Background(), l.fetch, at(0), at(409), 30, 0, 4); !errors.Is(err, errUpstream) {
		t.Errorf("err = %v, want the upstream's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PageSplit(ctx, l.fetch, at(0), at(409), 30, 0, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := PageSplit(context.Background(), l.fetch, at(0), at(409), 0, 0, 4); err == nil {
		t.Error("page size 0: no error")
	}
}

// TestPageRandomIsTheStore: for random stores of three streams (lines
// repeated within a stream and a timestamp, which only the count of
// identities tells apart), page sizes and caps, one pager returns exactly
// the store's entries in the range, in time order, or the first maxLines
// of them, capped; never one twice and never one missing.
func TestPageRandomIsTheStore(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	streams := []model.Labels{streamA, streamB, {{Name: "service_name", Value: "c"}}}
	compared, multiPage := 0, 0
	for n := range 200 {
		var store []model.LogEntry
		spread := 20 + rng.IntN(400)
		for range rng.IntN(800) {
			store = append(store, entry(rng.IntN(spread), streams[rng.IntN(3)], fmt.Sprint("l", rng.IntN(3))))
		}
		slices.SortStableFunc(store, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
		pageSize, maxLines := 10+rng.IntN(80), 0
		if rng.IntN(3) == 0 {
			maxLines = 1 + rng.IntN(len(store)+10)
		}
		f := &fakeLoki{entries: store}
		got, err := Page(context.Background(), f.fetch, at(0), at(spread), pageSize, maxLines)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Notices) > 0 {
			continue // a timestamp with more entries than a page: may lose some, and says so
		}
		compared++
		if got.Pages > 2 {
			multiPage++
		}
		want := store
		if maxLines > 0 && len(want) > maxLines {
			want = want[:maxLines]
		}
		if !slices.IsSortedFunc(got.Entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
			t.Fatalf("case %d: entries are not in time order", n)
		}
		// Ties at the cap's timestamp may be any of them: compare up to it.
		g, w := got.Entries, want
		if maxLines > 0 && len(store) > maxLines {
			cut := want[len(want)-1].Time
			g = slices.DeleteFunc(slices.Clone(g), func(e model.LogEntry) bool { return !e.Time.Before(cut) })
			w = slices.DeleteFunc(slices.Clone(w), func(e model.LogEntry) bool { return !e.Time.Before(cut) })
			if len(got.Entries) != maxLines || !got.Capped {
				t.Fatalf("case %d: %d entries, capped %v; want %d, capped", n, len(got.Entries), got.Capped, maxLines)
			}
		}
		if canon(lines(g)) != canon(lines(w)) {
			t.Fatalf("case %d (page %d, cap %d, %d pages):\n got %s\nwant %s", n, pageSize, maxLines, got.Pages, canon(lines(g)), canon(lines(w)))
		}
	}
	if compared < 120 || multiPage < 80 {
		t.Errorf("%d cases compared, %d of several pages: the generator no longer exercises paging", compared, multiPage)
	}
}

// TestPageSplitTakesOverASlowPart: of two parts, the second is dense for
// one page, then sparse, and its second request is held until the first
// part, done, has taken the upper half of its rest. The held request then
// returns entries from that half too, which the second part drops; the
// whole is still exactly what one pager gets.
func TestPageSplitTakesOverASlowPart(t *testing.T) {
	var store []model.LogEntry
	for ms := range 219 {
		store = append(store, entry(ms, streamA, "x"), entry(ms, streamB, "y"), entry(ms, streamA, "x"))
	}
	for ms := 219; ms < 409; ms += 5 {
		store = append(store, entry(ms, streamA, "sparse"))
	}
	whole := &lockedLoki{f: fakeLoki{entries: store}}
	want, err := Page(context.Background(), whole.fetch, at(0), at(409), 30, 0)
	if err != nil {
		t.Fatal(err)
	}

	split := &lockedLoki{f: fakeLoki{entries: store}}
	takenOver := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var held, taker []string // requests: start-end in ms
	fetch := func(ctx context.Context, start, end time.Time, limit int) ([]model.LogEntry, error) {
		ms, call := start.Sub(t0).Milliseconds(), fmt.Sprintf("%d-%d", start.Sub(t0).Milliseconds(), end.Sub(t0).Milliseconds())
		switch {
		case ms > 209 && ms < 300: // the second part after its first page
			mu.Lock()
			held = append(held, call)
			mu.Unlock()
			select {
			case <-takenOver:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Minute): // only when nothing takes over: fail, not hang
				return nil, errors.New("no part took over the held one's range")
			}
		case ms >= 300: // the part that took over
			mu.Lock()
			taker = append(taker, call)
			mu.Unlock()
			once.Do(func() { close(takenOver) })
		}
		return split.fetch(ctx, start, end, limit)
	}
	got, err := PageSplit(context.Background(), fetch, at(0), at(409), 30, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(taker) == 0 || len(held) == 0 || !strings.HasSuffix(held[0], "-409") {
		t.Fatalf("held %v, taken over by %v: want the second part's request to 409 held until another part took over from 300 ms on", held, taker)
	}
	if canon(lines(got.Entries)) != canon(lines(want.Entries)) {
		t.Errorf("entries differ from one pager's:\n got %s\nwant %s", lines(got.Entries), lines(want.Entries))
	}
	if got.Pages != len(split.f.calls) || got.Capped || len(got.Notices) > 0 {
		t.Errorf("Pages %d for %d requests, capped %v, notices %q", got.Pages, len(split.f.calls), got.Capped, got.Notices)
	}
}
