package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/records"
)

// Asterisk restarts under load: every channel vanishes with no event and
// the WebSocket closes. hotline reconnects, sees the new startup time,
// records every vanished call (dropped by the PBX; the ones that waited
// in a queue or talked to an operator are owed a callback), frees their
// operators and serves the callers who call next; nothing is left stuck
// in Redis.
func TestAsteriskRestartUnderLoad(t *testing.T) {
	r := newRigWith(t, rigOptions{instances: []string{"hotline"}})
	tr := r.traffic
	const within = 10 * time.Second
	talking := tr.place(kindScripted, topicSocial)
	r.eventually("a conversation up", within, func() bool { return talking.h.State() == "bridged" })
	waiting := tr.place(kindScripted, topicElderly) // unstaffed: waits
	r.eventually("a caller waiting", within, func() bool { return heard(waiting.h, "/position_") })
	tr.startStream(streamEvery)
	run(trafficSpan)

	r.emu.Restart()
	restartedAt := time.Now()
	t.Log("Asterisk restarted")
	r.eventually("hotline reconnected to the new Asterisk", within, func() bool { return r.emu.Connected("hotline") })
	t.Logf("hotline back %v after the restart", time.Since(restartedAt).Round(time.Millisecond))
	run(trafficSpan)

	// Calls placed after hotline reconnected are served as usual.
	served := tr.place(kindTalker, topicSocial)
	r.eventually("a caller after the restart talking to an operator", within, func() bool { return !served.bridgedFirstAt().IsZero() })
	r.checkSettled()

	// Every vanished call is recorded as dropped by the PBX; those who
	// held a place or talked are owed a callback.
	ctx := context.Background()
	recs, err := r.stream.Range(ctx, "-", "+", 100000)
	if err != nil {
		t.Fatal(err)
	}
	byCall := map[string]records.Record{}
	for _, rec := range recs {
		byCall[rec.CallID] = rec
	}
	cbs, err := r.cbs.List(ctx, callbacks.Filter{Status: allStatuses}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	owed := map[string]bool{}
	for _, cb := range cbs {
		owed[cb.Number] = true
	}
	vanished := 0
	for _, c := range tr.citizens() {
		if c.h.EndedBy() != "restart" || c.h.App() == "" {
			continue // not cut, or cut before any instance claimed it
		}
		vanished++
		rec, ok := byCall[c.h.ID()]
		if !ok {
			t.Errorf("vanished call %s has no record", c)
			continue
		}
		waitingAt, bridged, _ := c.snapshot()
		if (bridged || !waitingAt.IsZero()) && rec.EndedBy != "pbx" {
			t.Errorf("vanished call %s recorded as %s by %q, want ended by the pbx", c, rec.Outcome, rec.EndedBy)
		}
		if c.number != "" && (bridged || !waitingAt.IsZero()) && !owed["+"+c.number] {
			t.Errorf("vanished call %s (waited or talked) is owed no callback; record %s by %s", c, rec.Outcome, rec.EndedBy)
		}
	}
	if vanished < 2 {
		t.Fatalf("only %d calls vanished in the restart; the test needs the conversation and the waiting caller at least", vanished)
	}
	t.Logf("%d calls vanished in the restart, each recorded", vanished)
}
