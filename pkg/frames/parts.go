package frames

import (
	"runtime"
	"sync"
)

// minPart is the fewest rows worth a goroutine of their own: below it the
// goroutine costs more than it saves.
const minPart = 2048

// eachPart calls fn on contiguous parts of [0, n), one per CPU (fewer for
// small n, on the caller's goroutine when one), and sums what they return.
// fn must write only the rows of its part.
func eachPart(n int, fn func(lo, hi int) int) int {
	w := max(1, min(runtime.GOMAXPROCS(0), n/minPart))
	if w == 1 {
		return fn(0, n)
	}
	sums := make([]int, w)
	var wg sync.WaitGroup
	for k := range w {
		wg.Go(func() { sums[k] = fn(n*k/w, n*(k+1)/w) })
	}
	wg.Wait()
	total := 0
	for _, s := range sums {
		total += s
	}
	return total
}
