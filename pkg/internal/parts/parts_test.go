package parts

import (
	"runtime"
	"testing"
)

func TestSplitAndRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, c := range []struct{ n, parts int }{
		{0, 1}, {1, 1}, {MinItems - 1, 1}, {2*MinItems - 1, 1}, {2 * MinItems, 2}, {4*MinItems + 3, 4}, {9 * MinItems, 4},
	} {
		ps := Split(c.n)
		if len(ps) != c.parts {
			t.Errorf("n=%d: %d parts, want %d", c.n, len(ps), c.parts)
		}
		seen := make([]int, c.n)
		ran := make([]bool, len(ps))
		Run(ps, func(k, lo, hi int) {
			ran[k] = true
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for k, r := range ran {
			if !r {
				t.Errorf("n=%d: part %d not run", c.n, k)
			}
		}
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("n=%d: item %d handled %d times", c.n, i, s)
			}
		}
	}
}
