package httpx

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy bounds how a 429 is tried again. The budget is small on
// purpose: a panel should answer in seconds, and an upstream that is
// shedding load must not get more of it from us.
type retryPolicy struct {
	// MaxRetries is how many times one GET is sent again.
	MaxRetries int
	// MaxWait is the longest single wait; a Retry-After above it is not
	// waited for (the error says what the upstream asked).
	MaxWait time.Duration
	// MaxTotal bounds all waits of one GET together.
	MaxTotal time.Duration
	// Backoff is the first wait when the upstream sends no Retry-After;
	// it doubles for each further retry.
	Backoff time.Duration
}

// defaultRetryPolicy: at most 2 retries and 5 s of waiting per request.
var defaultRetryPolicy = retryPolicy{MaxRetries: 2, MaxWait: 3 * time.Second, MaxTotal: 5 * time.Second, Backoff: 500 * time.Millisecond}

// next returns how long to wait before sending attempt+1, or false when
// the request should not be sent again. retryAfter is the parsed
// Retry-After (negative when absent).
func (p *retryPolicy) next(ctx context.Context, attempt int, waited, retryAfter time.Duration) (time.Duration, bool) {
	if attempt > p.MaxRetries {
		return 0, false
	}
	wait := retryAfter
	if wait < 0 {
		wait = p.Backoff << (attempt - 1)
	}
	if wait > p.MaxWait || waited+wait > p.MaxTotal {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		// The answer would come too late to be of use.
		return 0, false
	}
	return wait, true
}

// parseRetryAfter reads Retry-After: delay seconds or an HTTP date. It
// returns -1 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
		return 0
	}
	return -1
}

// sleepCtx waits d, or until ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
