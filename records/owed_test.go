package records_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/records"
)

// A call in the outbox comes back as a record built from what Redis knew
// of it once it is old enough; writing its record (by anyone) empties it.
func TestOwedRecords(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	s := records.New(rdb, centre, 100)
	ctx := context.Background()
	t0 := time.UnixMilli(1_800_000_000_000)
	for _, id := range []string{"c1", "c2"} {
		rdb.HSet(ctx, rkeys.OwedCall(centre, id), "topic", "testing", "lang", "kk", "number", "79001112233",
			"ivr", "language:2>main:3", "arrival", rkeys.Ms(t0), "answered", rkeys.Ms(t0.Add(20*time.Second)),
			"agent", "1001", "ended", rkeys.Ms(t0.Add(time.Minute)))
		rdb.ZAdd(ctx, rkeys.Owed(centre), redisZ(t0.Add(time.Minute), id))
	}
	if got, err := s.Owed(ctx, t0, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("owed before the turns ended: %v %v", got, err)
	}
	got, err := s.Owed(ctx, t0.Add(time.Hour), 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("owed: %v %v", got, err)
	}
	if page, err := s.Owed(ctx, t0.Add(time.Hour), 1, 10); err != nil || len(page) != 1 || page[0].CallID != "c2" {
		t.Fatalf("owed from the second on: %v %v", page, err)
	}
	r := got[0]
	if r.CallID != "c1" || r.Agent != "1001" || r.Topic != "testing" || r.Outcome != records.OutcomeAnswered ||
		r.Wait != 20*time.Second || !r.EndedAt.Equal(t0.Add(time.Minute)) || r.CallerNumber != "79001112233" {
		t.Errorf("owed record %+v", r)
	}
	if _, _, err := s.AppendOnce(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Owed(ctx, t0.Add(time.Hour), 0, 10); len(got) != 1 || got[0].CallID != "c2" {
		t.Errorf("after c1's record: %v, want only c2 owed", got)
	}
	if n, _ := rdb.Exists(ctx, rkeys.OwedCall(centre, "c1")).Result(); n != 0 {
		t.Error("c1's snapshot outlived its record")
	}
}

func redisZ(at time.Time, id string) redis.Z {
	return redis.Z{Score: float64(rkeys.Ms(at)), Member: id}
}

// An arrival in the outbox comes back as an abandoned record when the
// call ended unwatched; a second Arrived changes nothing, and the call's
// own record empties it.
func TestArrivedIsOwedAsAbandoned(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	s := records.New(rdb, centre, 100)
	ctx := context.Background()
	t0 := time.UnixMilli(1_800_000_000_000)
	if err := s.Arrived(ctx, "c1", "79001112233", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Arrived(ctx, "c1", "79009999999", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Owed(ctx, t0.Add(time.Second), 0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("owed: %v %v", got, err)
	}
	r := got[0]
	if r.CallID != "c1" || r.Outcome != records.OutcomeAbandoned || r.CallerNumber != "79001112233" ||
		!r.Arrival.Equal(t0) || !r.AnsweredAt.IsZero() || r.Offers != 0 {
		t.Errorf("owed arrival %+v", r)
	}
	if _, _, err := s.AppendOnce(ctx, records.Record{CallID: "c1", Outcome: records.OutcomeAnswered, EndedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Owed(ctx, t0.Add(time.Hour), 0, 10); len(got) != 0 {
		t.Errorf("after c1's record: %v owed", got)
	}
}
