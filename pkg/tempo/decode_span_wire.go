package tempo

import (
	"encoding/base64"
	"fmt"
	"math"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracegap/correlator/pkg/model"
)

// OTLP field numbers of the messages spanDecoder reads
// (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto);
// spanStartTime and spanEndTime are with jobBounds.
const (
	spanTraceID      = 1
	spanSpanID       = 2
	spanTraceState   = 3
	spanParentSpanID = 4
	spanName         = 5
	spanKindNum      = 6
	spanAttributes   = 9
	spanEvents       = 11
	spanLinks        = 13
	spanStatus       = 15

	eventTime       = 1
	eventName       = 2
	eventAttributes = 3

	linkTraceID    = 1
	linkSpanID     = 2
	linkTraceState = 3
	linkAttributes = 4

	statusMessage = 2
	statusCodeNum = 3

	keyValueKey   = 1
	keyValueValue = 2

	anyString   = 1
	anyBool     = 2
	anyInt      = 3
	anyDouble   = 4
	anyArray    = 5
	anyKvlist   = 6
	anyBytes    = 7
	anyStrindex = 8 // profiling only: no value for a trace

	listValues = 1 // ArrayValue.values and KeyValueList.values
)

// spanDecoder decodes OTLP Span messages straight off the wire into
// model.Spans: what unmarshalling each into a tracepb.Span and mapping it
// with mapSpan gives (FuzzSpanDecoder holds it to that, errors included),
// without the OTLP message tree in between, which cost five allocations
// per attribute (44 per span of the 10 000-span benchmark trace) and was
// garbage as soon as the span was mapped. Protobuf's rules are kept: the
// last of a repeated scalar wins, a message sent twice is merged, a field
// sent with another wire type than its own is skipped as unknown, and
// string fields must be UTF-8. One decoder serves one goroutine.
type spanDecoder struct {
	ids idCache
	// strs interns attribute keys, span and event names and short values,
	// which repeat from span to span; bounded, so that a trace of unique
	// values does not grow it for nothing.
	strs map[string]string
	// attrs and inner are scratch for a span's attributes and for those of
	// one of its events or links, copied out at their exact size.
	attrs, inner []model.KeyValue
}

const (
	maxInterned    = 4096
	maxInternedLen = 64
)

func newSpanDecoder() *spanDecoder {
	return &spanDecoder{strs: make(map[string]string, 256)}
}

// str returns b as a string, interned when short.
func (d *spanDecoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternedLen {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// field is one field read off the wire: v is the bytes of a
// length-delimited field, x the value of a varint or fixed one.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   []byte
	x   uint64
}

// next reads the field at the start of b and returns the rest; a malformed
// field is a protoError, as proto.Unmarshal reports it.
func next(b []byte, f *field) ([]byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return nil, wireError(n)
	}
	if num > protowire.MaxValidNumber {
		// ConsumeTag checks only the lower bound; proto.Unmarshal both.
		return nil, wireError(-1)
	}
	b = b[n:]
	f.num, f.typ, f.v, f.x = num, typ, nil, 0
	switch typ {
	case protowire.BytesType:
		f.v, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		f.x, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var x uint32
		x, n = protowire.ConsumeFixed32(b)
		f.x = uint64(x)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return nil, wireError(n)
	}
	return b[n:], nil
}

func wireError(n int) error {
	return &protoError{fmt.Errorf("%w: %w", errWireFormat, protowire.ParseError(n))}
}

// is reports whether f is field num with wire type typ; a known field of
// another wire type is an unknown one to protobuf, and skipped.
func (f *field) is(num protowire.Number, typ protowire.Type) bool {
	return f.num == num && f.typ == typ
}

// rawLink is a link whose ids are checked once the whole span is read, as
// mapSpan checks them after unmarshalling.
type rawLink struct {
	traceID, spanID []byte
	attrs           []model.KeyValue
}

// decode decodes one Span. A protoError says the bytes are not a Span; any
// other error is a bad value, with sp.Name set for the message.
func (d *spanDecoder) decode(b []byte) (sp model.Span, err error) {
	var (
		f                    field
		traceID, spanID, par []byte
		name, statusMsg      []byte
		kind, code           int32
		start, end           uint64
		events               []model.SpanEvent
		links                []rawLink
	)
	d.attrs = d.attrs[:0]
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return model.Span{}, err
		}
		switch {
		case f.is(spanTraceID, protowire.BytesType):
			traceID = f.v
		case f.is(spanSpanID, protowire.BytesType):
			spanID = f.v
		case f.is(spanTraceState, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.trace.v1.Span.trace_state"); err != nil {
				return model.Span{}, err
			}
		case f.is(spanParentSpanID, protowire.BytesType):
			par = f.v
		case f.is(spanName, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.trace.v1.Span.name"); err != nil {
				return model.Span{}, err
			}
			name = f.v
		case f.is(spanKindNum, protowire.VarintType):
			kind = int32(f.x)
		case f.is(spanStartTime, protowire.Fixed64Type):
			start = f.x
		case f.is(spanEndTime, protowire.Fixed64Type):
			end = f.x
		case f.is(spanAttributes, protowire.BytesType):
			kv, err := d.keyValue(f.v)
			if err != nil {
				return model.Span{}, err
			}
			d.attrs = append(d.attrs, kv)
		case f.is(spanEvents, protowire.BytesType):
			ev, err := d.event(f.v)
			if err != nil {
				return model.Span{}, err
			}
			events = append(events, ev)
		case f.is(spanLinks, protowire.BytesType):
			l, err := d.link(f.v)
			if err != nil {
				return model.Span{}, err
			}
			links = append(links, l)
		case f.is(spanStatus, protowire.BytesType):
			// Read field by field into what an earlier status left:
			// protobuf merges a message sent twice.
			for v := f.v; len(v) > 0; {
				var g field
				if v, err = next(v, &g); err != nil {
					return model.Span{}, err
				}
				switch {
				case g.is(statusMessage, protowire.BytesType):
					if err := checkUTF8(g.v, "opentelemetry.proto.trace.v1.Status.message"); err != nil {
						return model.Span{}, err
					}
					statusMsg = g.v
				case g.is(statusCodeNum, protowire.VarintType):
					code = int32(g.x)
				}
			}
		}
	}

	// The values, checked in mapSpan's order.
	sp = model.Span{
		Name:          d.str(name),
		Kind:          spanKind(tracepb.Span_SpanKind(kind)),
		Start:         unixNano(start),
		End:           unixNano(end),
		StatusCode:    statusCode(tracepb.Status_StatusCode(code)),
		StatusMessage: string(statusMsg),
	}
	if sp.TraceID, err = d.ids.traceID(traceID); err != nil {
		return model.Span{Name: sp.Name}, err
	}
	if sp.SpanID, err = spanIDHex(spanID, "span id"); err != nil {
		return model.Span{Name: sp.Name}, err
	}
	// Some SDKs send eight zero bytes instead of no parent: both mean root.
	if len(par) > 0 && !allZero(par) {
		if sp.ParentSpanID, err = spanIDHex(par, "parent span id"); err != nil {
			return model.Span{Name: sp.Name}, err
		}
	}
	if len(links) > 0 {
		sp.Links = make([]model.SpanLink, len(links))
		for i, l := range links {
			tid, err := d.ids.traceID(l.traceID)
			if err != nil {
				return model.Span{Name: sp.Name}, fmt.Errorf("link %d: %w", i, err)
			}
			sid, err := spanIDHex(l.spanID, "span id")
			if err != nil {
				return model.Span{Name: sp.Name}, fmt.Errorf("link %d: %w", i, err)
			}
			sp.Links[i] = model.SpanLink{TraceID: tid, SpanID: sid, Attributes: l.attrs}
		}
	}
	sp.Attributes = exact(d.attrs)
	sp.Events = events
	return sp, nil
}

// exact copies kvs into a slice of its length (nil when empty, as
// keyValues returns).
func exact(kvs []model.KeyValue) []model.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	return append(make([]model.KeyValue, 0, len(kvs)), kvs...)
}

// event decodes one Span.Event.
func (d *spanDecoder) event(b []byte) (ev model.SpanEvent, err error) {
	var (
		f    field
		t    uint64
		name []byte
	)
	d.inner = d.inner[:0]
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return ev, err
		}
		switch {
		case f.is(eventTime, protowire.Fixed64Type):
			t = f.x
		case f.is(eventName, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.trace.v1.Span.Event.name"); err != nil {
				return ev, err
			}
			name = f.v
		case f.is(eventAttributes, protowire.BytesType):
			kv, err := d.keyValue(f.v)
			if err != nil {
				return ev, err
			}
			d.inner = append(d.inner, kv)
		}
	}
	return model.SpanEvent{Time: unixNano(t), Name: d.str(name), Attributes: exact(d.inner)}, nil
}

// link decodes one Span.Link, leaving its ids to be checked.
func (d *spanDecoder) link(b []byte) (l rawLink, err error) {
	var f field
	d.inner = d.inner[:0]
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return l, err
		}
		switch {
		case f.is(linkTraceID, protowire.BytesType):
			l.traceID = f.v
		case f.is(linkSpanID, protowire.BytesType):
			l.spanID = f.v
		case f.is(linkTraceState, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.trace.v1.Span.Link.trace_state"); err != nil {
				return l, err
			}
		case f.is(linkAttributes, protowire.BytesType):
			kv, err := d.keyValue(f.v)
			if err != nil {
				return l, err
			}
			d.inner = append(d.inner, kv)
		}
	}
	l.attrs = exact(d.inner)
	return l, nil
}

// keyValue decodes one KeyValue. It does not use d's scratch slices, which
// its callers hold.
func (d *spanDecoder) keyValue(b []byte) (model.KeyValue, error) {
	var (
		f   field
		key []byte
		val anyValueState
		err error
	)
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return model.KeyValue{}, err
		}
		switch {
		case f.is(keyValueKey, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.common.v1.KeyValue.key"); err != nil {
				return model.KeyValue{}, err
			}
			key = f.v
		case f.is(keyValueValue, protowire.BytesType):
			if err := d.mergeAnyValue(&val, f.v); err != nil {
				return model.KeyValue{}, err
			}
		}
	}
	return model.KeyValue{Key: d.str(key), Value: d.value(&val)}, nil
}

// anyValueState is an AnyValue being read: which member of its oneof is
// set, and that member's value.
type anyValueState struct {
	member protowire.Number // 0: none
	raw    []byte           // string_value, bytes_value
	x      uint64           // bool_value, int_value, double_value
	list   []any            // array_value
	kvs    map[string]any   // kvlist_value
}

// mergeAnyValue reads the AnyValue b into v, as protobuf merges a message
// sent again into what it has: a later member replaces an earlier one, and
// an array or key-value list sent twice in a row is one longer list.
func (d *spanDecoder) mergeAnyValue(v *anyValueState, b []byte) error {
	var f field
	var err error
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return err
		}
		switch {
		case f.is(anyString, protowire.BytesType):
			if err := checkUTF8(f.v, "opentelemetry.proto.common.v1.AnyValue.string_value"); err != nil {
				return err
			}
			v.member, v.raw = anyString, f.v
		case f.is(anyBytes, protowire.BytesType):
			v.member, v.raw = anyBytes, f.v
		case f.is(anyBool, protowire.VarintType), f.is(anyInt, protowire.VarintType),
			f.is(anyDouble, protowire.Fixed64Type), f.is(anyStrindex, protowire.VarintType):
			v.member, v.x = f.num, f.x
		case f.is(anyArray, protowire.BytesType):
			if v.member != anyArray {
				v.member, v.list = anyArray, []any{}
			}
			for e := f.v; len(e) > 0; {
				var g field
				if e, err = next(e, &g); err != nil {
					return err
				}
				if g.is(listValues, protowire.BytesType) {
					var elem anyValueState
					if err := d.mergeAnyValue(&elem, g.v); err != nil {
						return err
					}
					v.list = append(v.list, d.value(&elem))
				}
			}
		case f.is(anyKvlist, protowire.BytesType):
			if v.member != anyKvlist {
				v.member, v.kvs = anyKvlist, map[string]any{}
			}
			for e := f.v; len(e) > 0; {
				var g field
				if e, err = next(e, &g); err != nil {
					return err
				}
				if g.is(listValues, protowire.BytesType) {
					kv, err := d.keyValue(g.v)
					if err != nil {
						return err
					}
					v.kvs[kv.Key] = kv.Value
				}
			}
		}
	}
	return nil
}

// value is the Go value of v, as anyValue maps it.
func (d *spanDecoder) value(v *anyValueState) any {
	switch v.member {
	case anyString:
		return d.str(v.raw)
	case anyBool:
		return v.x != 0
	case anyInt:
		return int64(v.x)
	case anyDouble:
		return math.Float64frombits(v.x)
	case anyArray:
		return v.list
	case anyKvlist:
		return v.kvs
	case anyBytes:
		return base64.StdEncoding.EncodeToString(v.raw)
	default: // unset, or the profiling-only string index
		return nil
	}
}
