package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: Run must
// return with nothing of its own still running after a cancel.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
