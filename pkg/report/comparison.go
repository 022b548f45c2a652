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

// comparison prints the comparison with typical, right after the
// headline: its sentence, then the keys furthest above typical with this
// trace's time, the typical (median) and 90th percentile, and in how many
// traces like it each occurs. Nothing when no comparison was asked for;
// only the notice's words when there is none.
func (p *printer) comparison() {
	c := p.a.Comparison
	if c == nil {
		return
	}
	if c.Sentence == "" {
		p.wrapped(p.paint(bold, "Compared with typical: "), "  ", 2, c.Notice)
		p.line()
		return
	}
	p.wrapped(p.paint(bold, "Compared with typical: "), "  ", 2, c.Sentence)
	if len(c.Rows) == 0 {
		p.line()
		return
	}
	p.line("  ", p.paint(dim, padLeft("this", numWidth)+padLeft("typical", numWidth)+padLeft("p90", numWidth)+padLeft("seen in", 10)+"  what"))
	seenW := 10
	indent := 2 + 3*numWidth + seenW + 2
	for k := range c.Rows {
		if k == maxComparisonRows {
			break
		}
		r := &c.Rows[k]
		if k > 0 && r.Delta <= 0 {
			break // the rest are not above typical
		}
		lead := "  " + padLeft(correlate.FormatMillis(r.This), numWidth) + padLeft(correlate.FormatMillis(r.Median), numWidth) +
			padLeft(correlate.FormatMillis(r.P90), numWidth) + padLeft(seenIn(r, c), seenW) + "  "
		p.wrapped(lead, strings.Repeat(" ", indent), indent, string(correlate.RowPhrase(nil, r)))
	}
	p.line()
}

func seenIn(r *model.ComparisonRow, c *model.Comparison) string {
	return strconv.Itoa(r.SeenIn) + " of " + strconv.Itoa(c.Baseline)
}
