package frames

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	tests := []string{
		"", "plain", `quote " and \ backslash`, "new\nline\ttab\rreturn",
		"\x00\x01\x1f control", "héllo ✓ 日本", "line\u2028sep\u2029para",
		"bad utf8 \xff\xfe end", "<html> & ampersand",
	}
	for _, s := range tests {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendString(%q) = %s: invalid JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendString(%q) decodes to %q, encoding/json to %q", s, back, wantBack)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1.5, 1795624597123.4568, 1e-7, 1e20, 1e21, 123456789012345678901234.0, -2.5e-9} {
		got := appendFloat(nil, f)
		want, _ := json.Marshal(f)
		if !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, encoding/json %s", f, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if !json.Valid(appendFloat(nil, f)) {
			t.Errorf("appendFloat(%v) = %s is not valid JSON", f, appendFloat(nil, f))
		}
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, `null`},
		{"s", `"s"`},
		{true, `true`},
		{int64(-42), `-42`},
		{7, `7`},
		{2.5, `2.5`},
		{[]any{"a", int64(1)}, `"[\"a\",1]"`},
		{map[string]any{"k": "v"}, `"{\"k\":\"v\"}"`},
		{uint8(3), `"3"`},
	}
	for _, tc := range tests {
		if got := string(appendValue(nil, tc.in)); got != tc.want {
			t.Errorf("appendValue(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestArenaValuesDoNotAlias(t *testing.T) {
	var a arena
	x := a.keep([]byte(`"x"`))
	y := a.keep([]byte(`"y"`))
	_ = append(x, '!') // a reader appending must not overwrite y
	if string(y) != `"y"` {
		t.Errorf("y = %s after appending to x", y)
	}
	big := a.keep(bytes.Repeat([]byte("a"), arenaBlock))
	if len(big) != arenaBlock {
		t.Errorf("big value truncated to %d", len(big))
	}
}
