package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Options configure Run.
type Options struct {
	Sender *Sender
	// Interval is the time between two traces (see ParseRate).
	Interval time.Duration
	// Seed seeds the random source: the same seed sends the same traces
	// (ids included), so never reuse one against the same Tempo, or Tempo
	// merges the copies' spans into one trace.
	Seed uint64
	// Once sends one trace and returns.
	Once bool
	// SeedStoryFirst sends the seed document's trace (SeedStory) before the
	// generated ones.
	SeedStoryFirst bool
	// SendTimeout bounds one trace's two POSTs (default 10 s).
	SendTimeout time.Duration
	Logger      *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Run sends traces until ctx is done (or one, with Once). A cancelled ctx
// ends the loop between traces: a trace being sent is finished, so Tempo
// and Loki never hold half of one. With Once, Run returns the send error;
// otherwise failures are logged and the next trace tries again (Tempo and
// Loki may still be starting), the seed story first until it arrives.
func Run(ctx context.Context, o Options) error {
	if o.Sender == nil {
		return fmt.Errorf("demo: Options.Sender is required")
	}
	if !o.Once && o.Interval <= 0 {
		return fmt.Errorf("demo: the interval between traces must be positive, got %v", o.Interval)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 10 * time.Second
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	story := o.SeedStoryFirst

	// next draws the next trace; isStory says it is the seed story.
	next := func() (t *Trace, isStory bool) {
		now := o.Now().Truncate(time.Millisecond)
		if story {
			story = false
			t, isStory = SeedStory(rng, now), true
		} else {
			t = Generate(rng, now)
		}
		// The request has just finished: end it now. Tempo clamps traces
		// that start long before they are ingested, so never backdate more.
		t.Shift(now.Sub(t.End()))
		return t, isStory
	}
	send := func(t *Trace) error {
		// Not ctx: a shutdown must not cut a trace in half.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.SendTimeout)
		defer cancel()
		err := o.Sender.Send(sctx, t)
		switch {
		case err != nil && o.Once:
			// returned to the caller, which reports it
		case err != nil:
			o.Logger.Warn("trace not (fully) sent", "traceId", t.TraceID, "error", err)
		default:
			o.Logger.Info("sent trace", append([]any{"traceId", t.TraceID}, describe(t)...)...)
		}
		return err
	}

	if o.Once {
		t, _ := next()
		return send(t)
	}
	ticker := time.NewTicker(o.Interval)
	defer ticker.Stop()
	for {
		t, isStory := next()
		// Failures are logged and the next trace tries again. The seed
		// story is the dashboard's golden case, so it is sent again (with
		// fresh ids) until it arrives: in a stack that has just started,
		// Tempo and Loki often refuse the first pushes.
		if err := send(t); err != nil && isStory {
			story = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// describe lists what to look for in a trace, for the log.
func describe(t *Trace) []any {
	f := t.Facts
	return []any{
		"durationMs", t.Root().Duration().Milliseconds(),
		"queueBMs", f.QueueB.Milliseconds(),
		"retries", f.Retries,
		"failed", f.Failed,
		"earlyEnd", f.EarlyEnd,
	}
}

// ParseRate turns a rate such as "1/s", "30/m", "0.5/s" or "2" (per second)
// into the interval between two traces.
func ParseRate(s string) (time.Duration, error) {
	num, unit, found := strings.Cut(strings.TrimSpace(s), "/")
	per := time.Second
	if found {
		switch strings.TrimSpace(unit) {
		case "s", "sec", "second":
			per = time.Second
		case "m", "min", "minute":
			per = time.Minute
		case "h", "hour":
			per = time.Hour
		default:
			return 0, fmt.Errorf("rate %q: unknown unit %q: use /s, /m or /h, e.g. 1/s", s, unit)
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || n > 1000 {
		return 0, fmt.Errorf("rate %q: want a number of traces in (0, 1000] per unit, e.g. 1/s or 30/m", s)
	}
	return time.Duration(float64(per) / n), nil
}
