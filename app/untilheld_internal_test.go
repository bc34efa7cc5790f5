package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// A supervisor's step is retried through a Redis failure under one
// operation id (so the script applies once), stops at the store's own
// answer, and gives up when the request's time is up.
func TestUntilHeld(t *testing.T) {
	var ops []string
	blip := errors.New("redis: connection refused")
	step := func(fail int, final error) func(context.Context) error {
		return func(ctx context.Context) error {
			op, _ := rkeys.OpOf(ctx)
			ops = append(ops, op)
			if len(ops) <= fail {
				return blip
			}
			return final
		}
	}
	if err := untilHeld(context.Background(), step(2, nil)); err != nil || len(ops) != 3 || ops[0] == "" || ops[0] != ops[1] || ops[1] != ops[2] {
		t.Fatalf("through a blip: %v after %d tries under ops %v; want done in 3 under one op", err, len(ops), ops)
	}
	ops = nil
	busy := fmt.Errorf("%w: c1 is in_flight", callbacks.ErrBusy)
	if err := untilHeld(context.Background(), step(0, busy)); !errors.Is(err, callbacks.ErrBusy) || len(ops) != 1 {
		t.Fatalf("the store's answer: %v after %d tries; want it at once", err, len(ops))
	}
	ops = nil
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	if err := untilHeld(ctx, step(1000, nil)); !errors.Is(err, blip) || len(ops) < 2 {
		t.Fatalf("Redis down past the deadline: %v after %d tries", err, len(ops))
	}
}
