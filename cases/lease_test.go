package cases

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// A holder that crashed mid-delivery keeps its case only until its lease
// ends; then another instance delivers it. The crashed holder's late
// outcome cannot undo the live one's: a late failure changes nothing, a
// late 2xx marks it delivered (the receiver has it) and the live holder's
// failure after that changes nothing either.
func TestCrashedHolderLeaseExpires(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	svc := config.Service{ID: "gp", Name: "GP", Cases: []string{config.CaseHomeVisit}, Webhook: srv.URL}
	s := New(rdb, redistest.Prefix(t), Options{Services: func(id string) (config.Service, bool) { return svc, id == "gp" }})
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	now := t0
	fw := NewForwarder(s, ForwarderOptions{Webhooks: func(string) (string, bool) { return srv.URL, true },
		Now: func() time.Time { return now }, Instance: "live", Timeout: time.Second, Lease: time.Minute})

	c, err := s.Open(ctx, Case{Kind: KindHomeVisit, CallID: "c1", Agent: "a1", Address: "x", Symptoms: "y", Service: "gp"}, now)
	if err != nil {
		t.Fatal(err)
	}
	// The dead instance claims it and is never heard of again.
	v, err := s.run(ctx, claimScript, now.UnixMilli(), time.Minute.Milliseconds(), 10, "dead")
	if err != nil || len(v) != 1 {
		t.Fatalf("dead claim: %v %v", v, err)
	}
	deadClaim := str(list(v[0])[1])
	if n, err := fw.Round(ctx); err != nil || n != 0 {
		t.Fatalf("a round within the dead holder's lease claimed %d (%v)", n, err)
	}
	now = t0.Add(time.Minute)
	if n, err := fw.Round(ctx); err != nil || n != 1 || hits.Load() != 1 {
		t.Fatalf("after the lease: claimed %d (%v), receiver hit %d times", n, err, hits.Load())
	}
	got, _ := s.Get(ctx, c.Number)
	if got.Status != StatusForwarded {
		t.Fatalf("after the live delivery: %+v", got)
	}
	// The dead holder wakes with a failure: ignored.
	if v, err := s.run(ctx, failedScript, now.UnixMilli(), c.Number, deadClaim, "late", 1000, 300000); err != nil || num(v[0]) != 0 {
		t.Fatalf("late failure: %v %v, want 0 (already delivered)", v, err)
	}

	// Another case: the live holder claims after the dead one's lease; the
	// dead one's late success wins, the live one's failure is ignored.
	c2, _ := s.Open(ctx, Case{Kind: KindHomeVisit, CallID: "c2", Agent: "a1", Address: "x", Symptoms: "y", Service: "gp"}, now)
	v, _ = s.run(ctx, claimScript, now.UnixMilli(), time.Minute.Milliseconds(), 10, "dead")
	if len(v) != 1 {
		t.Fatalf("dead claim of c2: %v", v)
	}
	now = now.Add(time.Minute)
	v, _ = s.run(ctx, claimScript, now.UnixMilli(), time.Minute.Milliseconds(), 10, "live")
	liveClaim := str(list(v[0])[1])
	if v, _ := s.run(ctx, deliveredScript, now.UnixMilli(), c2.Number); num(v[0]) != 1 {
		t.Fatalf("late success: %v", v)
	}
	if v, _ := s.run(ctx, failedScript, now.UnixMilli(), c2.Number, liveClaim, "500", 1000, 300000); num(v[0]) != 0 {
		t.Fatalf("live failure after a late success: %v", v)
	}
	got, _ = s.Get(ctx, c2.Number)
	if got.Status != StatusForwarded || got.Pending() {
		t.Fatalf("c2: %+v", got)
	}
	if n, _ := s.Outbox(ctx); n != 0 {
		t.Fatalf("outbox %d", n)
	}
	// A stale claim (not the live one) cannot reschedule.
	c3, _ := s.Open(ctx, Case{Kind: KindHomeVisit, CallID: "c3", Agent: "a1", Address: "x", Symptoms: "y", Service: "gp"}, now)
	v, _ = s.run(ctx, claimScript, now.UnixMilli(), time.Minute.Milliseconds(), 10, "dead")
	stale := str(list(v[0])[1])
	now = now.Add(time.Minute)
	_, _ = s.run(ctx, claimScript, now.UnixMilli(), time.Minute.Milliseconds(), 10, "live")
	if v, _ := s.run(ctx, failedScript, now.UnixMilli(), c3.Number, stale, "late", 1000, 300000); num(v[0]) != -2 {
		t.Fatalf("stale claim's failure: %v, want -2", v)
	}
}
