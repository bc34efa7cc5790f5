package router

import "sync"

// mailbox is an unbounded FIFO with a wake-up channel. The demultiplexer
// posts into a call's mailbox and never blocks, so one slow call cannot
// stall the PBX event reader or any other call.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	wake   chan struct{}
	closed bool
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{wake: make(chan struct{}, 1)}
}

// post appends v; it reports false when the mailbox was closed (the owner
// has finished), so the sender can clean up on its behalf.
func (m *mailbox[T]) post(v T) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// C is signalled when items may be waiting; drain with take.
func (m *mailbox[T]) C() <-chan struct{} { return m.wake }

// take removes and returns everything queued so far.
func (m *mailbox[T]) take() []T {
	m.mu.Lock()
	items := m.items
	m.items = nil
	m.mu.Unlock()
	return items
}

// close refuses further posts and returns what was still queued.
func (m *mailbox[T]) close() []T {
	m.mu.Lock()
	m.closed = true
	items := m.items
	m.items = nil
	m.mu.Unlock()
	return items
}
