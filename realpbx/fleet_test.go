package realpbx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/fleet"
	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/records"
)

// testLease is the instances' fleet lease in these tests (3 s in
// production): how soon a survivor takes a killed instance's calls over.
const testLease = "1s"

// instance is a second `hotline serve` of the rig's centre, with its own
// Stasis application and HTTP address.
type instance struct {
	app  string
	cmd  *exec.Cmd
	end  chan struct{}
	http string
}

// startInstance runs another hotline for the rig's Asterisk and Redis as
// application app and waits until Asterisk lists the application.
func (r *rig) startInstance(app string) *instance {
	r.t.Helper()
	port, err := freePort()
	if err != nil {
		r.t.Fatal(err)
	}
	in := &instance{app: app, end: make(chan struct{}), http: fmt.Sprintf("127.0.0.1:%d", port)}
	in.cmd = exec.Command(hotlineBin, "serve", "--config", r.cfg, "--redis", r.redis,
		"--ari-url", r.ast.ARIURL(), "--ari-user", r.ast.ARIUser, "--ari-app", app, "--fleet-lease", testLease,
		"--http", in.http, "--api-token", r.token, "--log-level", r.opt.logLevel)
	in.cmd.Env = append(os.Environ(), "HOTLINE_ARI_PASSWORD="+r.ast.ARIPassword)
	r.mu.Lock()
	fmt.Fprintf(r.log, "==== hotline serve --ari-app %s started %s\n", app, time.Now().Format("15:04:05.000"))
	w := &lockedWriter{mu: &r.mu, w: &prefixWriter{prefix: "[" + app + "] ", w: r.log}}
	r.mu.Unlock()
	in.cmd.Stdout, in.cmd.Stderr = w, w
	if err := in.cmd.Start(); err != nil {
		r.t.Fatalf("start hotline %s: %v", app, err)
	}
	go func() { _ = in.cmd.Wait(); close(in.end) }()
	r.t.Cleanup(func() { in.kill9() })
	r.waitFor(15*time.Second, "application "+app+" registered in Asterisk", func() bool { return r.appRegistered(app) })
	return in
}

func (in *instance) kill9() {
	select {
	case <-in.end:
		return
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.end
}

// prefixWriter marks each write of a second instance in the shared log.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := p.w.Write([]byte(p.prefix + l)); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// appRegistered: Asterisk has a WebSocket for the application.
func (r *rig) appRegistered(app string) bool {
	st, _ := r.ari("GET", "/applications/"+app, nil)
	return st == http.StatusOK
}

// appWithChannel is the application subscribed to a channel whose id
// starts with prefix ("" if none is).
func (r *rig) appWithChannel(prefix string) string {
	for _, app := range []string{"hotline", "hotline-2"} {
		var a struct {
			ChannelIDs []string `json:"channel_ids"`
		}
		if st, err := r.ari("GET", "/applications/"+app, &a); err != nil || st != http.StatusOK {
			continue
		}
		for _, id := range a.ChannelIDs {
			if strings.HasPrefix(id, prefix) {
				return app
			}
		}
	}
	return ""
}

// invitedCalls are the distinct Call-IDs of the INVITEs SIPp received.
func invitedCalls(log string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, msg := range received(log, "INVITE") {
		for _, line := range strings.Split(msg, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Call-ID") {
				if id := strings.TrimSpace(v); !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// callRecordsOf counts the records of calls from number, the journal
// entries of callbacks (cb-…) aside.
func (r *rig) callRecordsOf(number string) int {
	n := 0
	for _, rec := range r.records() {
		if strings.HasSuffix(rec.CallerNumber, number) && !strings.HasPrefix(rec.CallID, "cb-") {
			n++
		}
	}
	return n
}

// callerApp is the application Redis says holds the caller from number
// (the caller hash's app field), "" while there is none.
func (r *rig) callerApp(number string) (callID, app string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	iter := r.rdb.Scan(ctx, 0, rkeys.Prefix(r.centre)+"caller:*", 1000).Iterator()
	for iter.Next(ctx) {
		f, err := r.rdb.HGetAll(ctx, iter.Val()).Result()
		if err == nil && strings.HasSuffix(f["number"], number) {
			return strings.TrimPrefix(iter.Val(), rkeys.Prefix(r.centre)+"caller:"), f["app"]
		}
	}
	return "", ""
}

// Two hotline instances on one real Asterisk, hotline and hotline-2: the
// dialplan's StasisBroadcast offers each call to both. A conversation is
// up and two callers wait; the instance holding the conversation is
// SIGKILLed. A caller dialling right after is claimed by the survivor
// (not sent to the fallback), the survivor takes the dead instance's
// application over (the conversation goes on to its end and is recorded
// answered), the two waiting callers are served in their order by the
// same operator, and each caller has exactly one record. A callback is
// ringing its operator (agent-first) at the kill, made by either instance:
// the citizen is reached exactly once, dialled once, by an operator who
// never had two calls. Then the killed instance comes back and is given
// its application back.
func TestTwoInstancesKill9(t *testing.T) {
	r := newRig(t, rigOptions{extraArgs: []string{"--fleet-lease", testLease}, edit: func(cfg string) string {
		cfg = fastCallbacks(t)(cfg)
		return mustReplace(t, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    wrap_up: 1s\n")
	}})
	second := r.startInstance("hotline-2")
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")

	// E waits 4 s for complaints, which nobody staffs yet, and gives up: a
	// callback is owed, due a second later, for 1002.
	const numberE = "79001240006"
	// Russian, then complaints (SIPp's digit pcaps carry fixed RTP
	// timestamps: a digit after a higher or equal one is taken for old).
	toComplaints := []pbxtest.Step{{Wait: time.Second}, {Digit: "1"}, {Wait: 1500 * time.Millisecond}, {Digit: "6"}, {Wait: 4 * time.Second}}
	e := r.ast.Call(t, pbxtest.Citizen{Number: numberE, Steps: toComplaints, HangUp: true})
	if err := e.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if rec := r.recordOf(numberE, 10*time.Second, records.OutcomeAbandoned); rec.Callback == "" {
		t.Fatalf("E's record %+v: want abandoned with a callback owed", rec)
	}
	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 300 * time.Millisecond, Talk: 2 * time.Second})

	talk := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Audio: true}, pbxtest.Step{Wait: 20 * time.Second})
	a := r.ast.Call(t, pbxtest.Citizen{Number: "79001240001", Steps: talk, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	_, victim := r.callerApp("79001240001")
	if victim != "hotline" && victim != "hotline-2" {
		t.Fatalf("A's caller hash names application %q", victim)
	}
	wait := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})
	b := r.ast.Call(t, pbxtest.Citizen{Number: "79001240002", Steps: wait, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "B queued", func() bool { return r.queued("testing") == 1 })
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001240003", Steps: wait, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "C queued", func() bool { return r.queued("testing") == 2 })

	// The callback rings 1002, who does not answer yet.
	cbOp := r.ast.Softphone(t, "1002", pbxtest.PhoneOptions{Manual: true})
	r.login("1002")
	if _, err := cbOp.WaitEvent(ctxFor(t, 30*time.Second), "CALL_INCOMING", 1); err != nil {
		t.Fatalf("1002 never rang for the callback: %v", err)
	}
	cbApp := r.appWithChannel("cb-")
	if cbApp == "" {
		t.Fatal("no application holds the callback's leg")
	}

	survivor := "hotline-2"
	if victim == "hotline" {
		r.kill9()
	} else {
		survivor = "hotline"
		second.kill9()
	}
	killedAt := time.Now()
	t.Logf("%s SIGKILLed holding A's conversation; %s survives", victim, survivor)
	// The API is asked of the survivor until the killed instance is back.
	ownHTTP := r.http
	if victim == "hotline" {
		r.http = second.http
	}

	// A new caller right after the kill is claimed by the survivor.
	d := r.ast.Call(t, pbxtest.Citizen{Number: "79001240004", Steps: wait, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "D claimed and queued", func() bool {
		_, app := r.callerApp("79001240004")
		return app != ""
	})
	if _, app := r.callerApp("79001240004"); app != survivor {
		t.Fatalf("D, dialled after the kill, is held by %q, want %s", app, survivor)
	}
	r.waitFor(15*time.Second, "the survivor running "+victim, func() bool { return r.appRegistered(victim) })
	t.Logf("%s taken over %v after the kill", victim, time.Since(killedAt).Round(time.Millisecond))

	// The callback: an attempt the kill cut off is made again (1002 rings
	// anew); one on the survivor rings on. 1002 answers, the citizen is
	// dialled through the carrier once and reached.
	rings := 1
	if cbApp == victim {
		rings = 2
	}
	t.Logf("the callback's attempt was made by %s; 1002 answers ring %d", cbApp, rings)
	if _, err := cbOp.WaitEvent(ctxFor(t, 30*time.Second), "CALL_INCOMING", rings); err != nil {
		t.Fatalf("1002 did not ring %d times for the callback: %v", rings, err)
	}
	if err := cbOp.Command("accept", ""); err != nil {
		t.Fatal(err)
	}
	if err := carrier.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("the callback never reached the citizen through the carrier: %v", err)
	}
	if ids := invitedCalls(carrier.Messages()); len(ids) != 1 {
		t.Errorf("the citizen was dialled %d times (Call-IDs %v), want once", len(ids), ids)
	}
	r.waitFor(15*time.Second, "E's callback reached", func() bool {
		for _, cb := range r.callbacks("reached") {
			if strings.HasSuffix(cb.Number, numberE) {
				return true
			}
		}
		return false
	})
	if n := cbOp.Count("CALL_ESTABLISHED"); n != 1 {
		t.Errorf("1002 had %d conversations, want the callback's one", n)
	}

	// The conversation survives and ends when A hangs up.
	if err := a.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("A's call: %v", err)
	}
	if rec := r.recordOf("79001240001", 10*time.Second, records.OutcomeAnswered, records.OutcomeDropped, records.OutcomeLost); rec.Outcome != records.OutcomeAnswered || rec.Agent != "1001" {
		t.Fatalf("A's record %+v: want answered by 1001", rec)
	}
	// B, C, then D, each served by 1001 in the order they came.
	answerEach(t, op, 2, "after the kill", b, c, d)
	recB := r.recordOf("79001240002", 10*time.Second, records.OutcomeAnswered)
	recC := r.recordOf("79001240003", 10*time.Second, records.OutcomeAnswered)
	recD := r.recordOf("79001240004", 10*time.Second, records.OutcomeAnswered)
	if !recB.AnsweredAt.Before(recC.AnsweredAt) || !recC.AnsweredAt.Before(recD.AnsweredAt) {
		t.Errorf("callers served out of order: B %v, C %v, D %v", recB.AnsweredAt, recC.AnsweredAt, recD.AnsweredAt)
	}
	for _, n := range []string{"79001240001", "79001240002", "79001240003", "79001240004", numberE} {
		if count := r.callRecordsOf(n); count != 1 {
			t.Errorf("%s has %d records, want exactly 1", n, count)
		}
	}

	// The killed instance comes back and gets its application back.
	if victim == "hotline" {
		r.http = ownHTTP
		r.start()
	} else {
		r.startInstance("hotline-2")
	}
	r.waitFor(15*time.Second, victim+" given back to its instance", func() bool {
		v, _ := r.rdb.Get(context.Background(), fleet.LeaseKey(r.centre, victim)).Result()
		return strings.HasPrefix(v, victim+"|") && r.appRegistered(victim)
	})
	r.servedBy(op, "79001240005", 5, "a caller after the give-back")
	r.waitFor(10*time.Second, "1001 ready again", func() bool { return r.agentState("1001") == "ready" })
}

// Asterisk crashes and comes back (SIGKILL, a new process on the same
// configuration) with a conversation up and a caller waiting. hotline
// reconnects to the new Asterisk, sees the new startup time, records both
// vanished calls as dropped by the PBX with a callback owed, frees the
// operator, and serves the next caller.
func TestAsteriskRestartMidCalls(t *testing.T) {
	r := newRig(t, rigOptions{edit: func(cfg string) string {
		return mustReplace(t, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    wrap_up: 1s\n")
	}})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	long := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 20 * time.Second})
	r.ast.Call(t, pbxtest.Citizen{Number: "79001250001", Steps: long, MaxWait: 20 * time.Second})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	r.ast.Call(t, pbxtest.Citizen{Number: "79001250002", Steps: long, MaxWait: 20 * time.Second})
	r.waitFor(15*time.Second, "B queued", func() bool { return r.queued("testing") == 1 })

	if err := r.ast.Restart(); err != nil {
		t.Fatalf("asterisk restart: %v", err)
	}
	restarted := time.Now()
	r.waitApp()
	t.Logf("hotline registered with the new Asterisk %v after it booted", time.Since(restarted).Round(time.Millisecond))
	for _, n := range []string{"79001250001", "79001250002"} {
		rec := r.recordOf(n, 15*time.Second, records.OutcomeDropped, records.OutcomeAnswered, records.OutcomeAbandoned, records.OutcomeLost)
		if rec.Outcome != records.OutcomeDropped || rec.EndedBy != "pbx" || rec.Callback == "" {
			t.Errorf("%s's record %+v: want dropped by the pbx with a callback owed", n, rec)
		}
		// Its call's record; the callback's own journal entry (cb-…) aside.
		var calls []records.Record
		for _, rec := range r.records() {
			if strings.HasSuffix(rec.CallerNumber, n) && !strings.HasPrefix(rec.CallID, "cb-") {
				calls = append(calls, rec)
			}
		}
		if len(calls) != 1 {
			t.Errorf("%s has %d call records, want exactly 1: %+v", n, len(calls), calls)
		}
	}
	// The softphone still holds the call Asterisk forgot.
	op.Hangup(t)
	r.waitFor(15*time.Second, "1001 ready again", func() bool { return r.agentState("1001") == "ready" })
	r.servedBy(op, "79001250003", 2, "a caller after the restart")
}

// servedBy calls from number to the testing topic, talking 7 s (past
// drop_window) before hanging up: operator 1001 (softphone op, whose n-th
// established call it must be) answers, and the call is recorded answered
// by 1001.
func (r *rig) servedBy(op *pbxtest.Softphone, number string, n int, what string) {
	r.t.Helper()
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 7 * time.Second})
	c := r.ast.Call(r.t, pbxtest.Citizen{Number: number, Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(r.t, 40*time.Second), "CALL_ESTABLISHED", n); err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	if err := c.Wait(ctxFor(r.t, 20*time.Second)); err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	if rec := r.recordOf(number, 10*time.Second, records.OutcomeAnswered); rec.Agent != "1001" {
		r.t.Fatalf("%s: record %+v, want answered by 1001", what, rec)
	}
}

// Two instances on one real Asterisk: the instance that reserves an
// operator rings them also for a caller the other instance holds. It
// originates the operator's leg into the holder's application, so that
// Asterisk sends the leg's events to the holder, which bridges the call
// and records it.
func TestTheReservingInstanceRingsTheOperatorRealAsterisk(t *testing.T) {
	r := newRig(t, rigOptions{extraArgs: []string{"--fleet-lease", testLease}})
	second := r.startInstance("hotline-2")
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})

	const number = "79001260001"
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 3 * time.Second}, pbxtest.Step{Audio: true}, pbxtest.Step{Wait: 5 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: number, Steps: steps, HangUp: true})
	r.waitFor(15*time.Second, "the caller queued", func() bool { return r.queued("testing") == 1 })
	callID, holder := r.callerApp(number)
	other, otherHTTP := "hotline-2", second.http
	if holder == "hotline-2" {
		other, otherHTTP = "hotline", r.http
	}
	own := r.http
	r.http = otherHTTP
	r.login("1001") // on the instance not holding the caller: it reserves 1001
	r.http = own
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	if app := r.appWithChannel(callID + "-op-"); app != holder {
		t.Fatalf("the operator leg of %s's caller is in application %q, want %s's", holder, app, holder)
	}
	r.mu.Lock()
	log := r.log.String()
	r.mu.Unlock()
	rang := false
	for _, l := range strings.Split(log, "\n") {
		// The second instance's lines are marked, the rig's own are not.
		if strings.Contains(l, "ringing operator for a caller another instance holds") && strings.Contains(l, callID) &&
			strings.HasPrefix(l, "[hotline-2] ") == (other == "hotline-2") {
			rang = true
		}
	}
	if !rang {
		t.Fatalf("%s did not log ringing 1001 for %s's caller %s", other, holder, callID)
	}
	if err := c.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("the caller's call: %v", err)
	}
	if rec := r.recordOf(number, 10*time.Second, records.OutcomeAnswered); rec.Agent != "1001" || rec.CallID != callID {
		t.Fatalf("record %+v: want %s answered by 1001", rec, callID)
	}
	if n := r.callRecordsOf(number); n != 1 {
		t.Fatalf("%s has %d records, want exactly 1", number, n)
	}
}
