// Package frames turns Tracegap's analysis (pkg/model) into Grafana data
// frames. It is the only package that knows Grafana's frame contracts: the
// field names, types and frame metadata that the trace view, the logs view,
// tables, time series panels, annotations and alert rules read. Field names
// are a contract with dashboards and alert rules: add fields at the end,
// never rename or reorder them.
package frames
