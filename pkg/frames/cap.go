package frames

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracegap/correlator/pkg/model"
)

// Default caps of what the frames carry for a person to read. The engine
// analyses every line fetched; the frames carry the lines that tell the
// story and as many more as a browser handles.
const (
	// DefaultMaxLogLines is the logs frame's row cap when
	// Options.MaxLogLines is 0 (Grafana's Loki data source shows 1 000
	// lines by default; a logs panel of 100 000 rows is unusable).
	DefaultMaxLogLines = 5000
	// DefaultMaxEmbeddedLines is the cap on the log lines of all spans of
	// the trace frame together when Options.MaxEmbeddedLines is 0.
	DefaultMaxEmbeddedLines = 20000
	// DefaultMaxTableRows is the row cap of each table of findings (gaps,
	// retries, spans) when Options.MaxTableRows is 0: a trace of 100 000
	// lines has tens of thousands of silences over 100 ms, one of 10 000
	// spans thousands of retries, and a person reads the ones that matter.
	DefaultMaxTableRows = 1000
)

// ExploreLogs is where the logs frame's notice sends a person for the lines
// it leaves out: the trace's LogQL on a Loki data source in Explore, over
// the range the logs were fetched for.
type ExploreLogs struct {
	// DatasourceUID is the Loki data source (the settings' tracesToLogsV2
	// datasourceUid); "" leaves the link out and says how to get one.
	DatasourceUID string
	// Queries are the LogQL queries that fetched the lines (auto mode's
	// two return disjoint sets, so Explore shows every line once).
	Queries []string
	// From and To are the range the lines were fetched for.
	From, To time.Time
	// AppURL is Grafana's root URL ("" gives a link relative to the host).
	AppURL string
	// OrgID is the organisation the link opens in (0: left out).
	OrgID int64
}

// URL is the Explore link, or "" when there is no Loki data source or no
// query to open.
func (e ExploreLogs) URL() string {
	if e.DatasourceUID == "" || len(e.Queries) == 0 {
		return ""
	}
	type dsRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	type query struct {
		RefID      string `json:"refId"`
		Datasource dsRef  `json:"datasource"`
		Expr       string `json:"expr"`
		QueryType  string `json:"queryType"`
		EditorMode string `json:"editorMode"`
	}
	type timeRange struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	type pane struct {
		Datasource string    `json:"datasource"`
		Queries    []query   `json:"queries"`
		Range      timeRange `json:"range"`
	}
	p := pane{Datasource: e.DatasourceUID, Range: timeRange{
		From: strconv.FormatInt(e.From.UnixMilli(), 10),
		// Explore's range is inclusive of whole milliseconds; round the
		// half-open end up so the last nanoseconds are not cut.
		To: strconv.FormatInt((e.To.UnixNano()+int64(time.Millisecond)-1)/int64(time.Millisecond), 10),
	}}
	for i, q := range e.Queries {
		p.Queries = append(p.Queries, query{
			RefID: string(rune('A' + i%26)), Datasource: dsRef{Type: "loki", UID: e.DatasourceUID},
			Expr: q, QueryType: "range", EditorMode: "code",
		})
	}
	panes, err := json.Marshal(map[string]pane{"tracegap": p})
	if err != nil {
		return "" // plain strings always marshal
	}
	v := url.Values{}
	v.Set("schemaVersion", "1")
	v.Set("panes", string(panes))
	if e.OrgID > 0 {
		v.Set("orgId", strconv.FormatInt(e.OrgID, 10))
	}
	return strings.TrimRight(e.AppURL, "/") + "/explore?" + v.Encode()
}

func (o Options) maxLogLines() int  { return capOr(o.MaxLogLines, DefaultMaxLogLines) }
func (o Options) maxEmbedded() int  { return capOr(o.MaxEmbeddedLines, DefaultMaxEmbeddedLines) }
func (o Options) maxTableRows() int { return capOr(o.MaxTableRows, DefaultMaxTableRows) }
func capOr(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return int(^uint(0) >> 1)
	}
	return v
}

// storyKey is a line's span (its bucket in the trace frame) and time.
type storyKey struct {
	span int
	ns   int64
}

// storyLines are the (span, time) of the lines that bound a gap or
// announce a retry: the lines a capped frame always keeps.
func storyLines(a *model.Analysis) map[storyKey]struct{} {
	if a == nil {
		return map[storyKey]struct{}{}
	}
	// Sized up front: a big trace has tens of thousands of gaps, and
	// growing the map to them rehashed it a dozen times (a tenth of the
	// frames' time).
	out := make(map[storyKey]struct{}, 2*len(a.Gaps)+len(a.Retries))
	for k := range a.Gaps {
		g := &a.Gaps[k]
		out[storyKey{g.SpanIndex, g.Start.UnixNano()}] = struct{}{}
		out[storyKey{g.SpanIndex, g.End.UnixNano()}] = struct{}{}
	}
	for k := range a.Retries {
		if r := &a.Retries[k]; r.Source == model.RetryFromLogs {
			out[storyKey{r.SpanIndex, r.End.UnixNano()}] = struct{}{}
		}
	}
	return out
}

// preferStory keeps at most limit of the candidates (ascending indices into
// a.Logs, i.e. time order): first the story lines, then the earliest of the
// rest. It returns the kept indices, still ascending, or candidates itself
// when all fit. bucket names the span a line counts under.
func preferStory(a *model.Analysis, candidates []int32, limit int, story map[storyKey]struct{}, bucket func(*model.Log) int) []int32 {
	if len(candidates) <= limit {
		return candidates
	}
	keep := make([]bool, len(candidates))
	left := limit
	for j, li := range candidates {
		if left == 0 {
			break
		}
		l := &a.Logs[li]
		if _, ok := story[storyKey{bucket(l), l.Entry.Time.UnixNano()}]; ok {
			keep[j] = true
			left--
		}
	}
	for j := range candidates {
		if left == 0 {
			break
		}
		if !keep[j] {
			keep[j] = true
			left--
		}
	}
	out := make([]int32, 0, limit)
	for j, li := range candidates {
		if keep[j] {
			out = append(out, li)
		}
	}
	return out
}

// logLinesNotice says how many lines the engine analysed and the logs frame
// shows, and where the rest are.
func logLinesNotice(analysed, shown int, e ExploreLogs) (text, link string) {
	text = fmt.Sprintf("The logs frame shows %d of the %d log lines analysed (maxLogLines): first the lines that bound a gap or announce a retry, then the earliest of the rest.", shown, analysed)
	if link = e.URL(); link != "" {
		return text + " Open the link for every line of the trace in Explore.", link
	}
	return text + " Set the Loki data source of trace to logs (tracesToLogsV2) in the data source settings to get a link to every line in Explore.", ""
}

// shownGaps marks the gaps the frames list when there are more than limit
// of them: first those the breakdown spends waiting time in (the critical
// path's waits, which the headline may quote), then the longest, ties to
// the earlier. It returns nil when every gap fits.
func shownGaps(a *model.Analysis, limit int) []bool {
	if a == nil || len(a.Gaps) <= limit {
		return nil
	}
	bySpan := map[int][]int{}
	for k := range a.Gaps {
		bySpan[a.Gaps[k].SpanIndex] = append(bySpan[a.Gaps[k].SpanIndex], k)
	}
	onPath := make([]bool, len(a.Gaps))
	for _, r := range a.Breakdown.Rows {
		if r.Category != model.CategoryWaiting {
			continue
		}
		for _, k := range bySpan[r.SpanIndex] {
			if g := &a.Gaps[k]; !r.First.Before(g.Start) && r.First.Before(g.End) {
				onPath[k] = true
			}
		}
	}
	ranks := make([]rowRank, len(a.Gaps))
	for k := range a.Gaps {
		g := &a.Gaps[k]
		ranks[k] = rowRank{first: onPath[k], v: int64(g.Duration()), t: g.Start.UnixNano()}
	}
	return topRows(ranks, limit)
}

// shownSpans marks the spans the spans frame lists when there are more
// than limit of them: those on the critical path first, then the most self
// time, ties to the earlier in the trace. It returns nil when every span
// fits.
func shownSpans(a *model.Analysis, limit int) []bool {
	if a == nil || a.Trace == nil || len(a.Trace.Spans) <= limit {
		return nil
	}
	ranks := make([]rowRank, len(a.Trace.Spans))
	for i := range ranks {
		if i < len(a.Figures) {
			ranks[i] = rowRank{first: a.Figures[i].OnCriticalPath, v: int64(a.Figures[i].SelfTime)}
		}
	}
	return topRows(ranks, limit)
}

// rowRank is where a row stands for a cap: rows marked first (on the
// critical path) before the others, then the larger v, then the smaller t,
// then the earlier row. Computed once per row: a comparator that worked
// out a gap's duration from its times took a quarter of the frames' time
// sorting 23 000 gaps.
type rowRank struct {
	first bool
	v, t  int64
}

// topRows marks the first limit rows by rank.
func topRows(ranks []rowRank, limit int) []bool {
	order := make([]int32, len(ranks))
	for k := range order {
		order[k] = int32(k)
	}
	slices.SortFunc(order, func(x, y int32) int {
		rx, ry := &ranks[x], &ranks[y]
		if rx.first != ry.first {
			if rx.first {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(ry.v, rx.v); c != 0 {
			return c
		}
		if c := cmp.Compare(rx.t, ry.t); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	keep := make([]bool, len(ranks))
	for _, k := range order[:limit] {
		keep[k] = true
	}
	return keep
}

// kept returns the rows keep marks, in their order; all of them when keep
// is nil (every row fits).
func kept[T any](rows []T, keep []bool) []T {
	if keep == nil {
		return rows
	}
	out := make([]T, 0, len(rows))
	for k := range rows {
		if keep[k] {
			out = append(out, rows[k])
		}
	}
	return out
}

// spansNotice says how many spans the spans frame lists of the trace's.
func spansNotice(shown, found int) string {
	return fmt.Sprintf("The spans frame lists %d of the trace's %d spans (maxTableRows): those on the critical path first, then the most self time. The trace view shows every span, its figures in its tracegap.* tags.", shown, found)
}

// shownRetries marks the retries the retries frame lists when there are
// more than limit of them: the costliest first, ties to the earlier (the
// engine's order). It returns nil when every retry fits.
func shownRetries(a *model.Analysis, limit int) []bool {
	if a == nil || len(a.Retries) <= limit {
		return nil
	}
	ranks := make([]rowRank, len(a.Retries))
	for k := range a.Retries {
		ranks[k] = rowRank{v: int64(a.Retries[k].Cost)}
	}
	return topRows(ranks, limit)
}

// retriesNotice says how many retries the retries frame lists of those
// found.
func retriesNotice(shown, found int) string {
	return fmt.Sprintf("The retries frame lists %d of the %d retries found (maxTableRows): the costliest first. The retry counts (tracegap.retries, the spans frame, the search table, the retries series) and the spans' warnings count every one.", shown, found)
}

// gapsNotice says how many waits the gaps frame lists of those found.
func gapsNotice(shown, found int) string {
	return fmt.Sprintf("The gaps frame lists %d of the %d waits found (maxTableRows): those on the critical path first, then the longest. The wait totals (tracegap.wait_ms, the spans frame, the breakdown, the wait series) count every one.", shown, found)
}

// unlisted is, per span, the sentences of the gaps shownGaps leaves out and
// their total time, so the span's warnings drop them and say so.
type unlisted struct {
	// sentences are the distinct sentences and how many of the span's
	// gaps have each: a span has few, so a list searched in order costs
	// less than a map per span (hashing them was 2% of a 10 000-span
	// query's CPU).
	sentences []sentenceCount
	count     int
	total     time.Duration
}

type sentenceCount struct {
	s string
	n int
}

// unlistedGaps is, by span index, what the gaps left out of the gaps frame
// (keep false) say; nil when nothing is left out.
func unlistedGaps(a *model.Analysis, keep []bool) []unlisted {
	if keep == nil {
		return nil
	}
	var out []unlisted
	for k := range a.Gaps {
		if keep[k] {
			continue
		}
		g := &a.Gaps[k]
		if out == nil {
			out = make([]unlisted, len(a.Trace.Spans))
		}
		u := &out[g.SpanIndex]
		if i := slices.IndexFunc(u.sentences, func(c sentenceCount) bool { return c.s == g.Sentence }); i >= 0 {
			u.sentences[i].n++
		} else {
			u.sentences = append(u.sentences, sentenceCount{g.Sentence, 1})
		}
		u.count++
		u.total += g.Duration()
	}
	return out
}

// filter returns the warnings without the unlisted gaps' sentences (each
// left out as many times as its gaps), reusing none of ws. It uses up u's
// counts: call it once per span (a copy per span was 10 ms of a 10 000-span
// trace frame).
func (u *unlisted) filter(ws []string) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if i := slices.IndexFunc(u.sentences, func(c sentenceCount) bool { return c.n > 0 && c.s == w }); i >= 0 {
			u.sentences[i].n--
			continue
		}
		out = append(out, w)
	}
	return out
}

func (u *unlisted) sentence() string {
	// Short: on a 10 000-span trace nearly every span says it.
	return fmt.Sprintf("%s (%s) not listed (maxTableRows)", plural(u.count, "shorter wait"), formatMs(u.total))
}
