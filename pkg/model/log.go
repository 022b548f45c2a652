package model

import "time"

// Label is one name/value pair of a Loki stream label set, structured
// metadata or parsed fields. Slices of Labels are kept sorted by Name where a
// producer can do so cheaply; consumers must not rely on it.
type Label struct {
	Name  string
	Value string
}

// Labels is a small ordered label set. A slice beats a map here: sets hold a
// handful of entries, and one slice is shared by every entry of a stream.
type Labels []Label

// Get returns the value of the first label called name.
func (ls Labels) Get(name string) (string, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// LogEntry is one Loki log entry exactly as Loki returned it.
// Time is Loki's entry time (nanosecond precision); a time written inside the
// line is only a field of the line.
type LogEntry struct {
	Time time.Time
	Line string
	// Stream holds the stream's labels. Older Lokis (or requests without
	// categorize-labels) merge structured metadata and parsed labels into it.
	// Entries of one stream share the same backing slice: treat it as read-only.
	Stream Labels
	// Metadata holds structured metadata (categorized responses only).
	Metadata Labels
	// Parsed holds parser output of the query (categorized responses only).
	Parsed Labels
}
