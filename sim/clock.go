package sim

import (
	"container/heap"
	"time"
)

// clock is a discrete-event clock: virtual time jumps from one scheduled
// event to the next, and events at the same instant run in the order they
// were scheduled, so a run is a pure function of its inputs.
type clock struct {
	now    time.Time
	seq    uint64
	events eventHeap
}

type event struct {
	at        time.Time
	seq       uint64
	f         func()
	cancelled bool
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

func newClock(start time.Time) *clock { return &clock{now: start} }

// Now is the virtual time.
func (c *clock) Now() time.Time { return c.now }

// After schedules f d from now; the returned func cancels it.
func (c *clock) After(d time.Duration, f func()) func() {
	return c.At(c.now.Add(max(d, 0)), f)
}

// At schedules f at t (now, if t is past).
func (c *clock) At(t time.Time, f func()) func() {
	if t.Before(c.now) {
		t = c.now
	}
	c.seq++
	e := &event{at: t, seq: c.seq, f: f}
	heap.Push(&c.events, e)
	return func() { e.cancelled = true }
}

// RunUntil runs every event before end, in order; the clock stops at end.
func (c *clock) RunUntil(end time.Time) {
	for len(c.events) > 0 {
		e := c.events[0]
		if !e.at.Before(end) {
			break
		}
		heap.Pop(&c.events)
		if e.cancelled {
			continue
		}
		c.now = e.at
		e.f()
	}
	c.now = end
}
