package correlate

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// Compare sets a trace's breakdown against its baseline's
// (docs/analysis.md, "Compared with typical"): each row is keyed by
// service, operation, category and what it names (gap messages
// normalised, see NormalizeMessage), and each key gets this trace's time,
// the baseline's median and 90th percentile (a baseline trace without the
// key counts 0) and how many baseline traces have it; keys are ranked by
// this trace's time minus the median. Baseline analyses without a root span
// (an empty breakdown) are left out; nil ones too. With fewer than
// model.MinBaseline left, the comparison has no rows and its Notice says
// so. The caller picks the baseline (same root service and operation, this
// trace excluded); Compare only measures.
func Compare(this *model.Analysis, baseline []*model.Analysis) *model.Comparison {
	c := &model.Comparison{Top: -1}
	root := rootOf(this)
	if root == nil {
		c.Notice = NoRootNotice
		return c
	}
	c.RootService, c.RootOperation, c.Took = root.ServiceName, root.Name, this.Breakdown.Took

	var base []*model.Analysis
	for _, b := range baseline {
		if rootOf(b) != nil {
			base = append(base, b)
		}
	}
	n := len(base)
	c.Baseline = n
	if n < model.MinBaseline {
		c.Notice = fewNotice(n, root)
		return c
	}

	type acc struct {
		row      model.ComparisonRow
		values   []time.Duration // per baseline trace
		lastSeen int             // baseline index + 1 that last counted SeenIn
	}
	keys := map[model.ComparisonKey]*acc{}
	get := func(r *model.BreakdownRow) *acc {
		k, from, to := compareKey(r)
		a := keys[k]
		if a == nil {
			a = &acc{row: model.ComparisonRow{ComparisonKey: k, From: from, To: to}, values: make([]time.Duration, n)}
			keys[k] = a
		}
		return a
	}
	for i := range this.Breakdown.Rows {
		r := &this.Breakdown.Rows[i]
		a := get(r)
		a.row.This += r.Duration
		if !slices.Contains(a.row.SpanIndexes, r.SpanIndex) {
			a.row.SpanIndexes = append(a.row.SpanIndexes, r.SpanIndex)
		}
	}
	tooks := make([]time.Duration, n)
	for j, b := range base {
		tooks[j] = b.Breakdown.Took
		for i := range b.Breakdown.Rows {
			r := &b.Breakdown.Rows[i]
			a := get(r)
			a.values[j] += r.Duration
			if a.lastSeen != j+1 {
				a.lastSeen = j + 1
				a.row.SeenIn++
			}
		}
	}
	c.TypicalTook = Median(tooks)

	c.Rows = make([]model.ComparisonRow, 0, len(keys))
	for _, a := range keys {
		slices.Sort(a.values)
		a.row.Median = percentileSorted(a.values, 0.5)
		a.row.P90 = percentileSorted(a.values, 0.9)
		a.row.Delta = a.row.This - a.row.Median
		slices.Sort(a.row.SpanIndexes)
		c.Rows = append(c.Rows, a.row)
	}
	slices.SortFunc(c.Rows, func(x, y model.ComparisonRow) int {
		return cmp.Or(
			cmp.Compare(y.Delta, x.Delta),
			cmp.Compare(y.This, x.This),
			strings.Compare(x.ServiceName, y.ServiceName),
			strings.Compare(x.Operation, y.Operation),
			strings.Compare(string(x.Category), string(y.Category)),
			strings.Compare(x.What, y.What),
		)
	})
	if len(c.Rows) > 0 && c.Rows[0].Delta > 0 {
		c.Top = 0
	}
	c.Sentence = comparisonSentence(c)
	return c
}

// NoRootNotice is the comparison's notice for a trace without a root span.
const NoRootNotice = "this trace has no root span (the span that received the request is missing, so Tempo returned only part of the trace), so it cannot be compared with requests like it: compare another trace of the same request, or turn compare off"

// rootOf is the span an analysis's breakdown measures, nil when it has none.
func rootOf(a *model.Analysis) *model.Span {
	if a == nil || a.Trace == nil || a.Breakdown.RootSpanID == "" {
		return nil
	}
	for i := range a.Trace.Spans {
		if a.Trace.Spans[i].SpanID == a.Breakdown.RootSpanID {
			return &a.Trace.Spans[i]
		}
	}
	return nil
}

func fewNotice(n int, root *model.Span) string {
	w := &writer{}
	switch n {
	case 0:
		w.str("no other trace")
	case 1:
		w.str("only 1 other trace")
	default:
		w.str("only ").int(n).str(" other traces")
	}
	w.str(" of ").str(strings.TrimSpace(root.ServiceName + " " + root.Name)).
		str(" were found in the time range, and a comparison with typical needs at least ").int(model.MinBaseline).
		str(": widen the dashboard's time range to take in more requests like this one")
	return w.String()
}

// compareKey is a breakdown row's key, and for a wait its two messages
// normalised ("" for a span boundary).
func compareKey(r *model.BreakdownRow) (k model.ComparisonKey, from, to string) {
	k = model.ComparisonKey{ServiceName: r.ServiceName, Operation: r.Operation, Category: r.Category}
	switch r.Category {
	case model.CategoryWaiting:
		from, to = NormalizeMessage(r.FromMessage), NormalizeMessage(r.ToMessage)
		k.What = boundText(from, "span start") + " → " + boundText(to, "span end")
	case model.CategoryInCallee, model.CategoryFailedAttempt:
		k.What = strings.TrimSpace(r.CalleeService + " " + r.CalleeOperation)
	}
	return k, from, to
}

func boundText(msg, boundary string) string {
	if msg == "" {
		return boundary
	}
	return `"` + msg + `"`
}

// comparisonSentence writes, e.g.:
//
//	GET /orders took 5167 ms, 4400 ms more than the median of 20 like it
//	(767 ms); +4200 ms is mysql SQL SELECT waiting between "waiting for
//	lock behind # transactions" and "acquired lock" (typically 0 ms, seen
//	in 3 of 20).
func comparisonSentence(c *model.Comparison) string {
	w := &writer{}
	if c.RootOperation != "" {
		w.str(c.RootOperation).str(" ")
	}
	w.str("took ").ms(c.Took).str(", ")
	switch diff := c.Took - c.TypicalTook; {
	case diff > 0:
		w.ms(diff).str(" more than")
	case diff < 0:
		w.ms(-diff).str(" less than")
	default:
		w.str("as long as")
	}
	w.str(" the median of ").int(c.Baseline).str(" like it (").ms(c.TypicalTook).str(")")
	if c.Top >= 0 {
		r := &c.Rows[c.Top]
		w.str("; +").ms(r.Delta).str(" is ")
		w.b = appendRowPhrase(w.b, r)
		w.str(" (typically ").ms(r.Median).str(", seen in ").int(r.SeenIn).str(" of ").int(c.Baseline).str(")")
	}
	return w.str(".").String()
}

// RowPhrase appends what a comparison row's time was spent on, as a
// sentence names it: "mysql SQL SELECT waiting between "a" and "b"",
// "orders POST /orders in inventory GET /stock", "… doing its own work".
func RowPhrase(b []byte, r *model.ComparisonRow) []byte { return appendRowPhrase(b, r) }

func appendRowPhrase(b []byte, r *model.ComparisonRow) []byte {
	b = append(b, strings.TrimSpace(r.ServiceName+" "+r.Operation)...)
	switch r.Category {
	case model.CategoryWaiting:
		b = append(b, " waiting between "...)
		b = append(b, boundText(r.From, "the span's start")...)
		b = append(b, " and "...)
		b = append(b, boundText(r.To, "the span's end")...)
	case model.CategoryInCallee:
		b = append(b, " in "...)
		b = append(b, cmp.Or(r.What, "a callee")...)
	case model.CategoryFailedAttempt:
		b = append(b, " in failed attempts"...)
		if r.What != "" {
			b = append(b, " of "...)
			b = append(b, r.What...)
		}
	case model.CategoryNetwork:
		b = append(b, " on the network"...)
	default:
		b = append(b, " doing its own work"...)
	}
	return b
}

// Median is the middle of ds (the mean of the two middle values of an even
// count); 0 for none. ds is not changed.
func Median(ds []time.Duration) time.Duration { return Percentile(ds, 0.5) }

// Percentile is the p-quantile of ds (0 ≤ p ≤ 1), interpolated linearly
// between the closest ranks (the definition of numpy's and Excel's
// PERCENTILE.INC), so that the median of an even count is the mean of the
// two middle values and the 90th percentile of 20 values lies between the
// 18th and the 19th; 0 for none. ds is not changed.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return percentileSorted(s, p)
}

func percentileSorted(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	p = min(max(p, 0), 1)
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := h - float64(lo)
	if frac == 0 {
		return s[lo]
	}
	return s[lo] + time.Duration(math.Round(frac*float64(s[lo+1]-s[lo])))
}

// NormalizeMessage makes the messages of one wait in different traces the
// same (docs/analysis.md, "Compared with typical"): lower-cased, quoted
// text (in double, back or single quotes) becomes "…", a UUID, a hex token of 8 or more
// characters (or 0x and hex digits) and every other run of digits becomes
// #. "Waiting for lock behind 7 transactions" and "… behind 12
// transactions" both become "waiting for lock behind # transactions".
// Control characters become spaces, runs of spaces one space, and the
// result is cut to the length a sentence quotes.
func NormalizeMessage(msg string) string {
	s := strings.ToLower(strings.TrimSpace(msg))
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '`' || (c == '\'' && (i == 0 || !isAlnum(s[i-1]))):
			if j := closingQuote(s, i); j > 0 {
				b = append(b, `"…"`...)
				i = j + 1
				space = false
				continue
			}
		case c < ' ' || c == 0x7f || c == ' ':
			if !space && len(b) > 0 {
				b = append(b, ' ')
			}
			space = true
			i++
			continue
		case isAlnum(c):
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			if n := uuidAt(s, i); n > 0 {
				b = append(b, '#')
				i += n
			} else {
				b = appendToken(b, s[i:j])
				i = j
			}
			space = false
			continue
		}
		b = append(b, c)
		space = false
		i++
	}
	out := strings.TrimRight(string(b), " ")
	if len(out) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

// closingQuote is the index of the quote that closes the one at s[i], or
// -1: a single quote closes only before a non-word character (so "don't"
// does not open or close anything).
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if q == '\'' && j+1 < len(s) && isAlnum(s[j+1]) {
			continue
		}
		return j
	}
	return -1
}

// uuidAt is the length of the UUID (8-4-4-4-12 hex digits) starting at
// s[i] and not followed by a word character; 0 when there is none.
func uuidAt(s string, i int) int {
	const n = 36
	if len(s)-i < n || (i+n < len(s) && isAlnum(s[i+n])) {
		return 0
	}
	for k := range n {
		c := s[i+k]
		switch k {
		case 8, 13, 18, 23:
			if c != '-' {
				return 0
			}
		default:
			if !isHex(c) {
				return 0
			}
		}
	}
	return n
}

// appendToken appends a word: # for a hex token (8 or more hex digits, or
// 0x and hex digits), else the word with each run of digits as #.
func appendToken(b []byte, tok string) []byte {
	if h, ok := strings.CutPrefix(tok, "0x"); ok && h != "" && allHex(h) {
		return append(b, '#')
	}
	if len(tok) >= 8 && allHex(tok) {
		return append(b, '#')
	}
	for i := 0; i < len(tok); i++ {
		if isDigit(tok[i]) {
			if i == 0 || !isDigit(tok[i-1]) {
				b = append(b, '#')
			}
			continue
		}
		b = append(b, tok[i])
	}
	return b
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' }
