// Package hugepages asks Linux to back the first part of the plugin
// process's heap with transparent huge pages (THP).
//
// A big trace's query touches a hundred megabytes of heap that the process
// has never used, and each 4 KiB page's first touch is a page fault. On a
// virtual machine a fault costs several microseconds (8 µs on the one
// BENCHMARKS.md was measured on: a third of the 10 000-span query's CPU
// went to them); a 2 MiB huge page takes one fault where 4 KiB pages take
// 512. Go's runtime leaves its heap to the system's THP mode: "always"
// (RHEL's default) gives it huge pages, "madvise" (Debian's and Ubuntu's)
// gives it none unless asked. This package asks, for a bounded part.
package hugepages

import (
	"strconv"
	"strings"
)

// Result says what Advise found and did.
type Result struct {
	// Mode is the system's THP mode ("always", "madvise", "never"), or
	// "unsupported" when the kernel has none.
	Mode string
	// Start and Size are the heap range advised (Size 0: none).
	Start uintptr
	Size  int64
}

// Advise reserves size bytes of fresh heap, advises them for huge pages
// and gives them back to the heap, whose next allocations take them first
// (Go's page allocator fills the lowest free addresses). Nothing is
// touched, so the resident memory does not grow until the heap is used;
// when it is, each 2 MiB is one fault. It does nothing unless the mode is
// "madvise" (with "always" the heap has huge pages already; "never" is the
// operator's choice), when GODEBUG has disablethp=1, the runtime's own
// switch to keep huge pages off the heap, on 32-bit platforms and under
// strict overcommit (see roomy, and Eligible, which says all of it). Call
// it once, at start-up, while the heap is small: a reservation that the
// heap could serve from memory it had used would be cleared, touching
// every page.
func Advise(size int64, godebug string) (Result, error) {
	return advise(size, godebug)
}

// Eligible reports the system's THP mode and whether Advise would reserve
// here with this GODEBUG (any size of at least one huge page): the mode is
// "madvise", GODEBUG does not set disablethp, and roomy holds.
func Eligible(godebug string) (mode string, ok bool) { return eligible(godebug) }

// mode reads the sysfs "enabled" file, which brackets the mode in force:
// "always [madvise] never".
func mode(enabled string) string {
	_, rest, ok := strings.Cut(enabled, "[")
	if !ok {
		return "unsupported"
	}
	m, _, ok := strings.Cut(rest, "]")
	if !ok || m == "" {
		return "unsupported"
	}
	return m
}

// thpDisabled says whether GODEBUG sets disablethp to a non-zero number,
// read as the runtime reads it at start-up: fields split at commas, the
// key exactly as written, the value a 32-bit integer (one that is not
// leaves the setting as it was), the last one written counting.
func thpDisabled(godebug string) bool {
	off := false
	for kv := range strings.SplitSeq(godebug, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "disablethp" {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				off = n != 0
			}
		}
	}
	return off
}
