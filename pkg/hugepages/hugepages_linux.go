//go:build linux

package hugepages

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysfs holds the kernel's THP settings.
const sysfs = "/sys/kernel/mm/transparent_hugepage"

func advise(size int64, godebug string) (Result, error) {
	m, ok := eligible(godebug)
	r := Result{Mode: m}
	if !ok || size <= 0 {
		return r, nil
	}
	page, err := pageSize()
	if err != nil {
		return r, err
	}
	return adviseHeap(r, size, page)
}

func eligible(godebug string) (string, bool) {
	raw, err := os.ReadFile(sysfs + "/enabled")
	if err != nil {
		return "unsupported", false
	}
	m := mode(string(raw))
	return m, m == "madvise" && !thpDisabled(godebug) && roomy()
}

// roomy says whether reserving is harmless here: not on a 32-bit
// address space, where a few hundred megabytes are a large part of it, and
// not under strict overcommit (vm.overcommit_memory 2), where mapped
// memory is charged to the commit limit whether touched or not.
func roomy() bool {
	if unsafe.Sizeof(uintptr(0)) < 8 {
		return false
	}
	raw, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err != nil || strings.TrimSpace(string(raw)) != "2"
}

// pageSize is the kernel's huge page size (2 MiB on amd64, 512 MiB on
// arm64 with 64 KiB pages).
func pageSize() (int64, error) {
	raw, err := os.ReadFile(sysfs + "/hpage_pmd_size")
	if err != nil {
		return 0, fmt.Errorf("huge page size: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || n <= 0 || n&(n-1) != 0 {
		return 0, fmt.Errorf("huge page size: %q is not a power of two", raw)
	}
	return n, nil
}

// adviseHeap does the reservation: the whole huge pages inside a fresh
// allocation of size plus one page.
func adviseHeap(r Result, size, page int64) (Result, error) {
	n := size &^ (page - 1)
	if n <= 0 {
		return r, nil
	}
	b := make([]byte, n+page)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	off := int64((uintptr(page) - addr&uintptr(page-1)) & uintptr(page-1))
	err := unix.Madvise(b[off:off+n], unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	// Free the reservation now, and return it to the kernel so that the
	// runtime counts it as released memory (it was never touched), not as
	// heap it holds, which a memory limit would count.
	debug.FreeOSMemory()
	if err != nil {
		return r, fmt.Errorf("madvise(MADV_HUGEPAGE): %w", err)
	}
	r.Start, r.Size = addr+uintptr(off), n
	return r, nil
}
