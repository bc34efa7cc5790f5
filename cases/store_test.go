package cases_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

func TestOpenAndGet(t *testing.T) {
	f := newFixture(t)
	f.dir.setWebhook("health_dept", "http://127.0.0.1:1/hook")

	c := f.open(complaint("a1", "call-1"))
	if c.Number != "K-20261202-0001" {
		t.Fatalf("number %q, want K-20261202-0001 (the date of now in the centre's zone, then the counter)", c.Number)
	}
	want := complaint("a1", "call-1")
	want.Number, want.Status, want.Organisation = c.Number, cases.StatusRegistered, "City Hospital No. 1"
	want.OpenedAt, want.NextTry = t0, t0
	got := f.get(c.Number)
	got.OpenedAt, got.NextTry = got.OpenedAt.In(almaty), got.NextTry.In(almaty)
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if !got.Pending() {
		t.Fatal("a case for a service with a webhook is not pending delivery")
	}

	// A home visit to a service without a webhook: stored, not queued.
	h := f.open(homeVisit("a1", "call-1"))
	if h.Number != "K-20261202-0002" || h.Status != cases.StatusRegistered || !h.NextTry.IsZero() || h.Pending() {
		t.Fatalf("home visit: %+v", h)
	}
	if h.Address != "Abay Ave 10, flat 5" || h.Symptoms != "fever 39, cough" || h.PreferredTime != "tomorrow morning" {
		t.Fatalf("home visit fields: %+v", h)
	}
	// A complaint naming a free-text organisation and going nowhere.
	free := complaint("a2", "call-2")
	free.OrgService, free.Organisation, free.Service = "", "  Private clinic Zdorovie  ", ""
	fc := f.open(free)
	if fc.Organisation != "Private clinic Zdorovie" || fc.Service != "" || fc.Pending() {
		t.Fatalf("free-text complaint: %+v", fc)
	}
	if n, err := f.s.Outbox(f.ctx); err != nil || n != 1 {
		t.Fatalf("outbox holds %d (%v), want 1: only the case whose service has a webhook", n, err)
	}

	byCall, err := f.s.ListByCall(f.ctx, "call-1")
	if err != nil || !slices.Equal(numbers(byCall), []string{c.Number, h.Number}) {
		t.Fatalf("ListByCall: %v %v", numbers(byCall), err)
	}
	all, err := f.s.List(f.ctx, time.Time{}, time.Time{}, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("List: %v %v", numbers(all), err)
	}
	if _, err := f.s.Get(f.ctx, "K-20261202-9999"); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("Get of an unknown number: %v", err)
	}
	if _, err := f.s.Get(f.ctx, "}{ junk"); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("Get of junk: %v", err)
	}
}

// The desktop retries a form it got no answer for: one case, and the
// retry learns its number.
func TestOpenIdempotentOnRetry(t *testing.T) {
	f := newFixture(t)
	c := complaint("a1", "call-1")
	c.RequestID = "form-7f3a"
	first := f.open(c)
	again := f.open(c)
	if again.Number != first.Number {
		t.Fatalf("retry opened %s, want the first case %s", again.Number, first.Number)
	}
	// Many retries at once still make one case.
	c.RequestID = "form-burst"
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			out, err := f.s.Open(f.ctx, c, t0)
			if err != nil {
				t.Error(err)
			}
			got[i] = out.Number
		})
	}
	wg.Wait()
	for _, n := range got {
		if n != got[0] {
			t.Fatalf("concurrent retries opened %v", got)
		}
	}
	// Without a request id, the same operation id is the same case.
	c.RequestID = ""
	ctx := rkeys.WithOp(f.ctx, "open-op-1")
	x, err := f.s.Open(ctx, c, t0)
	if err != nil {
		t.Fatal(err)
	}
	y, err := f.s.Open(ctx, c, t0)
	if err != nil || y.Number != x.Number {
		t.Fatalf("same op id: %s then %s (%v)", x.Number, y.Number, err)
	}
	// A new form is a new case.
	c.RequestID = "form-other"
	z := f.open(c)
	all, _ := f.s.List(f.ctx, time.Time{}, time.Time{}, 0)
	if len(all) != 4 || z.Number == first.Number {
		t.Fatalf("cases %v, want 4 (first, burst, op, other)", numbers(all))
	}
	if n, _ := f.s.Outbox(f.ctx); n != 0 {
		t.Fatalf("outbox %d: health_dept has no webhook here", n)
	}
}

func TestListByAgent(t *testing.T) {
	f := newFixture(t)
	day1 := t0
	a1d1 := f.open(complaint("a1", "c1"))
	f.open(homeVisit("a2", "c2"))
	a1d1b := f.open(homeVisit("a1", "c3"))
	f.clock.Add(24 * time.Hour)
	a1d2 := f.open(complaint("a1", "c4"))
	a2d2 := f.open(complaint("a2", "c5"))

	start := time.Date(day1.Year(), day1.Month(), day1.Day(), 0, 0, 0, 0, almaty)
	got, err := f.s.ListByAgent(f.ctx, "a1", start, start.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(numbers(got), []string{a1d1.Number, a1d1b.Number}) {
		t.Fatalf("a1's cases of day 1: %v", numbers(got))
	}
	for _, c := range got {
		if c.Agent != "a1" {
			t.Fatalf("another operator's case %s (%s)", c.Number, c.Agent)
		}
	}
	got, _ = f.s.ListByAgent(f.ctx, "a1", time.Time{}, time.Time{})
	if !slices.Equal(numbers(got), []string{a1d1.Number, a1d1b.Number, a1d2.Number}) {
		t.Fatalf("all of a1's cases: %v", numbers(got))
	}
	if got, _ := f.s.ListByAgent(f.ctx, "a3", time.Time{}, time.Time{}); len(got) != 0 {
		t.Fatalf("a3 opened none: %v", numbers(got))
	}
	if _, err := f.s.SetStatus(f.ctx, a1d1.Number, cases.StatusClosed, "a1", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	open, _ := f.s.OpenByAgent(f.ctx, "a1")
	if !slices.Equal(numbers(open), []string{a1d1b.Number, a1d2.Number}) {
		t.Fatalf("a1's open cases: %v", numbers(open))
	}
	// The supervisors' list by time, capped.
	all, _ := f.s.List(f.ctx, start, start.AddDate(0, 0, 1), 0)
	if len(all) != 3 {
		t.Fatalf("day 1: %v", numbers(all))
	}
	if two, _ := f.s.List(f.ctx, time.Time{}, time.Time{}, 2); len(two) != 2 {
		t.Fatalf("List n=2: %v", numbers(two))
	}
	// The admins' export: every case of the period, of every operator.
	if got, err := f.s.All(f.ctx, start.AddDate(0, 0, 1), time.Time{}); err != nil || !slices.Equal(numbers(got), []string{a1d2.Number, a2d2.Number}) {
		t.Fatalf("All from day 2: %v %v", numbers(got), err)
	}
	if got, _ := f.s.All(f.ctx, time.Time{}, time.Time{}); len(got) != 5 {
		t.Fatalf("All: %v", numbers(got))
	}
}

func TestSetStatus(t *testing.T) {
	f := newFixture(t)
	c := f.open(homeVisit("a1", "c1"))
	for _, tc := range []struct {
		to   cases.Status
		want error
	}{
		{cases.StatusForwarded, cases.ErrBadTransition}, // only a delivery forwards
		{cases.StatusRegistered, nil},                   // already: nothing changes
		{"reopened", cases.ErrBadTransition},
		{cases.StatusClosed, nil},
		{cases.StatusClosed, nil}, // a retried close
		{cases.StatusRegistered, cases.ErrBadTransition},
		{cases.StatusForwarded, cases.ErrBadTransition},
	} {
		_, err := f.s.SetStatus(f.ctx, c.Number, tc.to, "sup1", t0.Add(time.Minute))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Fatalf("-> %s: %v, want %v", tc.to, err, tc.want)
		}
	}
	got := f.get(c.Number)
	if got.Status != cases.StatusClosed || !got.ClosedAt.Equal(t0.Add(time.Minute)) || got.ClosedBy != "sup1" {
		t.Fatalf("closed case: %+v", got)
	}
	if _, err := f.s.SetStatus(f.ctx, "K-20261202-0404", cases.StatusClosed, "sup1", t0); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}
	if _, err := f.s.SetStatus(f.ctx, c.Number, cases.StatusClosed, "", t0); !errors.Is(err, cases.ErrInvalid) {
		t.Fatalf("nobody closing: %v", err)
	}
}

// Every field is checked, and no input, however malformed or huge, panics
// or reaches Redis: each gives ErrInvalid naming the field.
func TestOpenValidation(t *testing.T) {
	f := newFixture(t)
	huge := string(make([]byte, 1<<20))
	long := func(n int) string { return fmt.Sprintf("%0*d", n, 0) }
	type mod func(*cases.Case)
	for _, tc := range []struct {
		name  string
		base  func(a, c string) cases.Case
		mod   mod
		field string
	}{
		{"no kind", complaint, func(c *cases.Case) { c.Kind = "" }, "kind"},
		{"unknown kind", complaint, func(c *cases.Case) { c.Kind = "praise" }, "kind"},
		{"no agent", complaint, func(c *cases.Case) { c.Agent = "" }, "agent"},
		{"agent with a brace", complaint, func(c *cases.Case) { c.Agent = "a{1}" }, "agent"},
		{"no call", complaint, func(c *cases.Case) { c.CallID = "" }, "call_id"},
		{"call id with space", complaint, func(c *cases.Case) { c.CallID = "call 1" }, "call_id"},
		{"huge call id", complaint, func(c *cases.Case) { c.CallID = long(5000) }, "call_id"},
		{"bad request id", complaint, func(c *cases.Case) { c.RequestID = "r}" }, "request_id"},
		{"bad topic", complaint, func(c *cases.Case) { c.Topic = "a:b" }, "topic"},
		{"bad language", complaint, func(c *cases.Case) { c.Language = "r u" }, "language"},
		{"long citizen number", complaint, func(c *cases.Case) { c.CitizenNumber = long(40) }, "citizen_number"},
		{"citizen number with newline", complaint, func(c *cases.Case) { c.CitizenNumber = "+7701\n" + "1" }, "citizen_number"},
		{"unknown service", complaint, func(c *cases.Case) { c.Service = "nowhere" }, "service"},
		{"service not taking complaints", complaint, func(c *cases.Case) { c.Service = "polyclinic_5" }, "service"},
		{"no organisation", complaint, func(c *cases.Case) { c.OrgService, c.Organisation = "", "   " }, "organisation"},
		{"unknown org service", complaint, func(c *cases.Case) { c.OrgService = "nowhere" }, "org_service"},
		{"long organisation", complaint, func(c *cases.Case) { c.Organisation = long(301) }, "organisation"},
		{"organisation over two lines", complaint, func(c *cases.Case) { c.Organisation = "a\nb" }, "organisation"},
		{"no category", complaint, func(c *cases.Case) { c.Category = "" }, "category"},
		{"unknown category", complaint, func(c *cases.Case) { c.Category = "medicines" }, "category"},
		{"no text", complaint, func(c *cases.Case) { c.Text = "" }, "text"},
		{"blank text", complaint, func(c *cases.Case) { c.Text = " \n\t " }, "text"},
		{"text of 4001 runes", complaint, func(c *cases.Case) { c.Text = string(make([]rune, 4001)) }, "text"},
		{"text over 4000 in Cyrillic", complaint, func(c *cases.Case) { c.Text = repeat("ж", 4001) }, "text"},
		{"huge text", complaint, func(c *cases.Case) { c.Text = huge }, "text"},
		{"text with NUL", complaint, func(c *cases.Case) { c.Text = "bad\x00text" }, "text"},
		{"text not UTF-8", complaint, func(c *cases.Case) { c.Text = "bad \xff\xfe text" }, "text"},
		{"complaint with an address", complaint, func(c *cases.Case) { c.Address = "x" }, "address"},
		{"no address", homeVisit, func(c *cases.Case) { c.Address = "" }, "address"},
		{"long address", homeVisit, func(c *cases.Case) { c.Address = long(501) }, "address"},
		{"no symptoms", homeVisit, func(c *cases.Case) { c.Symptoms = "" }, "symptoms"},
		{"long symptoms", homeVisit, func(c *cases.Case) { c.Symptoms = repeat("я", 2001) }, "symptoms"},
		{"symptoms with escape", homeVisit, func(c *cases.Case) { c.Symptoms = "fever \x1b[31m" }, "symptoms"},
		{"long preferred time", homeVisit, func(c *cases.Case) { c.PreferredTime = long(201) }, "preferred_time"},
		{"home visit with a category", homeVisit, func(c *cases.Case) { c.Category = "other" }, "category"},
		{"home visit with text", homeVisit, func(c *cases.Case) { c.Text = "x" }, "text"},
		{"service not taking home visits", homeVisit, func(c *cases.Case) { c.Service = "health_dept" }, "service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base("a1", "call-1")
			tc.mod(&c)
			_, err := f.s.Open(f.ctx, c, t0)
			var fe *cases.FieldError
			if !errors.Is(err, cases.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err %v, want ErrInvalid naming %s", err, tc.field)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
		})
	}
	// The limits themselves are accepted.
	c := complaint("a1", "call-1")
	c.Text, c.Organisation = repeat("ж", cases.MaxText), repeat("о", cases.MaxOrganisation)
	f.open(c)
	h := homeVisit("a1", "call-1")
	h.Address, h.Symptoms, h.PreferredTime = repeat("а", cases.MaxAddress), repeat("с", cases.MaxSymptoms), ""
	f.open(h)
	if all, _ := f.s.List(f.ctx, time.Time{}, time.Time{}, 0); len(all) != 2 {
		t.Fatalf("stored %d cases, want only the 2 valid ones", len(all))
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}
