package plugin

import (
	"context"
	"errors"
	"testing"
)

// TestSlotsBoundAndCancel: a full set of slots makes the next query wait,
// and a query whose context ends while waiting gets an error saying so,
// not a slot.
func TestSlotsBoundAndCancel(t *testing.T) {
	s := make(slots, 2)
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("Grafana cancelled the query"))
	err := s.acquire(cctx)
	if err == nil || !errors.Is(err, context.Cause(cctx)) {
		t.Fatalf("acquire on full slots with an ended context: %v", err)
	}
	if len(s) != 2 {
		t.Fatalf("%d slots taken, want 2", len(s))
	}
	s.release()
	if err := s.acquire(ctx); err != nil {
		t.Fatalf("a released slot is free again: %v", err)
	}
}
