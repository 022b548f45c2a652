package explain

import (
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/tempo"
)

func TestSearchCacheKeepsAnswersBriefly(t *testing.T) {
	now := seedStart
	c := NewCache(0, 0, WithClock(func() time.Time { return now }))
	k := searchKey{tenant: "a", traceql: "{}", limit: 21}
	found := []tempo.SearchResult{{TraceID: "x"}}
	c.putSearch(k, found)
	if got, ok := c.getSearch(k); !ok || len(got) != 1 {
		t.Fatalf("a fresh answer is not kept: %v %v", got, ok)
	}
	for _, other := range []searchKey{{tenant: "b", traceql: "{}", limit: 21}, {tenant: "a", traceql: "{}", limit: 22}, {tenant: "a", traceql: "{}", limit: 21, end: 1}} {
		if _, ok := c.getSearch(other); ok {
			t.Errorf("%+v answered from %+v's entry", other, k)
		}
	}
	now = now.Add(SearchTTL)
	if _, ok := c.getSearch(k); ok {
		t.Error("an answer older than SearchTTL is still served")
	}
	// Bounded: the oldest goes first.
	for i := range maxSearches + 5 {
		now = now.Add(time.Millisecond)
		c.putSearch(searchKey{traceql: "{}", limit: i}, found)
	}
	if n := len(c.searches); n != maxSearches {
		t.Errorf("%d answers kept, want %d", n, maxSearches)
	}
	if _, ok := c.getSearch(searchKey{traceql: "{}", limit: 0}); ok {
		t.Error("the oldest answer was not the one dropped")
	}
	var nilCache *Cache
	nilCache.putSearch(k, found)
	if _, ok := nilCache.getSearch(k); ok {
		t.Error("a nil cache holds nothing")
	}
}
