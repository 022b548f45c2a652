package report

import (
	"strconv"
	"strings"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/model"
)

// maxComparisonRows is how many keys the terminal lists under the
// comparison's sentence: the ones furthest above typical.
const maxComparisonRows = 5

// comparison writes the comparison with typical, once, right after the
// headline: its sentence, then the keys above typical with this trace's
// time, the typical (median) and 90th percentile, and in how many traces
// like it each occurs. Nothing when no comparison was asked for; only the
// notice's words when there is none.
func (p *printer) comparison() {
	c := p.a.Comparison
	if c == nil || p.compared {
		return
	}
	p.compared = true
	const label = "Compared with typical: "
	if c.Sentence == "" {
		p.wrapped("", "  ", 2, label+c.Notice)
		p.line()
		return
	}
	p.wrapped("", "  ", 2, label+roundMillis(c.Sentence))
	var rows []*model.ComparisonRow
	for k := range c.Rows {
		if len(rows) == maxComparisonRows || (k > 0 && c.Rows[k].Delta <= 0) {
			break // the rest are not above typical
		}
		rows = append(rows, &c.Rows[k])
	}
	heads := []string{"this", "typical", "p90", "seen in"}
	cells := make([][]string, len(rows))
	widths := make([]int, len(heads))
	for i, h := range heads {
		widths[i] = len(h)
	}
	for k, r := range rows {
		cells[k] = []string{msText(r.This), msText(r.Median), msText(r.P90), strconv.Itoa(r.SeenIn) + " of " + strconv.Itoa(c.Baseline)}
		for i, cell := range cells[k] {
			widths[i] = max(widths[i], len(cell))
		}
	}
	lead := func(cs []string) string {
		var b strings.Builder
		b.WriteString("  ")
		for i, cell := range cs {
			b.WriteString(padLeft(cell, widths[i]))
			b.WriteString("  ")
		}
		return b.String()
	}
	head := lead(heads)
	p.line(p.paint(dim, head+"what"))
	indent := len(head)
	for k, r := range rows {
		p.wrapped(lead(cells[k]), strings.Repeat(" ", indent), indent, string(correlate.RowPhrase(nil, r)))
	}
	p.line()
}
