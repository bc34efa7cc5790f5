package contract

import (
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// emulatorTarget: a fresh pbx/emulator per test, with four operator phones.
type emulatorTarget struct {
	srv *emulator.Server
}

const (
	emuUser, emuPassword = "hotline", "contract-secret"
	emuCaller            = "79001234567"
)

func newEmulatorTarget(t *testing.T) *emulatorTarget {
	t.Helper()
	srv := emulator.New(emulator.Options{
		App: contractApp, User: emuUser, Password: emuPassword,
		// Asterisk-side durations ×0.1: the 2 s ring timeout lasts 200 ms,
		// hello-world 100 ms, demo-congrats 3 s.
		TimeScale:        0.1,
		PlaybackDuration: time.Second,
		SoundDurations:   map[string]time.Duration{"sound:demo-congrats": 30 * time.Second},
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true})
	srv.AddPhone("PJSIP/1002", emulator.Phone{Registered: true, Busy: true})
	srv.AddPhone("PJSIP/1003", emulator.Phone{Registered: true, NeverAnswer: true})
	srv.AddPhone("PJSIP/1004", emulator.Phone{Registered: false})
	return &emulatorTarget{srv: srv}
}

func (e *emulatorTarget) Name() string { return "emulator" }

func (e *emulatorTarget) Options() ariadapter.Options {
	return ariadapter.Options{URL: e.srv.URL(), WSURL: e.srv.WSURL(), User: emuUser, Password: emuPassword,
		App: contractApp, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
}

func (e *emulatorTarget) EventTimeout() time.Duration { return 5 * time.Second }
func (e *emulatorTarget) Quiet() time.Duration        { return 300 * time.Millisecond }

func (e *emulatorTarget) Call(t *testing.T) Call {
	t.Helper()
	h := e.srv.Call(emulator.Caller{Number: emuCaller, Args: []string{"inbound"}})
	if h.ID() == "" {
		t.Fatal("emulator refused the call: no WebSocket for the app")
	}
	return emuCall{h}
}

func (e *emulatorTarget) InboundDialplan() (string, string) { return "from-citizens", "122" }
func (e *emulatorTarget) CallerNumber() string              { return emuCaller }

func (e *emulatorTarget) Endpoint(t *testing.T, b Behaviour) string {
	return map[Behaviour]string{Answers: "PJSIP/1001", Busy: "PJSIP/1002", NeverAnswers: "PJSIP/1003", Unregistered: "PJSIP/1004"}[b]
}

func (e *emulatorTarget) OnlineEndpoint(*testing.T) string { return "PJSIP/1001" }

func (e *emulatorTarget) HangupFarEnd(t *testing.T, endpoint, channelID string) {
	t.Helper()
	if !e.srv.HangupPhone(endpoint) {
		t.Fatalf("emulator: no answered call on %s", endpoint)
	}
}

func (e *emulatorTarget) RemoteHangupCause() (int, bool) { return 0, true }

func (e *emulatorTarget) DropWebSocket(*testing.T) { e.srv.DropWebSocket() }

func (e *emulatorTarget) Sounds() (string, string, string) {
	return "sound:hello-world", "sound:demo-congrats", "sound:does-not-exist"
}

type emuCall struct{ h *emulator.CallHandle }

func (c emuCall) ChannelID() string { return c.h.ID() }

func (c emuCall) SendDTMF(t *testing.T, digits string) {
	t.Helper()
	if !c.h.SendDTMF(digits) {
		t.Fatalf("emulator: digits %q not sent", digits)
	}
}

func (c emuCall) Hangup(*testing.T) { c.h.Hangup() }
