package sim

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hotline-acd/hotline/internal/redistest"
)

// staffDay is a short morning of one topic (general: 80 % within 60 s)
// whose half-hours differ: quiet, busy, middling.
const staffDay = `
name: find-staff
start: 2026-12-01T08:00:00+05:00
duration: 90m
interval: 30m
always_open: true
answer_delay: 2s
topics:
  general:
    rate: [40, 120, 70]
    talk: {dist: exponential, mean: 3m}
    patience: {dist: exponential, mean: 2m}
staff: [1]
`

// misses reports the intervals of res where a topic misses its target.
func misses(res *Result, n int) []int {
	var out []int
	for i := range n {
		for _, t := range res.Topics() {
			row := res.row(i, t)
			if t == All || row.Offered == 0 {
				continue
			}
			if row.SL == nil || *row.SL*100 < row.TargetPercent {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func findStaff(t *testing.T, o Options) *Result {
	t.Helper()
	centres++
	o.Centre = fmt.Sprintf("%s-%d", redistest.Prefix(t), centres)
	var heard []int
	res, err := FindStaff(context.Background(), o, func(i, n int) { heard = append(heard, i) })
	if err != nil {
		t.Fatal(err)
	}
	if len(heard) < o.Scenario.Intervals() {
		t.Fatalf("progress heard intervals %v of %d", heard, o.Scenario.Intervals())
	}
	return res
}

// FindStaff's staffing meets every target when the day is run with it,
// one operator fewer in any interval misses that interval's target, the
// busy half-hour gets the most, and a seed gives the same answer twice.
func TestFindStaff(t *testing.T) {
	cfg := exampleConfig(t, false, 0)
	sc := scenario(t, cfg, staffDay)
	rdb := redistest.Start(t)
	const seed = 3
	o := Options{Config: cfg, Scenario: sc, Seed: seed, Redis: rdb}
	res := findStaff(t, o)
	staff := res.Staff
	n := sc.Intervals()
	if len(staff) != n {
		t.Fatalf("staff %v for %d intervals", staff, n)
	}
	t.Logf("staff %v", staff)
	var buf bytes.Buffer
	_ = res.WriteTable(&buf)
	t.Log("\n" + buf.String())

	// (a) The day run with that staffing meets every target.
	day := run(t, Options{Config: cfg, Scenario: sc, Seed: seed, Redis: rdb, Staff: staff})
	if m := misses(day, n); len(m) > 0 {
		t.Fatalf("staff %v: intervals %v miss their target", staff, m)
	}
	if m := misses(res, n); len(m) > 0 {
		t.Fatalf("FindStaff's own result misses in intervals %v", m)
	}
	// (b) Minimal: one fewer in any interval misses that interval.
	for i := range n {
		if staff[i] == 0 {
			continue
		}
		fewer := slices.Clone(staff)
		fewer[i]--
		r := run(t, Options{Config: cfg, Scenario: sc, Seed: seed, Redis: rdb, Staff: fewer})
		if !slices.Contains(misses(r, n), i) {
			t.Errorf("staff %v (one fewer in interval %d) still meets interval %d's target", fewer, i, i)
		}
	}
	// (c) Busier intervals get at least as many: 120/h > 70/h > 40/h.
	if !(staff[1] >= staff[2] && staff[2] >= staff[0]) || staff[1] <= staff[0] {
		t.Errorf("staff %v does not follow the load 40, 120, 70 an hour", staff)
	}
	// Offered load: 40/h × 3 min is 2 erlangs, 120/h is 6; the counts
	// must exceed the load (or queues grow without end).
	if staff[0] < 2 || staff[1] < 6 {
		t.Errorf("staff %v below the offered load (2, 6, 3.5 erlangs)", staff)
	}
	// (d) Deterministic for a seed.
	again := findStaff(t, o)
	if !slices.Equal(again.Staff, staff) {
		t.Fatalf("the same seed found %v, then %v", staff, again.Staff)
	}
}
