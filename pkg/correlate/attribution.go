package correlate

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// minNameLen is the shortest normalised name that can name a callee: "db"
// or "a" would match half of all log messages.
const minNameLen = 3

// attributor attributes the gaps of one span to its direct children.
type attributor struct {
	s    *state
	span int32
	// groups are the span's children grouped by normalised name (service or
	// operation), built on the first gap that both messages bound: a fan-out
	// to one operation then costs one substring test per gap, not one per
	// child.
	groups     []nameGroup // groups[:nGroups] are the span's; the rest keep their buffers
	nGroups    int
	names      []byte // the groups' names, end to end
	grouped    bool
	lastLog    int32 // the entry whose normalised message is normTo
	normFrom   []byte
	normTo     []byte
	scratch    []int32
	overlapBuf []int32
	own        []byte // the parent's normalised service and operation, end to end
}

type nameGroup struct {
	lo, hi int32 // the name is names[lo:hi]
	kids   []int32
}

// reset prepares the attributor for the gaps of another span, keeping its
// buffers.
func (at *attributor) reset(span int32) {
	at.span, at.lastLog, at.grouped = span, noLog, false
	at.nGroups = 0
	at.names = at.names[:0]
}

// attribute fills g's callees, in-callee and unaccounted time, the before /
// after split, the concurrent children and the time outside the service's
// own timer.
//
// Callees are the children both bounding messages name (the seed's own
// method: "Initiating call to X" … "Received response from X"); when none
// is named, every child overlapping the gap. Callee intervals are not
// clipped to the parent: a callee that outlives its caller's span still
// explains the caller's wait, which is exactly the seed's aggregator-b.
func (at *attributor) attribute(g *model.Gap, from, to int32, gs, ge int64) []int32 {
	s := at.s
	overlapping := at.overlapping(gs, ge)
	var callees []int32
	if from != noLog && to != noLog && len(s.children(at.span)) > 0 {
		callees = at.named(from, to)
	}
	g.Named = len(callees) > 0
	if !g.Named {
		callees = overlapping
	}

	// Union of the callees' intervals inside the gap. callees are in start
	// order, so one sweep merges them. The before / after split takes the
	// earliest start and latest end of the callees that overlap the gap: a
	// named callee wholly outside it (an earlier call to the same service)
	// says nothing about when this wait's callee started.
	var in, cur0, cur1 int64
	open := false
	first, last := int64(0), int64(0)
	anyOverlap := false
	for _, c := range callees {
		a, b := max(s.start[c], gs), min(s.end[c], ge)
		if b <= a {
			continue
		}
		if !anyOverlap || s.start[c] < first {
			first = s.start[c]
		}
		if !anyOverlap || s.end[c] > last {
			last = s.end[c]
		}
		anyOverlap = true
		switch {
		case !open:
			cur0, cur1, open = a, b, true
		case a > cur1:
			in += cur1 - cur0
			cur0, cur1 = a, b
		default:
			cur1 = max(cur1, b)
		}
	}
	if open {
		in += cur1 - cur0
	}
	// The gap's length is taken from its instants, not from the offsets:
	// for absurd input (a zero time next to a real one) the offsets
	// saturate, and the parts must still add up to the whole.
	gap := g.Duration()
	g.InCallees = min(time.Duration(in), gap)
	g.Unaccounted = gap - g.InCallees
	if anyOverlap {
		g.BeforeCallee = min(max(0, dur(gs, first)), g.Unaccounted)
		g.AfterCallee = min(max(0, dur(last, ge)), g.Unaccounted-g.BeforeCallee)
	}
	g.Callees = at.overlaps(callees, gs, ge)
	if g.Named {
		var conc []int32
		for _, c := range overlapping {
			if !slices.Contains(callees, c) {
				conc = append(conc, c)
			}
		}
		g.Concurrent = at.overlaps(conc, gs, ge)
	}

	if to != noLog {
		if l := &s.a.Logs[to]; l.HasStated {
			g.HasStated = true
			if l.Stated < gap {
				g.OutsideTimer = gap - l.Stated
			}
		}
	}
	return callees
}

// apartNote says where a callee that does not overlap [gs, ge] lies. A
// callee that starts only as the wait ends points at time spent before the
// callee received the call (network, queueing).
func (s *state) apartNote(c int32, gs, ge int64) string {
	w := &writer{}
	switch st, en := s.start[c], s.end[c]; {
	case st == ge:
		return "its span starts only as the wait ends"
	case st > ge:
		w.str("its span starts ").ms(dur(ge, st)).str(" after the wait ends")
	case en == gs:
		return "its span ends as the wait begins"
	default:
		w.str("its span ends ").ms(dur(en, gs)).str(" before the wait begins")
	}
	return w.String()
}

// overlaps describes spans with their overlap of [gs, ge].
func (at *attributor) overlaps(spans []int32, gs, ge int64) []model.SpanOverlap {
	if len(spans) == 0 {
		return nil
	}
	s := at.s
	out := make([]model.SpanOverlap, len(spans))
	for k, c := range spans {
		sp := &s.t.Spans[c]
		out[k] = model.SpanOverlap{
			SpanID:      s.ids[c],
			ServiceName: sp.ServiceName,
			Operation:   sp.Name,
			Overlap:     time.Duration(max(0, min(s.end[c], ge)-max(s.start[c], gs))),
		}
	}
	return out
}

// overlapping returns the children whose interval meets [gs, ge] for a
// positive length, in start order. Children are sorted by start, so those
// starting before ge are a prefix; walking it backwards can stop once no
// earlier child reaches past gs (kMaxEnd is the running maximum of ends).
func (at *attributor) overlapping(gs, ge int64) []int32 {
	s := at.s
	lo, hi := int(s.childOff[at.span]), int(s.childOff[at.span+1])
	p, _ := slices.BinarySearch(s.kStart[lo:hi], ge) // first start >= ge
	at.overlapBuf = at.overlapBuf[:0]
	for k := lo + p - 1; k >= lo; k-- {
		if s.kMaxEnd[k] <= gs {
			break
		}
		if s.kEnd[k] > gs && s.kEnd[k] > s.kStart[k] {
			at.overlapBuf = append(at.overlapBuf, s.childIdx[k])
		}
	}
	slices.Reverse(at.overlapBuf)
	return at.overlapBuf
}

// named returns the children that both messages name, in start order.
func (at *attributor) named(from, to int32) []int32 {
	s := at.s
	if !at.grouped {
		at.group()
	}
	if at.nGroups == 0 {
		return nil
	}
	// Normalise into reused buffers; the "to" message of one gap is often
	// the "from" message of the next.
	if from != at.lastLog {
		at.normFrom = appendNormalized(at.normFrom[:0], s.a.Logs[from].Message)
	} else {
		at.normFrom, at.normTo = at.normTo, at.normFrom
	}
	at.normTo = appendNormalized(at.normTo[:0], s.a.Logs[to].Message)
	at.lastLog = to
	nf, nt := at.normFrom, at.normTo
	if len(nf) < minNameLen || len(nt) < minNameLen {
		return nil
	}
	at.scratch = at.scratch[:0]
	for _, gr := range at.groups[:at.nGroups] {
		name := at.names[gr.lo:gr.hi]
		if bytes.Contains(nf, name) && bytes.Contains(nt, name) {
			at.scratch = append(at.scratch, gr.kids...)
		}
	}
	if len(at.scratch) == 0 {
		return nil
	}
	// A child can be named by both its service and its operation.
	slices.SortFunc(at.scratch, func(a, b int32) int {
		switch {
		case s.start[a] < s.start[b]:
			return -1
		case s.start[a] > s.start[b]:
			return 1
		}
		return int(a - b)
	})
	return slices.Clone(slices.Compact(at.scratch))
}

// group groups the span's children by their normalised names. Groups and
// their kid lists are reused from span to span. A name the parent shares
// (its own service or operation) names nothing: "Calling checkout-service"
// in checkout-service's own lines would otherwise name every child of
// checkout-service, so such children are named by their operation alone.
func (at *attributor) group() {
	at.grouped = true
	s := at.s
	kids := s.children(at.span)
	parent := &s.t.Spans[at.span]
	at.own = appendNormalized(at.own[:0], parent.ServiceName)
	ownSvc := len(at.own)
	at.own = appendNormalized(at.own, stripHTTPMethod(parent.Name))
	shared := func(name []byte) bool {
		return bytes.Equal(name, at.own[:ownSvc]) || bytes.Equal(name, at.own[ownSvc:])
	}
	var pos map[string]int
	if len(kids) > 8 { // beyond a handful, a map beats a linear search
		pos = make(map[string]int, len(kids))
	}
	used := 0
	for _, c := range kids {
		sp := &s.t.Spans[c]
		for _, raw := range [2]string{sp.ServiceName, stripHTTPMethod(sp.Name)} {
			lo := len(at.names)
			at.names = appendNormalized(at.names, raw)
			name := at.names[lo:]
			if len(name) < minNameLen || shared(name) {
				at.names = at.names[:lo]
				continue
			}
			k := -1
			if pos != nil {
				if p, ok := pos[string(name)]; ok {
					k = p
				}
			} else {
				for g := range used {
					if bytes.Equal(at.names[at.groups[g].lo:at.groups[g].hi], name) {
						k = g
						break
					}
				}
			}
			if k >= 0 {
				at.names = at.names[:lo] // known name: drop the copy
			} else {
				k = used
				used++
				if k < len(at.groups) {
					at.groups[k].lo, at.groups[k].hi, at.groups[k].kids = int32(lo), int32(len(at.names)), at.groups[k].kids[:0]
				} else {
					at.groups = append(at.groups, nameGroup{lo: int32(lo), hi: int32(len(at.names))})
				}
				if pos != nil {
					pos[string(name)] = k
				}
			}
			if g := &at.groups[k]; len(g.kids) == 0 || g.kids[len(g.kids)-1] != c {
				g.kids = append(g.kids, c)
			}
		}
	}
	at.nGroups = used
}

// httpMethods are dropped from the front of an operation name before it is
// matched against messages: "GET" would otherwise name every HTTP child.
var httpMethods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// stripHTTPMethod drops a leading HTTP method ("GET /data" → "/data").
func stripHTTPMethod(op string) string {
	for _, m := range httpMethods {
		if len(op) > len(m) && strings.EqualFold(op[:len(m)], m) && op[len(m)] == ' ' {
			return op[len(m)+1:]
		}
	}
	return op
}

// normalizeName lower-cases s and keeps only its letters and digits, so
// that "data aggregator B", "data-aggregator-b" and "/data/aggregator-b"
// all read "dataaggregatorb".
func normalizeName(s string) string { return string(appendNormalized(nil, s)) }

// appendNormalized appends the normalised form of s to b.
func appendNormalized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				b = append(b, c)
			case c >= 'A' && c <= 'Z':
				b = append(b, c+'a'-'A')
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		i += n
	}
	return b
}
