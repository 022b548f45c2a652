// Command tracegap runs Tracegap's engine from a terminal: it explains why
// one trace was slow, as the Grafana data source does, and prints a
// waterfall with each span's log-derived waits, retries and warnings.
//
//	tracegap explain --tempo http://localhost:3200 --loki http://localhost:3100 TRACEID
//	tracegap explain --trace trace.pb --logs logs.json
//	tracegap explain --example
//
// The main package only parses arguments and picks the source; fetching is
// pkg/explain, decoding pkg/tempo and pkg/loki, the analysis pkg/correlate
// and the rendering pkg/report.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes: 0 when the trace was explained, 1 when a file or Tempo
// failed, 2 for a usage error, 3 when the trace was explained but the answer
// is partial (Loki failed so logs are missing, Tempo returned part of the
// trace, or --max-lines cut the logs): the report is printed, and scripts
// can tell it from a complete one.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitPartial  = 3
	program      = "tracegap"
	explainUsage = `Usage:
  tracegap explain --tempo URL [--loki URL] [--tenant ID] [--token-env NAME] TRACEID
  tracegap explain --tempo URL --loki URL --compare [--baseline N] TRACEID
  tracegap explain --trace FILE [--logs FILE] [TRACEID]
  tracegap explain --example

Explains why one trace was slow: joins the trace's spans with its log lines
by traceId/spanId and prints first where the request's time went (a headline
and a breakdown of the critical path that adds up to the root's duration),
then a waterfall with, under each span, the waits its logs show (how much of
each a callee span covers and how much no span explains), its retries and its
warnings; then the details.

  --tempo, --loki   fetch the trace from Tempo and its logs from Loki (base URLs,
                    e.g. http://localhost:3200 and http://localhost:3100)
  --trace, --logs   read an exported trace (Tempo/OTLP JSON or protobuf, e.g. the
                    body of GET /api/v2/traces/ID) and a Loki query_range JSON answer
  --example         explain the seed trace built into this binary (no servers needed)
  --compare         also compare the trace with up to --baseline (20) other requests of
                    its root service and operation (the hour around it): what this one
                    spent its time on that the typical one did not

Exit status: 0 explained; 1 a file or Tempo failed; 2 usage error; 3 explained,
but the answer is partial (Loki failed so the logs are missing, Tempo returned
part of the trace, or --max-lines cut the logs; the report says which).

Options:
`
	mainUsage = `Usage:
  tracegap explain [options] TRACEID   (see tracegap explain -h)

Commands:
  explain   explain why one trace was slow, from Tempo and Loki, from files,
            or on the built-in example (tracegap explain --example)
`
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process's exit code.
// Results go to stdout; errors and usage to stderr (usage asked for with
// -h goes to stdout).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "explain":
		return finish(stderr, runExplain(args[1:], stdout, stderr))
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", program, args[0], mainUsage)
	return exitUsage
}

// usageError is a command line that cannot run as written.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned when -h asked for the usage, already printed.
var errHelp = errors.New("help")

// partialError is returned after the report of a partial answer was
// printed: the exit status says so (exitPartial), stderr says why.
type partialError struct{ reasons []string }

func (e *partialError) Error() string {
	return "the answer is partial: " + strings.Join(e.reasons, "; ")
}

// finish prints err and maps it to an exit code.
func finish(stderr io.Writer, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	if pe, ok := errors.AsType[*partialError](err); ok {
		fmt.Fprintf(stderr, "%s explain: %s (exit status %d)\n", program, pe.Error(), exitPartial)
		return exitPartial
	}
	if ue, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(stderr, "%s explain: %s\nRun '%s explain -h' for usage.\n", program, ue.msg, program)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s explain: %v\n", program, err)
	return exitFailed
}
