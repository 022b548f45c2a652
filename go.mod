module github.com/tracegap/correlator

go 1.26.8

require (
	github.com/grafana/grafana-plugin-sdk-go v0.298.0 // indirect
	github.com/magefile/mage v1.17.2 // indirect
	go.opentelemetry.io/proto/otlp v1.11.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
