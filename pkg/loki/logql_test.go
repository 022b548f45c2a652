package loki

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

const sel = `{service_name=~".+"}`

func TestLineQuery(t *testing.T) {
	q, err := LineQuery(" "+sel+" ", strings.ToUpper(seedTraceID))
	if err != nil {
		t.Fatal(err)
	}
	if want := sel + ` |~ "(?i)af7651916cd43dd8448eb211c80319c"`; q != want {
		t.Errorf("LineQuery = %s\nwant        %s", q, want)
	}
}

// lineRegex extracts the regex of a `|~ "…"` line filter as Loki compiles it.
func lineRegex(t *testing.T, q string) *regexp.Regexp {
	t.Helper()
	i := strings.Index(q, `|~ "`)
	if i < 0 || !strings.HasSuffix(q, `"`) {
		t.Fatalf("no line regex filter in %s", q)
	}
	body := q[i+4 : len(q)-1]
	if strings.ContainsAny(body, "\"\\`") {
		t.Fatalf("regex %q would need LogQL escaping", body)
	}
	return regexp.MustCompile(body)
}

// TestLinePatternMatchesEveryForm checks the line filter against the ways
// logs write ids, for a 128-bit id, a 64-bit id and one with a short
// stripped form.
func TestLinePatternMatchesEveryForm(t *testing.T) {
	cases := []struct {
		id          string
		match, miss []string
	}{
		{seedTraceID,
			[]string{
				`{"traceId":"0af7651916cd43dd8448eb211c80319c"}`,
				`trace_id=0AF7651916CD43DD8448EB211C80319C level=info`,
				`traceID=af7651916cd43dd8448eb211c80319c`, // leading zero stripped, as Tempo search writes it
				`00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01`,
			},
			[]string{`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`, `af7651916cd43dd8448eb211c80319`}},
		{"000000000000000000f067aa0ba902b7", // a 64-bit id padded to 32
			[]string{
				`uber-trace-id=00f067aa0ba902b7:1:0:1`, // 16 digits
				`trace=F067AA0BA902B7`,
				`trace=000000000000000000f067aa0ba902b7`,
			},
			[]string{`trace=00f067aa0ba902b8`}},
		{"000000000000000000000000000abcde", // stripped form shorter than minPlainDigits
			[]string{`trace=abcde`, `trace=000000000000000000000000000ABCDE end`, `abcde`, `{"t":"0000000000abcde"}`},
			[]string{`trace=abcdef`, `trace=1abcde`, `sha=9abcde1`, `xabcdef0`, `trace=abcd`}},
	}
	for _, tc := range cases {
		q, err := LineQuery(sel, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		re := lineRegex(t, q)
		for _, l := range tc.match {
			if !re.MatchString(l) {
				t.Errorf("%s does not match %q", q, l)
			}
		}
		for _, l := range tc.miss {
			if re.MatchString(l) {
				t.Errorf("%s matches %q", q, l)
			}
		}
	}
}

func TestMetadataQuery(t *testing.T) {
	q, err := MetadataQuery(sel, seedTraceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	pat := `"(?i)0*af7651916cd43dd8448eb211c80319c"`
	// trace-id is not a valid label name and is left out.
	want := sel + ` | traceId=~` + pat + ` or trace_id=~` + pat + ` or traceID=~` + pat
	if q != want {
		t.Errorf("MetadataQuery =\n%s\nwant\n%s", q, want)
	}
	// Label filter regexes are anchored in LogQL (Prometheus matchers).
	re := regexp.MustCompile(`^(?:` + strings.Trim(pat, `"`) + `)$`)
	for _, v := range []string{seedTraceID, strings.ToUpper(seedTraceID), seedTraceID[1:], "000" + seedTraceID[1:]} {
		if !re.MatchString(v) {
			t.Errorf("metadata pattern misses %q", v)
		}
	}
	for _, v := range []string{seedTraceID + "0", "1" + seedTraceID, ""} {
		if re.MatchString(v) {
			t.Errorf("metadata pattern matches %q", v)
		}
	}

	q, err = MetadataQuery(sel, seedTraceID, []string{" trace_id ", "trace_id", "otel.trace_id"})
	if err != nil || q != sel+` | trace_id=~`+pat {
		t.Errorf("custom fields: %s, %v", q, err)
	}
}

func TestQueryInputErrors(t *testing.T) {
	cases := []struct {
		name, selector, id string
		fields             []string
		want               string
	}{
		{"injection in id", sel, `0af7" or 1=1`, nil, "not 1 to 32 hex digits"},
		{"id too long", sel, seedTraceID + "0", nil, "not 1 to 32 hex digits"},
		{"empty id", sel, "", nil, "not 1 to 32 hex digits"},
		{"zero id", sel, "0000", nil, "all zeros"},
		{"empty selector", "  ", seedTraceID, nil, "selector is empty"},
		{"selector without brace", `service_name="x"`, seedTraceID, nil, `must start with "{"`},
		{"no usable field", sel, seedTraceID, []string{"trace-id", "1x", "trace.id"}, "valid Loki label name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.fields != nil {
				_, err = MetadataQuery(tc.selector, tc.id, tc.fields)
			} else {
				_, err = Queries(tc.selector, tc.id, ModeAuto, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := ParseMode("fast"); err == nil || !strings.Contains(err.Error(), "line, metadata or auto") {
		t.Errorf("ParseMode: %v", err)
	}
	for in, want := range map[string]Mode{"": ModeAuto, "LINE": ModeLine, " metadata": ModeMetadata, "auto": ModeAuto} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, m, err)
		}
	}
}

func TestQueriesModes(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want []string
	}{
		{ModeLine, []string{"|~"}},
		{ModeMetadata, []string{"| traceId=~"}},
		{ModeAuto, []string{"|~", "| traceId=~"}},
	} {
		qs, err := Queries(sel, seedTraceID, tc.mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != len(tc.want) {
			t.Fatalf("%s: %d queries %q", tc.mode, len(qs), qs)
		}
		for i, w := range tc.want {
			if !strings.Contains(qs[i], w) {
				t.Errorf("%s query %d = %s, want it to contain %s", tc.mode, i, qs[i], w)
			}
		}
	}
}

func TestBatchQueries(t *testing.T) {
	var ids []string
	for i := 1; i <= 250; i++ {
		ids = append(ids, fmt.Sprintf("%032x", 0x1000000000000+i*7919))
	}
	ids = append(ids, ids[0], strings.ToUpper(ids[1])) // duplicates, in another case
	batches, err := BatchQueries(sel, ids, ModeLine, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	seen := map[string]bool{}
	for _, b := range batches {
		sizes = append(sizes, len(b.TraceIDs))
		if len(b.Queries) != 1 {
			t.Fatalf("line mode gave %d queries", len(b.Queries))
		}
		re := lineRegex(t, b.Queries[0])
		for _, id := range b.TraceIDs {
			seen[id] = true
			if !re.MatchString("trace=" + id) {
				t.Errorf("batch query misses its id %s", id)
			}
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" || len(seen) != 250 {
		t.Errorf("batch sizes %v, %d distinct ids", sizes, len(seen))
	}
	if re := lineRegex(t, batches[1].Queries[0]); re.MatchString("trace=" + batches[0].TraceIDs[0]) {
		t.Error("a batch matches an id of another batch")
	}

	// Metadata with several names grows faster: the byte limit splits first.
	batches, err = BatchQueries(sel, ids, ModeAuto, []string{"trace_id", "traceId", "traceID", "otel_trace_id"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range batches {
		total += len(b.TraceIDs)
		n := 0
		for _, q := range b.Queries {
			n += len(q)
		}
		if n > MaxBatchBytes {
			t.Errorf("batch of %d ids has %d bytes of LogQL", len(b.TraceIDs), n)
		}
		if len(b.Queries) != 2 {
			t.Errorf("auto mode gave %d queries", len(b.Queries))
		}
	}
	if total != 250 || len(batches) < 3 {
		t.Errorf("%d ids in %d batches", total, len(batches))
	}

	if _, err := BatchQueries(sel, []string{seedTraceID, "nothex"}, ModeLine, nil); err == nil || !strings.Contains(err.Error(), `"nothex"`) {
		t.Errorf("invalid id in batch: %v", err)
	}
	if _, err := BatchQueries(sel, nil, ModeLine, nil); err == nil {
		t.Error("no ids: no error")
	}
}
