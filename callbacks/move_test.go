package callbacks_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/queue"
)

// moveFixture is a centre with topic queues and operators as well as
// callbacks: what a supervisor's move touches.
type moveFixture struct {
	*fixture
	d  *dispatch.Dispatcher
	q  *queue.Queue
	ag *agents.Registry
}

func newMoveFixture(t *testing.T, ops ...agents.Operator) *moveFixture {
	t.Helper()
	f := newFixture(t)
	m := &moveFixture{fixture: f, d: dispatch.New(f.rdb, f.centre, 30*time.Second), q: queue.New(f.rdb, f.centre, time.Minute),
		ag: agents.New(f.rdb, f.centre)}
	if err := m.ag.Sync(f.ctx, ops, f.now); err != nil {
		t.Fatal(err)
	}
	return m
}

func operator(id, skill string) agents.Operator {
	return agents.Operator{ID: id, Endpoint: "PJSIP/" + id, Skills: map[string]int{skill: 5}}
}

// queueDue does what the router's promotion does: each due callback is
// promoted, its entry joins its topic queue at its original place (an
// entry still there is ErrExists: done) and it is marked queued. It
// returns the offers the enqueues made.
func (m *moveFixture) queueDue() []dispatch.Reservation {
	m.t.Helper()
	return m.queueDueOn(instance{m.s, m.d})
}

// instance is one router instance's view of the centre.
type instance struct {
	s *callbacks.Store
	d *dispatch.Dispatcher
}

// another is another instance on clients of its own.
func (m *moveFixture) another() instance {
	rdb := redistest.Client(m.t, m.addr)
	return instance{m.store(rdb), dispatch.New(rdb, m.centre, 30*time.Second)}
}

func (m *moveFixture) queueDueOn(in instance) []dispatch.Reservation {
	m.t.Helper()
	var out []dispatch.Reservation
	due, err := in.s.Promote(m.ctx, m.now, 100)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, cb := range due {
		e, err := in.d.EnqueueAndClaim(m.ctx, dispatch.Caller{CallID: cb.CallID(), Topic: cb.Topic, Priority: cb.Priority,
			Arrival: cb.Arrival(), Language: cb.Language, CallerNumber: cb.Number, IVRPath: "callback"}, m.now)
		if err != nil && !errors.Is(err, dispatch.ErrExists) {
			m.t.Fatal(err)
		}
		out = append(out, e.Reservations...)
		if err := in.s.MarkQueued(m.ctx, cb.ID, m.now); err != nil {
			m.t.Fatal(err)
		}
	}
	return out
}

// entry is where the callback's queue entry stands ("" none).
func (m *moveFixture) entry(id string) queue.Position {
	m.t.Helper()
	p, err := m.q.Position(m.ctx, callbacks.CallIDPrefix+id)
	if err != nil && !errors.Is(err, queue.ErrNotFound) {
		m.t.Fatal(err)
	}
	return p
}

// indexScript checks, atomically, the invariants of cblib.lua for every
// open callback, and that a callback's queue entry is in its own topic
// (never in another, never in two queues). Returns the violations.
var indexScript = func() *redis.Script {
	lib, err := os.ReadFile("lua/cblib.lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(rkeys.Lua(string(lib) + `
local bad = {}
local function fail(m) bad[#bad + 1] = m end
local n = {}
for _, id in ipairs(redis.call('ZRANGE', k_cb_open(), 0, -1)) do
  local c = cb_load(id)
  if not c or not CB_OPEN[c.status] then fail(id .. ' in cb-open but not open')
  else
    n[c.status] = (n[c.status] or 0) + 1
    if (redis.call('ZSCORE', k_cb_due(), id) ~= false) ~= (c.status == 'scheduled') then fail(id .. ' cb-due wrong when ' .. c.status) end
    if (redis.call('ZSCORE', k_cb_leases(), id) ~= false) == (c.status == 'scheduled') then fail(id .. ' cb-leases wrong when ' .. c.status) end
    local kv = redis.call('HGETALL', k_cb_num(c.number))
    local found = false
    for i = 1, #kv, 2 do
      if kv[i + 1] == id then
        if kv[i] == c.topic then found = true else fail(id .. ' indexed under its number in ' .. kv[i] .. ', is in ' .. c.topic) end
      end
    end
    if not found then fail(id .. ' not indexed under its number in ' .. c.topic) end
    local e = load_caller('cb-' .. id)
    if e and e.topic ~= c.topic then fail(id .. ' is in ' .. c.topic .. ', its queue entry in ' .. e.topic) end
  end
end
for _, st in ipairs({ 'scheduled', 'promoting', 'queued', 'in_flight' }) do
  local got = tonumber(redis.call('HGET', k_cb_counts(), st)) or 0
  if got ~= (n[st] or 0) then fail('cb-counts says ' .. got .. ' ' .. st .. ', ' .. (n[st] or 0) .. ' are') end
end
local where = {}
for _, t in ipairs(redis.call('SMEMBERS', k_topics())) do
  for _, cid in ipairs(redis.call('ZRANGE', k_queue(t), 0, -1)) do
    local e = load_caller(cid)
    if not e or e.state ~= 'waiting' or e.topic ~= t then fail(cid .. ' in queue ' .. t .. ' but not waiting there') end
    if where[cid] then fail(cid .. ' in queues ' .. where[cid] .. ' and ' .. t) end
    where[cid] = t
  end
end
return bad
`))
}()

// checkIndexes fails the test on any broken invariant.
func (m *moveFixture) checkIndexes() {
	m.t.Helper()
	bad, err := indexScript.Run(m.ctx, m.rdb, []string{rkeys.Prefix(m.centre)}).StringSlice()
	if err != nil {
		m.t.Fatal(err)
	}
	for _, b := range bad {
		m.t.Error(b)
	}
}

// dump is everything Redis holds about callback id, its number's index
// and its queue entry: a refused move must not change a byte of it.
func (m *moveFixture) dump(id string) string {
	m.t.Helper()
	var b strings.Builder
	h := m.rdb.HGetAll(m.ctx, rkeys.Callback(m.centre, id)).Val()
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, h[k])
	}
	fmt.Fprintf(&b, "\nnum=%v log=%d", m.rdb.HGetAll(m.ctx, rkeys.CallbacksByNumber(m.centre, h["number"])).Val(),
		m.rdb.LLen(m.ctx, rkeys.CallbackLog(m.centre, id)).Val())
	for _, z := range []string{rkeys.CallbacksDue(m.centre), rkeys.CallbacksOpen(m.centre), rkeys.CallbackLeases(m.centre),
		rkeys.Queue(m.centre, "testing"), rkeys.Queue(m.centre, "general")} {
		fmt.Fprintf(&b, "\n%s: %v", z, m.rdb.ZScore(m.ctx, z, id).Val())
	}
	fmt.Fprintf(&b, "\nentry=%v counts=%v", m.rdb.HGetAll(m.ctx, rkeys.Caller(m.centre, callbacks.CallIDPrefix+id)).Val(),
		m.rdb.HGetAll(m.ctx, rkeys.CallbackCounts(m.centre)).Val())
	return b.String()
}

func (m *moveFixture) moves() []callbacks.Action {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []callbacks.Action
	for _, a := range m.actions {
		if a.Kind == "moved_topic" {
			out = append(out, a)
		}
	}
	return out
}

// A supervisor moves a callback from testing to general: each status is
// moved or refused, and a refusal changes nothing.
func TestMoveByStatus(t *testing.T) {
	const number = "+77011234567"
	vh := callbacks.ReasonVirtualHold // due at once
	for _, tt := range []struct {
		name    string
		setup   func(m *moveFixture) string // returns the callback id
		topic   string                      // "" general
		want    error                       // nil moved
		status  callbacks.Status            // after the move
		dueNow  bool                        // due now after the move (else its due time is kept)
		noMoved bool                        // succeeds without a move (already there)
	}{
		{name: "scheduled", status: callbacks.StatusScheduled, setup: func(m *moveFixture) string {
			return m.schedule(number, "testing", callbacks.ReasonAbandoned, t0).ID
		}},
		{name: "scheduled for a retry after an unanswered attempt", status: callbacks.StatusScheduled, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			if cb := m.attempt(id, callbacks.ResultNoAnswer); cb.Status != callbacks.StatusScheduled || cb.Tries != 1 {
				m.t.Fatalf("after no answer: %s, %d tries", cb.Status, cb.Tries)
			}
			return id
		}},
		{name: "queued, waiting in its queue", status: callbacks.StatusScheduled, dueNow: true, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0.Add(-5*time.Minute)).ID
			m.queueDue()
			return id
		}},
		{name: "queued, its entry gone", status: callbacks.StatusScheduled, dueNow: true, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.promote()
			if err := m.s.MarkQueued(m.ctx, id, m.now); err != nil {
				m.t.Fatal(err)
			}
			return id
		}},
		{name: "scheduled again with its entry still waiting", status: callbacks.StatusScheduled, dueNow: true, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.queueDue()
			m.tick(time.Second)
			// The offer's operator did not answer: the entry is given back
			// and the callback is due again.
			if _, err := m.s.Begin(m.ctx, id, "a1", "1001", m.now); err != nil {
				m.t.Fatal(err)
			}
			if err := m.s.Abort(m.ctx, id, "a1", "operator_no_answer", m.now); err != nil {
				m.t.Fatal(err)
			}
			return id
		}},
		{name: "queued, offered to an operator", want: callbacks.ErrBusy, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.queueDue()
			if rs, err := m.d.Ready(m.ctx, "1001", m.now); err != nil || len(rs) != 1 || rs[0].CallID != callbacks.CallIDPrefix+id {
				m.t.Fatalf("Ready = %v, %v", rs, err)
			}
			return id
		}},
		{name: "promoting", want: callbacks.ErrBusy, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.promote()
			return id
		}},
		{name: "in flight", want: callbacks.ErrBusy, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.queueDue()
			if _, err := m.s.Begin(m.ctx, id, "a1", "1001", m.now); err != nil {
				m.t.Fatal(err)
			}
			return id
		}},
		{name: "reached", want: callbacks.ErrClosed, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			m.attempt(id, callbacks.ResultReached)
			return id
		}},
		{name: "unreached", want: callbacks.ErrClosed, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", vh, t0).ID
			if cb := m.attempt(id, callbacks.ResultUnallocated); cb.Status != callbacks.StatusUnreached {
				m.t.Fatalf("after unallocated: %s", cb.Status)
			}
			return id
		}},
		{name: "cancelled", want: callbacks.ErrClosed, setup: func(m *moveFixture) string {
			id := m.schedule(number, "testing", callbacks.ReasonAbandoned, t0).ID
			if _, err := m.s.Cancel(m.ctx, id, "sup1", m.now); err != nil {
				m.t.Fatal(err)
			}
			return id
		}},
		{name: "the number owed a callback in that topic too", want: callbacks.ErrDuplicate, setup: func(m *moveFixture) string {
			m.schedule(number, "general", callbacks.ReasonAbandoned, t0)
			return m.schedule(number, "testing", callbacks.ReasonAbandoned, t0).ID
		}},
		{name: "already in that topic", topic: "testing", noMoved: true, setup: func(m *moveFixture) string {
			return m.schedule(number, "testing", callbacks.ReasonAbandoned, t0).ID
		}},
		{name: "no such callback", want: callbacks.ErrNotFound, setup: func(*moveFixture) string { return "nope" }},
		{name: "a malformed topic", topic: "gen:eral", want: callbacks.ErrInvalid, setup: func(m *moveFixture) string {
			return m.schedule(number, "testing", callbacks.ReasonAbandoned, t0).ID
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMoveFixture(t, operator("1001", "testing"), operator("1004", "general"))
			id := tt.setup(m)
			m.tick(time.Minute)
			topic := tt.topic
			if topic == "" {
				topic = "general"
			}
			before, was := m.dump(id), callbacks.Callback{}
			if tt.want != callbacks.ErrNotFound {
				was = m.get(id)
			}
			err := m.s.Move(m.ctx, id, topic, "sup1", m.now)
			m.checkIndexes()
			if tt.want != nil || tt.noMoved {
				if !errors.Is(err, tt.want) || (err != nil && !strings.Contains(err.Error(), id)) {
					t.Fatalf("Move = %v; want %v naming %s", err, tt.want, id)
				}
				if after := m.dump(id); after != before {
					t.Errorf("a refused move changed Redis:\nbefore %s\nafter  %s", before, after)
				}
				if mv := m.moves(); len(mv) != 0 {
					t.Errorf("audited %+v", mv)
				}
				return
			}
			if err != nil {
				t.Fatalf("Move: %v", err)
			}
			cb := m.get(id)
			if cb.Topic != "general" || cb.Status != tt.status || cb.Tries != was.Tries || !cb.QueueTime.Equal(was.QueueTime) ||
				cb.Priority != was.Priority || !slices.Equal(cb.Reasons, was.Reasons) || !cb.ExpiresAt.Equal(was.ExpiresAt) {
				t.Errorf("moved: %+v\nwas %+v", cb, was)
			}
			if wantDue := map[bool]time.Time{true: m.now, false: was.DueAt}[tt.dueNow]; !cb.DueAt.Equal(wantDue) {
				t.Errorf("due %s, want %s", cb.DueAt, wantDue)
			}
			if p := m.entry(id); p.State != queue.StateUnknown {
				t.Errorf("its old queue entry is still %+v", p)
			}
			if last := cb.History[len(cb.History)-1]; last.Kind != "moved_topic" || last.Who != "sup1" || last.Detail != "testing" {
				t.Errorf("history ends %+v", last)
			}
			mv := m.moves()
			if len(mv) != 1 || mv[0].Who != "sup1" || mv[0].Topic != "general" || mv[0].CallbackID != id || !strings.Contains(mv[0].Detail, "from testing") {
				t.Errorf("audit %+v", mv)
			}
			// Whatever it was, it is now where promotion finds it when due
			// and goes only into general's queue.
			m.at(cb.DueAt)
			m.queueDue()
			if p := m.entry(id); p.State != queue.StateWaiting || p.Topic != "general" {
				t.Errorf("after promotion its entry is %+v, want waiting in general", p)
			}
			if n, _ := m.q.Len(m.ctx, "testing"); n != 0 {
				t.Errorf("%d still wait in testing", n)
			}
			m.checkIndexes()
		})
	}
}

// A queued callback moved to another topic is offered from the new
// topic's queue only, at its original place, and never lost in between.
func TestMovedQueuedCallbackIsOfferedFromTheNewTopicOnly(t *testing.T) {
	m := newMoveFixture(t, operator("1001", "testing"), operator("1004", "general"))
	cb := m.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0.Add(-5*time.Minute))
	if rs := m.queueDue(); len(rs) != 0 {
		t.Fatalf("offered %v with nobody ready", rs)
	}
	// An inbound caller of general who came after the citizen first did.
	if _, err := m.d.EnqueueAndClaim(m.ctx, dispatch.Caller{CallID: "in-1", Topic: "general", Arrival: t0.Add(-time.Minute)}, m.now); err != nil {
		t.Fatal(err)
	}
	m.tick(time.Second)
	if err := m.s.Move(m.ctx, cb.ID, "general", "sup1", m.now); err != nil {
		t.Fatal(err)
	}
	m.checkIndexes()
	// testing's operator gets nothing: it left that queue with the move.
	if rs, err := m.d.Ready(m.ctx, "1001", m.now); err != nil || len(rs) != 0 {
		t.Fatalf("testing's operator offered %v, %v after the move", rs, err)
	}
	// Not in a queue until promoted, but owed and due: a promotion by any
	// instance (this one might have stopped here) finds it.
	other := m.another()
	if due, _ := other.s.List(m.ctx, callbacks.Filter{Status: []callbacks.Status{callbacks.StatusScheduled}}, 10); len(due) != 1 || !due[0].DueAt.Equal(m.now) {
		t.Fatalf("scheduled after the move: %+v", due)
	}
	m.queueDueOn(other)
	m.checkIndexes()
	if p := m.entry(cb.ID); p.State != queue.StateWaiting || p.Topic != "general" || p.Pos != 1 || !p.QueueTime.Equal(cb.Arrival()) {
		t.Fatalf("entry %+v; want first in general at %s", p, cb.Arrival())
	}
	if n, _ := m.q.Len(m.ctx, "testing"); n != 0 {
		t.Errorf("%d wait in testing", n)
	}
	rs, err := m.d.Ready(m.ctx, "1004", m.now)
	if err != nil || len(rs) != 1 || rs[0].CallID != cb.CallID() || rs[0].Topic != "general" {
		t.Fatalf("general's operator offered %v, %v; want the callback", rs, err)
	}
	got, err := m.s.Begin(m.ctx, cb.ID, cb.CallID()+"-a1", "1004", m.now)
	if err != nil || got.Topic != "general" || got.Status != callbacks.StatusInFlight {
		t.Fatalf("Begin = %+v, %v", got, err)
	}
	if err := m.s.Move(m.ctx, cb.ID, "testing", "sup1", m.now); !errors.Is(err, callbacks.ErrBusy) {
		t.Errorf("moving it back while in flight: %v", err)
	}
	m.checkIndexes()
}

// A supervisor moves a queued callback as an operator takes it: exactly
// one of them wins, and Redis is consistent either way.
func TestMoveVersusBegin(t *testing.T) {
	const rounds = 30
	var ops []agents.Operator
	for i := range rounds {
		ops = append(ops, operator(fmt.Sprintf("op%d", i), "testing"))
	}
	m := newMoveFixture(t, ops...)
	sup, opr := m.another(), m.another()
	var moves, begins int
	for i := range rounds {
		agent := fmt.Sprintf("op%d", i)
		cb := m.schedule(fmt.Sprintf("+770110000%02d", i), "testing", callbacks.ReasonVirtualHold, t0)
		m.queueDue()
		start := make(chan struct{})
		var wg sync.WaitGroup
		var moveErr, beginErr error
		began := false
		wg.Add(2)
		go func() { // the operator goes ready and is offered the callback
			defer wg.Done()
			<-start
			rs, err := opr.d.Ready(m.ctx, agent, m.now)
			if err != nil {
				beginErr = err
				return
			}
			for _, r := range rs {
				if r.CallID == cb.CallID() {
					_, beginErr = opr.s.Begin(m.ctx, cb.ID, cb.CallID()+"-a1", agent, m.now)
					began = beginErr == nil
				}
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			moveErr = sup.s.Move(m.ctx, cb.ID, "general", "sup1", m.now)
		}()
		close(start)
		wg.Wait()
		if beginErr != nil {
			t.Fatalf("round %d: the operator's side: %v", i, beginErr)
		}
		moved := moveErr == nil
		if moved == began {
			t.Fatalf("round %d: moved %v (%v), begun %v: want exactly one", i, moved, moveErr, began)
		}
		got := m.get(cb.ID)
		p := m.entry(cb.ID)
		a, err := m.ag.Get(m.ctx, agent)
		if err != nil {
			t.Fatal(err)
		}
		if moved {
			moves++
			if got.Topic != "general" || got.Status != callbacks.StatusScheduled || p.State != queue.StateUnknown || a.State != agents.Ready {
				t.Fatalf("round %d: moved, yet %s in %s, entry %+v, %s %s", i, got.Status, got.Topic, p, agent, a.State)
			}
			// The operator found nothing; out of the way of the next round.
			if err := m.ag.Logout(m.ctx, agent, "done", m.now); err != nil {
				t.Fatal(err)
			}
		} else {
			begins++
			if !errors.Is(moveErr, callbacks.ErrBusy) {
				t.Fatalf("round %d: the refused move: %v; want ErrBusy", i, moveErr)
			}
			if got.Topic != "testing" || got.Status != callbacks.StatusInFlight || got.AgentID != agent || p.State != queue.StateOffered || p.AgentID != agent {
				t.Fatalf("round %d: begun, yet %s in %s by %s, entry %+v", i, got.Status, got.Topic, got.AgentID, p)
			}
		}
		m.checkIndexes()
	}
	t.Logf("%d rounds: the move won %d, the operator %d", rounds, moves, begins)
	if n := len(m.moves()); n != moves {
		t.Errorf("%d moves audited, %d made", n, moves)
	}
}

// Moving again, or from several instances at once, moves it once.
func TestMoveIsIdempotent(t *testing.T) {
	m := newMoveFixture(t)
	cb := m.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	m.queueDue()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		other := m.another()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = other.s.Move(m.ctx, cb.ID, "general", "sup1", m.now)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	if err := m.s.Move(m.ctx, cb.ID, "general", "sup1", m.now); err != nil {
		t.Errorf("the same move again: %v", err)
	}
	got := m.get(cb.ID)
	n := 0
	for _, e := range got.History {
		if e.Kind == "moved_topic" {
			n++
		}
	}
	if got.Topic != "general" || n != 1 || len(m.moves()) != 1 {
		t.Errorf("after four moves to general: topic %s, %d in history, %d audited; want one", got.Topic, n, len(m.moves()))
	}
	m.checkIndexes()
	// And back again: the number's index follows.
	if err := m.s.Move(m.ctx, cb.ID, "testing", "sup2", m.now); err != nil || m.get(cb.ID).Topic != "testing" {
		t.Fatalf("moving back: %v", err)
	}
	m.checkIndexes()
	// A new request from the number for testing merges into it.
	if again := m.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, t0); again.ID != cb.ID {
		t.Errorf("a new request made %s; want it merged into %s", again.ID, cb.ID)
	}
}
