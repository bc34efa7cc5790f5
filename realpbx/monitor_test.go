package realpbx

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// monitorOnRealAsterisk: a SIPp citizen talks to operator 1001 (baresip);
// the supervisor's baresip (1901) is rung for mode and answers; Asterisk
// holds a Snoop/ channel bridged with the supervisor's leg alone, RTP
// flows to and from the supervisor's phone, the conversation's bridge is
// still the citizen and the operator only; StopMonitor hangs the
// supervisor up and the snoop channel goes; the call's record names the
// monitor.
func monitorOnRealAsterisk(t *testing.T, mode, number string) {
	r := newRig(t, rigOptions{inProcess: true})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	sup := r.ast.Softphone(t, "1901", pbxtest.PhoneOptions{})
	r.login("1001")
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Audio: true}, pbxtest.Step{Wait: 14 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: number, Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	var cid string
	r.waitFor(5*time.Second, "citizen bridged with the operator", func() bool {
		cid = r.inboundCall()
		_, chans := r.bridgeOf(cid)
		return cid != "" && len(chans) == 2
	})
	id, err := r.app().Router().Monitor(ctxFor(t, 5*time.Second), "PJSIP/1901", "1001", mode)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	if _, err := sup.WaitEvent(ctxFor(t, 10*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("the supervisor's phone never answered: %v", err)
	}
	r.waitFor(10*time.Second, "the snoop channel bridged with the supervisor's leg", func() bool {
		_, chans := r.bridgeOf(id + "-sup")
		return len(chans) == 2 && (chans[0] == id+"-snoop" || chans[1] == id+"-snoop")
	})
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last pjsip show channelstats:\n%s", last)
		}
	})
	r.waitFor(8*time.Second, "RTP to and from the supervisor's phone", func() bool {
		last = r.ast.MustCLI(t, "pjsip show channelstats")
		s := channelStats(last)["1901"]
		return s.rx > 20 && s.tx > 20
	})
	if _, chans := r.bridgeOf(cid); len(chans) != 2 || !(strings.Contains(chans[0], "-op-") || strings.Contains(chans[1], "-op-")) {
		t.Fatalf("the conversation's bridge holds %v, want the citizen and the operator's leg", chans)
	}
	if err := r.app().Router().StopMonitor(ctxFor(t, 5*time.Second), id); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := sup.WaitEvent(ctxFor(t, 10*time.Second), "CALL_CLOSED", 1); err != nil {
		t.Fatalf("the supervisor was not hung up: %v", err)
	}
	r.waitFor(5*time.Second, "the snoop channel gone", func() bool {
		for _, ch := range r.channels() {
			if strings.HasPrefix(ch, id) {
				return false
			}
		}
		return true
	})
	if err := c.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("citizen's call failed (a re-INVITE fails it): %v", err)
	}
	rec := r.recordOf(number, 10*time.Second, records.OutcomeAnswered)
	if len(rec.Monitored) != 1 || rec.Monitored[0] != mode+":PJSIP/1901" {
		t.Fatalf("record monitored %v", rec.Monitored)
	}
}

func TestMonitorListenRealAsterisk(t *testing.T) {
	monitorOnRealAsterisk(t, router.MonitorListen, "79001234571")
}

func TestMonitorWhisperRealAsterisk(t *testing.T) {
	monitorOnRealAsterisk(t, router.MonitorWhisper, "79001234572")
}

// A complaints conversation (the example's recording topic) on a real
// Asterisk: a stored wav named after the call appears once it ends, the
// record names it, and it has audio (more than a wav header).
func TestRecordingRealAsterisk(t *testing.T) {
	r := newRig(t, rigOptions{inProcess: true})
	op := r.ast.Softphone(t, "1002", pbxtest.PhoneOptions{})
	r.login("1002")
	steps := []pbxtest.Step{{Wait: time.Second}, {Digit: "1"}, {Wait: 1500 * time.Millisecond}, {Digit: "6"},
		{Audio: true}, {Wait: 12 * time.Second}}
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234573", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 40*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	if err := c.Wait(ctxFor(t, 60*time.Second)); err != nil {
		t.Fatalf("citizen's call failed: %v", err)
	}
	rec := r.recordOf("79001234573", 10*time.Second, records.OutcomeAnswered)
	if rec.Recording == "" || !strings.Contains(rec.Recording, strings.ReplaceAll(rec.CallID, ".", "_")) {
		t.Fatalf("record of call %s names recording %q", rec.CallID, rec.Recording)
	}
	var stored []struct {
		Name, Format string
	}
	r.waitFor(5*time.Second, "the stored recording", func() bool {
		stored = nil
		_, _ = r.ari("GET", "/recordings/stored", &stored)
		for _, s := range stored {
			if s.Name == rec.Recording && s.Format == "wav" {
				return true
			}
		}
		return false
	})
	rc, err := r.app().Router().RecordingFile(ctxFor(t, 5*time.Second), rec.Recording)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if len(data) <= 44 || string(data[:4]) != "RIFF" {
		t.Fatalf("recording %s: %d bytes", rec.Recording, len(data))
	}
	t.Logf("recording %s: %d bytes", rec.Recording, len(data))
}
