// Package synth generates large, deterministic traces and their log entries
// for benchmarks and property tests of the correlation engine (and of the
// whole query path). The shapes follow the seed trace: services that log
// "Initiating call to X" / "Received response from X" around their calls,
// JSON lines with ids, stated durations, an occasional retry, some entries
// of another trace or without a span id, and children that overflow their
// parents.
package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// Config says what to generate.
type Config struct {
	Spans       int // number of spans (at least 1)
	LogsPerSpan int // log entries per span (about; 0 means none)
	Seed        uint64
	// TextEvery puts every TextEvery-th line (0: none) in zap's console
	// format instead of JSON: time, level, caller and message separated by
	// tabs, then a JSON object with the ids and the stated duration.
	TextEvery int
}

// TraceID is the id of every generated trace.
const TraceID = "5b8efff798038103d269b633813fc60c"

// OtherTraceID is the id of the entries that belong to another trace.
const OtherTraceID = "00000000000000002c3a7bd5f1e3b9a1"

// Base is the start of every generated trace.
var Base = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

const fanOut = 4

var services = [...]string{
	"edge-gateway", "dashboard-service", "user-service", "widget-service",
	"data-aggregator-a", "data-aggregator-b", "billing-service", "search-service",
	"inventory-service", "auth-service", "notification-service", "report-service",
}

// Generate returns a trace of cfg.Spans spans, a complete fan-out-4 tree,
// and its log entries in Loki's order: grouped by stream (service), each
// stream in time order. The same Config always yields the same values.
func Generate(cfg Config) (*model.Trace, []model.LogEntry) {
	n := max(cfg.Spans, 1)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7472616365676170))
	depth := 0
	for c := 1; c < n; c = c*fanOut + 1 {
		depth++
	}
	// Children last a fifth to a half of their parent, so durations shrink
	// about threefold per level; leaves then last some hundred ms.
	rootDur := 200 * time.Millisecond
	for range depth {
		rootDur *= 3
	}

	tr := &model.Trace{TraceID: TraceID, Spans: make([]model.Span, n)}
	for i := range n {
		sp := &tr.Spans[i]
		sp.TraceID = TraceID
		sp.SpanID = fmt.Sprintf("%016x", uint64(i+1)*0x9e3779b97f4a7c15|1<<60)
		svc := services[i%len(services)]
		sp.ServiceName = svc
		sp.Kind = model.KindServer
		sp.Name = "GET /api/" + strings.TrimSuffix(svc, "-service") + "/" + strconv.Itoa(i%7)
		sp.StatusCode = model.StatusUnset
		if i == 0 {
			sp.Start, sp.End = Base, Base.Add(rootDur)
			continue
		}
		p := (i - 1) / fanOut
		k := (i - 1) % fanOut
		parent := &tr.Spans[p]
		sp.ParentSpanID = parent.SpanID
		pd := parent.End.Sub(parent.Start)
		jitter := time.Duration((rng.Float64() - 0.5) * 0.06 * float64(pd))
		sp.Start = parent.Start.Add(time.Duration((0.05+0.22*float64(k))*float64(pd)) + jitter)
		sp.End = sp.Start.Add(time.Duration((0.2 + 0.3*rng.Float64()) * float64(pd)))
		if k == 1 && rng.IntN(8) == 0 {
			// A retried call: the same operation as its previous sibling,
			// which failed.
			prev := &tr.Spans[i-1]
			sp.ServiceName, sp.Name = prev.ServiceName, prev.Name
			prev.StatusCode = model.StatusError
			if sp.Start.Before(prev.End) {
				sp.Start = prev.End
				sp.End = sp.Start.Add(time.Duration(0.2 * float64(pd)))
			}
		}
	}

	if cfg.LogsPerSpan <= 0 {
		return tr, nil
	}
	byService := make([][]model.LogEntry, len(services))
	streams := make([]model.Labels, len(services))
	for k, s := range services {
		streams[k] = model.Labels{{Name: "service_name", Value: s}}
	}
	var b []byte
	lineNo := 0
	for i := range n {
		sp := &tr.Spans[i]
		si := i % len(services)
		d := sp.End.Sub(sp.Start)
		times := make([]time.Time, 0, cfg.LogsPerSpan)
		msgs := make([]string, 0, cfg.LogsPerSpan)
		stated := make([]time.Duration, 0, cfg.LogsPerSpan)
		add := func(t time.Time, msg string, st time.Duration) {
			times, msgs, stated = append(times, t), append(msgs, msg), append(stated, st)
		}
		add(sp.Start, "Received request "+sp.Name, 0)
		for k := 1; k <= fanOut && len(times)+3 <= cfg.LogsPerSpan; k++ {
			c := fanOut*i + k
			if c >= n {
				break
			}
			child := &tr.Spans[c]
			name := strings.ReplaceAll(child.ServiceName, "-", " ")
			lead := time.Duration(rng.Float64() * 0.1 * float64(child.End.Sub(child.Start)))
			add(child.Start.Add(-lead), "Initiating call to "+name, 0)
			add(child.End.Add(lead/2), "Received response from "+name, child.End.Sub(child.Start))
		}
		for len(times) < cfg.LogsPerSpan-1 {
			t := sp.Start.Add(time.Duration(rng.Float64() * float64(d)))
			switch rng.IntN(20) {
			case 0:
				add(t, "Query timed out after 200ms, retrying", 200*time.Millisecond)
			case 1:
				add(t, "cache miss, loading from store", 0)
			default:
				add(t, "processed batch "+strconv.Itoa(len(times)), 0)
			}
		}
		// One in ten spans logs a little past its end, as the seed does.
		end := sp.End
		if rng.IntN(10) == 0 {
			end = end.Add(time.Duration(rng.Float64() * 0.2 * float64(d)))
		}
		add(end, "Finished "+sp.Name, d)

		for k := range times {
			traceID, spanID := TraceID, sp.SpanID
			switch rng.IntN(100) {
			case 0:
				traceID = OtherTraceID
			case 1:
				spanID = ""
			}
			level := "INFO"
			if strings.Contains(msgs[k], "retrying") {
				level = "WARN"
			}
			b = b[:0]
			lineNo++
			if cfg.TextEvery > 0 && lineNo%cfg.TextEvery == 0 {
				b = times[k].AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
				b = append(b, '\t')
				b = append(b, level...)
				b = append(b, "\tsynth/worker.go:42\t"...)
				b = append(b, msgs[k]...)
				b = append(b, "\t{\"traceId\": \""...)
				b = append(b, traceID...)
				b = append(b, '"')
				if spanID != "" {
					b = append(b, ", \"spanId\": \""...)
					b = append(b, spanID...)
					b = append(b, '"')
				}
				if stated[k] > 0 {
					b = append(b, ", \"duration_ms\": "...)
					b = strconv.AppendInt(b, stated[k].Milliseconds(), 10)
				}
				b = append(b, '}')
			} else {
				b = append(b, `{"timestamp":"`...)
				b = times[k].AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
				b = append(b, `","level":"`...)
				b = append(b, level...)
				b = append(b, `","message":`...)
				b = strconv.AppendQuote(b, msgs[k])
				b = append(b, `,"traceId":"`...)
				b = append(b, traceID...)
				b = append(b, '"')
				if spanID != "" {
					b = append(b, `,"spanId":"`...)
					b = append(b, spanID...)
					b = append(b, '"')
				}
				if stated[k] > 0 {
					b = append(b, `,"duration_ms":`...)
					b = strconv.AppendInt(b, stated[k].Milliseconds(), 10)
				}
				b = append(b, '}')
			}
			md := model.Labels{{Name: "detected_level", Value: strings.ToLower(level)}, {Name: "trace_id", Value: traceID}}
			if spanID != "" {
				md = append(md, model.Label{Name: "span_id", Value: spanID})
			}
			byService[si] = append(byService[si], model.LogEntry{
				Time: times[k], Line: string(b), Stream: streams[si], Metadata: md,
			})
		}
	}
	out := make([]model.LogEntry, 0, n*cfg.LogsPerSpan)
	for _, es := range byService {
		sortByTime(es)
		out = append(out, es...)
	}
	// A decoded Loki response holds its lines in memory in response order;
	// copy them so that this data does too (it matters to the caches).
	for k := range out {
		out[k].Line = strings.Clone(out[k].Line)
		out[k].Metadata = slices.Clone(out[k].Metadata)
	}
	return tr, out
}

// sortByTime sorts one stream's entries by time, as Loki returns them with
// direction=forward.
func sortByTime(es []model.LogEntry) {
	slices.SortStableFunc(es, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) })
}
