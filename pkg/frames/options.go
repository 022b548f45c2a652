package frames

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/tracegap/correlator/pkg/model"
)

// DefaultMaxLinesPerSpan is how many log lines a span shows in the trace view
// when Options.MaxLinesPerSpan is 0. The logs frame always holds every line.
const DefaultMaxLinesPerSpan = 100

// Options are what every frame builder needs besides the analysis.
type Options struct {
	// RefID is the query's refId; every frame carries it.
	RefID string
	// ExecutedQueryString is a short description of what was run (shown in
	// the query inspector); every frame carries it in Meta.
	ExecutedQueryString string
	// MaxLinesPerSpan caps the correlated log lines on one span of the trace
	// frame (0: DefaultMaxLinesPerSpan; negative: no cap). Span events are
	// never capped.
	MaxLinesPerSpan int
	// MaxLogLines caps the logs frame's rows (0: DefaultMaxLogLines;
	// negative: no cap); MaxEmbeddedLines caps the log lines of all spans
	// of the trace frame together (0: DefaultMaxEmbeddedLines; negative: no
	// cap). Both keep the lines that bound a gap or announce a retry first.
	MaxLogLines      int
	MaxEmbeddedLines int
	// MaxTableRows caps the rows of the gaps, retries and spans frames, and
	// the gap sentences the trace frame's spans carry with them (0:
	// DefaultMaxTableRows; negative: no cap): the ones that matter first
	// (shownGaps, shownRetries, shownSpans).
	MaxTableRows int
	// LogsExplore is where the logs frame's notice links to for every line
	// when MaxLogLines leaves some out.
	LogsExplore ExploreLogs
	// Notices are appended to the Meta of every frame built with these
	// options. Grafana's panel header shows each distinct text once.
	Notices []data.Notice
	// Link is the data source that internal links (trace id, span id) point
	// to; links are left out when its DatasourceUID is "".
	Link Link
}

// Link names the data source of internal data links back to a trace query:
// normally this Tracegap data source itself.
type Link struct {
	DatasourceUID  string
	DatasourceName string
}

func (o Options) maxLines() int {
	switch {
	case o.MaxLinesPerSpan == 0:
		return DefaultMaxLinesPerSpan
	case o.MaxLinesPerSpan < 0:
		return int(^uint(0) >> 1)
	}
	return o.MaxLinesPerSpan
}

// meta returns the frame metadata every frame shares: the executed query
// string and a copy of the notices (frames must not share a slice that a
// caller may append to later).
func (o Options) meta() *data.FrameMeta {
	m := &data.FrameMeta{ExecutedQueryString: o.ExecutedQueryString}
	if len(o.Notices) > 0 {
		m.Notices = append([]data.Notice(nil), o.Notices...)
	}
	return m
}

// newFrame creates a frame named name with the shared metadata and RefID.
func (o Options) newFrame(name string, fields ...*data.Field) *data.Frame {
	f := data.NewFrame(name, fields...)
	f.RefID = o.RefID
	f.Meta = o.meta()
	return f
}

// Info is a notice of severity info.
func Info(text string) data.Notice {
	return data.Notice{Severity: data.NoticeSeverityInfo, Text: text}
}

// Warning is a notice of severity warning.
func Warning(text string) data.Notice {
	return data.Notice{Severity: data.NoticeSeverityWarning, Text: text}
}

// AddNotices appends notices to the Meta of every frame (creating Meta
// where it is missing) and returns the frames, for use after building.
func AddNotices(frames data.Frames, notices ...data.Notice) data.Frames {
	if len(notices) == 0 {
		return frames
	}
	for _, f := range frames {
		if f != nil {
			f.AppendNotices(notices...)
		}
	}
	return frames
}

// AnalysisNotices turns the engine's trace-level remarks (Analysis.Notices)
// into info notices, for the plugin to attach with Options.Notices.
func AnalysisNotices(a *model.Analysis) []data.Notice {
	if a == nil || len(a.Notices) == 0 {
		return nil
	}
	out := make([]data.Notice, len(a.Notices))
	for i, text := range a.Notices {
		out[i] = Info(text)
	}
	return out
}
