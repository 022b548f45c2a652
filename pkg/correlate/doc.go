// Package correlate is Tracegap's pure analysis engine: it joins a trace's
// log entries to its spans and derives what docs/analysis.md defines (gaps
// and their attribution to callees, retries, self time, wait, unaccounted
// time, the critical path and anomalies), each finding also written as a
// sentence a person can act on.
//
// It has no I/O, no clock and no Grafana dependency: Analyze takes values
// and returns values, so every rule is testable with plain table tests.
// Analyze is organised like Jaeger's trace adjusters: a sequence of small
// passes over one shared state (analyze.go), one file per pass: tree.go
// (index and link the spans), join.go (extract.go and fields.go read the
// entries), gaps.go and attribution.go, retries.go, figures.go,
// critical_path.go, anomalies.go and findings.go; sentences.go writes the
// warnings. The passes that scale with the number of entries run on every
// core, each worker writing only its own slots, so the result is the same
// on any machine.
package correlate
