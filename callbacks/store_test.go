package callbacks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/queue"
)

// almaty is the centre's calendar: weekdays 08–20, Saturday 09–15, Sunday
// closed, and Nauryz (Monday 23 March 2026) a holiday.
var almaty = config.Hours{
	TimeZone: "Asia/Almaty",
	Weekly: []config.WeeklyOpen{
		{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "08:00", Close: "20:00"},
		{Days: []string{"sat"}, Open: "09:00", Close: "15:00"},
	},
	Holidays: []string{"2026-03-23"},
}

var _ callbacks.Calendar = almaty

func local(s string) time.Time {
	loc, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// t0 is a Wednesday at 10:00 in Almaty, the centre open.
var t0 = local("2026-03-18 10:00")

var rules = callbacks.Rules{
	Numbers:     callbacks.NumberRules{CountryCode: "7", Deny: []string{"+7800*"}},
	Delays:      []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute, 2 * time.Hour},
	MaxAttempts: 4,
	Expiry:      24 * time.Hour,
	Calendar:    almaty,
}

type fixture struct {
	t       *testing.T
	ctx     context.Context
	addr    string
	rdb     *redis.Client
	centre  string
	s       *callbacks.Store
	now     time.Time
	mu      sync.Mutex
	actions []callbacks.Action
	rules   callbacks.Rules
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	addr := redistest.Addr(t)
	f := &fixture{t: t, ctx: context.Background(), addr: addr, rdb: redistest.Client(t, addr), centre: redistest.Prefix(t), now: t0, rules: rules}
	f.s = f.store(f.rdb)
	return f
}

// store is another instance's view of the same centre.
func (f *fixture) store(rdb *redis.Client) *callbacks.Store {
	n := 0
	return callbacks.New(rdb, f.centre, callbacks.Options{
		CountryCode:  "7",
		PromoteLease: 10 * time.Second,
		AttemptLease: time.Minute,
		Audit: func(a callbacks.Action) {
			f.mu.Lock()
			f.actions = append(f.actions, a)
			f.mu.Unlock()
		},
		NewID: func() string {
			f.mu.Lock()
			defer f.mu.Unlock()
			n++
			return fmt.Sprintf("%p-%d", rdb, n)[2:]
		},
	})
}

func (f *fixture) at(t time.Time)       { f.now = t }
func (f *fixture) tick(d time.Duration) { f.now = f.now.Add(d) }

func (f *fixture) schedule(raw, topic, reason string, queued time.Time) callbacks.Callback {
	f.t.Helper()
	cb, _, err := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: raw, Topic: topic, Language: "kk", Reason: reason,
		QueueTime: queued, Priority: 1, SourceCallID: "call-" + reason}, f.rules, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return cb
}

func (f *fixture) get(id string) callbacks.Callback {
	f.t.Helper()
	cb, err := f.s.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return cb
}

func (f *fixture) promote() []callbacks.Callback {
	f.t.Helper()
	cbs, err := f.s.Promote(f.ctx, f.now, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return cbs
}

// attempt promotes id (which must be due), queues it, begins and finishes
// an attempt with result, and returns the callback after.
func (f *fixture) attempt(id, result string) callbacks.Callback {
	f.t.Helper()
	got := f.promote()
	if len(got) != 1 || got[0].ID != id {
		f.t.Fatalf("at %s promoted %v; want only %s", f.now, ids(got), id)
	}
	if err := f.s.MarkQueued(f.ctx, id, f.now); err != nil {
		f.t.Fatal(err)
	}
	call := fmt.Sprintf("cb-%s-a%d", id, f.now.Unix())
	if _, err := f.s.Begin(f.ctx, id, call, "1001", f.now); err != nil {
		f.t.Fatal(err)
	}
	cb, err := f.s.Finish(f.ctx, id, callbacks.Attempt{CallID: call, AgentID: "1001", Result: result, Cause: 19}, f.rules, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return cb
}

func (f *fixture) kinds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.actions {
		out = append(out, a.Kind)
	}
	return out
}

func ids(cbs []callbacks.Callback) []string {
	var out []string
	for _, cb := range cbs {
		out = append(out, cb.ID)
	}
	return out
}

func TestEachReasonSchedulesOneCallback(t *testing.T) {
	reasons := []struct {
		reason string
		due    time.Duration // after the request
	}{
		{callbacks.ReasonAbandoned, 2 * time.Minute},
		{callbacks.ReasonDropped, 2 * time.Minute},
		{callbacks.ReasonOperatorMarked, 2 * time.Minute},
		{callbacks.ReasonVirtualHold, 0}, // keeps its place: due at once
		{callbacks.ReasonNoService, 2 * time.Minute},
		{callbacks.ReasonOutage, 2 * time.Minute},
	}
	for i, tt := range reasons {
		t.Run(tt.reason, func(t *testing.T) {
			f := newFixture(t)
			queued := t0.Add(-3 * time.Minute)
			number := fmt.Sprintf("8 (701) 123-45-6%d", i)
			cb, created, err := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: number, Topic: "testing", Language: "kk",
				Reason: tt.reason, QueueTime: queued, Priority: 2, SourceCallID: "c1", Note: "line\nwas bad"}, rules, f.now)
			if err != nil || !created {
				t.Fatalf("Schedule = %v, %v", created, err)
			}
			want := fmt.Sprintf("+770112345 6%d", i)
			want = want[:10] + want[11:]
			if cb.Number != want || cb.Topic != "testing" || cb.Language != "kk" || !slices.Equal(cb.Reasons, []string{tt.reason}) ||
				!cb.QueueTime.Equal(queued) || cb.Priority != 2 || cb.Status != callbacks.StatusScheduled ||
				!cb.DueAt.Equal(t0.Add(tt.due)) || cb.SourceCallID != "c1" || cb.Note != "line was bad" || !cb.CreatedAt.Equal(t0) {
				t.Errorf("callback = %+v", cb)
			}
			if !cb.ExpiresAt.Equal(cb.DueAt.Add(24 * time.Hour)) {
				t.Errorf("expires %s; want 24h after due %s", cb.ExpiresAt, cb.DueAt)
			}
			all, err := f.s.List(f.ctx, callbacks.Filter{}, 10)
			if err != nil || len(all) != 1 || all[0].ID != cb.ID {
				t.Errorf("List = %v, %v; want exactly %s", ids(all), err, cb.ID)
			}
			c, _ := f.s.Counts(f.ctx)
			if c.Scheduled != 1 || c.Pending != 1 || c.Waiting != 1 {
				t.Errorf("counts = %+v", c)
			}
			if k := f.kinds(); !slices.Equal(k, []string{"scheduled"}) {
				t.Errorf("audit = %v", k)
			}
		})
	}
}

func TestMergeIntoOpenCallback(t *testing.T) {
	f := newFixture(t)
	early, late := t0.Add(-10*time.Minute), t0.Add(-time.Minute)
	a := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, late)
	f.tick(30 * time.Second)
	// The same number written another way, an earlier queue time, another reason.
	b, created, err := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: "87011234567", Topic: "testing", Language: "ru",
		Reason: callbacks.ReasonDropped, QueueTime: early, Priority: 3, SourceCallID: "c2", Note: "needs results"}, rules, f.now)
	if err != nil || created || b.ID != a.ID {
		t.Fatalf("second request: %s created=%v err=%v; want merged into %s", b.ID, created, err, a.ID)
	}
	if !slices.Equal(b.Reasons, []string{"abandoned", "dropped"}) || !b.QueueTime.Equal(early) || b.Priority != 3 ||
		b.Language != "kk" || b.Note != "needs results" || !b.DueAt.Equal(a.DueAt) {
		t.Errorf("merged = %+v", b)
	}
	// The same reason again adds nothing but history; the earlier queue time stays.
	c, _, _ := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: "+7 701 123 45 67", Topic: "testing", Reason: callbacks.ReasonDropped,
		QueueTime: late, SourceCallID: "c3"}, rules, f.now)
	if c.ID != a.ID || len(c.Reasons) != 2 || !c.QueueTime.Equal(early) {
		t.Errorf("third = %+v", c)
	}
	var hist []string
	for _, e := range c.History {
		hist = append(hist, e.Kind+"/"+e.Reason+"/"+e.CallID)
	}
	if want := []string{"scheduled/abandoned/call-abandoned", "merged/dropped/c2", "merged/dropped/c3"}; !slices.Equal(hist, want) {
		t.Errorf("history = %v; want %v", hist, want)
	}
	// Once closed, a new request opens a new callback.
	f.tick(2 * time.Minute)
	if cb := f.attempt(a.ID, callbacks.ResultReached); cb.Status != callbacks.StatusReached {
		t.Fatalf("status %s", cb.Status)
	}
	e := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, f.now)
	if e.ID == a.ID {
		t.Error("merged into a closed callback")
	}
	// Another topic is another callback.
	d := f.schedule("+77011234567", "general", callbacks.ReasonAbandoned, late)
	if d.ID == e.ID {
		t.Error("another topic merged")
	}
	cnt, _ := f.s.Counts(f.ctx)
	if cnt.Scheduled != 3 || cnt.Merged != 2 || cnt.Pending != 2 || cnt.Reached != 1 {
		t.Errorf("counts = %+v", cnt)
	}
}

// A merge brings a scheduled callback's due time forward, never back.
func TestMergeKeepsEarlierDue(t *testing.T) {
	f := newFixture(t)
	a := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, t0)
	b := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	if b.ID != a.ID || !b.DueAt.Equal(t0) {
		t.Fatalf("virtual hold merge: due %s; want now", b.DueAt)
	}
	f.tick(time.Minute)
	c := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, t0)
	if !c.DueAt.Equal(t0) {
		t.Errorf("due moved to %s", c.DueAt)
	}
}

// Retries follow the delays, moved into business hours over a weekend and
// a holiday, until MaxAttempts makes the callback unreached.
func TestRetriesFollowDelaysAndHours(t *testing.T) {
	f := newFixture(t)
	f.rules.Expiry = 7 * 24 * time.Hour
	f.at(local("2026-03-20 19:50")) // Friday evening
	cb := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, f.now)
	steps := []struct {
		at     string // attempt time
		status callbacks.Status
		due    string // next due after the attempt
	}{
		// first due 19:52; fails at 19:52 -> +10m = 20:02, closed: Saturday 09:00
		{"2026-03-20 19:52", callbacks.StatusScheduled, "2026-03-21 09:00"},
		// fails at 09:00 -> +30m
		{"2026-03-21 09:00", callbacks.StatusScheduled, "2026-03-21 09:30"},
		// fails at 14:00 -> +2h = 16:00, closed; Sunday closed; Monday Nauryz: Tuesday 08:00
		{"2026-03-21 14:00", callbacks.StatusScheduled, "2026-03-24 08:00"},
		// the fourth attempt is the last
		{"2026-03-24 08:00", callbacks.StatusUnreached, ""},
	}
	if want := local("2026-03-20 19:52"); !cb.DueAt.Equal(want) {
		t.Fatalf("first due %s; want %s", cb.DueAt, want)
	}
	for i, st := range steps {
		f.at(local(st.at))
		got := f.attempt(cb.ID, callbacks.ResultNoAnswer)
		if got.Status != st.status || got.Tries != i+1 {
			t.Fatalf("attempt %d at %s: status %s tries %d; want %s %d", i+1, st.at, got.Status, got.Tries, st.status, i+1)
		}
		if st.due != "" && !got.DueAt.Equal(local(st.due)) {
			t.Fatalf("attempt %d: next due %s; want %s", i+1, got.DueAt.In(almatyLoc()), st.due)
		}
		if st.due != "" && len(f.promoteAt(got.DueAt.Add(-time.Second))) != 0 {
			t.Fatalf("attempt %d: promoted before due", i+1)
		}
	}
	cb = f.get(cb.ID)
	if len(cb.Attempts) != 4 || cb.Attempts[3].Result != "no_answer" || cb.Attempts[0].Cause != 19 || cb.Attempts[2].AgentID != "1001" {
		t.Errorf("attempts = %+v", cb.Attempts)
	}
	if h := cb.History[len(cb.History)-1]; h.Kind != "unreached" || h.Reason != "max_attempts" {
		t.Errorf("last event = %+v", h)
	}
	c, _ := f.s.Counts(f.ctx)
	if c.Unreached != 1 || c.Pending != 0 || c.Attempts != 4 {
		t.Errorf("counts = %+v", c)
	}
	if k := f.kinds(); k[len(k)-1] != "unreached" {
		t.Errorf("audit ends %v", k[len(k)-3:])
	}
}

func almatyLoc() *time.Location { return local("2026-01-01 00:00").Location() }

func (f *fixture) promoteAt(t time.Time) []callbacks.Callback {
	f.t.Helper()
	cbs, err := f.s.Promote(f.ctx, t, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return cbs
}

func TestExpiry(t *testing.T) {
	short := rules
	short.Expiry = time.Hour
	f := newFixture(t)
	cb, _, err := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: "+77011234567", Topic: "testing", Reason: callbacks.ReasonAbandoned}, short, f.now)
	if err != nil {
		t.Fatal(err)
	}
	// Due at 10:02; not promoted (router down) until 11:30: past expiry.
	f.at(t0.Add(90 * time.Minute))
	if got := f.promote(); len(got) != 0 {
		t.Fatalf("promoted %v past expiry", ids(got))
	}
	if got := f.get(cb.ID); got.Status != callbacks.StatusUnreached || got.History[len(got.History)-1].Reason != "expired" {
		t.Errorf("after expiry: %s %+v", got.Status, got.History)
	}
	// A retry that would fall after the expiry ends it at once.
	f.at(t0)
	cb2, _, _ := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: "+77011234568", Topic: "testing", Reason: callbacks.ReasonDropped}, short, f.now)
	f.at(t0.Add(2 * time.Minute))
	_ = f.attempt(cb2.ID, callbacks.ResultBusy) // next 10:14, fine
	f.at(t0.Add(14 * time.Minute))
	_ = f.attempt(cb2.ID, callbacks.ResultBusy) // next 10:44, fine
	f.at(t0.Add(44 * time.Minute))
	got := f.attempt(cb2.ID, callbacks.ResultBusy) // next 12:44 > expiry 11:02
	if got.Status != callbacks.StatusUnreached || got.Tries != 3 {
		t.Errorf("status %s tries %d; want unreached after 3", got.Status, got.Tries)
	}
	// An unallocated number is not retried.
	cb3, _, _ := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: "+77011234569", Topic: "testing", Reason: callbacks.ReasonDropped}, short, f.now)
	f.tick(2 * time.Minute)
	if got := f.attempt(cb3.ID, callbacks.ResultUnallocated); got.Status != callbacks.StatusUnreached {
		t.Errorf("unallocated: %s", got.Status)
	}
}

func TestCloseInbound(t *testing.T) {
	f := newFixture(t)
	sched := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, t0)
	vh := f.schedule("+77011234567", "general", callbacks.ReasonVirtualHold, t0)
	other := f.schedule("+77011230000", "testing", callbacks.ReasonAbandoned, t0)
	// The virtual-hold callback is in its queue.
	if got := f.promote(); len(got) != 1 || got[0].ID != vh.ID {
		t.Fatalf("promoted %v", ids(got))
	}
	if err := f.s.MarkQueued(f.ctx, vh.ID, f.now); err != nil {
		t.Fatal(err)
	}
	// The citizen calls in about testing, from their number in national form.
	got, err := f.s.CloseInbound(f.ctx, "8 701 123 45 67", "testing", "in-1", f.now)
	if err != nil || !slices.Equal(got, []string{sched.ID}) {
		t.Fatalf("CloseInbound(testing) = %v, %v", got, err)
	}
	if st := f.get(vh.ID).Status; st != callbacks.StatusQueued {
		t.Errorf("other topic's callback %s", st)
	}
	// ... and is served in another topic: every open callback closes.
	got, err = f.s.CloseInbound(f.ctx, "+77011234567", "", "in-2", f.now)
	if err != nil || !slices.Equal(got, []string{vh.ID}) {
		t.Fatalf("CloseInbound(all) = %v, %v", got, err)
	}
	for _, id := range []string{sched.ID, vh.ID} {
		if cb := f.get(id); cb.Status != callbacks.StatusReachedInbound || cb.ClosedAt.IsZero() {
			t.Errorf("%s: %s", id, cb.Status)
		}
	}
	if st := f.get(other.ID).Status; st != callbacks.StatusScheduled {
		t.Errorf("another number's callback %s", st)
	}
	// Nothing open, withheld or hostile numbers: nothing to close.
	for _, raw := range []string{"+77011234567", "anonymous", "PJSIP/1001;x"} {
		if got, err := f.s.CloseInbound(f.ctx, raw, "", "in-3", f.now); err != nil || len(got) != 0 {
			t.Errorf("CloseInbound(%q) = %v, %v", raw, got, err)
		}
	}
	// The queued one's attempt, if the router offers it anyway, is refused.
	if _, err := f.s.Begin(f.ctx, vh.ID, "cb-x-a1", "1001", f.now); !errors.Is(err, callbacks.ErrClosed) {
		t.Errorf("Begin after close: %v", err)
	}
	c, _ := f.s.Counts(f.ctx)
	if c.ReachedInbound != 2 || c.Pending != 1 {
		t.Errorf("counts = %+v", c)
	}
}

// Begin refuses a second holder while the first's lease is live, so a
// callback is never dialled twice at once.
func TestBeginRefusesSecondHolder(t *testing.T) {
	f := newFixture(t)
	other := f.store(redistest.Client(t, f.addr)) // a second router instance
	cb := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	f.promote()
	if err := f.s.MarkQueued(f.ctx, cb.ID, f.now); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Begin(f.ctx, cb.ID, "a1", "1001", f.now)
	if err != nil || got.Status != callbacks.StatusInFlight || got.Holder != "a1" || got.Number != "+77011234567" {
		t.Fatalf("Begin = %+v, %v", got, err)
	}
	if _, err := other.Begin(f.ctx, cb.ID, "a2", "1002", f.now.Add(30*time.Second)); !errors.Is(err, callbacks.ErrBusy) {
		t.Fatalf("second Begin: %v; want ErrBusy", err)
	}
	if _, err := f.s.Begin(f.ctx, cb.ID, "a1", "1001", f.now.Add(30*time.Second)); err != nil {
		t.Errorf("the holder's Begin again (renew): %v", err)
	}
	if err := f.s.Extend(f.ctx, cb.ID, "a1", f.now.Add(80*time.Second)); err != nil {
		t.Errorf("Extend: %v", err)
	}
	if err := other.Extend(f.ctx, cb.ID, "a2", f.now); !errors.Is(err, callbacks.ErrNotHeld) {
		t.Errorf("Extend by another: %v", err)
	}
	// The lease (renewed at +80s for a minute) is live at +130s...
	if _, err := other.Begin(f.ctx, cb.ID, "a2", "1002", f.now.Add(130*time.Second)); !errors.Is(err, callbacks.ErrBusy) {
		t.Fatalf("Begin at +130s: %v; want ErrBusy", err)
	}
	// ... and gone at +141s: the first holder vanished; another may try.
	got, err = other.Begin(f.ctx, cb.ID, "a2", "1002", f.now.Add(141*time.Second))
	if err != nil || got.Holder != "a2" {
		t.Fatalf("Begin after lease: %+v, %v", got, err)
	}
	if len(got.Attempts) != 1 || got.Attempts[0].Result != "interrupted" || got.Attempts[0].CallID != "a1" {
		t.Errorf("attempts = %+v", got.Attempts)
	}
	// The vanished holder's late no-answer is not taken...
	if _, err := f.s.Finish(f.ctx, cb.ID, callbacks.Attempt{CallID: "a1", AgentID: "1001", Result: "no_answer"}, rules, f.now.Add(150*time.Second)); !errors.Is(err, callbacks.ErrNotHeld) {
		t.Errorf("late Finish: %v; want ErrNotHeld", err)
	}
	// ... the holder's result is.
	done, err := other.Finish(f.ctx, cb.ID, callbacks.Attempt{CallID: "a2", AgentID: "1002", Result: "reached"}, rules, f.now.Add(160*time.Second))
	if err != nil || done.Status != callbacks.StatusReached || done.Tries != 1 {
		t.Fatalf("Finish = %+v, %v", done, err)
	}
	if _, err := f.s.Finish(f.ctx, cb.ID, callbacks.Attempt{CallID: "a1", Result: "reached"}, rules, f.now.Add(170*time.Second)); !errors.Is(err, callbacks.ErrClosed) {
		t.Errorf("Finish after close: %v", err)
	}
}

func TestRecoverExpired(t *testing.T) {
	f := newFixture(t)
	a := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	b := f.schedule("+77011234568", "testing", callbacks.ReasonVirtualHold, t0)
	c := f.schedule("+77011234569", "testing", callbacks.ReasonVirtualHold, t0)
	if got := f.promote(); len(got) != 3 {
		t.Fatalf("promoted %v", ids(got))
	}
	// a: the router died before MarkQueued. b: in flight when it died.
	// c: queued (in the topic queue, which is in Redis): not touched.
	for _, id := range []string{b.ID, c.ID} {
		if err := f.s.MarkQueued(f.ctx, id, f.now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.Begin(f.ctx, b.ID, "cb-b-a1", "1003", f.now); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.RecoverExpired(f.ctx, f.now.Add(9*time.Second)); err != nil || len(got) != 0 {
		t.Fatalf("recovered %v, %v before any lease ended", got, err)
	}
	f.tick(61 * time.Second)
	got, err := f.s.RecoverExpired(f.ctx, f.now)
	sort.Strings(got)
	want := []string{a.ID, b.ID}
	sort.Strings(want)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("recovered %v, %v; want %v", got, err, want)
	}
	for _, id := range want {
		cb := f.get(id)
		if cb.Status != callbacks.StatusScheduled || !cb.DueAt.Equal(f.now) || cb.Tries != 0 {
			t.Errorf("%s after recovery: %s due %s tries %d", id, cb.Status, cb.DueAt, cb.Tries)
		}
	}
	if at := f.get(b.ID).Attempts; len(at) != 1 || at[0].Result != "interrupted" || at[0].AgentID != "1003" {
		t.Errorf("b's attempts = %+v", at)
	}
	if st := f.get(c.ID).Status; st != callbacks.StatusQueued {
		t.Errorf("queued callback became %s", st)
	}
	// A queued callback is rechecked after a while: due again, to be found
	// still in its queue (ErrExists) or put back if its entry vanished.
	if got, err := f.s.RecoverExpired(f.ctx, t0.Add(15*time.Minute)); err != nil || !slices.Equal(got, []string{c.ID}) {
		t.Fatalf("recheck recovered %v, %v; want %s", got, err, c.ID)
	}
	if cb := f.get(c.ID); cb.Status != callbacks.StatusScheduled || cb.History[len(cb.History)-1].Kind != "recheck" || len(cb.Attempts) != 0 {
		t.Errorf("after recheck: %s %+v", cb.Status, cb.History)
	}
	f.at(t0.Add(15 * time.Minute))
	// Both are due again and promoted once more; a second enqueue of an
	// entry still in the queue is the router's ErrExists, then MarkQueued.
	if got := f.promote(); len(got) != 3 {
		t.Errorf("re-promoted %v", ids(got))
	}
	if k := f.kinds(); !slices.Contains(k, "interrupted") || !slices.Contains(k, "recheck") {
		t.Errorf("audit %v has no interrupted", k)
	}
}

// Three instances promote at once: each due callback is promoted exactly
// once.
func TestPromoteConcurrent(t *testing.T) {
	f := newFixture(t)
	const n = 150
	for i := range n {
		f.schedule(fmt.Sprintf("+7701%07d", i), "testing", callbacks.ReasonVirtualHold, t0.Add(-time.Duration(i)*time.Second))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 3 {
		s := f.store(redistest.Client(t, f.addr))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Promote(f.ctx, f.now, 7)
				if err != nil {
					t.Errorf("promoter %d: %v", w, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, cb := range got {
					seen[cb.ID]++
					if cb.Status != callbacks.StatusPromoting {
						t.Errorf("promoted %s is %s", cb.ID, cb.Status)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d callbacks promoted; want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s promoted %d times", id, k)
		}
	}
	c, _ := f.s.Counts(f.ctx)
	if c.Promoting != n || c.Waiting != 0 {
		t.Errorf("counts = %+v", c)
	}
}

func TestRefusedNumbersRecorded(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ raw, reason string }{
		{"PJSIP/1001", "invalid_characters"},
		{"+79990000000;x", "invalid_characters"},
		{"1001", "too_short"},
		{"anonymous", "withheld"},
		{"8-800-080-77-77", "denied"},
		{"+78091234567", "premium"},
		{"+442079460000", "foreign"},
		{"", "empty"},
	} {
		cb, created, err := f.s.Schedule(f.ctx, callbacks.Request{RawNumber: tt.raw, Topic: "testing", Reason: callbacks.ReasonAbandoned, SourceCallID: "c-" + tt.reason}, rules, f.now)
		if err == nil || created || callbacks.Reason(err) != tt.reason || cb.Status != callbacks.StatusRefused || cb.Number != "" {
			t.Errorf("Schedule(%q) = %+v, %v, %v; want refused %s", tt.raw, cb, created, err, tt.reason)
		}
	}
	refused, err := f.s.Refused(f.ctx, 100)
	if err != nil || len(refused) != 8 {
		t.Fatalf("Refused = %d, %v", len(refused), err)
	}
	if r := refused[len(refused)-1]; r.Raw != `"PJSIP/1001"` || r.Reason != "invalid_characters" || r.Topic != "testing" || r.Request != "abandoned" || r.CallID != "c-invalid_characters" || !r.At.Equal(t0) {
		t.Errorf("oldest refusal = %+v", r)
	}
	if r := refused[3]; r.Reason != "denied" || r.Detail == "" {
		t.Errorf("denied refusal = %+v", r)
	}
	c, _ := f.s.Counts(f.ctx)
	if c.Refused != 8 || c.Scheduled != 0 || c.Pending != 0 {
		t.Errorf("counts = %+v", c)
	}
	if all, _ := f.s.List(f.ctx, callbacks.Filter{}, 10); len(all) != 0 {
		t.Errorf("refused numbers listed: %v", ids(all))
	}
	if k := f.kinds(); len(k) != 8 || k[0] != "refused" {
		t.Errorf("audit = %v", k)
	}
}

func TestControl(t *testing.T) {
	f := newFixture(t)
	a := f.schedule("+77011234567", "testing", callbacks.ReasonAbandoned, t0)
	f.tick(time.Minute)
	b := f.schedule("+77011234568", "general", callbacks.ReasonDropped, t0)
	c := f.schedule("+77011234569", "testing", callbacks.ReasonVirtualHold, t0)
	// Pending, soonest due first.
	all, err := f.s.List(f.ctx, callbacks.Filter{}, 10)
	if err != nil || !slices.Equal(ids(all), []string{c.ID, a.ID, b.ID}) {
		t.Fatalf("List = %v, %v", ids(all), err)
	}
	if got, _ := f.s.List(f.ctx, callbacks.Filter{Topic: "testing"}, 1); !slices.Equal(ids(got), []string{c.ID}) {
		t.Errorf("List(testing, 1) = %v", ids(got))
	}
	// Bring b forward; cancel a.
	if err := f.s.MoveNow(f.ctx, b.ID, "supervisor", f.now); err != nil {
		t.Fatal(err)
	}
	if cb := f.get(b.ID); !cb.DueAt.Equal(f.now) || cb.History[len(cb.History)-1].Who != "supervisor" {
		t.Errorf("moved: %+v", cb)
	}
	prev, err := f.s.Cancel(f.ctx, a.ID, "supervisor", f.now)
	if err != nil || prev != callbacks.StatusScheduled {
		t.Fatalf("Cancel = %s, %v", prev, err)
	}
	if _, err := f.s.Cancel(f.ctx, a.ID, "supervisor", f.now); !errors.Is(err, callbacks.ErrClosed) {
		t.Errorf("second Cancel: %v", err)
	}
	if err := f.s.MoveNow(f.ctx, a.ID, "supervisor", f.now); !errors.Is(err, callbacks.ErrClosed) {
		t.Errorf("MoveNow of cancelled: %v", err)
	}
	if _, err := f.s.Get(f.ctx, "nope"); !errors.Is(err, callbacks.ErrNotFound) {
		t.Errorf("Get(nope): %v", err)
	}
	// c is being attempted: cancel waits for it.
	f.promote()
	if _, err := f.s.Begin(f.ctx, c.ID, "a1", "1001", f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Cancel(f.ctx, c.ID, "supervisor", f.now); !errors.Is(err, callbacks.ErrBusy) {
		t.Errorf("Cancel in flight: %v", err)
	}
	if err := f.s.MoveNow(f.ctx, c.ID, "supervisor", f.now); err != nil {
		t.Errorf("MoveNow in flight: %v", err)
	}
	// Abort: the operator did not answer; no attempt counted, due now.
	if err := f.s.Abort(f.ctx, c.ID, "", "operator_no_answer", f.now); err != nil {
		t.Fatal(err)
	}
	if cb := f.get(c.ID); cb.Status != callbacks.StatusScheduled || cb.Tries != 0 || !cb.DueAt.Equal(f.now) {
		t.Errorf("after abort: %+v", cb)
	}
	closed, _ := f.s.List(f.ctx, callbacks.Filter{Status: []callbacks.Status{callbacks.StatusCancelled}}, 10)
	if !slices.Equal(ids(closed), []string{a.ID}) || closed[0].Status != callbacks.StatusCancelled {
		t.Errorf("cancelled list = %v", ids(closed))
	}
	cnt, _ := f.s.Counts(f.ctx)
	if cnt.Scheduled != 3 || cnt.Cancelled != 1 || cnt.Pending != 2 || cnt.Waiting != 1 || cnt.Promoting != 1 {
		t.Errorf("counts = %+v", cnt)
	}
	if k := f.kinds(); !slices.Contains(k, "moved") || !slices.Contains(k, "cancelled") || !slices.Contains(k, "aborted") {
		t.Errorf("audit = %v", k)
	}
}

// A callback joins its topic queue at the caller's original queue time,
// ahead of inbound callers who arrived later.
func TestCallbackKeepsItsPlaceInQueue(t *testing.T) {
	f := newFixture(t)
	d := dispatch.New(f.rdb, f.centre, 30*time.Second)
	q := queue.New(f.rdb, f.centre, time.Minute)
	if _, err := d.EnqueueAndClaim(f.ctx, dispatch.Caller{CallID: "in-1", Topic: "testing", Arrival: t0.Add(-2 * time.Minute)}, f.now); err != nil {
		t.Fatal(err)
	}
	cb := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0.Add(-5*time.Minute))
	due := f.promote()
	if len(due) != 1 {
		t.Fatal("nothing promoted")
	}
	w := dispatch.Caller{CallID: due[0].CallID(), Topic: due[0].Topic, Priority: due[0].Priority, Arrival: due[0].Arrival(),
		Language: due[0].Language, CallerNumber: due[0].Number, IVRPath: "callback"}
	if _, err := d.EnqueueAndClaim(f.ctx, w, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := d.EnqueueAndClaim(f.ctx, w, f.now); !errors.Is(err, dispatch.ErrExists) {
		t.Fatalf("second enqueue: %v; want ErrExists", err)
	}
	if err := f.s.MarkQueued(f.ctx, cb.ID, f.now); err != nil {
		t.Fatal(err)
	}
	if p, err := q.Position(f.ctx, "cb-"+cb.ID); err != nil || p.Pos != 1 {
		t.Errorf("callback position %+v, %v; want 1 (ahead of a later inbound caller)", p, err)
	}
}

// The example configuration's rules, through FromConfig, schedule as the
// configuration says.
func TestFromConfig(t *testing.T) {
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := callbacks.FromConfig(cfg.CallbackRules("testing"), cfg.Centre.CountryCode, cfg.Hours)
	if r.MaxAttempts != 4 || r.Expiry != 24*time.Hour || !slices.Equal(r.Delays, callbacks.DefaultDelays) ||
		r.Numbers.CountryCode != "7" || !slices.Equal(r.Numbers.Deny, []string{"+7800*"}) {
		t.Fatalf("rules = %+v", r)
	}
	// Saturday 14:59 in Almaty: due at 15:01 falls after closing, so Monday 08:00.
	if got, want := r.NextDue(0, local("2026-03-14 14:59")), local("2026-03-16 08:00"); !got.Equal(want) {
		t.Errorf("NextDue = %s; want %s", got, want)
	}
	if _, err := callbacks.Normalize("8 800 080 77 77", r.Numbers); !errors.Is(err, callbacks.ErrDenied) {
		t.Errorf("free-phone: %v", err)
	}
}

// The router may finish with the queue entry's call id rather than the
// attempt's: the same operator's result is still the holder's.
func TestFinishBySameOperator(t *testing.T) {
	f := newFixture(t)
	cb := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	f.promote()
	if _, err := f.s.Begin(f.ctx, cb.ID, cb.CallID()+"-a7", "1002", f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Finish(f.ctx, cb.ID, callbacks.Attempt{CallID: cb.CallID(), AgentID: "1004", Result: "busy"}, f.rules, f.now); !errors.Is(err, callbacks.ErrNotHeld) {
		t.Errorf("another operator's result: %v", err)
	}
	got, err := f.s.Finish(f.ctx, cb.ID, callbacks.Attempt{CallID: cb.CallID(), AgentID: "1002", Result: "busy", Cause: 17}, f.rules, f.now)
	if err != nil || got.Status != callbacks.StatusScheduled || got.Tries != 1 || !got.DueAt.Equal(f.now.Add(10*time.Minute)) {
		t.Fatalf("Finish = %+v, %v", got, err)
	}
}

// What comes back from Redis goes into a dial string: a number that is not
// E.164 (a tampered or corrupted record) is refused, never returned.
func TestTamperedNumberNotReturned(t *testing.T) {
	f := newFixture(t)
	cb := f.schedule("+77011234567", "testing", callbacks.ReasonVirtualHold, t0)
	if err := f.rdb.HSet(f.ctx, "hotline:{"+f.centre+"}:cb:"+cb.ID, "number", "1001&PJSIP/1002").Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.Get(f.ctx, cb.ID); err == nil {
		t.Fatalf("Get returned %q", got.Number)
	}
	if got, err := f.s.Promote(f.ctx, f.now, 10); err == nil || len(got) != 0 {
		t.Fatalf("Promote returned %v, %v", ids(got), err)
	}
}
