package main

import _ "embed"

// The example is the seed trace of docs/analysis.md (trace
// 0af7651916cd43dd8448eb211c80319c, spans 00000000000000a1…a9, the seed's
// widget-service and data-aggregator-b lines plus the captures' few
// dashboard-service, user-service and edge-gateway lines) exactly as real
// servers returned it: byte-for-byte copies of
// pkg/internal/fixtures/testdata/real/tempo/trace_v2_protobuf.pb (Tempo v3.0.3, GET
// /api/v2/traces/ID) and loki/query_range_line_filter_categorized.json (Loki
// v3.7.6, the line-filter query). Embedding the wire bytes rather than
// model values means --example goes through the same decoders as --trace
// and --logs, and TestExampleIsTheCapture keeps the copies honest.
var (
	//go:embed example/trace_v2_protobuf.pb
	exampleTrace []byte
	//go:embed example/query_range_line_filter_categorized.json
	exampleLogs []byte
)

// exampleSource is what the report says the example is.
const exampleSource = "example: the seed trace of docs/analysis.md as Tempo and Loki returned it, built in"
