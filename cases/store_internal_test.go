package cases

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// A lost counter (Redis restored from an older backup) skips the numbers
// already taken instead of overwriting their cases.
func TestLostCounterOverwritesNothing(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	s := New(rdb, centre, Options{})
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	hv := Case{Kind: KindHomeVisit, CallID: "c1", Agent: "a1", Address: "Abay 1", Symptoms: "fever"}
	first, err := s.Open(ctx, hv, now)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := s.Open(ctx, hv, now)
	if err := rdb.Del(ctx, rkeys.Prefix(centre)+sfxSeq).Err(); err != nil {
		t.Fatal(err)
	}
	hv.Address = "Abay 3"
	third, err := s.Open(ctx, hv, now)
	if err != nil {
		t.Fatal(err)
	}
	if third.Number != "K-20261202-0003" || first.Number != "K-20261202-0001" || second.Number != "K-20261202-0002" {
		t.Fatalf("numbers %s %s %s", first.Number, second.Number, third.Number)
	}
	if got, _ := s.Get(ctx, first.Number); got.Address != "Abay 1" {
		t.Fatalf("the first case was overwritten: %+v", got)
	}
}

// check never panics, and what it refuses is a FieldError wrapping
// ErrInvalid; what it accepts is within the limits.
func FuzzCheck(f *testing.F) {
	f.Add("complaint", "a1", "call-1", "+77011234567", "org", "other", "text", "", "", "")
	f.Add("home_visit", "a1", "c", "", "", "", "", "addr", "sym", "later")
	f.Add("complaint", "a1", "c", "\x00", "\xff", "other", "=1+1", "", "", "")
	f.Add("home_visit", "{a}", "c c", "", "", "", "", "\n", "\r\n", "\u2028")
	svc := func(id string) (config.Service, bool) {
		return config.Service{ID: id, Name: "N", Cases: []string{config.CaseComplaint}}, id == "dept"
	}
	s := New(nil, "x", Options{Services: svc})
	f.Fuzz(func(t *testing.T, kind, agent, call, citizen, org, cat, text, addr, sym, pref string) {
		c := Case{Kind: Kind(kind), Agent: agent, CallID: call, CitizenNumber: citizen, Organisation: org,
			Category: cat, Text: text, Address: addr, Symptoms: sym, PreferredTime: pref}
		out, err := s.check(c)
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error %v is not a FieldError", err)
			}
			return
		}
		if len(out.Text) > 4*MaxText || len(out.Address) > 4*MaxAddress || len(out.Symptoms) > 4*MaxSymptoms {
			t.Fatalf("accepted oversize %+v", out)
		}
	})
}
