package correlate

import (
	"strings"
	"testing"

	"github.com/tracegap/correlator/pkg/model"
)

// FuzzAnalyze builds a trace and its entries from the fuzz input (bad data
// included, see buildCase) and checks that Analyze neither panics nor
// loops, and that the invariants hold. `go test` runs the seeds.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9})
	f.Add([]byte("a trace with some spans and lines, built from these bytes"))
	f.Add([]byte{255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{8, 2, 0, 1, 2, 200, 100, 0, 2, 0, 7, 2, 2, 1, 50, 90, 0, 0, 0, 2, 12, 60, 1, 1, 0, 3, 1, 2, 0, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, entries := buildCase(&byteSource{b: data}, 24, 64)
		a := Analyze(tr, entries, Options{})
		checkInvariants(t, tr, entries, a, DefaultMinGap)
	})
}

// FuzzExtract checks that any line with any metadata extracts without a
// panic into well-formed values.
func FuzzExtract(f *testing.F) {
	f.Add(`{"timestamp":"2026-11-25T16:36:38.700Z","level":"WARN","message":"Prometheus query timed out after 200ms, retrying","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000a8","duration_ms":200}`, "span_id", "a8")
	f.Add(`ts=2026-11-25T16:36:38.510Z level=info msg="proxied GET /dashboard upstream=dashboard-service status=200" trace_id=0af7651916cd43dd8448eb211c80319c span_id=00000000000000a1 duration_ms=1510`, "trace_id", "0AF7")
	f.Add(`{"a":{"b":{"c":[1,2,{"d":"\u00e9\ud83d"}]}},"duration":"1h2m"`, "detected_level", "ERROR")
	f.Add(`k="unterminated \" quote`, "span_id_extracted", "ff")
	f.Add("", "", "")
	f.Add(`{"message":"\\","elapsed_ms":"1e309"}`, "duration", "-1s")
	f.Fuzz(func(t *testing.T, line, name, value string) {
		e := model.LogEntry{Line: line, Metadata: model.Labels{{Name: name, Value: value}}, Stream: model.Labels{{Name: name + "_extracted", Value: value}}}
		l := Extract(&e, Options{})
		if l.TraceID != "" && (len(l.TraceID) != 32 || strings.ToLower(l.TraceID) != l.TraceID) {
			t.Errorf("trace id %q is not normalised", l.TraceID)
		}
		if l.SpanID != "" && (len(l.SpanID) != 16 || strings.ToLower(l.SpanID) != l.SpanID) {
			t.Errorf("span id %q is not normalised", l.SpanID)
		}
		if l.HasStated && l.Stated < 0 || !l.HasStated && l.Stated != 0 {
			t.Errorf("stated %v (has %v)", l.Stated, l.HasStated)
		}
		if l.Message == "" && line != "" {
			t.Errorf("empty message for line %q", line)
		}
		if l.SpanIndex != -1 {
			t.Errorf("span index %d before the join", l.SpanIndex)
		}
		for _, fl := range l.Fields {
			if fl.Name == "" {
				t.Errorf("field with no name in %v", l.Fields)
			}
		}
	})
}

// FuzzRetryMatcher checks the hand-written matcher against the regexp.
func FuzzRetryMatcher(f *testing.F) {
	for _, msg := range retryCorpus {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if got, want := matchDefaultRetry(msg), defaultRetryRE.MatchString(msg); got != want {
			t.Errorf("matchDefaultRetry(%q) = %v, regexp says %v", msg, got, want)
		}
	})
}

// FuzzGiveUpMatcher checks the hand-written give-up matcher against the
// regexp.
func FuzzGiveUpMatcher(f *testing.F) {
	for _, msg := range giveUpCorpus {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if got, want := matchDefaultGiveUp(msg), defaultGiveUpRE.MatchString(msg); got != want {
			t.Errorf("matchDefaultGiveUp(%q) = %v, regexp says %v", msg, got, want)
		}
	})
}
