//go:build !linux

package plugin

import "testing"

// capturesStderr says captureStderr sees nothing on this platform.
const capturesStderr = false

// captureStderr captures nothing here: redirecting a file descriptor is
// done on Linux only (CI). The plugin's own logs are still captured
// through log.DefaultLogger.
func captureStderr(*testing.T) func() string { return func() string { return "" } }
