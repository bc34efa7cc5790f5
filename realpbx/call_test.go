package realpbx

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
)

// ru, then "3" (testing): the topic operator 1001 takes in Russian.
var toTesting = []pbxtest.Step{{Wait: time.Second}, {Digit: "1"}, {Wait: 1500 * time.Millisecond}, {Digit: "3"}}

// An operator logs in with *11 and hears the confirmation to its end; a
// citizen through the carrier picks Russian and "testing" in the menu,
// waits, and talks to the operator with audio both ways; hanging up leaves
// one answered record with the IVR path, and the citizen was never shown
// the operator leg's caller ID.
func TestIVRQueueOperatorAudio(t *testing.T) {
	r := newRig(t, rigOptions{})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	op.Dial(t, "*11")
	if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_CLOSED", 1); err != nil {
		t.Fatal(err)
	}
	r.waitFor(5*time.Second, "1001 ready", func() bool { return r.agentState("1001") == "ready" })
	if strings.Contains(r.ast.FullLog(), "Playback failed") {
		t.Errorf("the *11 confirmation was cut off:\n%s", grep(r.ast.FullLog(), "Playback failed"))
	}

	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Audio: true}, pbxtest.Step{Wait: 9 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234567", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 2); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	// Audio both ways: each PJSIP leg of the conversation receives and
	// sends RTP through Asterisk.
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last pjsip show channelstats:\n%s", last)
		}
	})
	r.waitFor(8*time.Second, "RTP both ways on both legs", func() bool {
		last = r.ast.MustCLI(t, "pjsip show channelstats")
		stats := channelStats(last)
		carrier, operator := stats["carrier"], stats["1001"]
		return carrier.rx > 20 && carrier.tx > 20 && operator.rx > 20 && operator.tx > 20
	})
	if err := c.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("citizen's call failed (an unexpected re-INVITE or UPDATE fails it): %v", err)
	}
	rec := r.recordOf("79001234567", 10*time.Second, records.OutcomeAnswered, records.OutcomeDropped)
	if rec.Outcome != records.OutcomeAnswered || rec.Agent != "1001" || rec.Topic != "testing" || rec.Language != "ru" || rec.IVRPath == "" {
		t.Errorf("record %+v: want answered by 1001, testing, ru, with the IVR path", rec)
	}
}

type rtpCounts struct{ rx, tx int }

// " br-17961 1001-00000002  00:00:08 alaw  402  0  0  0.001  236 ...":
// bridge, channel, up time, codec, received count, lost, %, jitter, sent count.
var reStatsLine = regexp.MustCompile(`^\s*\S+\s+(\S+)-[0-9a-f]+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+\d+\s+\S+\s+(\d+)`)

// channelStats reads `pjsip show channelstats`: packets received and sent
// per endpoint (1001, carrier).
func channelStats(out string) map[string]rtpCounts {
	got := map[string]rtpCounts{}
	for _, line := range strings.Split(out, "\n") {
		m := reStatsLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rx, _ := strconv.Atoi(m[2])
		tx, _ := strconv.Atoi(m[3])
		got[m[1]] = rtpCounts{rx, tx}
	}
	return got
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// An operator who does not answer within the topic's ring_timeout is
// skipped: the caller keeps its place and the next free operator gets it.
func TestRingTimeoutReoffers(t *testing.T) {
	r := newRig(t, rigOptions{edit: func(cfg string) string {
		return mustReplace(t, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    ring_timeout: 4s\n")
	}})
	slow := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{Manual: true}) // rings, never answers
	fast := r.ast.Softphone(t, "1003", pbxtest.PhoneOptions{})
	r.login("1001") // testing level 8 to 1003's 5, and the longest idle: offered first
	r.login("1003")
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 40 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001230055", Steps: steps, MaxWait: 60 * time.Second})
	rang, err := slow.WaitEvent(ctxFor(t, 30*time.Second), "CALL_INCOMING", 1)
	if err != nil {
		t.Fatalf("1001 never rang: %v", err)
	}
	est, err := fast.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1)
	if err != nil {
		t.Fatalf("1003 never got the caller: %v", err)
	}
	if d := est.At.Sub(rang.At); d < 4*time.Second || d > 8*time.Second {
		t.Errorf("re-offered %v after 1001 started ringing, want just after the 4 s ring timeout", d)
	}
	if slow.Count("CALL_ESTABLISHED") != 0 {
		t.Error("1001 was connected although it never answered")
	}
	fast.Hangup(t) // the operator ends the conversation: hotline hangs up the citizen
	if err := c.Wait(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	rec := r.recordOf("79001230055", 10*time.Second, records.OutcomeAnswered)
	if rec.Agent != "1003" || rec.Offers != 2 || rec.EndedBy != "operator" {
		t.Errorf("record %+v: want answered by 1003 after 2 offers, ended by the operator", rec)
	}
}
