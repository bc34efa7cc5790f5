package config

import (
	"testing"
	"time"
)

func TestHoursIsOpenNextOpen(t *testing.T) {
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Hours // mon-fri 08:00-20:00, sat 09:00-15:00; holidays 2026-01-01, 2026-03-23
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, almaty) }
	tests := []struct {
		name string
		t    time.Time
		open bool
		next time.Time
	}{
		{"friday morning", at(2026, 3, 20, 10, 0), true, at(2026, 3, 20, 10, 0)},
		{"friday opening minute", at(2026, 3, 20, 8, 0), true, at(2026, 3, 20, 8, 0)},
		{"friday before opening", at(2026, 3, 20, 7, 59), false, at(2026, 3, 20, 8, 0)},
		{"friday last minute", at(2026, 3, 20, 19, 59), true, at(2026, 3, 20, 19, 59)},
		{"friday at close", at(2026, 3, 20, 20, 0), false, at(2026, 3, 21, 9, 0)},
		{"saturday open", at(2026, 3, 21, 14, 0), true, at(2026, 3, 21, 14, 0)},
		// Sunday is closed and Monday 23 March (Nauryz) a holiday.
		{"saturday after close", at(2026, 3, 21, 15, 30), false, at(2026, 3, 24, 8, 0)},
		{"sunday", at(2026, 3, 22, 12, 0), false, at(2026, 3, 24, 8, 0)},
		{"holiday monday in hours", at(2026, 3, 23, 10, 0), false, at(2026, 3, 24, 8, 0)},
		{"new year's eve", at(2025, 12, 31, 21, 0), false, at(2026, 1, 2, 8, 0)},
		// The same instant given in UTC: the centre's zone decides.
		{"utc instant", at(2026, 3, 20, 8, 0).UTC(), true, at(2026, 3, 20, 8, 0).UTC()},
		{"utc instant closed", at(2026, 3, 20, 7, 0).UTC(), false, at(2026, 3, 20, 8, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.IsOpen(tt.t); got != tt.open {
				t.Errorf("IsOpen(%s) = %v, want %v", tt.t, got, tt.open)
			}
			got := h.NextOpen(tt.t)
			if !got.Equal(tt.next) {
				t.Errorf("NextOpen(%s) = %s, want %s", tt.t, got, tt.next)
			}
			if !h.IsOpen(got) {
				t.Errorf("NextOpen(%s) = %s, which is not open", tt.t, got)
			}
		})
	}
}

// TestHoursBuiltByHand: code that builds Hours without Load (tests in other
// packages) gets the same answers.
func TestHoursBuiltByHand(t *testing.T) {
	h := Hours{
		TimeZone: "Europe/Kyiv",
		Weekly:   []WeeklyOpen{{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"}},
		Holidays: []string{"2026-08-24"},
	}
	kyiv, _ := time.LoadLocation("Europe/Kyiv")
	if !h.IsOpen(time.Date(2026, 8, 23, 23, 59, 0, 0, kyiv)) {
		t.Error("closed at 23:59 with close 24:00")
	}
	if h.IsOpen(time.Date(2026, 8, 24, 12, 0, 0, 0, kyiv)) {
		t.Error("open on a holiday")
	}
	want := time.Date(2026, 8, 25, 0, 0, 0, 0, kyiv)
	if got := h.NextOpen(time.Date(2026, 8, 24, 0, 0, 0, 0, kyiv)); !got.Equal(want) {
		t.Errorf("NextOpen = %s, want %s", got, want)
	}
	if got := (Hours{TimeZone: "UTC"}).NextOpen(time.Now()); !got.IsZero() {
		t.Errorf("NextOpen with no weekly ranges = %s, want the zero Time", got)
	}
}

// Describe tells a person whether the line is open and when it opens.
func TestHoursDescribe(t *testing.T) {
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, almaty) }
	tests := []struct {
		t    time.Time
		want string
	}{
		{at(3, 20, 10, 0), "open now (Fri 10:00 Asia/Almaty)"},
		{at(3, 20, 21, 30), "closed now (Fri 21:30 Asia/Almaty); opens Sat 2026-03-21 09:00 (in 11h 30m)"},
		{at(3, 21, 15, 30), "closed now (Sat 15:30 Asia/Almaty); opens Tue 2026-03-24 08:00 (in 2d 16h 30m)"},
		{at(3, 20, 7, 45), "closed now (Fri 07:45 Asia/Almaty); opens Fri 2026-03-20 08:00 (in 15m)"},
	}
	for _, tt := range tests {
		if got := cfg.Hours.Describe(tt.t); got != tt.want {
			t.Errorf("Describe(%s) = %q, want %q", tt.t, got, tt.want)
		}
	}
	never := Hours{TimeZone: "UTC"}
	if got := never.Describe(at(3, 20, 10, 0)); got != "closed now (Fri 05:00 UTC) and never opens: hours has no open range on a working day" {
		t.Errorf("no weekly ranges: %q", got)
	}
}
