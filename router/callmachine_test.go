package router

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The call machine's tests: no PBX, no Redis, no clock but t0. Each phase
// is reached by driving a fresh machine through the events a real call
// sees, so a fixture cannot hold a state the machine would never reach.

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

var cbOn = CallbackPolicy{Enabled: true, MinAbandonWait: 10 * time.Second, DropWindow: 5 * time.Second, VirtualHold: true}

var (
	offerA = Offer{CallID: "c1", AgentID: "1001", Seq: 1, Expires: t0.Add(30 * time.Second)}
	offerB = Offer{CallID: "c1", AgentID: "1002", Seq: 2}
	other  = Offer{CallID: "c2", AgentID: "1003", Seq: 3}
)

// drive feeds events and returns the commands of the last one.
func drive(t *testing.T, m *callMachine, at time.Time, evs ...callEvent) []callCmd {
	t.Helper()
	var out []callCmd
	for _, ev := range evs {
		out = m.Handle(ev, at)
	}
	return out
}

type fixture func(t *testing.T) *callMachine

func inIVR(t *testing.T) *callMachine {
	m := newCallMachine(true)
	drive(t, m, t0, evStart{}, evAnswerResult{})
	return m
}

func inQueued(t *testing.T) *callMachine {
	m := inIVR(t)
	drive(t, m, t0,
		evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}},
		evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0},
		evEnqueued{Result: enqueueOK, Announce: 30 * time.Second, MaxWait: 5 * time.Minute},
		evAnnounced{Playing: true, OfferedCallback: true})
	return m
}

func inOffering(t *testing.T) *callMachine {
	m := inQueued(t)
	drive(t, m, t0.Add(20*time.Second), evOffer{Offer: offerA},
		evRing{Result: ringOK, Offer: offerA, Ring: 20 * time.Second, Lease: 15 * time.Second})
	return m
}

func inBridged(t *testing.T) *callMachine {
	m := inOffering(t)
	drive(t, m, t0.Add(25*time.Second), evLegAnswered{}, evAnswered{OK: true}, evBridged{OK: true}, evCallerJoined{})
	return m
}

// inNumber: a caller without caller ID pressed 1 on virtual hold and keys
// in a number; they keep their place in the queue meanwhile.
func inNumber(t *testing.T) *callMachine {
	m := newCallMachine(false)
	drive(t, m, t0, evStart{}, evAnswerResult{},
		evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}},
		evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0},
		evEnqueued{Result: enqueueOK, MaxWait: 5 * time.Minute},
		evPlaybackDone{Which: playAnnounce},
		evAnnounced{OfferedCallback: true},
		evDigit{Digit: "1"})
	return m
}

// inGoodbye: a waiting caller took the virtual hold and hears "we will
// call you back".
func inGoodbye(t *testing.T) *callMachine {
	m := inQueued(t)
	drive(t, m, t0.Add(time.Minute), evDigit{Digit: "1"}, evCallbackResult{OK: true})
	return m
}

// inTransfer: the operator handed the citizen to a service (blind) whose
// line rings; the citizen hears music, the operator is released.
func inTransfer(t *testing.T) *callMachine {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evTransferRequest{Op: xferBlind}, evServiceDialed{OK: true})
	return m
}

// inConsult: the operator consults a service whose line rings; the
// citizen waits on hold.
func inConsult(t *testing.T) *callMachine {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evTransferRequest{Op: xferConsult}, evServiceDialed{OK: true})
	return m
}

// inTransferred: the citizen talks to the service; the operator is gone.
func inTransferred(t *testing.T) *callMachine {
	m := inTransfer(t)
	drive(t, m, t0.Add(time.Minute), evServiceAnswered{}, evServiceBridged{OK: true})
	return m
}

func inDone(t *testing.T) *callMachine {
	m := inIVR(t)
	drive(t, m, t0, evCallerHangup{Cause: 16})
	return m
}

var fixtures = []struct {
	phase phase
	make  fixture
}{
	{phaseIVR, inIVR}, {phaseQueued, inQueued}, {phaseOffering, inOffering}, {phaseBridged, inBridged},
	{phaseNumber, inNumber}, {phaseGoodbye, inGoodbye},
	{phaseTransfer, inTransfer}, {phaseConsult, inConsult}, {phaseTransferred, inTransferred},
	{phaseDone, inDone},
}

// events is every event a call can see, by name; timers fire with the
// generation the machine armed (a stale one when none runs).
var events = []struct {
	name string
	ev   func(m *callMachine) callEvent
}{
	{"hangup", func(*callMachine) callEvent { return evCallerHangup{Cause: 16} }},
	{"hangup38", func(*callMachine) callEvent { return evCallerHangup{Cause: 38} }},
	{"digit1", func(*callMachine) callEvent { return evDigit{Digit: "1"} }},
	{"digit7", func(*callMachine) callEvent { return evDigit{Digit: "7"} }},
	{"digit#", func(*callMachine) callEvent { return evDigit{Digit: "#"} }},
	{"playAnnounce", func(*callMachine) callEvent { return evPlaybackDone{Which: playAnnounce, ID: "ann-1"} }},
	{"playGoodbye", func(*callMachine) callEvent { return evPlaybackDone{Which: playGoodbye, ID: "bye-1"} }},
	{"playOther", func(*callMachine) callEvent { return evPlaybackDone{Which: playOther, ID: "menu-1"} }},
	{"offer", func(*callMachine) callEvent { return evOffer{Offer: offerB} }},
	{"legAnswered", func(*callMachine) callEvent { return evLegAnswered{} }},
	{"legHangupReq", func(*callMachine) callEvent { return evLegHangupReq{Cause: 16} }},
	{"legStasisEnd", func(*callMachine) callEvent { return evLegStasisEnd{} }},
	{"legStasisEndResync", func(*callMachine) callEvent { return evLegStasisEnd{Resynced: true} }},
	{"legDestroyed16", func(*callMachine) callEvent { return evLegDestroyed{Cause: 16} }},
	{"legDestroyed38", func(*callMachine) callEvent { return evLegDestroyed{Cause: 38} }},
	{"timerRing", timerEv(timerRing)},
	{"timerLease", timerEv(timerLease)},
	{"timerMaxWait", timerEv(timerMaxWait)},
	{"timerLegCause", timerEv(timerLegCause)},
	{"timerEntry", timerEv(timerEntry)},
	{"announceTick", func(*callMachine) callEvent { return evAnnounceTick{} }},
	{"menuDoneQueue", func(*callMachine) callEvent {
		return evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}}
	}},
	{"answeredOK", func(*callMachine) callEvent { return evAnswered{OK: true} }},
	{"answeredRefused", func(*callMachine) callEvent { return evAnswered{} }},
	{"enqueueFull", func(*callMachine) callEvent { return evEnqueued{Result: enqueueFull} }},
	{"enqueueFailed", func(*callMachine) callEvent { return evEnqueued{Result: enqueueFailed} }},
	{"ringUnreachable", func(*callMachine) callEvent { return evRing{Result: ringUnreachable, Offer: offerB} }},
	{"ringFailed", func(*callMachine) callEvent { return evRing{Result: ringFailed, Offer: offerB} }},
	{"bridgeFailed", func(*callMachine) callEvent { return evBridged{} }},
	{"callerJoined", func(*callMachine) callEvent { return evCallerJoined{} }},
	{"callbackOK", func(*callMachine) callEvent { return evCallbackResult{OK: true} }},
	{"left", func(*callMachine) callEvent { return evLeft{Next: []Offer{other}} }},
	{"start", func(*callMachine) callEvent { return evStart{} }},
	{"answerGone", func(*callMachine) callEvent { return evAnswerResult{Gone: true} }},
	{"calledBack", func(*callMachine) callEvent { return evCalledBack{Topic: "medical"} }},
	{"adoptWaiting", func(*callMachine) callEvent { return evAdopted{Kind: adoptWaiting, Policy: cbOn, EnqueuedAt: t0} }},
	{"topicOpen", func(*callMachine) callEvent { return evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0} }},
	{"topicClosed", func(*callMachine) callEvent { return evTopicChecked{Result: topicClosed, At: t0} }},
	{"topicUnknown", func(*callMachine) callEvent { return evTopicChecked{Result: topicUnknown} }},
	{"enqueueOK", func(*callMachine) callEvent { return evEnqueued{Result: enqueueOK, Offers: []Offer{other}} }},
	{"fallbackOK", func(*callMachine) callEvent { return evFallback{Result: fallbackOK} }},
	{"transferred", func(*callMachine) callEvent { return evTransferred{OK: true} }},
	{"transferFailed", func(*callMachine) callEvent { return evTransferred{} }},
	{"ringOK", func(*callMachine) callEvent { return evRing{Result: ringOK, Offer: offerB} }},
	{"leaseRenewed", func(*callMachine) callEvent { return evLeaseRenewed{OK: true, Offer: offerA, Next: time.Second} }},
	{"requeued", func(*callMachine) callEvent { return evRequeued{OK: true} }},
	{"overflowMoved", func(*callMachine) callEvent {
		return evOverflow{Result: overflowMoved, Policy: cbOn, MaxWait: time.Minute}
	}},
	{"announced", func(*callMachine) callEvent { return evAnnounced{Playing: true, OfferedCallback: true} }},
	{"goodbyeFailed", func(*callMachine) callEvent { return evPlayFailed{Which: playGoodbye} }},
	{"callbackRefused", func(*callMachine) callEvent { return evCallbackResult{} }},
	{"xferBlind", func(*callMachine) callEvent { return evTransferRequest{Op: xferBlind} }},
	{"xferTopic", func(*callMachine) callEvent { return evTransferRequest{Op: xferTopic, Policy: cbOn} }},
	{"xferConsult", func(*callMachine) callEvent { return evTransferRequest{Op: xferConsult} }},
	{"xferComplete", func(*callMachine) callEvent { return evTransferRequest{Op: xferComplete} }},
	{"xferCancel", func(*callMachine) callEvent { return evTransferRequest{Op: xferCancel} }},
	{"xferInvalid", func(*callMachine) callEvent { return evTransferRequest{Op: xferTopic, Invalid: "closed"} }},
	{"svcDialed", func(*callMachine) callEvent { return evServiceDialed{OK: true} }},
	{"svcDialFailed", func(*callMachine) callEvent { return evServiceDialed{} }},
	{"svcAnswered", func(*callMachine) callEvent { return evServiceAnswered{} }},
	{"svcBridged", func(*callMachine) callEvent { return evServiceBridged{OK: true} }},
	{"svcBridgeFailed", func(*callMachine) callEvent { return evServiceBridged{} }},
	{"svcGone", func(*callMachine) callEvent { return evServiceGone{Cause: 17} }},
}

func timerEv(k timerKind) func(m *callMachine) callEvent {
	return func(m *callMachine) callEvent {
		gen := m.timers[k]
		if gen == 0 {
			gen = 9999 // not running: a stale fire
		}
		return evTimer{Kind: k, Gen: gen}
	}
}

// names renders commands as their type names without the cmd prefix,
// with the fields that decide behaviour.
func names(cmds []callCmd) string {
	var s []string
	for _, c := range cmds {
		n := strings.TrimPrefix(fmt.Sprintf("%T", c), "router.cmd")
		switch x := c.(type) {
		case cmdRecord:
			n += fmt.Sprintf("(%s,%s)", x.Outcome, x.By)
		case cmdScheduleCallback:
			n += "(" + x.Reason + ")"
		case cmdSetTimer:
			n += "(" + x.Kind.String() + ")"
		case cmdCancelTimer:
			n += "(" + x.Kind.String() + ")"
		case cmdReleaseOffer:
			n += fmt.Sprintf("(%s,%s)", x.Offer.AgentID, x.Reason)
		case cmdEndConversation:
			n += "(" + x.By + ")"
		case cmdHangupLeg:
			n += "(" + x.Reason + ")"
		case cmdPlayGoodbye:
			n += "(" + strings.Join(x.Prompts, "+") + ")"
		case cmdTransferReply:
			if x.Refused == "" {
				n += "(ok)"
			} else {
				n += "(refused)"
			}
		case cmdTransferDone:
			n += "(" + x.Outcome + ")"
		case cmdBridgeService:
			if x.WithOperator {
				n += "(operator)"
			} else {
				n += "(citizen)"
			}
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

type cell struct {
	next phase
	cmds string
}

// matrix is every phase × every event. A cell not listed must do nothing:
// same phase, no command.
var matrix = map[phase]map[string]cell{
	phaseIVR: {
		"hangup":          {phaseDone, "Record(abandoned,caller)"},
		"hangup38":        {phaseDone, "Record(abandoned,caller)"},
		"digit1":          {phaseIVR, "MenuDigit"},
		"digit7":          {phaseIVR, "MenuDigit"},
		"digit#":          {phaseIVR, "MenuDigit"},
		"playAnnounce":    {phaseIVR, "MenuPlayback"},
		"playGoodbye":     {phaseIVR, "MenuPlayback"},
		"playOther":       {phaseIVR, "MenuPlayback"},
		"offer":           {phaseIVR, "ReleaseOffer(1002,unexpected)"},
		"menuDoneQueue":   {phaseIVR, "MenuChoice StopMenu CheckTopic"},
		"ringUnreachable": {phaseIVR, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseIVR, "ReleaseOffer(1002,unexpected)"},
		"left":            {phaseIVR, "Deliver"},
		"enqueueOK":       {phaseIVR, "Deliver"},
		"ringOK":          {phaseIVR, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":       {phaseIVR, "TransferReply(refused)"},
		"xferTopic":       {phaseIVR, "TransferReply(refused)"},
		"xferConsult":     {phaseIVR, "TransferReply(refused)"},
		"xferComplete":    {phaseIVR, "TransferReply(refused)"},
		"xferCancel":      {phaseIVR, "TransferReply(refused)"},
		"xferInvalid":     {phaseIVR, "TransferReply(refused)"},
	},
	phaseQueued: {
		"hangup":          {phaseDone, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) Record(abandoned,caller)"},
		"hangup38":        {phaseDone, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) Record(abandoned,caller)"},
		"digit1":          {phaseQueued, "StopAnnouncement ScheduleCallback(virtual_hold)"},
		"playAnnounce":    {phaseQueued, "StartMOH"},
		"offer":           {phaseQueued, "Ring"},
		"timerMaxWait":    {phaseQueued, "Overflow"},
		"left":            {phaseQueued, "Deliver"},
		"ringUnreachable": {phaseQueued, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseQueued, "ReleaseOffer(1002,unexpected)"},
		"enqueueOK":       {phaseQueued, "Deliver"},
		"ringOK":          {phaseQueued, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":       {phaseQueued, "TransferReply(refused)"},
		"xferTopic":       {phaseQueued, "TransferReply(refused)"},
		"xferConsult":     {phaseQueued, "TransferReply(refused)"},
		"xferComplete":    {phaseQueued, "TransferReply(refused)"},
		"xferCancel":      {phaseQueued, "TransferReply(refused)"},
		"xferInvalid":     {phaseQueued, "TransferReply(refused)"},
	},
	phaseOffering: {
		"hangup":             {phaseDone, "HangupLeg(normal) LeaveQueue ScheduleCallback(abandoned) CancelTimer(ring) CancelTimer(lease) CancelTimer(max_wait) ForgetLeg Record(abandoned,caller)"},
		"hangup38":           {phaseDone, "HangupLeg(normal) LeaveQueue ScheduleCallback(abandoned) CancelTimer(ring) CancelTimer(lease) CancelTimer(max_wait) ForgetLeg Record(abandoned,caller)"},
		"playAnnounce":       {phaseOffering, "StartMOH"},
		"offer":              {phaseOffering, "ReleaseOffer(1002,unexpected)"},
		"legAnswered":        {phaseOffering, "Answered"},
		"legStasisEnd":       {phaseQueued, "CancelTimer(ring) CancelTimer(lease) ForgetLeg ReleaseOffer(1001,unknown)"},
		"legStasisEndResync": {phaseQueued, "CancelTimer(ring) CancelTimer(lease) ForgetLeg ReleaseOffer(1001,unknown)"},
		"legDestroyed16":     {phaseQueued, "CancelTimer(ring) CancelTimer(lease) ForgetLeg ReleaseOffer(1001,cancelled)"},
		"legDestroyed38":     {phaseQueued, "CancelTimer(ring) CancelTimer(lease) ForgetLeg ReleaseOffer(1001,failed)"},
		"timerRing":          {phaseOffering, "HangupLeg(no_answer)"},
		"timerLease":         {phaseOffering, "RenewLease"},
		"timerMaxWait":       {phaseOffering, "SetTimer(max_wait)"},
		"answeredOK":         {phaseBridged, "CancelTimer(ring) CancelTimer(lease) StopAnnouncement StopMOH Bridge Connected"},
		"answeredRefused":    {phaseQueued, "CancelTimer(ring) CancelTimer(lease) HangupLeg(normal) ForgetLeg"},
		"ringUnreachable":    {phaseOffering, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":         {phaseOffering, "ReleaseOffer(1002,unexpected)"},
		"left":               {phaseOffering, "Deliver"},
		"enqueueOK":          {phaseOffering, "Deliver"},
		"ringOK":             {phaseOffering, "ReleaseOffer(1002,unexpected)"},
		"leaseRenewed":       {phaseOffering, "SetTimer(lease)"},
		"xferBlind":          {phaseOffering, "TransferReply(refused)"},
		"xferTopic":          {phaseOffering, "TransferReply(refused)"},
		"xferConsult":        {phaseOffering, "TransferReply(refused)"},
		"xferComplete":       {phaseOffering, "TransferReply(refused)"},
		"xferCancel":         {phaseOffering, "TransferReply(refused)"},
		"xferInvalid":        {phaseOffering, "TransferReply(refused)"},
	},
	phaseBridged: {
		"hangup":             {phaseDone, "EndConversation(caller) CancelTimer(max_wait) ForgetLeg Record(answered,caller)"},
		"hangup38":           {phaseDone, "EndConversation(caller) ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,caller)"},
		"offer":              {phaseBridged, "ReleaseOffer(1002,unexpected)"},
		"legHangupReq":       {phaseBridged, "SetTimer(leg_cause)"},
		"legStasisEnd":       {phaseBridged, "SetTimer(leg_cause)"},
		"legStasisEndResync": {phaseDone, "EndConversation(operator) CancelTimer(max_wait) ForgetLeg Record(answered,operator)"},
		"legDestroyed16":     {phaseDone, "EndConversation(operator) CancelTimer(max_wait) ForgetLeg Record(answered,operator)"},
		"legDestroyed38":     {phaseQueued, "ForgetLeg OperatorDropped PlayApology Requeue"},
		"ringUnreachable":    {phaseBridged, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":         {phaseBridged, "ReleaseOffer(1002,unexpected)"},
		"left":               {phaseBridged, "Deliver"},
		"enqueueOK":          {phaseBridged, "Deliver"},
		"ringOK":             {phaseBridged, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":          {phaseTransfer, "TransferReply(ok) ReleaseOperator StartMOH DialService"},
		"xferTopic":          {phaseQueued, "TransferReply(ok) ReleaseOperator SetTopic StartMOH Requeue"},
		"xferConsult":        {phaseConsult, "TransferReply(ok) HoldCitizen DialService"},
		"xferComplete":       {phaseBridged, "TransferReply(refused)"},
		"xferCancel":         {phaseBridged, "TransferReply(refused)"},
		"xferInvalid":        {phaseBridged, "TransferReply(refused)"},
	},
	phaseNumber: {
		"hangup":          {phaseDone, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) CancelTimer(entry) Record(abandoned,caller)"},
		"hangup38":        {phaseDone, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) CancelTimer(entry) Record(abandoned,caller)"},
		"digit1":          {phaseNumber, "SetTimer(entry)"},
		"digit7":          {phaseNumber, "SetTimer(entry)"},
		"offer":           {phaseQueued, "CancelTimer(entry) StopEntryPrompt StartMOH Ring"},
		"timerMaxWait":    {phaseNumber, "SetTimer(max_wait)"},
		"timerEntry":      {phaseNumber, "PlayEntry SetTimer(entry)"},
		"ringUnreachable": {phaseNumber, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseNumber, "ReleaseOffer(1002,unexpected)"},
		"left":            {phaseNumber, "Deliver"},
		"enqueueOK":       {phaseNumber, "Deliver"},
		"ringOK":          {phaseNumber, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":       {phaseNumber, "TransferReply(refused)"},
		"xferTopic":       {phaseNumber, "TransferReply(refused)"},
		"xferConsult":     {phaseNumber, "TransferReply(refused)"},
		"xferComplete":    {phaseNumber, "TransferReply(refused)"},
		"xferCancel":      {phaseNumber, "TransferReply(refused)"},
		"xferInvalid":     {phaseNumber, "TransferReply(refused)"},
	},
	phaseGoodbye: {
		"hangup":          {phaseDone, "CancelTimer(max_wait) Record(callback_later,caller)"},
		"hangup38":        {phaseDone, "CancelTimer(max_wait) Record(callback_later,caller)"},
		"playGoodbye":     {phaseDone, "HangupCaller CancelTimer(max_wait) Record(callback_later,system)"},
		"offer":           {phaseGoodbye, "ReleaseOffer(1002,unexpected)"},
		"ringUnreachable": {phaseGoodbye, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseGoodbye, "ReleaseOffer(1002,unexpected)"},
		"left":            {phaseGoodbye, "Deliver"},
		"enqueueOK":       {phaseGoodbye, "Deliver"},
		"ringOK":          {phaseGoodbye, "ReleaseOffer(1002,unexpected)"},
		"goodbyeFailed":   {phaseDone, "HangupCaller CancelTimer(max_wait) Record(callback_later,system)"},
		"xferBlind":       {phaseGoodbye, "TransferReply(refused)"},
		"xferTopic":       {phaseGoodbye, "TransferReply(refused)"},
		"xferConsult":     {phaseGoodbye, "TransferReply(refused)"},
		"xferComplete":    {phaseGoodbye, "TransferReply(refused)"},
		"xferCancel":      {phaseGoodbye, "TransferReply(refused)"},
		"xferInvalid":     {phaseGoodbye, "TransferReply(refused)"},
	},
	phaseTransfer: {
		"hangup":          {phaseDone, "TransferDone(failed) EndService CancelTimer(max_wait) Record(abandoned,caller)"},
		"hangup38":        {phaseDone, "TransferDone(failed) EndService CancelTimer(max_wait) Record(abandoned,caller)"},
		"offer":           {phaseTransfer, "ReleaseOffer(1002,unexpected)"},
		"ringUnreachable": {phaseTransfer, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseTransfer, "ReleaseOffer(1002,unexpected)"},
		"left":            {phaseTransfer, "Deliver"},
		"enqueueOK":       {phaseTransfer, "Deliver"},
		"ringOK":          {phaseTransfer, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":       {phaseTransfer, "TransferReply(refused)"},
		"xferTopic":       {phaseTransfer, "TransferReply(refused)"},
		"xferConsult":     {phaseTransfer, "TransferReply(refused)"},
		"xferComplete":    {phaseTransfer, "TransferReply(refused)"},
		"xferCancel":      {phaseTransfer, "TransferReply(refused)"},
		"xferInvalid":     {phaseTransfer, "TransferReply(refused)"},
		"svcAnswered":     {phaseTransfer, "StopMOH BridgeService(citizen)"},
		"svcGone":         {phaseQueued, "EndService TransferDone(failed) StopMOH PlayApology Requeue"},
	},
	phaseConsult: {
		"hangup":             {phaseDone, "TransferDone(failed) EndConversation(caller) EndService CancelTimer(max_wait) ForgetLeg Record(answered,caller)"},
		"hangup38":           {phaseDone, "TransferDone(failed) EndConversation(caller) EndService ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,caller)"},
		"offer":              {phaseConsult, "ReleaseOffer(1002,unexpected)"},
		"legStasisEnd":       {phaseQueued, "EndService TransferDone(failed) ForgetLeg OperatorDropped StopMOH PlayApology Requeue"},
		"legStasisEndResync": {phaseQueued, "EndService TransferDone(failed) ForgetLeg OperatorDropped StopMOH PlayApology Requeue"},
		"legDestroyed16":     {phaseQueued, "EndService TransferDone(failed) ForgetLeg OperatorDropped StopMOH PlayApology Requeue"},
		"legDestroyed38":     {phaseQueued, "EndService TransferDone(failed) ForgetLeg OperatorDropped StopMOH PlayApology Requeue"},
		"ringUnreachable":    {phaseConsult, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":         {phaseConsult, "ReleaseOffer(1002,unexpected)"},
		"left":               {phaseConsult, "Deliver"},
		"enqueueOK":          {phaseConsult, "Deliver"},
		"ringOK":             {phaseConsult, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":          {phaseConsult, "TransferReply(refused)"},
		"xferTopic":          {phaseConsult, "TransferReply(refused)"},
		"xferConsult":        {phaseConsult, "TransferReply(refused)"},
		"xferComplete":       {phaseConsult, "TransferReply(refused)"},
		"xferCancel":         {phaseBridged, "TransferReply(ok) EndService TransferDone(returned) StopMOH Bridge"},
		"xferInvalid":        {phaseConsult, "TransferReply(refused)"},
		"svcAnswered":        {phaseConsult, "BridgeService(operator)"},
		"svcGone":            {phaseBridged, "EndService TransferDone(failed) StopMOH Bridge"},
	},
	phaseTransferred: {
		"hangup":          {phaseDone, "EndService CancelTimer(max_wait) Record(transferred,caller)"},
		"hangup38":        {phaseDone, "EndService CancelTimer(max_wait) Record(transferred,caller)"},
		"offer":           {phaseTransferred, "ReleaseOffer(1002,unexpected)"},
		"ringUnreachable": {phaseTransferred, "ReleaseOffer(1002,unexpected)"},
		"ringFailed":      {phaseTransferred, "ReleaseOffer(1002,unexpected)"},
		"left":            {phaseTransferred, "Deliver"},
		"enqueueOK":       {phaseTransferred, "Deliver"},
		"ringOK":          {phaseTransferred, "ReleaseOffer(1002,unexpected)"},
		"xferBlind":       {phaseTransferred, "TransferReply(refused)"},
		"xferTopic":       {phaseTransferred, "TransferReply(refused)"},
		"xferConsult":     {phaseTransferred, "TransferReply(refused)"},
		"xferComplete":    {phaseTransferred, "TransferReply(refused)"},
		"xferCancel":      {phaseTransferred, "TransferReply(refused)"},
		"xferInvalid":     {phaseTransferred, "TransferReply(refused)"},
		"svcGone":         {phaseDone, "HangupCaller EndService CancelTimer(max_wait) Record(transferred,service)"},
	},
	phaseDone: {
		"offer":           {phaseDone, "OfferAfterEnd"},
		"ringUnreachable": {phaseDone, "OfferAfterEnd"},
		"ringFailed":      {phaseDone, "OfferAfterEnd"},
		"left":            {phaseDone, "Deliver"},
		"enqueueOK":       {phaseDone, "Deliver"},
		"ringOK":          {phaseDone, "OfferAfterEnd"},
	},
}

func TestCallMachineMatrix(t *testing.T) {
	for _, f := range fixtures {
		for _, e := range events {
			t.Run(f.phase.String()+"/"+e.name, func(t *testing.T) {
				m := f.make(t)
				if m.phase != f.phase {
					t.Fatalf("fixture in %s, want %s", m.phase, f.phase)
				}
				got := names(m.Handle(e.ev(m), t0.Add(2*time.Minute)))
				want, ok := matrix[f.phase][e.name]
				if !ok {
					want = cell{f.phase, ""}
				}
				if got != want.cmds || m.phase != want.next {
					t.Errorf("%s × %s: got %s %q, want %s %q", f.phase, e.name, m.phase, got, want.next, want.cmds)
				}
			})
		}
	}
}

// holds is what a machine holds, for the exit's invariants.
type holds struct {
	queued, leg, talking, service bool
	timers                        []timerKind
}

func holding(m *callMachine) holds {
	h := holds{queued: m.queued, leg: m.leg, talking: m.talking, service: m.xfer != nil && m.xfer.svcLeg}
	for k, gen := range m.timers {
		if gen != 0 {
			h.timers = append(h.timers, timerKind(k))
		}
	}
	return h
}

// checkExit asserts the one way out released everything held before:
// the queue entry, the ringing leg, the conversation, every timer, and
// wrote exactly one record.
func checkExit(t *testing.T, before holds, cmds []callCmd) {
	t.Helper()
	count := map[string]int{}
	cancelled := map[timerKind]bool{}
	for _, c := range cmds {
		count[strings.TrimPrefix(fmt.Sprintf("%T", c), "router.cmd")]++
		if x, ok := c.(cmdCancelTimer); ok {
			cancelled[x.Kind] = true
		}
	}
	if count["Record"] != 1 {
		t.Errorf("records written: %d, want 1 (%s)", count["Record"], names(cmds))
	}
	if before.queued != (count["LeaveQueue"] == 1) {
		t.Errorf("held a queue entry: %v, left the queue %d times (%s)", before.queued, count["LeaveQueue"], names(cmds))
	}
	if before.talking != (count["EndConversation"] == 1) {
		t.Errorf("talking: %v, conversations ended: %d (%s)", before.talking, count["EndConversation"], names(cmds))
	}
	if before.leg && !before.talking && count["HangupLeg"] != 1 {
		t.Errorf("a ringing leg was not hung up (%s)", names(cmds))
	}
	if before.service != (count["EndService"] == 1) {
		t.Errorf("held a service leg: %v, service legs ended: %d (%s)", before.service, count["EndService"], names(cmds))
	}
	for _, k := range before.timers {
		if !cancelled[k] {
			t.Errorf("timer %s left running (%s)", k, names(cmds))
		}
	}
}

// TestCallMachineExit: every transition into phaseDone, from every phase
// and event, releases all the call held.
func TestCallMachineExit(t *testing.T) {
	for _, f := range fixtures[:len(fixtures)-1] {
		for _, e := range events {
			m := f.make(t)
			before := holding(m)
			cmds := m.Handle(e.ev(m), t0.Add(2*time.Minute))
			if m.phase != phaseDone {
				continue
			}
			t.Run(f.phase.String()+"/"+e.name, func(t *testing.T) { checkExit(t, before, cmds) })
		}
	}
}

// TestCallMachineDoneIsFinal: after the end, no event writes a record,
// rings anyone or leaves a queue again; offers are still released.
func TestCallMachineDoneIsFinal(t *testing.T) {
	for _, f := range fixtures[:len(fixtures)-1] {
		m := f.make(t)
		drive(t, m, t0.Add(time.Minute), evCallerHangup{Cause: 16})
		if m.phase != phaseDone {
			t.Fatalf("%s: a hang-up left the call in %s", f.phase, m.phase)
		}
		for _, e := range events {
			got := names(m.Handle(e.ev(m), t0.Add(2*time.Minute)))
			switch e.name {
			case "offer", "ringUnreachable", "ringFailed", "ringOK":
				if got != "OfferAfterEnd" {
					t.Errorf("%s, then %s after the end: %q, want the offer given up", f.phase, e.name, got)
				}
			case "left", "enqueueOK":
				if got != "Deliver" {
					t.Errorf("%s, then %s after the end: %q, want the freed offers delivered", f.phase, e.name, got)
				}
			default:
				if got != "" {
					t.Errorf("%s, then %s after the end: %q, want nothing", f.phase, e.name, got)
				}
			}
		}
	}
}

// The scenarios of README's table, one transition at a time.

func TestCallMachineOperatorDrop(t *testing.T) {
	m := inBridged(t)
	m.policy.MinAbandonWait = time.Hour // the callback is owed whatever the wait
	got := names(drive(t, m, t0.Add(time.Minute), evLegDestroyed{Cause: 38}))
	if want := "ForgetLeg OperatorDropped PlayApology Requeue"; got != want || m.phase != phaseQueued {
		t.Fatalf("line dropped: %s %q, want queued %q", m.phase, got, want)
	}
	got = names(drive(t, m, t0.Add(time.Minute), evRequeued{OK: true, Offers: []Offer{other}}))
	if want := "HandOnOperator Deliver"; got != want || !m.queued {
		t.Fatalf("requeued: %q (queued %v), want %q", got, m.queued, want)
	}
	// The apology ends: music again; the next operator may ring.
	if got := names(drive(t, m, t0.Add(time.Minute), evPlaybackDone{Which: playAnnounce})); got != "StartMOH" {
		t.Errorf("apology done: %q, want StartMOH", got)
	}
	before := holding(m)
	cmds := drive(t, m, t0.Add(70*time.Second), evCallerHangup{Cause: 16})
	checkExit(t, before, cmds)
	if got := names(cmds); !strings.Contains(got, "ScheduleCallback(dropped)") || !strings.Contains(got, "Record(abandoned,caller)") {
		t.Errorf("hang-up after a drop: %q, want a dropped callback and an abandoned record", got)
	}
}

func TestCallMachineRequeueFails(t *testing.T) {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evLegDestroyed{Cause: 38})
	got := names(drive(t, m, t0.Add(time.Minute), evRequeued{}))
	want := "ScheduleCallback(dropped) StopMOH PlayGoodbye(callback_confirmed) HandOnOperator"
	if got != want || m.phase != phaseGoodbye || m.goodbye != OutcomeDropped {
		t.Errorf("requeue failed: %s %q, want goodbye %q", m.phase, got, want)
	}
}

func TestCallMachineAnswerRefused(t *testing.T) {
	m := inOffering(t)
	drive(t, m, t0.Add(time.Minute), evLegAnswered{}, evAnswered{})
	if m.phase != phaseQueued || !m.queued || m.leg || m.offer != nil {
		t.Fatalf("refused answer: %s queued=%v leg=%v offer=%v, want waiting with no leg", m.phase, m.queued, m.leg, m.offer)
	}
	if got := names(drive(t, m, t0.Add(time.Minute), evOffer{Offer: offerB})); got != "Ring" {
		t.Errorf("next offer after a refused answer: %q, want Ring", got)
	}
}

func TestCallMachineEnqueueFailed(t *testing.T) {
	for _, tc := range []struct {
		result fallbackResult
		want   string
	}{
		{fallbackOK, "Note LeaveQueue CancelTimer(max_wait) Record(fallback,system)"},
		{fallbackGone, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) Record(abandoned,caller)"},
		{fallbackFailed, "HangupCaller LeaveQueue CancelTimer(max_wait) Record(rejected,system)"},
	} {
		m := inIVR(t)
		drive(t, m, t0, evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}},
			evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0})
		got := names(drive(t, m, t0, evEnqueued{Result: enqueueFailed}))
		if got != "StopMOH Fallback" || m.phase != phaseQueued {
			t.Fatalf("enqueue failed: %s %q, want the fallback, never a hang-up", m.phase, got)
		}
		m.setTimer(&cmds{}, timerMaxWait, time.Minute) // a timer to release
		got = names(drive(t, m, t0.Add(time.Minute), evFallback{Result: tc.result}))
		if got != tc.want {
			t.Errorf("fallback %d: %q, want %q", tc.result, got, tc.want)
		}
	}
}

func TestCallMachineNumberEntryOnVirtualHold(t *testing.T) {
	m := inNumber(t)
	if !m.queued {
		t.Fatal("keying a number on virtual hold must keep the place in the queue")
	}
	for _, d := range []string{"7", "0", "1", "2", "3", "4", "5", "6", "7", "#"} {
		drive(t, m, t0, evDigit{Digit: d})
	}
	if !m.entry.confirming || m.entry.digits != "701234567" {
		t.Fatalf("entry: %+v, want 701234567 read back", m.entry)
	}
	got := names(drive(t, m, t0, evDigit{Digit: "1"}))
	if want := "CancelTimer(entry) NumberEntered StopAnnouncement ScheduleCallback(virtual_hold)"; got != want {
		t.Fatalf("confirm: %q, want %q", got, want)
	}
	got = names(drive(t, m, t0, evCallbackResult{OK: true}))
	if want := "LeaveQueue StopMOH PlayGoodbye(callback_confirmed)"; got != want || m.phase != phaseGoodbye || m.queued {
		t.Errorf("callback taken: %s %q, want goodbye %q", m.phase, got, want)
	}
}

func TestCallMachineNumberEntryGivesUp(t *testing.T) {
	m := inNumber(t)
	var got string
	for range maxEntryTries {
		got = names(drive(t, m, t0, evTimer{Kind: timerEntry, Gen: m.timers[timerEntry]}))
	}
	// No number after three tries: goodbye, and the place is not kept.
	if want := "LeaveQueue StopMOH PlayGoodbye(goodbye)"; got != want || m.phase != phaseGoodbye {
		t.Errorf("three silences: %s %q, want goodbye %q", m.phase, got, want)
	}
}

func TestCallMachineQueueFullAndClosed(t *testing.T) {
	m := inIVR(t)
	drive(t, m, t0, evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}},
		evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0})
	got := names(drive(t, m, t0, evEnqueued{Result: enqueueFull}))
	if got != "ScheduleCallback(no_service)" || m.queued {
		t.Fatalf("queue full: %q queued=%v, want a callback and no place held", got, m.queued)
	}
	got = names(drive(t, m, t0, evCallbackResult{OK: true}))
	if got != "StopMOH PlayGoodbye(callback_confirmed)" || m.goodbye != OutcomeCallbackLater {
		t.Errorf("queue full, callback owed: %q %s", got, m.goodbye)
	}

	// After hours with the offer: "closed, press 1", then the callback.
	m = inIVR(t)
	p := cbOn
	p.AfterHoursOffer = true
	drive(t, m, t0, evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}})
	got = names(drive(t, m, t0, evTopicChecked{Result: topicClosed, Policy: p, At: t0}))
	if got != "StopMOH PlayGoodbye(closed+callback_offer)" || m.goodbye != OutcomeRejected {
		t.Fatalf("closed: %q %s", got, m.goodbye)
	}
	got = names(drive(t, m, t0, evDigit{Digit: "1"}, evCallbackResult{OK: true}))
	if got != "StopMOH PlayGoodbye(closed_callback)" || m.goodbye != OutcomeCallbackLater {
		t.Errorf("closed, offer taken: %q %s", got, m.goodbye)
	}
}

// TestCallMachineConversationEnds: a conversation counts from the caller's
// entry into the bridge; a caller who leaves before it (the PBX accepted
// them into the bridge, but they were still busy with a playback) never
// talked, and is owed the dropped call's callback however long ago the
// operator answered.
func TestCallMachineConversationEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration // since the answer
		joined []callEvent   // after the answer
		ev     callEvent
		want   string
	}{
		{"caller after the drop window", time.Minute, []callEvent{evBridged{OK: true}, evCallerJoined{}}, evCallerHangup{Cause: 16}, "Record(answered,caller)"},
		{"caller within the drop window", 2 * time.Second, []callEvent{evBridged{OK: true}, evCallerJoined{}}, evCallerHangup{Cause: 16}, "ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,caller)"},
		{"caller, bridge refused", time.Minute, []callEvent{evBridged{}}, evCallerHangup{Cause: 16}, "ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,caller)"},
		{"caller, never in the bridge", time.Minute, []callEvent{evBridged{OK: true}}, evCallerHangup{Cause: 16}, "ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,caller)"},
		{"operator hangs up", 2 * time.Second, []callEvent{evBridged{OK: true}, evCallerJoined{}}, evLegDestroyed{Cause: 16}, "Record(answered,operator)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := inOffering(t)
			drive(t, m, t0.Add(25*time.Second), evLegAnswered{}, evAnswered{OK: true})
			drive(t, m, t0.Add(25*time.Second), tc.joined...)
			before := holding(m)
			cmds := drive(t, m, t0.Add(25*time.Second+tc.after), tc.ev)
			checkExit(t, before, cmds)
			if got := names(cmds); !strings.HasSuffix(got, tc.want) {
				t.Errorf("%q, want it to end in %q", got, tc.want)
			}
		})
	}
}

func TestCallMachineLegCauseNet(t *testing.T) {
	m := inBridged(t)
	drive(t, m, t0.Add(time.Minute), evLegStasisEnd{})
	gen := m.timers[timerLegCause]
	// A second departure event does not re-arm the net.
	if got := names(drive(t, m, t0.Add(time.Minute), evLegHangupReq{})); got != "" {
		t.Errorf("second departure event: %q, want nothing", got)
	}
	got := names(drive(t, m, t0.Add(time.Minute), evTimer{Kind: timerLegCause, Gen: gen}))
	if !strings.HasPrefix(got, "EndConversation(operator)") || m.phase != phaseDone {
		t.Errorf("no cause within the net: %q, want the operator's hang-up", got)
	}
}

func TestCallMachineStaleTimer(t *testing.T) {
	m := inOffering(t)
	old := m.timers[timerRing]
	drive(t, m, t0, evLegDestroyed{Cause: 19}, evOffer{Offer: offerB},
		evRing{Result: ringOK, Offer: offerB, Ring: time.Second})
	if got := names(drive(t, m, t0, evTimer{Kind: timerRing, Gen: old})); got != "" {
		t.Errorf("the first offer's ring timer: %q, want it ignored", got)
	}
	if got := names(drive(t, m, t0, evTimer{Kind: timerRing, Gen: m.timers[timerRing]})); got != "HangupLeg(no_answer)" {
		t.Errorf("the second offer's ring timer: %q, want the leg hung up", got)
	}
}

func TestCallMachineOverflowNowhere(t *testing.T) {
	m := inQueued(t)
	drive(t, m, t0.Add(5*time.Minute), evTimer{Kind: timerMaxWait, Gen: m.timers[timerMaxWait]})
	got := names(drive(t, m, t0.Add(5*time.Minute), evOverflow{Result: overflowNowhere}))
	if got != "ScheduleCallback(no_service)" {
		t.Fatalf("nowhere to overflow: %q", got)
	}
	got = names(drive(t, m, t0.Add(5*time.Minute), evCallbackResult{OK: true}))
	if want := "LeaveQueue StopAnnouncement StopMOH PlayGoodbye(callback_confirmed)"; got != want {
		t.Errorf("callback instead of an endless wait: %q, want %q", got, want)
	}
}

func TestCallMachineAdoptedLostLeg(t *testing.T) {
	m := newCallMachine(true)
	before := holds{talking: true}
	cmds := m.Handle(evAdopted{Kind: adoptLostLeg, Policy: cbOn, EnqueuedAt: t0, AnsweredAt: t0}, t0.Add(time.Minute))
	checkExit(t, before, cmds)
	if got := names(cmds); got != "EndConversation(operator) Record(answered,operator)" {
		t.Errorf("adopted without its operator: %q", got)
	}
}

func TestCallMachineRingRefused(t *testing.T) {
	for _, tc := range []struct {
		result ringResult
		want   string
	}{
		{ringUnreachable, "ReleaseOffer(1002,unreachable)"},
		{ringNoEndpoint, "ReleaseOffer(1002,unreachable)"},
		{ringFailed, "ReleaseOffer(1002,originate_failed)"},
	} {
		m := inQueued(t)
		if got := names(drive(t, m, t0, evOffer{Offer: offerB})); got != "Ring" {
			t.Fatalf("offer: %q, want Ring", got)
		}
		got := names(drive(t, m, t0, evRing{Result: tc.result, Offer: offerB}))
		if got != tc.want || m.phase != phaseQueued || m.leg {
			t.Errorf("ring %d: %s %q, want queued %q", tc.result, m.phase, got, tc.want)
		}
		// The result came: a duplicate of it is a stray.
		if got := names(drive(t, m, t0, evRing{Result: ringOK, Offer: offerB})); got != "ReleaseOffer(1002,unexpected)" || m.phase != phaseQueued {
			t.Errorf("a duplicate ring result: %s %q, want it released and ignored", m.phase, got)
		}
	}
}

// TestCallMachineStartsOnce: a second start, adoption or called-back
// event does nothing.
func TestCallMachineStartsOnce(t *testing.T) {
	for _, ev := range []callEvent{evStart{}, evCalledBack{Topic: "medical"}, evAdopted{Kind: adoptWaiting}} {
		m := inIVR(t)
		if got := names(drive(t, m, t0, ev)); got != "" {
			t.Errorf("%T after the start: %q, want nothing", ev, got)
		}
	}
}

// inNumberQueueFull: a caller without caller ID found the queue full and
// keys in a number for the callback; they hold no place in a queue.
func inNumberQueueFull(t *testing.T) *callMachine {
	m := newCallMachine(false)
	drive(t, m, t0, evStart{}, evAnswerResult{},
		evMenuDone{Out: &menuOutcome{Kind: menuQueue, Topic: "medical"}},
		evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0},
		evEnqueued{Result: enqueueFull})
	return m
}

// TestCallMachineCallerHangsUp: the caller hanging up in each phase ends
// the call with one record, and leaves the queue exactly when they held a
// place in one — also while keying a number on virtual hold.
func TestCallMachineCallerHangsUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		make  fixture
		phase phase
		want  string
	}{
		{"ivr", inIVR, phaseIVR, "Record(abandoned,caller)"},
		{"queued", inQueued, phaseQueued, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) Record(abandoned,caller)"},
		{"offering", inOffering, phaseOffering, "HangupLeg(normal) LeaveQueue ScheduleCallback(abandoned) CancelTimer(ring) CancelTimer(lease) CancelTimer(max_wait) ForgetLeg Record(abandoned,caller)"},
		{"bridged", inBridged, phaseBridged, "EndConversation(caller) CancelTimer(max_wait) ForgetLeg Record(answered,caller)"},
		{"number on virtual hold", inNumber, phaseNumber, "LeaveQueue ScheduleCallback(abandoned) CancelTimer(max_wait) CancelTimer(entry) Record(abandoned,caller)"},
		{"number after a full queue", inNumberQueueFull, phaseNumber, "CancelTimer(entry) Record(abandoned,caller)"},
		{"goodbye", inGoodbye, phaseGoodbye, "CancelTimer(max_wait) Record(callback_later,caller)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.make(t)
			if m.phase != tc.phase {
				t.Fatalf("fixture in %s, want %s", m.phase, tc.phase)
			}
			got := names(drive(t, m, t0.Add(time.Minute), evCallerHangup{Cause: 16}))
			if got != tc.want || m.phase != phaseDone {
				t.Errorf("hang-up: %s %q, want done %q", m.phase, got, tc.want)
			}
			// The StasisEnd and ChannelDestroyed that follow change nothing.
			if again := names(drive(t, m, t0.Add(time.Minute), evCallerHangup{}, evCallerHangup{Cause: 16})); again != "" {
				t.Errorf("a second hang-up event: %q, want nothing", again)
			}
		})
	}
}

// A channel that vanished in a PBX restart was cut, not hung up: the
// citizen who held a place or talked is owed a callback however short the
// wait, and the call is recorded as dropped by the PBX.
func TestCallMachinePBXRestartCutsTheLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		make fixture
		want string
	}{
		{"ivr", inIVR, "Note Record(abandoned,pbx)"},
		{"queued", inQueued, "Note LeaveQueue ScheduleCallback(dropped) CancelTimer(max_wait) Record(dropped,pbx)"},
		{"offering", inOffering, "Note HangupLeg(normal) LeaveQueue ScheduleCallback(dropped) CancelTimer(ring) CancelTimer(lease) CancelTimer(max_wait) ForgetLeg Record(dropped,pbx)"},
		{"bridged", inBridged, "Note EndConversation(pbx) ScheduleCallback(dropped) CancelTimer(max_wait) ForgetLeg Record(dropped,pbx)"},
		{"goodbye", inGoodbye, "Note CancelTimer(max_wait) Record(callback_later,caller)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.make(t)
			got := names(drive(t, m, t0.Add(time.Second), evCallerHangup{PBXLost: true}))
			if got != tc.want || m.phase != phaseDone {
				t.Errorf("PBX restart: %s %q, want done %q", m.phase, got, tc.want)
			}
			if again := names(drive(t, m, t0.Add(time.Second), evCallerHangup{PBXLost: true})); again != "" {
				t.Errorf("a second vanish: %q, want nothing", again)
			}
		})
	}
}

// A citizen who answered a customer-first callback and gives up waiting
// again is not owed another callback (theirs was reached); one whose
// operator's line dropped on them still is.
func TestCallMachineCalledBackGivesUp(t *testing.T) {
	calledBack := func(t *testing.T) *callMachine {
		m := newCallMachine(true)
		drive(t, m, t0, evCalledBack{Topic: "medical"},
			evTopicChecked{Result: topicOpen, Policy: cbOn, At: t0.Add(-time.Hour)},
			evEnqueued{Result: enqueueOK, MaxWait: 5 * time.Minute})
		if m.phase != phaseQueued {
			t.Fatalf("called back: %s, want queued", m.phase)
		}
		return m
	}
	m := calledBack(t)
	got := names(drive(t, m, t0.Add(time.Minute), evCallerHangup{Cause: 16}))
	if want := "LeaveQueue CancelTimer(max_wait) Record(abandoned,caller)"; got != want {
		t.Errorf("called-back citizen gives up: %q, want %q", got, want)
	}
	m = calledBack(t)
	m.operatorLost = 1
	got = names(drive(t, m, t0.Add(time.Minute), evCallerHangup{Cause: 16}))
	if want := "LeaveQueue ScheduleCallback(dropped) CancelTimer(max_wait) Record(abandoned,caller)"; got != want {
		t.Errorf("after a dropped line: %q, want %q", got, want)
	}
}
