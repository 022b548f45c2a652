// Package model holds Tracegap's domain values: the trace and log entries
// that come in from Tempo and Loki, and the findings the correlation engine
// derives from them. It imports nothing of ours and nothing of Grafana's, so
// every other package can share it without cycles.
package model
