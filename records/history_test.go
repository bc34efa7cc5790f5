package records_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
)

// A citizen's earlier calls come back newest first under any spelling of
// their number, with the operator's disposition, note and cases (given
// during the call, before the record existed); an operator's day holds
// their calls of that day only; transfers round-trip.
func TestHistoryByNumberAndOperator(t *testing.T) {
	rdb := redistest.Start(t)
	s := records.New(rdb, redistest.Prefix(t), 1000)
	ctx := context.Background()
	day := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	if err := s.Annotate(ctx, "c2", records.Disposition{Code: "consulted", Note: "asked about PCR", Agent: "1001", At: day, Cases: []string{"K-2"}}); err != nil {
		t.Fatal(err)
	}
	xfer := []records.Transfer{{Kind: "blind", To: "volunteers", Number: "+77270002000", Agent: "1002", At: day.Add(time.Hour), Outcome: "connected"}}
	for _, r := range []records.Record{
		{CallID: "c1", CallerNumber: "87011234567", Arrival: day.Add(-24 * time.Hour), Agent: "1001", Topic: "testing", Outcome: records.OutcomeAnswered},
		{CallID: "c2", CallerNumber: "+7 701 123-45-67", Arrival: day, Agent: "1001", Topic: "testing", Outcome: records.OutcomeAnswered},
		{CallID: "c3", CallerNumber: "77019999999", Arrival: day.Add(time.Hour), Agent: "1002", Topic: "travel", Transfers: xfer},
		{CallID: "c4", CallerNumber: "", Arrival: day.Add(2 * time.Hour), Agent: "1001", Outcome: records.OutcomeAnswered},
	} {
		if _, _, err := s.AppendOnce(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Annotate(ctx, "c2", records.Disposition{Cases: []string{"K-1"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByNumber(ctx, "77011234567", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].CallID != "c2" || got[1].CallID != "c1" {
		t.Fatalf("by number: %+v, want c2 then c1", got)
	}
	d := got[0].Disposition
	if d.Code != "consulted" || d.Note != "asked about PCR" || d.Agent != "1001" || !slices.Equal(d.Cases, []string{"K-1", "K-2"}) || !d.At.Equal(day) {
		t.Errorf("c2's disposition: %+v", d)
	}
	if got[1].Disposition.Code != "" {
		t.Errorf("c1 has a disposition it was never given: %+v", got[1].Disposition)
	}
	if none, _ := s.ByNumber(ctx, "withheld", 10); len(none) != 0 {
		t.Errorf("a number with no digits found %v", none)
	}
	mine, err := s.ByAgent(ctx, "1001", day, day.Add(24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 || mine[0].CallID != "c4" || mine[1].CallID != "c2" {
		t.Errorf("1001's day: %+v, want c4 and c2 (c1 was yesterday, c3 is 1002's)", mine)
	}
	theirs, _ := s.ByAgent(ctx, "1002", day, day.Add(24*time.Hour), 100)
	if len(theirs) != 1 || len(theirs[0].Transfers) != 1 || theirs[0].Transfers[0] != xfer[0] {
		t.Errorf("1002's day: %+v, want c3 with its transfer", theirs)
	}
}

func TestNumberKey(t *testing.T) {
	for in, want := range map[string]string{
		"+7 (701) 123-45-67": "77011234567", "87011234567": "77011234567", "380441234567": "380441234567",
		"": "", "anonymous": "", "1001": "", "1234567890123456": "",
	} {
		if got := records.NumberKey(in); got != want {
			t.Errorf("NumberKey(%q) = %q, want %q", in, got, want)
		}
	}
}
