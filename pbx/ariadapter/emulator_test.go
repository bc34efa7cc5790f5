package ariadapter

// End-to-end tests: the adapter (real ari/v5 REST client + our WebSocket
// reader) against pbx/emulator, a virtual Asterisk over real HTTP and
// WebSocket on loopback.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

type rig struct {
	t      *testing.T
	srv    *emulator.Server
	c      *Client
	cancel context.CancelFunc
	runErr chan error
	seen   []pbx.Event // events read while waiting for others
	once   sync.Once
}

func newRig(t *testing.T, emo emulator.Options, o Options) *rig {
	t.Helper()
	if emo.App == "" {
		emo.App = "hotline"
	}
	emo.User, emo.Password = "hotline", "secret"
	srv := emulator.New(emo)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	o.URL, o.WSURL = srv.URL(), srv.WSURL()
	o.User, o.Password, o.App = "hotline", "secret", emo.App
	if o.ReconnectMin == 0 {
		o.ReconnectMin, o.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
	}
	c := New(o, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, srv: srv, c: c, cancel: cancel, runErr: make(chan error, 1)}
	go func() { r.runErr <- c.Run(ctx) }()
	t.Cleanup(r.stop)
	select {
	case <-c.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("adapter not ready")
	}
	// The first connect emits a Resynced (empty here).
	if ev := r.wait(func(e pbx.Event) bool { return e.Type == pbx.Resynced }); len(ev.Channels) != 0 {
		t.Fatalf("first resync lists %v", ev.Channels)
	}
	return r
}

// stop cancels Run and checks that it returns promptly with the events
// channel closed.
func (r *rig) stop() { r.once.Do(r.doStop) }

func (r *rig) doStop() {
	r.cancel()
	select {
	case err := <-r.runErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			r.t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		r.t.Fatal("Run did not return after cancel")
	}
	r.c.Close()
	for range r.c.Events() { // closed by Run
	}
}

func (r *rig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	r.t.Cleanup(cancel)
	return ctx
}

// wait reads events until one matches (others are kept in r.seen).
func (r *rig) wait(match func(pbx.Event) bool) pbx.Event {
	r.t.Helper()
	return r.waitFor(5*time.Second, match)
}

func (r *rig) waitFor(d time.Duration, match func(pbx.Event) bool) pbx.Event {
	r.t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case e, ok := <-r.c.Events():
			if !ok {
				r.t.Fatal("events channel closed")
			}
			r.seen = append(r.seen, e)
			if match(e) {
				return e
			}
		case <-tm.C:
			var types []string
			for _, e := range r.seen {
				types = append(types, string(e.Type)+":"+e.ChannelID)
			}
			r.t.Fatalf("event not seen in %v; seen %v", d, types)
		}
	}
}

func is(typ pbx.EventType, ch string) func(pbx.Event) bool {
	return func(e pbx.Event) bool { return e.Type == typ && (ch == "" || e.ChannelID == ch) }
}

func (r *rig) inbound(cl emulator.Caller) (*emulator.CallHandle, pbx.Event) {
	r.t.Helper()
	h := r.srv.Call(cl)
	if h.ID() == "" {
		r.t.Fatal("call rejected by the emulator (app not connected?)")
	}
	return h, r.wait(is(pbx.StasisStart, h.ID()))
}

func TestInboundCallAnswerPlayDTMFHangup(t *testing.T) {
	r := newRig(t, emulator.Options{PlaybackDuration: 100 * time.Millisecond}, Options{})
	h, ss := r.inbound(emulator.Caller{Number: "79001234567", Args: []string{"inbound", "ru"}})
	if ss.Channel.CallerNumber != "79001234567" || strings.Join(ss.Args, ",") != "inbound,ru" ||
		ss.Channel.State != "Ring" || ss.Channel.Exten != "122" {
		t.Fatalf("StasisStart %+v", ss)
	}
	id := h.ID()
	ctx := r.ctx()

	if err := r.c.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if e := r.wait(is(pbx.ChannelStateChange, id)); e.Channel.State != "Up" {
		t.Fatalf("state %+v", e)
	}

	if err := r.c.Play(ctx, id, "pb-1", "sound:hello-world"); err != nil {
		t.Fatal(err)
	}
	if e := r.wait(is(pbx.PlaybackStarted, id)); e.PlaybackID != "pb-1" {
		t.Fatalf("started %+v", e)
	}
	if e := r.wait(is(pbx.PlaybackFinished, id)); e.PlaybackID != "pb-1" || e.PlaybackState != "done" {
		t.Fatalf("finished %+v", e)
	}

	if !h.SendDTMF("2") {
		t.Fatal("dtmf not sent")
	}
	if e := r.wait(is(pbx.DTMF, id)); e.Digit != "2" {
		t.Fatalf("dtmf %+v", e)
	}

	// Barge-in: stop a long playback; a second stop is ErrNotFound.
	if err := r.c.Play(ctx, id, "pb-long", "sound:long-prompt", "sound:hello-world"); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackStarted && e.PlaybackID == "pb-long" })
	if err := r.c.StopPlayback(ctx, "pb-long"); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackFinished && e.PlaybackID == "pb-long" })
	if err := r.c.StopPlayback(ctx, "pb-long"); !errors.Is(err, pbx.ErrNotFound) || !strings.Contains(err.Error(), "pb-long") {
		t.Fatalf("second stop: %v", err)
	}

	// Variables, MOH, ring.
	if err := r.c.SetVariable(ctx, id, "HOTLINE_LANG", "ru"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.c.GetVariable(ctx, id, "HOTLINE_LANG"); err != nil || v != "ru" {
		t.Fatalf("get variable %q %v", v, err)
	}
	if err := r.c.StartMOH(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.c.StopMOH(ctx, id); err != nil {
		t.Fatal(err)
	}

	if err := r.c.Hangup(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if e := r.wait(is(pbx.ChannelHangupRequest, id)); e.Cause != 32 || !e.Soft {
		t.Fatalf("hangup request %+v", e)
	}
	r.wait(is(pbx.StasisEnd, id))

	// Now the channel is gone.
	if err := r.c.Answer(ctx, id); !errors.Is(err, pbx.ErrNotFound) || !strings.Contains(err.Error(), id) {
		t.Fatalf("answer after hangup: %v", err)
	}
}

func TestRemoteHangupHasNoCause(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	h, _ := r.inbound(emulator.Caller{Number: "79001234567"})
	h.Hangup()
	if e := r.wait(is(pbx.ChannelHangupRequest, h.ID())); e.Cause != 0 || e.Soft {
		t.Fatalf("remote hangup %+v", e)
	}
	r.wait(is(pbx.StasisEnd, h.ID()))
}

func TestMissingChannelErrors(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	ctx := r.ctx()
	for name, f := range map[string]func() error{
		"answer": func() error { return r.c.Answer(ctx, "no-such-channel") },
		"hangup": func() error { return r.c.Hangup(ctx, "no-such-channel", "normal") },
		"ring":   func() error { return r.c.Ring(ctx, "no-such-channel") },
		"play":   func() error { return r.c.Play(ctx, "no-such-channel", "pb-x", "sound:x") },
		"moh":    func() error { return r.c.StartMOH(ctx, "no-such-channel", "default") },
		"getvar": func() error { _, err := r.c.GetVariable(ctx, "no-such-channel", "X"); return err },
	} {
		err := f()
		if !errors.Is(err, pbx.ErrNotFound) || !strings.Contains(err.Error(), "no-such-channel") {
			t.Errorf("%s: %v", name, err)
		}
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusNotFound {
			t.Errorf("%s: not an HTTP 404: %v", name, err)
		}
	}
}

func TestOriginateOutcomes(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 200 * time.Millisecond})
	r.srv.AddPhone("PJSIP/1002", emulator.Phone{Registered: true, Busy: true})
	r.srv.AddPhone("PJSIP/1003", emulator.Phone{Registered: true, NeverAnswer: true})
	r.srv.AddPhone("PJSIP/1004", emulator.Phone{Registered: false})
	ctx := r.ctx()

	t.Run("answer", func(t *testing.T) {
		ch, err := r.c.Originate(ctx, pbx.OriginateRequest{
			ChannelID: "op-1001-a", Endpoint: "PJSIP/1001", CallerID: `"Citizen" <79001234567>`,
			Args: []string{"operator-leg", "call-42"}, Timeout: 5 * time.Second,
			Variables: map[string]string{"HOTLINE_CALL": "call-42"},
		})
		if err != nil || ch.ID != "op-1001-a" {
			t.Fatalf("originate %+v %v", ch, err)
		}
		if e := r.wait(is(pbx.Dial, "op-1001-a")); e.Channel.Name == "" {
			t.Fatalf("dial %+v", e)
		}
		ss := r.wait(is(pbx.StasisStart, "op-1001-a"))
		if strings.Join(ss.Args, ",") != "operator-leg,call-42" || ss.Channel.State != "Up" {
			t.Fatalf("StasisStart %+v", ss)
		}
		if v, err := r.c.GetVariable(ctx, "op-1001-a", "HOTLINE_CALL"); err != nil || v != "call-42" {
			t.Errorf("originate variable %q %v", v, err)
		}
		if err := r.c.Hangup(ctx, "op-1001-a", "normal"); err != nil {
			t.Fatal(err)
		}
		r.wait(is(pbx.ChannelDestroyed, "op-1001-a"))
	})

	t.Run("busy", func(t *testing.T) {
		if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-1002", Endpoint: "PJSIP/1002", Args: []string{"operator-leg"}}); err != nil {
			t.Fatal(err)
		}
		d := r.wait(func(e pbx.Event) bool { return e.Type == pbx.Dial && e.ChannelID == "op-1002" && e.DialStatus != "" })
		if d.DialStatus != "BUSY" {
			t.Errorf("dial status %q", d.DialStatus)
		}
		if e := r.wait(is(pbx.ChannelDestroyed, "op-1002")); e.Cause != 17 {
			t.Fatalf("destroyed %+v", e)
		}
	})

	t.Run("no answer", func(t *testing.T) {
		start := time.Now()
		if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-1003", Endpoint: "PJSIP/1003", Timeout: 1200 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if e := r.wait(is(pbx.ChannelDestroyed, "op-1003")); e.Cause != 19 {
			t.Fatalf("destroyed %+v", e)
		}
		// 1.2 s rounds up to 2 s: never shorter than asked.
		if d := time.Since(start); d < 1200*time.Millisecond {
			t.Errorf("no answer after %v", d)
		}
	})

	t.Run("unregistered", func(t *testing.T) {
		_, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-1004", Endpoint: "PJSIP/1004"})
		if !errors.Is(err, pbx.ErrUnavailable) || !strings.Contains(err.Error(), "PJSIP/1004") {
			t.Fatalf("unregistered: %v", err)
		}
		_, err = r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-9999", Endpoint: "PJSIP/9999"})
		if !errors.Is(err, pbx.ErrUnavailable) {
			t.Fatalf("unknown: %v", err)
		}
	})

	t.Run("endpoint state", func(t *testing.T) {
		if st, err := r.c.EndpointState(ctx, "PJSIP/1001"); err != nil || st != "online" {
			t.Errorf("1001: %q %v", st, err)
		}
		if st, err := r.c.EndpointState(ctx, "PJSIP/1004"); err != nil || st != "offline" {
			t.Errorf("1004: %q %v", st, err)
		}
		if st, err := r.c.EndpointState(ctx, "PJSIP/9999"); !errors.Is(err, pbx.ErrNotFound) || st != "unknown" {
			t.Errorf("9999: %q %v", st, err)
		}
	})
}

func TestBridge(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 50 * time.Millisecond})
	ctx := r.ctx()
	h, _ := r.inbound(emulator.Caller{Number: "79001234567"})
	caller := h.ID()
	if err := r.c.Answer(ctx, caller); err != nil {
		t.Fatal(err)
	}
	if err := r.c.CreateBridge(ctx, "acd-bridge-1", "mixing,dtmf_events"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-b", Endpoint: "PJSIP/1001", Args: []string{"operator-leg"}}); err != nil {
		t.Fatal(err)
	}
	r.wait(is(pbx.StasisStart, "op-b"))
	if err := r.c.AddToBridge(ctx, "acd-bridge-1", caller, "op-b"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{caller, "op-b"} {
		if e := r.wait(is(pbx.ChannelEnteredBridge, id)); e.BridgeID != "acd-bridge-1" {
			t.Fatalf("entered %+v", e)
		}
	}
	// DTMF still reaches the app in a dtmf_events bridge.
	h.SendDTMF("5")
	if e := r.wait(is(pbx.DTMF, caller)); e.Digit != "5" {
		t.Fatalf("dtmf %+v", e)
	}
	if err := r.c.RemoveFromBridge(ctx, "acd-bridge-1", "op-b"); err != nil {
		t.Fatal(err)
	}
	if e := r.wait(is(pbx.ChannelLeftBridge, "op-b")); e.BridgeID != "acd-bridge-1" {
		t.Fatalf("left %+v", e)
	}
	// Not in the bridge any more: 422 → ErrConflict.
	if err := r.c.RemoveFromBridge(ctx, "acd-bridge-1", "op-b"); !errors.Is(err, pbx.ErrConflict) {
		t.Errorf("remove twice: %v", err)
	}
	// Missing channel: 400 → ErrNotFound; missing bridge: 404.
	if err := r.c.AddToBridge(ctx, "acd-bridge-1", "no-such-channel"); !errors.Is(err, pbx.ErrNotFound) {
		t.Errorf("add missing channel: %v", err)
	}
	if err := r.c.AddToBridge(ctx, "no-such-bridge", caller); !errors.Is(err, pbx.ErrNotFound) || !strings.Contains(err.Error(), "no-such-bridge") {
		t.Errorf("add to missing bridge: %v", err)
	}
	if err := r.c.DestroyBridge(ctx, "acd-bridge-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.c.DestroyBridge(ctx, "acd-bridge-1"); !errors.Is(err, pbx.ErrNotFound) {
		t.Errorf("destroy twice: %v", err)
	}
}

func TestReconnectResyncs(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{ReconnectMin: 300 * time.Millisecond, ReconnectMax: 300 * time.Millisecond})
	ctx := r.ctx()
	stay, _ := r.inbound(emulator.Caller{Number: "79001234567"})
	gone, _ := r.inbound(emulator.Caller{Number: "79007654321"})
	if err := r.c.Answer(ctx, stay.ID()); err != nil {
		t.Fatal(err)
	}
	if err := r.c.StartMOH(ctx, stay.ID(), "default"); err != nil {
		t.Fatal(err)
	}

	r.srv.DropWebSocket()
	// Hang one call up while the socket is down (the reconnect backoff,
	// 150-300 ms here, keeps the gap open long enough).
	deadline := time.Now().Add(3 * time.Second)
	for r.c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("drop not noticed")
		}
		time.Sleep(time.Millisecond)
	}
	if r.srv.Connected() {
		t.Fatal("emulator already has a socket again")
	}
	gone.Hangup()

	rs := r.wait(is(pbx.Resynced, ""))
	ids := map[string]bool{}
	for _, ch := range rs.Channels {
		ids[ch.ID] = true
	}
	if !ids[stay.ID()] {
		t.Fatalf("resync misses the live channel: %+v", rs.Channels)
	}
	if ids[gone.ID()] {
		t.Fatalf("resync lists the hung-up channel: %+v", rs.Channels)
	}
	for _, ch := range rs.Channels {
		if ch.ID == stay.ID() && (ch.CallerNumber != "79001234567" || ch.State != "Up") {
			t.Errorf("resynced channel %+v", ch)
		}
	}
	if r.c.Reconnects() < 1 || !r.c.Connected() {
		t.Errorf("reconnects %d connected %v", r.c.Reconnects(), r.c.Connected())
	}
	// Later events still arrive. (The emulator has no POST /events/user,
	// so the adapter's connect barrier is skipped there and the emulator
	// may register the new socket a moment after our re-sync: wait for it.)
	eventually(t, func() bool { return r.srv.Connected() }, "emulator to register the new socket")
	if !stay.SendDTMF("6") {
		t.Fatal("dtmf not sent")
	}
	if e := r.wait(is(pbx.DTMF, stay.ID())); e.Digit != "6" {
		t.Fatalf("dtmf after reconnect %+v", e)
	}
	stay.Hangup()
	r.wait(is(pbx.StasisEnd, stay.ID()))
}

// An originated leg still ringing is in the application (subscribed) but not
// yet in Stasis: the resync must list it too.
func TestResyncListsRingingOriginate(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	r.srv.AddPhone("PJSIP/1003", emulator.Phone{Registered: true, NeverAnswer: true})
	ctx := r.ctx()
	if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-ring", Endpoint: "PJSIP/1003", Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	r.wait(is(pbx.Dial, "op-ring"))
	chans, err := r.c.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 1 || chans[0].ID != "op-ring" {
		t.Fatalf("channels %+v", chans)
	}
	if err := r.c.Hangup(ctx, "op-ring", ""); err != nil {
		t.Fatal(err)
	}
	r.wait(is(pbx.ChannelDestroyed, "op-ring"))
}

// The event filter keeps types ari/v5 does not know off the socket; and if
// one arrives anyway (filter gone), the reader survives it.
func TestUnknownEventTypeShield(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	ctx := r.ctx()
	h, _ := r.inbound(emulator.Caller{Number: "79001234567"})
	tone := fmt.Sprintf(`{"type":"ChannelToneDetected","timestamp":"2026-11-23T07:56:44.562+0000","channel":{"id":%q},"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`, h.ID())
	if n := r.srv.InjectRaw(tone); n != 0 {
		t.Errorf("filter not applied: unknown type forwarded to %d sockets", n)
	}
	// Remove the filter behind the adapter's back, then inject again.
	if err := r.c.raw(ctx, opOther, "test", "", http.MethodPut, "/applications/hotline/eventFilter", nil,
		map[string]any{"allowed": []any{}, "disallowed": []any{}}, nil); err != nil {
		t.Fatal(err)
	}
	before := r.c.unknown.Load()
	n := 0
	for _, raw := range []string{tone, `{"type":"RESTResponse"}`, `{"type":"StasisStart","channel":"not an object"}`, `not json`} {
		n += r.srv.InjectRaw(raw)
	}
	if n == 0 {
		t.Fatal("emulator forwarded nothing with an empty filter: the shield is not exercised")
	}
	h.SendDTMF("7")
	if e := r.wait(is(pbx.DTMF, h.ID())); e.Digit != "7" {
		t.Fatalf("dtmf after junk %+v", e)
	}
	if got := r.c.unknown.Load() - before; got != 2 {
		t.Errorf("%d unknown types counted, want 2 (ChannelToneDetected, RESTResponse)", got)
	}
	if !r.c.Connected() {
		t.Fatal("junk cost the connection")
	}
}

// A consumer that does not read for a while loses nothing: 500 digits
// queue while the test sleeps, then all arrive in order.
func TestSlowConsumerLosesNothing(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	h, _ := r.inbound(emulator.Caller{Number: "79001234567"})
	var want strings.Builder
	digits := "0123456789"
	for i := 0; i < 500; i++ {
		want.WriteByte(digits[i%10])
	}
	// Send in chunks from another goroutine while nobody reads Events().
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := want.String()
		for i := 0; i < len(s); i += 50 {
			h.SendDTMF(s[i : i+50])
		}
	}()
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for r.c.QueueLen() < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if q := r.c.QueueLen(); q < 500 {
		t.Fatalf("only %d events queued", q)
	}
	var got strings.Builder
	for got.Len() < 500 {
		e := r.wait(is(pbx.DTMF, h.ID()))
		got.WriteString(e.Digit)
	}
	if got.String() != want.String() {
		t.Fatalf("digits differ:\n got %s\nwant %s", got.String(), want.String())
	}
	if !r.c.Connected() || r.c.Reconnects() != 0 {
		t.Fatalf("connection suffered: connected %v reconnects %d", r.c.Connected(), r.c.Reconnects())
	}
}

func TestRunReturnsPromptlyOnCancel(t *testing.T) {
	// While connected.
	r := newRig(t, emulator.Options{}, Options{})
	start := time.Now()
	r.stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stop took %v", d)
	}

	// While nothing listens (dial failing, in backoff).
	addr, err := listenSilent(t) // accepts, never answers: the dial hangs
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{URL: "http://" + addr + "/ari", User: "u", Password: "p", DialTimeout: 30 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	if c.Connected() {
		t.Fatal("connected to a silent port")
	}
	start = time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run hung in dial after cancel")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("cancel took %v", d)
	}
	c.Close()
	if _, ok := <-c.Events(); ok {
		t.Error("events channel open after Run")
	}
}

func TestCloseStopsRun(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	done := make(chan struct{})
	go func() { r.c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hung")
	}
	select {
	case err := <-r.runErr:
		r.runErr <- err // for the cleanup's stop()
		r.cancel()
	case <-time.After(time.Second):
		t.Fatal("Run still running after Close")
	}
	if err := r.c.Answer(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// The event filter is applied after the first connect and after every
// reconnect, listing only the types we forward.
func TestEventFilterReappliedOnReconnect(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	countPuts := func() int {
		n := 0
		for _, rc := range r.srv.RESTLog() {
			if rc.Method == http.MethodPut && strings.HasSuffix(rc.Path, "/applications/hotline/eventFilter") && rc.Status/100 == 2 {
				n++
			}
		}
		return n
	}
	// The emulator logs a REST call just after answering it: poll.
	eventually(t, func() bool { return countPuts() == 1 }, "one filter PUT after the first connect")
	r.srv.DropWebSocket()
	r.wait(is(pbx.Resynced, ""))
	eventually(t, func() bool { return countPuts() == 2 }, "two filter PUTs after a reconnect")
	var app struct {
		Allowed []struct {
			Type string `json:"type"`
		} `json:"events_allowed"`
	}
	if err := r.c.raw(r.ctx(), opOther, "test", "", http.MethodGet, "/applications/hotline", nil, nil, &app); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range app.Allowed {
		got[a.Type] = true
	}
	if !got["StasisStart"] || !got["ChannelDtmfReceived"] || got["ChannelVarset"] || len(got) != len(filteredEventTypes) {
		t.Fatalf("events_allowed %v", got)
	}
}

// A second instance with the same app name takes the app over; the first
// hears ApplicationReplaced, reports not connected, and does not fight back.
func TestApplicationReplaced(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	b := New(Options{URL: r.srv.URL(), WSURL: r.srv.WSURL(), User: "hotline", Password: "secret",
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	go func() {
		for range b.Events() {
		}
	}()
	defer func() { cancel(); <-done; b.Close() }()
	<-b.Ready()
	deadline := time.Now().Add(3 * time.Second)
	for r.c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("first instance still reports connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // no flapping
	if r.c.Connected() || !b.Connected() || r.c.Reconnects() != 0 || b.Reconnects() != 0 {
		t.Fatalf("a %v/%d b %v/%d", r.c.Connected(), r.c.Reconnects(), b.Connected(), b.Reconnects())
	}
}

// Originate without a timeout leaves it to Asterisk (30 s): no timeout field.
func TestOriginateDefaultTimeoutOmitted(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	r.srv.AddPhone("PJSIP/1003", emulator.Phone{Registered: true, NeverAnswer: true})
	ctx := r.ctx()
	if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "op-d", Endpoint: "PJSIP/1003", Args: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	var body string
	eventually(t, func() bool {
		for _, rc := range r.srv.RESTLog() {
			if rc.Method == http.MethodPost && rc.Path == "/ari/channels" {
				body = rc.Body
			}
		}
		return body != ""
	}, "originate in the REST log")
	if strings.Contains(body, "timeout") || !strings.Contains(body, `"appArgs":"a,b"`) || !strings.Contains(body, `"channelId":"op-d"`) {
		t.Fatalf("originate body %s", body)
	}
	if err := r.c.Hangup(ctx, "op-d", ""); err != nil {
		t.Fatal(err)
	}
}

// Originate into the dialplan sends context, extension and priority 1 and
// no app: Asterisk takes app before extension, and the channel must run the
// dialplan.
func TestOriginateIntoDialplan(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	ctx := r.ctx()
	if _, err := r.c.Originate(ctx, pbx.OriginateRequest{ChannelID: "dp-1", Endpoint: "Local/s@hotline-dbsync",
		Context: "hotline-dbsync", Extension: "read"}); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	for _, rc := range r.srv.RESTLog() {
		if rc.Method == http.MethodPost && rc.Path == "/ari/channels" {
			if err := json.Unmarshal([]byte(rc.Body), &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if body["context"] != "hotline-dbsync" || body["extension"] != "read" || body["priority"] != float64(1) ||
		body["channelId"] != "dp-1" || body["app"] != nil || body["appArgs"] != nil {
		t.Fatalf("originate body %v", body)
	}
	// The dialplan enters the application itself, with its own arguments.
	ev := r.wait(is(pbx.StasisStart, "dp-1"))
	if len(ev.Args) != 1 || ev.Args[0] != "db-sync" || ev.Channel.State != "Up" {
		t.Fatalf("StasisStart %+v", ev)
	}
	for _, e := range r.seen {
		if e.ChannelID == "dp-1" && e.Type != pbx.StasisStart {
			t.Fatalf("%s before the dialplan's Stasis(): the app is not subscribed to a channel originated into the dialplan", e.Type)
		}
	}
	if err := r.c.Hangup(ctx, "dp-1", ""); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Run, a reconnect, commands and Close leave no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		srv := emulator.New(emulator.Options{User: "hotline", Password: "secret"})
		if err := srv.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		c := New(Options{URL: srv.URL(), WSURL: srv.WSURL(), User: "hotline", Password: "secret",
			ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		<-c.Ready()
		h := srv.Call(emulator.Caller{Number: "1"})
		_ = c.Answer(context.Background(), h.ID())
		srv.DropWebSocket()
		for c.Reconnects() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		_ = c.Answer(context.Background(), "missing")
		cancel() // nobody read Events(): Run must not hang on it
		<-done
		c.Close()
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// After every connect the adapter waits for its own user event to come back
// before taking the re-sync snapshot.
func TestConnectBarrier(t *testing.T) {
	r := newRig(t, emulator.Options{}, Options{})
	var status int
	eventually(t, func() bool {
		for _, rc := range r.srv.RESTLog() {
			if strings.HasPrefix(rc.Path, "/ari/events/user/") {
				status = rc.Status
			}
		}
		return status != 0
	}, "the barrier's POST /events/user")
	if status == http.StatusNotFound {
		t.Skip("emulator lacks POST /events/user/{eventName}?application= (ChannelUserevent): barrier skipped")
	}
	if r.c.barriers.Load() != 1 {
		t.Fatalf("barrier not passed (POST status %d)", status)
	}
	r.srv.DropWebSocket()
	r.wait(is(pbx.Resynced, ""))
	if r.c.barriers.Load() != 2 {
		t.Fatal("barrier not passed after reconnect")
	}
}

// Several media play as one playback, item by item: the router sees one
// PlaybackStarted and one PlaybackFinished under its id, and a stop during
// the first item stops the list, so no item starts after it (Asterisk's
// own several-media playback can start its next item after a stop).
func TestSeveralMediaPlayAsOneAndStopCompletely(t *testing.T) {
	r := newRig(t, emulator.Options{PlaybackDuration: 30 * time.Millisecond}, Options{})
	h, ss := r.inbound(emulator.Caller{Number: "79001234567"})
	id := ss.ChannelID
	ctx := r.ctx()
	if err := r.c.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}
	media := []string{"sound:a", "sound:b", "sound:c"}
	if err := r.c.Play(ctx, id, "pb-all", media...); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackFinished && e.PlaybackID == "pb-all" })
	if got := h.Completed(); strings.Join(got, " ") != strings.Join(media, " ") {
		t.Fatalf("completed %v, want %v", got, media)
	}
	for _, e := range r.seen {
		if (e.Type == pbx.PlaybackStarted || e.Type == pbx.PlaybackFinished) && e.PlaybackID != "pb-all" {
			t.Errorf("the router saw an item's playback %q", e.PlaybackID)
		}
	}

	if err := r.c.Play(ctx, id, "pb-stop", "sound:long-prompt", "sound:next", "sound:last"); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackStarted && e.PlaybackID == "pb-stop" })
	if err := r.c.StopPlayback(ctx, "pb-stop"); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackFinished && e.PlaybackID == "pb-stop" })
	if n := h.Orphans(); n != 0 || slices.Contains(h.Played(), "sound:next") {
		t.Fatalf("after the stop %d item(s) still started: played %v", n, h.Played())
	}
}

// With Options.Events the filter lets only those types through (and the
// two the adapter needs itself): a call's progress the consumer ignores
// never reaches the socket.
func TestEventsOptionNarrowsTheFilter(t *testing.T) {
	r := newRig(t, emulator.Options{PlaybackDuration: 20 * time.Millisecond},
		Options{Events: []pbx.EventType{pbx.StasisStart, pbx.StasisEnd, pbx.PlaybackFinished}})
	var app struct {
		Allowed []struct {
			Type string `json:"type"`
		} `json:"events_allowed"`
	}
	eventually(t, func() bool {
		return r.c.raw(r.ctx(), opOther, "test", "", http.MethodGet, "/applications/hotline", nil, nil, &app) == nil && len(app.Allowed) > 0
	}, "the filter applied")
	var got []string
	for _, a := range app.Allowed {
		got = append(got, a.Type)
	}
	slices.Sort(got)
	want := []string{"ApplicationReplaced", "ChannelUserevent", "PlaybackFinished", "StasisEnd", "StasisStart"}
	if !slices.Equal(got, want) {
		t.Fatalf("events_allowed %v, want %v", got, want)
	}
	_, ss := r.inbound(emulator.Caller{Number: "79001234567"})
	id := ss.ChannelID
	if err := r.c.Answer(r.ctx(), id); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Play(r.ctx(), id, "pb-x", "sound:hello-world"); err != nil {
		t.Fatal(err)
	}
	r.wait(func(e pbx.Event) bool { return e.Type == pbx.PlaybackFinished && e.PlaybackID == "pb-x" })
	for _, e := range r.seen {
		if e.Type == pbx.ChannelStateChange || e.Type == pbx.PlaybackStarted {
			t.Fatalf("a filtered-out %s reached the consumer", e.Type)
		}
	}
}
