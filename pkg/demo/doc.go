// Package demo generates the seed story's dashboard request flow as live
// traffic: one trace per request (dashboard-service → user-service and
// widget-service → widget-config-db, data-aggregator-a, data-aggregator-b)
// with the log lines each service writes, sent as OTLP to Tempo and as JSON
// lines to Loki's push API.
//
// The scenario is a pure function of a random source and a start time
// (Generate, SeedStory), so tests can check what a run would send without a
// network; the senders take an *http.Client and a URL, so tests point them at
// httptest receivers. Nothing here is imported by the plugin: it only feeds
// a demo stack (docker-compose.yaml) with traces worth explaining.
package demo
