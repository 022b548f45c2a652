package plugin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// recordingLogger keeps every log line the plugin writes through the SDK's
// log.DefaultLogger, arguments included, so a test can scan them.
type recordingLogger struct {
	mu    *sync.Mutex
	lines *[]string
	with  []any
}

func (l recordingLogger) rec(level, msg string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, fmt.Sprint(level, " ", msg, " ", fmt.Sprint(append(append([]any(nil), l.with...), args...)...)))
}

func (l recordingLogger) Debug(msg string, args ...any) { l.rec("debug", msg, args) }
func (l recordingLogger) Info(msg string, args ...any)  { l.rec("info", msg, args) }
func (l recordingLogger) Warn(msg string, args ...any)  { l.rec("warn", msg, args) }
func (l recordingLogger) Error(msg string, args ...any) { l.rec("error", msg, args) }
func (l recordingLogger) Level() log.Level              { return log.Debug }
func (l recordingLogger) With(args ...any) log.Logger {
	l.with = append(append([]any(nil), l.with...), args...)
	return l
}
func (l recordingLogger) FromContext(context.Context) log.Logger { return l }

// captureLogs records what the plugin logs until the test ends: everything
// written through log.DefaultLogger, and (where the platform allows) every
// byte written to the process's stderr, which is where the SDK's own
// request logging goes. It returns a function that reads all of it.
func captureLogs(t *testing.T) func() string {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	prev := log.DefaultLogger
	log.DefaultLogger = recordingLogger{mu: &mu, lines: &lines}
	t.Cleanup(func() { log.DefaultLogger = prev })
	readStderr := captureStderr(t)
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n") + "\n" + readStderr()
	}
}
