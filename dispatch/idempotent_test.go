package dispatch_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// A retried step under one operation id is applied once and answers what
// the first run decided: the offer it made is not lost, and the second run
// is not refused as a duplicate.
func TestOperationAppliedOnce(t *testing.T) {
	f := newFixture(t, op("a1", "", "general"))
	f.ready("a1")
	ctx := rkeys.WithOp(f.ctx, "enqueue-c1")
	c := dispatch.Caller{CallID: "c1", Topic: "general", Arrival: t0}
	f.calls = append(f.calls, "c1")
	first, err := f.d.EnqueueAndClaim(ctx, c, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Reservations) != 1 {
		t.Fatalf("first run: %+v, want one offer to a1", first)
	}
	again, err := f.d.EnqueueAndClaim(ctx, c, f.now)
	if err != nil {
		t.Fatalf("retry under the same operation: %v", err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Fatalf("retry answered %+v, want the first run's %+v", again, first)
	}
	// A new operation for the same call is a new step, refused as before.
	if _, err := f.d.EnqueueAndClaim(rkeys.WithOp(f.ctx, "enqueue-c1-b"), c, f.now); !errors.Is(err, dispatch.ErrExists) {
		t.Fatalf("another operation for a queued call: %v, want ErrExists", err)
	}

	// Ended for the same call, twice under one operation: one wrap-up. A
	// late Ended for an earlier call does not end the operator's next one.
	r := first.Reservations[0]
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	ectx := rkeys.WithOp(f.ctx, "ended-c1")
	for range 2 {
		if _, err := f.d.EndedCall(ectx, "a1", "c1", 0, f.now); err != nil {
			t.Fatalf("ended (retried): %v", err)
		}
	}
	next := f.enqueue("c2", "general", 0, time.Second, "")
	if st := f.state("a1"); st != "reserved" || len(next) != 1 {
		t.Fatalf("a1 is %s (offers %v) after one Ended and a new caller, want reserved", st, next)
	}
	if err := f.d.Answered(f.ctx, next[0], f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.EndedCall(f.ctx, "a1", "c1", 0, f.now); !errors.Is(err, dispatch.ErrBadTransition) {
		t.Fatalf("a late Ended of c1 while a1 talks to c2: %v, want ErrBadTransition", err)
	}
	if st := f.state("a1"); st != "on_call" {
		t.Fatalf("a1 is %s, want still on_call with c2", st)
	}
}

// A Redis that stalls makes a timed-out script ambiguous: it may still run
// when Redis resumes, and go-redis retries a read timeout by itself. Here
// Redis is stopped (SIGSTOP) while a no-answer is sent: the first send
// times out, go-redis sends it again, and when Redis resumes it runs both.
// The step must be applied once and reported as done, not refused because
// the first send already took effect.
func TestStalledRedisRetryAppliesOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	addr, stop, err := redisproc.StartServer(ctx) // private: it is stopped below
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	rdb := redistest.Client(t, addr)
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid <= 0 {
		t.Fatalf("no process_id in INFO server")
	}
	slow := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 200 * time.Millisecond, MaxRetries: 3,
		MinRetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 20 * time.Millisecond})
	t.Cleanup(func() { _ = slow.Close() })
	centre := redistest.Prefix(t)
	ag := agents.New(rdb, centre)
	if err := ag.Sync(ctx, []agents.Operator{op("a1", "", "general")}, t0); err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(rdb, centre, lease)
	if _, err := d.Ready(ctx, "a1", t0); err != nil {
		t.Fatal(err)
	}
	e, err := d.EnqueueAndClaim(ctx, dispatch.Caller{CallID: "c1", Topic: "general", Arrival: t0}, t0)
	if err != nil || len(e.Reservations) != 1 {
		t.Fatalf("enqueue: %+v %v", e, err)
	}
	sd := dispatch.New(slow, centre, lease)
	// Load the script first (a no-answer for a call that does not exist):
	// a stalled EVALSHA answered NOSCRIPT would hide what is tested.
	if _, err := sd.NoAnswer(ctx, dispatch.Reservation{CallID: "nobody", AgentID: "a1"}, 3, t0); !errors.Is(err, dispatch.ErrUnknownCall) {
		t.Fatalf("loading the script: %v", err)
	}
	// The stall: 300 ms, longer than the client's read timeout.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := time.AfterFunc(300*time.Millisecond, func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	t.Cleanup(func() { resumed.Stop(); _ = syscall.Kill(pid, syscall.SIGCONT) })
	res, err := sd.NoAnswer(ctx, e.Reservations[0], 3, t0)
	if err != nil {
		t.Fatalf("no-answer through a stalled Redis: %v (the retry saw the first send's effect)", err)
	}
	if res.Paused {
		t.Fatal("operator paused after one miss")
	}
	a, err := ag.Get(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	// Freed, a1 is offered c1 again at once (the only caller): one offer.
	if a.Misses != 1 || a.State != agents.Reserved || len(res.Reservations) != 1 {
		t.Fatalf("a1 is %s with %d misses and offers %v after one no-answer, want reserved again with 1 miss", a.State, a.Misses, res.Reservations)
	}
}
