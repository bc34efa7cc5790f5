package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/cardboard"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// startInstance runs another hotline instance, with its own Stasis
// application, on the harness's emulator and Redis until stop (or the
// test's end); set, if any, changes its options.
func (h *harness) startInstance(appName string, set ...func(*app.Options)) (at *app.App, stop func()) {
	h.t.Helper()
	a := h.newApp(appName, h.log.Named(appName), func(o *app.Options) {
		for _, f := range set {
			f(o)
		}
	})
	stop = h.run(appName, a)
	h.t.Cleanup(stop)
	h.eventually(appName+" connected and listening", func() bool {
		return slices.Contains(h.emu.ConnectedApps(), appName) && a.HTTPAddr() != ""
	})
	return a, stop
}

// Two instances on one Asterisk: an operator's desktop is served by
// whichever instance their browser reaches, while the other may hold the
// call. The desktop shows the call's card (masked number, topic), a
// transfer from it runs on the holding instance (the caller waits in the
// new topic's queue, the operator goes to wrap-up, the record names the
// transfer), and "call back" from it marks the call the other instance
// finished.
func TestDeskOnOneInstanceServesTheOthersCall(t *testing.T) {
	cfg := testConfig(t)
	eo := emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 2 * time.Second}}
	h := newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), withDeskSecrets)
	second, _ := h.startInstance("hotline-2")
	instances := map[string]*app.App{"hotline": h.app, "hotline-2": second}
	other := func(holder string) (string, *app.App) {
		for name, a := range instances {
			if name != holder {
				return name, a
			}
		}
		t.Fatalf("no instance but %s", holder)
		return "", nil
	}

	op := h.browser()
	op.signIn("1001", "secret-of-1001")
	if code, body := op.post("/desk/state", url.Values{"action": {"login"}}, false); code != 200 {
		t.Fatalf("login from the desktop: %d %s", code, body)
	}

	// The transfer: the desktop of the instance not holding the call.
	c := h.emu.Call(emulator.Caller{Number: "79001414141", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	name, desk := other(c.App())
	op.at = desk
	var card string
	h.eventually("the conversation's card on "+name+"'s desktop", func() bool {
		_, card = op.get("/desk/card")
		return strings.Contains(card, `class="card live talking" data-call="`+c.ID()+`"`)
	})
	if !strings.Contains(card, "*** ***-41-41") || strings.Contains(card, "79001414141") || !strings.Contains(card, `id="card-topic"`) {
		t.Fatalf("card on %s's desktop for %s's call: want the masked number and the topic:\n%s", name, c.App(), card)
	}
	if code, body := op.post("/desk/transfer", url.Values{"kind": {"topic"}, "target": {"home_visit"}}, false); code != 200 {
		t.Fatalf("transfer from %s's desktop of %s's call: %d %s", name, c.App(), code, body)
	}
	h.eventually("transferred caller waiting", func() bool { return c.OnMOH() })
	h.eventually("1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
	h.eventually("the card on "+name+"'s desktop turning into the last call", func() bool {
		_, card = op.get("/desk/card")
		return strings.Contains(card, `class="card last" data-call="`+c.ID()+`"`)
	})
	c.Hangup()
	r := h.record(c.ID())
	checkTransfer(t, r, records.Transfer{Kind: "topic", To: "home_visit", Agent: "1001", Outcome: "connected"})

	// "Call back" of a call another instance finished.
	if code, body := op.post("/desk/state", url.Values{"action": {"ready"}}, false); code != 200 {
		t.Fatalf("ready from the desktop: %d %s", code, body)
	}
	d := h.emu.Call(emulator.Caller{Number: "79001515151", Script: choose("2", "3")})
	h.waitClosed(d.Bridged(), "second caller bridged with 1001")
	name, desk = other(d.App())
	d.Hangup()
	h.eventually("1001 in wrap-up after the second call", func() bool { return h.state("1001") == agents.WrapUp })
	var code int
	var body string
	h.eventually("call back marked on "+name+" for "+d.App()+"'s call", func() bool {
		code, body = h.apiOn(desk, "POST", "/api/v1/agents/1001/callback", `{"reason":"needs test results"}`)
		return code == http.StatusOK || code == http.StatusCreated
	})
	var marked struct{ Callback string }
	if err := json.Unmarshal([]byte(body), &marked); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if cb := h.callback(marked.Callback); !strings.HasSuffix(cb.Number, "79001515151") {
		t.Fatalf("callback %q: %+v, want one for the second caller", marked.Callback, cb)
	}
}

// The card of a call whose instance stops stays on the operator's desktop
// while a survivor adopts the call, and turns into the last call when the
// citizen hangs up; a card left on the board for a call no router holds
// (its instance died as the call ended) is taken away by the router of
// that application within a pass of the board.
func TestDeskCardsSurviveTakeover(t *testing.T) {
	cfg := testConfig(t)
	eo := emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 2 * time.Second}}
	h := newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), func(o *app.Options) {
		withDeskSecrets(o)
		o.FleetLease = 600 * time.Millisecond
	})
	_, stopSecond := h.startInstance("hotline-2")

	op := h.browser()
	op.signIn("1001", "secret-of-1001")
	if code, body := op.post("/desk/state", url.Values{"action": {"login"}}, false); code != 200 {
		t.Fatalf("login from the desktop: %d %s", code, body)
	}
	// Callers until one is held by hotline-2, the instance that stops.
	var c *emulator.CallHandle
	for i := 0; c == nil; i++ {
		if i == 20 {
			t.Fatal("hotline-2 claimed none of 20 callers")
		}
		x := h.emu.Call(emulator.Caller{Number: "7900161616" + string(rune('0'+i%10)), Script: choose("2", "3")})
		h.waitClosed(x.Bridged(), "caller bridged with 1001")
		if x.App() == "hotline-2" {
			c = x
			break
		}
		x.Hangup()
		h.eventually("1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
		if code, body := op.post("/desk/state", url.Values{"action": {"ready"}}, false); code != 200 {
			t.Fatalf("ready from the desktop: %d %s", code, body)
		}
	}
	live := `class="card live talking" data-call="` + c.ID() + `"`
	h.eventually("the live card on hotline's desktop", func() bool {
		_, card := op.get("/desk/card")
		return strings.Contains(card, live)
	})
	stopSecond()
	// The takeover is hotline's process holding the call in a router of
	// hotline-2's (the old socket may still be listed as connected for a
	// moment after stopSecond returns).
	h.eventually("hotline taking hotline-2's call over", func() bool {
		r := h.app.LocalRouter("hotline-2")
		return r != nil && r.ActiveCalls() == 1 && h.state("1001") == agents.OnCall
	})
	// Whichever process runs hotline-2 now, the card stays the live one.
	for range 5 {
		if _, card := op.get("/desk/card"); !strings.Contains(card, live) {
			t.Fatalf("card lost in the takeover:\n%s", card)
		}
	}
	c.Hangup()
	h.eventually("the card turning into the last call", func() bool {
		_, card := op.get("/desk/card")
		return strings.Contains(card, `class="card last" data-call="`+c.ID()+`"`)
	})
	if r := h.record(c.ID()); r.Agent != "1001" || r.Outcome != "answered" {
		t.Fatalf("record: %s", fmtRecord(r))
	}

	// A stale card of hotline's on the board: its router takes it away.
	board := cardboard.New(h.rdb, cfg.Centre.ID, nil)
	if err := board.ShowCard(h.ctx(), "hotline", router.Card{CallID: "gone-1", AgentID: "1002", State: router.CardTalking}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the stale card taken away (a pass of the board is 5 s)", func() bool {
		_, ok, err := board.Card(h.ctx(), "1002")
		return err == nil && !ok
	})
}

// A supervisor's listen, asked of the instance not holding the
// conversation, rings their phone into it from the holding instance; the
// monitor is listed by both and stopped from the asking one; a phone in a
// monitor is refused for another conversation, wherever that is held.
func TestMonitorAcrossInstances(t *testing.T) {
	cfg := testConfig(t)
	eo := emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 2 * time.Second}}
	h := newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), nil)
	h.withSupervisor()
	second, _ := h.startInstance("hotline-2")
	instances := map[string]*app.App{"hotline": h.app, "hotline-2": second}
	h.login("PJSIP/1001")
	c, opLeg := h.talking("79001234567", "PJSIP/1001")
	var asked *app.App
	for name, a := range instances {
		if name != c.App() {
			asked = a
		}
	}

	code, body := h.apiOn(asked, "POST", "/api/v1/agents/1001/monitor", `{"endpoint":"`+supervisor+`","mode":"listen"}`)
	if code != http.StatusOK {
		t.Fatalf("listen asked of the instance not holding %s's call: %d %s", c.App(), code, body)
	}
	var started struct{ Monitor string }
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.Monitor == "" {
		t.Fatalf("%s: %v", body, err)
	}
	sup := h.supervisorLeg()
	if s := h.monitoring(opLeg, sup); s.Spy != "both" || s.Whisper != "none" {
		t.Fatalf("listen snoop %+v", s)
	}
	board := cardboard.New(h.rdb, cfg.Centre.ID, nil)
	h.eventually("the monitor on the shared board, answered, for "+c.App(), func() bool {
		all, err := board.Monitors(h.ctx())
		e, ok := all[started.Monitor]
		return err == nil && ok && e.App == c.App() && e.Monitor.Answered && e.Monitor.Agent == "1001"
	})

	// The same phone for another conversation: refused, not rung.
	h.login("PJSIP/1003")
	h.talking("79001234568", "PJSIP/1003")
	rung := len(h.emu.Originations(supervisor))
	for _, a := range instances {
		if code, body := h.apiOn(a, "POST", "/api/v1/agents/1003/monitor", `{"endpoint":"`+supervisor+`","mode":"whisper"}`); code != http.StatusConflict {
			t.Fatalf("a phone in a monitor rung into another conversation: %d %s, want 409", code, body)
		}
	}
	if n := len(h.emu.Originations(supervisor)); n != rung {
		t.Fatalf("the supervisor's phone rung %d more times by refused monitors", n-rung)
	}

	if code, body := h.apiOn(asked, "POST", "/api/v1/monitors/"+started.Monitor+"/stop", ""); code != http.StatusOK {
		t.Fatalf("stop from the instance not running the monitor: %d %s", code, body)
	}
	h.waitClosed(sup.Ended(), "the supervisor's leg hung up")
	// The stop is in 1001's audit, by whoever asked, with the phone.
	if a := h.auditEntry("1001", "monitor_stop", "api-token"); !strings.Contains(a.Note, supervisor) {
		t.Fatalf("audit of the stop: %q", a.Note)
	}
	h.eventually("the monitor gone from the shared board", func() bool {
		all, err := board.Monitors(h.ctx())
		_, ok := all[started.Monitor]
		return err == nil && !ok
	})
	if code, _ := h.apiOn(asked, "POST", "/api/v1/monitors/"+started.Monitor+"/stop", ""); code != http.StatusNotFound {
		t.Fatalf("second stop: %d, want 404", code)
	}
	c.Hangup()
	if r := h.record(c.ID()); !slices.Equal(r.Monitored, []string{"listen:" + supervisor}) {
		t.Fatalf("record: %s monitored %v", fmtRecord(r), r.Monitored)
	}
}

// In a real browser: the operator signs in on one instance, and the
// desktop of the instance not holding their call (the same session: the
// cookie is the host's, the session Redis's) shows the call's card and
// transfers the citizen to the volunteers with one click.
func TestDeskInABrowserAcrossInstances(t *testing.T) {
	cfg := testConfig(t)
	eo := emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 2 * time.Second}}
	h := newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), withDeskSecrets)
	h.withServices(emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	second, _ := h.startInstance("hotline-2")
	instances := map[string]*app.App{"hotline": h.app, "hotline-2": second}

	ctx := chromium(t)
	signInDesk(t, ctx, "http://"+h.app.HTTPAddr(), "1001", "secret-of-1001")
	if err := chromedp.Run(ctx, chromedp.Click(`#btn-ready`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	h.eventually("1001 ready", func() bool { return h.state("1001") == agents.Ready })

	c := h.emu.Call(emulator.Caller{Number: "79005550003", Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	var other *app.App
	for name, a := range instances {
		if name != c.App() {
			other = a
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate("http://"+other.HTTPAddr()+"/"), chromedp.WaitVisible(`#state-name`, chromedp.ByQuery)); err != nil {
		t.Fatalf("the other instance's desktop: %v", err)
	}
	textOf(t, ctx, ".card.live.talking", "Kazakh")
	textOf(t, ctx, "#card-topic", "Тестирование")
	pageScriptsRan(t, ctx)
	if err := chromedp.Run(ctx, chromedp.Click(`button.xfer[data-service=volunteers]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#result", "Transfer started")
	h.eventually("citizen bridged with the volunteers by "+c.App(), func() bool {
		leg := h.serviceLeg(volunteers)
		return leg != nil && peerOf(c) == leg.ID()
	})
	textOf(t, ctx, "#state-name", "Wrap-up")
	c.Hangup()
	checkTransfer(t, h.record(c.ID()), records.Transfer{Kind: "blind", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "connected"})
}
