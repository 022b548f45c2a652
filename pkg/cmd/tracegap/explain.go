package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/report"
	"github.com/tracegap/correlator/pkg/tempo"
)

// Defaults mirror the data source's (pkg/settings), so the terminal and
// the panels agree on the same trace.
const (
	defaultSelector = `{service_name=~".+"}`
	defaultTimeout  = 30 * time.Second
	defaultMargin   = 5 * time.Second
	defaultMaxLines = 50000
)

// explainFlags are the explain command's options.
type explainFlags struct {
	tempoURL, lokiURL  string
	tenant, tokenEnv   string
	timeout            time.Duration
	selector, logMode  string
	margin             time.Duration
	maxLines           int
	traceFile, logFile string
	example            bool
	minGap             string
	retryPattern       string
	format             string
	noColor            bool
	width              int
}

func newFlagSet(f *explainFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are worded and printed by finish
	fs.StringVar(&f.tempoURL, "tempo", "", "Tempo base `URL`, e.g. http://localhost:3200")
	fs.StringVar(&f.lokiURL, "loki", "", "Loki base `URL`, e.g. http://localhost:3100 (without it the trace is shown without logs)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant `ID` sent as X-Scope-OrgID to Tempo and Loki (multi-tenant setups)")
	fs.StringVar(&f.tokenEnv, "token-env", "", "`NAME` of an environment variable holding a bearer token for Tempo and Loki (the token itself is never a flag)")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "time limit of each request to Tempo or Loki")
	fs.StringVar(&f.selector, "selector", defaultSelector, "LogQL stream `selector` the log query starts from")
	fs.StringVar(&f.logMode, "log-mode", string(loki.ModeAuto), "how Loki finds the trace's lines: line (id in the line), metadata (trace_id structured metadata) or auto (the line-filter query, plus a structured-metadata query for lines whose text does not carry the id (each line fetched once))")
	fs.DurationVar(&f.margin, "margin", defaultMargin, "widen the log search around the trace's own time bounds by this much on each side")
	fs.IntVar(&f.maxLines, "max-lines", defaultMaxLines, "most log lines fetched for the trace")
	fs.StringVar(&f.traceFile, "trace", "", "exported trace `FILE`: Tempo/OTLP JSON or protobuf (v1 or v2)")
	fs.StringVar(&f.logFile, "logs", "", "Loki query_range JSON `FILE` with the trace's log lines (needs --trace)")
	fs.BoolVar(&f.example, "example", false, "explain the seed trace built into this binary")
	fs.StringVar(&f.minGap, "min-gap", "100ms", "shortest interval between two log lines of a span reported as a wait (a Go `duration` or a number of ms)")
	fs.StringVar(&f.retryPattern, "retry-pattern", correlate.DefaultRetryPattern, "`regexp` for log messages announcing a retry (case-insensitive)")
	fs.StringVar(&f.format, "format", "text", "output `format`: text or json")
	fs.BoolVar(&f.noColor, "no-color", false, "no colors (also off when stdout is not a terminal or NO_COLOR is set)")
	fs.IntVar(&f.width, "width", 0, "line width of the text report (default $COLUMNS, else 100)")
	return fs
}

// liveOnly are the options that only mean something when talking to
// Tempo and Loki; passing them with files or --example is a mistake worth
// saying (a token flag silently ignored would confuse).
var liveOnly = []string{"tenant", "token-env", "timeout", "selector", "log-mode", "margin", "max-lines"}

// runExplain is the explain command: parse, pick the source, analyse,
// render.
func runExplain(args []string, stdout, stderr io.Writer) error {
	var f explainFlags
	fs := newFlagSet(&f)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, explainUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return usagef("%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	opts, err := analysisOptions(&f)
	if err != nil {
		return err
	}
	if f.format != "text" && f.format != "json" {
		return usagef("--format %q is not a format; use text or json", f.format)
	}
	if f.width < 0 {
		return usagef("--width %d is negative; give a number of columns such as 100", f.width)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var (
		res    *explain.Result
		source string
	)
	switch {
	case f.example:
		if set["tempo"] || set["loki"] || set["trace"] || set["logs"] {
			return usagef("--example explains the built-in trace; leave out --tempo, --loki, --trace and --logs")
		}
		if err := noLiveOnly(set, "--example"); err != nil {
			return err
		}
		if len(pos) > 0 {
			return usagef("--example takes no trace id (got %q)", pos[0])
		}
		res, err = explainBytes(exampleTrace, exampleLogs, "", "the built-in example trace", "the built-in example logs", opts)
		if err != nil {
			return fmt.Errorf("the built-in example is broken: %w", err)
		}
		source = exampleSource
	case set["trace"]:
		if set["tempo"] || set["loki"] {
			return usagef("--trace reads a file and --tempo/--loki fetch from servers; use one or the other")
		}
		if err := noLiveOnly(set, "--trace"); err != nil {
			return err
		}
		if len(pos) > 1 {
			return usagef("expected at most one trace id, got %d: %q", len(pos), pos)
		}
		want := ""
		if len(pos) == 1 {
			if want, err = traceID(pos[0]); err != nil {
				return err
			}
		}
		res, source, err = explainFiles(f.traceFile, f.logFile, want, opts)
		if err != nil {
			return err
		}
	case set["logs"]:
		return usagef("--logs needs --trace FILE (the trace the lines belong to); to fetch logs from Loki use --tempo URL --loki URL TRACEID")
	case set["tempo"] || set["loki"]:
		if !set["tempo"] {
			return usagef("--loki needs --tempo URL too: the trace comes from Tempo and its time bounds tell Loki where to look")
		}
		if len(pos) != 1 {
			return usagef("expected one trace id after the options, got %d", len(pos))
		}
		id, err := traceID(pos[0])
		if err != nil {
			return err
		}
		res, source, err = explainLive(ctx, &f, id, opts)
		if err != nil {
			return err
		}
	default:
		if len(pos) > 0 {
			return usagef("where should trace %s come from? add --tempo URL --loki URL, or use --trace FILE", pos[0])
		}
		return usagef("say what to explain: a TRACEID with --tempo URL and --loki URL, an exported trace with --trace FILE, or --example")
	}

	if f.format == "json" {
		return report.JSON(stdout, res)
	}
	return report.Text(stdout, res, report.Options{
		Width:  width(f.width),
		Color:  !f.noColor && colorable(stdout),
		Source: source,
	})
}

// parseInterspersed parses flags wherever they are, so that both
// "explain --tempo URL ID" and "explain ID --tempo URL" work; everything
// after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func noLiveOnly(set map[string]bool, mode string) error {
	for _, name := range liveOnly {
		if set[name] {
			return usagef("--%s only applies when fetching from Tempo and Loki (--tempo, --loki), not with %s", name, mode)
		}
	}
	return nil
}

// traceID checks and normalises a trace id from the command line.
func traceID(raw string) (string, error) {
	id, ok := model.NormalizeTraceID(raw)
	if !ok {
		return "", &usageError{msg: (&explain.InvalidTraceIDError{TraceID: raw}).Error()}
	}
	return id, nil
}

// analysisOptions reads --min-gap and --retry-pattern into engine options.
func analysisOptions(f *explainFlags) (correlate.Options, error) {
	opts := correlate.DefaultOptions()
	gap, err := parseMinGap(f.minGap)
	if err != nil {
		return opts, err
	}
	opts.MinGap = gap
	re, err := retryPattern(f.retryPattern)
	if err != nil {
		return opts, err
	}
	opts.RetryPattern = re
	return opts, nil
}

// parseMinGap accepts a Go duration ("100ms", "1.5s") or a number of
// milliseconds ("100"), as the data source's setting is in ms.
func parseMinGap(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		ms, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, usagef("--min-gap %q is not a duration; write it like 100ms, 1.5s or 250 (milliseconds)", s)
		}
		d = time.Duration(ms * float64(time.Millisecond))
	}
	if d <= 0 {
		return 0, usagef("--min-gap %q must be positive; the default is 100ms", s)
	}
	return d, nil
}

// retryPattern compiles the pattern case-insensitively, as the data source
// does (pkg/settings): compile it as written first, so an error quotes the
// user's pattern, and refuse one that matches every line.
func retryPattern(s string) (*regexp.Regexp, error) {
	if s == correlate.DefaultRetryPattern {
		return nil, nil // the engine's own, with its fast matcher
	}
	if _, err := regexp.Compile(s); err != nil {
		return nil, usagef("--retry-pattern is not a valid regular expression (%v); e.g. %s", err, correlate.DefaultRetryPattern)
	}
	re := regexp.MustCompile("(?i)" + s)
	if re.MatchString("") {
		return nil, usagef("--retry-pattern %q matches every log line; make it match only retry messages, e.g. %s", s, correlate.DefaultRetryPattern)
	}
	return re, nil
}

// width picks the report's line width: the flag, else $COLUMNS (shells set
// it, though few export it), else the report's default.
func width(flagWidth int) int {
	if flagWidth > 0 {
		return flagWidth
	}
	if c, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && c >= 40 {
		return c
	}
	return report.DefaultWidth
}

// colorable reports whether w is a terminal that wants colors: not when
// NO_COLOR is set (no-color.org), TERM is dumb, or w is a pipe or a file.
func colorable(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// explainFiles analyses an exported trace and, when given, a Loki answer.
func explainFiles(traceFile, logFile, want string, opts correlate.Options) (*explain.Result, string, error) {
	tb, err := os.ReadFile(traceFile)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read the trace file: %w", err)
	}
	var lb []byte
	if logFile != "" {
		if lb, err = os.ReadFile(logFile); err != nil {
			return nil, "", fmt.Errorf("cannot read the logs file: %w", err)
		}
	}
	res, err := explainBytes(tb, lb, want, "trace file "+traceFile, "logs file "+logFile, opts)
	if err != nil {
		return nil, "", err
	}
	source := "from files: trace " + traceFile
	if logFile != "" {
		source += ", logs " + logFile
	} else {
		res.Notices = append(res.Notices, explain.Notice{Severity: explain.Info, Text: "No --logs file was given, so the trace is shown without log-derived waits and retries; save the trace's lines from Loki's query_range API and pass them with --logs."})
	}
	return res, source, nil
}

// explainBytes decodes a trace (any form tempo.DecodeTrace reads) and
// optional Loki query_range JSON, and runs the engine. want picks one trace
// of a file that holds several.
func explainBytes(traceBody, logsBody []byte, want, traceName, logsName string, opts correlate.Options) (*explain.Result, error) {
	if len(bytes.TrimSpace(traceBody)) == 0 {
		// Tempo's v1 answer to an unknown id is an empty 404 body.
		return nil, fmt.Errorf("%s is empty; export a trace that exists (an empty file is what Tempo's v1 API answers for an unknown trace id)", traceName)
	}
	tr, err := tempo.DecodeTrace(traceBody)
	switch {
	case errors.Is(err, tempo.ErrTraceNotFound):
		return nil, fmt.Errorf("%s holds no spans (Tempo answers an unknown trace id with an empty trace); export a trace that exists", traceName)
	case err != nil:
		return nil, fmt.Errorf("%s is not a trace that Tempo or an OTLP exporter writes (%v); export one with: curl -H 'Accept: application/protobuf' http://tempo:3200/api/v2/traces/TRACEID > trace.pb", traceName, err)
	}
	if err := pickTrace(tr.Trace, want, traceName); err != nil {
		return nil, err
	}
	f := &explain.Fetched{TraceID: tr.Trace.TraceID, Trace: tr}
	if logsBody != nil {
		qr, err := loki.DecodeQueryRange(logsBody)
		if err != nil {
			return nil, fmt.Errorf("%s is not a Loki query_range answer (%v); save one with: curl -G http://loki:3100/loki/api/v1/query_range --data-urlencode 'query={service_name=~\".+\"} |= \"TRACEID\"' --data-urlencode start=... --data-urlencode end=... > logs.json", logsName, err)
		}
		f.Logs = &loki.LogsResult{Entries: qr.Entries}
	}
	return explain.Analyze(f, opts), nil
}

// pickTrace keeps the spans of one trace when a file holds several (an
// OTLP export of a batch, say): the one named by want, which must be
// there; without want, a file of several traces is ambiguous.
func pickTrace(t *model.Trace, want, traceName string) error {
	var ids []string
	for i := range t.Spans {
		if !slices.Contains(ids, t.Spans[i].TraceID) {
			ids = append(ids, t.Spans[i].TraceID)
		}
	}
	switch {
	case want == "" && len(ids) > 1:
		return usagef("%s holds %d traces (%s); name the one to explain after the options", traceName, len(ids), strings.Join(ids, ", "))
	case want == "":
		return nil
	case !slices.Contains(ids, want):
		return fmt.Errorf("%s holds trace %s, not %s", traceName, strings.Join(ids, ", "), want)
	}
	t.Spans = slices.DeleteFunc(t.Spans, func(s model.Span) bool { return s.TraceID != want })
	t.TraceID = want
	return nil
}

// explainLive fetches the trace from Tempo and its logs from Loki. A Loki
// failure is a notice on the result (the trace is still worth seeing); a
// Tempo failure is the error.
func explainLive(ctx context.Context, f *explainFlags, id string, opts correlate.Options) (*explain.Result, string, error) {
	tempoBase, err := checkURL("--tempo", f.tempoURL, "http://localhost:3200")
	if err != nil {
		return nil, "", err
	}
	var lokiBase string
	if f.lokiURL != "" {
		if lokiBase, err = checkURL("--loki", f.lokiURL, "http://localhost:3100"); err != nil {
			return nil, "", err
		}
	}
	if f.tenant != "" && strings.IndexFunc(f.tenant, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return nil, "", usagef("--tenant %q has spaces or characters Tempo and Loki do not accept in a tenant id", f.tenant)
	}
	mode, err := loki.ParseMode(f.logMode)
	if err != nil {
		return nil, "", usagef("--log-mode: %v", err)
	}
	if _, err := loki.CheckSelector(f.selector); err != nil {
		return nil, "", usagef("--selector: %v", err)
	}
	if f.timeout <= 0 || f.margin < 0 || f.maxLines <= 0 {
		return nil, "", usagef("--timeout and --max-lines must be positive and --margin not negative")
	}
	token, err := bearerToken(f.tokenEnv)
	if err != nil {
		return nil, "", err
	}
	hc := newHTTPClient(f.timeout, token, f.tempoURL, f.lokiURL)
	defer hc.CloseIdleConnections()

	source := "from Tempo " + tempoBase
	ex := &explain.Explainer{Tempo: tempo.New(f.tempoURL, hc, f.tenant)}
	if lokiBase == "" {
		// Tempo alone: the waterfall without log-derived findings.
		tr, err := ex.Tempo.Trace(ctx, id, time.Time{}, time.Time{})
		if err != nil {
			return nil, "", err
		}
		res := explain.Analyze(&explain.Fetched{TraceID: id, Trace: tr}, opts)
		res.Notices = append(res.Notices, explain.Notice{Severity: explain.Info, Text: "No --loki URL was given, so the trace's logs were not looked up and there are no log-derived waits or retries; add --loki URL."})
		return res, source, nil
	}
	ex.Loki = loki.New(f.lokiURL, hc, f.tenant)
	source += " and Loki " + lokiBase
	res, err := ex.Trace(ctx, id, time.Time{}, time.Time{}, explain.LogOptions{
		Selector: f.selector, Mode: mode, Margin: f.margin, MaxLines: f.maxLines,
	}, opts)
	if err != nil {
		return nil, "", err
	}
	return res, source, nil
}
