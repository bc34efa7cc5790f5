package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/queue"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func TestScoreOrder(t *testing.T) {
	// higher priority first; then earlier arrival; clamped beyond ±900
	cases := []struct {
		name       string
		p1         int
		a1         time.Duration
		p2         int
		a2         time.Duration
		firstFirst bool
	}{
		{"same prio, earlier first", 0, 0, 0, time.Millisecond, true},
		{"higher prio first", 1, time.Hour, 0, 0, true},
		{"lower prio later", -1, 0, 0, time.Hour, false},
		{"max prio beats decades", 900, 100 * 365 * 24 * time.Hour, 899, 0, true},
		{"clamped prio ties on arrival", 5000, time.Second, 900, 0, false},
	}
	for _, c := range cases {
		s1, s2 := rkeys.Score(c.p1, t0.Add(c.a1)), rkeys.Score(c.p2, t0.Add(c.a2))
		if (s1 < s2) != c.firstFirst {
			t.Errorf("%s: %v vs %v", c.name, s1, s2)
		}
	}
}

type step struct {
	op      string // enqueue, remove
	id      string
	prio    int
	arrival time.Duration
	topic   string
}

func TestOrderAndPositions(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  map[string]string // topic -> order
	}{
		{"fifo", []step{{"enqueue", "a", 0, 0, "t"}, {"enqueue", "b", 0, 1, "t"}, {"enqueue", "c", 0, 2, "t"}},
			map[string]string{"t": "a b c"}},
		{"late arrival keeps its time", []step{{"enqueue", "b", 0, 5, "t"}, {"enqueue", "a", 0, 1, "t"}},
			map[string]string{"t": "a b"}},
		{"priority jumps", []step{{"enqueue", "a", 0, 0, "t"}, {"enqueue", "b", 0, 1, "t"}, {"enqueue", "v", 2, 9, "t"}, {"enqueue", "u", 1, 3, "t"}},
			map[string]string{"t": "v u a b"}},
		{"abandon closes the gap", []step{{"enqueue", "a", 0, 0, "t"}, {"enqueue", "b", 0, 1, "t"}, {"enqueue", "c", 0, 2, "t"}, {"remove", "b", 0, 0, ""}},
			map[string]string{"t": "a c"}},
		{"topics are separate", []step{{"enqueue", "a", 0, 0, "x"}, {"enqueue", "b", 5, 1, "y"}, {"enqueue", "c", 0, 2, "x"}},
			map[string]string{"x": "a c", "y": "b"}},
	}
	rdb := redistest.Start(t)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := queue.New(rdb, redistest.Prefix(t), time.Minute)
			for _, s := range c.steps {
				switch s.op {
				case "enqueue":
					if _, err := q.Enqueue(ctx, queue.Caller{CallID: s.id, Topic: s.topic, Priority: s.prio, Arrival: t0.Add(s.arrival * time.Second)}, t0); err != nil {
						t.Fatal(err)
					}
				case "remove":
					r, err := q.Remove(ctx, s.id)
					if err != nil || r.State != queue.StateWaiting {
						t.Fatalf("remove %s: %+v %v", s.id, r, err)
					}
				}
			}
			for topic, want := range c.want {
				l, err := q.List(ctx, topic, 100)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for i, w := range l {
					got = append(got, w.CallID)
					p, err := q.Position(ctx, w.CallID)
					if err != nil || p.Pos != i+1 || w.Pos != i+1 || p.State != queue.StateWaiting || p.Topic != topic {
						t.Errorf("position %s = %+v %v, want %d", w.CallID, p, err, i+1)
					}
					// one minute default AHT, nobody staffed: pos minutes
					if p.EstimatedWait != time.Duration(i+1)*time.Minute {
						t.Errorf("wait %s = %v", w.CallID, p.EstimatedWait)
					}
				}
				if strings.Join(got, " ") != want {
					t.Errorf("%s order = %v, want %s", topic, got, want)
				}
				if n, _ := q.Len(ctx, topic); n != len(got) {
					t.Errorf("len %s = %d", topic, n)
				}
			}
		})
	}
}

func TestEnqueueReturnsPositionAndErrors(t *testing.T) {
	rdb := redistest.Start(t)
	q := queue.New(rdb, redistest.Prefix(t), time.Minute)
	ctx := context.Background()
	c := queue.Caller{CallID: "a", Topic: "t", Arrival: t0.Add(time.Second), Language: "kk", CallerNumber: "+7701", IVRPath: "1>2"}
	if pos, err := q.Enqueue(ctx, c, t0); pos != 1 || err != nil {
		t.Fatalf("%d %v", pos, err)
	}
	if pos, _ := q.Enqueue(ctx, queue.Caller{CallID: "b", Topic: "t", Arrival: t0}, t0); pos != 1 {
		t.Errorf("earlier arrival position = %d", pos)
	}
	if _, err := q.Enqueue(ctx, c, t0); !errors.Is(err, queue.ErrExists) {
		t.Errorf("dup: %v", err)
	}
	if _, err := q.Enqueue(ctx, queue.Caller{CallID: "z", Topic: "t", Arrival: t0, MaxQueue: 2}, t0); !errors.Is(err, queue.ErrFull) {
		t.Errorf("full: %v", err)
	}
	if _, err := q.Enqueue(ctx, queue.Caller{CallID: "y", Topic: "t"}, t0); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("no arrival: %v", err)
	}
	l, _ := q.List(ctx, "t", 10)
	if len(l) != 2 || l[1].Caller.Language != "kk" || l[1].CallerNumber != "+7701" || l[1].IVRPath != "1>2" || !l[1].Arrival.Equal(c.Arrival) || !l[1].EnqueuedAt.Equal(t0) || l[1].Skill != "t" {
		t.Errorf("list = %+v", l)
	}
	if _, err := q.Position(ctx, "nope"); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("position unknown: %v", err)
	}
	if r, err := q.Abandon(ctx, "nope"); err != nil || r.State != queue.StateUnknown {
		t.Errorf("abandon unknown: %+v %v", r, err)
	}
	if tp, _ := q.Topics(ctx); len(tp) != 1 || tp[0] != "t" {
		t.Errorf("topics = %v", tp)
	}
}

func TestEstimateWait(t *testing.T) {
	cases := []struct {
		pos     int
		aht     time.Duration
		staffed int
		want    time.Duration
	}{
		{1, 3 * time.Minute, 0, 3 * time.Minute},
		{1, 3 * time.Minute, 3, time.Minute},
		{6, 3 * time.Minute, 3, 6 * time.Minute},
		{0, 3 * time.Minute, 3, 0},
	}
	for _, c := range cases {
		if got := queue.EstimateWait(c.pos, c.aht, c.staffed); got != c.want {
			t.Errorf("EstimateWait(%d, %v, %d) = %v, want %v", c.pos, c.aht, c.staffed, got, c.want)
		}
	}
}
