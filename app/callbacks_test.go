package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/internal/testclock"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// callbackConfig is the test config with callbacks whose timings fit a
// test: abandon and drop thresholds in milliseconds, the first attempt
// after delay (0: at once).
func callbackConfig(t *testing.T, delay time.Duration) *config.Config {
	cfg := testConfig(t)
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.Enabled = true
		r.MinAbandonWait = config.Duration(300 * time.Millisecond)
		r.Delays = []config.Duration{config.Duration(delay), config.Duration(time.Hour)}
		r.VirtualHold.Enabled = false
	})
	return cfg
}

// withTrunk lets hotline dial citizens back through "carrier"; every number
// answers after 30 ms unless a virtual caller scripts its own answer.
func (h *harness) withTrunk() {
	h.emu.AddTrunk("carrier", emulator.Trunk{Citizen: func(string) emulator.Phone {
		return emulator.Phone{AnswerAfter: 30 * time.Millisecond}
	}})
}

// abandonAfterMinimum places a caller who picks Kazakh and testing, waits
// in the queue past callbackConfig's 300 ms minimum and hangs up; it
// returns the call and its record.
func (h *harness) abandonAfterMinimum(cl emulator.Caller) (*emulator.CallHandle, records.Record) {
	h.t.Helper()
	cl.Script = choose("2", "3")
	c := h.emu.Call(cl)
	h.eventually("caller queued", func() bool { return c.OnMOH() })
	h.advance(400 * time.Millisecond) // past the minimum, on the app's clock
	c.Hangup()
	return c, h.record(c.ID())
}

// customerFirstConfig is callbackConfig with callbacks that dial the
// citizen first.
func customerFirstConfig(t *testing.T) *config.Config {
	cfg := callbackConfig(t, 0)
	setCallbacks(cfg, func(r *config.CallbackRules) { r.Mode = config.CallbackCustomerFirst })
	return cfg
}

// talksBriefly is a citizen's phone that answers a callback and hangs up
// soon after they are put through.
var talksBriefly = emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 100 * time.Millisecond}

// owedCustomerFirst leaves each number's caller abandoned, in order, and
// owed a customer-first callback whose turn waits in the queue: with no
// operator free nobody is dialled. The citizens' phones answer callbacks
// like answer. It returns the first calls' records.
func (h *harness) owedCustomerFirst(answer emulator.Phone, numbers ...string) []records.Record {
	h.t.Helper()
	var firsts []records.Record
	for _, n := range numbers {
		_, r := h.abandonAfterMinimum(emulator.Caller{Number: n, AnswerCallbacks: &answer})
		if r.Callback == "" {
			h.t.Fatalf("%s abandoned and owed no callback: %s", n, fmtRecord(r))
		}
		h.eventually("callback of "+n+" queued for an operator", func() bool {
			return h.callback(r.Callback).Status == callbacks.StatusQueued
		})
		firsts = append(firsts, r)
	}
	for _, n := range numbers {
		if d := h.emu.Dialled("+" + n); len(d) != 0 {
			h.t.Fatalf("%s dialled %d times with no operator free", n, len(d))
		}
	}
	return firsts
}

func (h *harness) openCallbacks() []callbacks.Callback {
	h.t.Helper()
	cbs, err := h.cbs.List(context.Background(), callbacks.Filter{}, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return cbs
}

// A caller who hangs up after the minimum wait is owed exactly one
// callback with the right reason, topic, language and number; one who
// hangs up sooner is not.
func TestAbandonAfterMinimumWaitOwesOneCallback(t *testing.T) {
	h := newHarness(t, callbackConfig(t, time.Hour))
	quick := h.emu.Call(emulator.Caller{Number: "79002000001", Script: choose("2", "3")})
	h.eventually("first caller queued", func() bool { return quick.OnMOH() })
	quick.Hangup() // well under 300 ms
	_, r := h.abandonAfterMinimum(emulator.Caller{Number: "79002000002"})

	if r := h.record(quick.ID()); r.Outcome != "abandoned" || r.Callback != "" {
		t.Fatalf("quick abandon: %s callback %q, want none", fmtRecord(r), r.Callback)
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || cbs[0].ID != r.Callback {
		t.Fatalf("open callbacks %+v, want exactly the patient caller's (%s)", cbs, r.Callback)
	}
	cb := cbs[0]
	if cb.Number != "+79002000002" || cb.Topic != "testing" || cb.Language != "kk" ||
		!slices.Equal(cb.Reasons, []string{"abandoned"}) || !cb.QueueTime.Equal(r.EnqueuedAt) {
		t.Fatalf("callback %+v (queue time %v, record's %v)", cb, cb.QueueTime, r.EnqueuedAt)
	}
}

// A conversation that ends within the drop window is owed a callback; the
// operator marking the same call merges into it (one open callback per
// number and topic), keeping both reasons.
func TestDroppedCallAndOperatorMarkMergeIntoOneCallback(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	setCallbacks(cfg, func(r *config.CallbackRules) { r.DropWindow = config.Duration(2 * time.Second) })
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79002000003", Script: choose("2", "3"), HangupAfterBridged: 100 * time.Millisecond})
	h.waitClosed(c.Ended(), "short conversation")
	r := h.record(c.ID())
	if r.Outcome != "dropped" || r.Callback == "" {
		t.Fatalf("record %s callback %q: want dropped with a callback", fmtRecord(r), r.Callback)
	}
	if code, body := h.api("POST", "/api/v1/agents/1001/callback", `{"reason":"line was bad"}`); code != 200 || !strings.Contains(body, r.Callback) {
		t.Fatalf("operator mark: %d %s, want the same callback %s", code, body, r.Callback)
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || !slices.Equal(cbs[0].Reasons, []string{"dropped", "operator_marked"}) {
		t.Fatalf("open callbacks %+v: want one with both reasons", cbs)
	}
	if code, _ := h.api("POST", "/api/v1/agents/1002/callback", `{"reason":"x"}`); code != 409 {
		t.Fatalf("an operator with no finished call marked one: %d", code)
	}
}

// Virtual hold keeps the caller's place: A, B, C wait; B takes the
// callback offer and hangs up; when B's turn comes, before C's, an
// operator is reserved, hears the whisper, and B's number is dialled with
// the hotline's own number.
func TestVirtualHoldKeepsThePlaceInLine(t *testing.T) {
	cfg := callbackConfig(t, 0)
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.VirtualHold = config.VirtualHold{Enabled: true, MinWait: config.Duration(time.Millisecond)}
	})
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second) // the first plays on entry
	}
	h := newHarness(t, cfg)
	h.withTrunk()
	a := h.emu.Call(emulator.Caller{Number: "79003000001", Script: choose("2", "3"), HangupAfterBridged: 100 * time.Millisecond})
	h.eventually("A queued", func() bool { return a.OnMOH() || containsMedia(a.Played(), "/callback_offer") })
	answerLater := emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 100 * time.Millisecond}
	b := h.emu.Call(emulator.Caller{Number: "79003000002", AnswerCallbacks: &answerLater,
		Script: append(choose("2", "3"), emulator.Step{OnMedia: "/callback_offer", Digits: "1"})})
	h.waitClosed(b.Ended(), "B hung up after taking the callback")
	c := h.emu.Call(emulator.Caller{Number: "79003000003", Script: choose("2", "3")})
	h.eventually("C told its position", func() bool { return len(positionsHeard(c)) > 0 })
	if got := positionsHeard(c); got[0] != "3" {
		t.Fatalf("C heard position %v: B's callback must still hold its place ahead of C", got)
	}

	h.login("PJSIP/1001")
	h.waitClosed(a.Ended(), "A served and done")
	h.eventually("B called back", func() bool { return len(h.emu.Dialled("+79003000002")) > 0 })
	if c.State() == "bridged" || len(h.emu.Originations("PJSIP/1001")) != 2 {
		t.Fatal("C was served before B's callback")
	}
	dial := h.emu.Dialled("+79003000002")[0]
	if !strings.Contains(dial.CallerID, h.cfg.Centre.CallerID) {
		t.Fatalf("B was called back showing %q, want the hotline's number %s", dial.CallerID, h.cfg.Centre.CallerID)
	}
	if op := h.emu.Originations("PJSIP/1001")[1]; !strings.Contains(op.CallerID, "Callback") {
		t.Fatalf("operator's phone showed %q for the callback", op.CallerID)
	}
	h.eventually("B answered the callback", func() bool { return h.emu.CitizenLeg("+79003000002") != nil })
	leg := h.emu.CitizenLeg("+79003000002")
	h.waitClosed(leg.Bridged(), "B talking with the operator")
	h.waitClosed(leg.Ended(), "B's callback conversation over")
	h.eventually("B's callback reached", func() bool {
		cbs, _ := h.cbs.List(context.Background(), callbacks.Filter{Status: []callbacks.Status{callbacks.StatusReached}}, 10)
		return len(cbs) == 1 && cbs[0].Number == "+79003000002"
	})
	h.waitClosed(c.Bridged(), "C served after B's callback")
}

// A caller whose number is withheld keys it in after taking the callback:
// it is read back, confirmed with 1, and becomes the callback's number.
func TestWithheldCallerKeysInTheirNumber(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.VirtualHold = config.VirtualHold{Enabled: true, MinWait: config.Duration(time.Millisecond)}
	})
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second)
	}
	h := newHarness(t, cfg)
	c := h.emu.Call(emulator.Caller{Number: "", Name: "Anonymous", Script: append(choose("2", "3"),
		emulator.Step{OnMedia: "/callback_offer", Digits: "1"},
		emulator.Step{OnMedia: "/enter_number", Digits: "87014445566#"},
		emulator.Step{OnMedia: "/confirm_number", Digits: "1"},
	)})
	h.waitClosed(c.Ended(), "caller done after confirming the number")
	// Read back digit by digit in Kazakh, hotline's own sounds.
	readBack := []string{"sound:hotline/kk/number_readback"}
	for _, d := range "87014445566" {
		readBack = append(readBack, "sound:hotline/kk/digit_"+string(d))
	}
	if !containsRun(c.Played(), append(readBack, "sound:hotline/kk/confirm_number")) {
		t.Fatalf("number not read back: %v", c.Played())
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || cbs[0].Number != "+77014445566" || !slices.Equal(cbs[0].Reasons, []string{"virtual_hold"}) {
		t.Fatalf("callbacks %+v: want one to +77014445566 for virtual hold", cbs)
	}
}

// A citizen owed a callback who calls in and is served has it closed as
// reached inbound.
func TestCallingInAndBeingServedClosesTheCallback(t *testing.T) {
	h := newHarness(t, callbackConfig(t, time.Hour))
	_, first := h.abandonAfterMinimum(emulator.Caller{Number: "79004000001"})
	id := first.Callback
	if id == "" {
		t.Fatal("no callback for the abandon")
	}
	h.login("PJSIP/1001")
	again := h.emu.Call(emulator.Caller{Number: "+7 900 400-00-01", Script: choose("2", "3")})
	h.waitClosed(again.Bridged(), "the citizen got through")
	h.eventually("callback closed", func() bool { return h.callback(id).Status == callbacks.StatusReachedInbound })
}

// Callers who reached Asterisk's fallback while hotline was down (their
// numbers kept in AstDB by the dialplan) are owed callbacks once hotline
// is back, and the AstDB entries are cleared.
func TestOutageCallersAreCalledBack(t *testing.T) {
	h := newHarnessWith(t, callbackConfig(t, time.Hour), emulator.Options{Fallback: true})
	h.stop()
	h.eventually("hotline gone", func() bool { return !h.emu.Connected() })
	missed := h.emu.Call(emulator.Caller{Number: "79005000001", HangupAt: 50 * time.Millisecond})
	anon := h.emu.Call(emulator.Caller{Number: "", HangupAt: 50 * time.Millisecond})
	h.waitClosed(missed.Ended(), "fallback caller gone")
	h.waitClosed(anon.Ended(), "anonymous fallback caller gone")
	if !missed.InFallback() || len(h.emu.DBKeys(emulator.MissedFamily)) != 1 {
		t.Fatalf("fallback did not keep the number: %v", h.emu.DBKeys(emulator.MissedFamily))
	}
	h.start()
	h.eventually("outage callback scheduled", func() bool { return len(h.openCallbacks()) == 1 })
	cb := h.openCallbacks()[0]
	if cb.Number != "+79005000001" || !slices.Equal(cb.Reasons, []string{"outage"}) || cb.Topic != "general" {
		t.Fatalf("outage callback %+v", cb)
	}
	h.eventually("AstDB cleared", func() bool { return len(h.emu.DBKeys(emulator.MissedFamily)) == 0 })
}

// A backlog larger than one batch of the dialplan's read-back: 120 callers
// the fallback kept, a number the store refuses, a key that is no uniqueid,
// and a key with a comma the dialplan cannot take apart (nor delete). All
// 120 are owed callbacks; each entry leaves AstDB only once its callback is
// in Redis; the malformed ones go without a callback, the refused number
// recorded as refused; the read-back ends although one entry cannot be
// deleted; and no dangerous function is ever asked of ARI.
func TestOutageBacklogReadBackInBatches(t *testing.T) {
	const backlog = 120
	var h *harness
	owed := map[string]string{} // AstDB path of each backlog entry -> the number owed a callback
	for i := 0; i < backlog; i++ {
		owed[fmt.Sprintf("%s/1795419909.%03d", emulator.MissedFamily, i)] = fmt.Sprintf("+7900500%04d", i)
	}
	var early []string // entries deleted while their callback was not in Redis
	deletes := 0
	onDelete := func(path, _ string) {
		deletes++
		if number, ok := owed[path]; ok && !h.owesCallback(number) {
			early = append(early, path)
		}
	}
	h = newHarnessWith(t, callbackConfig(t, time.Hour), emulator.Options{Fallback: true, OnDBDelete: onDelete})
	h.stop()
	h.eventually("hotline gone", func() bool { return !h.emu.Connected() })
	at := strconv.FormatInt(testclock.Now().Add(-time.Hour).Unix(), 10)
	for i := 0; i < backlog; i++ {
		h.emu.SetDB(emulator.MissedFamily, fmt.Sprintf("1795419909.%03d", i), fmt.Sprintf("7900500%04d|%s", i, at))
	}
	h.emu.SetDB(emulator.MissedFamily, "1795419909.900", "garbage|"+at)
	h.emu.SetDB(emulator.MissedFamily, "bad key(1)", "79005009999|"+at)
	h.emu.SetDB(emulator.MissedFamily, "zz,1", "79005008888|"+at)

	h.start()
	h.eventually("read-back over", func() bool {
		return len(h.emu.DBKeys(emulator.MissedFamily)) == 1 && !h.dbsyncRunning()
	})
	if keys := h.emu.DBKeys(emulator.MissedFamily); keys[0] != "zz,1" {
		t.Fatalf("AstDB left with %v, want only the undeletable zz,1", keys)
	}
	if len(early) != 0 || deletes != backlog+2 {
		t.Fatalf("%d deletes (want %d); deleted before the callback was in Redis: %v", deletes, backlog+2, early)
	}

	cbs, err := h.cbs.List(context.Background(), callbacks.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[string]bool{}
	for _, cb := range cbs {
		if !slices.Equal(cb.Reasons, []string{"outage"}) || !strings.HasPrefix(cb.SourceCallID, "1795419909.") {
			t.Errorf("callback %+v", cb)
		}
		numbers[cb.Number] = true
	}
	for i := 0; i < backlog; i++ {
		if n := fmt.Sprintf("+7900500%04d", i); !numbers[n] {
			t.Errorf("no callback for %s", n)
		}
	}
	if len(cbs) != backlog {
		t.Errorf("%d callbacks, want %d", len(cbs), backlog)
	}
	refused, err := h.cbs.Refused(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].CallID != "1795419909.900" || !strings.Contains(refused[0].Raw, "garbage") {
		t.Fatalf("refused %+v, want the garbage number only", refused)
	}

	// Over ARI only plain variables were read, nothing was set on the
	// channel, and the dialplan was stepped batch by batch.
	var continues []string
	for _, rc := range h.emu.RESTLog() {
		if !strings.Contains(rc.Path, "/channels/dbsync") {
			continue
		}
		switch {
		case strings.HasSuffix(rc.Path, "/variable") && (rc.Method != "GET" || rc.Status != 200):
			t.Errorf("%s %s?%s: %d", rc.Method, rc.Path, rc.Query, rc.Status)
		case strings.HasSuffix(rc.Path, "/continue"):
			var body struct{ Context, Extension string }
			if err := json.Unmarshal([]byte(rc.Body), &body); err != nil || body.Context != "hotline-dbsync" {
				t.Errorf("continue %s: %v", rc.Body, err)
			}
			continues = append(continues, body.Extension)
		}
	}
	// 50 + 50 + the last 20, the garbage, the bad key and the halves of
	// zz,1; then only those halves come back, and hotline stops.
	if want := []string{"delete50", "delete50", "delete24"}; !slices.Equal(continues, want) {
		t.Fatalf("continues %v, want %v", continues, want)
	}
}

// owesCallback reports whether an open callback is in Redis for number.
func (h *harness) owesCallback(number string) bool {
	cbs, err := h.cbs.List(context.Background(), callbacks.Filter{}, 1000)
	if err != nil {
		h.t.Errorf("callbacks: %v", err)
		return false
	}
	for _, cb := range cbs {
		if cb.Number == number {
			return true
		}
	}
	return false
}

// dbsyncRunning reports whether an AstDB read-back channel is up.
func (h *harness) dbsyncRunning() bool {
	for _, ch := range h.emu.Channels() {
		if strings.HasPrefix(ch.ID, "dbsync") {
			return true
		}
	}
	return false
}

// Customer-first: once an operator is free for the callback the citizen is
// dialled first and, once they answer, waits for an operator at their
// original place in line: the operator kept for them is offered them.
func TestCustomerFirstCallbackQueuesTheCitizen(t *testing.T) {
	h := newHarness(t, customerFirstConfig(t))
	h.withTrunk()
	first := h.owedCustomerFirst(talksBriefly, "79006000001")[0]
	h.login("PJSIP/1001")
	h.eventually("citizen dialled", func() bool { return h.emu.CitizenLeg("+79006000001") != nil })
	leg := h.emu.CitizenLeg("+79006000001")
	h.waitClosed(leg.Bridged(), "called-back citizen put through to the operator")
	h.waitClosed(leg.Ended(), "conversation over")
	r := h.record(leg.ID())
	if r.Outcome != "answered" || r.IVRPath != "callback" || r.Agent != "1001" || !r.EnqueuedAt.Equal(first.EnqueuedAt) {
		t.Fatalf("called-back call record %s, enqueued %v (first call %v)", fmtRecord(r), r.EnqueuedAt, first.EnqueuedAt)
	}
	if cb := h.callback(first.Callback); cb.Status != callbacks.StatusReached {
		t.Fatalf("callback status %s, want reached", cb.Status)
	}
	if n := len(h.emu.Originations("PJSIP/1001")); n != 1 {
		t.Fatalf("1001 rang %d times, want once: for the citizen who answered", n)
	}
}

// Customer-first callbacks are dialled no faster than operators come
// free: two callbacks due and one operator, the second citizen is dialled
// only after the first one's conversation ended, in queue order.
func TestCustomerFirstCallbacksArePacedByFreeOperators(t *testing.T) {
	h := newHarness(t, customerFirstConfig(t))
	h.withTrunk()
	h.owedCustomerFirst(talksBriefly, "79006000011", "79006000012")
	h.login("PJSIP/1001")
	h.eventually("both citizens served", func() bool {
		for _, n := range []string{"+79006000011", "+79006000012"} {
			if leg := h.emu.CitizenLeg(n); leg == nil || leg.State() != "ended" {
				return false
			}
		}
		return true
	})
	one, two := h.emu.Dialled("+79006000011"), h.emu.Dialled("+79006000012")
	if len(one) != 1 || len(two) != 1 {
		t.Fatalf("dialled %d and %d times, want once each", len(one), len(two))
	}
	r1, r2 := h.record(one[0].Leg.ID()), h.record(two[0].Leg.ID())
	if r1.Outcome != "answered" || r2.Outcome != "answered" || r1.Agent != "1001" || r2.Agent != "1001" {
		t.Fatalf("called-back calls %s and %s, want both answered by 1001", fmtRecord(r1), fmtRecord(r2))
	}
	if two[0].Time.Before(r1.EndedAt) {
		t.Fatalf("second citizen dialled at %v, before the first one's conversation with the only operator ended (%v)", two[0].Time, r1.EndedAt)
	}
}

// after_hours: offer asks first: a caller who presses 1 after the closed
// message gets a callback; one who does not is told goodbye with none.
func TestAfterHoursOfferAsksFirst(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	setCallbacks(cfg, func(r *config.CallbackRules) { r.AfterHours = config.AfterHoursOffer })
	cfg.Hours = closedNow()
	h := newHarness(t, cfg)
	yes := h.emu.Call(emulator.Caller{Number: "79007000001", Script: append(choose("2", "3"),
		emulator.Step{OnMedia: "/callback_offer", Digits: "1"})})
	no := h.emu.Call(emulator.Caller{Number: "79007000002", Script: choose("2", "3")})
	h.waitClosed(yes.Ended(), "caller who accepted")
	h.waitClosed(no.Ended(), "caller who did not")
	if r := h.record(yes.ID()); r.Outcome != "callback_later" || r.Callback == "" || !containsMedia(yes.Played(), "/closed_callback") {
		t.Fatalf("accepting caller: %s, heard %v", fmtRecord(r), yes.Played())
	}
	if r := h.record(no.ID()); r.Outcome != "rejected" || r.Callback != "" {
		t.Fatalf("declining caller: %s callback %q", fmtRecord(r), r.Callback)
	}
	if cbs := h.openCallbacks(); len(cbs) != 1 || cbs[0].Number != "+79007000001" {
		t.Fatalf("callbacks %+v: want only the accepting caller's", cbs)
	}
}

// Hostile caller ids are refused with a recorded reason and never
// dialled; supervisors see open, closed and refused callbacks over the API,
// and can bring one forward or cancel it.
func TestCallbackControlAndRefusedNumbers(t *testing.T) {
	h := newHarness(t, callbackConfig(t, time.Hour))
	for _, number := range []string{"79008000001", "*12"} {
		h.abandonAfterMinimum(emulator.Caller{Number: number})
	}
	code, body := h.api("GET", "/api/v1/callbacks?status=refused", "")
	if code != 200 || !strings.Contains(body, "*12") {
		t.Fatalf("refused list: %d %s", code, body)
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || cbs[0].Number != "+79008000001" {
		t.Fatalf("open callbacks %+v: want only the valid number's", cbs)
	}
	id := cbs[0].ID
	if code, body := h.api("GET", "/api/v1/callbacks", ""); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("open list: %d %s", code, body)
	}
	if code, body := h.api("POST", "/api/v1/callbacks/"+id+"/cancel", ""); code != 200 {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, body := h.api("GET", "/api/v1/callbacks?status=cancelled", ""); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("cancelled list: %d %s", code, body)
	}
	// Cancelled already is a conflict; no such callback is not found.
	if code, body := h.api("POST", "/api/v1/callbacks/"+id+"/cancel", ""); code != 409 {
		t.Fatalf("second cancel: %d %s, want 409", code, body)
	}
	for _, action := range []string{"cancel", "now"} {
		if code, body := h.api("POST", "/api/v1/callbacks/no-such-callback/"+action, ""); code != 404 {
			t.Fatalf("%s of an unknown callback: %d %s, want 404", action, code, body)
		}
	}
	if code, _ := h.api("GET", "/api/v1/callbacks?status=bogus", ""); code != 400 {
		t.Fatalf("unknown status: %d, want 400", code)
	}
	if n := len(h.emu.Dialled("*12")); n != 0 {
		t.Fatalf("a refused number was dialled %d times", n)
	}
	var cancelled bool
	for _, r := range h.records() {
		cancelled = cancelled || (r.Callback == id && r.Outcome == "callback_cancelled" && strings.Contains(r.Note, "by api-token"))
	}
	if !cancelled {
		t.Fatal("the cancel is not in the call-records stream under the actor's name")
	}
}

// Callbacks are switched on by a config reload, without a restart.
func TestReloadTurnsCallbacksOn(t *testing.T) {
	off := callbackConfig(t, time.Hour)
	setCallbacks(off, func(r *config.CallbackRules) { r.Enabled = false })
	h := newHarness(t, off)
	abandon := func(number string) string {
		_, r := h.abandonAfterMinimum(emulator.Caller{Number: number})
		return r.Callback
	}
	if id := abandon("79009000001"); id != "" {
		t.Fatalf("callback %s scheduled with callbacks off", id)
	}
	on := callbackConfig(t, time.Hour)
	on.Centre.ID = off.Centre.ID
	if err := h.app.Reload(context.Background(), on); err != nil {
		t.Fatal(err)
	}
	if id := abandon("79009000002"); id == "" {
		t.Fatal("no callback after the reload turned callbacks on")
	}
}

// Customer first, a citizen who does not take the call costs the operator
// kept for them nothing: never rung, no miss, offered the next callback.
func TestCustomerFirstMissedCitizenFreesTheOperator(t *testing.T) {
	cfg := customerFirstConfig(t)
	cfg.Agents.MaxNoAnswer = 1
	h := newHarness(t, cfg)
	h.withTrunk()
	busy := h.owedCustomerFirst(emulator.Phone{Busy: true}, "79006000021")[0]
	h.owedCustomerFirst(talksBriefly, "79006000022")
	h.login("PJSIP/1001")
	h.eventually("the second citizen served", func() bool {
		leg := h.emu.CitizenLeg("+79006000022")
		return leg != nil && leg.State() == "ended"
	})
	if d := h.emu.Dialled("+79006000021"); len(d) != 1 || d[0].Outcome != "busy" {
		t.Fatalf("busy citizen dialled %d times (%v), want once, busy", len(d), d)
	}
	if cb := h.callback(busy.Callback); cb.Status != callbacks.StatusScheduled || len(cb.Attempts) != 1 || cb.Attempts[0].Result != "busy" {
		t.Fatalf("busy citizen's callback %s with attempts %+v, want scheduled again after one busy attempt", cb.Status, cb.Attempts)
	}
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 1 {
		t.Fatalf("1001 rang %d times, want once (for the citizen who answered)", n)
	}
	if st := h.state("1001"); st == agents.Paused {
		t.Fatal("1001 paused: the busy citizen counted as their miss")
	}
}

// A citizen who answered a customer-first callback and waits in the queue
// is adopted by a restarted hotline and served, not hung up.
func TestRestartKeepsACalledBackCitizenWaiting(t *testing.T) {
	cfg := customerFirstConfig(t)
	cfg.Agents.MaxNoAnswer = 1
	h := newHarness(t, cfg)
	h.withTrunk()
	h.owedCustomerFirst(talksBriefly, "79006000002")
	// 1001 frees a turn for the callback but misses the citizen: paused,
	// the citizen waits.
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, NeverAnswer: true})
	h.login("PJSIP/1001")
	h.eventually("1001 paused after missing the citizen", func() bool { return h.state("1001") == agents.Paused })
	leg := h.emu.CitizenLeg("+79006000002")
	if leg == nil || !leg.OnMOH() {
		t.Fatal("the called-back citizen is not waiting")
	}
	h.restart()
	h.login("PJSIP/1003")
	h.waitClosed(leg.Bridged(), "called-back citizen served after the restart")
	h.waitClosed(leg.Ended(), "conversation over")
	if r := h.record(leg.ID()); r.Outcome != "answered" || r.Agent != "1003" {
		t.Fatalf("called-back call %s, want answered by 1003", fmtRecord(r))
	}
	if len(h.emu.Dialled("+79006000002")) != 1 {
		t.Fatal("the citizen was dialled again")
	}
}

// A caller whose number the store refuses (premium rate) keeps waiting in line when they
// take the callback offer: they are never told "we will call you back"
// and dropped.
func TestRefusedNumberKeepsItsPlaceOnVirtualHold(t *testing.T) {
	cfg := callbackConfig(t, 0)
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.VirtualHold = config.VirtualHold{Enabled: true, MinWait: config.Duration(time.Millisecond)}
	})
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second)
	}
	h := newHarness(t, cfg)
	c := h.emu.Call(emulator.Caller{Number: "78091234567", Script: append(choose("2", "3"),
		emulator.Step{OnMedia: "/callback_offer", Digits: "1"})})
	h.eventually("offer taken", func() bool { return slices.Contains(c.DigitsSent(), "1") })
	h.eventually("back on hold", func() bool { return c.OnMOH() })
	if c.State() == "ended" || len(h.openCallbacks()) != 0 {
		t.Fatalf("caller state %s, callbacks %v: want still waiting, none owed to a premium number", c.State(), h.openCallbacks())
	}
	h.login("PJSIP/1001")
	h.waitClosed(c.Bridged(), "caller served in turn")
}

// A withheld-number caller who takes "press 1 for a callback" and hangs up
// while keying the number leaves the queue: no ghost entry keeps counting
// in everybody's "you are number N".
func TestHangUpWhileKeyingNumberLeavesTheQueue(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.VirtualHold = config.VirtualHold{Enabled: true, MinWait: config.Duration(time.Millisecond)}
	})
	h := newHarness(t, cfg)
	c := h.emu.Call(emulator.Caller{Number: "", Name: "Anonymous", Script: append(choose("2", "3"),
		emulator.Step{OnMedia: "/callback_offer", Digits: "1"},
		emulator.Step{OnMedia: "/enter_number", Digits: "8701"},
		emulator.Step{Delay: 100 * time.Millisecond, Hangup: true}, // half-way through the number
	)})
	h.waitClosed(c.Ended(), "caller hung up while keying the number")
	rec := h.record(c.ID())
	if rec.Outcome != records.OutcomeAbandoned || rec.EnqueuedAt.IsZero() {
		t.Fatalf("record %s, want abandoned after queueing", fmtRecord(rec))
	}
	ctx := context.Background()
	prefix := rkeys.Prefix(cfg.Centre.ID)
	if keys, err := h.rdb.Keys(ctx, prefix+"caller:*").Result(); err != nil || len(keys) != 0 {
		t.Fatalf("caller hashes left in Redis: %v %v", keys, err)
	}
	queues, err := h.rdb.Keys(ctx, prefix+"queue:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if ids, _ := h.rdb.ZRange(ctx, q, 0, -1).Result(); len(ids) > 0 {
			t.Fatalf("ghost queue entries in %s: %v", q, ids)
		}
	}
}
