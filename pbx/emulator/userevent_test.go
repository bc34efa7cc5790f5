package emulator_test

import (
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

func TestUserEvent(t *testing.T) {
	r := newRig(t, emulator.Options{})
	// Unknown application: 404 with Asterisk's message, nothing sent.
	st, body := call(t, r.srv, "POST", "/events/user/ping", v("application", "nope"), "")
	if st != 404 || !strings.Contains(string(body), `"message":"Application not found"`) {
		t.Fatalf("%d %s", st, body)
	}
	if st, _ := call(t, r.srv, "POST", "/events/user/ping", nil, ""); st != 400 {
		t.Fatalf("without application: %d", st)
	}
	if st, _ := call(t, r.srv, "GET", "/events/user/ping", v("application", "hotline"), ""); st != 405 {
		t.Fatalf("GET: %d", st)
	}
	st, body = call(t, r.srv, "POST", "/events/user/ping", v("application", "hotline"), `{"variables":{"k":"v"}}`)
	if st != 204 || len(body) != 0 {
		t.Fatalf("%d %s", st, body)
	}
	f := r.waitFor("ChannelUserevent")
	ue, _ := f["userevent"].(map[string]any)
	if f["eventname"] != "ping" || f["application"] != "hotline" || f["asterisk_id"] != emulator.DefaultEntityID ||
		ue["k"] != "v" || f["timestamp"] == nil {
		t.Fatalf("frame %v", f)
	}
	// With a channel source the event carries the channel snapshot; a
	// missing source is 422.
	r.srv.Call(emulator.Caller{Number: "1"})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/events/user/ping2", v("application", "hotline", "source", "channel:"+id), 204)
	if got := chanID(r.waitFor("ChannelUserevent", func(m map[string]any) bool { return m["eventname"] == "ping2" })); got != id {
		t.Fatalf("channel %q", got)
	}
	if st, _ := call(t, r.srv, "POST", "/events/user/x", v("application", "hotline", "source", "channel:nope"), ""); st != 422 {
		t.Fatal(st)
	}
	// The event filter applies: a filtered user event is not sent (the
	// next one allowed arrives first).
	if st, _ := call(t, r.srv, "PUT", "/applications/hotline/eventFilter", nil, `{"allowed":[{"type":"StasisStart"}]}`); st != 200 {
		t.Fatal(st)
	}
	r.mustDo("POST", "/events/user/blocked", v("application", "hotline"), 204)
	if st, _ := call(t, r.srv, "PUT", "/applications/hotline/eventFilter", nil, ""); st != 200 {
		t.Fatal(st)
	}
	r.mustDo("POST", "/events/user/after", v("application", "hotline"), 204)
	if f := r.waitFor("ChannelUserevent"); f["eventname"] != "after" {
		t.Fatalf("filtered user event delivered: %v", f["eventname"])
	}
	// A known but deactivated application: 204, dropped.
	r.disconnect()
	r.mustDo("POST", "/events/user/gone", v("application", "hotline"), 204)
}
