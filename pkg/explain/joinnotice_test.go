package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

// TestJoinNoticeSeverity: the notice about lines that did not join is
// information while most lines join, and a warning once more than half of
// the trace's lines do not; summed over traces it is said once.
func TestJoinNoticeSeverity(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	t0 := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	tr := &model.Trace{TraceID: tid, Spans: []model.Span{{TraceID: tid, SpanID: sid, ServiceName: "ledger", Name: "GET /", Start: t0, End: t0.Add(time.Second)}}}
	fetched := func(joined, unread int) *Fetched {
		var es []model.LogEntry
		for k := range joined + unread {
			line := "2026-11-25T16:00:00Z INFO step trace_id=" + tid
			if k < joined {
				line += " span_id=" + sid
			}
			es = append(es, model.LogEntry{Time: t0.Add(time.Duration(k) * time.Millisecond), Line: line})
		}
		return &Fetched{TraceID: tid, Trace: &tempo.TraceResult{Trace: tr}, Logs: &loki.LogsResult{Entries: es}}
	}
	notice := func(r *Result) (Notice, bool) {
		for _, n := range r.Notices {
			if strings.Contains(n.Text, "did not join a span") {
				if !r.IsJoinNotice(n) {
					t.Errorf("IsJoinNotice(%q) is false", n.Text)
				}
				return n, true
			}
		}
		return Notice{}, false
	}
	mostly := Analyze(fetched(3, 2), correlate.Options{})
	if n, ok := notice(mostly); !ok || n.Severity != Info {
		t.Errorf("2 of 5 did not join: notice %+v (found %v), want information", n, ok)
	}
	few := Analyze(fetched(2, 3), correlate.Options{})
	if n, ok := notice(few); !ok || n.Severity != Warning {
		t.Errorf("3 of 5 did not join: notice %+v (found %v), want a warning", n, ok)
	}
	if _, ok := notice(Analyze(fetched(4, 0), correlate.Options{})); ok {
		t.Errorf("every line joined, yet a join notice")
	}
	sum, ok := JoinNotice([]*model.Analysis{mostly.Analysis, few.Analysis})
	if !ok || sum.Severity != Info || !strings.HasPrefix(sum.Text, "Over the 2 traces: 5 of 10 log entries did not join a span: 5 carry no span id we could read") {
		t.Errorf("summed notice %+v; want 5 of 10, information (half is not more than half)", sum)
	}
}
