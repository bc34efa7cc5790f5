package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// deadlineACD is an ACD whose sweep names its next deadline.
type deadlineACD struct {
	nopACD
	at    time.Time
	found bool
	err   error
}

func (d deadlineACD) NextDeadline(context.Context) (time.Time, bool, error) {
	return d.at, d.found, d.err
}

// deadlineCallbacks is a callbacks store that names its next deadline.
type deadlineCallbacks struct {
	fakeCallbacks
	at    time.Time
	found bool
}

func (d *deadlineCallbacks) NextDeadline(context.Context) (time.Time, bool, error) {
	return d.at, d.found, nil
}

// The sweep sleeps until the earliest deadline of the ACD and the
// callbacks store, at most RecoverEvery and at least minSweepGap; a
// deadline already past is swept at once, but no faster than once a second
// when it stays past; Redis errors fall back to the old one-second poll.
// due says whether that wake-up sweeps: when only RecoverEvery passed, the
// deadlines are read again and no script runs (an idle line sweeps
// nothing).
func TestNextSweep(t *testing.T) {
	now := time.Unix(1795423000, 0)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name    string
		acd     deadlineACD
		cb      *deadlineCallbacks
		sweptAt time.Time
		want    time.Duration
		due     bool
	}{
		{"nothing due: the periodic net", deadlineACD{}, nil, time.Time{}, 5 * time.Second, false},
		{"a lease in 2 s", deadlineACD{at: at(2 * time.Second), found: true}, nil, time.Time{}, 2 * time.Second, true},
		{"a callback due sooner than the lease", deadlineACD{at: at(2 * time.Second), found: true},
			&deadlineCallbacks{at: at(700 * time.Millisecond), found: true}, time.Time{}, 700 * time.Millisecond, true},
		{"a deadline past the periodic net", deadlineACD{at: at(time.Minute), found: true}, nil, time.Time{}, 5 * time.Second, false},
		{"due in 10 ms: not sooner than the gap", deadlineACD{at: at(10 * time.Millisecond), found: true}, nil, time.Time{}, minSweepGap, true},
		{"past, not swept lately: at once", deadlineACD{at: at(-time.Second), found: true}, nil, now.Add(-2 * time.Second), minSweepGap, true},
		{"past right after a sweep: once a second", deadlineACD{at: at(-time.Second), found: true}, nil, now.Add(-100 * time.Millisecond), time.Second, true},
		{"Redis away", deadlineACD{err: errors.New("connection refused")}, nil, time.Time{}, time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{PBX: &dbsyncPBX{}, ACD: tt.acd, Agents: nopAgents{}, Records: nopRecorder{}, Config: &config.Config{},
				Now: func() time.Time { return now }}
			if tt.cb != nil {
				opt.Callbacks = tt.cb
			}
			r, err := New(opt)
			if err != nil {
				t.Fatal(err)
			}
			r.sweptAt = tt.sweptAt
			if got := r.nextSweep(context.Background()); got != tt.want || r.sweepDue != tt.due {
				t.Fatalf("nextSweep = %v (sweep due %v), want %v (%v)", got, r.sweepDue, tt.want, tt.due)
			}
		})
	}
}

// An ACD that cannot name its deadlines is swept every RecoverEvery, as
// before deadlines existed.
func TestNextSweepWithoutDeadlines(t *testing.T) {
	now := time.Unix(1795423000, 0)
	r, err := New(Options{PBX: &dbsyncPBX{}, ACD: nopACD{}, Agents: nopAgents{}, Records: nopRecorder{}, Config: &config.Config{},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.nextSweep(context.Background()); got != 5*time.Second || !r.sweepDue {
		t.Fatalf("nextSweep = %v (sweep due %v), want 5s and a sweep", got, r.sweepDue)
	}
}
