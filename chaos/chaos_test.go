package chaos

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

const (
	// streamEvery: ten citizens a second, more than three operators
	// serve, so queues form and callers wait, abandon and are offered.
	streamEvery = 100 * time.Millisecond
	// trafficSpan is how long traffic runs before and after a fault.
	trafficSpan = 2 * time.Second
)

// run lets traffic flow for d (a span of traffic, not a wait for a
// condition).
func run(d time.Duration) { time.Sleep(d) }

// The control: the same traffic with no fault. What fails here is not
// caused by a fault, and shows as such in the fault tests too.
func TestNoFaultControl(t *testing.T) {
	r := newRig(t, nil)
	r.traffic.startStream(streamEvery)
	run(2 * trafficSpan)
	r.checkSettled()
}

// Redis is SIGKILLed mid-traffic, stays down 1.5 s, and comes back on the
// same port from its append-only file.
func TestRedisKillRestartAOF(t *testing.T) {
	r := newRig(t, nil)
	r.traffic.startStream(streamEvery)
	run(trafficSpan)
	r.redis.Kill()
	t.Log("redis-server SIGKILLed")
	run(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.redis.Restart(ctx); err != nil {
		t.Fatalf("redis restart: %v", err)
	}
	// The append-only file brought the centre back: the operators logged
	// in before the crash are still registered and logged in.
	ags, err := r.agents.List(ctx)
	if err != nil || len(ags) != len(r.cfg.Operators) {
		t.Fatalf("after the AOF restart: %d operators, %v; want the %d registered before", len(ags), err, len(r.cfg.Operators))
	}
	for _, a := range ags {
		if slices.Contains(loggedIn, a.ID) && a.State == agents.Offline {
			t.Fatalf("operator %s offline after the AOF restart: the file lost their login", a.ID)
		}
	}
	t.Log("redis-server restarted from its AOF")
	run(trafficSpan)
	r.checkSettled()
}

// The Redis master is SIGKILLed mid-traffic on a replicated Redis
// watched by three sentinels; hotline connects through the sentinels and
// its writes wait for the replica (wait_replicas=1). The sentinels promote
// the replica (about 2.5 s: one second to call the master down, then the
// election), hotline follows, and every invariant holds: what hotline
// wrote before the fault survived it, and callers who arrived while no
// master answered were held or sent to the PBX's fallback, not cut off.
func TestRedisSentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	r := newRigOn(t, nil, s)
	r.traffic.startStream(streamEvery)
	run(trafficSpan)
	s.KillMaster()
	killed := time.Now()
	t.Log("redis master SIGKILLed")
	r.eventually("a promoted master", 20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m, err := s.CurrentMaster(ctx)
		return err == nil && m != s.Master()
	})
	r.eventually("hotline writing to the new master", 20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return r.rdb.Set(ctx, rkeys.Prefix(r.centre)+"probe", "1", time.Minute).Err() == nil
	})
	t.Logf("failover done %v after the kill", time.Since(killed).Round(time.Millisecond))
	run(trafficSpan)
	r.checkSettled()
	refused := 0
	for _, c := range r.traffic.citizens() {
		if c.h.Rejected() {
			refused++
		}
	}
	t.Logf("%d of %d callers refused by the PBX during the failover", refused, len(r.traffic.citizens()))
}

// Redis is stopped with SIGSTOP for 8 s mid-traffic (hotline's commands
// time out against a server that holds their connections), then resumed.
func TestRedisStall8s(t *testing.T) {
	r := newRig(t, nil)
	r.traffic.startStream(streamEvery)
	run(trafficSpan)
	if err := r.redis.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Log("redis-server SIGSTOPped")
	run(8 * time.Second)
	if err := r.redis.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Log("redis-server SIGCONTed")
	run(trafficSpan)
	r.checkSettled()
}

// The ARI event WebSocket drops twice mid-traffic: once reconnecting at
// once, once kept down for a second while calls go on (their events are
// lost; new callers are refused as Asterisk refuses an absent app).
func TestARIWebSocketDrop(t *testing.T) {
	r := newRig(t, nil)
	r.traffic.startStream(streamEvery)
	run(trafficSpan / 2)
	r.emu.DropWebSocket()
	t.Log("WebSocket dropped")
	r.eventually("hotline reconnected", 10*time.Second, func() bool { return r.emu.Connected() })
	run(trafficSpan / 2)
	r.emu.RefuseWebSockets(true)
	r.emu.DropWebSocket()
	t.Log("WebSocket dropped and refused for 1 s")
	run(time.Second)
	r.emu.RefuseWebSockets(false)
	r.eventually("hotline reconnected", 10*time.Second, func() bool { return r.emu.Connected() })
	t.Log("WebSocket back")
	run(trafficSpan)
	r.checkSettled()
}

// hotline is SIGKILLed with the PBX alive and a caller in every phase: in
// the menu, waiting, being offered (the operator's phone ringing),
// talking, keying a callback number; one more waiting caller hangs up
// while hotline is down. A new hotline is started; the callers still up
// must be adopted and served, and traffic flows again.
func TestRouterKillEveryPhase(t *testing.T) {
	const slowPhone = "PJSIP/1003" // rings 1.5 s: long enough to be killed mid-offer
	r := newRig(t, func(ep string) emulator.Phone {
		if ep == slowPhone {
			return emulator.Phone{Registered: true, AnswerAfter: 1500 * time.Millisecond}
		}
		return emulator.Phone{Registered: true, AnswerAfter: 50 * time.Millisecond}
	})
	tr := r.traffic
	const within = 10 * time.Second
	talking := tr.place(kindScripted, topicSocial) // 1002
	r.eventually("the first caller talking", within, func() bool { return talking.h.State() == "bridged" })
	waiting := tr.place(kindPatient, topicSocial) // behind the conversation
	r.eventually("a caller waiting", within, func() bool { return heard(waiting.h, "/position_") })
	down := tr.place(kindScripted, topicElderly) // unstaffed: waits until it hangs up
	r.eventually("a caller waiting in the unstaffed topic", within, func() bool { return heard(down.h, "/position_") })
	keying := tr.place(kindKeying, nil)
	r.eventually("the withheld caller keying its number", within, func() bool {
		return strings.HasSuffix(strings.Join(keying.h.DigitsSent(), ""), "187") && heard(keying.h, "/enter_number")
	})
	inMenu := tr.place(kindSilent, nil)
	r.eventually("a caller in the menu", within, func() bool { return heard(inMenu.h, "/choose_language") })
	offered := tr.place(kindPatient, topicSymptom) // 1003 only
	r.eventually("1003's phone ringing for a caller", within, func() bool {
		a, err := r.agents.Get(context.Background(), "1003")
		if err != nil || a.State != agents.Reserved || a.CallID != offered.h.ID() {
			return false
		}
		for _, ch := range r.emu.Channels() {
			if owner, ok := legOwner(ch); ok && owner == offered.h.ID() && ch.State == "Ringing" {
				return true
			}
		}
		return false
	})
	// Every phase at once, as the kill finds them.
	phases := map[string]bool{
		"talking":       talking.h.State() == "bridged",
		"waiting":       waiting.h.State() == "up" && waiting.h.OnMOH(),
		"keying":        keying.h.State() == "up" && strings.HasSuffix(strings.Join(keying.h.DigitsSent(), ""), "87"),
		"menu":          inMenu.h.State() == "up" && !heard(inMenu.h, "/position_") && !inMenu.h.OnMOH(),
		"being offered": offered.h.State() == "up",
		"down-hanger":   down.h.State() == "up",
	}
	for p, ok := range phases {
		if !ok {
			t.Fatalf("no caller %s at the kill: talking %s, waiting %s, keying %s, menu %s (played %v), offered %s",
				p, talking.h.State(), waiting.h.State(), keying.h.State(), inMenu.h.State(), inMenu.h.Played(), offered.h.State())
		}
	}
	r.killHotline(r.hotlines[0])
	killedAt := time.Now()
	t.Logf("hotline SIGKILLed with callers talking %s, waiting %s, offered %s, keying %s, in the menu %s",
		talking.h.ID(), waiting.h.ID(), offered.h.ID(), keying.h.ID(), inMenu.h.ID())

	// It hangs up while no hotline watches, having waited well past the
	// minimum: it is owed a callback.
	r.eventually("the caller in the unstaffed topic waiting past the minimum", within, func() bool {
		at, _, _ := down.snapshot()
		return time.Since(at) > 3*minAbandonWait
	})
	down.h.Hangup()
	r.eventually("the caller hung up while hotline is down", within, func() bool { return !down.snapshotEnded().IsZero() })

	r.startHotline()
	// The new hotline has adopted the callers (they are adopted oldest
	// first; the one in the menu hears the menu again, after the others).
	r.eventually("the caller in the menu adopted", within, func() bool {
		for _, c := range r.emu.RESTLog() {
			if c.Time.After(killedAt) && c.Method == "POST" && strings.HasPrefix(c.Path, "/ari/channels/"+inMenu.h.ID()+"/play") {
				return true
			}
		}
		return false
	})
	talking.h.Hangup()
	keying.h.Hangup()
	tr.startStream(streamEvery)
	run(trafficSpan)
	r.checkSettled()
}
