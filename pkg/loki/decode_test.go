package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tracegap/correlator/pkg/model"
)

// fixturesDir holds the real captures, copied into the repository unchanged
// (pkg/internal/fixtures/testdata/real, with its README).
const fixturesDir = "../internal/fixtures/testdata/real"

const seedTraceID = "0af7651916cd43dd8448eb211c80319c"

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, rel))
	if err != nil {
		t.Fatalf("read capture %s: %v", rel, err)
	}
	return b
}

// queryRangeCaptures lists every query_range JSON capture.
func queryRangeCaptures(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, pat := range []string{"loki/query_range_*.json", "loki/auth_query_range_*.json"} {
		m, err := filepath.Glob(filepath.Join(fixturesDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if !strings.HasSuffix(p, ".meta.json") {
				names = append(names, "loki/"+filepath.Base(p))
			}
		}
	}
	if len(names) < 13 {
		t.Fatalf("found only %d query_range captures under %s", len(names), fixturesDir)
	}
	return names
}

type scenarioLog struct {
	Service            string            `json:"service"`
	TsUnixNano         string            `json:"tsUnixNano"`
	TraceID            string            `json:"traceId"`
	SpanID             string            `json:"spanId"`
	Level              string            `json:"level"`
	Format             string            `json:"format"`
	Line               string            `json:"line"`
	StructuredMetadata map[string]string `json:"structuredMetadata"`
}

func scenarioLogs(t testing.TB) []scenarioLog {
	t.Helper()
	var sc struct {
		Logs []scenarioLog `json:"logs"`
	}
	if err := json.Unmarshal(readFixture(t, "scenario.json"), &sc); err != nil {
		t.Fatal(err)
	}
	return sc.Logs
}

func TestDecodeQueryRangeCaptures(t *testing.T) {
	logs := scenarioLogs(t)
	pushed := map[string]scenarioLog{} // by ts + line
	for _, l := range logs {
		pushed[l.TsUnixNano+"\x00"+l.Line] = l
	}
	cases := []struct {
		file        string
		categorized bool
		entries     int
		streams     int
		parsed      bool // a parser stage ran
	}{
		{"query_range_line_filter.json", false, 21, 7, false},
		{"query_range_line_filter_categorized.json", true, 21, 5, false},
		{"query_range_json_filter.json", false, 20, 20, true},
		{"query_range_json_filter_categorized.json", true, 20, 4, true},
		{"query_range_structured_metadata.json", false, 21, 7, false},
		{"query_range_structured_metadata_categorized.json", true, 21, 5, false},
		{"query_range_json_parse_all.json", false, 21, 21, true},
		{"query_range_json_parse_all_categorized.json", true, 21, 5, true},
		{"auth_query_range_with_org_id.json", false, 21, 7, false},
		{"auth_query_range_with_org_id_categorized.json", true, 21, 5, false},
		{"auth_query_range_fake_tenant.json", false, 21, 7, false},
		{"auth_query_range_other_tenant.json", false, 0, 0, false},
		{"query_range_logfmt_categorized.json", true, 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res, err := DecodeQueryRange(readFixture(t, "loki/"+tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if res.Categorized != tc.categorized || len(res.Entries) != tc.entries || res.Streams != tc.streams {
				t.Fatalf("categorized %v, %d entries in %d streams; want %v, %d in %d",
					res.Categorized, len(res.Entries), res.Streams, tc.categorized, tc.entries, tc.streams)
			}
			if tc.entries == 0 {
				if !res.First.IsZero() || !res.Last.IsZero() {
					t.Errorf("First/Last = %v/%v without entries", res.First, res.Last)
				}
				return
			}
			var first, last time.Time
			for i, e := range res.Entries {
				if i == 0 || e.Time.Before(first) {
					first = e.Time
				}
				if e.Time.After(last) {
					last = e.Time
				}
				p, ok := pushed[strconv.FormatInt(e.Time.UnixNano(), 10)+"\x00"+e.Line]
				if !ok {
					t.Fatalf("entry %d (%v %q) is not a pushed line at its time", i, e.Time, e.Line)
				}
				if p.TraceID != seedTraceID {
					t.Errorf("entry %d belongs to trace %s", i, p.TraceID)
				}
				// Where each label lives depends on the shape.
				meta, stream := e.Metadata, e.Stream
				if !tc.categorized {
					if e.Metadata != nil || e.Parsed != nil {
						t.Errorf("entry %d: merged shape has Metadata %v Parsed %v", i, e.Metadata, e.Parsed)
					}
					meta = stream
				} else if len(stream) != 1 || stream[0].Name != "service_name" {
					t.Errorf("entry %d: categorized stream = %v, want only service_name", i, stream)
				}
				if v, _ := stream.Get("service_name"); v != p.Service {
					t.Errorf("entry %d: service_name %q, want %q", i, v, p.Service)
				}
				for k, want := range p.StructuredMetadata {
					if got, _ := meta.Get(k); got != want {
						t.Errorf("entry %d: %s = %q, want %q (labels %v)", i, k, got, want, meta)
					}
				}
				if lvl, ok := meta.Get("detected_level"); !ok || lvl != strings.ToLower(p.Level) {
					t.Errorf("entry %d: detected_level = %q (%v), want %q", i, lvl, ok, strings.ToLower(p.Level))
				}
				if tc.categorized && tc.parsed && len(e.Parsed) == 0 {
					t.Errorf("entry %d: no parsed labels although a parser ran", i)
				}
				if tc.categorized && !tc.parsed && e.Parsed != nil {
					t.Errorf("entry %d: parsed labels %v without a parser", i, e.Parsed)
				}
				if !slices.IsSortedFunc(stream, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) }) {
					t.Errorf("entry %d: stream labels not sorted: %v", i, stream)
				}
			}
			if !res.First.Equal(first) || !res.Last.Equal(last) {
				t.Errorf("First/Last = %v/%v, want %v/%v", res.First, res.Last, first, last)
			}
		})
	}
}

func TestDecodeQueryRangeParsedErrors(t *testing.T) {
	// The logfmt line fails | json: Loki labels it with __error__, which the
	// categorized shape puts in parsed and the merged one in stream.
	for _, tc := range []struct {
		file  string
		where func(model.LogEntry) model.Labels
	}{
		{"query_range_json_parse_all_categorized.json", func(e model.LogEntry) model.Labels { return e.Parsed }},
		{"query_range_json_parse_all.json", func(e model.LogEntry) model.Labels { return e.Stream }},
	} {
		res, err := DecodeQueryRange(readFixture(t, "loki/"+tc.file))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range res.Entries {
			if v, ok := tc.where(e).Get("__error__"); ok {
				n++
				if v != "JSONParserErr" || !strings.HasPrefix(e.Line, "ts=") {
					t.Errorf("%s: __error__=%q on %q", tc.file, v, e.Line)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d entries with __error__, want 1", tc.file, n)
		}
	}
	res, err := DecodeQueryRange(readFixture(t, "loki/query_range_logfmt_categorized.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.Entries[0].Parsed.Get("trace_id_extracted"); v != seedTraceID {
		t.Errorf("logfmt trace_id_extracted = %q; parsed %v", v, res.Entries[0].Parsed)
	}
}

// TestDecodeQueryRangeSharesLabels checks that entries of one stream share
// one Stream slice, and runs of equal metadata one Metadata slice.
func TestDecodeQueryRangeSharesLabels(t *testing.T) {
	res, err := DecodeQueryRange(readFixture(t, "loki/query_range_line_filter_categorized.json"))
	if err != nil {
		t.Fatal(err)
	}
	sameStream, sameMeta := 0, 0
	for i := 1; i < len(res.Entries); i++ {
		a, b := res.Entries[i-1], res.Entries[i]
		if slices.Equal(a.Stream, b.Stream) {
			if &a.Stream[0] != &b.Stream[0] {
				t.Fatalf("entries %d and %d of one stream have separate label slices", i-1, i)
			}
			sameStream++
		}
		if slices.Equal(a.Metadata, b.Metadata) && &a.Metadata[0] == &b.Metadata[0] {
			sameMeta++
		}
	}
	if sameStream != 16 { // 21 entries in 5 streams
		t.Errorf("%d neighbouring pairs share a stream, want 16", sameStream)
	}
	if sameMeta == 0 {
		t.Error("no metadata slice is shared between equal neighbours")
	}
}

// TestDecodeQueryRangeSharesEqualMetadata checks that equal metadata
// shares one slice even when other entries come between (the lines of one
// span, interleaved with other spans' lines), that unequal metadata never
// does, and that sharing changes no value.
func TestDecodeQueryRangeSharesEqualMetadata(t *testing.T) {
	meta := func(level, span string) string {
		return `{"structuredMetadata":{"detected_level":"` + level + `","span_id":"` + span + `","trace_id":"0af7651916cd43dd8448eb211c80319c"}}`
	}
	body := `{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[` +
		`{"stream":{"service_name":"api"},"values":[` +
		`["1700000000000000001","a1 first",` + meta("info", "00000000000000a1") + `],` +
		`["1700000000000000002","a2 first",` + meta("info", "00000000000000a2") + `],` +
		`["1700000000000000003","a1 second",` + meta("info", "00000000000000a1") + `],` +
		`["1700000000000000004","a1 warn",` + meta("warn", "00000000000000a1") + `]]},` +
		`{"stream":{"service_name":"db"},"values":[` +
		`["1700000000000000005","a2 in another stream",` + meta("info", "00000000000000a2") + `]]}]}}`
	res, err := DecodeQueryRange([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 5 {
		t.Fatalf("%d entries, want 5", len(res.Entries))
	}
	want := []struct{ level, span string }{{"info", "00000000000000a1"}, {"info", "00000000000000a2"}, {"info", "00000000000000a1"}, {"warn", "00000000000000a1"}, {"info", "00000000000000a2"}}
	for i, w := range want {
		m := res.Entries[i].Metadata
		if lv, _ := m.Get("detected_level"); lv != w.level {
			t.Errorf("entry %d: level %q, want %q", i, lv, w.level)
		}
		if sp, _ := m.Get("span_id"); sp != w.span || len(m) != 3 {
			t.Errorf("entry %d: metadata %v, want span %s and three labels", i, m, w.span)
		}
	}
	same := func(i, j int) bool { return &res.Entries[i].Metadata[0] == &res.Entries[j].Metadata[0] }
	if !same(0, 2) || !same(1, 4) {
		t.Error("equal metadata with other entries between them (or in another stream) is not shared")
	}
	if same(0, 1) || same(0, 3) || same(1, 2) {
		t.Error("unequal metadata shares a slice")
	}
	if m := res.Entries[0].Metadata; cap(m) != len(m) {
		t.Errorf("a shared slice has room to grow (len %d, cap %d): an append would write into another entry's metadata", len(m), cap(m))
	}
}

func TestDecodeQueryRangeEdgeCases(t *testing.T) {
	ok := []struct {
		name string
		body string
		want []model.LogEntry
	}{
		{"values before stream, escapes, unsorted labels",
			`{"data":{"result":[{"values":[["5","a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x",{"parsed":{"z":"1","a":"2"},"other":[1,{"x":null}]}]],"stream":{"b":"2","a":"1"}}],"resultType":"streams"},"status":"success"}`,
			[]model.LogEntry{{Time: time.Unix(0, 5).UTC(), Line: "a\"b\\c/\né😀\uFFFDx",
				Stream: model.Labels{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}},
				Parsed: model.Labels{{Name: "a", Value: "2"}, {Name: "z", Value: "1"}}}}},
		{"white space everywhere",
			" { \"status\" : \"success\" , \"data\" : { \"resultType\" : \"streams\" , \"result\" : [ { \"stream\" : { } , \"values\" : [ [ \"0\" , \"\" ] ] } ] } } \n",
			[]model.LogEntry{{Time: time.Unix(0, 0).UTC()}}},
		{"empty result", `{"status":"success","data":{"resultType":"streams","result":[]}}`, nil},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			res, err := DecodeQueryRange([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != len(tc.want) || (len(tc.want) > 0 && !reflect.DeepEqual(res.Entries, tc.want)) {
				t.Errorf("got %#v\nwant %#v", res.Entries, tc.want)
			}
		})
	}

	bad := []struct {
		name, body, want string
	}{
		{"empty body", "", "body is empty"},
		{"metric query", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "not a metric query"},
		{"error envelope", `{"status":"error","errorType":"bad_data","error":"parse error at line 1"}`, "Loki query failed: parse error at line 1"},
		{"no data", `{"status":"success"}`, `no "data" member`},
		{"not JSON", `<html>502 Bad Gateway</html>`, `expected '{' in response, found '<' at byte 0`},
		{"number timestamp", `{"data":{"result":[{"values":[[5,"x"]]}]}}`, "expected '\"' in timestamp"},
		{"signed timestamp", `{"data":{"result":[{"values":[["-5","x"]]}]}}`, "decimal nanoseconds"},
		{"huge timestamp", `{"data":{"result":[{"values":[["99999999999999999999","x"]]}]}}`, "does not fit"},
		{"number label", `{"data":{"result":[{"stream":{"a":1}}]}}`, `label "a" in stream labels must have a string value`},
		{"bad escape", `{"data":{"result":[{"values":[["1","\x"]]}]}}`, `invalid escape \x in log line`},
		{"four elements", `{"data":{"result":[{"values":[["1","x",{},{}]]}]}}`, `expected ']' in value`},
		{"trailing data", `{"data":{}} {}`, "unexpected data after the response"},
		{"missing comma", `{"data":{"result":[{"values":[["1" "x"]]}]}}`, `expected ',' in value, found '"'`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			res, err := DecodeQueryRange([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (result %+v), want it to contain %q", err, res, tc.want)
			}
		})
	}
}

// TestDecodeQueryRangeTruncated cuts every capture at many points: each cut
// must be an error that says the input ended (never a panic, never success).
func TestDecodeQueryRangeTruncated(t *testing.T) {
	for _, name := range queryRangeCaptures(t) {
		body := readFixture(t, name)
		body = bytes.TrimSpace(body)
		for cut := 1; cut < len(body); cut += 1 + cut/40 {
			res, err := DecodeQueryRange(body[:cut])
			if err == nil {
				t.Fatalf("%s cut at %d/%d decoded to %d entries", name, cut, len(body), len(res.Entries))
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "truncated") {
				// A cut can land right after a complete value inside a
				// number in stats; it still has to be a syntax error.
				if !errors.As(err, &se) {
					t.Fatalf("%s cut at %d: %v is not a *SyntaxError", name, cut, err)
				}
			}
		}
	}
}

func TestDecodeQueryRangeMatchesEncodingJSON(t *testing.T) {
	for _, name := range queryRangeCaptures(t) {
		body := readFixture(t, name)
		compareWithReference(t, name, body)
	}
	for _, categorized := range []bool{false, true} {
		body := syntheticQueryRange(300, 7, categorized)
		compareWithReference(t, fmt.Sprintf("synthetic categorized=%v", categorized), body)
	}
}

func compareWithReference(t *testing.T, name string, body []byte) {
	t.Helper()
	want, wantErr := referenceDecode(body)
	got, err := DecodeQueryRange(body)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: err = %v, reference err = %v", name, err, wantErr)
	}
	if err != nil {
		return
	}
	if len(got.Entries) != len(want) {
		t.Fatalf("%s: %d entries, reference %d", name, len(got.Entries), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got.Entries[i], want[i]) {
			t.Fatalf("%s: entry %d\n got %#v\nwant %#v", name, i, got.Entries[i], want[i])
		}
	}
}

// referenceDecode is the slow obvious decoder: encoding/json into generic
// values, mapped with the rules DecodeQueryRange documents.
func referenceDecode(body []byte) ([]model.LogEntry, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("top level is not an object")
	}
	if s, ok := top["status"]; ok {
		str, ok := s.(string)
		if !ok {
			return nil, errors.New("status not a string")
		}
		if e, ok := top["error"]; ok {
			if _, ok := e.(string); !ok {
				return nil, errors.New("error not a string")
			}
		}
		if str != "" && str != "success" {
			return nil, errors.New("status " + str)
		}
	} else if e, ok := top["error"]; ok {
		if _, ok := e.(string); !ok {
			return nil, errors.New("error not a string")
		}
	}
	dv, ok := top["data"]
	if !ok {
		return nil, errors.New("no data")
	}
	data, ok := dv.(map[string]any)
	if !ok {
		return nil, errors.New("data not an object")
	}
	if rt, ok := data["resultType"]; ok && rt != "streams" {
		return nil, errors.New("resultType")
	}
	if fl, ok := data["encodingFlags"]; ok {
		arr, ok := fl.([]any)
		if !ok {
			return nil, errors.New("encodingFlags")
		}
		for _, f := range arr {
			if _, ok := f.(string); !ok {
				return nil, errors.New("encodingFlags element")
			}
		}
	}
	rv, ok := data["result"]
	if !ok {
		return nil, nil
	}
	streams, ok := rv.([]any)
	if !ok {
		return nil, errors.New("result not an array")
	}
	var out []model.LogEntry
	labels := func(v any) (model.Labels, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("labels not an object")
		}
		var ls model.Labels
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New("label value not a string")
			}
			ls = append(ls, model.Label{Name: k, Value: s})
		}
		slices.SortFunc(ls, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) })
		return ls, nil
	}
	for _, sv := range streams {
		s, ok := sv.(map[string]any)
		if !ok {
			return nil, errors.New("stream not an object")
		}
		var stream model.Labels
		if lv, ok := s["stream"]; ok {
			var err error
			if stream, err = labels(lv); err != nil {
				return nil, err
			}
		}
		vv, ok := s["values"]
		if !ok {
			continue
		}
		vals, ok := vv.([]any)
		if !ok {
			return nil, errors.New("values not an array")
		}
		for _, v := range vals {
			tuple, ok := v.([]any)
			if !ok || len(tuple) < 2 || len(tuple) > 3 {
				return nil, errors.New("bad value")
			}
			ts, ok := tuple[0].(string)
			if !ok || ts == "" || strings.Trim(ts, "0123456789") != "" {
				return nil, errors.New("bad ts")
			}
			n, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return nil, err
			}
			line, ok := tuple[1].(string)
			if !ok {
				return nil, errors.New("bad line")
			}
			e := model.LogEntry{Time: time.Unix(0, n).UTC(), Line: line, Stream: stream}
			if len(tuple) == 3 {
				m, ok := tuple[2].(map[string]any)
				if !ok {
					return nil, errors.New("bad meta")
				}
				if sm, ok := m["structuredMetadata"]; ok {
					if e.Metadata, err = labels(sm); err != nil {
						return nil, err
					}
				}
				if p, ok := m["parsed"]; ok {
					if e.Parsed, err = labels(p); err != nil {
						return nil, err
					}
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// hasDuplicateKeys reports whether any object in a valid JSON document
// repeats a key: generic maps keep the last, the scanner may keep both.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{obj: v == '{', keys: map[string]bool{}, expKey: true})
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			if top != nil && top.obj {
				if top.expKey {
					k := v.(string)
					if top.keys[k] {
						return true
					}
					top.keys[k] = true
					top.expKey = false
				} else {
					top.expKey = true
				}
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	cases := map[string]string{
		"loki/query_range_bad_logql.txt":           "parse error at line 1, col 25: syntax error: unexpected $end, expecting STRING or ip",
		"loki/query_range_limit_too_high.txt":      "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)",
		"loki/query_range_time_range_too_long.txt": "the query time range exceeds the limit (query length: 768h5m0s, limit: 30d1h)",
		"loki/auth_query_range_missing_org_id.txt": "no org id",
	}
	for file, want := range cases {
		if got := ErrorText(readFixture(t, file)); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if got := ErrorText([]byte(`{"status":"error","errorType":"bad_data","error":"boom"}`)); got != "boom" {
		t.Errorf("JSON envelope: %q", got)
	}
	if got := ErrorText([]byte("{not json\n")); got != "{not json" {
		t.Errorf("broken JSON: %q", got)
	}
}

func FuzzDecodeQueryRange(f *testing.F) {
	for _, name := range queryRangeCaptures(f) {
		f.Add(readFixture(f, name))
	}
	f.Add(syntheticQueryRange(3, 2, true))
	f.Add([]byte(`{"data":{"result":[{"values":[["5","a\"\u00e9\ud83d\ude00",{"parsed":{"z":"1","a":"2"}}]],"stream":{"b":"2","a":"1"}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := DecodeQueryRange(b)
		if err == nil {
			if len(res.Entries) > 0 && res.First.After(res.Last) {
				t.Fatalf("First %v after Last %v", res.First, res.Last)
			}
		}
		// Differential check where generic decoding means the same thing.
		if !json.Valid(b) || !utf8.Valid(b) || hasDuplicateKeys(b) {
			return
		}
		want, wantErr := referenceDecode(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("err = %v, reference err = %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(nilIfEmpty(res.Entries), nilIfEmpty(want)) {
			t.Fatalf("entries differ from the reference:\n got %#v\nwant %#v", res.Entries, want)
		}
	})
}

func nilIfEmpty(es []model.LogEntry) []model.LogEntry {
	if len(es) == 0 {
		return nil
	}
	return es
}

// syntheticQueryRange writes a deterministic query_range answer shaped like
// Loki's: entries JSON log lines spread over streams, categorized or merged,
// with a stats block like the captures'.
func syntheticQueryRange(entries, streams int, categorized bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"streams",`)
	if categorized {
		b.WriteString(`"encodingFlags":["categorize-labels"],`)
	}
	b.WriteString(`"result":[`)
	base := int64(1795624597000000000)
	levels := []string{"info", "warn", "debug", "error"}
	perStream := (entries + streams - 1) / streams
	n := 0
	for s := 0; s < streams && n < entries; s++ {
		if s > 0 {
			b.WriteByte(',')
		}
		svc := fmt.Sprintf("service-%02d", s)
		lvl := levels[s%len(levels)]
		span := fmt.Sprintf("%016x", 0xa0+s)
		fmt.Fprintf(&b, `{"stream":{`)
		if !categorized {
			fmt.Fprintf(&b, `"detected_level":%q,`, lvl)
		}
		fmt.Fprintf(&b, `"service_name":%q`, svc)
		if !categorized {
			fmt.Fprintf(&b, `,"span_id":%q,"trace_id":%q`, span, seedTraceID)
		}
		b.WriteString(`},"values":[`)
		for i := 0; i < perStream && n < entries; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			ts := base + int64(n)*1_000_003
			line := fmt.Sprintf(`{"timestamp":"%s","level":"%s","message":"request %d handled by %s: fetched %d rows from the database in %d ms","traceId":"%s","spanId":"%s","duration_ms":%d}`,
				time.Unix(0, ts).UTC().Format("2006-01-02T15:04:05.000Z"), strings.ToUpper(lvl), n, svc, n%97, n%13, seedTraceID, span, n%13)
			q, _ := json.Marshal(line)
			fmt.Fprintf(&b, `["%d",%s`, ts, q)
			if categorized {
				fmt.Fprintf(&b, `,{"structuredMetadata":{"detected_level":%q,"span_id":%q,"trace_id":%q}}`, lvl, span, seedTraceID)
			}
			b.WriteByte(']')
			n++
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"stats":{"summary":{"bytesProcessedPerSecond":341999,"linesProcessedPerSecond":1648,"totalBytesProcessed":5186,"totalLinesProcessed":25,"execTime":0.015164,"queueTime":0.000605,"subqueries":0,"totalEntriesReturned":21,"splits":0,"shards":1},"querier":{"store":{"totalChunksRef":0,"chunk":{"headChunkBytes":0,"decompressedBytes":0}}},"ingester":{"totalReached":1,"store":{"chunk":{"headChunkBytes":5186}}},"cache":{"chunk":{"entriesFound":0},"index":{"entriesFound":0}}}}}`)
	return b.Bytes()
}

func BenchmarkDecodeQueryRange(b *testing.B) {
	inputs := []struct {
		name string
		body []byte
	}{
		{"synthetic-5000-categorized", syntheticQueryRange(5000, 8, true)},
		{"synthetic-5000-merged", syntheticQueryRange(5000, 8, false)},
		{"capture-line-filter-categorized", readFixture(b, "loki/query_range_line_filter_categorized.json")},
	}
	for _, in := range inputs {
		b.Run(in.name+"/tracegap", func(b *testing.B) {
			b.SetBytes(int64(len(in.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeQueryRange(in.body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/encoding-json-map", func(b *testing.B) {
			b.SetBytes(int64(len(in.body)))
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(in.body, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
