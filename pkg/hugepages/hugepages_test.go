package hugepages

import "testing"

func TestMode(t *testing.T) {
	for raw, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]\n": "never",
		"always madvise never\n":   "unsupported",
		"[]":                       "unsupported",
		"":                         "unsupported",
	} {
		if got := mode(raw); got != want {
			t.Errorf("mode(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestTHPDisabled(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                            false,
		"disablethp=1":                true,
		"gctrace=1,disablethp=1":      true,
		"gctrace=1, disablethp=1":     false, // the runtime does not trim keys
		"disablethp=1,disablethp=0":   false, // the last one counts
		"disablethp=0,disablethp=1":   true,
		"disablethp=1,disablethp=x":   true, // not a number: left as it was
		"disablethp=2":                true,
		"madvdontneed=1":              false,
		"xdisablethp=1,disablethp=01": true, // 01 is 1
	} {
		if got := thpDisabled(godebug); got != want {
			t.Errorf("thpDisabled(%q) = %v, want %v", godebug, got, want)
		}
	}
}
