package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/queue"
)

// originates are the operator legs the emulator was asked to dial for
// callID, with the ARI user that asked and the application named.
func originates(emu *emulator.Server, callID string) (users, apps []string) {
	for _, c := range emu.RESTLog() {
		if c.Method != "POST" || c.Path != "/ari/channels" {
			continue
		}
		var b struct{ App, AppArgs, ChannelID string }
		if json.Unmarshal([]byte(c.Body), &b) != nil || b.AppArgs != "operator-leg,"+callID {
			continue
		}
		users, apps = append(users, c.User), append(apps, b.App)
	}
	return users, apps
}

// restBy reports whether user made a call on path's prefix.
func restBy(emu *emulator.Server, user, prefix string) bool {
	return slices.ContainsFunc(emu.RESTLog(), func(c emulator.RESTCall) bool {
		return c.User == user && strings.HasPrefix(c.Path, prefix)
	})
}

// Two instances on one Asterisk: the instance that reserves an operator
// rings them, also for a caller the other instance holds: it originates
// the operator's leg into the holder's application, so that the leg's
// events, the bridge and the rest of the call are the holder's alone. An
// originate refused there (the phone not registered) is settled by the
// reserving instance: the operator goes offline and the caller keeps its
// place for the next operator.
func TestTheReservingInstanceRingsTheOperator(t *testing.T) {
	cfg := testConfig(t)
	eo := emulator.Options{Broadcast: &emulator.Broadcast{Filter: "^hotline", Timeout: 2 * time.Second},
		Users: map[string]string{"hotline-2": "secret-of-hotline-2"}}
	h := newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), nil)
	second, _ := h.startInstance("hotline-2", func(o *app.Options) {
		o.ARI.User, o.ARI.Password = "hotline-2", "secret-of-hotline-2"
	})
	instances := map[string]*app.App{"hotline": h.app, "hotline-2": second}
	userOf := map[string]string{"hotline": "hotline", "hotline-2": "hotline-2"}

	h.emu.SetPhone("PJSIP/1003", emulator.Phone{Registered: false})
	// 1001 answers at once: the leg's StasisStart then reaches the holder
	// before the offer naming the leg (forwarded after the originate's
	// reply), which the holder's call must hold for it.
	h.emu.SetPhone("PJSIP/1001", emulator.Phone{Registered: true})
	c := h.emu.Call(emulator.Caller{Number: "79001717171", Script: choose("2", "3")})
	q := queue.New(h.rdb, h.cfg.Centre.ID, time.Minute)
	waiting := func() bool {
		p, err := q.Position(context.Background(), c.ID())
		return err == nil && p.State == queue.StateWaiting && p.Pos == 1
	}
	h.eventually("caller queued", waiting)
	holder := c.App()
	var other string
	for name := range instances {
		if name != holder {
			other = name
		}
	}

	// 1003's phone is not registered: the other instance's originate is
	// refused, it takes 1003 offline, and the caller waits on.
	if code, body := h.apiOn(instances[other], "POST", "/api/v1/agents/1003/login", ""); code != 200 {
		t.Fatalf("login of 1003 on %s: %d %s", other, code, body)
	}
	h.eventually("1003 offline: its phone is not registered", func() bool { return h.state("1003") == agents.Offline })
	if users, apps := originates(h.emu, c.ID()); len(users) != 1 || users[0] != userOf[other] || apps[0] != holder {
		t.Fatalf("operator legs dialled for %s's caller: by %v into %v; want one by %s into %s", holder, users, apps, other, holder)
	}
	if !waiting() {
		t.Fatal("the caller is no longer first in the queue after the refused originate")
	}

	// 1001 logs in on the other instance: it rings 1001 into the holder's
	// application, and the holder bridges them.
	if code, body := h.apiOn(instances[other], "POST", "/api/v1/agents/1001/login", ""); code != 200 {
		t.Fatalf("login of 1001 on %s: %d %s", other, code, body)
	}
	h.waitClosed(c.Bridged(), "caller bridged with 1001")
	if peerOf(c) == "" || !strings.HasPrefix(peerOf(c), c.ID()+"-op-") {
		t.Fatalf("caller bridged with %q, want its operator leg", peerOf(c))
	}
	users, apps := originates(h.emu, c.ID())
	if len(users) != 2 || users[1] != userOf[other] || apps[1] != holder {
		t.Fatalf("operator legs dialled for %s's caller: by %v into %v; want the second by %s into %s", holder, users, apps, other, holder)
	}
	if !restBy(h.emu, userOf[holder], "/ari/bridges") || restBy(h.emu, userOf[other], "/ari/bridges") {
		t.Fatalf("bridges made by %s: %v, by %s: %v; want by the holder %s only", holder, restBy(h.emu, userOf[holder], "/ari/bridges"),
			other, restBy(h.emu, userOf[other], "/ari/bridges"), holder)
	}
	h.eventually("1001 on the call", func() bool { return h.state("1001") == agents.OnCall })
	c.Hangup()
	r := h.record(c.ID())
	if r.Outcome != "answered" || r.Agent != "1001" {
		t.Fatalf("record %+v: want answered by 1001", r)
	}
	h.eventually("1001 in wrap-up", func() bool { return h.state("1001") == agents.WrapUp })
}
