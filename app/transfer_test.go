package app_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// The example config's volunteers.
const volunteers = "+77270002000"

// withServices makes the carrier trunk answer the services' numbers as
// svc says (and nothing else).
func (h *harness) withServices(svc emulator.Phone) {
	numbers := map[string]emulator.Phone{}
	for _, s := range h.cfg.Services {
		numbers[s.Number] = svc
	}
	h.emu.AddTrunk("carrier", emulator.Trunk{Numbers: numbers})
}

// talking places a caller who chooses Kazakh and testing and waits until
// they are bridged with operator's leg; it returns the call and the leg.
func (h *harness) talking(number, endpoint string) (*emulator.CallHandle, string) {
	h.t.Helper()
	c := h.emu.Call(emulator.Caller{Number: number, Script: choose("2", "3")})
	h.waitClosed(c.Bridged(), "caller bridged with an operator")
	origs := h.emu.Originations(endpoint)
	leg := origs[len(origs)-1].ChannelID
	if peerOf(c) != leg {
		h.t.Fatalf("caller bridged with %q, want %s's leg %s", peerOf(c), endpoint, leg)
	}
	return c, leg
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// serviceLeg is the newest answered leg to number (nil if none).
func (h *harness) serviceLeg(number string) *emulator.CallHandle { return h.emu.CitizenLeg(number) }

func checkTransfer(t *testing.T, r records.Record, want records.Transfer) {
	t.Helper()
	if len(r.Transfers) != 1 {
		t.Fatalf("record transfers: %+v, want one %+v", r.Transfers, want)
	}
	got := r.Transfers[0]
	if got.Kind != want.Kind || got.To != want.To || got.Number != want.Number || got.Agent != want.Agent ||
		got.Outcome != want.Outcome || got.At.IsZero() {
		t.Fatalf("record transfer: %+v, want %+v", got, want)
	}
}

// A blind transfer to the volunteers: the service's number is dialled
// through the carrier trunk with the centre's caller ID, answers and is
// bridged with the citizen; the operator goes to wrap-up; when the citizen
// hangs up the service leg is hung up and the one record says transferred.
func TestBlindTransferToService(t *testing.T) {
	cfg := testConfig(t)
	cfg.Topics["testing"].WrapUp = config.Duration(2 * time.Second)
	h := newHarness(t, cfg)
	h.withServices(emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	h.login("PJSIP/1001")
	c, opLeg := h.talking("79001234567", "PJSIP/1001")

	if err := h.app.Router().TransferToService(h.ctx(), "1001", "volunteers"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	h.eventually("citizen bridged with the volunteers", func() bool {
		leg := h.serviceLeg(volunteers)
		return leg != nil && peerOf(c) == leg.ID()
	})
	dialled := h.emu.Dialled(volunteers)
	if len(dialled) != 1 || dialled[0].CallerID == "" || !slices.Contains([]string{"answered"}, dialled[0].Outcome) {
		t.Fatalf("originations to the volunteers: %+v", dialled)
	}
	if got := h.state("1001"); got != agents.WrapUp {
		t.Fatalf("operator 1001 is %s after a blind transfer, want wrap_up", got)
	}
	if h.emu.Originations("PJSIP/1001")[0].Leg == nil {
		t.Fatal("no operator leg handle")
	}
	h.waitClosed(h.emu.Originations("PJSIP/1001")[0].Leg.Ended(), "the operator's leg "+opLeg+" hung up")
	// Another transfer now: the operator is not in a conversation.
	if err := h.app.Router().TransferToService(h.ctx(), "1001", "ambulance"); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("second transfer by a released operator: %v, want ErrNoCall", err)
	}

	svc := h.serviceLeg(volunteers)
	c.Hangup()
	h.waitClosed(svc.Ended(), "the service's leg hung up after the citizen")
	r := h.record(c.ID())
	if r.Outcome != records.OutcomeTransferred || r.Agent != "1001" || r.EndedBy != "caller" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	checkTransfer(t, r, records.Transfer{Kind: "blind", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "connected"})
}

// The service hangs up first: the citizen is hung up, record transferred.
func TestBlindTransferServiceHangsUp(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withServices(emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 100 * time.Millisecond})
	h.login("PJSIP/1001")
	c, _ := h.talking("79001234567", "PJSIP/1001")
	if err := h.app.Router().TransferToService(h.ctx(), "1001", "volunteers"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	h.waitClosed(c.Ended(), "citizen hung up after the service")
	r := h.record(c.ID())
	if r.Outcome != records.OutcomeTransferred || r.EndedBy != "service" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
}

// A busy service: the citizen hears the apology and goes back to the head
// of the queue at the original queue time, before a caller who came later,
// and is offered to the next free operator.
func TestBlindTransferServiceBusyRequeues(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withServices(emulator.Phone{Busy: true})
	h.login("PJSIP/1001")
	a, _ := h.talking("79001234567", "PJSIP/1001")
	b := h.emu.Call(emulator.Caller{Number: "79007654321", Script: choose("2", "3")})
	h.eventually("second caller waiting", func() bool { return b.OnMOH() })

	if err := h.app.Router().TransferToService(h.ctx(), "1001", "volunteers"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	h.eventually("apology heard", func() bool { return containsMedia(a.Played(), "sound:hotline/kk/operator_dropped") })
	// 1001's wrap-up ends: the first caller, back at their original time,
	// is offered before the second.
	h.eventually("first caller bridged again", func() bool {
		origs := h.emu.Originations("PJSIP/1001")
		return len(origs) == 2 && peerOf(a) == origs[1].ChannelID
	})
	if b.State() == "bridged" {
		t.Fatal("the later caller was served first")
	}
	if d := h.emu.Dialled(volunteers); len(d) != 1 || d[0].Outcome != "busy" {
		t.Fatalf("originations to the volunteers: %+v", d)
	}
	a.Hangup()
	r := h.record(a.ID())
	if r.Outcome != "answered" || len(r.Transfers) != 1 {
		t.Fatalf("record: %s transfers %+v", fmtRecord(r), r.Transfers)
	}
	checkTransfer(t, r, records.Transfer{Kind: "blind", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "failed"})
	b.Hangup()
}

// To another topic: the operator goes to wrap-up, the citizen waits in the
// new topic at their original queue time (before a caller of that topic
// who came later) and is served by an operator with its skill.
func TestTransferToTopicKeepsQueueTime(t *testing.T) {
	cfg := testConfig(t)
	h := newHarness(t, cfg)
	h.login("PJSIP/1001")
	a, _ := h.talking("79001234567", "PJSIP/1001")
	b := h.emu.Call(emulator.Caller{Number: "79007654321", Script: choose("2", "5")})
	h.eventually("home-visit caller waiting", func() bool { return b.OnMOH() })

	if err := h.app.Router().TransferToTopic(h.ctx(), "1001", "nonexistent"); !errors.Is(err, router.ErrUnknownTarget) {
		t.Fatalf("unknown topic: %v, want ErrUnknownTarget", err)
	}
	if err := h.app.Router().TransferToTopic(h.ctx(), "1001", "testing"); !errors.Is(err, router.ErrTransferRefused) {
		t.Fatalf("the same topic: %v, want ErrTransferRefused", err)
	}
	if peerOf(a) != h.emu.Originations("PJSIP/1001")[0].ChannelID {
		t.Fatal("a refused transfer changed the conversation")
	}
	if err := h.app.Router().TransferToTopic(h.ctx(), "1001", "home_visit"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	h.eventually("transferred caller waiting", func() bool { return a.OnMOH() })
	h.eventually("operator 1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
	h.login("PJSIP/1003")
	h.eventually("transferred caller served first", func() bool {
		origs := h.emu.Originations("PJSIP/1003")
		return len(origs) == 1 && peerOf(a) == origs[0].ChannelID
	})
	a.Hangup()
	r := h.record(a.ID())
	if r.Topic != "home_visit" || r.Agent != "1003" || r.Outcome != "answered" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	checkTransfer(t, r, records.Transfer{Kind: "topic", To: "home_visit", Agent: "1001", Outcome: "connected"})
	b.Hangup()
}

// consulting brings operator 1001 into a consultation with the volunteers,
// the citizen on hold.
func consulting(t *testing.T, svc emulator.Phone) (h *harness, c *emulator.CallHandle, opLeg string) {
	h = newHarness(t, testConfig(t))
	h.withServices(svc)
	h.login("PJSIP/1001")
	c, opLeg = h.talking("79001234567", "PJSIP/1001")
	if err := h.app.Router().ConsultService(h.ctx(), "1001", "volunteers"); err != nil {
		t.Fatalf("consult: %v", err)
	}
	h.eventually("operator bridged with the volunteers, citizen on hold", func() bool {
		leg := h.serviceLeg(volunteers)
		return leg != nil && peerOf(leg) == opLeg && c.OnMOH() && peerOf(c) == ""
	})
	if got := h.state("1001"); got != agents.OnCall {
		t.Fatalf("operator 1001 is %s during the consultation, want on_call", got)
	}
	return h, c, opLeg
}

// Attended: consult, then complete: the citizen is bridged with the
// service, the operator released; the service hangs up, the call ends.
func TestConsultComplete(t *testing.T) {
	h, c, _ := consulting(t, emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	if err := h.app.Router().CompleteConsult(h.ctx(), "1001"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	svc := h.serviceLeg(volunteers)
	h.eventually("citizen bridged with the volunteers", func() bool { return peerOf(c) == svc.ID() && !c.OnMOH() })
	h.eventually("operator 1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
	h.waitClosed(h.emu.Originations("PJSIP/1001")[0].Leg.Ended(), "the operator's leg hung up")
	svc.Hangup()
	h.waitClosed(c.Ended(), "citizen hung up after the service")
	r := h.record(c.ID())
	if r.Outcome != records.OutcomeTransferred || r.EndedBy != "service" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	checkTransfer(t, r, records.Transfer{Kind: "attended", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "connected"})
}

// Attended: consult, then cancel: the service leg is hung up and operator
// and citizen talk again.
func TestConsultCancel(t *testing.T) {
	h, c, opLeg := consulting(t, emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	svc := h.serviceLeg(volunteers)
	if err := h.app.Router().CancelConsult(h.ctx(), "1001"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	h.waitClosed(svc.Ended(), "the service's leg hung up")
	h.eventually("citizen bridged with the operator again", func() bool { return peerOf(c) == opLeg && !c.OnMOH() })
	if err := h.app.Router().CancelConsult(h.ctx(), "1001"); !errors.Is(err, router.ErrTransferRefused) {
		t.Fatalf("cancel with no consultation: %v, want ErrTransferRefused", err)
	}
	c.Hangup()
	r := h.record(c.ID())
	if r.Outcome != "answered" || r.Agent != "1001" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	checkTransfer(t, r, records.Transfer{Kind: "attended", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "returned"})
}

// The service hangs up during the consultation: the operator gets the
// citizen back by themselves.
func TestConsultServiceHangsUp(t *testing.T) {
	h, c, opLeg := consulting(t, emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 150 * time.Millisecond})
	h.eventually("citizen bridged with the operator again", func() bool { return peerOf(c) == opLeg && !c.OnMOH() })
	c.Hangup()
	checkTransfer(t, h.record(c.ID()), records.Transfer{Kind: "attended", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "returned"})
}

// A request for an operator not in a conversation, or to an unknown
// service, is refused with the errors the web layer maps.
func TestTransferErrors(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.login("PJSIP/1001")
	if err := h.app.Router().TransferToService(h.ctx(), "1001", "volunteers"); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("idle operator: %v, want ErrNoCall", err)
	}
	if err := h.app.Router().ConsultService(h.ctx(), "1001", "pizza"); !errors.Is(err, router.ErrUnknownTarget) {
		t.Fatalf("unknown service: %v, want ErrUnknownTarget", err)
	}
	if err := h.app.Router().CompleteConsult(h.ctx(), "1001"); !errors.Is(err, router.ErrNoCall) {
		t.Fatalf("complete with no call: %v, want ErrNoCall", err)
	}
}

// The citizen hangs up while the service still rings: the ringing leg is
// cancelled and the one record is abandoned, with no callback.
func TestBlindTransferCitizenHangsUpWhileRinging(t *testing.T) {
	h := newHarness(t, testConfig(t))
	h.withServices(emulator.Phone{NeverAnswer: true})
	h.login("PJSIP/1001")
	c, _ := h.talking("79001234567", "PJSIP/1001")
	if err := h.app.Router().TransferToService(h.ctx(), "1001", "volunteers"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	h.eventually("the volunteers ringing, the citizen on hold", func() bool {
		d := h.emu.Dialled(volunteers)
		return len(d) == 1 && d[0].Outcome == "ringing" && c.OnMOH()
	})
	c.Hangup()
	h.eventually("the ringing leg cancelled", func() bool {
		d := h.emu.Dialled(volunteers)
		return len(d) == 1 && d[0].Outcome == "cancelled"
	})
	r := h.record(c.ID())
	if r.Outcome != records.OutcomeAbandoned || r.Callback != "" || r.EndedBy != "caller" {
		t.Fatalf("record: %s callback %q", fmtRecord(r), r.Callback)
	}
	checkTransfer(t, r, records.Transfer{Kind: "blind", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "failed"})
}

// The operator's line drops during the consultation: the service leg is
// hung up and the citizen, not left on hold, hears the apology and goes
// back to the queue, where the next free operator gets them.
func TestConsultOperatorDrops(t *testing.T) {
	h, c, _ := consulting(t, emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	svc := h.serviceLeg(volunteers)
	h.login("PJSIP/1003")
	if !h.emu.DropPhone("PJSIP/1001", 38) {
		t.Fatal("no call to drop on 1001")
	}
	h.waitClosed(svc.Ended(), "the service's leg hung up")
	h.eventually("apology heard", func() bool { return containsMedia(c.Played(), "sound:hotline/kk/operator_dropped") })
	h.eventually("citizen bridged with 1003", func() bool {
		origs := h.emu.Originations("PJSIP/1003")
		return len(origs) == 1 && peerOf(c) == origs[0].ChannelID
	})
	c.Hangup()
	r := h.record(c.ID())
	if r.Agent != "1003" || r.Outcome != "answered" {
		t.Fatalf("record: %s", fmtRecord(r))
	}
	checkTransfer(t, r, records.Transfer{Kind: "attended", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "failed"})
}
