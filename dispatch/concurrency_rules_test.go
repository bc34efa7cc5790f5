package dispatch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// TestConcurrentSelectionKeepsInvariants: three dispatchers (own clients,
// as three instances) match 300 callers of mixed priorities to 30
// operators of mixed levels under every rule at once (weighted, best
// level, ageing across and within topics), from 12 goroutines, with a
// shared injected clock that moves 1 ms per step. Offers are answered or
// refused (no answer), calls end and free the operator for the next. The
// test's log checks that no caller is offered while it is offered to
// another operator or after it was answered, that no operator is offered
// a caller while it holds one, and no offer is handed out twice; at the
// end every caller was answered once and Redis passes the audit.
func TestConcurrentSelectionKeepsInvariants(t *testing.T) {
	const (
		nCallers = 300
		nAgents  = 30
		nWorkers = 12
	)
	topics := []string{"low", "mid", "high"}
	addr := redistest.Addr(t)
	centre := redistest.Prefix(t)
	ctx := context.Background()
	var ds []*dispatch.Dispatcher
	for range 3 {
		ds = append(ds, dispatch.New(redistest.Client(t, addr), centre, lease))
	}
	admin := redistest.Client(t, addr)
	var ms atomic.Int64
	now := func() time.Time { return t0.Add(time.Duration(ms.Add(1)) * time.Millisecond) }

	var ops []agents.Operator
	for i := range nAgents {
		id := fmt.Sprintf("op%02d", i)
		o := agents.Operator{ID: id, Endpoint: "PJSIP/" + id, Skills: map[string]int{topics[i%3]: 1 + i%10}, Languages: []string{[]string{"ru", "kk"}[i%2]}}
		if i%4 == 0 {
			o.Skills[topics[(i+1)%3]] = 10 - i%10
		}
		ops = append(ops, o)
	}
	if err := agents.New(admin, centre).Sync(ctx, ops, now()); err != nil {
		t.Fatal(err)
	}
	if err := ds[0].SetRules(ctx, map[string]dispatch.Rule{
		"low":  {Ageing: 20 * time.Millisecond},
		"mid":  {Selection: dispatch.Weighted, LevelWeight: 5 * time.Millisecond, Ageing: 50 * time.Millisecond},
		"high": {Selection: dispatch.BestLevel},
	}); err != nil {
		t.Fatal(err)
	}

	var (
		mu         sync.Mutex
		holds      = map[string]string{} // agent -> the call it is offered or talks on
		offeredTo  = map[string]string{} // call -> agent ringing with it
		answeredBy = map[string]string{} // call -> agent
		offers     = map[string]bool{}   // "call#seq"
		failures   []string
	)
	fail := func(format string, a ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	tasks := make(chan func(d *dispatch.Dispatcher), 1<<14)
	var pending sync.WaitGroup
	spawn := func(f func(d *dispatch.Dispatcher)) { pending.Add(1); tasks <- f }
	var workers sync.WaitGroup
	for w := range nWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for f := range tasks {
				f(ds[w%len(ds)])
				pending.Done()
			}
		}()
	}

	var offer func(rs []dispatch.Reservation)
	offer = func(rs []dispatch.Reservation) {
		for _, r := range rs {
			key := fmt.Sprintf("%s#%d", r.CallID, r.Seq)
			mu.Lock()
			switch {
			case offers[key]:
				failures = append(failures, "offer "+key+" handed out twice")
			case holds[r.AgentID] != "":
				failures = append(failures, fmt.Sprintf("%s offered %s while holding %s", r.AgentID, r.CallID, holds[r.AgentID]))
			case offeredTo[r.CallID] != "":
				failures = append(failures, fmt.Sprintf("%s offered to %s while ringing %s", r.CallID, r.AgentID, offeredTo[r.CallID]))
			case answeredBy[r.CallID] != "":
				failures = append(failures, fmt.Sprintf("%s offered to %s after %s answered it", r.CallID, r.AgentID, answeredBy[r.CallID]))
			}
			offers[key] = true
			holds[r.AgentID], offeredTo[r.CallID] = r.CallID, r.AgentID
			mu.Unlock()
			spawn(func(d *dispatch.Dispatcher) {
				if rand.IntN(5) == 0 {
					mu.Lock() // released before the script: it may offer both again
					delete(holds, r.AgentID)
					delete(offeredTo, r.CallID)
					mu.Unlock()
					res, err := d.NoAnswer(ctx, r, 0, now())
					if err != nil {
						fail("no answer %s: %v", r, err)
					}
					offer(res.Reservations)
					return
				}
				if err := d.Answered(ctx, r, now()); err != nil {
					fail("answered %s: %v", r, err)
					return
				}
				mu.Lock()
				delete(offeredTo, r.CallID)
				answeredBy[r.CallID] = r.AgentID
				mu.Unlock()
				spawn(func(d *dispatch.Dispatcher) {
					mu.Lock()
					delete(holds, r.AgentID)
					mu.Unlock()
					rs, err := d.EndedCall(ctx, r.AgentID, r.CallID, 0, now())
					if err != nil {
						fail("ended %s: %v", r, err)
					}
					offer(rs)
				})
			})
		}
	}

	callIDs := make([]string, nCallers)
	for i := range nCallers {
		id := fmt.Sprintf("call%03d", i)
		callIDs[i] = id
		spawn(func(d *dispatch.Dispatcher) {
			at := now()
			e, err := d.EnqueueAndClaim(ctx, dispatch.Caller{CallID: id, Topic: topics[i%3], Priority: rand.IntN(3),
				Arrival: at, Language: []string{"ru", "kk"}[rand.IntN(2)]}, at)
			if err != nil {
				fail("enqueue %s: %v", id, err)
			}
			offer(e.Reservations)
		})
		if i%(nCallers/nAgents) == 0 { // operators sign in one by one while callers arrive
			o := ops[i/(nCallers/nAgents)]
			spawn(func(d *dispatch.Dispatcher) {
				rs, err := d.Ready(ctx, o.ID, now())
				if err != nil {
					fail("ready %s: %v", o.ID, err)
				}
				offer(rs)
			})
		}
	}
	pending.Wait() // every offer answered and every call ended: nothing left to do
	close(tasks)
	workers.Wait()

	for _, f := range failures {
		t.Error(f)
	}
	for _, id := range callIDs {
		if answeredBy[id] == "" {
			t.Errorf("%s never answered", id)
		}
	}
	audit(t, admin, centre, callIDs...)
	for _, tp := range topics {
		if n := admin.ZCard(ctx, rkeys.Queue(centre, tp)).Val(); n != 0 {
			t.Errorf("queue %s holds %d", tp, n)
		}
	}
	list, err := agents.New(admin, centre).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.State != agents.Ready {
			t.Errorf("%s ends %s (call %q)", a.ID, a.State, a.CallID)
		}
	}
	t.Logf("%d offers for %d callers", len(offers), nCallers)
}
