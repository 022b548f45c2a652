package settings

import (
	"fmt"
	"strconv"
	"strings"
)

// MemoryLimitEnv is the plugin process's soft memory limit, as Grafana
// passes it: the key memory_limit of the plugin's own section in
// grafana.ini,
//
//	[plugin.tracegap-correlator-datasource]
//	memory_limit = 512MiB
//
// reaches the plugin as this environment variable (Grafana hands every key
// of a [plugin.<id>] section to the plugin as GF_PLUGIN_<KEY>). It is a
// process setting, not a data source one: every data source instance shares
// the process. Go's own GOMEMLIMIT, when the plugin's environment has it,
// takes precedence.
const MemoryLimitEnv = "GF_PLUGIN_MEMORY_LIMIT"

// MemoryLimit reads the soft memory limit from the environment (getenv is
// os.Getenv): the bytes, whether one is to be set, and what is wrong with a
// value that cannot be read. The value is written as GOMEMLIMIT is: a whole
// number of bytes with an optional unit B, KiB, MiB, GiB or TiB. With
// GOMEMLIMIT set the runtime already applies it, so nothing is to be set.
func MemoryLimit(getenv func(string) string) (int64, bool, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false, nil
	}
	raw := strings.TrimSpace(getenv(MemoryLimitEnv))
	if raw == "" {
		return 0, false, nil
	}
	n, err := parseBytes(raw)
	if err != nil {
		return 0, false, fmt.Errorf("%s=%q is not a memory size (%v); write it as GOMEMLIMIT is, e.g. 512MiB, in memory_limit of the [plugin.tracegap-correlator-datasource] section of grafana.ini", MemoryLimitEnv, raw, err)
	}
	return n, true, nil
}

// HugePagesEnv is how much of the plugin process's heap may be backed by
// transparent huge pages on a Linux host whose THP mode is "madvise" (the
// default of Debian and Ubuntu; "always", RHEL's default, gives every heap
// huge pages already): the key huge_pages of the plugin's grafana.ini
// section, as memory_limit is,
//
//	[plugin.tracegap-correlator-datasource]
//	huge_pages = 128MiB
//
// A big trace's analysis touches a hundred megabytes of fresh heap; on
// virtual machines each 4 KiB page's first touch is a costly fault (8 µs
// measured on the benchmark's VM: a third of the query's CPU), which a
// 2 MiB page makes once per 512. 0 turns it off.
const HugePagesEnv = "GF_PLUGIN_HUGE_PAGES"

// DefaultHugePages is the heap huge_pages advises when it is not set. Of
// 0, 128 and 256 MiB, interleaved over five rounds of the 10 000-span
// benchmark query (BENCHMARKS.md run 7): 943, 535 and 455 ms, RSS growth
// 3.61×, 3.75× and 4.02× the bytes fetched. 256 MiB is faster, but the
// 2 MiB pages its wider range fills partly take the RSS past the 4× bound;
// 128 MiB keeps most of the gain within it. After a big query the kernel's
// khugepaged may fill huge pages whose 4 KiB pages the runtime had
// returned, so up to this much more can stay resident.
const DefaultHugePages = 128 << 20

// HugePages reads huge_pages from the environment (getenv is os.Getenv):
// the bytes of heap to advise for huge pages (0: none), or what is wrong
// with a value that cannot be read.
func HugePages(getenv func(string) string) (int64, error) {
	raw := strings.TrimSpace(getenv(HugePagesEnv))
	switch raw {
	case "":
		return DefaultHugePages, nil
	case "0", "0B", "off", "false":
		return 0, nil
	}
	n, err := parseBytes(raw)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a memory size (%v); write it as memory_limit is, e.g. 128MiB, or 0 for none, in huge_pages of the [plugin.tracegap-correlator-datasource] section of grafana.ini", HugePagesEnv, raw, err)
	}
	return n, nil
}

func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = strings.TrimSpace(v), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("not a whole number with an optional unit B, KiB, MiB, GiB or TiB")
	case n <= 0:
		return 0, fmt.Errorf("not more than zero")
	case n > (1<<63-1)>>shift:
		return 0, fmt.Errorf("too large")
	}
	return n << shift, nil
}
