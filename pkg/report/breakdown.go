package report

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/correlate"
	"github.com/tracegap/correlator/pkg/model"
)

// maxBreakdownRows is how many breakdown rows the report lists before
// summing up the rest in one line.
const maxBreakdownRows = 10

// minWhere is the narrowest "where" column a breakdown row is cut to; below
// it the column wraps.
const minWhere = 30

// msText writes a duration for the text report: whole milliseconds from
// 10 ms up, one decimal below.
func msText(d time.Duration) string { return correlate.ShortMillis(d) }

// millisIn finds the durations the engine's sentences write to the
// microsecond ("5166.879 ms").
var millisIn = regexp.MustCompile(`\b\d+\.\d+ ms\b`)

// roundMillis rewrites the durations inside a sentence the way the text
// report writes every duration (the sentences keep full precision in the
// frames and in JSON).
func roundMillis(text string) string {
	if !strings.Contains(text, " ms") {
		return text
	}
	return millisIn.ReplaceAllStringFunc(text, func(m string) string {
		v, err := strconv.ParseFloat(strings.TrimSuffix(m, " ms"), 64)
		if err != nil {
			return m
		}
		return msText(time.Duration(v * float64(time.Millisecond)))
	})
}

// breakdown writes the headline and the breakdown's rows, largest first,
// each with a bar of its share: the report's first lines answer "where did
// the time go?" in numbers that add up to the request's duration.
func (p *printer) breakdown() {
	b := &p.a.Breakdown
	if len(b.Rows) == 0 {
		return
	}
	p.wrapped("", "", 0, b.Headline)
	p.comparison() // right after the headline, before the rows

	rows := b.Rows
	var rest time.Duration
	if len(rows) > maxBreakdownRows {
		for _, r := range rows[maxBreakdownRows:] {
			rest += r.Duration
		}
		rows = rows[:maxBreakdownRows]
	}
	msW, catW := 0, 0
	for _, r := range rows {
		msW = max(msW, len(msText(r.Duration)))
		catW = max(catW, len(r.Category))
	}
	barW := min(max(p.o.Width/12, 5), 16)
	// ms, share, bar and category, two spaces apart; "where" wraps under
	// itself.
	lead := 2 + msW + 2 + 4 + 2 + barW + 2 + catW + 2
	for _, r := range rows {
		cells := int(r.Share*float64(barW) + 0.5)
		if cells == 0 && r.Duration > 0 {
			cells = 1
		}
		bar := p.paint(p.colors[r.ServiceName], strings.Repeat("█", cells)) + strings.Repeat(" ", barW-cells)
		head := "  " + padLeft(msText(r.Duration), msW) + "  " + padLeft(correlate.SharePercent(r.Share), 4) + "  " +
			bar + "  " + pad(string(r.Category), catW) + "  "
		// One line per row: the where is cut to the line (the headline
		// and the waterfall say it in full); on a narrow terminal it goes
		// on the lines below, indented.
		if avail := p.o.Width - lead; avail >= minWhere {
			p.line(head, cut(rowWhere(&r), avail))
		} else {
			p.line(strings.TrimRight(head, " "))
			p.wrapped("      ", "      ", 6, rowWhere(&r))
		}
	}
	if rest > 0 {
		p.line("  ", p.paint(dim, padLeft(msText(rest), msW)+"  "+padLeft(correlate.SharePercent(float64(rest)/float64(b.Took)), 4)+
			"  in "+strconv.Itoa(len(b.Rows)-maxBreakdownRows)+" more rows"))
	}
	p.line()
}

// rowWhere names a breakdown row's span and, when it has one, what it
// waited on: the callee, or the gap's two messages.
func rowWhere(r *model.BreakdownRow) string {
	label := spanLabel(&model.Span{SpanID: r.SpanID, ServiceName: r.ServiceName, Name: r.Operation})
	switch {
	case r.What == "":
		return label
	case r.Category == model.CategoryWaiting:
		return label + ": " + r.What
	}
	return label + " → " + r.What
}
