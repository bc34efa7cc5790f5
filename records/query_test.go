package records_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
)

// t0 is a fixed instant; entry i of the fixture is written at t0 + i s.
var t0 = time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)

func queryFixture(t *testing.T) (*records.Stream, context.Context) {
	t.Helper()
	rdb := redistest.Start(t)
	s := records.New(rdb, redistest.Prefix(t), 0)
	ctx := context.Background()
	for i := range 30 {
		r := records.Record{CallID: fmt.Sprintf("c%02d", i), Topic: "covid", Outcome: records.OutcomeAnswered, Agent: "1001",
			CallerNumber: "+77010000000", Arrival: t0.Add(time.Duration(i) * time.Second)}
		switch {
		case i%3 == 1:
			r.Topic, r.Agent, r.CallerNumber = "vacc", "1002", "8 701 000 00 01"
		case i%3 == 2:
			r.Outcome, r.Agent = records.OutcomeAbandoned, ""
		}
		if i == 10 { // the callbacks' audit: not a call
			r = records.Record{CallID: "cb-K1", Callback: "K1", Outcome: "callback_scheduled", Topic: "covid"}
		}
		if i == 11 { // a callback attempt: a call
			r = records.Record{CallID: "cb-K1-ax1", Callback: "K1", Outcome: "callback_answered", Topic: "covid", Agent: "1001"}
		}
		if _, err := s.AppendAt(ctx, t0.Add(time.Duration(i)*time.Second).UnixMilli(), 0, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Annotate(ctx, "c03", records.Disposition{Code: "advice"}); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

func ids(rs []records.Record) string {
	var b []string
	for _, r := range rs {
		b = append(b, r.CallID)
	}
	return strings.Join(b, " ")
}

func TestQueryFilters(t *testing.T) {
	s, ctx := queryFixture(t)
	sec := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name string
		f    records.Filter
		want string
	}{
		{"time range: from included, to excluded", records.Filter{From: sec(3), To: sec(7)}, "c03 c04 c05 c06"},
		{"topic", records.Filter{Topic: "vacc", To: sec(14)}, "c01 c04 c07 c13"},
		{"agent; the attempt is a call, the audit is not", records.Filter{Agent: "1001", From: sec(6), To: sec(13)}, "c06 c09 cb-K1-ax1 c12"},
		{"outcome", records.Filter{Outcome: "abandoned", To: sec(9)}, "c02 c05 c08"},
		{"number in another form (8 for +7)", records.Filter{Number: "+7 701 000-00-01", To: sec(8)}, "c01 c04 c07"},
		{"audit on request", records.Filter{Audit: true, From: sec(9), To: sec(12)}, "c09 cb-K1 cb-K1-ax1"},
		{"nothing after the end", records.Filter{From: sec(30)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.Query(ctx, tc.f)
			if err != nil || ids(got) != tc.want || next != "" {
				t.Fatalf("got %q next %q err %v, want %q and no next page", ids(got), next, err, tc.want)
			}
		})
	}
	got, _, err := s.Query(ctx, records.Filter{From: sec(3), To: sec(4)})
	if err != nil || len(got) != 1 || got[0].Disposition.Code != "advice" || !got[0].Arrival.Equal(sec(3)) {
		t.Fatalf("disposition not read back: %+v %v", got, err)
	}
	for _, f := range []records.Filter{{Number: "12"}, {After: "abc"}, {After: "1-2-3"}} {
		if _, _, err := s.Query(ctx, f); !errors.Is(err, records.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", f, err)
		}
	}
}

// Pages follow the cursor to the end, each record once; a filter that
// matches little still returns within the scan bound (10 × Limit
// entries) with a cursor, possibly with an empty page.
func TestQueryPages(t *testing.T) {
	s, ctx := queryFixture(t)
	var all []string
	after, pages := "", 0
	for {
		got, next, err := s.Query(ctx, records.Filter{Limit: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, ids(got))
		if next == "" {
			break
		}
		if len(got) != 7 || next != got[len(got)-1].ID {
			t.Fatalf("page %d: %d records, next %q", pages, len(got), next)
		}
		after = next
	}
	want := make([]string, 0, 30)
	for i := range 30 {
		if i != 10 {
			want = append(want, fmt.Sprintf("c%02d", i))
		}
	}
	want[10] = "cb-K1-ax1"
	if got := strings.Join(strings.Fields(strings.Join(all, " ")), " "); got != strings.Join(want, " ") || pages != 5 {
		t.Fatalf("%d pages: %s\nwant %s", pages, got, strings.Join(want, " "))
	}

	// Limit 1, topic vacc: entries c00…c09 are scanned (10 × 1), c01 fills
	// the page at once; then from c01 on, the next match is c04.
	got, next, err := s.Query(ctx, records.Filter{Limit: 1, Topic: "vacc"})
	if err != nil || ids(got) != "c01" || next == "" {
		t.Fatalf("first page %q next %q %v", ids(got), next, err)
	}
	// Outcome "lost" matches nothing: 10 entries per call, an empty page
	// and a cursor 10 entries on, until the end.
	calls, after := 0, ""
	for {
		got, next, err := s.Query(ctx, records.Filter{Limit: 1, Outcome: "lost", After: after})
		if err != nil || len(got) != 0 {
			t.Fatalf("lost: %v %v", got, err)
		}
		calls++
		if next == "" {
			break
		}
		if calls == 1 && next != fmt.Sprintf("%d-0", t0.Add(9*time.Second).UnixMilli()) {
			t.Fatalf("the first call scanned up to %s, want the 10th entry", next)
		}
		after = next
	}
	if calls != 4 { // 10 + 10 + 10 entries, then one call finds the end
		t.Fatalf("%d calls to scan 30 entries 10 at a time", calls)
	}
}
