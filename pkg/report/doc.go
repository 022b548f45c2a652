// Package report renders an explained trace (explain.Result) for a
// terminal: Text draws a waterfall with each span's gaps, retries and
// warnings under it, then a summary; JSON writes the same analysis as a
// stable JSON document for scripts. It only formats: every figure and
// sentence comes from the engine (pkg/correlate), so the terminal tells
// the same story as the Grafana panels.
package report
