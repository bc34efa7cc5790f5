package router

import (
	"testing"
	"time"
)

func TestOfferFailure(t *testing.T) {
	for _, tc := range []struct {
		cause int
		want  string
	}{
		{19, "no_answer"}, {18, "no_answer"}, {17, "busy"}, {21, "declined"},
		{1, "unallocated"}, {16, "cancelled"}, {0, "unknown"}, {34, "failed"},
	} {
		if got := offerFailure(tc.cause); got != tc.want {
			t.Errorf("offerFailure(%d) = %q, want %q", tc.cause, got, tc.want)
		}
	}
}

func TestDroppedCause(t *testing.T) {
	for _, tc := range []struct {
		cause int
		want  bool
	}{{0, false}, {16, false}, {32, false}, {34, true}, {38, true}, {41, true}} {
		if got := droppedCause(tc.cause); got != tc.want {
			t.Errorf("droppedCause(%d) = %v, want %v", tc.cause, got, tc.want)
		}
	}
}

func TestMailboxNeverBlocksAndDrainsInOrder(t *testing.T) {
	m := newMailbox[int]()
	for i := 0; i < 10000; i++ {
		if !m.post(i) {
			t.Fatal("post refused before close")
		}
	}
	<-m.C()
	got := m.take()
	if len(got) != 10000 || got[0] != 0 || got[9999] != 9999 {
		t.Fatalf("take returned %d items, first %d", len(got), got[0])
	}
	m.post(1)
	if rest := m.close(); len(rest) != 1 {
		t.Fatalf("close returned %v, want the one queued item", rest)
	}
	if m.post(2) {
		t.Fatal("post accepted after close")
	}
}

func TestParseMissed(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		val, number string
		at          time.Time
	}{
		{"79001234567|1799999000", "79001234567", time.Unix(1799999000, 0)},
		{"79001234567", "79001234567", now},
		{"79001234567|garbage", "79001234567", now},
		{"79001234567|1900000000", "79001234567", now}, // in the future: not trusted
		{"", "", now},
	} {
		number, at := parseMissed(tc.val, now)
		if number != tc.number || !at.Equal(tc.at) {
			t.Errorf("parseMissed(%q) = %q, %v; want %q, %v", tc.val, number, at, tc.number, tc.at)
		}
	}
}
