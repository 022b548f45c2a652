//go:build linux

package hugepages

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAdviseHeapMarksTheRange checks, in the kernel's own account of the
// process's mappings, that the range advised is flagged for huge pages
// ("hg" in smaps' VmFlags) and that nothing of it became resident.
func TestAdviseHeapMarksTheRange(t *testing.T) {
	const page = 2 << 20
	r, err := adviseHeap(Result{Mode: "madvise"}, 16<<20+12345, page)
	if errors.Is(err, unix.EINVAL) {
		t.Skip("this kernel has no transparent huge pages")
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 16<<20 || r.Start%page != 0 {
		t.Fatalf("advised %d bytes at %#x; want 16 MiB at a 2 MiB boundary", r.Size, r.Start)
	}
	flags, rss := mapping(t, r.Start)
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("the mapping at %#x has VmFlags %q, without hg (MADV_HUGEPAGE)", r.Start, flags)
	}
	if rss > 4<<20 {
		t.Errorf("the mapping at %#x has %d KiB resident: the reservation was touched", r.Start, rss>>10)
	}
}

func TestAdviseOnlyInMadviseMode(t *testing.T) {
	// Less than one huge page: nothing to advise.
	for _, size := range []int64{0, -1, 1 << 20} {
		r, err := adviseHeap(Result{Mode: "madvise"}, size, 2<<20)
		if err != nil || r.Size != 0 {
			t.Errorf("size %d: %+v, %v; want nothing advised", size, r, err)
		}
	}
	if raw, err := os.ReadFile(sysfs + "/enabled"); err == nil && mode(string(raw)) != "madvise" {
		r, err := Advise(16<<20, "")
		if err != nil || r.Size != 0 {
			t.Errorf("mode %s: %+v, %v; want nothing advised", mode(string(raw)), r, err)
		}
	}
	r, err := Advise(16<<20, "disablethp=1")
	if err != nil || r.Size != 0 {
		t.Errorf("GODEBUG=disablethp=1: %+v, %v; want nothing advised", r, err)
	}
}

// mapping is the VmFlags and resident bytes of the mapping holding addr.
func mapping(t *testing.T, addr uintptr) (flags string, rss int64) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && strings.Contains(line[:strings.IndexByte(line, ' ')], "-") {
			if in {
				break
			}
			in = lo <= addr && addr < hi
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			flags = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &rss)
			rss <<= 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if flags == "" {
		t.Fatalf("no mapping holds %#x", addr)
	}
	return flags, rss
}
