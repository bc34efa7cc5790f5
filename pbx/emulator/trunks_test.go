package emulator_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

const citizenNum = "+77011234567"

// callback originates a callback leg to number through the carrier trunk,
// as hotline does.
func (r *rig) callback(number, id string, want int) map[string]any {
	r.t.Helper()
	return r.mustDo("POST", "/channels", v("endpoint", "PJSIP/"+number+"@carrier", "app", "hotline",
		"appArgs", "callback-leg,"+id, "callerId", "Hotline <122>", "timeout", "5"), want)
}

func trunkRig(t *testing.T, numbers map[string]emulator.Phone) *rig {
	r := newRig(t, emulator.Options{})
	r.srv.AddTrunk("carrier", emulator.Trunk{Numbers: numbers})
	return r
}

func onlyOrigination(t *testing.T, srv *emulator.Server, number, outcome string) emulator.Origination {
	t.Helper()
	o := srv.Dialled(number)
	if len(o) != 1 || o[0].Outcome != outcome || o[0].CallerID != "Hotline <122>" || o[0].Number != number || o[0].Leg == nil {
		t.Fatalf("dialled %s: %+v, want one %q from Hotline <122>", number, o, outcome)
	}
	return o[0]
}

// The trunk's failed outcomes follow the recorded phone originates event
// for event, REST status for REST status.
func TestTrunkOutcomesMatchTraces(t *testing.T) {
	for _, tc := range []struct {
		trace, outcome string
		p              emulator.Phone
		cause          float64
	}{
		{"originate_busy", "busy", emulator.Phone{Busy: true}, 17},
		{"originate_declined", "declined", emulator.Phone{Decline: true}, 21},
		{"originate_no_answer", "no-answer", emulator.Phone{NeverAnswer: true}, 19},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			r := trunkRig(t, map[string]emulator.Phone{citizenNum: tc.p})
			start := time.Now()
			body := r.callback(citizenNum, "1", 200)
			if body["state"] != "Down" || !strings.HasPrefix(body["name"].(string), "PJSIP/carrier-") {
				t.Fatalf("originate body %v", body)
			}
			if c := body["caller"].(map[string]any); c["number"] != "122" || c["name"] != "Hotline" {
				t.Fatalf("caller shown %v", c)
			}
			d := r.waitFor("ChannelDestroyed")
			if d["cause"] != tc.cause {
				t.Fatalf("cause %v", d["cause"])
			}
			if tc.outcome == "no-answer" {
				if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
					t.Fatalf("timeout 5 s at scale 0.2 took %v", el)
				}
			} else if d["tech_cause"] == nil {
				t.Fatalf("no tech_cause: %v", d)
			}
			dial := r.all[0]
			if dial["type"] != "Dial" || dial["dialstring"] != citizenNum+"@carrier" {
				t.Fatalf("first event %v", dial)
			}
			r.compare(tc.trace, true)
			o := onlyOrigination(t, r.srv, citizenNum, tc.outcome)
			if o.AppArgs != "callback-leg,1" || o.ChannelID != body["id"] {
				t.Fatalf("%+v", o)
			}
			if r.srv.CitizenLeg(citizenNum) != nil {
				t.Fatal("a leg that was never answered is not the citizen's leg")
			}
			select {
			case <-o.Leg.Ended():
			case <-time.After(time.Second):
				t.Fatal("leg not ended")
			}
		})
	}
}

// 404 from the carrier: the 603 flow with cause 1; a number nobody
// scripted is unallocated too.
func TestTrunkUnallocated(t *testing.T) {
	for _, num := range []string{"+77010000000", "+77019999999"} {
		r := trunkRig(t, map[string]emulator.Phone{"+77010000000": {Unallocated: true}})
		r.callback(num, "2", 200)
		d := r.waitFor("ChannelDestroyed")
		if d["cause"] != 1.0 || d["tech_cause"] != 404.0 || d["cause_txt"] != "Unallocated (unassigned) number" {
			t.Fatalf("%v", d)
		}
		r.drain(50 * time.Millisecond)
		want := normalize(readTrace(t, "originate_declined"))
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], "cause=21", "cause=1")
		}
		diff(t, "unallocated events", want, normalize(r.all))
		onlyOrigination(t, r.srv, num, "unallocated")
	}
}

// An unknown trunk is an unknown endpoint: 500, no channel, no events.
func TestTrunkUnknown(t *testing.T) {
	r := trunkRig(t, nil)
	body := r.mustDo("POST", "/channels", v("endpoint", "PJSIP/"+citizenNum+"@nocarrier", "app", "hotline",
		"appArgs", "operator-leg", "timeout", "5"), 500)
	if body["error"] != "Allocation failed" {
		t.Fatalf("%v", body)
	}
	r.compare("originate_unknown_endpoint", true)
	if o := r.srv.Dialled(citizenNum); len(o) != 0 {
		t.Fatalf("%+v", o)
	}
}

// Answered: StasisStart(Up) with the appArgs, as an operator originate;
// the citizen's handle sees the prompt, presses digits and hangs up.
func TestTrunkAnswered(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.AddTrunk("carrier", emulator.Trunk{Citizen: func(n string) emulator.Phone {
		return emulator.Phone{AnswerAfter: 20 * time.Millisecond}
	}})
	if st, body := call(t, r.srv, "GET", "/endpoints/PJSIP/carrier", nil, ""); st != 200 || !strings.Contains(string(body), `"state":"online"`) {
		t.Fatalf("%d %s", st, body)
	}
	id := r.callback(citizenNum, "42", 200)["id"].(string)
	ss := r.waitFor("StasisStart")
	if chanID(ss) != id || ss["channel"].(map[string]any)["state"] != "Up" {
		t.Fatalf("%v", ss)
	}
	if args := ss["args"].([]any); len(args) != 2 || args[0] != "callback-leg" || args[1] != "42" {
		t.Fatalf("args %v", args)
	}
	if st, body := call(t, r.srv, "GET", "/endpoints/PJSIP/carrier", nil, ""); st != 200 || !strings.Contains(string(body), id) {
		t.Fatalf("%d %s", st, body)
	}
	leg := r.srv.CitizenLeg("77011234567") // digits only match too
	if leg == nil || leg.ID() != id {
		t.Fatalf("leg %v", leg)
	}
	select {
	case <-leg.Answered():
	default:
		t.Fatal("leg not answered")
	}
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hotline/ru/callback_greeting", "playbackId", "pb-"+id), 201)
	r.waitFor("PlaybackFinished")
	if p := leg.Played(); !slices.Equal(p, []string{"sound:hotline/ru/callback_greeting"}) {
		t.Fatalf("played %v", p)
	}
	if !leg.SendDTMF("1") || r.waitFor("ChannelDtmfReceived")["digit"] != "1" {
		t.Fatal("digit")
	}
	leg.Hangup()
	if hr := r.waitFor("ChannelHangupRequest"); hr["cause"] != nil {
		t.Fatalf("remote hangup with a cause: %v", hr)
	}
	r.waitFor("ChannelDestroyed")
	<-leg.Ended()
	if leg.EndedBy() != "remote" {
		t.Fatal(leg.EndedBy())
	}
	onlyOrigination(t, r.srv, citizenNum, "answered")
	if len(r.srv.Channels()) != 0 {
		t.Fatalf("%+v", r.srv.Channels())
	}
}

// The answered flow is the phones' one: the recorded operator originate,
// replayed through the trunk, matches event for event.
func TestTrunkAnsweredMatchesOperatorTrace(t *testing.T) {
	r := trunkRig(t, map[string]emulator.Phone{citizenNum: {AnswerAfter: 20 * time.Millisecond}})
	r.mustDo("POST", "/channels", v("endpoint", "PJSIP/"+citizenNum+"@carrier", "app", "hotline", "appArgs", "operator-test"), 200)
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/play", v("media", "sound:hello-world", "playbackId", "pb-"+id), 201)
	r.waitFor("PlaybackFinished")
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	r.waitFor("ChannelDestroyed")
	r.compare("originate_operator", false)
	if o := r.srv.Dialled(citizenNum); len(o) != 1 || o[0].CallerID != "" || o[0].Leg.EndedBy() != "app" {
		t.Fatalf("%+v", o)
	}
}

// The callee's HangupAfter (after answer) and HangupAfterBridged.
func TestTrunkCalleeHangups(t *testing.T) {
	r := trunkRig(t, map[string]emulator.Phone{
		"+77010000001": {HangupAfter: 50 * time.Millisecond},
		"+77010000002": {HangupAfterBridged: 50 * time.Millisecond},
	})
	id := r.callback("+77010000001", "1", 200)["id"].(string)
	r.waitFor("StasisStart")
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == id })

	r.srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true})
	op := r.mustDo("POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline", "appArgs", "operator-leg", "callerId", "Hotline <122>"), 200)["id"].(string)
	r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) == op })
	if o := r.srv.Originations("PJSIP/1001"); len(o) != 1 || o[0].CallerID != "Hotline <122>" || o[0].Number != "" {
		t.Fatalf("phone originations %+v", o)
	}
	cit := r.callback("+77010000002", "2", 200)["id"].(string)
	r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) == cit })
	leg := r.srv.CitizenLeg("+77010000002")
	time.Sleep(80 * time.Millisecond) // not bridged yet: no hangup
	select {
	case <-leg.Ended():
		t.Fatal("hung up before being bridged")
	default:
	}
	r.mustDo("POST", "/bridges", v("bridgeId", "cb-1", "type", "mixing,dtmf_events"), 200)
	r.mustDo("POST", "/bridges/cb-1/addChannel", v("channel", op), 204)
	start := time.Now()
	r.mustDo("POST", "/bridges/cb-1/addChannel", v("channel", cit), 204)
	select {
	case <-leg.Bridged():
	case <-time.After(time.Second):
		t.Fatal("not bridged")
	}
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == cit })
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("hung up %v after bridging", el)
	}
	if bid, _ := leg.Bridge(); bid != "" {
		t.Fatal(bid)
	}
}

// A virtual caller who abandoned answers when called back on its number;
// while still on the line it is busy.
func TestCallerAnswersCallback(t *testing.T) {
	r := trunkRig(t, nil)
	h := r.srv.Call(emulator.Caller{Number: "77011234567", AnswerCallbacks: &emulator.Phone{AnswerAfter: 10 * time.Millisecond}})
	in := chanID(r.waitFor("StasisStart"))
	r.callback(citizenNum, "7", 200)
	if d := r.waitFor("ChannelDestroyed"); d["cause"] != 17.0 {
		t.Fatalf("caller on the line: %v", d)
	}
	h.Hangup()
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == in })

	id := r.callback(citizenNum, "7", 200)["id"].(string)
	ss := r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) == id })
	if args := ss["args"].([]any); len(args) != 2 || args[1] != "7" {
		t.Fatal(args)
	}
	o := r.srv.Dialled("77011234567")
	if len(o) != 2 || o[0].Outcome != "busy" || o[1].Outcome != "answered" {
		t.Fatalf("%+v", o)
	}
	leg := r.srv.CitizenLeg(citizenNum)
	if leg == nil || leg.ID() != id || leg == h {
		t.Fatal("no callback leg")
	}
	// The answered callback keeps the number busy.
	r.callback(citizenNum, "8", 200)
	if d := r.waitFor("ChannelDestroyed"); d["cause"] != 17.0 || chanID(d) == id {
		t.Fatalf("%v", d)
	}
	r.mustDo("DELETE", "/channels/"+id, nil, 204)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := leg.WaitState(ctx, emulator.StateEnded); err != nil || leg.EndedBy() != "app" {
		t.Fatal(err, leg.EndedBy())
	}
	// Other numbers are still unallocated (no Citizen func).
	r.callback("+77019999999", "9", 200)
	if d := r.waitFor("ChannelDestroyed", func(f map[string]any) bool { return f["cause"] == 1.0 }); d == nil {
		t.Fatal()
	}
}
