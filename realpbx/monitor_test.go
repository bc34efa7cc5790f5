package realpbx

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// The voices of a monitored conversation: each party sends a tone of its
// own, and what each hears is checked for the others' tones.
const (
	citizenHz    = 1000
	operatorHz   = 440
	supervisorHz = 1800
)

// monitorOnRealAsterisk: a SIPp citizen (a 1000 Hz voice) talks to
// operator 1001 (baresip, 440 Hz); the supervisor's baresip (1901,
// 1800 Hz) is rung for mode and answers; Asterisk holds a Snoop/ channel
// bridged with the supervisor's leg alone and the conversation's bridge
// is still the citizen and the operator only. What each party heard,
// recorded at the phones (baresip) and at the citizen's channel (Asterisk's
// MixMonitor, the audio sent to the carrier): the supervisor hears both
// sides; in whisper mode the operator hears the supervisor; the citizen
// never does. StopMonitor hangs the supervisor up and the snoop channel
// goes; the call's record names the monitor.
func monitorOnRealAsterisk(t *testing.T, mode, number string) {
	r := newRig(t, rigOptions{inProcess: true})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{Tone: operatorHz, Record: true})
	sup := r.ast.Softphone(t, "1901", pbxtest.PhoneOptions{Tone: supervisorHz, Record: true})
	r.login("1001")
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Tone: citizenHz}, pbxtest.Step{Wait: 14 * time.Second})
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
	citizenHeard := r.recordHeard(cid)
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
	// Four seconds of audio each way at the supervisor's phone.
	r.waitFor(12*time.Second, "RTP to and from the supervisor's phone", func() bool {
		last = r.ast.MustCLI(t, "pjsip show channelstats")
		s := channelStats(last)["1901"]
		return s.rx > 200 && s.tx > 200
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
	if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_CLOSED", 1); err != nil {
		t.Fatalf("the operator's call did not end: %v", err)
	}
	rec := r.recordOf(number, 10*time.Second, records.OutcomeAnswered)
	if len(rec.Monitored) != 1 || rec.Monitored[0] != mode+":PJSIP/1901" {
		t.Fatalf("record monitored %v", rec.Monitored)
	}

	heard := map[string]pbxtest.Audio{"the supervisor": mustHeard(t, sup.Heard), "the operator": mustHeard(t, op.Heard),
		"the citizen": mustHeard(t, func() (pbxtest.Audio, error) { return pbxtest.ReadWAV(citizenHeard) })}
	whisper := mode == router.MonitorWhisper
	for _, c := range []struct {
		who, voice string
		hz         float64
		hears      bool
	}{
		{"the supervisor", "the citizen", citizenHz, true},
		{"the supervisor", "the operator", operatorHz, true},
		{"the operator", "the citizen", citizenHz, true},
		{"the operator", "the supervisor", supervisorHz, whisper},
		{"the citizen", "the operator", operatorHz, true},
		{"the citizen", "the supervisor", supervisorHz, false},
	} {
		a := heard[c.who]
		share := a.ToneShare(c.hz)
		t.Logf("%s heard %s in %.0f%% of %.1f s", c.who, c.voice, 100*share, a.Seconds())
		// The supervisor's phone heard only the monitor (about 4 s); the
		// others the whole conversation, of which the monitor is a part.
		if c.hears && share < 0.2 {
			t.Errorf("%s did not hear %s (%s mode): %.0f%% of %.1f s", c.who, c.voice, mode, 100*share, a.Seconds())
		}
		if !c.hears && share > 0.01 {
			t.Errorf("%s heard %s (%s mode): %.0f%% of %.1f s", c.who, c.voice, mode, 100*share, a.Seconds())
		}
	}
}

// recordHeard starts Asterisk's MixMonitor on channel (an id) keeping the
// audio Asterisk sends it, t(), apart: what the citizen hears, recorded by
// Asterisk itself and not by the snoop under test. The file is complete
// once the channel hangs up.
func (r *rig) recordHeard(channel string) string {
	var ch struct {
		Name string `json:"name"`
	}
	if st, err := r.ari("GET", "/channels/"+channel, &ch); err != nil || st != 200 || ch.Name == "" {
		r.t.Fatalf("GET /channels/%s: %d %v", channel, st, err)
	}
	dir := r.t.TempDir()
	heard := filepath.Join(dir, "heard.wav")
	var list string
	out := r.ast.MustCLI(r.t, fmt.Sprintf("mixmonitor start %s %s,t(%s)", ch.Name, filepath.Join(dir, "both.wav"), heard))
	r.t.Cleanup(func() {
		if r.t.Failed() {
			r.t.Logf("mixmonitor start %s: %q; list: %q", ch.Name, out, list)
		}
	})
	r.waitFor(5*time.Second, "MixMonitor on the citizen's channel", func() bool {
		list = r.ast.MustCLI(r.t, "mixmonitor list "+ch.Name)
		return strings.Contains(list, strings.TrimSuffix(heard, ".wav")) // listed without the format
	})
	return heard
}

func mustHeard(t *testing.T, read func() (pbxtest.Audio, error)) pbxtest.Audio {
	t.Helper()
	a, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if a.Seconds() < 3 {
		t.Fatalf("recorded %.1f s of audio", a.Seconds())
	}
	return a
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
