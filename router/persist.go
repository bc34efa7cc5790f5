package router

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// ErrRefused marks a state-store error that is an answer, not a failure:
// the step does not apply (the operator is on another call by now, the
// caller is unknown, the reservation was given away). Retrying cannot
// change it. The ACD wraps its domain errors with it; everything else
// (a timeout, a refused connection, Redis loading its AOF) is transient.
var ErrRefused = errors.New("router: refused by the state store")

// persistBackoff bounds the pause between two tries of a step that must
// happen.
const (
	persistFirst = 50 * time.Millisecond
	persistMax   = 2 * time.Second
)

// persist runs step until it holds: a Redis step that must happen (freeing
// an operator, writing a record, taking a caller out of the queue). Every
// try runs under operation id op, so a try that timed out on the client but
// ran in Redis is not applied again, and the next try returns what it
// decided. op must name this one step and no other (Router.uniq in it):
// a later step under the same id would get this one's reply and change
// nothing. It stops when the answer is final (ErrRefused: superseded) and
// when the router stops; the reconciler of the next run then repairs from
// Redis state. The returned error is the last one, nil once it held.
func (r *Router) persist(log *zap.Logger, op, what string, step func(ctx context.Context) error) error {
	wait := persistFirst
	for try := 1; ; try++ {
		ctx, cancel := r.cmdCtx()
		err := step(rkeys.WithOp(ctx, op))
		cancel()
		if err == nil || errors.Is(err, ErrRefused) || errors.Is(err, ErrQueueFull) || errors.Is(err, ErrNumberRefused) {
			if err == nil && try > 1 {
				log.Info(what+": done after Redis came back", zap.Int("tries", try))
			}
			return err
		}
		if try == 1 || try%20 == 0 {
			log.Warn(what+": Redis failed; retrying until it holds", zap.Int("tries", try), zap.Error(err))
		}
		stop := r.stopping()
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			log.Warn(what+": router stopping; left to the reconciler", zap.Error(err))
			return err
		case <-t.C:
		}
		wait = min(2*wait, persistMax)
	}
}

// stopping is closed when the router stops; nil (never) before Run.
func (r *Router) stopping() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx == nil {
		return nil
	}
	return r.runCtx.Done()
}
