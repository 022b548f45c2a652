//go:build linux

package plugin

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// capturesStderr says captureStderr sees the SDK's own logging here.
const capturesStderr = true

// captureStderr points file descriptor 2 at a file until the test ends, so
// that logs written by loggers that hold os.Stderr (the SDK's hclog
// middleware) are captured too. Test results go to stdout, unaffected.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Dup3(saved, 2, 0)
		_ = syscall.Close(saved)
		_ = f.Close()
	})
	return func() string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}
