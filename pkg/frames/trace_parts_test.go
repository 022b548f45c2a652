package frames

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tracegap/correlator/pkg/internal/parts"
)

// TestTraceSameOnAnyCPUs: a trace big enough for its rows to be built in
// parts gives the same frame, byte for byte, on one CPU and on several.
func TestTraceSameOnAnyCPUs(t *testing.T) {
	a := bigAnalysis(3*parts.MinItems+7, 30_000) // three parts on three CPUs, uneven
	build := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		b, err := Trace(a, Options{RefID: "A", MaxLinesPerSpan: 5, MaxEmbeddedLines: 20_000}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one := build(1)
	for _, procs := range []int{2, 3, 8} {
		if !bytes.Equal(one, build(procs)) {
			t.Errorf("GOMAXPROCS %d: the trace frame differs from the one built on one CPU", procs)
		}
	}
	if !bytes.Contains(one, []byte(TagHiddenLines)) {
		t.Error("no span is capped: the test does not cover the capped count")
	}
}
