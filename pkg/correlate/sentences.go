package correlate

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// maxListed is how many spans a sentence names before "and N more": a
// fan-out of thousands of calls must not make a warning thousands of words.
const maxListed = 5

// maxQuoted is how many bytes of a log message a sentence quotes.
const maxQuoted = 160

// FormatMillis writes a duration as milliseconds without needless decimals
// ("800 ms", "12.5 ms"), rounded to the microsecond.
func FormatMillis(d time.Duration) string { return string(appendMillis(nil, d)) }

func appendMillis(b []byte, d time.Duration) []byte {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d) // -MinInt64 wraps to itself, whose uint64 is 2^63: right
	}
	us := (u + 500) / 1000
	if neg && us != 0 {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, us/1000, 10)
	if frac := us % 1000; frac != 0 {
		digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		n := 3
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, digits[:n]...)
	}
	return append(b, " ms"...)
}

// writer builds one sentence.
type writer struct {
	b      []byte
	groups []calleeGroup // scratch of groupOverlaps
}

func (w *writer) str(s string) *writer { w.b = append(w.b, s...); return w }

func (w *writer) ms(d time.Duration) *writer { w.b = appendMillis(w.b, d); return w }

func (w *writer) int(n int) *writer { w.b = strconv.AppendInt(w.b, int64(n), 10); return w }

// quote writes a log message in double quotes, shortened when long, with
// Go's escapes for quotes and control characters.
func (w *writer) quote(msg string) *writer {
	if len(msg) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			w.b = strconv.AppendQuote(w.b, msg)
			return w
		}
	}
	// Plain printable ASCII, the usual message: no escaping to do.
	w.b = append(w.b, '"')
	w.b = append(w.b, msg...)
	w.b = append(w.b, '"')
	return w
}

func (w *writer) String() string { return string(w.b) }

// gapSentence writes the warning for one gap, e.g.
//
//	waited 800 ms between "Initiating call to data aggregator B" and
//	"Received response from data aggregator B": 400 ms in data-aggregator-b
//	GET /data/aggregator-b, 400 ms unaccounted (350 ms before it started,
//	50 ms after it ended); the call's own timer says 400 ms;
//	data-aggregator-a GET /data/aggregator-a ran concurrently for 250 ms
//
// apartNote says where a single callee that does not overlap the gap lies.
func gapSentence(w *writer, g *model.Gap, fromStart, toEnd bool, apartNote string) string {
	w.b = w.b[:0]
	w.str("waited ").ms(g.Duration()).str(" between ")
	if fromStart {
		w.str("the span's start")
	} else {
		w.quote(g.FromMessage)
	}
	w.str(" and ")
	if toEnd {
		w.str("the span's end")
	} else {
		w.quote(g.ToMessage)
	}
	w.str(": ")

	overlapping := 0
	for _, c := range g.Callees {
		if c.Overlap > 0 {
			overlapping++
		}
	}
	if len(g.Callees) == 0 {
		w.ms(g.Unaccounted).str(" unaccounted (no child span ran during it)")
	} else {
		w.ms(g.InCallees).str(" in ")
		writeCallees(w, g.Callees)
		w.str(", ").ms(g.Unaccounted).str(" unaccounted")
		if g.Unaccounted > 0 {
			one := len(g.Callees) == 1
			switch {
			case overlapping == 0 && one:
				w.str(" (").str(apartNote).str(")")
			case overlapping == 0:
				w.str(" (their spans do not overlap the wait)")
			default:
				parts := make([]func(), 0, 3)
				if g.BeforeCallee > 0 {
					parts = append(parts, func() {
						w.ms(g.BeforeCallee).str(pick(overlapping == 1, " before it started", " before the first started"))
					})
				}
				if g.AfterCallee > 0 {
					parts = append(parts, func() {
						w.ms(g.AfterCallee).str(pick(overlapping == 1, " after it ended", " after the last ended"))
					})
				}
				if holes := g.Unaccounted - g.BeforeCallee - g.AfterCallee; holes > 0 {
					parts = append(parts, func() { w.ms(holes).str(" between them") })
				}
				w.str(" (")
				for k, p := range parts {
					if k > 0 {
						w.str(", ")
					}
					p()
				}
				w.str(")")
			}
		}
	}
	if g.OutsideTimer > 0 {
		w.str("; the call's own timer says ").ms(g.Duration() - g.OutsideTimer)
	}
	if len(g.Concurrent) > 0 {
		w.str("; ")
		conc := w.groupOverlaps(g.Concurrent, false)
		for k, c := range conc {
			if k == maxListed {
				w.str(", and ").int(len(conc) - maxListed).str(" more")
				break
			}
			if k > 0 {
				w.str(", ")
			}
			c.name(w)
			if k == 0 {
				w.str(" ran concurrently for ")
			} else {
				w.str(" for ")
			}
			w.ms(c.overlap)
			if c.n > 1 {
				w.str(" in all")
			}
		}
	}
	return w.String()
}

// calleeGroup is one or more callees with the same service and operation,
// which a sentence names once ("3 calls to email-gw POST /send").
type calleeGroup struct {
	service, op, id string // id names a span with neither service nor operation
	n               int
	overlap         time.Duration // summed over the group
}

func (g *calleeGroup) name(w *writer) {
	if g.n > 1 {
		w.int(g.n).str(" calls to ")
	}
	switch {
	case g.service == "" && g.op == "":
		w.str("span ").str(g.id)
	case g.service == "":
		w.str(g.op)
	case g.op == "":
		w.str(g.service)
	default:
		w.str(g.service).str(" ").str(g.op)
	}
}

// groupOverlaps groups spans by service and operation, in first-seen
// order, into the writer's scratch (sentences are written for every gap of
// a big trace: no allocation per sentence). With dropEmpty, spans with no
// overlap are left out (they took none of the time the sentence accounts
// for) unless none overlaps.
func (w *writer) groupOverlaps(spans []model.SpanOverlap, dropEmpty bool) []calleeGroup {
	if dropEmpty {
		dropEmpty = slices.ContainsFunc(spans, func(c model.SpanOverlap) bool { return c.Overlap > 0 })
	}
	out := w.groups[:0]
	for _, c := range spans {
		if dropEmpty && c.Overlap <= 0 {
			continue
		}
		k := -1
		for j := range out {
			if g := &out[j]; g.service == c.ServiceName && g.op == c.Operation && (g.service != "" || g.op != "" || g.id == c.SpanID) {
				k = j
				break
			}
		}
		if k < 0 {
			out = append(out, calleeGroup{service: c.ServiceName, op: c.Operation, id: c.SpanID})
			k = len(out) - 1
		}
		out[k].n++
		out[k].overlap += c.Overlap
	}
	w.groups = out
	return out
}

// writeCallees names a gap's callees, identical ones once with their
// count, with their overlaps when there are several groups; callees with
// no overlap are left out when another overlaps.
func writeCallees(w *writer, spans []model.SpanOverlap) {
	groups := w.groupOverlaps(spans, true)
	any := slices.ContainsFunc(spans, func(c model.SpanOverlap) bool { return c.Overlap > 0 })
	for k := range groups {
		g := &groups[k]
		if k == maxListed {
			w.str(" and ").int(len(groups) - maxListed).str(" more")
			return
		}
		if k > 0 {
			w.str(pick(k == len(groups)-1, " and ", ", "))
		}
		g.name(w)
		if len(groups) > 1 && any {
			w.str(" (").ms(g.overlap)
			if g.n > 1 {
				w.str(" in all")
			}
			w.str(")")
		}
	}
}

// spanLabel names a span "service operation", or by its id when it has
// neither.
func spanLabel(service, op, id string) string {
	switch {
	case service == "" && op == "":
		return "span " + id
	case service == "":
		return op
	case op == "":
		return service
	}
	return service + " " + op
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
