package records_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
)

func TestAppendAndRead(t *testing.T) {
	rdb := redistest.Start(t)
	s := records.New(rdb, redistest.Prefix(t), 10)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	want := records.Record{
		CallID: "c1", CallerNumber: "+77010000000", Arrival: t0, IVRPath: "lang>2>1",
		Language: "kk", Topic: "covid", EnqueuedAt: t0.Add(20 * time.Second),
		OfferedAt: t0.Add(30 * time.Second), AnsweredAt: t0.Add(35 * time.Second),
		EndedAt: t0.Add(5 * time.Minute), Agent: "1001", Outcome: records.OutcomeAnswered,
		HangupCause: 16, EndedBy: "caller", Offers: 1, Wait: 15 * time.Second, Callback: "cb1", Note: "a note",
	}
	if _, err := s.Append(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Latest(ctx, 5)
	if err != nil || len(got) != 1 {
		t.Fatalf("latest: %v %v", got, err)
	}
	want.ID = got[0].ID
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], want)
	}
	if got[0].OfferedAt.UnixMilli() != want.OfferedAt.UnixMilli() || !got[0].Arrival.Equal(t0) {
		t.Errorf("times differ")
	}
	if _, err := s.Append(ctx, records.Record{}); err == nil {
		t.Error("record without call id accepted")
	}
}

func TestMaxLenApproximate(t *testing.T) {
	rdb := redistest.Start(t)
	s := records.New(rdb, redistest.Prefix(t), 100)
	ctx := context.Background()
	for i := range 1000 {
		if _, err := s.Append(ctx, records.Record{CallID: fmt.Sprint("c", i), Outcome: records.OutcomeAbandoned}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Len(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// MAXLEN ~ trims whole macro nodes: at least 100 stay, far fewer than 1000.
	if n < 100 || n > 300 {
		t.Errorf("len = %d, want about 100", n)
	}
	latest, _ := s.Latest(ctx, 1)
	if latest[0].CallID != "c999" {
		t.Errorf("newest = %s", latest[0].CallID)
	}
	page, err := s.Range(ctx, "-", "+", 3)
	if err != nil || len(page) != 3 {
		t.Fatalf("range: %v %v", page, err)
	}
	next, err := s.Range(ctx, "("+page[2].ID, "+", 1)
	if err != nil || len(next) != 1 || !streamIDAfter(next[0].ID, page[2].ID) {
		t.Fatalf("paging: %v %v", next, err)
	}
}

// streamIDAfter compares stream ids "ms-seq" as numbers ("…-10" follows
// "…-9": ten appends within one millisecond).
func streamIDAfter(a, b string) bool {
	var ams, aseq, bms, bseq uint64
	if _, err := fmt.Sscanf(a, "%d-%d", &ams, &aseq); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(b, "%d-%d", &bms, &bseq); err != nil {
		return false
	}
	return ams > bms || (ams == bms && aseq > bseq)
}

// A call's own record is written once, however often it is sent (a retry
// after a timeout, a restarted router, the reconciler), and reads back
// like one written by Append.
func TestAppendOnce(t *testing.T) {
	rdb := redistest.Start(t)
	s := records.New(rdb, redistest.Prefix(t), 10)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	first := records.Record{CallID: "c1", CallerNumber: "+77010000000", Topic: "covid", EndedAt: t0,
		Outcome: records.OutcomeAnswered, Wait: 15 * time.Second, Note: "first"}
	id, written, err := s.AppendOnce(ctx, first)
	if err != nil || !written || id == "" {
		t.Fatalf("first write: %q %v %v", id, written, err)
	}
	second := first
	second.Outcome, second.Note = records.OutcomeLost, "second"
	id2, written, err := s.AppendOnce(ctx, second)
	if err != nil || written || id2 != id {
		t.Fatalf("second write of c1: id %q (first %q) written=%v err=%v, want the first's id, not written", id2, id, written, err)
	}
	if _, written, err := s.AppendOnce(ctx, records.Record{CallID: "c2", Outcome: records.OutcomeAbandoned}); err != nil || !written {
		t.Fatalf("another call's record: written=%v err=%v", written, err)
	}
	got, err := s.Latest(ctx, 5)
	if err != nil || len(got) != 2 {
		t.Fatalf("latest: %v %v", got, err)
	}
	if got[1].CallID != "c1" || got[1].Note != "first" || got[1].Wait != first.Wait || !got[1].EndedAt.Equal(t0) {
		t.Fatalf("c1's record %+v, want the first one", got[1])
	}
	if _, _, err := s.AppendOnce(ctx, records.Record{}); err == nil {
		t.Error("record without call id accepted")
	}
}
