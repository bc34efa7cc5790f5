package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/internal/spoken"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// A caller chooses language 2 and topic 3, is queued, operator 1001
// answers, both are in one bridge; the caller hangs up; the operator goes
// to wrap-up, then ready; one call record with the right fields.
func TestCallReachesOperator(t *testing.T) {
	cfg := testConfig(t)
	cfg.Topics["testing"].WrapUp = config.Duration(400 * time.Millisecond)
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")

	c := h.emu.Call(emulator.Caller{Number: "79001234567", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with an operator")
	origs := h.emu.Originations("PJSIP/1001")
	if len(origs) != 1 || peerOf(c) != origs[0].ChannelID {
		t.Fatalf("caller bridged with %q, want operator 1001's leg; originations %+v", peerOf(c), origs)
	}
	if got := h.state("1001"); got != agents.OnCall {
		t.Fatalf("operator 1001 is %s during the call, want on_call", got)
	}
	c.Hangup()
	h.eventually("operator 1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
	h.eventually("operator 1001 ready after wrap-up", func() bool { return h.state("1001") == agents.Ready })

	r := h.record(c.ID())
	if r.Topic != "testing" || r.Language != "kk" || r.Agent != "1001" || r.Outcome != "answered" ||
		r.EndedBy != "caller" || r.CallerNumber != "79001234567" || r.IVRPath != "language:2>main:3" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	if r.EnqueuedAt.IsZero() || r.OfferedAt.Before(r.EnqueuedAt) || r.AnsweredAt.Before(r.OfferedAt) || r.EndedAt.Before(r.AnsweredAt) {
		t.Fatalf("record times out of order: enq %v offer %v answer %v end %v", r.EnqueuedAt, r.OfferedAt, r.AnsweredAt, r.EndedAt)
	}
	// The operator's phone showed the citizen's number and the topic.
	if o := h.emu.Originations("PJSIP/1001")[0]; !strings.Contains(o.AppArgs, c.ID()) {
		t.Fatalf("operator leg args %q do not name the call", o.AppArgs)
	}
	// Prompts were played in the chosen language after the language menu.
	if !containsMedia(c.Played(), "sound:hotline/kk/topic_menu") {
		t.Fatalf("caller did not hear the Kazakh topic menu: %v", c.Played())
	}
	// No variable is set on the citizen's channel over ARI: on Asterisk 22
	// that refuses DB() to the channel's own dialplan for good, and the
	// fallback could no longer keep the caller for a callback.
	for _, rc := range h.emu.RESTLog() {
		if rc.Method == "POST" && rc.Path == "/ari/channels/"+c.ID()+"/variable" {
			t.Fatalf("hotline set a variable on the citizen's channel: %+v", rc)
		}
	}
}

// No operator free: 5 callers wait; operators become ready one by one;
// callers are served by priority then arrival; announcements give the
// right positions.
func TestCallersServedByPriorityThenArrival(t *testing.T) {
	cfg := testConfig(t)
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second) // the first one plays at once
	}
	// Every operator takes every topic so only priority and arrival decide.
	for i := range cfg.Operators {
		cfg.Operators[i].Skills = map[string]int{"testing": 5, "home_visit": 5}
	}
	h := newHarness(t, cfg)
	for _, op := range cfg.Operators {
		h.emu.SetPhone(op.Endpoint, emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond})
	}

	// Arrival order c0..c4; c3 picks home visits (priority 2), the rest testing.
	topics := []string{"3", "3", "3", "5", "3"}
	calls := make([]*emulator.CallHandle, len(topics))
	for i, tp := range topics {
		calls[i] = h.emu.Call(emulator.Caller{Number: "7900000000" + string(rune('0'+i)), Script: choose("1", tp)})
		h.eventually("caller queued", func() bool { return len(positionsHeard(calls[i])) > 0 })
	}
	wantPos := []string{"1", "2", "3", "1", "4"}
	for i, c := range calls {
		if got := positionsHeard(c); got[0] != wantPos[i] {
			t.Errorf("caller %d heard position %v, want %s", i, got, wantPos[i])
		}
	}

	wantOrder := []int{3, 0, 1, 2, 4}
	for n, op := range []string{"PJSIP/1001", "PJSIP/1002", "PJSIP/1003", "PJSIP/1004"} {
		h.login(op)
		want := calls[wantOrder[n]]
		h.waitClosed(want.Bridged(), "caller "+want.ID()+" bridged")
		for _, other := range wantOrder[n+1:] {
			if calls[other].State() == "bridged" || len(h.emu.Originations(op)) != 1 {
				t.Fatalf("after %s logged in, caller %d was served out of order", op, other)
			}
		}
	}
	// The fifth caller is still waiting, first in line.
	if calls[4].State() == "bridged" {
		t.Fatal("caller 4 bridged with no operator free")
	}
}

// Two Kazakh callers wait with no operator logged in. Each hears its place
// and its wait in Kazakh from hotline's own sounds — "position_2", then
// "wait_6", the file that says the wait intro and "алты минут" — and never Asterisk's
// number: or digits: media, which would be English. The emulated Asterisk
// has only the sounds hotline renders, as a real one has no Kazakh core
// sounds.
func TestKazakhCallerHearsPositionAndWaitInKazakh(t *testing.T) {
	cfg := testConfig(t)
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second) // the first one plays at once
	}
	rendered := renderedSound(t, cfg)
	h := newHarnessWith(t, cfg, emulator.Options{SoundExists: rendered})
	a := h.emu.Call(emulator.Caller{Number: "79001230001", Script: choose("2", "3")})
	h.eventually("caller A told its position", func() bool { return len(positionsHeard(a)) > 0 })
	b := h.emu.Call(emulator.Caller{Number: "79001230002", Script: choose("2", "3")})

	// No operator is staffed: the wait is position × the default 3-minute
	// handle time.
	for _, tc := range []struct {
		c             *emulator.CallHandle
		pos, minutes  int
		minutesPhrase string
	}{{a, 1, 3, "үш минут"}, {b, 2, 6, "алты минут"}} {
		want := []string{"sound:hotline/kk/" + spoken.PositionPhrase(tc.pos), "sound:hotline/kk/" + spoken.WaitPhrase(tc.minutes)}
		h.eventually("caller "+tc.c.ID()+" told its wait", func() bool { return containsRun(tc.c.Played(), want) })
		phrases, err := spoken.Sounds("kk", cfg.Prompts[config.PromptPositionIntro]["kk"], cfg.Prompts[config.PromptWaitIntro]["kk"])
		if err != nil {
			t.Fatal(err)
		}
		if got, wantText := phrases[spoken.WaitPhrase(tc.minutes)], cfg.Prompts[config.PromptWaitIntro]["kk"]+" "+tc.minutesPhrase; got != wantText {
			t.Errorf("%s says %q, want %q", want[1], got, wantText)
		}
		// The language menu is in Russian; from the caller's choice on,
		// everything is Kazakh, and all of it is hotline's own sounds.
		played := tc.c.Played()
		chose := slices.Index(played, "sound:hotline/kk/topic_menu")
		for i, m := range played {
			if !rendered(m) || (i >= chose && !strings.HasPrefix(m, "sound:hotline/kk/")) {
				t.Errorf("caller %s heard %q: not a Kazakh sound hotline renders (all: %v)", tc.c.ID(), m, played)
			}
		}
	}
}

// An operator who answers while the caller hears the position
// announcement gets the caller at once: the announcement is stopped whole,
// and no item of it starts after the stop (on Asterisk a stopped
// several-media playback still starts its next item, and the bridge waits
// for it: 835 ms seen).
func TestAnswerDuringAnnouncementStopsItWhole(t *testing.T) {
	cfg := testConfig(t)
	for _, tp := range cfg.Topics {
		tp.AnnounceEvery = config.Duration(10 * time.Second) // the first one plays at once
	}
	// The intro lasts long enough (×timeScale) for the operator to answer
	// during it.
	position, wait := "sound:hotline/ru/"+spoken.PositionPhrase(1), "sound:hotline/ru/"+spoken.WaitPhrase(3)
	h := newHarnessWith(t, cfg, emulator.Options{SoundDurations: map[string]time.Duration{position: 50 * time.Second}})
	c := h.emu.Call(emulator.Caller{Number: "79001230003", Script: choose("1", "3")})
	h.eventually("caller hears the announcement", func() bool { return slices.Contains(c.Played(), position) })
	h.login("PJSIP/1001")
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	if n := c.Orphans(); n != 0 {
		t.Fatalf("%d announcement item(s) started after the stop: played %v", n, c.Played())
	}
	if slices.Contains(c.Played(), wait) {
		t.Fatalf("the announcement went on after the operator answered: %v", c.Played())
	}
}

// renderedSound is an emulated Asterisk's SoundExists when its sounds
// directory holds only what `hotline prompts` renders for cfg: its prompts
// and the number sounds, in its languages.
func renderedSound(t *testing.T, cfg *config.Config) func(media string) bool {
	t.Helper()
	sounds, err := cfg.Sounds()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for name, texts := range sounds {
		for lang := range texts {
			have["sound:hotline/"+lang+"/"+name] = true
		}
	}
	return func(media string) bool { return have[media] }
}

// An operator does not answer within the ring timeout: the caller is
// offered to the next operator without losing its place; after N misses the
// operator is paused.
func TestRingTimeoutTriesNextOperatorAndPauses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Agents.MaxNoAnswer = 2
	h := newHarness(t, cfg)
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, NeverAnswer: true})

	a := h.emu.Call(emulator.Caller{Number: "79001110001", Script: choose("1", "3")})
	h.eventually("caller A queued", func() bool { return containsMedia(a.Played(), "/queue_position_intro") || a.OnMOH() })
	b := h.emu.Call(emulator.Caller{Number: "79001110002", Script: choose("1", "3")})
	h.eventually("caller B queued", func() bool { return b.OnMOH() })

	h.login("PJSIP/1001") // only operator: rings twice for A, then paused
	h.eventually("operator 1001 paused after two misses", func() bool {
		ag := h.agent("1001")
		return ag.State == agents.Paused && ag.Reason == agents.ReasonNoAnswer
	})
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 2 {
		t.Fatalf("1001 rang %d times, want 2 (max_no_answer)", n)
	}
	for _, o := range h.emu.Originations("PJSIP/1001") {
		if !strings.Contains(o.AppArgs, a.ID()) || o.Outcome != "no-answer" {
			t.Fatalf("1001 was offered %q with outcome %s; want caller A, no-answer", o.AppArgs, o.Outcome)
		}
	}
	h.login("PJSIP/1003") // testing skill too: A keeps its place ahead of B
	h.waitClosed(a.Bridged(), "caller A bridged with 1003")
	if b.State() == "bridged" {
		t.Fatal("caller B was served before A")
	}
}

// Invalid digits and silence: re-prompt, then the default action.
func TestInvalidDigitsAndSilenceTakeDefault(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1004") // general skill
	c := h.emu.Call(emulator.Caller{Number: "79002220000", Script: []emulator.Step{
		{OnMedia: "/choose_language", Digits: "8"}, // no such language
	}})
	h.waitClosed(c.Bridged(), "silent caller reaching the default topic's operator")
	played := c.Played()
	for _, want := range []string{"sound:hotline/ru/invalid_choice", "sound:hotline/ru/no_input", "sound:hotline/ru/topic_menu"} {
		if !containsMedia(played, want) {
			t.Fatalf("caller did not hear %s: %v", want, played)
		}
	}
	c.Hangup()
	r := h.record(c.ID())
	if r.Topic != "general" || r.Language != "ru" || !strings.Contains(r.IVRPath, "language:default") || !strings.Contains(r.IVRPath, "main:default") {
		t.Fatalf("record: %s", fmtRecord(r))
	}
}

// Caller hangs up in the IVR, and while queued: no operator rings
// afterwards; both are recorded as abandoned.
func TestCallerHangsUpBeforeAnOperatorRings(t *testing.T) {
	h := newHarness(t, testConfig(t))
	inMenu := h.emu.Call(emulator.Caller{Number: "79003330001", Script: []emulator.Step{{OnMedia: "/choose_language", Hangup: true}}})
	queued := h.emu.Call(emulator.Caller{Number: "79003330002", Script: choose("2", "3")})
	h.eventually("caller queued", func() bool { return queued.OnMOH() })
	time.Sleep(100 * time.Millisecond)
	queued.Hangup()

	rIVR, rQueued := h.record(inMenu.ID()), h.record(queued.ID())
	if rIVR.Outcome != "abandoned" || rIVR.Topic != "" {
		t.Fatalf("IVR hang-up record: %s", fmtRecord(rIVR))
	}
	if rQueued.Outcome != "abandoned" || rQueued.Topic != "testing" || rQueued.Wait < 100*time.Millisecond {
		t.Fatalf("queued hang-up record: %s wait %v", fmtRecord(rQueued), rQueued.Wait)
	}
	h.login("PJSIP/1001")
	time.Sleep(200 * time.Millisecond) // an offer, if any, would be made at login
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 0 {
		t.Fatalf("operator rang %d times for callers who had left", n)
	}
}

// The operator hangs up first: hotline ends the caller's leg (Asterisk
// gives it no event) and the operator goes to wrap-up.
func TestOperatorHangsUpFirst(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond, HangupAfter: 150 * time.Millisecond})
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79004440000", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged")
	h.waitClosed(c.Ended(), "caller's leg ended by hotline")
	if c.EndedBy() != "app" {
		t.Fatalf("caller's leg ended by %q, want hotline (app)", c.EndedBy())
	}
	r := h.record(c.ID())
	if r.Outcome != "answered" || r.EndedBy != "operator" || r.Agent != "1001" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	h.eventually("operator ready after wrap-up", func() bool { return h.state("1001") == agents.Ready })
}

// An operator whose phone is not registered is skipped and taken offline.
func TestUnregisteredOperatorIsSkipped(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	h.login("PJSIP/1003") // both have the testing skill; 1001 (level 8 to 5, and idle longest) is offered first
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: false})
	c := h.emu.Call(emulator.Caller{Number: "79005550000", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged")
	if n := len(h.emu.Originations("PJSIP/1003")); n != 1 {
		t.Fatalf("1003 rang %d times, want 1", n)
	}
	for _, o := range h.emu.Originations("PJSIP/1001") {
		if o.Outcome != "allocation-failed" {
			t.Fatalf("unregistered phone had an originate that went %s", o.Outcome)
		}
	}
	if ag := h.agent("1001"); ag.State != agents.Offline {
		t.Fatalf("unregistered operator is %s (%s), want offline", ag.State, ag.Reason)
	}
}

// The WebSocket drops mid-call and comes back: the conversation and a
// waiting caller both continue; nothing is lost.
func TestWebSocketDropMidCall(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	talking := h.emu.Call(emulator.Caller{Number: "79006660001", Script: choose("2", "3")})
	h.waitClosed(talking.Bridged(), "first caller bridged")
	waiting := h.emu.Call(emulator.Caller{Number: "79006660002", Script: choose("2", "3")})
	h.eventually("second caller queued", func() bool { return waiting.OnMOH() })

	h.emu.DropWebSocket()
	h.eventually("hotline reconnected", func() bool { return h.emu.Connected() })
	talking.Hangup() // after the reconnect: delivered as on a real Asterisk

	h.waitClosed(waiting.Bridged(), "second caller bridged after the first call ended")
	if r := h.record(talking.ID()); r.Outcome != "answered" || r.EndedBy != "caller" {
		t.Fatalf("first call record: %s", fmtRecord(r))
	}
}

// A caller who hangs up while the WebSocket is down is found missing at
// re-sync and recorded; the operator is released.
func TestHangupDuringWebSocketGap(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1002")
	// complaints records its conversations: the recording starts once
	// hotline has seen both legs enter the bridge. A socket dropped before
	// those events arrive is another case (hotline never learns that the
	// caller joined, and owes a callback).
	c := h.emu.Call(emulator.Caller{Number: "79006660003", Script: choose("1", "6")})
	h.waitClosed(c.Bridged(), "caller bridged")
	h.eventually("hotline saw the caller join", func() bool { return len(h.emu.LiveRecordingNames()) == 1 })
	h.emu.DropWebSocket()
	c.Hangup() // the StasisEnd is lost with the socket
	h.eventually("hotline reconnected", func() bool { return h.emu.Connected() })
	r := h.record(c.ID())
	if r.Outcome != "answered" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	h.eventually("operator back to ready", func() bool { return h.state("1002") == agents.Ready })
}

// An unknown event type from the emulator does not crash hotline.
func TestUnknownEventTypeIsHarmless(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.emu.InjectRaw(`{"type":"ChannelToneDetected","application":"hotline","timestamp":"2026-11-23T07:56:44.562+0000","channel":{"id":"x"}}`)
	h.emu.InjectRaw(`{"type":"SomethingNew","application":"hotline"}`)
	h.emu.InjectRaw(`not json at all`)
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79007770000", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged after unknown events")
}

// Hand-over is event-driven: the time from an operator becoming free to
// the originate for the next waiting caller is recorded for every
// hand-over (wrap-up end and login here).
func TestHandoverIsEventDriven(t *testing.T) {
	h := newHarness(t, testConfig(t))
	var calls []*emulator.CallHandle
	for i := 0; i < 3; i++ {
		c := h.emu.Call(emulator.Caller{Number: "7900888000" + string(rune('0'+i)), Script: choose("2", "3"), HangupAfterBridged: 50 * time.Millisecond})
		h.eventually("caller queued", func() bool { return c.OnMOH() })
		calls = append(calls, c)
	}
	h.login("PJSIP/1001")
	for _, c := range calls {
		h.waitClosed(c.Ended(), "caller served and done")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.handovers) != 3 {
		t.Fatalf("recorded %d hand-overs, want 3 (login, two wrap-up ends)", len(h.handovers))
	}
	for _, d := range h.handovers {
		// Polling once a second (as app_queue does) would show up here as
		// hundreds of milliseconds.
		if d > 250*time.Millisecond {
			t.Errorf("hand-over took %v: not event-driven", d)
		}
	}
}

func containsMedia(played []string, suffix string) bool {
	for _, m := range played {
		if strings.HasSuffix(m, suffix) {
			return true
		}
	}
	return false
}

// containsRun says whether played holds run, in order and back to back.
func containsRun(played, run []string) bool {
	for i := 0; i+len(run) <= len(played); i++ {
		if slices.Equal(played[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// hotline restarts while one caller talks to an operator, one waits in
// the queue and one is in the menu: the new instance adopts all three from
// the PBX's channels and Redis. The conversation goes on and is recorded
// once, the waiting caller is served when the operator frees up, and the
// caller in the menu hears it again and reaches the queue.
func TestRestartAdoptsCallsAlreadyInTheApplication(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	talking := h.emu.Call(emulator.Caller{Number: "79009990001", Script: choose("2", "3")})
	h.waitClosed(talking.Bridged(), "first caller bridged")
	waiting := h.emu.Call(emulator.Caller{Number: "79009990002", Script: choose("2", "3")})
	h.eventually("second caller queued", func() bool { return waiting.OnMOH() })
	inMenu := h.emu.Call(emulator.Caller{Number: "79009990003"}) // silent: hears the menu, no digits yet
	h.eventually("third caller in the menu", func() bool { return containsMedia(inMenu.Played(), "/choose_language") })

	h.restart()

	// The menu starts again for the third caller; this time it chooses.
	before := len(inMenu.Played())
	h.eventually("menu replayed to the third caller", func() bool { return len(inMenu.Played()) > before })
	inMenu.SendDTMF("2")
	h.eventually("third caller at the topic menu", func() bool { return containsMedia(inMenu.Played()[before:], "/topic_menu") })
	inMenu.SendDTMF("3")

	if talking.State() != "bridged" {
		t.Fatalf("conversation state after restart: %s", talking.State())
	}
	talking.Hangup()
	r := h.record(talking.ID())
	if r.Outcome != "answered" || r.Agent != "1001" || r.EndedBy != "caller" {
		t.Fatalf("adopted conversation record: %s", fmtRecord(r))
	}
	h.waitClosed(waiting.Bridged(), "waiting caller served by 1001 after wrap-up")
	waiting.Hangup()
	h.waitClosed(inMenu.Bridged(), "third caller served after the restart")
	if n := len(h.emu.Originations("PJSIP/1001")); n != 3 {
		t.Fatalf("1001 rang %d times, want 3 (one per caller, none twice)", n)
	}
}

// A restarted router resumes calls with what Redis knows of them, not with
// the restart's time: a conversation that had lasted ten minutes is not
// "dropped" when it ends just after the restart (no callback is owed), and
// a caller who had waited two minutes keeps that wait, their menu path and
// the language they chose.
func TestRestartKeepsCallersTimesLanguageAndPath(t *testing.T) {
	cfg := testConfig(t)
	setCallbacks(cfg, func(r *config.CallbackRules) { r.DropWindow = config.Duration(5 * time.Second) })
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	talking := h.emu.Call(emulator.Caller{Number: "79009990021", Script: choose("2", "3")})
	h.waitClosed(talking.Bridged(), "first caller bridged")
	waiting := h.emu.Call(emulator.Caller{Number: "79009990022", Script: choose("2", "3")})
	h.eventually("second caller queued", func() bool { return waiting.OnMOH() })

	h.advance(10 * time.Minute) // both calls have lasted ten minutes
	h.restart()
	// The new instance is connected; wait until it has adopted both calls
	// (a hang-up before that is, rightly, a call that ended unseen).
	h.eventually("both calls adopted", func() bool { return h.app.ActiveCalls() == 2 })

	talking.Hangup() // well within drop_window of the restart
	r := h.record(talking.ID())
	if r.Outcome != "answered" || r.Agent != "1001" {
		t.Fatalf("adopted conversation ending after the restart: %s, want answered", fmtRecord(r))
	}
	if d := r.EndedAt.Sub(r.AnsweredAt); d < 10*time.Minute {
		t.Errorf("adopted conversation lasted %v by its record, want the real 10 min", d)
	}
	if cbs := h.openCallbacks(); len(cbs) != 0 {
		t.Errorf("a callback is owed for an ordinary conversation: %+v", cbs)
	}
	h.waitClosed(waiting.Bridged(), "waiting caller served by 1001 after wrap-up")
	waiting.Hangup()
	w := h.record(waiting.ID())
	if w.Wait < 10*time.Minute || w.Language != "kk" || w.IVRPath == "" {
		t.Errorf("adopted waiting caller: wait %v language %q path %q, want ≥ 10m, kk and the menu path", w.Wait, w.Language, w.IVRPath)
	}
	if w.Arrival.After(w.EnqueuedAt) || h.now().Sub(w.Arrival) < 10*time.Minute {
		t.Errorf("adopted waiting caller arrived %v, queued %v: want the channel's creation, before the restart", w.Arrival, w.EnqueuedAt)
	}
}

// A caller who waits the topic's max_wait moves to its overflow topic and
// is served there.
func TestMaxWaitOverflowsToAnotherTopic(t *testing.T) {
	cfg := testConfig(t)
	cfg.Topics["testing"].MaxWait = config.Duration(300 * time.Millisecond)
	cfg.Topics["testing"].Overflow = "general"
	h := newHarness(t, cfg)
	h.login("PJSIP/1004") // general, but not testing
	c := h.emu.Call(emulator.Caller{Number: "79001212121", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller served from the overflow topic")
	c.Hangup()
	if r := h.record(c.ID()); r.Topic != "general" || r.Agent != "1004" || r.Wait < 300*time.Millisecond {
		t.Fatalf("record: %s wait %v", fmtRecord(r), r.Wait)
	}
}

// A conversation that ends while hotline is down leaves no operator stuck
// on a call: the restarted router finds the call gone and frees them, and
// a waiting caller is served.
func TestRestartFreesOperatorWhoseCallEndedMeanwhile(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	talking := h.emu.Call(emulator.Caller{Number: "79009990011", Script: choose("2", "3")})
	h.waitClosed(talking.Bridged(), "caller bridged")
	h.stop()
	h.eventually("the emulator to see hotline gone", func() bool { return !h.emu.Connected() })
	h.emu.HangupPhone("PJSIP/1001") // the operator hangs up while hotline is away
	talking.Hangup()
	waiting := h.emu.Call(emulator.Caller{Number: "79009990012", Script: choose("2", "3")})
	if !waiting.Rejected() {
		t.Fatal("a call with no hotline connected should be refused (Asterisk's 603)")
	}
	h.start()
	h.eventually("operator freed after the restart", func() bool { return h.state("1001") == agents.Ready })
	// What Redis knew of the conversation is in its record.
	if r := h.record(talking.ID()); r.Outcome != "lost" || r.Agent != "1001" || r.Topic != "testing" || r.Language != "kk" ||
		r.CallerNumber != "79009990011" || r.AnsweredAt.IsZero() || r.EnqueuedAt.IsZero() || r.AnsweredAt.Before(r.EnqueuedAt) {
		t.Fatalf("record of the call that ended unseen: %s answered %v queued %v", fmtRecord(r), r.AnsweredAt, r.EnqueuedAt)
	}
	next := h.emu.Call(emulator.Caller{Number: "79009990013", Script: choose("2", "3")})
	h.waitClosed(next.Bridged(), "next caller served by the freed operator")
}

// A draining hotline hands new callers to the dialplan's fallback queue
// (Continue to hotline-fallback) instead of hanging up on them, while the
// call in progress goes on.
func TestDrainingHandsNewCallersToTheFallback(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	talking := h.emu.Call(emulator.Caller{Number: "79001414141", Script: choose("2", "3")})
	h.waitClosed(talking.Bridged(), "caller bridged")
	h.app.Drain()
	late := h.emu.Call(emulator.Caller{Number: "79001414142"})
	h.waitClosed(late.Ended(), "late caller handed over")
	if late.EndedBy() != "continue" {
		t.Fatalf("late caller ended by %q, want continue to the fallback", late.EndedBy())
	}
	found := false
	for _, c := range h.emu.RESTLog() {
		if c.Path == "/ari/channels/"+late.ID()+"/continue" {
			found = strings.Contains(c.Query+c.Body, "hotline-fallback") && strings.Contains(c.Query+c.Body, "released")
		}
	}
	if !found {
		t.Fatal("no continue to hotline-fallback,released in the REST log")
	}
	if talking.State() != "bridged" || h.app.ActiveCalls() != 1 {
		t.Fatalf("conversation in progress disturbed by draining: %s, %d calls", talking.State(), h.app.ActiveCalls())
	}
	if code, _ := h.api("GET", "/readyz", ""); code != 503 {
		t.Fatalf("readyz while draining: %d, want 503", code)
	}
}

// After hours the caller hears that the centre is closed and will call
// back; the callback is scheduled for the next opening and no operator
// rings now.
func TestAfterHoursCallerIsPromisedACallback(t *testing.T) {
	cfg := testConfig(t)
	cfg.Hours = closedNow()
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79001515151", Script: choose("2", "3")})
	h.waitClosed(c.Ended(), "caller hung up after the closed message")
	if !containsMedia(c.Played(), "sound:hotline/kk/closed_callback") || c.EndedBy() != "app" {
		t.Fatalf("caller heard %v, ended by %s", c.Played(), c.EndedBy())
	}
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 0 {
		t.Fatalf("an operator rang %d times after hours", n)
	}
	r := h.record(c.ID())
	if r.Outcome != "callback_later" || r.Topic != "testing" || r.Callback == "" {
		t.Fatalf("record: %s callback %q", fmtRecord(r), r.Callback)
	}
	cb := h.callback(r.Callback)
	if cb.Number != "+79001515151" || cb.Topic != "testing" || cb.Language != "kk" ||
		!slices.Contains(cb.Reasons, "no_service") || cb.DueAt.Before(h.now()) {
		t.Fatalf("callback: %+v", cb)
	}
	if next := cfg.Hours.NextOpen(h.now()); !cb.DueAt.Equal(next) && cb.DueAt.Before(next) {
		t.Fatalf("callback due %v, before the next opening %v", cb.DueAt, next)
	}
}

// The operator's line drops mid-conversation (softphone crash, network):
// the citizen is not lost but hears an apology and goes back to the head
// of the queue, and the next free operator takes them. One record.
func TestOperatorLineDropRequeuesTheCitizen(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79004440001", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	h.login("PJSIP/1003") // free now, so the re-queued citizen goes to 1003
	if !h.emu.DropPhone("PJSIP/1001", 38) {
		t.Fatal("1001 had no call to drop")
	}
	h.eventually("caller talking with 1003", func() bool {
		o := h.emu.Originations("PJSIP/1003")
		return len(o) == 1 && peerOf(c) == o[0].ChannelID
	})
	if !slices.ContainsFunc(c.Played(), func(m string) bool { return strings.HasSuffix(m, "/operator_dropped") }) {
		t.Fatalf("no apology played: %v", c.Played())
	}
	c.Hangup()
	h.waitClosed(c.Ended(), "caller done")
	r := h.record(c.ID())
	if r.Outcome != "answered" || r.Agent != "1003" || !strings.Contains(r.Note, "operator_line_dropped:1001") {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	if n := len(h.records()); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	h.eventually("1001 out of the conversation", func() bool { return h.state("1001") != agents.OnCall })
}

// A citizen cut off by the operator's line who then hangs up while waiting
// again is owed a callback however short the second wait.
func TestOperatorLineDropThenHangUpIsCalledBack(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	setCallbacks(cfg, func(r *config.CallbackRules) { r.MinAbandonWait = config.Duration(time.Hour) })
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79004440002", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: false}) // the softphone is gone
	h.emu.DropPhone("PJSIP/1001", 38)
	h.eventually("caller waiting again, on music", func() bool { return c.OnMOH() })
	c.Hangup()
	h.waitClosed(c.Ended(), "caller hung up")
	r := h.record(c.ID())
	if r.Outcome != "abandoned" || r.Callback == "" {
		t.Fatalf("record: %s, want abandoned with a callback", fmtRecord(r))
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || cbs[0].Number != "+79004440002" || !slices.Contains(cbs[0].Reasons, "dropped") {
		t.Fatalf("callbacks %+v, want one for the dropped citizen", cbs)
	}
}

// A waiting caller who hangs up while hotline is down is not lost: the
// restarted router finds their channel gone, takes their entry out of the
// queue (no ghost inflating everybody's position), writes their record and
// schedules the callback their wait earned.
func TestHangUpWhileHotlineIsDownIsRecordedAndCalledBack(t *testing.T) {
	h := newHarness(t, callbackConfig(t, time.Hour))
	c := h.emu.Call(emulator.Caller{Number: "79009990021", Script: choose("2", "3")}) // no operator: waits
	h.eventually("caller waiting on music", func() bool { return c.OnMOH() })
	h.stop()
	h.eventually("the emulator to see hotline gone", func() bool { return !h.emu.Connected() })
	c.Hangup()
	h.advance(2 * time.Minute) // the outage lasted past min_abandon_wait
	h.start()
	r := h.record(c.ID())
	if r.Outcome != "abandoned" || r.Wait < 2*time.Minute || r.Callback == "" || r.Topic != "testing" {
		t.Fatalf("record: %s, want abandoned after 2 min with a callback", fmtRecord(r))
	}
	cbs := h.openCallbacks()
	if len(cbs) != 1 || cbs[0].Number != "+79009990021" || !slices.Contains(cbs[0].Reasons, "abandoned") {
		t.Fatalf("callbacks %+v, want one for the caller who left", cbs)
	}
	ctx := context.Background()
	if n, err := h.rdb.ZCard(ctx, rkeys.Queue(h.cfg.Centre.ID, "testing")).Result(); err != nil || n != 0 {
		t.Fatalf("testing queue holds %d entries (%v) after the caller left", n, err)
	}
	if n, err := h.rdb.Exists(ctx, rkeys.Caller(h.cfg.Centre.ID, c.ID())).Result(); err != nil || n != 0 {
		t.Fatalf("caller hash left in Redis (%v)", err)
	}
}

// An offer ringing when hotline went down goes back at once on restart,
// not after its 30 s lease: the caller is offered again straight away.
func TestOfferInFlightAtRestartGoesBackAtOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Topics["testing"].RingTimeout = config.Duration(10 * time.Minute) // 12 s in the emulator
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: time.Hour})
	c := h.emu.Call(emulator.Caller{Number: "79009990031", Script: choose("2", "3")})
	h.eventually("1001 ringing", func() bool { return len(h.emu.Originations("PJSIP/1001")) == 1 })
	h.stop()
	h.eventually("the emulator to see hotline gone", func() bool { return !h.emu.Connected() })
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond})
	h.start()
	// eventually gives up after 10 s, well inside the 30 s lease.
	h.waitClosed(c.Bridged(), "caller offered again and bridged after the restart")
	if n := len(h.emu.Originations("PJSIP/1001")); n != 2 {
		t.Fatalf("1001 rang %d times, want 2 (before and after the restart)", n)
	}
}

// A citizen whose operator's line dropped and who is then served by the
// same operator again: the second conversation's end frees the operator
// too (each conversation is its own step in Redis, not a repeat of the
// first).
func TestOperatorLineDropThenSameOperatorAgain(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79004440003", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	h.emu.DropPhone("PJSIP/1001", 38)
	h.eventually("caller back with 1001 after its wrap-up", func() bool {
		o := h.emu.Originations("PJSIP/1001")
		return len(o) == 2 && peerOf(c) == o[1].ChannelID
	})
	c.Hangup()
	h.waitClosed(c.Ended(), "caller done")
	h.eventually("1001 freed after the second conversation", func() bool {
		s := h.state("1001")
		return s == agents.WrapUp || s == agents.Ready
	})
	if r := h.record(c.ID()); r.Outcome != "answered" || r.Agent != "1001" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
}

// A router that dies after the end of a conversation in Redis but before
// the call's record leaves it owed in Redis's outbox: the next one writes
// it from what Redis knew, once, and the operator is not touched again.
func TestRecordOwedByADeadRouterIsWritten(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	c := h.emu.Call(emulator.Caller{Number: "79009990031", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	h.stop()
	h.eventually("the emulator to see hotline gone", func() bool { return !h.emu.Connected() })
	// What the dead router did last: the operator's turn ended in Redis.
	d := dispatch.New(h.rdb, h.cfg.Centre.ID, time.Minute)
	if _, err := d.Ended(context.Background(), "1001", 0, h.now()); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	h.advance(time.Minute)
	h.start()
	r := h.record(c.ID())
	if r.Outcome != "answered" || r.Agent != "1001" || r.Topic != "testing" || r.CallerNumber != "79009990031" || r.IVRPath == "" {
		t.Fatalf("record: %s, want the answered call written from Redis", fmtRecord(r))
	}
	if n := len(slices.DeleteFunc(h.records(), func(x records.Record) bool { return x.CallID != c.ID() })); n != 1 {
		t.Fatalf("%d records of the call, want 1", n)
	}
	if n, err := h.rdb.ZCard(context.Background(), rkeys.Owed(h.cfg.Centre.ID)).Result(); err != nil || n != 0 {
		t.Fatalf("records still owed: %d (%v)", n, err)
	}
	if got := h.state("1001"); got != agents.Ready {
		t.Fatalf("1001 is %s, want ready", got)
	}
}
