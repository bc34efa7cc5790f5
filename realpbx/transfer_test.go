package realpbx

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/records"
)

// inProcess is a hotline running inside the test process.
type inProcess struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

func (r *rig) startInProcess() {
	r.t.Helper()
	cfg, err := config.Load(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	fmt.Fprintf(r.log, "==== hotline started in process %s\n", time.Now().Format("15:04:05.000"))
	w := &lockedWriter{mu: &r.mu, w: r.log}
	r.mu.Unlock()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zapcore.DebugLevel))
	a, err := app.New(app.Options{
		Config: cfg, RedisAddr: r.redis, HTTPAddr: r.http, APIToken: r.token, Log: log,
		ARI: ariadapter.Options{URL: r.ast.ARIURL(), User: r.ast.ARIUser, Password: r.ast.ARIPassword},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- a.Run(ctx) }()
	r.mu.Lock()
	r.inProc = p
	r.mu.Unlock()
	r.waitApp()
}

func (r *rig) stopInProcess() {
	r.mu.Lock()
	p := r.inProc
	r.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		r.t.Errorf("in-process hotline did not stop")
	}
}

func (r *rig) app() *app.App {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inProc.app
}

// bridgeOf is the bridge (id and channels) Asterisk holds channel in.
func (r *rig) bridgeOf(channel string) (string, []string) {
	var bridges []struct {
		ID       string   `json:"id"`
		Channels []string `json:"channels"`
	}
	if st, err := r.ari("GET", "/bridges", &bridges); err != nil || st != 200 {
		r.t.Fatalf("GET /bridges: %d %v", st, err)
	}
	for _, b := range bridges {
		for _, ch := range b.Channels {
			if ch == channel {
				return b.ID, b.Channels
			}
		}
	}
	return "", nil
}

// channels lists the ids of the channels Asterisk holds.
func (r *rig) channels() []string {
	var chans []struct {
		ID string `json:"id"`
	}
	if st, err := r.ari("GET", "/channels", &chans); err != nil || st != 200 {
		r.t.Fatalf("GET /channels: %d %v", st, err)
	}
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ID
	}
	return ids
}

// inboundCall is the id of the citizen's channel (the only one hotline
// did not originate).
func (r *rig) inboundCall() string {
	for _, id := range r.channels() {
		if !strings.Contains(id, "-op-") && !strings.Contains(id, "-svc-") {
			return id
		}
	}
	return ""
}

// withService bridges: the citizen is in a bridge with a service leg.
func (r *rig) withService(citizen string) bool {
	_, chans := r.bridgeOf(citizen)
	return len(chans) == 2 && (strings.Contains(chans[0], "-svc-") || strings.Contains(chans[1], "-svc-"))
}

const volunteersNumber = "77270002000"

// A blind transfer on a real Asterisk: the operator (baresip) talks to a
// SIPp citizen, the desktop transfers to the volunteers, the operator's
// phone is hung up, the volunteers' number is dialled through the carrier
// trunk with the centre's caller ID and bridged with the citizen, who is
// never re-INVITEd; the one record says transferred.
func TestBlindTransferRealAsterisk(t *testing.T) {
	r := newRig(t, rigOptions{inProcess: true})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 300 * time.Millisecond, Talk: 60 * time.Second})
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 12 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234567", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	var cid string
	r.waitFor(5*time.Second, "citizen bridged with the operator", func() bool {
		cid = r.inboundCall()
		_, chans := r.bridgeOf(cid)
		return cid != "" && len(chans) == 2
	})
	if err := r.app().Router().TransferToService(ctxFor(t, 5*time.Second), "1001", "volunteers"); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_CLOSED", 1); err != nil {
		t.Fatalf("the operator's phone was not hung up: %v", err)
	}
	r.waitFor(10*time.Second, "citizen bridged with the volunteers' leg", func() bool { return r.withService(cid) })
	r.waitFor(5*time.Second, "operator 1001 in wrap-up or ready", func() bool {
		st := r.agentState("1001")
		return st == "wrap_up" || st == "ready"
	})
	if err := c.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("citizen's call failed (an unexpected re-INVITE fails it): %v", err)
	}
	if err := carrier.Wait(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("the carrier's far end: %v", err)
	}
	invite := firstReceived(carrier.Messages(), "INVITE")
	if !strings.Contains(invite, volunteersNumber+"@") {
		t.Errorf("transfer dialled another number:\n%s", invite)
	}
	rec := r.recordOf("79001234567", 10*time.Second, records.OutcomeTransferred)
	if rec.Agent != "1001" || len(rec.Transfers) != 1 || rec.Transfers[0].Kind != "blind" ||
		rec.Transfers[0].To != "volunteers" || rec.Transfers[0].Outcome != "connected" {
		t.Fatalf("record %+v", rec)
	}
}

// An attended transfer on a real Asterisk: the operator consults the
// volunteers (the citizen on hold, the carrier leg bridged with the
// operator's baresip), then completes: the carrier leg is bridged with the
// citizen and the operator's phone hung up.
func TestAttendedTransferRealAsterisk(t *testing.T) {
	r := newRig(t, rigOptions{inProcess: true})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 300 * time.Millisecond, Talk: 60 * time.Second})
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 15 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234568", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	var cid string
	r.waitFor(5*time.Second, "citizen bridged with the operator", func() bool {
		cid = r.inboundCall()
		_, chans := r.bridgeOf(cid)
		return cid != "" && len(chans) == 2
	})
	if err := r.app().Router().ConsultService(ctxFor(t, 5*time.Second), "1001", "volunteers"); err != nil {
		t.Fatalf("consult: %v", err)
	}
	r.waitFor(10*time.Second, "operator bridged with the volunteers, citizen on hold", func() bool {
		if id, _ := r.bridgeOf(cid); id != "" {
			return false // the citizen is out of every bridge while on hold
		}
		for _, ch := range r.channels() {
			if strings.Contains(ch, "-op-") {
				_, chans := r.bridgeOf(ch)
				return len(chans) == 2 && (strings.Contains(chans[0], "-svc-") || strings.Contains(chans[1], "-svc-"))
			}
		}
		return false
	})
	if err := r.app().Router().CompleteConsult(ctxFor(t, 5*time.Second), "1001"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_CLOSED", 1); err != nil {
		t.Fatalf("the operator's phone was not hung up: %v", err)
	}
	r.waitFor(10*time.Second, "citizen bridged with the volunteers' leg", func() bool { return r.withService(cid) })
	if err := c.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("citizen's call failed: %v", err)
	}
	if err := carrier.Wait(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("the carrier's far end: %v", err)
	}
	rec := r.recordOf("79001234568", 10*time.Second, records.OutcomeTransferred)
	if len(rec.Transfers) != 1 || rec.Transfers[0].Kind != "attended" || rec.Transfers[0].Outcome != "connected" {
		t.Fatalf("record %+v", rec)
	}
}

// A transfer started from the softphone (a SIP REFER; ARI's
// ChannelTransfer event, which the adapter's event filter drops, is not
// acted on) does not take the citizen away: 3 s after it the citizen is
// still in hotline's bridge with the operator's leg, the citizen's SIPp
// sees no unexpected message, and the call ends with one answered record
// with no transfer. Transfers are made from the desktop.
func TestSoftphoneTransferIsRefused(t *testing.T) {
	r := newRig(t, rigOptions{})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 10 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234569", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never got the citizen: %v", err)
	}
	var cid string
	r.waitFor(5*time.Second, "citizen bridged with the operator", func() bool {
		cid = r.inboundCall()
		_, chans := r.bridgeOf(cid)
		return cid != "" && len(chans) == 2
	})
	// 122 exists in the operators' dialplan context: the worst target a
	// REFER could name. The REFER leaves baresip ("transferring call to").
	op.Transfer(t, "122")
	r.waitFor(5*time.Second, "the softphone sent its REFER", func() bool {
		return strings.Contains(op.Log(), "transferring call to")
	})
	time.Sleep(3 * time.Second)
	if _, chans := r.bridgeOf(cid); len(chans) != 2 || !(strings.Contains(chans[0], "-op-") || strings.Contains(chans[1], "-op-")) {
		t.Fatalf("after the softphone's REFER the citizen is in a bridge with %v, want the operator's leg", chans)
	}
	if err := c.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("citizen's call failed: %v", err)
	}
	rec := r.recordOf("79001234569", 10*time.Second, records.OutcomeAnswered)
	if rec.Agent != "1001" || len(rec.Transfers) != 0 {
		t.Fatalf("record %+v", rec)
	}
}
