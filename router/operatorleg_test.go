package router

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx"
)

// legPBX records what a call does with its channels; anything else the
// test must not reach panics (nil interface).
type legPBX struct {
	PBX
	mu      sync.Mutex
	bridged []string
	hungUp  []string
	gone    map[string]bool // hung up already: 404
}

func (p *legPBX) CreateBridge(context.Context, string, string) error { return nil }
func (p *legPBX) AddToBridge(_ context.Context, _ string, ids ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bridged = append(p.bridged, ids...)
	return nil
}
func (p *legPBX) StopMOH(context.Context, string) error                     { return nil }
func (p *legPBX) StopPlayback(context.Context, string) error                { return nil }
func (p *legPBX) SetVariable(context.Context, string, string, string) error { return nil }
func (p *legPBX) Hangup(_ context.Context, id, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hungUp = append(p.hungUp, id)
	if p.gone[id] {
		return pbx.ErrNotFound
	}
	return nil
}

// answeredACD settles every answer and every offer not taken.
type answeredACD struct {
	ACD
	answered, missed []Offer
}

func (a *answeredACD) NoAnswer(_ context.Context, o Offer, _ time.Time) (bool, []Offer, error) {
	a.missed = append(a.missed, o)
	return false, nil, nil
}

func (a *answeredACD) Answered(_ context.Context, o Offer, _ time.Time) error {
	a.answered = append(a.answered, o)
	return nil
}

// legRouter is a router on p and acd, its clock stopped.
func legRouter(t *testing.T, p *legPBX, acd *answeredACD) *Router {
	now := time.Unix(1796350000, 0)
	return legRouterAt(t, p, acd, func() time.Time { return now })
}

// legRouterAt is legRouter on clock now.
func legRouterAt(t *testing.T, p *legPBX, acd *answeredACD, now func() time.Time) *Router {
	t.Helper()
	r, err := New(Options{PBX: p, ACD: acd, Agents: nopAgents{}, Records: nopRecorder{}, Config: &config.Config{},
		Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// queuedCall is a call of r waiting in topic t's queue.
func queuedCall(r *Router, id string) *call {
	c := newCall(r, pbx.Event{Type: pbx.StasisStart, ChannelID: id})
	c.topic = &config.Topic{ID: "testing", Name: "Testing"}
	c.m.phase, c.m.queued = phaseQueued, true
	return c
}

// The operator leg another instance rang for a waiting caller may answer
// before the offer naming it arrives: the call holds the leg's events,
// takes the leg on with the offer, and then sees the answer (settles it
// and bridges). A leg rung for the call that no offer ever named is hung
// up when the call ends.
func TestEarlyEventsOfALegRungElsewhere(t *testing.T) {
	p := &legPBX{}
	acd := &answeredACD{}
	r := legRouter(t, p, acd)
	c := queuedCall(r, "1796350000.7")
	leg, stray := c.id+legSep+"abcdef1", c.id+legSep+"abcdef2"
	r.calls[c.id] = c
	// The router hands a leg's events to the call it was rung for.
	r.route(context.Background(), pbx.Event{Type: pbx.StasisStart, ChannelID: leg, Args: []string{argOperatorLeg, c.id}})
	r.route(context.Background(), pbx.Event{Type: pbx.StasisStart, ChannelID: stray, Args: []string{argOperatorLeg, c.id}})
	got := c.inbox.take()
	if len(got) != 2 {
		t.Fatalf("the call got %d of the 2 events of its legs", len(got))
	}
	for _, m := range got {
		c.handle(m)
	}
	if c.m.phase != phaseQueued || len(acd.answered) != 0 {
		t.Fatalf("an event of a leg the call has no offer for moved it: phase %v, answered %v", c.m.phase, acd.answered)
	}
	o := Offer{CallID: c.id, AgentID: "1001", Endpoint: "PJSIP/1001", Topic: "testing", Seq: 3, LegID: leg}
	c.handle(msg{offer: &o})
	if c.legID != leg || len(acd.answered) != 1 || acd.answered[0].LegID != leg {
		t.Fatalf("after the offer: leg %q, answered %+v; want leg %s taken on and its answer settled", c.legID, acd.answered, leg)
	}
	p.mu.Lock()
	bridged := append([]string(nil), p.bridged...)
	p.mu.Unlock()
	if len(bridged) != 2 || bridged[0] != c.id && bridged[1] != c.id || bridged[0] != leg && bridged[1] != leg {
		t.Fatalf("bridged %v, want the caller and %s", bridged, leg)
	}
	c.hangupEarly()
	r.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.hungUp) != 1 || p.hungUp[0] != stray {
		t.Fatalf("hung up %v at the call's end, want only the stray leg %s", p.hungUp, stray)
	}
}

// A leg rung elsewhere that ended before this router saw any event of it
// (they went to a WebSocket then down) is not waited on for ever: at the
// ring timeout the hang-up finds it gone, and the offer is given back
// with the caller waiting on.
func TestALegGoneUnseenIsGivenBackAtTheRingTimeout(t *testing.T) {
	leg := "1796350000.8" + legSep + "abcdef3"
	p := &legPBX{gone: map[string]bool{leg: true}}
	acd := &answeredACD{}
	r := legRouter(t, p, acd)
	c := queuedCall(r, "1796350000.8")
	o := Offer{CallID: c.id, AgentID: "1001", Endpoint: "PJSIP/1001", Topic: "testing", Seq: 4, LegID: leg}
	c.handle(msg{offer: &o})
	if c.m.phase != phaseOffering {
		t.Fatalf("phase %v after the offer, want offering", c.m.phase)
	}
	c.fire(timerRing)
	if c.m.phase != phaseQueued || c.legID != "" || len(acd.missed) != 1 || acd.missed[0].LegID != leg {
		t.Fatalf("after the ring timeout: phase %v, leg %q, given back %+v; want queued again and the offer given back", c.m.phase, c.legID, acd.missed)
	}
	c.stopTimers()
}

// An offer rung elsewhere for a call that cannot take it (not waiting in
// its queue) is given back, and its leg hung up: it must not ring on.
func TestALegRungForACallNotWaitingIsHungUp(t *testing.T) {
	p := &legPBX{}
	acd := &answeredACD{}
	r := legRouter(t, p, acd)
	c := newCall(r, pbx.Event{Type: pbx.StasisStart, ChannelID: "1796350000.9"}) // still in the menu
	leg := c.id + legSep + "abcdef4"
	c.handle(msg{offer: &Offer{CallID: c.id, AgentID: "1001", Topic: "testing", Seq: 5, LegID: leg}})
	r.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.hungUp) != 1 || p.hungUp[0] != leg || len(acd.missed) != 1 || c.legID != "" {
		t.Fatalf("hung up %v, given back %+v, call's leg %q; want %s hung up and its offer given back", p.hungUp, acd.missed, c.legID, leg)
	}
}

// A leg rung for a call whose offer never comes (the instance that rang
// it died before forwarding it) is hung up earlyFor after its first
// event, so that an operator who answered it is not left in silence; a
// leg that came later is given its own earlyFor. Late events of the
// call's own legs, and of ids only starting like a leg's, are not held.
func TestAnEarlyLegNeverHandedOverIsHungUp(t *testing.T) {
	p := &legPBX{}
	clock := time.Unix(1796350000, 0)
	r := legRouterAt(t, p, &answeredACD{}, func() time.Time { return clock })
	c := queuedCall(r, "1796350000.10")
	old, late, own := c.id+legSep+"abcdef5", c.id+legSep+"abcdef6", c.id+legSep+"abcdef7"
	c.handle(msg{ev: pbx.Event{Type: pbx.StasisStart, ChannelID: old}})
	if c.earlyT == nil {
		t.Fatal("no timer armed for the held leg")
	}
	clock = clock.Add(earlyFor - time.Second)
	c.handle(msg{ev: pbx.Event{Type: pbx.StasisStart, ChannelID: late}})
	clock = clock.Add(time.Second)
	c.earlyT.Stop()
	c.expireEarly()
	r.wg.Wait()
	p.mu.Lock()
	hung := append([]string(nil), p.hungUp...)
	p.mu.Unlock()
	if len(hung) != 1 || hung[0] != old || c.early[late] == nil || c.early[old] != nil || c.earlyT == nil {
		t.Fatalf("after earlyFor: hung up %v, held %v, timer %v; want %s hung up, %s held and waited for", hung, c.early, c.earlyT != nil, old, late)
	}
	c.ownLeg(own)
	c.handle(msg{ev: pbx.Event{Type: pbx.ChannelDestroyed, ChannelID: own}})
	c.handle(msg{ev: pbx.Event{Type: pbx.ChannelDestroyed, ChannelID: late + "-consult"}})
	if c.early[own] != nil || c.early[late+"-consult"] != nil {
		t.Fatalf("held %v: a late event of the call's own leg, or of no leg, was held", c.early)
	}
	c.hangupEarly()
	r.wg.Wait()
}
