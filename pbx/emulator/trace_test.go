package emulator_test

import (
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Each test drives one recorded scenario (testdata/traces) through the
// emulator with a plain WebSocket + net/http client making the recorded
// REST calls, and compares the normalised event sequence (and the REST
// status codes, when a .rest.jsonl exists) with the recording.

func noArgs() []string { return []string{} }

func TestTraceIVRCall(t *testing.T) {
	r := newRig(t, emulator.Options{SoundDurations: map[string]time.Duration{"sound:hello-world": 2 * time.Second}})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs(), Script: []emulator.Step{
		{OnPlaybackStarted: 1, Delay: 50 * time.Millisecond, Digits: "1"},
		{AfterPlayback: 1, Delay: 20 * time.Millisecond, Digits: "2#"},
	}})
	ss := r.waitFor("StasisStart")
	id := chanID(ss)
	if id != h.ID() {
		t.Fatalf("id %s vs %s", id, h.ID())
	}
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world", "playbackId", "pb-"+id), 201)
	r.waitFor("ChannelDtmfReceived", func(f map[string]any) bool { return f["digit"] == "#" })
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("StasisEnd")
	r.compare("ivr_call", false)
	<-h.Ended()
	if h.EndedBy() != "app" || len(h.Played()) != 1 {
		t.Fatalf("ended by %s played %v", h.EndedBy(), h.Played())
	}
}

func TestTraceCallerHangup(t *testing.T) {
	r := newRig(t, emulator.Options{})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs(), Script: []emulator.Step{
		{AfterPlayback: 1, Delay: 30 * time.Millisecond, Hangup: true},
	}})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world", "playbackId", "pb-"+id), 201)
	r.waitFor("StasisEnd")
	r.compare("caller_hangup", false)
	if h.EndedBy() != "remote" {
		t.Fatal(h.EndedBy())
	}
	// The channel is gone: 404.
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 404)
}

func TestTraceOriginateOperator(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond})
	body := r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline", "appArgs", "operator-test", "channelId", "01m83nxnp7g6zhx3j05ytgykfd-ch"), 200)
	if body["state"] != "Down" || body["id"] != "01m83nxnp7g6zhx3j05ytgykfd-ch" {
		t.Fatalf("originate body %v", body)
	}
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world", "playbackId", "pb-"+id), 201)
	r.waitFor("PlaybackFinished")
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("ChannelDestroyed")
	r.compare("originate_operator", false)
	if n := r.srv.PhoneRang("PJSIP/1001"); n != 1 {
		t.Fatalf("rang %d", n)
	}
}

func TestTraceOperatorAgentLogin(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true})
	r.srv.DialFromPhone("PJSIP/1001", "*11", nil)
	ss := r.waitFor("StasisStart")
	ch := ss["channel"].(map[string]any)
	dp := ch["dialplan"].(map[string]any)
	if dp["app_data"] != "hotline,agent-login" || dp["exten"] != "*11" || dp["context"] != "from-operators" || ch["caller"].(map[string]any)["number"] != "1001" {
		t.Fatalf("channel %v", ch)
	}
	id := chanID(ss)
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world", "playbackId", "pb-"+id), 201)
	r.waitFor("PlaybackFinished")
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("StasisEnd")
	r.compare("operator_agent_login", false)
}

// bridgeScenario: caller in a bridge on MOH, operator originated and added
// on answer, caller digits, then the app hangs up both and the bridge.
func bridgeScenario(t *testing.T, typ string) *rig {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1002", emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs(), Script: []emulator.Step{
		{AfterBridged: true, Delay: 30 * time.Millisecond, Digits: "12#"},
	}})
	caller := chanID(r.waitFor("StasisStart"))
	br := "br-" + caller
	r.mustDo("POST", "/channels/"+caller+"/answer", nil, 204)
	r.mustDo("POST", "/bridges", v("type", typ, "bridgeId", br, "name", "hotline-"+caller), 200)
	r.mustDo("POST", "/bridges/"+br+"/addChannel", v("channel", caller), 204)
	r.mustDo("POST", "/bridges/"+br+"/moh", v("mohClass", "default"), 204)
	if !h.OnMOH() {
		t.Fatal("caller not on MOH")
	}
	r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1002", "app", "hotline", "appArgs", "operator-leg"), 200)
	op := chanID(r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) != caller }))
	r.mustDo("DELETE", "/bridges/"+br+"/moh", nil, 204)
	r.mustDo("POST", "/bridges/"+br+"/addChannel", v("channel", op), 204)
	<-h.Bridged()
	if id, peers := h.Bridge(); id != br || len(peers) != 1 || peers[0] != op {
		t.Fatalf("bridge %s %v", id, peers)
	}
	for len(h.DigitsSent()) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	r.mustDo("DELETE", "/channels/"+caller, nil, 204)
	r.mustDo("DELETE", "/channels/"+op, nil, 204)
	r.waitFor("ChannelDestroyed")
	r.mustDo("DELETE", "/bridges/"+br, nil, 204)
	r.waitFor("BridgeDestroyed")
	return r
}

func TestTraceBridgeCitizenOperator(t *testing.T) {
	r := bridgeScenario(t, "mixing")
	r.drain(150 * time.Millisecond)
	// In the recording the two DELETEs raced inside Asterisk and their
	// events interleave; compare each entity's own sequence.
	diff(t, "bridge_citizen_operator events (per entity)", perEntity(normalize(readTrace(t, "bridge_citizen_operator"))), perEntity(normalize(r.all)))
}

func TestTraceBridgeCitizenOperatorDTMFEvents(t *testing.T) {
	r := bridgeScenario(t, "mixing,dtmf_events")
	r.compare("bridge_citizen_operator_dtmf_events", false)
}

func originateOutcome(t *testing.T, name, endpoint string, p emulator.Phone, timeout string) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone(endpoint, p)
	body := r.mustDo("POST", "/channels", v("app", "hotline", "appArgs", "operator-leg", "endpoint", endpoint, "timeout", timeout), 200)
	if body["state"] != "Down" {
		t.Fatalf("originate body %v", body)
	}
	r.waitFor("ChannelDestroyed")
	r.compare(name, true)
}

func TestTraceOriginateNoAnswer(t *testing.T) {
	originateOutcome(t, "originate_no_answer", "PJSIP/1090", emulator.Phone{Registered: true, NeverAnswer: true}, "5")
}

func TestTraceOriginateBusy(t *testing.T) {
	originateOutcome(t, "originate_busy", "PJSIP/1091", emulator.Phone{Registered: true, Busy: true}, "5")
}

func TestTraceOriginateDeclined(t *testing.T) {
	originateOutcome(t, "originate_declined", "PJSIP/1092", emulator.Phone{Registered: true, Decline: true}, "5")
}

func originateRefused(t *testing.T, name, endpoint string) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1004", emulator.Phone{Registered: false})
	body := r.mustDo("POST", "/channels", v("app", "hotline", "appArgs", "operator-leg", "endpoint", endpoint, "timeout", "5"), 500)
	if body["error"] != "Allocation failed" {
		t.Fatalf("body %v", body)
	}
	r.compare(name, true)
	if n := r.srv.PhoneRang("PJSIP/1004"); n != 0 {
		t.Fatalf("rang %d", n)
	}
}

func TestTraceOriginateUnregistered(t *testing.T) {
	originateRefused(t, "originate_unregistered", "PJSIP/1004")
	// GET /endpoints tells the two apart.
	srv := newServer(t, emulator.Options{})
	srv.AddPhone("PJSIP/1004", emulator.Phone{})
	if st, body := call(t, srv, "GET", "/endpoints/PJSIP/1004", nil, ""); st != 200 || !contains(string(body), `"state":"offline"`) {
		t.Fatalf("%d %s", st, body)
	}
	if st, _ := call(t, srv, "GET", "/endpoints/PJSIP/9999", nil, ""); st != 404 {
		t.Fatalf("%d", st)
	}
}

func TestTraceOriginateUnknownEndpoint(t *testing.T) {
	originateRefused(t, "originate_unknown_endpoint", "PJSIP/9999")
}

func TestTraceOriginateCancelRinging(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1090", emulator.Phone{Registered: true, NeverAnswer: true})
	body := r.mustDo("POST", "/channels", v("app", "hotline", "appArgs", "operator-leg", "endpoint", "PJSIP/1090", "timeout", "30"), 200)
	r.waitFor("ChannelStateChange") // Dial(RINGING) came just before
	r.mustDo("DELETE", "/channels/"+body["id"].(string), nil, 204)
	r.waitFor("ChannelDestroyed")
	r.compare("originate_cancel_ringing", true)
	if o := r.srv.Originations("PJSIP/1090"); len(o) != 1 || o[0].Outcome != "cancelled" {
		t.Fatalf("%+v", o)
	}
}

func TestTraceMOHAndRing(t *testing.T) {
	r := newRig(t, emulator.Options{})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs()})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/ring", nil, 204)
	if !h.Ringing() {
		t.Fatal("not ringing")
	}
	r.mustDo("DELETE", "/channels/"+id+"/ring", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/moh", v("mohClass", "default"), 204)
	if !h.OnMOH() {
		t.Fatal("not on MOH")
	}
	h.SendDTMF("5")
	h.SendDTMF("7")
	r.waitFor("ChannelDtmfReceived", func(f map[string]any) bool { return f["digit"] == "7" })
	r.mustDo("DELETE", "/channels/"+id+"/moh", nil, 204)
	body := r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world"), 201)
	if body["state"] != "queued" || body["media_uri"] != "sound:hello-world" || body["target_uri"] != "channel:"+id || body["language"] != "en" || body["id"] == "" {
		t.Fatalf("play body %v", body)
	}
	r.waitFor("PlaybackFinished")
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("StasisEnd")
	r.compare("moh_and_ring", true)
}

func TestTracePlaybackMissingFile(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs()})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	body := r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:does-not-exist"), 201)
	f := r.waitFor("PlaybackFinished")
	if f["playback"].(map[string]any)["state"] != "failed" {
		t.Fatal(f)
	}
	r.mustDo("GET", "/playbacks/"+body["id"].(string), nil, 404)
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("StasisEnd")
	r.compare("playback_missing_file", true)
}

func TestTracePlaybackStopBargein(t *testing.T) {
	r := newRig(t, emulator.Options{SoundDurations: map[string]time.Duration{"sound:demo-congrats": 20 * time.Second}})
	r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs(), Script: []emulator.Step{
		{OnMedia: "demo-congrats", Delay: 100 * time.Millisecond, Digits: "3"},
	}})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	body := r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:demo-congrats", "playbackId", "pb-bargein-1"), 201)
	if body["id"] != "pb-bargein-1" {
		t.Fatal(body)
	}
	r.waitFor("ChannelDtmfReceived")
	if st, pb := r.do("GET", "/playbacks/pb-bargein-1", nil); st != 200 || pb["state"] != "playing" {
		t.Fatalf("digit stopped the playback: %d %v", st, pb)
	}
	r.rest = r.rest[:len(r.rest)-1] // not in the recording
	r.mustDo("DELETE", "/playbacks/pb-bargein-1", nil, 204)
	r.mustDo("DELETE", "/playbacks/pb-bargein-1", nil, 404)
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("StasisEnd")
	r.compare("playback_stop_bargein", true)
}

func TestTraceOperatorHangsUpFirst(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddPhone("PJSIP/1002", emulator.Phone{Registered: true, AnswerAfter: 10 * time.Millisecond})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs()})
	caller := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+caller+"/answer", nil, 204)
	br := r.mustDo("POST", "/bridges", v("bridgeId", "acd-bridge-1", "name", "acd-bridge-1", "type", "mixing,dtmf_events"), 200)
	if br["technology"] != "simple_bridge" || br["bridge_type"] != "mixing" || br["bridge_class"] != "stasis" {
		t.Fatal(br)
	}
	r.mustDo("POST", "/bridges/acd-bridge-1/addChannel", v("channel", caller), 204)
	r.mustDo("POST", "/bridges/acd-bridge-1/moh", v("mohClass", "default"), 204)
	orig := r.mustDo("POST", "/channels", v("app", "hotline", "appArgs", "operator-leg", "callerId", "Hotline <122>", "endpoint", "PJSIP/1002", "timeout", "15"), 200)
	if c := orig["caller"].(map[string]any); c["name"] != "Hotline" || c["number"] != "122" {
		t.Fatal(orig)
	}
	op := chanID(r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) != caller }))
	r.mustDo("DELETE", "/bridges/acd-bridge-1/moh", nil, 204)
	r.mustDo("POST", "/bridges/acd-bridge-1/addChannel", v("channel", op), 204)
	<-h.Bridged()
	if !r.srv.HangupPhone("PJSIP/1002") {
		t.Fatal("no call to hang up")
	}
	r.waitFor("ChannelDestroyed")
	r.drain(100 * time.Millisecond)
	b := r.mustDo("GET", "/bridges/acd-bridge-1", nil, 200)
	if chs := b["channels"].([]any); len(chs) != 1 || chs[0] != caller {
		t.Fatalf("bridge channels %v", chs)
	}
	if h.State() == "ended" {
		t.Fatal("caller ended with the operator")
	}
	r.mustDo("DELETE", "/channels/"+caller, nil, 204)
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == caller })
	r.mustDo("DELETE", "/bridges/acd-bridge-1", nil, 204)
	r.waitFor("BridgeDestroyed")
	r.compare("operator_hangs_up_first", true)
}

func wsReconnect(t *testing.T, name string, gapDigit, afterDigit string) {
	r := newRig(t, emulator.Options{})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs()})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/moh", v("mohClass", "default"), 204)
	r.waitFor("ChannelStateChange")
	r.disconnect()
	if gapDigit != "" {
		h.SendDTMF(gapDigit)
	}
	check := func() {
		app := r.mustDo("GET", "/applications/hotline", nil, 200)
		if ids := app["channel_ids"].([]any); len(ids) != 1 || ids[0] != id {
			t.Fatalf("app %v", app)
		}
		st, _ := r.do("GET", "/channels", nil)
		if st != 200 {
			t.Fatal(st)
		}
	}
	check()
	r.connect()
	check()
	if afterDigit != "" {
		h.SendDTMF(afterDigit)
		r.waitFor("ChannelDtmfReceived")
	}
	if !h.OnMOH() {
		t.Fatal("MOH lost over the reconnect")
	}
	h.Hangup()
	r.waitFor("StasisEnd")
	r.mustDo("GET", "/channels", nil, 200)
	r.compare(name, true)
}

func TestTraceWSReconnect(t *testing.T) { wsReconnect(t, "ws_reconnect", "", "") }

func TestTraceWSReconnectGapDTMF(t *testing.T) { wsReconnect(t, "ws_reconnect_gap_dtmf", "4", "6") }

func TestTraceAppNotConnected(t *testing.T) {
	srv := newServer(t, emulator.Options{})
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	select {
	case <-h.Ended():
	case <-time.After(time.Second):
		t.Fatal("not ended")
	}
	if !h.Rejected() || h.EndedBy() != "rejected" || len(srv.Channels()) != 0 {
		t.Fatalf("rejected=%v by=%s", h.Rejected(), h.EndedBy())
	}
	if len(readTrace(t, "app_not_connected")) != 0 {
		t.Fatal("trace not empty")
	}
	// A socket that connects later hears nothing of it.
	_, frames := dialWS(t, srv, "hotline")
	select {
	case f := <-frames:
		t.Fatalf("unexpected %v", f)
	case <-time.After(100 * time.Millisecond):
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// As on Asterisk 22.10.1: DELETE of a several-media playback ends it (a
// PlaybackFinished "done"), yet the next item starts anyway, and the
// channel joins a bridge only once that item has played.
func TestStoppedSeveralMediaPlaybackStartsItsNextItem(t *testing.T) {
	// 2 s at the rig's time scale of 0.2: the orphan item plays 400 ms.
	r := newRig(t, emulator.Options{SoundDurations: map[string]time.Duration{"sound:next": 2 * time.Second}})
	h := r.srv.Call(emulator.Caller{Number: "79001234567", Args: noArgs()})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:first", "media", "sound:next", "playbackId", "pb-"+id), 201)
	r.waitFor("PlaybackStarted")
	r.mustDo("DELETE", "/playbacks/pb-"+id, nil, 204)
	r.waitFor("PlaybackFinished")
	if h.Orphans() != 1 || h.Played()[len(h.Played())-1] != "sound:next" {
		t.Fatalf("after the stop: orphans %d, played %v; want the next item started", h.Orphans(), h.Played())
	}
	r.mustDo("POST", "/bridges/br-1", v("type", "mixing"), 200)
	stopped := time.Now()
	r.mustDo("POST", "/bridges/br-1/addChannel", v("channel", id), 204)
	r.waitFor("ChannelEnteredBridge")
	if waited := time.Since(stopped); waited < 350*time.Millisecond {
		t.Fatalf("joined the bridge after %v, while the orphan item (400 ms) still played", waited)
	}
}
