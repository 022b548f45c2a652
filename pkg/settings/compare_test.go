package settings

import (
	"strings"
	"testing"
)

func TestCompareByDefault(t *testing.T) {
	for _, tc := range []struct {
		jsonData map[string]any
		want     bool
	}{
		{with(nil), false},
		{with(map[string]any{"compareByDefault": true}), true},
		{with(map[string]any{"compareByDefault": false}), false},
	} {
		s, err := Load(instance(t, tc.jsonData, nil))
		if err != nil || s.CompareByDefault != tc.want {
			t.Errorf("%v: CompareByDefault %v (err %v), want %v", tc.jsonData, s != nil && s.CompareByDefault, err, tc.want)
		}
	}
	_, err := Load(instance(t, with(map[string]any{"compareByDefault": "yes"}), nil))
	if err == nil || !strings.Contains(err.Error(), "compareByDefault") || !strings.Contains(err.Error(), "true/false") {
		t.Errorf("a string where a bool belongs: %v", err)
	}
}
