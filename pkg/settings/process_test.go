package settings

import (
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    int64
		set     bool
		errPart string
	}{
		{nil, 0, false, ""},
		{map[string]string{MemoryLimitEnv: "512MiB"}, 512 << 20, true, ""},
		{map[string]string{MemoryLimitEnv: " 2GiB "}, 2 << 30, true, ""},
		{map[string]string{MemoryLimitEnv: "1048576"}, 1 << 20, true, ""},
		{map[string]string{MemoryLimitEnv: "300 KiB"}, 300 << 10, true, ""},
		// GOMEMLIMIT wins: the runtime has applied it already.
		{map[string]string{MemoryLimitEnv: "512MiB", "GOMEMLIMIT": "1GiB"}, 0, false, ""},
		{map[string]string{MemoryLimitEnv: "512MB"}, 0, false, "not a whole number"},
		{map[string]string{MemoryLimitEnv: "0"}, 0, false, "not more than zero"},
		{map[string]string{MemoryLimitEnv: "9999999TiB"}, 0, false, "too large"},
	}
	for _, tc := range tests {
		n, set, err := MemoryLimit(func(k string) string { return tc.env[k] })
		if n != tc.want || set != tc.set || (err == nil) != (tc.errPart == "") || (err != nil && !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("%v: %d %v %v; want %d %v %q", tc.env, n, set, err, tc.want, tc.set, tc.errPart)
		}
		if err != nil && !strings.Contains(err.Error(), "memory_limit") {
			t.Errorf("%v: the error %q does not name the setting", tc.env, err)
		}
	}
}

func TestHugePages(t *testing.T) {
	tests := []struct {
		raw     string
		want    int64
		errPart string
	}{
		{"", DefaultHugePages, ""},
		{"256MiB", 256 << 20, ""},
		{" 1GiB ", 1 << 30, ""},
		{"0", 0, ""},
		{"off", 0, ""},
		{"false", 0, ""},
		{"0B", 0, ""},
		{"256MB", 0, "not a whole number"},
		{"-1MiB", 0, "not more than zero"},
		{"9999999TiB", 0, "too large"},
	}
	for _, tc := range tests {
		n, err := HugePages(func(k string) string {
			if k == HugePagesEnv {
				return tc.raw
			}
			return ""
		})
		if n != tc.want || (err == nil) != (tc.errPart == "") || (err != nil && !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("%q: %d %v; want %d %q", tc.raw, n, err, tc.want, tc.errPart)
		}
		if err != nil && !strings.Contains(err.Error(), "huge_pages") {
			t.Errorf("%q: the error %q does not name the setting", tc.raw, err)
		}
	}
}
