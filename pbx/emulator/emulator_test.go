package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

const toneDetected = `{"type":"ChannelToneDetected","timestamp":"2026-11-23T07:56:44.562+0000","channel":{"id":"x"},"asterisk_id":"02:fc:00:00:00:01","application":"hotline"}`

// knownTypes is an allow-list an adapter would install to shield ari/v5.
const knownFilter = `{"allowed":[{"type":"StasisStart"},{"type":"StasisEnd"},{"type":"ChannelDestroyed"},{"type":"ChannelHangupRequest"},{"type":"ChannelStateChange"},{"type":"ChannelDtmfReceived"},{"type":"PlaybackStarted"},{"type":"PlaybackFinished"},{"type":"Dial"},{"type":"ChannelEnteredBridge"},{"type":"ChannelLeftBridge"},{"type":"BridgeDestroyed"}]}`

func TestEventFilterShieldsUnknownEvents(t *testing.T) {
	r := newRig(t, emulator.Options{})
	// Without a filter the raw frame goes out unchanged.
	if n := r.srv.InjectRaw(toneDetected); n != 1 {
		t.Fatalf("delivered to %d", n)
	}
	f := r.waitFor("ChannelToneDetected")
	if f["application"] != "hotline" {
		t.Fatal(f)
	}
	st, body := call(t, r.srv, "PUT", "/applications/hotline/eventFilter", nil, knownFilter)
	if st != 200 || !strings.Contains(string(body), `"events_allowed":[{"type":"StasisStart"}`) {
		t.Fatalf("%d %s", st, body)
	}
	if n := r.srv.InjectRaw(toneDetected); n != 0 {
		t.Fatalf("filtered frame delivered to %d", n)
	}
	// The filter applies to generated events too: ChannelVarset is not allowed.
	h := r.srv.Call(emulator.Caller{Number: "1"})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	h.Hangup()
	r.waitFor("StasisEnd")
	r.drain(50 * time.Millisecond)
	for _, f := range r.all[1:] {
		if f["type"] == "ChannelVarset" || f["type"] == "ChannelToneDetected" {
			t.Fatalf("filtered event delivered: %v", f["type"])
		}
	}
	// Bad filter → 400; unknown app → 404; empty body resets.
	if st, _ := call(t, r.srv, "PUT", "/applications/hotline/eventFilter", nil, `{"allowed":"x"}`); st != 400 {
		t.Fatal(st)
	}
	if st, _ := call(t, r.srv, "PUT", "/applications/nope/eventFilter", nil, knownFilter); st != 404 {
		t.Fatal(st)
	}
	if st, body := call(t, r.srv, "PUT", "/applications/hotline/eventFilter", nil, ""); st != 200 || !strings.Contains(string(body), `"events_allowed":[]`) {
		t.Fatalf("%d %s", st, body)
	}
}

func TestNativeClientWithFilterSurvivesUnknownEvent(t *testing.T) {
	srv := newServer(t, emulator.Options{})
	cl, err := native.Connect(&native.Options{Application: "hotline", URL: srv.URL(), WebsocketURL: srv.WSURL(), Username: testUser, Password: testPass})
	if err != nil {
		t.Fatal(err)
	}
	// (cl.Close is not called: see TestNativeClient.)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, srv, "PUT", "/applications/hotline/eventFilter", nil, knownFilter); st != 200 {
		t.Fatal(st)
	}
	if n := srv.InjectRaw(toneDetected); n != 0 {
		t.Fatal("unknown event would reach ari/v5 and panic it")
	}
	sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart, ari.Events.ChannelDtmfReceived)
	defer sub.Cancel()
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	select {
	case e := <-sub.Events():
		if e.GetType() != "StasisStart" {
			t.Fatal(e.GetType())
		}
	case <-ctx.Done():
		t.Fatal("no StasisStart")
	}
	// Dropped socket: ari/v5 reconnects by itself; the gap digit is lost.
	srv.DropWebSocket()
	h.SendDTMF("4")
	for !srv.Connected() {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // ari/v5 signals connected after GET /asterisk/info
	h.SendDTMF("6")
	select {
	case e := <-sub.Events():
		if d := e.(*ari.ChannelDtmfReceived); d.Digit != "6" {
			t.Fatalf("digit %s", d.Digit)
		}
	case <-ctx.Done():
		t.Fatal("no digit after reconnect")
	}
}

func TestApplicationReplaced(t *testing.T) {
	r := newRig(t, emulator.Options{})
	_, newer := dialWS(t, r.srv, "hotline")
	f := r.waitFor("ApplicationReplaced")
	if f["application"] != "hotline" {
		t.Fatal(f)
	}
	h := r.srv.Call(emulator.Caller{Number: "1"})
	select {
	case f := <-newer:
		if f["type"] != "StasisStart" || chanID(f) != h.ID() {
			t.Fatal(f)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("newest socket got nothing")
	}
	select {
	case f := <-r.frames:
		t.Fatalf("replaced socket got %v", f["type"])
	case <-time.After(100 * time.Millisecond):
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	srv := newServer(t, emulator.Options{WriteTimeout: 20 * time.Millisecond})
	ws, _ := dialWSNoRead(t, srv)
	defer ws.Close()
	h := srv.Call(emulator.Caller{Number: "1"})
	deadline := time.Now().Add(5 * time.Second)
	for srv.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("slow reader still connected")
		}
		h.SendDTMF(strings.Repeat("1", 200))
	}
	// The channel stays in Stasis and REST still works.
	if st, _ := call(t, srv, "GET", "/channels/"+h.ID(), nil, ""); st != 200 {
		t.Fatal(st)
	}
}

func TestRESTErrors(t *testing.T) {
	r := newRig(t, emulator.Options{})
	// Authentication.
	req, _ := http.NewRequest("GET", r.srv.URL()+"/asterisk/info", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatal(resp.StatusCode)
	}
	resp, err = http.Get(r.srv.URL() + "/asterisk/info?api_key=" + testUser + ":" + testPass)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		System struct {
			EntityID string `json:"entity_id"`
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || info.System.EntityID != emulator.DefaultEntityID {
		t.Fatal(resp.StatusCode, info)
	}
	if st, body := call(t, r.srv, "GET", "/nothing/here", nil, ""); st != 404 || string(body) != `{"message":"Resource not found"}` {
		t.Fatalf("%d %s", st, body)
	}
	r.mustDo("GET", "/channels/nope", nil, 404)
	r.mustDo("POST", "/channels/nope/answer", nil, 404)
	r.mustDo("POST", "/channels/nope/play", v("media", "sound:x"), 404)
	r.mustDo("GET", "/bridges/nope", nil, 404)
	r.mustDo("DELETE", "/playbacks/nope", nil, 404)

	// A channel that is not in Stasis yet (ringing originate): 409.
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, NeverAnswer: true})
	op := r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline"), 200)["id"].(string)
	r.mustDo("POST", "/channels/"+op+"/answer", nil, 409)
	r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline", "channelId", op), 409)

	// Bridges: 400 channel missing, 404 bridge missing, 422 not in Stasis / not in bridge.
	r.mustDo("POST", "/bridges", v("bridgeId", "b1"), 200)
	r.mustDo("POST", "/bridges", v("bridgeId", "b1"), 409)
	r.mustDo("POST", "/bridges/b1/addChannel", v("channel", "nope"), 400)
	r.mustDo("POST", "/bridges/nope/addChannel", v("channel", op), 404)
	r.mustDo("POST", "/bridges/b1/addChannel", v("channel", op), 422)
	h := r.srv.Call(emulator.Caller{Number: "1"})
	r.waitFor("StasisStart")
	r.mustDo("POST", "/bridges/b1/removeChannel", v("channel", h.ID()), 422)
	r.mustDo("POST", "/bridges", v("type", "weird"), 400)

	// Variables and subscriptions.
	r.mustDo("POST", "/channels/"+h.ID()+"/variable", v("variable", "FOO", "value", "bar"), 204)
	if got := r.mustDo("GET", "/channels/"+h.ID()+"/variable", v("variable", "FOO"), 200); got["value"] != "bar" {
		t.Fatal(got)
	}
	r.mustDo("GET", "/channels/"+h.ID()+"/variable", v("variable", "NOPE"), 404)
	r.mustDo("POST", "/applications/hotline/subscription", v("eventSource", "channel:"+h.ID()), 200)
	r.mustDo("POST", "/applications/hotline/subscription", v("eventSource", "channel:nope"), 422)
	r.mustDo("POST", "/applications/nope/subscription", v("eventSource", "channel:"+h.ID()), 404)
	// Explicitly subscribed: the dialplan channel's ChannelDestroyed now arrives.
	h.Hangup()
	if d := r.waitFor("ChannelDestroyed", func(f map[string]any) bool { return chanID(f) == h.ID() }); d["cause"] != float64(16) {
		t.Fatal(d)
	}
	if got := r.srv.RESTLog(); len(got) == 0 || got[len(got)-1].Status == 0 {
		t.Fatal("no REST log")
	}
}

// TestPhonesAndScripts: an operator phone that answers and hangs up by
// itself; a caller who hangs up while the operator rings.
func TestPhonesAndScripts(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 10 * time.Millisecond, HangupAfter: 50 * time.Millisecond})
	r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline", "appArgs", "operator-leg"), 200)
	ss := r.waitFor("StasisStart")
	if args := ss["args"].([]any); len(args) != 1 || args[0] != "operator-leg" {
		t.Fatal(args)
	}
	hr := r.waitFor("ChannelHangupRequest")
	if _, ok := hr["cause"]; ok {
		t.Fatal("remote hangup carries a cause")
	}
	r.waitFor("ChannelDestroyed")
	if o := r.srv.Originations("PJSIP/1001"); len(o) != 1 || o[0].Outcome != "answered" {
		t.Fatalf("%+v", o)
	}

	// Caller hangs up at 100 ms; the app stops ringing the operator.
	r.srv.SetPhone("PJSIP/1001", emulator.Phone{Registered: true, NeverAnswer: true})
	h := r.srv.Call(emulator.Caller{Number: "2", HangupAt: 100 * time.Millisecond})
	r.waitFor("StasisStart")
	op := r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline", "timeout", "-1"), 200)["id"].(string)
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == h.ID() })
	r.mustDo("DELETE", "/channels/"+op, nil, 204)
	r.waitFor("ChannelDestroyed", func(f map[string]any) bool { return chanID(f) == op })
	if n := r.srv.PhoneRang("PJSIP/1001"); n != 2 {
		t.Fatalf("rang %d", n)
	}
	if len(r.srv.Channels()) != 0 {
		t.Fatalf("%+v", r.srv.Channels())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := h.WaitState(ctx, emulator.StateEnded); err != nil || h.EndedBy() != "remote" {
		t.Fatal(err, h.EndedBy())
	}
}
