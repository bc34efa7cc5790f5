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
