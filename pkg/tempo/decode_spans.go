package tempo

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracegap/correlator/pkg/model"
)

// OTLP field numbers of the messages decodeTracesData walks itself
// (opentelemetry/proto/trace/v1/trace.proto).
const (
	tracesDataResourceSpans = 1
	resourceSpansResource   = 1
	resourceSpansScopeSpans = 2
	resourceSpansSchemaURL  = 3
	scopeSpansScope         = 1
	scopeSpansSpans         = 2
	scopeSpansSchemaURL     = 3
)

// mergeOpts decode a message field that occurs more than once into the
// same value, as protobuf merges it.
var mergeOpts = proto.UnmarshalOptions{DiscardUnknown: true, Merge: true}

// parallelSpans is the smallest trace whose spans are decoded on several
// goroutines: below it, starting them costs more than it saves.
const parallelSpans = 512

// otlpResource is one ResourceSpans' resource, mapped once for its spans.
type otlpResource struct {
	pb      *resourcepb.Resource
	attrs   []model.KeyValue
	service string
}

// otlpScope is one ScopeSpans' instrumentation scope.
type otlpScope struct {
	pb *commonpb.InstrumentationScope
}

// spanJob is one encoded span and where it belongs.
type spanJob struct {
	b     []byte
	res   *otlpResource
	scope *otlpScope
}

// protoError is a body that is not OTLP protobuf: reported before any
// complaint about the values in it, as a whole-message unmarshal would.
type protoError struct{ err error }

func (e *protoError) Error() string { return e.err.Error() }
func (e *protoError) Unwrap() error { return e.err }

// decodeTracesData decodes an OTLP TracesData body into a model.Trace. It
// reads the same message as unmarshalling a tracepb.TracesData and mapping
// it with fromOTLP, with the same result, but walks the outer messages
// with protowire and decodes each span on its own straight into a
// model.Span (spanDecoder): the spans are then decoded on all CPUs at once,
// and no OTLP tree is built for them, let alone kept alive next to the
// model.
//
// When bounds is not nil and the trace has spans, it is called once, before
// the spans are decoded, with what the decoded trace's Bounds will return:
// each span's start and end times are read straight off the wire (the last
// of a field that occurs twice, as protobuf reads it), a few milliseconds
// for a 10 000-span trace against the tens the decoding takes. It is not
// called for a body that does not parse that far.
func decodeTracesData(b []byte, bounds BoundsFunc) (*model.Trace, error) {
	var jobs []spanJob
	for len(b) > 0 {
		v, num, rest, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if num == tracesDataResourceSpans && v != nil {
			if jobs, err = walkResourceSpans(v, jobs); err != nil {
				return nil, err
			}
		}
	}
	if len(jobs) == 0 {
		return nil, ErrTraceNotFound
	}
	if bounds != nil {
		if first, last, ok := jobBounds(jobs); ok {
			bounds(first, last)
		}
	}

	spans := make([]model.Span, len(jobs))
	workers := 1
	if len(jobs) >= parallelSpans {
		workers = min(runtime.GOMAXPROCS(0), len(jobs)/(parallelSpans/2))
	}
	errs := make([]indexedError, workers)
	if workers == 1 {
		errs[0] = decodeSpans(jobs, spans, 0)
	} else {
		var wg sync.WaitGroup
		per := (len(jobs) + workers - 1) / workers
		for w := range workers {
			lo, hi := w*per, min((w+1)*per, len(jobs))
			wg.Go(func() { errs[w] = decodeSpans(jobs[lo:hi], spans[lo:hi], lo) })
		}
		wg.Wait()
	}
	// Report what a sequential decoder would: a malformed body before a
	// bad value, and the first of either in span order.
	var first *indexedError
	for i := range errs {
		e := &errs[i]
		if e.err == nil {
			continue
		}
		if first == nil || (e.parse && !first.parse) || (e.parse == first.parse && e.index < first.index) {
			first = e
		}
	}
	if first != nil {
		return nil, first.err
	}
	return &model.Trace{TraceID: spans[0].TraceID, Spans: spans}, nil
}

// OTLP Span field numbers jobBounds reads.
const (
	spanStartTime = 7 // start_time_unix_nano, fixed64
	spanEndTime   = 8 // end_time_unix_nano, fixed64
)

// jobBounds is the first start and the last end of the spans, as
// model.Trace.Bounds computes them from the decoded spans. ok is false when
// a span does not parse (its decoding will report why).
func jobBounds(jobs []spanJob) (first, last time.Time, ok bool) {
	for i := range jobs {
		var start, end uint64
		for b := jobs[i].b; len(b) > 0; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return time.Time{}, time.Time{}, false
			}
			b = b[n:]
			if (num == spanStartTime || num == spanEndTime) && typ == protowire.Fixed64Type {
				v, n := protowire.ConsumeFixed64(b)
				if n < 0 {
					return time.Time{}, time.Time{}, false
				}
				b = b[n:]
				if num == spanStartTime {
					start = v
				} else {
					end = v
				}
				continue
			}
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return time.Time{}, time.Time{}, false
			}
			b = b[n:]
		}
		s, e := unixNano(start), unixNano(end)
		if i == 0 || s.Before(first) {
			first = s
		}
		if i == 0 || e.After(last) {
			last = e
		}
	}
	return first, last, true
}

// indexedError is the first error of one worker: the span it came from,
// and whether the span could not be parsed at all.
type indexedError struct {
	err   error
	index int
	parse bool
}

// decodeSpans decodes jobs into spans; offset is the index of jobs[0] in
// the trace, for error messages. It keeps going after a bad value, since a
// later span may be malformed, which takes precedence.
func decodeSpans(jobs []spanJob, spans []model.Span, offset int) indexedError {
	d := newSpanDecoder()
	var first indexedError
	for i := range jobs {
		j := &jobs[i]
		sp, err := d.decode(j.b)
		if err != nil && isProtoError(err) {
			return indexedError{err: err, index: offset + i, parse: true}
		}
		if first.err != nil {
			continue // only a parse error can still take precedence
		}
		if err != nil {
			first = indexedError{err: fmt.Errorf("decode Tempo trace: span %d (%q of %q): %w", offset+i, sp.Name, j.res.service, err), index: offset + i}
			continue
		}
		sp.ServiceName = j.res.service
		// Spans of one resource share its attribute slice: read-only.
		sp.ResourceAttributes = j.res.attrs
		sp.ScopeName = j.scope.pb.GetName()
		sp.ScopeVersion = j.scope.pb.GetVersion()
		spans[i] = sp
	}
	return first
}

// walkResourceSpans reads one ResourceSpans: its resource, unmarshalled and
// mapped once, and the jobs of its spans.
func walkResourceSpans(b []byte, jobs []spanJob) ([]spanJob, error) {
	res := &otlpResource{}
	for len(b) > 0 {
		v, num, rest, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if v == nil {
			continue
		}
		switch num {
		case resourceSpansResource:
			if res.pb == nil {
				res.pb = &resourcepb.Resource{}
			}
			if err := mergeOpts.Unmarshal(v, res.pb); err != nil {
				return nil, &protoError{err}
			}
		case resourceSpansScopeSpans:
			if jobs, err = walkScopeSpans(v, res, jobs); err != nil {
				return nil, err
			}
		case resourceSpansSchemaURL:
			if err := checkUTF8(v, "ResourceSpans.schema_url"); err != nil {
				return nil, err
			}
		}
	}
	// The resource may come after its spans on the wire: map it last.
	res.attrs, res.service = resourceInfo(res.pb)
	return jobs, nil
}

// walkScopeSpans reads one ScopeSpans: its scope and the jobs of its spans.
func walkScopeSpans(b []byte, res *otlpResource, jobs []spanJob) ([]spanJob, error) {
	scope := &otlpScope{}
	for len(b) > 0 {
		v, num, rest, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if v == nil {
			continue
		}
		switch num {
		case scopeSpansScope:
			if scope.pb == nil {
				scope.pb = &commonpb.InstrumentationScope{}
			}
			if err := mergeOpts.Unmarshal(v, scope.pb); err != nil {
				return nil, &protoError{err}
			}
		case scopeSpansSpans:
			jobs = append(jobs, spanJob{b: v, res: res, scope: scope})
		case scopeSpansSchemaURL:
			if err := checkUTF8(v, "ScopeSpans.schema_url"); err != nil {
				return nil, err
			}
		}
	}
	return jobs, nil
}

// errWireFormat is what proto.Unmarshal says of a malformed body.
var errWireFormat = errors.New("proto: cannot parse invalid wire-format data")

// nextField reads one field (see next). v is its bytes when it is
// length-delimited, nil otherwise (every field walked here is; others are
// skipped as protobuf skips a known field sent with another wire type).
func nextField(b []byte) (v []byte, num protowire.Number, rest []byte, err error) {
	var f field
	if rest, err = next(b, &f); err != nil {
		return nil, 0, nil, err
	}
	if f.typ != protowire.BytesType {
		return nil, f.num, rest, nil
	}
	if f.v == nil {
		f.v = []byte{} // present but empty: still a field
	}
	return f.v, f.num, rest, nil
}

func checkUTF8(v []byte, field string) error {
	if !utf8.Valid(v) {
		return &protoError{fmt.Errorf("proto: field %s contains invalid UTF-8", field)}
	}
	return nil
}

// resourceInfo maps a resource's attributes and finds its service name.
func resourceInfo(res *resourcepb.Resource) ([]model.KeyValue, string) {
	if res == nil {
		return nil, ""
	}
	attrs := keyValues(res.GetAttributes())
	for _, kv := range attrs {
		if kv.Key == "service.name" {
			s, _ := kv.Value.(string)
			return attrs, s
		}
	}
	return attrs, ""
}

// isProtoError reports whether err says the body is not OTLP protobuf.
func isProtoError(err error) bool {
	_, ok := errors.AsType[*protoError](err)
	return ok
}
