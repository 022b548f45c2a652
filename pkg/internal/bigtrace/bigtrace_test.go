package bigtrace

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/loki"
	"github.com/tracegap/correlator/pkg/model"
	"github.com/tracegap/correlator/pkg/tempo"
)

var small = Config{Spans: 500, LinesPerSpan: 10, ChattySpans: 3, ChattyLines: 150, Seed: 7}

func TestGenerateIsDeterministicAndDecodes(t *testing.T) {
	d := Generate(small)
	if again := Generate(small); !reflect.DeepEqual(d, again) {
		t.Fatal("the same config generated different data")
	}
	if len(d.Trace.Spans) != 500 || len(d.Entries) != 500*10+3*150 {
		t.Fatalf("%d spans, %d entries; want 500 and %d", len(d.Trace.Spans), len(d.Entries), 500*10+3*150)
	}
	res, err := tempo.DecodeTraceV2Protobuf(d.TempoV2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Trace, d.Trace) {
		for i := range d.Trace.Spans {
			if !reflect.DeepEqual(res.Trace.Spans[i], d.Trace.Spans[i]) {
				t.Fatalf("span %d decodes as\n%+v\nwant\n%+v", i, res.Trace.Spans[i], d.Trace.Spans[i])
			}
		}
		t.Fatalf("decoded trace differs: %d spans, id %s", len(res.Trace.Spans), res.Trace.TraceID)
	}
	if !slices.IsSortedFunc(d.Entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
		t.Error("entries are not time-ordered")
	}
	// Each chatty span has its synth lines plus the chatty ones.
	perSpan := map[string]int{}
	for _, e := range d.Entries {
		if id, _ := e.Metadata.Get("span_id"); id != "" {
			perSpan[id]++
		}
	}
	over := 0
	for _, n := range perSpan {
		if n > 100 {
			over++
		}
	}
	if over != 3 {
		t.Errorf("%d spans have over 100 lines, want the 3 chatty ones", over)
	}
}

// selectedByTrace is what a real Loki returns for the trace's queries: the
// entries naming the trace (synth puts about 1% in another trace).
func selectedByTrace(es []model.LogEntry) []model.LogEntry {
	var out []model.LogEntry
	for _, e := range es {
		if id, _ := e.Metadata.Get("trace_id"); id == TraceID {
			out = append(out, e)
		}
	}
	return out
}

func entryKeys(es []model.LogEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = strconv.FormatInt(e.Time.UnixNano(), 10) + " " + e.Line
	}
	return out
}

func TestFakeLokiPagesLikeLoki(t *testing.T) {
	d := Generate(small)
	fake := NewLoki(d.Entries, []byte(`{"summary":{"totalEntriesReturned":0}}`))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	want := entryKeys(selectedByTrace(d.Entries))
	slices.Sort(want)
	first, last := d.Entries[0].Time, d.Entries[len(d.Entries)-1].Time.Add(time.Nanosecond)

	for _, mode := range []loki.Mode{loki.ModeLine, loki.ModeMetadata, loki.ModeAuto} {
		t.Run(string(mode), func(t *testing.T) {
			c := loki.New(srv.URL, srv.Client(), "")
			res, err := c.TraceLogs(context.Background(), loki.LogQuery{
				TraceID: TraceID, Selector: `{service_name=~".+"}`, Mode: mode,
				Start: first, End: last, PageSize: 97,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSortedFunc(res.Entries, func(a, b model.LogEntry) int { return a.Time.Compare(b.Time) }) {
				t.Error("entries are not time-ordered")
			}
			// Entries of one nanosecond may come in any order: compare sets.
			got := entryKeys(res.Entries)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%d entries, want %d, each once", len(got), len(want))
			}
			// Every generated line carries the id in its text, so auto
			// mode's metadata query (restricted to lines whose text does
			// not match) has nothing to return: one empty page more than
			// line mode, and no line fetched twice.
			min := len(want)/97 + 1
			if mode == loki.ModeAuto {
				min++
			}
			if res.Pages < min {
				t.Errorf("%d pages, want at least %d", res.Pages, min)
			}
		})
	}

	t.Run("a sub-range holds exactly its entries", func(t *testing.T) {
		q, _ := loki.LineQuery(`{service_name=~".+"}`, TraceID)
		all := selectedByTrace(d.Entries)
		s, e := all[1000].Time, all[1500].Time // [s, e): 500 entries unless times repeat
		c := loki.New(srv.URL, srv.Client(), "")
		res, err := c.QueryRange(context.Background(), q, s, e, 5000)
		if err != nil {
			t.Fatal(err)
		}
		var want []model.LogEntry
		for _, x := range all {
			if !x.Time.Before(s) && x.Time.Before(e) {
				want = append(want, x)
			}
		}
		gotKeys, wantKeys := entryKeys(res.Entries), entryKeys(want)
		slices.Sort(gotKeys)
		slices.Sort(wantKeys)
		if !res.Categorized || !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("categorized %v, %d entries; want %d in [%s, %s)", res.Categorized, len(gotKeys), len(wantKeys), s, e)
		}
		if res.Streams < 2 {
			t.Errorf("%d result streams; the page spans several services", res.Streams)
		}
		// Metadata and stream labels come back as they went in.
		byKey := map[string]model.LogEntry{}
		for i, k := range entryKeys(want) {
			byKey[k] = want[i]
		}
		for i, k := range entryKeys(res.Entries) {
			g, w := res.Entries[i], byKey[k]
			if !slices.Equal(g.Metadata, sortedLabels(w.Metadata)) || !slices.Equal(g.Stream, w.Stream) {
				t.Fatalf("entry %d: stream %v metadata %v, want %v %v", i, g.Stream, g.Metadata, w.Stream, w.Metadata)
			}
		}
	})

	t.Run("limit over max_entries_limit_per_query", func(t *testing.T) {
		resp, err := http.Get(srv.URL + QueryRangePath + "?query=" + urlQuery(`{service_name=~".+"}`) + "&direction=forward&limit=5001&start=0&end=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("unknown LogQL is a 400", func(t *testing.T) {
		if _, err := fake.Selected(`{service_name=~".+"} | json`); err == nil {
			t.Error("a json stage was accepted")
		}
	})
}

func sortedLabels(ls model.Labels) model.Labels {
	out := slices.Clone(ls)
	slices.SortFunc(out, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func urlQuery(s string) string {
	r := strings.NewReplacer("{", "%7B", "}", "%7D", "\"", "%22", "~", "%7E", "+", "%2B", " ", "%20", "|", "%7C")
	return r.Replace(s)
}

func TestFakeTempo(t *testing.T) {
	d := Generate(Config{Spans: 50, Seed: 1})
	srv := httptest.NewServer(NewTempo(TraceID, d.TempoV2))
	t.Cleanup(srv.Close)
	c := tempo.New(srv.URL, srv.Client(), "")
	res, err := c.Trace(context.Background(), TraceID, time.Time{}, time.Time{})
	if err != nil || len(res.Trace.Spans) != 50 {
		t.Fatalf("trace: %v", err)
	}
	_, err = c.Trace(context.Background(), "0123456789abcdef0123456789abcdef", time.Time{}, time.Time{})
	if err == nil || !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("unknown id: %v, want not found", err)
	}
}

// BenchmarkDecodeFakePage decodes one full page of the fake Loki (5 000
// entries of the end-to-end benchmark's kind, with a real capture's stats)
// with the client's decoder and, as the naive baseline, with encoding/json
// into map[string]any, on the same bytes.
func BenchmarkDecodeFakePage(b *testing.B) {
	d := Generate(Config{Spans: 1000, LinesPerSpan: 10, Seed: 1})
	l := NewLoki(d.Entries, realStats(b))
	q, err := loki.LineQuery(`{service_name=~".+"}`, TraceID)
	if err != nil {
		b.Fatal(err)
	}
	sel, err := l.selectFor(q)
	if err != nil {
		b.Fatal(err)
	}
	body := l.page(sel[:DefaultMaxEntries])
	b.Run("tracegap", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			res, err := loki.DecodeQueryRange(body)
			if err != nil || len(res.Entries) != DefaultMaxEntries {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-map", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// realStats is data.stats of a real Loki v3.7.6 answer.
func realStats(tb testing.TB) []byte {
	var body struct {
		Data struct {
			Stats json.RawMessage `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal(fixtures.Load(tb, "loki/query_range_line_filter_categorized").Body, &body); err != nil || len(body.Data.Stats) == 0 {
		tb.Fatalf("stats of the real capture: %v", err)
	}
	return body.Data.Stats
}
