// Command demo sends the seed story's dashboard request flow to Tempo and
// Loki as live traffic, so the Tracegap data source has slow requests to
// explain:
//
//	go run ./pkg/cmd/demo --tempo http://tempo:4318 --loki http://loki:3100 --rate 1/s
//
// Each trace is OTLP protobuf POSTed to Tempo's /v1/traces; its log lines
// (JSON with traceId/spanId, plus structured metadata trace_id/span_id) are
// POSTed to Loki's /loki/api/v1/push. The first trace is the seed
// document's own (unless --seed-story=false). SIGINT/SIGTERM stop it after
// the trace being sent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracegap/correlator/pkg/demo"
)

func main() {
	err := run(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is the answer
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run parses the flags and sends traffic; usage and logs go to stderr.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tempo := fs.String("tempo", "http://localhost:4318", "Tempo's OTLP/HTTP receiver (base URL; /v1/traces is appended)")
	loki := fs.String("loki", "http://localhost:3100", "Loki's HTTP API (base URL; /loki/api/v1/push is appended)")
	rate := fs.String("rate", "1/s", "traces per unit: 1/s, 30/m, 0.5/s")
	once := fs.Bool("once", false, "send one trace and exit (non-zero exit when Tempo or Loki rejects it)")
	seed := fs.Uint64("seed", 0, "random seed: the same seed sends the same traces and ids (0: from the clock; never reuse one against the same Tempo)")
	tenant := fs.String("tenant", "", "tenant sent as X-Scope-OrgID to Tempo and Loki (when they run with auth enabled)")
	story := fs.Bool("seed-story", true, "send the seed document's trace first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every option is a flag (see -h)", fs.Args())
	}
	interval, err := demo.ParseRate(*rate)
	if err != nil {
		return err
	}
	sender, err := demo.NewSender(&http.Client{Timeout: 10 * time.Second}, *tempo, *loki, *tenant)
	if err != nil {
		return err
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	logger.Info("sending demo traffic", "tempo", sender.TempoURL, "loki", sender.LokiURL,
		"interval", interval, "seed", *seed, "once", *once)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = demo.Run(ctx, demo.Options{
		Sender: sender, Interval: interval, Seed: *seed, Once: *once,
		SeedStoryFirst: *story, Logger: logger,
	})
	if err == nil && !*once {
		logger.Info("stopped")
	}
	return err
}
