package correlate

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tracegap/correlator/pkg/correlate/synth"
	"github.com/tracegap/correlator/pkg/model"
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

// BenchmarkBreakdownPass measures the breakdown pass alone on the same
// traces as BenchmarkAnalyze (the passes before it run outside the timer),
// so its share of the engine's time can be read on a busy machine.
func BenchmarkBreakdownPass(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			tr, entries := synth.Generate(synth.Config{Spans: n, LogsPerSpan: 10, Seed: 1})
			s := newState(tr, entries, Options{}.withDefaults())
			s.buildTree()
			s.join(entries)
			s.findGaps()
			s.findRetries()
			s.computeFigures()
			s.findCriticalPath()
			b.ReportMetric(float64(len(s.sections)), "sections")
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				s.a.Breakdown = model.Breakdown{}
				s.breakdown()
			}
			b.ReportMetric(float64(len(s.a.Breakdown.Rows)), "rows")
		})
	}
}
