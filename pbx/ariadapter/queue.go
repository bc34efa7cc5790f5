package ariadapter

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hotline-acd/hotline/pbx"
)

// eventQueue is an unbounded FIFO between the WebSocket reader (which must
// never block: Asterisk drops a socket whose write blocks for 100 ms) and the
// consumer of Events(). push never blocks; pump moves events to out at the
// consumer's pace.
//
// While held (during a re-sync) pushed events are parked so that the
// Resynced event can be put in front of them: the router then never sees a
// Resynced snapshot that is older than an event it has already processed.
type eventQueue struct {
	mu      sync.Mutex
	items   []pbx.Event // ready for the consumer
	held    []pbx.Event // parked while holding
	holding bool
	wake    chan struct{} // cap 1: "items is non-empty"
	pending atomic.Int64  // pushed and not yet delivered (incl. the batch in hand)
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1)}
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push appends one event; it never blocks.
func (q *eventQueue) push(e pbx.Event) {
	q.pending.Add(1)
	q.mu.Lock()
	if q.holding {
		q.held = append(q.held, e)
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, e)
	q.mu.Unlock()
	q.signal()
}

// hold parks every later push until release.
func (q *eventQueue) hold() {
	q.mu.Lock()
	q.holding = true
	q.mu.Unlock()
}

// release queues first (if non-nil) and then every parked event, in order,
// and stops holding.
func (q *eventQueue) release(first *pbx.Event) {
	q.mu.Lock()
	if first != nil {
		q.pending.Add(1)
		q.items = append(q.items, *first)
	}
	q.items = append(q.items, q.held...)
	q.held = nil
	q.holding = false
	n := len(q.items)
	q.mu.Unlock()
	if n > 0 {
		q.signal()
	}
}

// len reports the number of events pushed and not yet delivered.
func (q *eventQueue) len() int { return int(q.pending.Load()) }

// pop takes up to all ready events at once (the consumer side batches to keep
// lock traffic low).
func (q *eventQueue) popAll(buf []pbx.Event) []pbx.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return buf[:0]
	}
	buf = append(buf[:0], q.items...)
	// Drop the backing array when it has grown large, so that a burst does
	// not pin memory for the life of the process.
	if cap(q.items) > 4096 {
		q.items = nil
	} else {
		clear(q.items)
		q.items = q.items[:0]
	}
	return buf
}

// pump delivers queued events to out until ctx is done.
func (q *eventQueue) pump(ctx context.Context, out chan<- pbx.Event) {
	var batch []pbx.Event
	for {
		batch = q.popAll(batch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		for i := range batch {
			select {
			case out <- batch[i]:
				q.pending.Add(-1)
			case <-ctx.Done():
				return
			}
		}
		clear(batch)
	}
}
