package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/queue"
)

var t0 = time.UnixMilli(1_700_000_000_000)

const lease = 30 * time.Second

// fixture is one centre on a real Redis with a clock the test moves.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	rdb    *redis.Client
	centre string
	d      *dispatch.Dispatcher
	ag     *agents.Registry
	q      *queue.Queue
	now    time.Time
	calls  []string
}

func newFixture(t *testing.T, ops ...agents.Operator) *fixture {
	t.Helper()
	rdb := redistest.Start(t)
	f := &fixture{t: t, ctx: context.Background(), rdb: rdb, centre: redistest.Prefix(t), now: t0}
	f.d = dispatch.New(rdb, f.centre, lease)
	f.ag = agents.New(rdb, f.centre)
	f.q = queue.New(rdb, f.centre, 2*time.Minute)
	if err := f.ag.Sync(f.ctx, ops, f.now); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit(t, rdb, f.centre, f.calls...) })
	return f
}

func op(id string, langs string, skills ...string) agents.Operator {
	o := agents.Operator{ID: id, Endpoint: "PJSIP/" + id, Skills: map[string]int{}}
	for _, s := range skills {
		o.Skills[s] = 5
	}
	if langs != "" {
		o.Languages = []string{langs}
	}
	return o
}

func (f *fixture) tick(d time.Duration) { f.now = f.now.Add(d) }

// enqueue queues a caller who arrived at t0+arrival and returns the claim.
func (f *fixture) enqueue(id, topic string, prio int, arrival time.Duration, lang string) []dispatch.Reservation {
	f.t.Helper()
	f.calls = append(f.calls, id)
	e, err := f.d.EnqueueAndClaim(f.ctx, dispatch.Caller{CallID: id, Topic: topic, Priority: prio, Arrival: t0.Add(arrival), Language: lang}, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return e.Reservations
}

func (f *fixture) ready(id string) []dispatch.Reservation {
	f.t.Helper()
	rs, err := f.d.Ready(f.ctx, id, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func (f *fixture) state(id string) agents.State {
	f.t.Helper()
	a, err := f.ag.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.State
}

func (f *fixture) order(topic string) string {
	f.t.Helper()
	l, err := f.q.List(f.ctx, topic, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	s := ""
	for _, w := range l {
		s += w.CallID + " "
	}
	return s
}

// one asserts exactly one reservation, of call to agent.
func one(t *testing.T, rs []dispatch.Reservation, call, agent string) dispatch.Reservation {
	t.Helper()
	if len(rs) != 1 || rs[0].CallID != call || rs[0].AgentID != agent {
		t.Fatalf("reservations = %v, want [%s→%s]", rs, call, agent)
	}
	return rs[0]
}

func none(t *testing.T, rs []dispatch.Reservation) {
	t.Helper()
	if len(rs) != 0 {
		t.Fatalf("reservations = %v, want none", rs)
	}
}

func TestEnqueueClaimsLongestIdleQualified(t *testing.T) {
	f := newFixture(t, op("a1", "ru", "covid"), op("a2", "ru", "covid"), op("a3", "ru", "vacc"))
	none(t, f.ready("a2")) // a2 idle since t0
	f.tick(time.Second)
	none(t, f.ready("a1"))
	none(t, f.ready("a3"))
	r := one(t, f.enqueue("c1", "covid", 0, 0, ""), "c1", "a2")
	if r.Endpoint != "PJSIP/a2" || r.Topic != "covid" || r.Seq != 1 || !r.Expires.Equal(f.now.Add(lease)) {
		t.Errorf("reservation = %+v", r)
	}
	if f.state("a2") != agents.Reserved {
		t.Errorf("a2 %s", f.state("a2"))
	}
	one(t, f.enqueue("c2", "covid", 0, 0, ""), "c2", "a1")
	none(t, f.enqueue("c3", "covid", 0, 0, "")) // a3 lacks the skill
}

func TestLanguagePreferredNotRequired(t *testing.T) {
	f := newFixture(t, op("ru1", "ru", "covid"), op("kk1", "kk", "covid"))
	f.ready("ru1")
	f.tick(time.Second)
	f.ready("kk1")
	// kk caller skips the longer-idle ru operator
	one(t, f.enqueue("c1", "covid", 0, 0, "kk"), "c1", "kk1")
	// the next kk caller takes the ru operator rather than wait
	one(t, f.enqueue("c2", "covid", 0, 0, "kk"), "c2", "ru1")
}

func TestReadyClaimsBestAcrossTopics(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid", "vacc"), op("a2", "", "vacc"))
	f.enqueue("c-covid-old", "covid", 0, 0, "")
	f.enqueue("c-vacc-new", "vacc", 0, time.Second, "")
	f.enqueue("c-vacc-prio", "vacc", 5, 2*time.Second, "")
	f.enqueue("c-other", "mental", 9, 0, "")
	// priority beats arrival, across the operator's topics
	one(t, f.ready("a1"), "c-vacc-prio", "a1")
	// a2 serves vacc only: it gets vacc's head, not the older covid caller
	one(t, f.ready("a2"), "c-vacc-new", "a2")
	if got := f.order("covid"); got != "c-covid-old " {
		t.Errorf("covid = %q", got)
	}
}

func TestRingTimeoutKeepsOriginalPosition(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"), op("a2", "", "covid"))
	f.enqueue("c1", "covid", 0, 0, "")
	f.enqueue("c2", "covid", 0, time.Second, "")
	f.enqueue("c3", "covid", 0, 2*time.Second, "")
	r := one(t, f.ready("a1"), "c1", "a1")
	f.enqueue("c4", "covid", 0, 3*time.Second, "")
	if got := f.order("covid"); got != "c2 c3 c4 " {
		t.Fatalf("order = %q", got)
	}
	f.tick(20 * time.Second)
	res, err := f.d.NoAnswer(f.ctx, r, 3, f.now)
	if err != nil || res.Paused {
		t.Fatalf("no answer: %+v %v", res, err)
	}
	// c1 is back at the head; a1, the only ready operator, is offered it
	// again (idle since now, but nobody else is ready)
	one(t, res.Reservations, "c1", "a1")
	// second miss: still the only ready operator, so a1 again
	f.tick(time.Second)
	res, err = f.d.NoAnswer(f.ctx, res.Reservations[0], 3, f.now)
	if err != nil {
		t.Fatal(err)
	}
	one(t, res.Reservations, "c1", "a1")
	// a2 logs in while c1 rings a1: it takes the head, c2
	one(t, f.ready("a2"), "c2", "a2")
	f.tick(20 * time.Second)
	res, err = f.d.NoAnswer(f.ctx, res.Reservations[0], 3, f.now)
	if err != nil || !res.Paused {
		t.Fatalf("third miss: %+v %v", res, err)
	}
	none(t, res.Reservations)
	if got := f.order("covid"); got != "c1 c3 c4 " {
		t.Errorf("order after misses = %q", got)
	}
	a, _ := f.ag.Get(f.ctx, "a1")
	if a.State != agents.Paused || a.Reason != agents.ReasonNoAnswer || a.Misses != 3 {
		t.Errorf("a1 = %s %q misses %d", a.State, a.Reason, a.Misses)
	}
	// unpausing resets the count and picks up the head again
	one(t, f.ready("a1"), "c1", "a1")
	if a, _ := f.ag.Get(f.ctx, "a1"); a.Misses != 0 {
		t.Errorf("misses after ready = %d", a.Misses)
	}
}

func TestAnsweredResetsMisses(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.enqueue("c1", "covid", 0, 0, "")
	r := one(t, f.ready("a1"), "c1", "a1")
	res, _ := f.d.NoAnswer(f.ctx, r, 2, f.now)
	r = one(t, res.Reservations, "c1", "a1")
	if r.Seq != 2 {
		t.Errorf("seq = %d", r.Seq)
	}
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.ag.Get(f.ctx, "a1"); a.Misses != 0 || a.State != agents.OnCall || a.CallID != "c1" {
		t.Errorf("a1 = %+v", a)
	}
}

func TestLeaseExpiryReturnsBoth(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"), op("a2", "", "vacc"))
	f.enqueue("c1", "covid", 0, 0, "")
	f.enqueue("c2", "covid", 0, time.Second, "")
	f.enqueue("c3", "covid", 1, 5*time.Second, "") // priority: head
	r := one(t, f.ready("a1"), "c3", "a1")
	// the sweep knows when the lease ends without polling for it
	if at, ok, err := f.d.NextDeadline(f.ctx); err != nil || !ok || !at.Equal(r.Expires) {
		t.Fatalf("NextDeadline = %v %v %v, want the lease's end %v", at, ok, err, r.Expires)
	}
	// the instance holding r dies; nothing happens until the lease ends
	f.tick(lease - time.Millisecond)
	rec, err := f.d.RecoverExpired(f.ctx, f.now)
	if err != nil || len(rec.Recovered) != 0 {
		t.Fatalf("early recovery: %+v %v", rec, err)
	}
	f.tick(time.Millisecond)
	rec, err = f.d.RecoverExpired(f.ctx, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Recovered) != 1 || rec.Recovered[0] != (dispatch.Recovered{CallID: "c3", AgentID: "a1", Topic: "covid"}) {
		t.Fatalf("recovered = %+v", rec.Recovered)
	}
	// both came back and were matched again: c3 at its original place
	// (the head) is re-offered to a1, the only covid operator
	r2 := one(t, rec.Reservations, "c3", "a1")
	if r2.Seq != r.Seq+1 {
		t.Errorf("seq %d after %d", r2.Seq, r.Seq)
	}
	// the dead instance's reservation is void
	if err := f.d.Answered(f.ctx, r, f.now); !errors.Is(err, dispatch.ErrNotReserved) {
		t.Errorf("stale answer: %v", err)
	}
	if _, err := f.d.NoAnswer(f.ctx, r, 3, f.now); !errors.Is(err, dispatch.ErrNotReserved) {
		t.Errorf("stale no answer: %v", err)
	}
	if err := f.d.Answered(f.ctx, r2, f.now); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseExpiryWithoutReadyOperatorRestoresPosition(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	for i, c := range []string{"c1", "c2", "c3"} {
		f.enqueue(c, "covid", 0, time.Duration(i)*time.Second, "")
	}
	r := one(t, f.ready("a1"), "c1", "a1")
	// pausing a ringing operator is refused; the offer must settle first
	if err := f.ag.Pause(f.ctx, "a1", "break", f.now); !errors.Is(err, agents.ErrBadTransition) {
		t.Fatalf("pause while reserved: %v", err)
	}
	f.enqueue("c0", "covid", 0, -time.Second, "") // arrived earlier (e.g. overflow from another topic)
	if got := f.order("covid"); got != "c0 c2 c3 " {
		t.Fatalf("order = %q", got)
	}
	f.tick(lease)
	// an extension from the (live) holder keeps the reservation
	r, err := f.d.Extend(f.ctx, r, f.now.Add(-time.Second))
	if err != nil || !r.Expires.Equal(f.now.Add(lease-time.Second)) {
		t.Fatalf("extend: %+v %v", r, err)
	}
	rec, _ := f.d.RecoverExpired(f.ctx, f.now)
	if len(rec.Recovered) != 0 {
		t.Fatalf("extended lease recovered")
	}
	f.tick(lease)
	rec, _ = f.d.RecoverExpired(f.ctx, f.now)
	if len(rec.Recovered) != 1 {
		t.Fatalf("recovered %+v", rec)
	}
	// c0 arrived first, so a1 now gets c0; c1 sits exactly where it was
	one(t, rec.Reservations, "c0", "a1")
	if got := f.order("covid"); got != "c1 c2 c3 " {
		t.Errorf("order = %q", got)
	}
	p, err := f.q.Position(f.ctx, "c2")
	if err != nil || p.Pos != 2 {
		t.Errorf("position c2 = %+v %v", p, err)
	}
}

func TestCallerGone(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"), op("a2", "", "covid"))
	f.ready("a1")
	f.tick(time.Second)
	f.ready("a2")
	r := one(t, f.enqueue("c1", "covid", 0, 0, ""), "c1", "a1")
	one(t, f.enqueue("c2", "covid", 0, time.Second, ""), "c2", "a2")
	f.enqueue("c3", "covid", 0, 2*time.Second, "")
	f.enqueue("c4", "covid", 0, 3*time.Second, "")

	g, err := f.d.CallerGone(f.ctx, "c4", f.now) // waiting
	if err != nil || g.State != "waiting" || len(g.Reservations) != 0 {
		t.Fatalf("gone waiting: %+v %v", g, err)
	}
	g, err = f.d.CallerGone(f.ctx, "c1", f.now) // ringing a1
	if err != nil || g.State != "offered" || g.AgentID != "a1" {
		t.Fatalf("gone offered: %+v %v", g, err)
	}
	one(t, g.Reservations, "c3", "a1") // a1 released at once and offered c3
	if err := f.d.Answered(f.ctx, r, f.now); !errors.Is(err, dispatch.ErrUnknownCall) {
		t.Errorf("answer after hang-up: %v", err)
	}
	g, err = f.d.CallerGone(f.ctx, "c1", f.now)
	if err != nil || g.State != "" {
		t.Errorf("gone twice: %+v %v", g, err)
	}
}

func TestEndedWrapUpAndAHT(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.enqueue("c1", "covid", 0, 0, "")
	f.enqueue("c2", "covid", 0, time.Second, "")
	r := one(t, f.ready("a1"), "c1", "a1")
	if _, err := f.d.Ended(f.ctx, "a1", 0, f.now); !errors.Is(err, dispatch.ErrBadTransition) {
		t.Errorf("ended while ringing: %v", err)
	}
	if _, err := f.d.Ready(f.ctx, "a1", f.now); !errors.Is(err, dispatch.ErrBadTransition) {
		t.Errorf("ready while ringing: %v", err)
	}
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.ag.Ready(f.ctx, "a1", f.now); !errors.Is(err, agents.ErrBadTransition) {
		t.Errorf("agents.Ready on call: %v", err)
	}
	f.tick(100 * time.Second)
	rs, err := f.d.Ended(f.ctx, "a1", 20*time.Second, f.now)
	if err != nil || len(rs) != 0 || f.state("a1") != agents.WrapUp {
		t.Fatalf("ended: %v %v %s", rs, err, f.state("a1"))
	}
	// AHT = talk 100s + wrap-up 20s; c2 is first, one staffed operator
	p, err := f.q.Position(f.ctx, "c2")
	if err != nil || p.Pos != 1 || p.EstimatedWait != 120*time.Second {
		t.Errorf("position = %+v %v", p, err)
	}
	// the wrap-up ends by the recovery loop if no timer fires
	f.tick(19 * time.Second)
	if rec, _ := f.d.RecoverExpired(f.ctx, f.now); len(rec.WrappedUp) != 0 {
		t.Fatalf("early wrap-up end")
	}
	f.tick(time.Second)
	rec, err := f.d.RecoverExpired(f.ctx, f.now)
	if err != nil || len(rec.WrappedUp) != 1 {
		t.Fatalf("wrap-up: %+v %v", rec, err)
	}
	r = one(t, rec.Reservations, "c2", "a1")
	// a late timer is harmless
	if rs, err := f.d.WrapUpDone(f.ctx, "a1", f.now); err != nil || len(rs) != 0 {
		t.Errorf("late wrap-up done: %v %v", rs, err)
	}
	f.d.Answered(f.ctx, r, f.now)
	rs, err = f.d.Ended(f.ctx, "a1", 0, f.now.Add(time.Minute))
	if err != nil || len(rs) != 0 || f.state("a1") != agents.Ready {
		t.Errorf("ended without wrap-up: %v %v %s", rs, err, f.state("a1"))
	}
}

func TestUnreachable(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"), op("a2", "", "covid"))
	f.ready("a1")
	f.tick(time.Second)
	f.ready("a2")
	r := one(t, f.enqueue("c1", "covid", 0, 0, ""), "c1", "a1")
	rs, err := f.d.Unreachable(f.ctx, dispatch.Reservation{CallID: r.CallID, AgentID: r.AgentID}, f.now)
	if err != nil {
		t.Fatal(err)
	}
	one(t, rs, "c1", "a2")
	if a, _ := f.ag.Get(f.ctx, "a1"); a.State != agents.Offline || a.Reason != "unreachable" || a.Misses != 0 {
		t.Errorf("a1 = %s %q %d", a.State, a.Reason, a.Misses)
	}
}

func TestEnqueueErrors(t *testing.T) {
	f := newFixture(t)
	f.enqueue("c1", "covid", 0, 0, "")
	_, err := f.d.EnqueueAndClaim(f.ctx, dispatch.Caller{CallID: "c1", Topic: "covid", Arrival: t0}, f.now)
	if !errors.Is(err, dispatch.ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	_, err = f.d.EnqueueAndClaim(f.ctx, dispatch.Caller{CallID: "c2", Topic: "covid", Arrival: t0, MaxQueue: 1}, f.now)
	if !errors.Is(err, dispatch.ErrFull) {
		t.Errorf("full: %v", err)
	}
	_, err = f.d.EnqueueAndClaim(f.ctx, dispatch.Caller{CallID: "c3", Topic: "a:b", Arrival: t0}, f.now)
	if !errors.Is(err, dispatch.ErrInvalid) {
		t.Errorf("bad topic: %v", err)
	}
	if _, err := f.d.Ready(f.ctx, "nobody", f.now); !errors.Is(err, dispatch.ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
}

// TestQueueEnqueueThenClaim covers the two-step path (queue.Enqueue, then
// ClaimForTopic; agents.Ready, then ClaimForAgent).
func TestQueueEnqueueThenClaim(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.calls = append(f.calls, "c1")
	if _, err := f.q.Enqueue(f.ctx, queue.Caller{CallID: "c1", Topic: "covid", Arrival: t0}, f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.ag.Login(f.ctx, "a1", f.now); err != nil {
		t.Fatal(err)
	}
	rs, err := f.d.ClaimForTopic(f.ctx, "covid", f.now)
	if err != nil {
		t.Fatal(err)
	}
	one(t, rs, "c1", "a1")
	rm, err := f.q.Remove(f.ctx, "c1")
	if err != nil || rm.State != queue.StateOffered || rm.AgentID != "a1" {
		t.Errorf("remove offered: %+v %v", rm, err)
	}
	rs, err = f.d.ClaimForAgent(f.ctx, "a1", f.now)
	if err != nil || len(rs) != 0 {
		t.Errorf("claim for reserved agent: %v %v", rs, err)
	}
}

// "Pause after this call" pauses the operator when the call is over
// instead of offering the next caller, whether it ends at once or after
// wrap-up; "extend" moves the wrap-up's end, which the recovery sweep then
// respects.
func TestPauseAfterCallAndExtendedWrapUp(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.enqueue("c1", "covid", 0, 0, "")
	f.enqueue("c2", "covid", 0, time.Second, "")
	r := one(t, f.ready("a1"), "c1", "a1")
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.ag.PauseAfterCall(f.ctx, "a1", "lunch", f.now); err != nil {
		t.Fatal(err)
	}
	rs, err := f.d.Ended(f.ctx, "a1", 0, f.now)
	if a, _ := f.ag.Get(f.ctx, "a1"); err != nil || len(rs) != 0 || a.State != agents.Paused || a.Reason != "lunch" || a.PauseNext != "" {
		t.Fatalf("after the call: %+v %v %v, want paused for lunch with c2 still waiting", a, rs, err)
	}

	r = one(t, f.ready("a1"), "c2", "a1")
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Ended(f.ctx, "a1", 20*time.Second, f.now); err != nil {
		t.Fatal(err)
	}
	// 40 s more, counted from the wrap-up's end, not from now.
	if until, err := f.d.ExtendWrapUp(f.ctx, "a1", 40*time.Second, f.now); err != nil || !until.Equal(f.now.Add(time.Minute)) {
		t.Fatalf("extended to %v, %v; want %v", until, err, f.now.Add(time.Minute))
	}
	f.tick(30 * time.Second)
	if rec, err := f.d.RecoverExpired(f.ctx, f.now); err != nil || len(rec.WrappedUp) != 0 || f.state("a1") != agents.WrapUp {
		t.Fatalf("extended wrap-up ended at its old time: %+v %v %s", rec, err, f.state("a1"))
	}
	// A timer set for the old end (another instance's) leaves it alone.
	if rs, err := f.d.WrapUpDue(f.ctx, "a1", f.now); err != nil || len(rs) != 0 || f.state("a1") != agents.WrapUp {
		t.Fatalf("a timer of the old end ended the extended wrap-up: %v %v %s", rs, err, f.state("a1"))
	}
	if err := f.ag.PauseAfterCall(f.ctx, "a1", "training", f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.WrapUpDone(f.ctx, "a1", f.now); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.ag.Get(f.ctx, "a1"); a.State != agents.Paused || a.Reason != "training" {
		t.Fatalf("wrap-up done with a pause asked: %+v", a)
	}
	if _, err := f.d.ExtendWrapUp(f.ctx, "a1", time.Minute, f.now); !errors.Is(err, dispatch.ErrBadTransition) {
		t.Errorf("extend while paused: %v", err)
	}
	f.ready("a1")
	if err := f.ag.PauseAfterCall(f.ctx, "a1", "lunch", f.now); !errors.Is(err, agents.ErrBadTransition) {
		t.Errorf("pause after the call while ready: %v", err)
	}
}

// A wrap-up timer (WrapUpDue) ends the wrap-up at its end, and not before
// it even when the timer belongs to an instance that did not see it
// extended; the next waiting caller is offered in the same step.
func TestWrapUpDueEndsOnlyAtItsEnd(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.enqueue("c1", "covid", 0, 0, "")
	r := one(t, f.ready("a1"), "c1", "a1")
	if err := f.d.Answered(f.ctx, r, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Ended(f.ctx, "a1", 10*time.Second, f.now); err != nil {
		t.Fatal(err)
	}
	f.enqueue("c2", "covid", 0, time.Second, "")
	f.tick(5 * time.Second)
	if rs, err := f.d.WrapUpDue(f.ctx, "a1", f.now); err != nil || len(rs) != 0 || f.state("a1") != agents.WrapUp {
		t.Fatalf("an early timer: %v %v %s", rs, err, f.state("a1"))
	}
	f.tick(5 * time.Second)
	rs, err := f.d.WrapUpDue(f.ctx, "a1", f.now)
	if err != nil {
		t.Fatal(err)
	}
	one(t, rs, "c2", "a1")
}
