package plugin

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/explain/searchtest"
	"github.com/tracegap/correlator/pkg/model"
)

// TestManyTraceQueriesSayWhyLinesDidNotJoin: when the lines' span ids
// cannot be read, search, waitMetrics and annotations each carry one
// warning, summed over the traces, that says why and what to set: an
// empty wait series is never silent.
func TestManyTraceQueriesSayWhyLinesDidNotJoin(t *testing.T) {
	traces := flowTraces(3, seedBase.Add(time.Minute), 40*time.Second, 7)
	total := 0
	for k := range traces {
		tr := &traces[k]
		for i := range tr.Entries {
			e := &tr.Entries[i]
			// A console line that names its trace but not its span, and
			// no span_id metadata: nothing to join a span by.
			e.Line = e.Time.UTC().Format(time.RFC3339Nano) + " INFO [worker-1] step " + strings.Repeat("x", i%3) + " trace=" + tr.Trace.TraceID
			e.Metadata = model.Labels{{Name: "trace_id", Value: tr.Trace.TraceID}}
		}
		total += len(tr.Entries)
	}
	srv := searchtest.Start(t, traces...)
	for _, q := range []struct{ queryType, json string }{
		{QueryTypeSearch, `{"query":"{}","limit":50}`},
		{QueryTypeWaitMetrics, `{"query":"{}","limit":50,"groupBy":"service"}`},
		{QueryTypeAnnotations, `{"query":"{}","limit":50}`},
	} {
		t.Run(q.queryType, func(t *testing.T) {
			r := runQuery(t, manyContext(t, srv), q.queryType, q.json, searchRange)
			if r.Error != nil {
				t.Fatalf("error %v", r.Error)
			}
			var join []data.Notice
			seen := map[string]bool{}
			for _, f := range r.Frames {
				if f.Meta == nil {
					continue
				}
				for _, n := range f.Meta.Notices {
					if strings.Contains(n.Text, "did not join a span") && !seen[n.Text] {
						seen[n.Text] = true
						join = append(join, n)
					}
				}
			}
			if len(join) != 1 {
				t.Fatalf("%d join notices %q, want one for the 3 traces", len(join), join)
			}
			n := join[0]
			for _, want := range []string{"Over the 3 traces: ", "carry no span id we could read", "spanIdFields", "logSelector"} {
				if !strings.Contains(n.Text, want) {
					t.Errorf("notice %q lacks %q", n.Text, want)
				}
			}
			if !strings.Contains(n.Text, fmt.Sprintf(" of %d log entries", total)) {
				t.Errorf("notice %q does not count the %d entries", n.Text, total)
			}
			if n.Severity != data.NoticeSeverityWarning {
				t.Errorf("severity %v, want a warning: no line joined", n.Severity)
			}
		})
	}
}
