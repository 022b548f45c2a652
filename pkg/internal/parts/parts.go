// Package parts cuts work on n independent items into contiguous parts,
// one per CPU, and runs them at once: the engine's passes (pkg/correlate)
// and the trace frame's rows (pkg/frames) share it. Each item must write
// only its own slots, so the result is the same however the work is split.
package parts

import (
	"runtime"
	"sync"
)

// MinItems is the fewest items worth a goroutine of their own: below it
// the goroutine costs more than it saves.
const MinItems = 2048

// Split cuts [0, n) into one contiguous part per CPU, fewer when n is
// small (each part at least MinItems, one part below 2×MinItems).
func Split(n int) [][2]int {
	w := max(1, min(runtime.GOMAXPROCS(0), n/MinItems))
	ps := make([][2]int, w)
	for k := range w {
		ps[k] = [2]int{n * k / w, n * (k + 1) / w}
	}
	return ps
}

// Run calls fn on every part (k is the part's index), each on its own
// goroutine when there are several, and returns when all are done.
func Run(ps [][2]int, fn func(k, lo, hi int)) {
	if len(ps) == 1 {
		fn(0, ps[0][0], ps[0][1])
		return
	}
	var wg sync.WaitGroup
	for k, p := range ps {
		wg.Go(func() { fn(k, p[0], p[1]) })
	}
	wg.Wait()
}
