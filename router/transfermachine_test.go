package router

import (
	"strings"
	"testing"
	"time"
)

// The transfer paths of the call machine, one transition at a time (the
// phase × event matrix is in callmachine_test.go).

func expect(t *testing.T, m *callMachine, what string, got []callCmd, wantPhase phase, want string) {
	t.Helper()
	if g := names(got); g != want || m.phase != wantPhase {
		t.Fatalf("%s: %s %q, want %s %q", what, m.phase, g, wantPhase, want)
	}
}

func TestTransferBlindConnects(t *testing.T) {
	m := inBridged(t)
	at := t0.Add(time.Minute)
	expect(t, m, "blind transfer asked", drive(t, m, at, evTransferRequest{Op: xferBlind}),
		phaseTransfer, "TransferReply(ok) ReleaseOperator StartMOH DialService")
	if m.talking || m.leg || m.offer != nil {
		t.Fatalf("the operator is still held after a blind transfer: talking=%v leg=%v offer=%v", m.talking, m.leg, m.offer)
	}
	expect(t, m, "dialled", drive(t, m, at, evServiceDialed{OK: true}), phaseTransfer, "")
	expect(t, m, "service answers", drive(t, m, at, evServiceAnswered{}), phaseTransfer, "StopMOH BridgeService(citizen)")
	expect(t, m, "bridged with the service", drive(t, m, at, evServiceBridged{OK: true}), phaseTransferred, "TransferDone(connected)")
	// A late duplicate StasisStart of the service leg (a re-sync) changes nothing.
	expect(t, m, "service answers again", drive(t, m, at, evServiceAnswered{}), phaseTransferred, "")
	before := holding(m)
	cmds := drive(t, m, at.Add(time.Minute), evCallerHangup{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "citizen hangs up", cmds, phaseDone, "EndService CancelTimer(max_wait) Record(transferred,caller)")
}

func TestTransferBlindServiceHangsUp(t *testing.T) {
	m := inTransferred(t)
	before := holding(m)
	cmds := drive(t, m, t0.Add(2*time.Minute), evServiceGone{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "service hangs up", cmds, phaseDone, "HangupCaller EndService CancelTimer(max_wait) Record(transferred,service)")
}

// A busy (or unanswered, or failed) service: the citizen hears the
// apology and goes back to the head of the queue at the original queue
// time, and is offered to the next operator.
func TestTransferBlindServiceBusyRequeues(t *testing.T) {
	m := inTransfer(t)
	at := t0.Add(2 * time.Minute)
	expect(t, m, "service busy", drive(t, m, at, evServiceGone{Cause: 17}),
		phaseQueued, "EndService TransferDone(failed) StopMOH PlayApology Requeue")
	if !m.enqueuedAt.Equal(t0) {
		t.Fatalf("queue time after a failed transfer: %v, want the original %v", m.enqueuedAt, t0)
	}
	expect(t, m, "requeued", drive(t, m, at, evRequeued{OK: true}), phaseQueued, "HandOnOperator")
	if !m.queued || m.xfer != nil {
		t.Fatalf("after requeue: queued=%v xfer=%v", m.queued, m.xfer)
	}
	expect(t, m, "apology over", drive(t, m, at, evPlaybackDone{Which: playAnnounce}), phaseQueued, "StartMOH")
	expect(t, m, "next operator", drive(t, m, at, evOffer{Offer: offerB}), phaseQueued, "Ring")
	// Hanging up now owes a callback whatever the wait, as after a drop.
	m2 := inTransfer(t)
	m2.policy.MinAbandonWait = time.Hour
	drive(t, m2, at, evServiceGone{Cause: 17}, evRequeued{OK: true})
	if got := names(drive(t, m2, at, evCallerHangup{Cause: 16})); !strings.Contains(got, "ScheduleCallback(dropped)") {
		t.Errorf("hang-up after a failed transfer: %q, want a callback", got)
	}
}

func TestTransferBlindDialFails(t *testing.T) {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evTransferRequest{Op: xferBlind})
	expect(t, m, "originate refused", drive(t, m, t0.Add(time.Minute), evServiceDialed{}),
		phaseQueued, "TransferDone(failed) StopMOH PlayApology Requeue")
}

// The citizen hangs up while the service rings: the call ends (record
// abandoned, no callback: an operator served them), the service leg is
// hung up.
func TestTransferBlindCitizenHangsUpWhileRinging(t *testing.T) {
	m := inTransfer(t)
	before := holding(m)
	cmds := drive(t, m, t0.Add(2*time.Minute), evCallerHangup{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "citizen hangs up", cmds, phaseDone, "TransferDone(failed) EndService CancelTimer(max_wait) Record(abandoned,caller)")
}

// To another topic: operator to wrap-up, the citizen into the new queue at
// the original queue time, under the new topic's policy.
func TestTransferToTopicKeepsQueueTime(t *testing.T) {
	m := inBridged(t)
	m.policy = CallbackPolicy{}
	at := t0.Add(3 * time.Minute)
	expect(t, m, "topic transfer", drive(t, m, at, evTransferRequest{Op: xferTopic, Policy: cbOn}),
		phaseQueued, "TransferReply(ok) ReleaseOperator SetTopic StartMOH Requeue")
	if m.talking || m.leg || m.policy != cbOn || !m.enqueuedAt.Equal(t0) {
		t.Fatalf("after topic transfer: talking=%v leg=%v policy=%+v enqueued %v", m.talking, m.leg, m.policy, m.enqueuedAt)
	}
	expect(t, m, "requeued", drive(t, m, at, evRequeued{OK: true, Offers: []Offer{other}}), phaseQueued, "TransferDone(connected) HandOnOperator Deliver")
	expect(t, m, "next operator", drive(t, m, at, evOffer{Offer: offerB}), phaseQueued, "Ring")
}

func TestTransferToTopicQueueFull(t *testing.T) {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evTransferRequest{Op: xferTopic, Policy: cbOn})
	got := drive(t, m, t0.Add(time.Minute), evRequeued{})
	expect(t, m, "requeue refused", got, phaseGoodbye, "TransferDone(failed) ScheduleCallback(dropped) StopMOH PlayGoodbye(callback_confirmed) HandOnOperator")
}

// Refused requests leave the call as it was.
func TestTransferRefusals(t *testing.T) {
	m := inBridged(t)
	for _, ev := range []evTransferRequest{{Op: xferTopic, Invalid: "closed"}, {Op: xferComplete}, {Op: xferCancel}} {
		expect(t, m, "refused "+ev.Op.String(), drive(t, m, t0, ev), phaseBridged, "TransferReply(refused)")
	}
	if !m.talking || !m.leg {
		t.Fatal("a refused request changed the conversation")
	}
	// The operator's leg is leaving: nothing to transfer.
	drive(t, m, t0, evLegHangupReq{Cause: 16})
	expect(t, m, "leg leaving", drive(t, m, t0, evTransferRequest{Op: xferBlind}), phaseBridged, "TransferReply(refused)")
	// Completing a consultation the service has not answered.
	c := inConsult(t)
	expect(t, c, "complete before answer", drive(t, c, t0, evTransferRequest{Op: xferComplete}), phaseConsult, "TransferReply(refused)")
}

// inConsultAnswered: the service answered the consultation and talks to
// the operator.
func inConsultAnswered(t *testing.T) *callMachine {
	m := inConsult(t)
	expect(t, m, "service answers the consultation", drive(t, m, t0.Add(time.Minute), evServiceAnswered{}), phaseConsult, "BridgeService(operator)")
	expect(t, m, "operator with the service", drive(t, m, t0.Add(time.Minute), evServiceBridged{OK: true}), phaseConsult, "")
	return m
}

func TestConsultComplete(t *testing.T) {
	m := inConsult(t)
	if !m.talking || !m.leg {
		t.Fatal("consultation: the operator's conversation must go on")
	}
	m = inConsultAnswered(t)
	at := t0.Add(2 * time.Minute)
	expect(t, m, "complete", drive(t, m, at, evTransferRequest{Op: xferComplete}),
		phaseTransfer, "TransferReply(ok) ReleaseOperator StopMOH BridgeService(citizen)")
	expect(t, m, "citizen with the service", drive(t, m, at, evServiceBridged{OK: true}), phaseTransferred, "TransferDone(connected)")
	before := holding(m)
	cmds := drive(t, m, at, evServiceGone{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "service hangs up", cmds, phaseDone, "HangupCaller EndService CancelTimer(max_wait) Record(transferred,service)")
}

func TestConsultCompleteBridgeFails(t *testing.T) {
	m := inConsultAnswered(t)
	drive(t, m, t0.Add(2*time.Minute), evTransferRequest{Op: xferComplete})
	expect(t, m, "bridge failed", drive(t, m, t0.Add(2*time.Minute), evServiceBridged{}),
		phaseQueued, "EndService TransferDone(failed) StopMOH PlayApology Requeue")
}

func TestConsultCancel(t *testing.T) {
	m := inConsultAnswered(t)
	at := t0.Add(2 * time.Minute)
	expect(t, m, "cancel", drive(t, m, at, evTransferRequest{Op: xferCancel}),
		phaseBridged, "TransferReply(ok) EndService TransferDone(returned) StopMOH Bridge")
	drive(t, m, at, evBridged{OK: true}, evCallerJoined{})
	before := holding(m)
	cmds := drive(t, m, at.Add(time.Minute), evCallerHangup{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "citizen hangs up after the consult", cmds, phaseDone, "EndConversation(caller) CancelTimer(max_wait) ForgetLeg Record(answered,caller)")
}

// The service hangs up (or fails) during the consultation: the operator
// gets the citizen back.
func TestConsultServiceHangsUp(t *testing.T) {
	m := inConsultAnswered(t)
	expect(t, m, "service hangs up", drive(t, m, t0.Add(2*time.Minute), evServiceGone{Cause: 16}),
		phaseBridged, "EndService TransferDone(returned) StopMOH Bridge")
	m = inConsult(t)
	expect(t, m, "service busy", drive(t, m, t0.Add(2*time.Minute), evServiceGone{Cause: 17}),
		phaseBridged, "EndService TransferDone(failed) StopMOH Bridge")
	m = inBridged(t)
	drive(t, m, t0, evTransferRequest{Op: xferConsult})
	expect(t, m, "consult dial refused", drive(t, m, t0, evServiceDialed{}),
		phaseBridged, "TransferDone(failed) StopMOH Bridge")
}

// The citizen hangs up during the consultation: the call ends, the
// service leg and the operator's leg are hung up.
func TestConsultCitizenHangsUp(t *testing.T) {
	m := inConsultAnswered(t)
	before := holding(m)
	cmds := drive(t, m, t0.Add(2*time.Minute), evCallerHangup{Cause: 16})
	checkExit(t, before, cmds)
	expect(t, m, "citizen hangs up", cmds, phaseDone, "TransferDone(failed) EndConversation(caller) EndService CancelTimer(max_wait) ForgetLeg Record(answered,caller)")
}

// The operator's line ends during the consultation: the citizen is not
// left on hold; back to the head of the queue as after a drop.
func TestConsultOperatorDrops(t *testing.T) {
	m := inConsultAnswered(t)
	expect(t, m, "operator's leg gone", drive(t, m, t0.Add(2*time.Minute), evLegDestroyed{Cause: 38}),
		phaseQueued, "EndService TransferDone(failed) ForgetLeg OperatorDropped StopMOH PlayApology Requeue")
	expect(t, m, "requeued", drive(t, m, t0.Add(2*time.Minute), evRequeued{OK: true}), phaseQueued, "HandOnOperator")
	if !m.enqueuedAt.Equal(t0) || m.operatorLost != 1 {
		t.Fatalf("after the drop: enqueued %v operatorLost %d", m.enqueuedAt, m.operatorLost)
	}
}
