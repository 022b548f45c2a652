package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// messyResult is a trace the way real ones read: long service and
// operation names, durations with microseconds (5166.879 ms) and under
// 10 ms, a CLIENT/SERVER pair with network time, a retried attempt, and
// zap/logrus-style lines around a long lock wait.
func messyResult() *model.Trace {
	us := func(ms float64) time.Time { return base.Add(time.Duration(ms * float64(time.Millisecond))) }
	t := &model.Trace{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	add := func(id, parent, svc, op string, kind model.SpanKind, start, end float64, status model.StatusCode) {
		t.Spans = append(t.Spans, model.Span{TraceID: t.TraceID, SpanID: id, ParentSpanID: parent, ServiceName: svc, Name: op,
			Kind: kind, Start: us(start), End: us(end), StatusCode: status})
	}
	add("00000000000000b1", "", "storefront-checkout-orchestrator-service", "POST /api/v2/checkout/{cartId}/confirm-and-pay", model.KindServer, 0, 5166.879, model.StatusUnset)
	add("00000000000000b2", "00000000000000b1", "storefront-checkout-orchestrator-service", "HTTP POST payments", model.KindClient, 3.25, 4.875, model.StatusError)
	add("00000000000000b3", "00000000000000b1", "storefront-checkout-orchestrator-service", "HTTP POST payments", model.KindClient, 4.875, 120.5, model.StatusUnset)
	add("00000000000000b4", "00000000000000b3", "payment-authorization-gateway-eu-west-1", "POST /v1/authorizations", model.KindServer, 12.125, 110.0625, model.StatusUnset)
	add("00000000000000b5", "00000000000000b1", "mysql", "SELECT inventory_reservations FOR UPDATE", model.KindClient, 130, 5100.5, model.StatusUnset)
	return t
}

func messyLines() []model.LogEntry {
	line := func(ms float64, span, msg string) model.LogEntry {
		return model.LogEntry{Time: base.Add(time.Duration(ms * float64(time.Millisecond))),
			Stream: model.Labels{{Name: "service_name", Value: "mysql"}},
			// logrus's text formatter
			Line: `time="2026-11-25T16:36:37Z" level=info msg="` + msg + `" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=` + span}
	}
	return []model.LogEntry{
		line(131.5, "00000000000000b5", "waiting for lock behind 3 transactions"),
		line(4950.25, "00000000000000b5", "acquired lock; 0 transactions waiting behind"),
		line(5100, "00000000000000b5", "query done"),
	}
}

// TestTextGolden: the report at 60, 100 and 160 columns, on the seed and on
// a trace with long names and odd durations. Columns never touch and every
// duration reads as whole ms (from 10 ms) or with one decimal (below).
func TestTextGolden(t *testing.T) {
	cases := map[string]func() string{}
	for _, w := range []int{60, 100, 160} {
		w := w
		cases["messy_"+itoa(w)] = func() string { return text(t, result(messyResult(), messyLines()...), Options{Width: w}) }
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			out := run()
			checkColumns(t, out)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != out {
				t.Errorf("output differs from %s (rerun with -update if intended):\n%s", path, out)
			}
		})
	}
}

var (
	touching   = regexp.MustCompile(`ms\d|\dms\b|│\d`)
	fineMillis = regexp.MustCompile(`\b\d+\.\d\d+ ms\b|\b\d{2,}\.\d ms\b`)
)

// checkColumns fails on cells that run into each other ("0 ms5166.879 ms")
// and on durations written finer than the text report writes them.
func checkColumns(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if m := touching.FindString(l); m != "" {
			t.Errorf("cells touch (%q) in %q", m, l)
		}
		if m := fineMillis.FindString(l); m != "" {
			t.Errorf("duration %q too fine in %q", m, l)
		}
		// The waterfall's numbers after the bar: each at least two spaces apart.
		if i := strings.LastIndex(l, "│"); i >= 0 && strings.Count(l, "│") >= 2 && !strings.HasPrefix(strings.TrimSpace(l), "│") {
			nums := l[i+len("│"):]
			if strings.Contains(nums, "ms ms") || !strings.HasPrefix(nums, "  ") {
				t.Errorf("waterfall numbers run into the bar or each other: %q", l)
			}
			for _, f := range strings.Split(strings.TrimSpace(nums), "  ") {
				if strings.Count(f, "ms") > 1 {
					t.Errorf("two numbers with one space between them: %q in %q", f, l)
				}
			}
		}
	}
}

func itoa(n int) string { return fmt.Sprintf("%03d", n) }
