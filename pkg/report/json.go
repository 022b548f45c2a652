package report

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/model"
)

// The JSON document. Its field names and order are a contract for
// scripts: add fields, never rename or reorder them. Durations and offsets
// are float milliseconds (microsecond precision), offsets from the trace's
// first span start; lists keep the engine's order, spans the waterfall's.
type document struct {
	TraceID      string       `json:"traceId"`
	Start        string       `json:"start"` // RFC 3339, nanoseconds
	DurationMs   float64      `json:"durationMs"`
	Spans        []jsonSpan   `json:"spans"`
	Gaps         []jsonGap    `json:"gaps"`
	Retries      []jsonRetry  `json:"retries"`
	Services     []jsonGroup  `json:"services"`
	Total        jsonGroup    `json:"total"`
	CriticalPath []string     `json:"criticalPath"`
	Logs         jsonLogs     `json:"logs"`
	TopFinding   string       `json:"topFinding"`
	Notices      []jsonNotice `json:"notices"`
	// Findings are pool and queue findings (docs/analysis.md, "Messaging
	// and bounded concurrency"), in the engine's order.
	Findings []jsonFinding `json:"findings"`
	// Breakdown is where the root span's duration went: rows that add up
	// to tookMs (docs/analysis.md, "Where the time went").
	Breakdown jsonBreakdown `json:"breakdown"`
	// Comparison is there only when one was asked for (--compare).
	Comparison *jsonComparison `json:"comparison,omitempty"`
}

type jsonFinding struct {
	Kind        string   `json:"kind"` // pool or queue
	SpanID      string   `json:"spanId"`
	Service     string   `json:"service"`
	Callee      string   `json:"callee"` // the pooled calls' or the producer's service and operation
	Calls       int      `json:"calls,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	DurationMs  float64  `json:"durationMs"`
	LongestMs   *float64 `json:"longestMs,omitempty"`
	Sentence    string   `json:"sentence"`
}

type jsonBreakdown struct {
	RootSpanID string             `json:"rootSpanId"`
	TookMs     float64            `json:"tookMs"`
	Headline   string             `json:"headline"`
	Top        int                `json:"top"` // index into rows, -1 when there are none
	Rows       []jsonBreakdownRow `json:"rows"`
	Services   []jsonServiceRow   `json:"services"`
}

type jsonBreakdownRow struct {
	SpanID          string  `json:"spanId"`
	Service         string  `json:"service"`
	Operation       string  `json:"operation"`
	Category        string  `json:"category"`
	CalleeSpanID    string  `json:"calleeSpanId,omitempty"`
	CalleeService   string  `json:"calleeService,omitempty"`
	CalleeOperation string  `json:"calleeOperation,omitempty"`
	From            string  `json:"from,omitempty"`
	To              string  `json:"to,omitempty"`
	What            string  `json:"what"`
	Ms              float64 `json:"ms"`
	Share           float64 `json:"share"`
	FirstMs         float64 `json:"firstMs"`
}

type jsonServiceRow struct {
	Service  string  `json:"service"`
	Category string  `json:"category"`
	Ms       float64 `json:"ms"`
	Share    float64 `json:"share"`
}

type jsonComparison struct {
	Sentence  string              `json:"sentence,omitempty"`
	Notice    string              `json:"notice,omitempty"`
	Baseline  int                 `json:"baseline"`
	TookMs    float64             `json:"tookMs"`
	TypicalMs float64             `json:"typicalMs"`
	Rows      []jsonComparisonRow `json:"rows"`
}

type jsonComparisonRow struct {
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Category  string  `json:"category"`
	What      string  `json:"what"`
	ThisMs    float64 `json:"thisMs"`
	TypicalMs float64 `json:"typicalMs"`
	P90Ms     float64 `json:"p90Ms"`
	SeenIn    int     `json:"seenIn"`
	DeltaMs   float64 `json:"deltaMs"`
}

type jsonSpan struct {
	SpanID         string   `json:"spanId"`
	ParentSpanID   string   `json:"parentSpanId"`
	Depth          int      `json:"depth"`
	Service        string   `json:"service"`
	Operation      string   `json:"operation"`
	Kind           string   `json:"kind"`
	Status         string   `json:"status"`
	StatusMessage  string   `json:"statusMessage,omitempty"`
	StartMs        float64  `json:"startMs"`
	DurationMs     float64  `json:"durationMs"`
	SelfMs         float64  `json:"selfMs"`
	WaitMs         float64  `json:"waitMs"`
	UnaccountedMs  float64  `json:"unaccountedMs"`
	NetworkMs      *float64 `json:"networkMs,omitempty"`
	Retries        int      `json:"retries"`
	LogCount       int      `json:"logCount"`
	OnCriticalPath bool     `json:"onCriticalPath"`
	Warnings       []string `json:"warnings"`
	QueueMs        *float64 `json:"queueMs,omitempty"` // CONSUMER spans of a PRODUCER
}

type jsonOverlap struct {
	SpanID    string  `json:"spanId"`
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	OverlapMs float64 `json:"overlapMs"`
}

type jsonGap struct {
	SpanID         string        `json:"spanId"`
	Service        string        `json:"service"`
	Operation      string        `json:"operation"`
	StartMs        float64       `json:"startMs"`
	EndMs          float64       `json:"endMs"`
	DurationMs     float64       `json:"durationMs"`
	From           string        `json:"from"`
	To             string        `json:"to"`
	Callees        []jsonOverlap `json:"callees"`
	Named          bool          `json:"named"`
	InCalleesMs    float64       `json:"inCalleesMs"`
	UnaccountedMs  float64       `json:"unaccountedMs"`
	BeforeCalleeMs float64       `json:"beforeCalleeMs"`
	AfterCalleeMs  float64       `json:"afterCalleeMs"`
	// OutsideTimerMs is null when the later line states no duration.
	OutsideTimerMs *float64      `json:"outsideTimerMs"`
	Concurrent     []jsonOverlap `json:"concurrent"`
	Sentence       string        `json:"sentence"`
}

type jsonRetry struct {
	SpanID   string   `json:"spanId"`
	Service  string   `json:"service"`
	Source   string   `json:"source"`
	Count    int      `json:"count"`
	CostMs   float64  `json:"costMs"`
	Outcome  string   `json:"outcome"`
	Message  string   `json:"message"`
	StartMs  float64  `json:"startMs"`
	EndMs    float64  `json:"endMs"`
	Attempts []string `json:"attempts"`
	Sentence string   `json:"sentence"`
}

type jsonGroup struct {
	Service       string  `json:"service,omitempty"`
	Spans         int     `json:"spans"`
	WaitMs        float64 `json:"waitMs"`
	UnaccountedMs float64 `json:"unaccountedMs"`
	Retries       int     `json:"retries"`
}

type jsonLogs struct {
	Count       int `json:"count"`
	TraceLevel  int `json:"traceLevel"`
	OtherTraces int `json:"otherTraces"`
	Duplicates  int `json:"duplicates"`
}

type jsonNotice struct {
	Severity string `json:"severity"`
	Text     string `json:"text"`
}

// ms is a duration in float milliseconds, rounded to the microsecond so
// that the document does not change with float noise.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// build turns a result into the JSON document.
func build(r *explain.Result) *document {
	a := r.Analysis
	t := a.Trace
	off := func(ts time.Time) float64 { return ms(ts.Sub(a.Start)) }
	id := t.TraceID
	if n, ok := model.NormalizeTraceID(id); ok {
		id = n
	}
	d := &document{
		TraceID:      id,
		Start:        a.Start.UTC().Format(time.RFC3339Nano),
		DurationMs:   ms(a.End.Sub(a.Start)),
		Spans:        []jsonSpan{},
		Gaps:         []jsonGap{},
		Retries:      []jsonRetry{},
		Findings:     []jsonFinding{},
		Services:     []jsonGroup{},
		Total:        group(a.Total),
		CriticalPath: append([]string{}, a.CriticalPath...),
		Logs: jsonLogs{Count: len(a.Logs), TraceLevel: a.TraceLevelLogs,
			OtherTraces: a.OtherTraceLogs, Duplicates: a.DuplicateLogs},
		TopFinding: a.TopFinding,
		Notices:    []jsonNotice{},
	}
	if c := a.Comparison; c != nil {
		jc := &jsonComparison{Sentence: c.Sentence, Notice: c.Notice, Baseline: c.Baseline,
			TookMs: ms(c.Took), TypicalMs: ms(c.TypicalTook), Rows: []jsonComparisonRow{}}
		for _, r := range c.Rows {
			jc.Rows = append(jc.Rows, jsonComparisonRow{Service: r.ServiceName, Operation: r.Operation, Category: string(r.Category),
				What: r.What, ThisMs: ms(r.This), TypicalMs: ms(r.Median), P90Ms: ms(r.P90), SeenIn: r.SeenIn, DeltaMs: ms(r.Delta)})
		}
		d.Comparison = jc
	}
	for _, rw := range waterfall(t) {
		s := &t.Spans[rw.span]
		f := &a.Figures[rw.span]
		js := jsonSpan{
			SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Depth: rw.depth,
			Service: s.ServiceName, Operation: s.Name, Kind: string(s.Kind),
			Status: string(s.StatusCode), StatusMessage: s.StatusMessage,
			StartMs: off(s.Start), DurationMs: ms(s.Duration()), SelfMs: ms(f.SelfTime),
			WaitMs: ms(f.Wait), UnaccountedMs: ms(f.Unaccounted), Retries: f.Retries,
			LogCount: f.LogCount, OnCriticalPath: f.OnCriticalPath,
			Warnings: append([]string{}, f.Warnings...),
		}
		if f.HasNetwork {
			n := ms(f.Network)
			js.NetworkMs = &n
		}
		if f.HasQueue {
			q := ms(f.Queue)
			js.QueueMs = &q
		}
		d.Spans = append(d.Spans, js)
	}
	for k := range a.Gaps {
		g := &a.Gaps[k]
		s := &t.Spans[g.SpanIndex]
		jg := jsonGap{
			SpanID: g.SpanID, Service: s.ServiceName, Operation: s.Name,
			StartMs: off(g.Start), EndMs: off(g.End), DurationMs: ms(g.Duration()),
			From: g.FromMessage, To: g.ToMessage, Callees: overlaps(g.Callees), Named: g.Named,
			InCalleesMs: ms(g.InCallees), UnaccountedMs: ms(g.Unaccounted),
			BeforeCalleeMs: ms(g.BeforeCallee), AfterCalleeMs: ms(g.AfterCallee),
			Concurrent: overlaps(g.Concurrent), Sentence: g.Sentence,
		}
		if g.HasStated {
			o := ms(g.OutsideTimer)
			jg.OutsideTimerMs = &o
		}
		d.Gaps = append(d.Gaps, jg)
	}
	for k := range a.Retries {
		rt := &a.Retries[k]
		d.Retries = append(d.Retries, jsonRetry{
			SpanID: rt.SpanID, Service: t.Spans[rt.SpanIndex].ServiceName, Source: string(rt.Source),
			Count: rt.Count, CostMs: ms(rt.Cost), Outcome: string(rt.Outcome), Message: rt.Message,
			StartMs: off(rt.Start), EndMs: off(rt.End), Attempts: append([]string{}, rt.Attempts...),
			Sentence: rt.Sentence,
		})
	}
	for k := range a.Findings {
		f := &a.Findings[k]
		jf := jsonFinding{
			Kind: f.Kind, SpanID: f.SpanID, Service: t.Spans[f.SpanIndex].ServiceName,
			Callee: strings.TrimSpace(f.Service + " " + f.Operation), Calls: f.Calls, Concurrency: f.Concurrency,
			DurationMs: ms(f.Duration), Sentence: f.Sentence,
		}
		if f.Kind == model.FindingPool {
			l := ms(f.Longest)
			jf.LongestMs = &l
		}
		d.Findings = append(d.Findings, jf)
	}
	for _, g := range a.Services {
		d.Services = append(d.Services, group(g))
	}
	b := &a.Breakdown
	d.Breakdown = jsonBreakdown{RootSpanID: b.RootSpanID, TookMs: ms(b.Took), Headline: b.Headline, Top: b.Top,
		Rows: []jsonBreakdownRow{}, Services: []jsonServiceRow{}}
	if len(b.Rows) == 0 {
		d.Breakdown.Top = -1
	}
	for k := range b.Rows {
		br := &b.Rows[k]
		d.Breakdown.Rows = append(d.Breakdown.Rows, jsonBreakdownRow{
			SpanID: br.SpanID, Service: br.ServiceName, Operation: br.Operation, Category: string(br.Category),
			CalleeSpanID: br.CalleeSpanID, CalleeService: br.CalleeService, CalleeOperation: br.CalleeOperation,
			From: br.FromMessage, To: br.ToMessage, What: br.What,
			Ms: ms(br.Duration), Share: br.Share, FirstMs: off(br.First),
		})
	}
	for _, sr := range b.Services {
		d.Breakdown.Services = append(d.Breakdown.Services, jsonServiceRow{Service: sr.ServiceName,
			Category: string(sr.Category), Ms: ms(sr.Duration), Share: sr.Share})
	}
	for _, n := range r.Notices {
		sev := "info"
		if n.Severity == explain.Warning {
			sev = "warning"
		}
		d.Notices = append(d.Notices, jsonNotice{Severity: sev, Text: n.Text})
	}
	return d
}

func group(g model.GroupFigures) jsonGroup {
	return jsonGroup{Service: g.ServiceName, Spans: g.Spans, WaitMs: ms(g.Wait),
		UnaccountedMs: ms(g.Unaccounted), Retries: g.Retries}
}

func overlaps(os []model.SpanOverlap) []jsonOverlap {
	out := make([]jsonOverlap, 0, len(os))
	for _, o := range os {
		out = append(out, jsonOverlap{SpanID: o.SpanID, Service: o.ServiceName, Operation: o.Operation, OverlapMs: ms(o.Overlap)})
	}
	return out
}

// JSON writes the result as one indented JSON document (see document for
// its shape). Empty lists are written as [], never null, so scripts can
// iterate without checks.
func JSON(w io.Writer, r *explain.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // log messages are shown as the services wrote them
	return enc.Encode(build(r))
}
