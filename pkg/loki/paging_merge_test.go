package loki

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// randomRuns is a page as Loki sends one: streams one after another, each
// in time order, with many shared timestamps across and within streams.
func randomRuns(rng *rand.Rand, runs, perRun, spread int) []model.LogEntry {
	var page []model.LogEntry
	for r := range runs {
		stream := model.Labels{{Name: "service_name", Value: fmt.Sprint("s", r%3)}}
		var ts []int
		for range rng.IntN(perRun + 1) {
			ts = append(ts, rng.IntN(spread))
		}
		slices.Sort(ts)
		for _, ms := range ts {
			page = append(page, entry(ms, stream, fmt.Sprint(len(page))))
		}
	}
	return page
}

func TestMergeRunsIsAStableSortByTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		page := randomRuns(rng, 1+n%13, 40, 1+n%50)
		want := slices.Clone(page)
		slices.SortStableFunc(want, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
		got := merged(page)
		if lines(got) != lines(want) {
			t.Fatalf("case %d: merged\n%s\nwant (stable sort)\n%s", n, lines(got), lines(want))
		}
	}
	if got := merged(nil); len(got) != 0 {
		t.Fatalf("an empty page merged into %d entries", len(got))
	}
}

// merged is page in time order, as the pager merges a page it kept whole.
func merged(page []model.LogEntry) []model.LogEntry {
	c := chunk{page: page}
	for _, r := range runsOf(page) {
		c.add(r.start, r.end)
	}
	return c.appendMerged(nil)
}

// TestMergeMatchesMapMerge: the time-ordered walk gives exactly what the
// map of identities gives, for few and for many entries per timestamp.
func TestMergeMatchesMapMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(all []model.LogEntry) []model.LogEntry {
		var out []model.LogEntry
		for _, e := range all {
			for range rng.IntN(3) { // dropped, once, or logged twice
				out = append(out, e)
			}
		}
		slices.SortStableFunc(out, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
		return out
	}
	for n := range 300 {
		spread := 1 + n%40 // spread 1: every entry at one timestamp (the map path)
		var all []model.LogEntry
		for k := range 20 + n%200 {
			s := streamA
			if rng.IntN(3) == 0 {
				s = streamB
			}
			all = append(all, entry(rng.IntN(spread), s, fmt.Sprint("l", k%17)))
		}
		a, b := pick(all), pick(all)
		got, gotDups := Merge(slices.Clone(a), slices.Clone(b))
		want, wantDups := mergeUnordered(a, b)
		if lines(got) != lines(want) || gotDups != wantDups {
			t.Fatalf("case %d (%d×%d entries): Merge\n%s (dups %d)\nwant\n%s (dups %d)", n, len(a), len(b), lines(got), gotDups, lines(want), wantDups)
		}
	}
}

func TestMergeUnorderedInput(t *testing.T) {
	a := []model.LogEntry{entry(3, streamA, "c"), entry(1, streamA, "a")}
	b := []model.LogEntry{entry(1, streamA, "a"), entry(2, streamB, "b")}
	got, dups := Merge(a, b)
	if want := "2:b:b 3:a:c 1:a:a"; lines(got) != want || dups != 1 {
		t.Errorf("Merge = %s (dups %d), want %s (dups 1)", lines(got), dups, want)
	}
}
