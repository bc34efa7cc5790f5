package app_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

const supervisor = "PJSIP/1901"

// withSupervisor registers the supervisor's softphone on the emulator.
func (h *harness) withSupervisor() {
	h.emu.AddPhone(supervisor, emulator.Phone{Registered: true, AnswerAfter: 30 * time.Millisecond})
}

// supervisorLeg is the newest leg rung on the supervisor's phone.
func (h *harness) supervisorLeg() *emulator.CallHandle {
	h.t.Helper()
	return h.phoneLeg(supervisor)
}

// phoneLeg is the newest leg rung on phone.
func (h *harness) phoneLeg(phone string) *emulator.CallHandle {
	h.t.Helper()
	var leg *emulator.CallHandle
	h.eventually(phone+" rung", func() bool {
		o := h.emu.Originations(phone)
		if len(o) == 0 || o[len(o)-1].Leg == nil {
			return false
		}
		leg = o[len(o)-1].Leg
		return true
	})
	return leg
}

// monitoring waits until a snoop channel on opLeg is bridged with the
// supervisor's leg and returns it.
func (h *harness) monitoring(opLeg string, sup *emulator.CallHandle) emulator.SnoopInfo {
	h.t.Helper()
	var got emulator.SnoopInfo
	h.eventually("the supervisor bridged with a snoop channel on "+opLeg, func() bool {
		for _, s := range h.emu.Snoops() {
			if s.Of == opLeg && s.Bridge != "" {
				if _, peers := sup.Bridge(); slices.Equal(peers, []string{s.ID}) {
					got = s
					return true
				}
			}
		}
		return false
	})
	return got
}

func (h *harness) auditOf(id string) records.Record {
	h.t.Helper()
	return h.record(id)
}

// Listening: the snoop channel is on the operator's leg, spying both ways
// and whispering nothing, bridged with the supervisor's answered leg; the
// conversation is untouched (the citizen is still bridged with the
// operator's leg alone). StopMonitor hangs the supervisor up and removes
// the snoop channel; the call goes on, its one record names the monitor,
// and an audit entry names the supervisor.
func TestMonitorListen(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withSupervisor()
	h.login("PJSIP/1001")
	c, opLeg := h.talking("79001234567", "PJSIP/1001")

	id, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorListen)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	sup := h.supervisorLeg()
	s := h.monitoring(opLeg, sup)
	if s.Spy != "both" || s.Whisper != "none" {
		t.Fatalf("listen snoop %+v, want spy both, whisper none", s)
	}
	if peerOf(c) != opLeg {
		t.Fatalf("the citizen is bridged with %q, want the operator's leg alone", peerOf(c))
	}
	if err := h.app.Router().StopMonitor(h.ctx(), id); err != nil {
		t.Fatalf("stop: %v", err)
	}
	h.waitClosed(sup.Ended(), "the supervisor's leg hung up")
	h.eventually("the snoop channel gone", func() bool { return len(h.emu.Snoops()) == 0 })
	if err := h.app.Router().StopMonitor(h.ctx(), id); !errors.Is(err, router.ErrNoMonitor) {
		t.Fatalf("second stop: %v, want ErrNoMonitor", err)
	}
	if peerOf(c) != opLeg {
		t.Fatalf("after the monitor the citizen is bridged with %q, want %s", peerOf(c), opLeg)
	}
	c.Hangup()
	r := h.record(c.ID())
	if r.Outcome != records.OutcomeAnswered || !slices.Equal(r.Monitored, []string{"listen:" + supervisor}) {
		t.Fatalf("record: %s monitored %v", fmtRecord(r), r.Monitored)
	}
	a := h.auditOf(id)
	if a.Outcome != "monitor_listen" || a.Agent != "1001" || !strings.Contains(a.Note, supervisor) || !strings.Contains(a.Note, c.ID()) {
		t.Fatalf("audit entry: %s note %q", fmtRecord(a), a.Note)
	}
}

// Whispering: spy both, whisper out (heard by the operator only); the
// call's end ends the monitor by itself (Asterisk hangs the snoop channel
// up with the operator's leg, the router hangs the supervisor up).
func TestMonitorWhisperEndsWithTheCall(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withSupervisor()
	h.login("PJSIP/1001")
	c, opLeg := h.talking("79001234567", "PJSIP/1001")
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorWhisper); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	sup := h.supervisorLeg()
	if s := h.monitoring(opLeg, sup); s.Spy != "both" || s.Whisper != "out" {
		t.Fatalf("whisper snoop %+v, want spy both, whisper out", s)
	}
	c.Hangup()
	h.waitClosed(sup.Ended(), "the supervisor's leg hung up with the call")
	h.eventually("no monitor left", func() bool { return len(h.app.Router().Monitors()) == 0 && len(h.emu.Snoops()) == 0 })
	if r := h.record(c.ID()); !slices.Equal(r.Monitored, []string{"whisper:" + supervisor}) {
		t.Fatalf("record monitored %v", r.Monitored)
	}
}

// The supervisor hanging up ends the monitor; the conversation goes on.
// An operator who is not talking, a bad mode and a call that ended give
// ErrNoCall / ErrBadMonitor, never a monitor.
func TestMonitorSupervisorHangsUpAndRefusals(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withSupervisor()
	h.login("PJSIP/1001")
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorListen); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("monitor of an idle operator: %v, want ErrNoCall", err)
	}
	c, opLeg := h.talking("79001234567", "PJSIP/1001")
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", "barge"); !errors.Is(err, router.ErrBadMonitor) {
		t.Fatalf("mode barge: %v, want ErrBadMonitor", err)
	}
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1002", router.MonitorListen); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("monitor of an operator logged out: %v, want ErrNoCall", err)
	}
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorListen); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	sup := h.supervisorLeg()
	h.monitoring(opLeg, sup)
	h.emu.HangupPhone(supervisor)
	h.eventually("the monitor over after the supervisor hung up", func() bool {
		return len(h.app.Router().Monitors()) == 0 && len(h.emu.Snoops()) == 0
	})
	if peerOf(c) != opLeg || c.State() != "bridged" {
		t.Fatalf("the conversation after the supervisor left: %s with %q", c.State(), peerOf(c))
	}
	c.Hangup()
	h.record(c.ID())
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorListen); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("monitor after the call: %v, want ErrNoCall", err)
	}
}

// A conversation has one monitor at a time and a supervisor's phone is in
// one at a time: a second supervisor on a monitored conversation, and a
// phone already listening, get ErrMonitored and ring nothing; the board's
// list of monitors says who listens to whom, answered or not; a stopped
// monitor, and one whose phone could not be rung, free the conversation
// and the phone for the next.
func TestMonitorOnePerConversationAndPhone(t *testing.T) {
	const second = "PJSIP/1902"
	h := newHarness(t, testConfig(t))
	h.withSupervisor()
	h.emu.AddPhone(second, emulator.Phone{Registered: true, AnswerAfter: 30 * time.Millisecond})
	h.login("PJSIP/1001")
	_, leg1 := h.talking("79001234567", "PJSIP/1001")
	h.login("PJSIP/1003")
	_, leg3 := h.talking("79001234568", "PJSIP/1003")
	rt := h.app.Router()

	id1, err := rt.Monitor(h.ctx(), supervisor, "1001", router.MonitorListen)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	sup := h.supervisorLeg()
	h.monitoring(leg1, sup)
	if _, err := rt.Monitor(h.ctx(), second, "1001", router.MonitorWhisper); !errors.Is(err, router.ErrMonitored) || !strings.Contains(err.Error(), supervisor) {
		t.Fatalf("a second supervisor on a monitored conversation: %v, want ErrMonitored naming %s", err, supervisor)
	}
	if _, err := rt.Monitor(h.ctx(), supervisor, "1003", router.MonitorListen); !errors.Is(err, router.ErrMonitored) {
		t.Fatalf("a phone already listening rung into another conversation: %v, want ErrMonitored", err)
	}
	if n := len(h.emu.Originations(second)); n != 0 {
		t.Fatalf("%s rung %d times by refused monitors", second, n)
	}
	id3, err := rt.Monitor(h.ctx(), second, "1003", router.MonitorWhisper)
	if err != nil {
		t.Fatalf("another supervisor on another conversation: %v", err)
	}
	h.monitoring(leg3, h.phoneLeg(second))
	h.eventually("both monitors answered", func() bool {
		ms := rt.ActiveMonitors()
		return len(ms) == 2 && ms[0].Answered && ms[1].Answered
	})
	ms := rt.ActiveMonitors()
	if ms[0].ID != id1 || ms[0].Agent != "1001" || ms[0].Mode != router.MonitorListen || ms[0].Supervisor != supervisor ||
		ms[1].ID != id3 || ms[1].Agent != "1003" || ms[1].Mode != router.MonitorWhisper || ms[1].Supervisor != second || ms[1].CallID == "" {
		t.Fatalf("monitors %+v", ms)
	}
	if err := rt.StopMonitor(h.ctx(), id1); err != nil {
		t.Fatal(err)
	}
	// An unregistered phone cannot be rung: nothing is left held.
	if _, err := rt.Monitor(h.ctx(), "PJSIP/1999", "1001", router.MonitorListen); err == nil || errors.Is(err, router.ErrMonitored) {
		t.Fatalf("ringing an unregistered phone: %v, want a failure of its own", err)
	}
	if _, err := rt.Monitor(h.ctx(), supervisor, "1001", router.MonitorWhisper); err != nil {
		t.Fatalf("the conversation and the phone after the monitor stopped: %v", err)
	}
	if s := h.monitoring(leg1, h.supervisorLeg()); s.Whisper != "out" {
		t.Fatalf("whisper after listen: %+v", s)
	}
}

// A topic that records (the example's complaints): its caller hears the
// recording notice, the conversation's bridge is recorded once both are
// in it, the recording is stored when the conversation ends, the record
// names it, and supervisors can list and fetch it. A topic that does not
// record (testing) plays no notice and records nothing.
func TestRecordingPerTopic(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1002")
	c := h.emu.Call(emulator.Caller{Number: "79001234567", Script: choose("1", "6")})
	h.waitClosed(c.Bridged(), "complaints caller bridged")
	h.eventually("recording", func() bool { return len(h.emu.LiveRecordingNames()) == 1 })
	c.Hangup()
	r := h.record(c.ID())
	if r.Recording == "" || !strings.Contains(r.Recording, strings.ReplaceAll(c.ID(), ".", "_")) {
		t.Fatalf("record recording %q for call %s", r.Recording, c.ID())
	}
	if !containsMedia(c.Played(), "/recording_notice") {
		t.Fatalf("the complaints caller did not hear the notice: %v", c.Played())
	}
	h.eventually("stored", func() bool { return slices.Contains(h.emu.StoredRecordingNames(), r.Recording) })
	if live := h.emu.LiveRecordingNames(); len(live) != 0 {
		t.Fatalf("still recording: %v", live)
	}
	recs, err := h.app.Router().Recordings(h.ctx())
	if err != nil || len(recs) != 1 || recs[0].Name != r.Recording || recs[0].Format != "wav" {
		t.Fatalf("recordings %+v %v", recs, err)
	}
	rc, err := h.app.Router().RecordingFile(h.ctx(), r.Recording)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if len(data) < 44 || string(data[:4]) != "RIFF" {
		t.Fatalf("recording file: %d bytes", len(data))
	}
	if _, err := h.app.Router().RecordingFile(h.ctx(), "../../etc/passwd"); !errors.Is(err, router.ErrNoRecording) {
		t.Fatalf("a name not hotline's: %v", err)
	}

	h.login("PJSIP/1001")
	c2, _ := h.talking("79001230000", "PJSIP/1001")
	c2.Hangup()
	if r2 := h.record(c2.ID()); r2.Recording != "" || containsMedia(c2.Played(), "/recording_notice") {
		t.Fatalf("testing topic recorded %q or told so: %v", r2.Recording, c2.Played())
	}
	if got := h.emu.StoredRecordingNames(); len(got) != 1 {
		t.Fatalf("stored %v", got)
	}
}

// Retention: on the router's clock, a recording older than
// recordings.retention is deleted by the sweep, a younger one kept.
func TestRecordingRetentionSweep(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1002")
	converse := func(number string) string {
		c := h.emu.Call(emulator.Caller{Number: number, Script: choose("1", "6")})
		h.waitClosed(c.Bridged(), "complaints caller bridged")
		h.eventually("recording", func() bool { return len(h.emu.LiveRecordingNames()) == 1 })
		c.Hangup()
		return h.record(c.ID()).Recording
	}
	old := converse("79001234567")
	h.eventually("operator ready again", func() bool { return h.state("1002") == "ready" })
	h.advance(700 * time.Hour)
	young := converse("79007654321")
	if n, err := h.app.Router().SweepRecordings(h.ctx()); err != nil || n != 0 {
		t.Fatalf("sweep within retention deleted %d: %v", n, err)
	}
	h.advance(30 * time.Hour) // old is 730 h old, young 30 h
	if n, err := h.app.Router().SweepRecordings(h.ctx()); err != nil || n != 1 {
		t.Fatalf("sweep deleted %d: %v", n, err)
	}
	if got := h.emu.StoredRecordingNames(); !slices.Equal(got, []string{young}) {
		t.Fatalf("stored %v, want only %s (not %s)", got, young, old)
	}
}

// An agent-first callback of a recording topic is recorded like an
// inbound conversation of it, and the citizen, who did not pass the queue
// where the notice plays, is told so once bridged: the attempt's record
// names the recording and it is stored when the conversation ends.
func TestCalledBackConversationOfARecordingTopicIsRecorded(t *testing.T) {
	h := newHarness(t, callbackConfig(t, 0))
	h.withTrunk()
	answer := emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 200 * time.Millisecond}
	c := h.emu.Call(emulator.Caller{Number: "79004000001", Script: choose("1", "6"), AnswerCallbacks: &answer})
	h.eventually("complaints caller queued", func() bool { return c.OnMOH() })
	h.advance(400 * time.Millisecond) // past callbackConfig's minimum abandon wait
	c.Hangup()
	if r := h.record(c.ID()); r.Callback == "" || r.Recording != "" {
		t.Fatalf("abandoned complaints caller: callback %q, recording %q", r.Callback, r.Recording)
	}
	h.login("PJSIP/1002")
	h.eventually("citizen called back", func() bool { return h.emu.CitizenLeg("+79004000001") != nil })
	leg := h.emu.CitizenLeg("+79004000001")
	h.waitClosed(leg.Bridged(), "called-back citizen talking with the operator")
	h.waitClosed(leg.Ended(), "callback conversation over")
	if !containsMedia(leg.Played(), "/recording_notice") {
		t.Fatalf("the called-back citizen was not told of the recording: %v", leg.Played())
	}
	var rec records.Record
	h.eventually("the attempt's record", func() bool {
		for _, r := range h.records() {
			if strings.HasPrefix(r.CallID, "cb-") && !r.AnsweredAt.IsZero() { // a short talk counts as a drop
				rec = r
				return true
			}
		}
		return false
	})
	if rec.Recording == "" || !strings.Contains(rec.Recording, strings.ReplaceAll(rec.CallID, ".", "_")) {
		t.Fatalf("attempt %s names recording %q", rec.CallID, rec.Recording)
	}
	h.eventually("stored", func() bool { return slices.Contains(h.emu.StoredRecordingNames(), rec.Recording) })
}

// A complaints caller answered while the recording notice still plays
// (it lasts longer here than the hand-over) hears it cut short and then
// again, whole, once in the conversation; a caller who waited through it
// hears it once. Either way it is heard to its end before the talk.
func TestRecordingNoticeIsHeardWholeEvenWhenAnsweredAtOnce(t *testing.T) {
	const notice = "sound:hotline/ru/recording_notice"
	h := newHarnessWith(t, testConfig(t), emulator.Options{SoundDurations: map[string]time.Duration{notice: 10 * time.Second}})
	h.login("PJSIP/1002")
	c := h.emu.Call(emulator.Caller{Number: "79004000002", Script: choose("1", "6")})
	h.waitClosed(c.Bridged(), "complaints caller bridged")
	h.eventually("the notice heard to its end", func() bool { return slices.Contains(c.Completed(), notice) })
	if n := countMedia(c.Played(), notice); n != 2 {
		t.Fatalf("the notice played %d times, want 2 (cut short by the answer, then whole): %v", n, c.Played())
	}
	c.Hangup()
	h.record(c.ID())

	h2 := newHarness(t, testConfig(t))
	c2 := h2.emu.Call(emulator.Caller{Number: "79004000003", Script: choose("1", "6")})
	h2.eventually("the notice heard in the queue", func() bool { return slices.Contains(c2.Completed(), notice) })
	h2.login("PJSIP/1002")
	h2.waitClosed(c2.Bridged(), "complaints caller bridged")
	h2.eventually("the recording", func() bool { return len(h2.emu.LiveRecordingNames()) == 1 })
	if n := countMedia(c2.Played(), notice); n != 1 {
		t.Fatalf("the notice played %d times to a caller who heard it whole in the queue: %v", n, c2.Played())
	}
}

func countMedia(played []string, media string) int {
	n := 0
	for _, m := range played {
		if m == media {
			n++
		}
	}
	return n
}

// A called-back conversation (agent first) can be monitored like an
// inbound one: the snoop is on the operator's leg of the attempt, the
// citizen stays bridged with the operator alone, and the attempt's record
// names the monitor. Before the citizen answers there is nothing to
// monitor.
func TestCalledBackConversationCanBeMonitored(t *testing.T) {
	h := newHarness(t, callbackConfig(t, 0))
	h.withTrunk()
	h.withSupervisor()
	answer := emulator.Phone{AnswerAfter: 30 * time.Millisecond}
	c := h.emu.Call(emulator.Caller{Number: "79004000004", Script: choose("2", "3"), AnswerCallbacks: &answer})
	h.eventually("caller queued", func() bool { return c.OnMOH() })
	h.advance(400 * time.Millisecond) // past callbackConfig's minimum abandon wait
	c.Hangup()
	if r := h.record(c.ID()); r.Callback == "" {
		t.Fatalf("no callback owed: %s", fmtRecord(r))
	}
	h.login("PJSIP/1001")
	h.eventually("citizen called back", func() bool { return h.emu.CitizenLeg("+79004000004") != nil })
	leg := h.emu.CitizenLeg("+79004000004")
	h.waitClosed(leg.Bridged(), "called-back citizen talking with the operator")
	opLeg := peerOf(leg)
	id, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorWhisper)
	if err != nil {
		t.Fatalf("monitor of a called-back conversation: %v", err)
	}
	sup := h.supervisorLeg()
	if s := h.monitoring(opLeg, sup); s.Spy != "both" || s.Whisper != "out" {
		t.Fatalf("whisper snoop %+v", s)
	}
	if peerOf(leg) != opLeg {
		t.Fatalf("the citizen is bridged with %q, want the operator's leg %s alone", peerOf(leg), opLeg)
	}
	if err := h.app.Router().StopMonitor(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	leg.Hangup()
	var rec records.Record
	h.eventually("the attempt's record", func() bool {
		for _, r := range h.records() {
			if strings.HasPrefix(r.CallID, "cb-") && !r.AnsweredAt.IsZero() {
				rec = r
				return true
			}
		}
		return false
	})
	if !slices.Equal(rec.Monitored, []string{"whisper:" + supervisor}) {
		t.Fatalf("attempt record %s monitored %v", fmtRecord(rec), rec.Monitored)
	}
	if _, err := h.app.Router().Monitor(h.ctx(), supervisor, "1001", router.MonitorListen); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("monitor after the conversation: %v, want ErrNoCall", err)
	}
}
