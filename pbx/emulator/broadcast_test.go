package emulator_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

func waitFrame(t *testing.T, frames chan map[string]any, typ string) map[string]any {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("socket closed while waiting for %s", typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-timeout:
			t.Fatalf("timeout waiting for %s", typ)
		}
	}
}

// StasisBroadcast offers a call to every matching application; the first
// claim wins and the channel enters Stasis there with the call's args,
// the second claim is refused, an application outside the filter hears
// nothing.
func TestBroadcastFirstClaimWins(t *testing.T) {
	srv := newServer(t, emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline-", Timeout: 5 * time.Second}})
	_, fa := dialWS(t, srv, "hotline-a")
	_, fb := dialWS(t, srv, "hotline-b")
	_, fo := dialWS(t, srv, "other")
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	ba := waitFrame(t, fa, "CallBroadcast")
	bb := waitFrame(t, fb, "CallBroadcast")
	id := chanID(ba)
	if chanID(bb) != id || ba["caller"] != "79001234567" || ba["called"] != "122" || ba["application"] != "hotline-a" {
		t.Fatalf("broadcasts: %v / %v", ba, bb)
	}
	claim := func(app string) int {
		st, _ := call(t, srv, "POST", "/events/claim", url.Values{"channelId": {id}, "application": {app}}, "")
		return st
	}
	if st := claim("hotline-b"); st != 204 {
		t.Fatalf("first claim: %d, want 204", st)
	}
	if st := claim("hotline-a"); st != 409 {
		t.Fatalf("second claim: %d, want 409", st)
	}
	ss := waitFrame(t, fb, "StasisStart")
	if chanID(ss) != id || ss["application"] != "hotline-b" {
		t.Fatalf("StasisStart: %v", ss)
	}
	if args, _ := ss["args"].([]any); len(args) != 1 || args[0] != "inbound" {
		t.Fatalf("args %v, want [inbound]", ss["args"])
	}
	if h.App() != "hotline-b" {
		t.Fatalf("call held by %q", h.App())
	}
	if st, _ := call(t, srv, "POST", "/events/claim", url.Values{"channelId": {"nope"}, "application": {"hotline-a"}}, ""); st != 404 {
		t.Fatalf("claim of an unknown channel: %d, want 404", st)
	}
	h.Hangup()
	waitFrame(t, fb, "StasisEnd")
	select {
	case f := <-fo:
		t.Fatalf("application outside the filter heard %v", f["type"])
	default:
	}
}

// Nobody claiming within the timeout: the dialplan goes on to the
// fallback (with Options.Fallback) or hangs up.
func TestBroadcastTimeout(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		srv := newServer(t, emulator.Options{Fallback: fallback, Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 100 * time.Millisecond}})
		_, fa := dialWS(t, srv, "hotline-a")
		h := srv.Call(emulator.Caller{Number: "79001234567"})
		waitFrame(t, fa, "CallBroadcast")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if fallback {
			for !h.InFallback() && ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			if !h.InFallback() {
				t.Fatal("unclaimed call not in the fallback")
			}
		} else if err := h.WaitState(ctx, emulator.StateEnded); err != nil || !h.Rejected() {
			t.Fatalf("unclaimed call: %v, rejected %v", err, h.Rejected())
		}
		cancel()
	}
}

// Restart: every channel vanishes without an event, sockets close, the
// startup time changes; the AstDB stays.
func TestRestartDropsEverything(t *testing.T) {
	r := newRig(t, emulator.Options{})
	before := r.mustDo("GET", "/asterisk/info", url.Values{"only": {"status"}}, 200)
	h := r.srv.Call(emulator.Caller{Number: "79001234567"})
	r.waitFor("StasisStart")
	r.srv.SetDB("hotline_missed", "x", "1|2")
	r.srv.Restart()
	for range r.frames {
		// The socket closes; nothing else may arrive but what was queued.
	}
	for _, f := range r.all {
		if f["type"] == "StasisEnd" || f["type"] == "ChannelDestroyed" {
			t.Fatalf("restart sent %v", f["type"])
		}
	}
	select {
	case <-h.Ended():
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end")
	}
	if h.EndedBy() != "restart" {
		t.Fatalf("ended by %q", h.EndedBy())
	}
	if n := len(r.srv.Channels()); n != 0 {
		t.Fatalf("%d channels after restart", n)
	}
	after := r.mustDo("GET", "/asterisk/info", url.Values{"only": {"status"}}, 200)
	if before["status"].(map[string]any)["startup_time"] == after["status"].(map[string]any)["startup_time"] {
		t.Fatal("startup time unchanged")
	}
	if v, ok := r.srv.DB("hotline_missed", "x"); !ok || v != "1|2" {
		t.Fatalf("AstDB lost: %q %v", v, ok)
	}
}
