package cardboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/cardboard"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/router"
)

// One instance's card reaches every instance's watcher and reader; a clear
// for a call that is no longer the operator's card leaves the newer card
// alone; the application holding the last conversation is read back.
func TestCardsAcrossInstances(t *testing.T) {
	rdb := redistest.Start(t)
	cardsAcross(t, rdb, redistest.Client(t, rdb.Options().Addr), redistest.Prefix(t))
}

// The same on a Redis Cluster: the scripts' keys and the sharded channel
// are all in the centre's slot.
func TestCardsOnCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	a := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	b := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	cardsAcross(t, a, b, "astana")
}

func cardsAcross(t *testing.T, rdbA, rdbB redis.UniversalClient, centre string) {
	a := cardboard.New(rdbA, centre, nil)
	b := cardboard.New(rdbB, centre, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	seen := make(chan string, 10)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Watch(wctx, func(agent string) { seen <- agent })
	}()
	defer func() { stop(); <-done }()

	// The subscription is up once a change is seen: show until one is.
	c1 := router.Card{CallID: "c1", AgentID: "1001", State: router.CardTalking, Number: "+77010000001", Topic: "covid"}
	for got := false; !got; {
		if err := a.ShowCard(ctx, "hotline", c1); err != nil {
			t.Fatal(err)
		}
		select {
		case agent := <-seen:
			if agent != "1001" {
				t.Fatalf("told of %q, want 1001", agent)
			}
			got = true
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("never told of the card")
		}
	}
	e, ok, err := b.Card(ctx, "1001")
	if err != nil || !ok || e.App != "hotline" || e.Card.CallID != "c1" || e.Card.Number != c1.Number || e.Card.State != router.CardTalking {
		t.Fatalf("card read by the other instance: %+v %v %v", e, ok, err)
	}

	// The operator's next call, shown by the other instance before the
	// first one's clear arrives: the late clear leaves it.
	c2 := router.Card{CallID: "c2", AgentID: "1001", State: router.CardRinging}
	if err := b.ShowCard(ctx, "hotline-2", c2); err != nil {
		t.Fatal(err)
	}
	if err := a.NoteLastCall(ctx, "1001", "hotline"); err != nil {
		t.Fatal(err)
	}
	if err := a.ClearCard(ctx, "1001", "c1"); err != nil {
		t.Fatal(err)
	}
	if e, ok, _ := a.Card(ctx, "1001"); !ok || e.Card.CallID != "c2" || e.App != "hotline-2" {
		t.Fatalf("a late clear of c1 took c2's card: %+v %v", e, ok)
	}
	if app, err := b.LastApp(ctx, "1001"); err != nil || app != "hotline" {
		t.Fatalf("last conversation on %q, %v; want hotline", app, err)
	}
	held, err := a.AppCards(ctx, "hotline-2")
	if err != nil || len(held) != 1 || held["1001"] != "c2" {
		t.Fatalf("hotline-2's cards: %v %v", held, err)
	}
	if held, _ := a.AppCards(ctx, "hotline"); len(held) != 0 {
		t.Fatalf("hotline still has cards: %v", held)
	}

	// Its own clear takes it away; the last conversation stays where it
	// was (c2 only rang).
	if err := b.ClearCard(ctx, "1001", "c2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Card(ctx, "1001"); ok {
		t.Fatal("the card stayed after its call's clear")
	}
	if app, _ := b.LastApp(ctx, "1001"); app != "hotline" {
		t.Fatalf("last conversation moved to %q by a call that only rang", app)
	}
	if app, err := b.LastApp(ctx, "1002"); err != nil || app != "" {
		t.Fatalf("an operator with no call: %q %v", app, err)
	}
}

// Monitors: each instance's are listed for all, with their application,
// and dropped by id.
func TestMonitorsAcrossInstances(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	a := cardboard.New(rdb, centre, nil)
	ctx := context.Background()
	m1 := router.MonitorInfo{ID: "mon-1", Agent: "1001", Mode: router.MonitorListen, Supervisor: "PJSIP/1901", CallID: "c1"}
	m2 := router.MonitorInfo{ID: "mon-2", Agent: "1003", Mode: router.MonitorWhisper, Supervisor: "PJSIP/1902", CallID: "c2"}
	if err := a.PutMonitor(ctx, "hotline", m1); err != nil {
		t.Fatal(err)
	}
	if err := a.PutMonitor(ctx, "hotline-2", m2); err != nil {
		t.Fatal(err)
	}
	m1.Answered = true
	if err := a.PutMonitor(ctx, "hotline", m1); err != nil {
		t.Fatal(err)
	}
	all, err := a.Monitors(ctx)
	if err != nil || len(all) != 2 || all["mon-1"].App != "hotline" || !all["mon-1"].Monitor.Answered || all["mon-2"].App != "hotline-2" || all["mon-2"].Monitor.Supervisor != "PJSIP/1902" {
		t.Fatalf("monitors: %+v %v", all, err)
	}
	if ids, err := a.AppMonitors(ctx, "hotline-2"); err != nil || len(ids) != 1 || ids[0] != "mon-2" {
		t.Fatalf("hotline-2's monitors: %v %v", ids, err)
	}
	if err := a.DropMonitor(ctx, "mon-1"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := a.AppMonitors(ctx, "hotline"); len(ids) != 0 {
		t.Fatalf("hotline's monitors after the drop: %v", ids)
	}
}
