package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/explain"
	"github.com/tracegap/correlator/pkg/model"
)

// DefaultWidth is the line width used when Options.Width is zero: what
// fits a laptop terminal split in two.
const DefaultWidth = 100

// Layout limits: the label column never takes more than maxLabel runes (longer
// labels are cut with "…"; on narrow widths down to minLabel), and the bar
// keeps at least minBar cells, so the picture stays a picture.
const (
	maxLabel = 56
	minLabel = 20
	minBar   = 12
	maxBar   = 80
	maxWaits = 5 // rows of the summary's wait table
)

// Options shape the text report.
type Options struct {
	// Width is the line width the waterfall and the wrapped sentences fit
	// in; 0 means DefaultWidth.
	Width int
	// Color turns on ANSI colors (bars by service, tags by kind).
	Color bool
	// Source says where the trace came from, shown under the title
	// ("" shows nothing).
	Source string
}

// Text writes the result as a terminal report: the headline and the
// breakdown first (where the request's time went, a compact bar per row),
// then a title and the waterfall (one line per span, its gaps, retries and
// warnings under it), then the details (summary, tables, the critical
// path) and the notices. Durations read as people write them: whole
// milliseconds from 10 ms up, one decimal below (JSON keeps full
// precision), and columns are as wide as their widest cell, so they never
// run into each other.
func Text(w io.Writer, r *explain.Result, o Options) error {
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	bw := bufio.NewWriter(w)
	p := &printer{w: bw, a: r.Analysis, o: o}
	p.palette()
	p.breakdown()
	p.comparison() // when breakdown did not (no rows)
	p.title()
	p.waterfall()
	p.summary()
	p.notices(r.Notices)
	return bw.Flush()
}

type printer struct {
	w      *bufio.Writer
	a      *model.Analysis
	o      Options
	colors map[string]string // service → ANSI color
	// compared says the comparison has been written.
	compared bool
}

// ANSI styles; paint drops them when colors are off.
const (
	reset   = "\x1b[0m"
	bold    = "\x1b[1m"
	dim     = "\x1b[2m"
	red     = "\x1b[31m"
	yellow  = "\x1b[33m"
	magenta = "\x1b[35m"
	cyan    = "\x1b[36m"
)

// serviceColors are told apart on dark and light backgrounds alike.
var serviceColors = []string{"\x1b[34m", "\x1b[32m", "\x1b[35m", "\x1b[36m", "\x1b[33m", "\x1b[94m", "\x1b[92m", "\x1b[95m", "\x1b[96m", "\x1b[93m"}

func (p *printer) paint(style, s string) string {
	if !p.o.Color || style == "" || s == "" {
		return s
	}
	return style + s + reset
}

// palette gives each service a color by its place in the sorted service
// list, so the same trace is always drawn the same way.
func (p *printer) palette() {
	p.colors = map[string]string{}
	for k, g := range p.a.Services {
		p.colors[g.ServiceName] = serviceColors[k%len(serviceColors)]
	}
}

func (p *printer) line(parts ...string) {
	for _, s := range parts {
		p.w.WriteString(s)
	}
	p.w.WriteByte('\n')
}

func (p *printer) title() {
	a := p.a
	id := a.Trace.TraceID
	if n, ok := model.NormalizeTraceID(id); ok {
		id = n
	}
	facts := []string{
		msText(a.End.Sub(a.Start)),
		plural(len(a.Trace.Spans), "span", "spans"),
		plural(len(a.Services), "service", "services"),
		plural(len(a.Logs), "log line", "log lines"),
	}
	head, rest := "Trace "+id, strings.Join(facts, " · ")
	if utf8.RuneCountInString(head)+2+utf8.RuneCountInString(rest) <= p.o.Width {
		p.line(p.paint(bold, head), "  ", rest)
	} else {
		p.line(p.paint(bold, head))
		p.line(rest)
	}
	if p.o.Source != "" {
		p.wrapped("", "  ", 2, p.o.Source)
	}
	p.line()
}

func spanLabel(s *model.Span) string {
	switch {
	case s.ServiceName == "" && s.Name == "":
		return "span " + s.SpanID
	case s.ServiceName == "":
		return s.Name
	case s.Name == "":
		return s.ServiceName
	}
	return s.ServiceName + " " + s.Name
}

// cut shortens s to n runes, ending in "…" when it had to cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func padLeft(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

func (p *printer) waterfall() {
	a := p.a
	t := a.Trace
	rows := waterfall(t)

	// A line is: mark(2) label space │bar│ start duration self. The
	// number columns are as wide as their widest cell plus two spaces.
	// Labels give way to the bar on narrow widths, down to minLabel.
	nums := make([][3]string, len(rows))
	numW := [3]int{len("start") + 2, len("duration") + 2, len("self") + 2}
	for k, r := range rows {
		s := &t.Spans[r.span]
		nums[k] = [3]string{msText(s.Start.Sub(a.Start)), msText(s.Duration()), msText(a.Figures[r.span].SelfTime)}
		for c := range nums[k] {
			numW[c] = max(numW[c], len(nums[k][c])+2)
		}
	}
	fixed := 2 + 1 + 2 + numW[0] + numW[1] + numW[2]
	labelMax := min(max(p.o.Width-fixed-minBar, minLabel), maxLabel)
	labels := make([]string, len(rows))
	labelW := len("span")
	for k, r := range rows {
		labels[k] = cut(r.lead+spanLabel(&t.Spans[r.span]), labelMax)
		labelW = max(labelW, utf8.RuneCountInString(labels[k]))
	}
	barW := min(max(p.o.Width-fixed-labelW, minBar), maxBar)

	span := a.End.Sub(a.Start)
	left, right := "0 ms", msText(span)
	axis := left + strings.Repeat(" ", max(barW-len(left)-len(right), 1)) + right
	if len(left)+1+len(right) > barW {
		axis = right // a narrow bar has room for the end only
	}
	p.line(p.paint(dim, "  "+pad("span", labelW)+"  "+pad(axis, barW)+" "+
		padLeft("start", numW[0])+padLeft("duration", numW[1])+padLeft("self", numW[2])))

	// Each span's log extent, to draw its lines that fall outside it.
	first := make([]time.Time, len(t.Spans))
	last := make([]time.Time, len(t.Spans))
	for k := range a.Logs {
		l := &a.Logs[k]
		if l.SpanIndex < 0 || l.SpanIndex >= len(t.Spans) {
			continue
		}
		if ts := l.Entry.Time; first[l.SpanIndex].IsZero() || ts.Before(first[l.SpanIndex]) {
			first[l.SpanIndex] = ts
		}
		if ts := l.Entry.Time; ts.After(last[l.SpanIndex]) {
			last[l.SpanIndex] = ts
		}
	}

	tags := p.tagsBySpan()
	for k, r := range rows {
		s := &t.Spans[r.span]
		f := &a.Figures[r.span]
		mark := "  "
		if f.OnCriticalPath {
			mark = p.paint(bold, "*") + " "
		}
		bar := p.bar(s, first[r.span], last[r.span], barW)
		label := labels[k]
		if f.OnCriticalPath {
			label = p.paint(bold, label)
		}
		p.line(mark, label, strings.Repeat(" ", labelW-utf8.RuneCountInString(labels[k])), " ",
			p.paint(dim, "│"), bar, p.paint(dim, "│"),
			padLeft(nums[k][0], numW[0]), padLeft(nums[k][1], numW[1]), padLeft(nums[k][2], numW[2]))

		cont := r.cont + "   "
		if r.hasChildren {
			cont = r.cont + "│  "
		}
		cont = "  " + cont
		if s.StatusCode == model.StatusError {
			msg := "the span's status is error"
			if s.StatusMessage != "" {
				msg += ": " + s.StatusMessage
			}
			p.detail(cont, "error", red, msg)
		}
		if f.HasNetwork && f.Network > 0 {
			p.detail(cont, "net", cyan, msText(f.Network)+
				" between this client span and the server span it called (network, queueing)")
		}
		for _, wtext := range f.Warnings {
			tag, style := "warn", yellow
			if k, ok := tags[r.span][wtext]; ok {
				tag, style = k, cyan
				if k == "retry" {
					style = magenta
				}
			}
			p.detail(cont, tag, style, wtext)
		}
	}
	p.line()
	legend := "* on the critical path   █ span   ░ its log lines outside the span"
	p.line(p.paint(dim, legend))
	p.line()
}

// tagsBySpan tells which warnings of a span are gap, retry, pool and queue
// sentences.
func (p *printer) tagsBySpan() map[int]map[string]string {
	tags := map[int]map[string]string{}
	add := func(i int, sentence, tag string) {
		if tags[i] == nil {
			tags[i] = map[string]string{}
		}
		tags[i][sentence] = tag
	}
	for k := range p.a.Gaps {
		add(p.a.Gaps[k].SpanIndex, p.a.Gaps[k].Sentence, "wait")
	}
	for k := range p.a.Retries {
		add(p.a.Retries[k].SpanIndex, p.a.Retries[k].Sentence, "retry")
	}
	for k := range p.a.Findings {
		add(p.a.Findings[k].SpanIndex, p.a.Findings[k].Sentence, p.a.Findings[k].Kind)
	}
	return tags
}

// bar draws a span on the trace's time axis: █ for the span, ░ where its log
// lines run before or after it. Cells are rounded to the nearest; a span
// gets at least one cell however short.
func (p *printer) bar(s *model.Span, logFirst, logLast time.Time, width int) string {
	a := p.a
	total := a.End.Sub(a.Start)
	cell := func(ts time.Time) int {
		if total <= 0 {
			return 0
		}
		c := int((int64(ts.Sub(a.Start))*int64(width) + int64(total)/2) / int64(total))
		return min(max(c, 0), width)
	}
	cells := make([]rune, width)
	for i := range cells {
		cells[i] = ' '
	}
	from, to := cell(s.Start), cell(s.End)
	if to <= from {
		to = from + 1
		if to > width {
			from, to = width-1, width
		}
	}
	if !logFirst.IsZero() {
		lf, ll := cell(logFirst), cell(logLast)
		if ll <= lf {
			ll = lf + 1
		}
		for i := lf; i < ll && i < width; i++ {
			if i < from || i >= to {
				cells[i] = '░'
			}
		}
	}
	for i := from; i < to; i++ {
		cells[i] = '█'
	}
	if !p.o.Color {
		return string(cells)
	}
	// One color run per span, logs dimmed.
	var b strings.Builder
	style := p.colors[s.ServiceName]
	cur := ""
	for _, c := range cells {
		want := ""
		switch c {
		case '█':
			want = style
		case '░':
			want = dim
		}
		if want != cur {
			if cur != "" {
				b.WriteString(reset)
			}
			b.WriteString(want)
			cur = want
		}
		b.WriteRune(c)
	}
	if cur != "" {
		b.WriteString(reset)
	}
	return b.String()
}

// detail writes one tagged sentence under a span, wrapped to the width with
// a hanging indent.
func (p *printer) detail(prefix, tag, style, text string) {
	const tagW = 7
	head := prefix + p.paint(style, tag) + strings.Repeat(" ", tagW-len(tag))
	hang := prefix + strings.Repeat(" ", tagW)
	p.wrapped(head, hang, utf8.RuneCountInString(prefix)+tagW, text)
}

// wrapped writes text after first, continuing on lines that start with
// rest; indent is the visible width of both.
func (p *printer) wrapped(first, rest string, indent int, text string) {
	avail := max(p.o.Width-indent, 20)
	lines := wrap(roundMillis(text), avail)
	for k, l := range lines {
		if k == 0 {
			p.line(first, l)
		} else {
			p.line(rest, l)
		}
	}
}

// wrap breaks text into lines of at most width runes at spaces; a word
// longer than the width gets a line of its own.
func wrap(text string, width int) []string {
	words := strings.Fields(text)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur := words[0]
	curN := utf8.RuneCountInString(cur)
	for _, w := range words[1:] {
		n := utf8.RuneCountInString(w)
		if curN+1+n > width {
			lines = append(lines, cur)
			cur, curN = w, n
			continue
		}
		cur += " " + w
		curN += 1 + n
	}
	return append(lines, cur)
}

func (p *printer) summary() {
	a := p.a
	t := a.Trace
	p.line(p.paint(bold, "Details"))
	const keyW = 16
	kv := func(key, value string) {
		p.wrapped("  "+p.paint(bold, pad(key, keyW)), strings.Repeat(" ", 2+keyW), 2+keyW, value)
	}

	dur := "first span start to last span end: " + msText(a.End.Sub(a.Start))
	if rows := waterfall(t); len(rows) > 0 {
		root := &t.Spans[rows[0].span]
		if root.Duration() != a.End.Sub(a.Start) {
			dur += "; the root span " + spanLabel(root) + " lasts " + msText(root.Duration())
		}
	}
	kv("duration", dur)
	kv("waits", msText(a.Total.Wait)+" of waiting seen in the logs, "+
		msText(a.Total.Unaccounted)+" of it unaccounted (no span explains it); nested waits count at every level, so this is not a share of the duration (the breakdown above is)")
	var retryCost time.Duration
	for k := range a.Retries {
		retryCost += a.Retries[k].Cost
	}
	retries := "none"
	if len(a.Retries) > 0 {
		retries = plural(a.Total.Retries, "retry", "retries") + ", costing " + msText(retryCost)
	}
	kv("retries", retries)
	logs := plural(len(a.Logs), "log line", "log lines") + " of this trace"
	if a.TraceLevelLogs > 0 {
		logs += ", " + strconv.Itoa(a.TraceLevelLogs) + " without a known span"
	}
	if a.OtherTraceLogs > 0 {
		logs += "; " + strconv.Itoa(a.OtherTraceLogs) + " of other traces ignored"
	}
	if a.DuplicateLogs > 0 {
		logs += "; " + strconv.Itoa(a.DuplicateLogs) + " duplicates dropped"
	}
	kv("logs", logs)
	if a.TopFinding != "" && a.TopFinding != a.Breakdown.Headline {
		kv("top finding", a.TopFinding)
	}
	p.line()

	// Per service.
	svc := [][]string{{"service", "spans", "wait", "unaccounted", "retries"}}
	var styles []string
	for _, g := range a.Services {
		name := g.ServiceName
		if name == "" {
			name = "(no service name)"
		}
		svc = append(svc, []string{name, strconv.Itoa(g.Spans), msText(g.Wait), msText(g.Unaccounted), strconv.Itoa(g.Retries)})
		styles = append(styles, p.colors[g.ServiceName])
	}
	p.table(svc, styles, "lrrrr")
	p.line()

	p.waits()
	p.retries()
	p.criticalPath()
}

// table writes rows (the first is the header, dimmed) in columns as wide
// as their widest cell, two spaces apart, aligned by align ('l' or 'r' per
// column); the first column of row k+1 gets styles[k].
func (p *printer) table(rows [][]string, styles []string, align string) {
	widths := make([]int, len(align))
	for _, r := range rows {
		for c, cell := range r {
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
		}
	}
	for k, r := range rows {
		var b strings.Builder
		for c, cell := range r {
			if c > 0 {
				b.WriteString("  ")
			}
			if align[c] == 'r' {
				cell = padLeft(cell, widths[c])
			} else if c < len(r)-1 {
				cell = pad(cell, widths[c])
			}
			if c == 0 && k > 0 && k-1 < len(styles) {
				cell = p.paint(styles[k-1], cell)
			}
			b.WriteString(cell)
		}
		line := b.String()
		if k == 0 {
			line = p.paint(dim, line)
		}
		p.line("  ", line)
	}
}

// criticalPath prints the critical path as the path it is: each span at
// its depth in the tree, with the time it holds on the path (its rows of
// the breakdown), so that siblings read as siblings, not as a call chain.
func (p *printer) criticalPath() {
	a := p.a
	t := a.Trace
	if len(a.CriticalPath) == 0 {
		return
	}
	depth := map[int]int{}
	for _, r := range waterfall(t) {
		depth[r.span] = r.depth
	}
	index := make(map[string]int, len(t.Spans))
	for i := range t.Spans {
		if _, dup := index[normSpanID(t.Spans[i].SpanID)]; !dup {
			index[normSpanID(t.Spans[i].SpanID)] = i
		}
	}
	onPath := map[string]time.Duration{}
	for _, r := range a.Breakdown.Rows {
		onPath[normSpanID(r.SpanID)] += r.Duration
	}
	const title, note = "Critical path", "  (time on the path; indented by depth in the trace)"
	if 2+len(title)+len(note) <= p.o.Width {
		p.line("  ", p.paint(bold, title), p.paint(dim, note))
	} else {
		p.line("  ", p.paint(bold, title))
	}
	var rows [][]string
	base := -1
	for _, id := range a.CriticalPath {
		i, ok := index[normSpanID(id)]
		if !ok {
			rows = append(rows, []string{"", "", id})
			continue
		}
		if base < 0 {
			base = depth[i]
		}
		rows = append(rows, []string{msText(onPath[normSpanID(id)]), strings.Repeat("  ", max(0, depth[i]-base)), spanLabel(&t.Spans[i])})
	}
	w := 0
	for _, r := range rows {
		w = max(w, len(r[0]))
	}
	for _, r := range rows {
		indent := 4 + w + len(r[1])
		p.wrapped("  "+padLeft(r[0], w)+"  "+r[1], strings.Repeat(" ", indent), indent, r[2])
	}
	p.line()
}

// waits lists the gaps with the most unaccounted time: where to look first.
func (p *printer) waits() {
	a := p.a
	if len(a.Gaps) == 0 {
		return
	}
	order := make([]int, len(a.Gaps))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(x, y int) int {
		gx, gy := &a.Gaps[x], &a.Gaps[y]
		if gx.Unaccounted != gy.Unaccounted {
			return cmpDur(gy.Unaccounted, gx.Unaccounted)
		}
		return cmpDur(gy.Duration(), gx.Duration())
	})
	p.line("  ", p.paint(bold, "Waits, most unaccounted first"))
	cells := [][]string{{"unaccounted", "wait", "in spans"}}
	var whats []string
	for k, gi := range order {
		if k == maxWaits {
			break
		}
		g := &a.Gaps[gi]
		sp := &a.Trace.Spans[g.SpanIndex]
		// Callees by service, or by operation within the waiting span's
		// own service (its database client spans, say), as the engine's
		// summaries name them.
		var callees []string
		for _, c := range g.Callees {
			n := c.ServiceName
			if n == sp.ServiceName || n == "" {
				n = c.Operation
			}
			if len(callees) == 0 || callees[len(callees)-1] != n {
				callees = append(callees, n)
			}
		}
		what := spanLabel(sp) + " → "
		if len(callees) == 0 {
			what += "no span"
		} else {
			what += strings.Join(callees, ", ")
		}
		cells = append(cells, []string{msText(g.Unaccounted), msText(g.Duration()), msText(g.InCallees)})
		whats = append(whats, what)
	}
	widths := [3]int{}
	for _, r := range cells {
		for c := range widths {
			widths[c] = max(widths[c], len(r[c]))
		}
	}
	num := func(r []string) string {
		return padLeft(r[0], widths[0]) + "  " + padLeft(r[1], widths[1]) + "  " + padLeft(r[2], widths[2]) + "  "
	}
	lead := 2 + widths[0] + widths[1] + widths[2] + 6
	p.line("  ", p.paint(dim, num(cells[0])+"span → waiting for"))
	for k, what := range whats {
		p.wrapped("  "+num(cells[k+1]), strings.Repeat(" ", lead), lead, what)
	}
	if len(order) > maxWaits {
		p.line("  ", p.paint(dim, fmt.Sprintf("… and %d more (see the waterfall)", len(order)-maxWaits)))
	}
	p.line()
}

// retries lists every retry group with the span it happened in.
func (p *printer) retries() {
	a := p.a
	if len(a.Retries) == 0 {
		return
	}
	p.line("  ", p.paint(bold, "Retries"))
	for k := range a.Retries {
		r := &a.Retries[k]
		p.wrapped("  - ", "    ", 4, spanLabel(&a.Trace.Spans[r.SpanIndex])+" "+r.Sentence)
	}
	p.line()
}

func (p *printer) notices(ns []explain.Notice) {
	if len(ns) == 0 {
		return
	}
	p.line(p.paint(bold, "Notices"))
	for _, n := range ns {
		tag, style := "info", cyan
		if n.Severity == explain.Warning {
			tag, style = "warn", yellow
		}
		p.detail("  ", tag, style, n.Text)
	}
	p.line()
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
