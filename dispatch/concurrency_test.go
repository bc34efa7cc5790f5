package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// TestConcurrentMatchers runs three independent matchers (own Redis
// client, own goroutines, as three hotline instances would) against one
// centre: 500 callers over 4 topics (routed by weighted selection and
// ageing rules), 50 operators of mixed levels flapping between ready
// and paused, random abandons, no-answers, dropped offers (a dead
// instance: only lease expiry brings them back), calls ending with and
// without wrap-up. It checks, during and after the run:
//   - Redis invariants, atomically (audit script) every few ms;
//   - no caller answered twice, no operator answering a second call while
//     on one (a per-operator compare-and-set in the test's log), no offer
//     (call, seq) handed out twice;
//   - every caller ends answered or abandoned; queues, leases empty.
func TestConcurrentMatchers(t *testing.T) {
	const (
		nMatchers = 3
		nCallers  = 500
		nAgents   = 50
		leaseD    = 150 * time.Millisecond
	)
	topics := []string{"covid", "vacc", "mental", "general"}
	langs := []string{"ru", "kk"}
	addr := redistest.Addr(t)
	centre := redistest.Prefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type matcher struct {
		d  *dispatch.Dispatcher
		ag *agents.Registry
	}
	var ms []matcher
	for range nMatchers {
		rdb := redistest.Client(t, addr)
		ms = append(ms, matcher{dispatch.New(rdb, centre, leaseD), agents.New(rdb, centre)})
	}
	admin := redistest.Client(t, addr)

	var ops []agents.Operator
	var agentIDs []string
	for i := range nAgents {
		id := fmt.Sprintf("op%02d", i)
		o := agents.Operator{ID: id, Endpoint: "PJSIP/" + id, Skills: map[string]int{topics[i%4]: 1 + i%10}, Languages: []string{langs[i%2]}}
		if i%3 == 0 {
			o.Skills[topics[(i+1)%4]] = 3
		}
		ops = append(ops, o)
		agentIDs = append(agentIDs, id)
	}
	if err := ms[0].ag.Sync(ctx, ops, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Every routing rule at once: levels and ageing must not bend the
	// invariants.
	if err := ms[0].d.SetRules(ctx, map[string]dispatch.Rule{
		"covid":  {Selection: dispatch.Weighted, LevelWeight: 20 * time.Millisecond},
		"vacc":   {Ageing: 50 * time.Millisecond},
		"mental": {Selection: dispatch.Weighted, LevelWeight: 10 * time.Millisecond, Ageing: 100 * time.Millisecond},
	}); err != nil {
		t.Fatal(err)
	}

	// The test's log.
	var (
		mu         sync.Mutex
		busy       = map[string]string{} // agent -> call it talks on
		answeredBy = map[string]string{} // call -> agent
		abandoned  = map[string]bool{}
		offers     = map[string]string{} // "call#seq" -> agent
		failures   []string
		done       atomic.Int64 // callers answered or abandoned
		counts     sync.Map     // name -> *atomic.Int64
	)
	fail := func(format string, a ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	count := func(name string) {
		v, _ := counts.LoadOrStore(name, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}

	// Work runs on the matchers' worker goroutines; delayed work is
	// scheduled with AfterFunc. pending counts work not yet finished.
	tasks := make(chan func(m matcher), 1<<16)
	var pending sync.WaitGroup
	later := func(d time.Duration, f func(m matcher)) {
		pending.Add(1)
		time.AfterFunc(d, func() { tasks <- f })
	}
	var workers sync.WaitGroup
	for _, m := range ms {
		for range 4 {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for f := range tasks {
					f(m)
					pending.Done()
				}
			}()
		}
	}
	jitter := func(maxMs int) time.Duration { return time.Duration(rand.IntN(maxMs+1)) * time.Millisecond }

	var offer func(rs []dispatch.Reservation)
	endCall := func(agent, call string) {
		later(50*time.Millisecond+jitter(200), func(m matcher) {
			mu.Lock()
			if busy[agent] != call {
				mu.Unlock()
				fail("%s ends %s but log says it talks on %q", agent, call, busy[agent])
				return
			}
			delete(busy, agent) // before Ended: from here the agent may be reserved again
			mu.Unlock()
			wrap := time.Duration(0)
			if rand.IntN(2) == 0 {
				wrap = 20 * time.Millisecond
			}
			rs, err := m.d.Ended(ctx, agent, wrap, time.Now())
			if err != nil {
				fail("ended %s: %v", agent, err)
				return
			}
			count("ended")
			offer(rs)
			if wrap > 0 && rand.IntN(2) == 0 { // else the recovery loop ends it
				later(wrap, func(m matcher) {
					rs, err := m.d.WrapUpDone(ctx, agent, time.Now())
					if err != nil {
						fail("wrap-up done %s: %v", agent, err)
					}
					offer(rs)
				})
			}
		})
	}
	offer = func(rs []dispatch.Reservation) {
		for _, r := range rs {
			key := fmt.Sprintf("%s#%d", r.CallID, r.Seq)
			mu.Lock()
			if prev, dup := offers[key]; dup {
				fail("offer %s handed out twice (%s, %s)", key, prev, r.AgentID)
			}
			offers[key] = r.AgentID
			mu.Unlock()
			count("offers")
			later(jitter(5), func(m matcher) {
				switch x := rand.IntN(100); {
				case x < 75:
					err := m.d.Answered(ctx, r, time.Now())
					if errors.Is(err, dispatch.ErrUnknownCall) || errors.Is(err, dispatch.ErrNotReserved) {
						count("answer-too-late") // hung up, or lease expired under load
						return
					}
					if err != nil {
						fail("answered %s: %v", r, err)
						return
					}
					mu.Lock()
					if cur := busy[r.AgentID]; cur != "" {
						failures = append(failures, fmt.Sprintf("%s answered %s while on %s", r.AgentID, r.CallID, cur))
					}
					if prev, ok := answeredBy[r.CallID]; ok {
						failures = append(failures, fmt.Sprintf("%s answered twice (%s, %s)", r.CallID, prev, r.AgentID))
					}
					if abandoned[r.CallID] {
						failures = append(failures, fmt.Sprintf("%s answered after abandon", r.CallID))
					}
					busy[r.AgentID] = r.CallID
					answeredBy[r.CallID] = r.AgentID
					mu.Unlock()
					done.Add(1)
					count("answered")
					endCall(r.AgentID, r.CallID)
				case x < 93:
					res, err := m.d.NoAnswer(ctx, r, 3, time.Now())
					if errors.Is(err, dispatch.ErrUnknownCall) || errors.Is(err, dispatch.ErrNotReserved) {
						return
					}
					if err != nil {
						fail("no answer %s: %v", r, err)
						return
					}
					count("no-answer")
					if res.Paused {
						count("paused-no-answer")
					}
					offer(res.Reservations)
				default:
					count("dropped") // the holder "dies": the lease brings it back
				}
			})
		}
	}

	// Callers arrive over about a second; some hang up.
	callIDs := make([]string, nCallers)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := range nCallers {
			id := fmt.Sprintf("call%03d", i)
			callIDs[i] = id
			c := dispatch.Caller{CallID: id, Topic: topics[rand.IntN(4)], Priority: rand.IntN(3),
				Arrival: time.Now(), Language: langs[rand.IntN(2)]}
			later(0, func(m matcher) {
				e, err := m.d.EnqueueAndClaim(ctx, c, time.Now())
				if err != nil {
					fail("enqueue %s: %v", id, err)
					return
				}
				offer(e.Reservations)
			})
			if rand.IntN(100) < 15 {
				later(jitter(300), func(m matcher) {
					g, err := m.d.CallerGone(ctx, id, time.Now())
					if err != nil {
						fail("caller gone %s: %v", id, err)
						return
					}
					if g.State == "waiting" || g.State == "offered" {
						mu.Lock()
						if _, ok := answeredBy[id]; ok {
							failures = append(failures, fmt.Sprintf("%s abandoned after answer", id))
						}
						abandoned[id] = true
						mu.Unlock()
						done.Add(1)
						count("abandoned-" + g.State)
						offer(g.Reservations)
					}
				})
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	// Operators log in, then flap; a recovery loop runs; an auditor checks.
	// Flapping starts once every login has held: a flap's Ready that came
	// first would reserve the operator and refuse the login's, rightly.
	var logins sync.WaitGroup
	for _, id := range agentIDs {
		logins.Add(1)
		later(0, func(m matcher) {
			defer logins.Done()
			rs, err := m.d.Ready(ctx, id, time.Now())
			if err != nil {
				fail("login %s: %v", id, err)
			}
			offer(rs)
		})
	}
	stop := make(chan struct{})
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { // flapping
		defer loops.Done()
		logins.Wait()
		for {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			id := agentIDs[rand.IntN(nAgents)]
			if rand.IntN(3) == 0 {
				later(0, func(m matcher) {
					err := m.ag.Pause(ctx, id, "break", time.Now())
					if err != nil && !errors.Is(err, agents.ErrBadTransition) {
						fail("pause %s: %v", id, err)
					}
					if err == nil {
						count("pause")
					}
				})
			} else {
				later(0, func(m matcher) {
					rs, err := m.d.Ready(ctx, id, time.Now())
					if err != nil && !errors.Is(err, dispatch.ErrBadTransition) {
						fail("ready %s: %v", id, err)
					}
					offer(rs)
				})
			}
		}
	}()
	go func() { // recovery on "every instance", plus the auditor
		defer loops.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			later(0, func(m matcher) {
				rec, err := m.d.RecoverExpired(ctx, time.Now())
				if err != nil {
					fail("recover: %v", err)
					return
				}
				for range rec.Recovered {
					count("recovered")
				}
				offer(rec.Reservations)
			})
			if i%5 == 0 {
				auditNow(admin, centre, fail)
			}
		}
	}()

	for done.Load() < nCallers && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	loops.Wait()
	<-fed
	pending.Wait() // every scheduled task has run: calls ended, offers settled
	close(tasks)
	workers.Wait()
	if ctx.Err() != nil {
		t.Fatalf("timed out with %d/%d callers settled", done.Load(), nCallers)
	}

	// Finish wrap-ups the recovery loop has not yet ended.
	if _, err := ms[0].d.RecoverExpired(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Error(f)
	}
	if len(answeredBy)+len(abandoned) != nCallers {
		t.Errorf("answered %d + abandoned %d != %d", len(answeredBy), len(abandoned), nCallers)
	}
	for _, id := range callIDs {
		if _, a := answeredBy[id]; a == abandoned[id] {
			t.Errorf("%s answered=%v abandoned=%v", id, a, abandoned[id])
		}
	}
	audit(t, admin, centre, callIDs...)
	for _, tp := range topics {
		if n := admin.ZCard(ctx, rkeys.Queue(centre, tp)).Val(); n != 0 {
			t.Errorf("queue %s holds %d", tp, n)
		}
	}
	if n := admin.ZCard(ctx, rkeys.Leases(centre)).Val(); n != 0 {
		t.Errorf("%d leases left", n)
	}
	list, err := ms[0].ag.List(ctx)
	if err != nil || len(list) != nAgents {
		t.Fatalf("list: %d %v", len(list), err)
	}
	for _, a := range list {
		if a.State != agents.Ready && a.State != agents.Paused {
			t.Errorf("%s ends %s (call %q)", a.ID, a.State, a.CallID)
		}
	}
	summary := ""
	counts.Range(func(k, v any) bool { summary += fmt.Sprintf("%s=%d ", k, v.(*atomic.Int64).Load()); return true })
	t.Logf("%s", summary)
}

// auditNow is audit for use off the test goroutine.
func auditNow(rdb redis.UniversalClient, centre string, fail func(string, ...any)) {
	bad, err := auditScript.Run(context.Background(), rdb, []string{rkeys.Prefix(centre)}).StringSlice()
	if err != nil {
		fail("audit: %v", err)
	}
	for _, b := range bad {
		fail("invariant: %s", b)
	}
}
