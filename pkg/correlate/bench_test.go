package correlate

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tracegap/correlator/pkg/correlate/synth"
)

// BenchmarkAnalyze measures one analysis of a synthetic trace with 10 log
// entries per span. Target: 10k spans in at most 100 ms, and roughly
// linear cost (10k no more than 12× 1k). Each size generates its own data
// inside its sub-benchmark, so that a larger size's input is not live (and
// scanned by the GC) while a smaller one runs.
func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("spans=%d/logs=%d", n, n*10), func(b *testing.B) {
			tr, entries := synth.Generate(synth.Config{Spans: n, LogsPerSpan: 10, Seed: 1})
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				Analyze(tr, entries, Options{})
			}
		})
	}
}

// BenchmarkExtract measures field extraction alone, per entry: synth's
// JSON lines, and the same lines in zap's console format.
func BenchmarkExtract(b *testing.B) {
	for _, c := range []struct {
		name string
		text int
	}{{"json", 0}, {"zap-console", 1}} {
		b.Run(c.name, func(b *testing.B) {
			_, entries := synth.Generate(synth.Config{Spans: 1000, LogsPerSpan: 10, Seed: 1, TextEvery: c.text})
			x := NewExtractor(Options{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				x.Extract(&entries[i%len(entries)])
				i++
			}
		})
	}
}

// BenchmarkAnalyzeTextLines is BenchmarkAnalyze's 10k case with every
// second line in zap's console format (text, then a JSON object with the
// ids): the extraction's cost on lines that are not JSON as a whole.
func BenchmarkAnalyzeTextLines(b *testing.B) {
	tr, entries := synth.Generate(synth.Config{Spans: 10_000, LogsPerSpan: 10, Seed: 1, TextEvery: 2})
	runtime.GC()
	b.ReportAllocs()
	for b.Loop() {
		Analyze(tr, entries, Options{})
	}
}
