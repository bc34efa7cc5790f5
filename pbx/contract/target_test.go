package contract

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
)

// contractApp is the Stasis application the suite's adapters use (on a
// real Asterisk it must not be the production "hotline": two sockets for
// one app name take it from each other).
const contractApp = "hotline-contract"

// Behaviour of an operator endpoint the suite originates to.
type Behaviour int

const (
	Answers      Behaviour = iota // answers at once, stays up until hung up
	Busy                          // refuses: ChannelDestroyed cause 17
	NeverAnswers                  // rings until the originate timeout: cause 19
	Unregistered                  // exists, no contact: 500 "Allocation failed"
)

// Target is a PBX the suite runs against and what the suite can make
// happen on the PBX side.
type Target interface {
	Name() string
	// Options connect a new adapter instance (URL, WSURL, credentials, App).
	Options() ariadapter.Options
	// EventTimeout bounds every wait for an event.
	EventTimeout() time.Duration
	// Quiet is how long "no event arrives" is watched for.
	Quiet() time.Duration

	// Call places a citizen's call: its channel enters
	// Stasis(contractApp,inbound) from the dialplan in state Ring.
	Call(t *testing.T) Call
	// InboundDialplan is the context and extension the citizen's channel
	// reports in StasisStart.
	InboundDialplan() (context, exten string)
	// CallerNumber is the caller id number of Call's channel ("" when the
	// target cannot set it reliably).
	CallerNumber() string

	// Endpoint returns an endpoint with the behaviour (t.Skip if none).
	Endpoint(t *testing.T, b Behaviour) string
	// OnlineEndpoint is a registered endpoint for EndpointState ("" if none).
	OnlineEndpoint(t *testing.T) string
	// HangupFarEnd makes the far end of the answered originated leg
	// channelID (to endpoint) hang up, as an operator pressing "hang up".
	HangupFarEnd(t *testing.T, endpoint, channelID string)
	// RemoteHangupCause is the cause of ChannelHangupRequest when the far
	// end hangs up; known false when the target cannot promise one.
	RemoteHangupCause() (cause int, known bool)

	// DropWebSocket cuts the adapter's event WebSocket without closing the
	// adapter (t.Skip if the target cannot).
	DropWebSocket(t *testing.T)

	// Sounds: a short one that exists, a long one (≥ 5 s) that exists, one
	// that does not exist.
	Sounds() (short, long, missing string)
}

// Call is a citizen's call in progress.
type Call interface {
	// ChannelID is the id of the channel in the application.
	ChannelID() string
	// SendDTMF sends digits from the citizen (only after the app answered).
	SendDTMF(t *testing.T, digits string)
	// Hangup hangs up from the citizen's side.
	Hangup(t *testing.T)
}

// forTargets runs f against the emulator, then against the real Asterisk
// (skipped, saying what to set, unless configured).
func forTargets(t *testing.T, f func(t *testing.T, tg Target)) {
	t.Run("emulator", func(t *testing.T) { f(t, newEmulatorTarget(t)) })
	t.Run("asterisk", func(t *testing.T) { f(t, newAsteriskTarget(t)) })
}

// ---- one adapter instance ------------------------------------------------

type session struct {
	t      *testing.T
	tg     Target
	c      *ariadapter.Client
	cancel context.CancelFunc
	runErr chan error
	seen   []pbx.Event
	first  pbx.Event // the Resynced of the first connect

	mu       sync.Mutex
	channels map[string]bool // channels to hang up at the end
	once     sync.Once
}

// connect starts a new adapter instance and waits for its first Resynced.
// At the end of the test it hangs up every channel it saw and stops.
func connect(t *testing.T, tg Target) *session {
	t.Helper()
	c := ariadapter.New(tg.Options(), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, tg: tg, c: c, cancel: cancel, runErr: make(chan error, 1), channels: map[string]bool{}}
	go func() { s.runErr <- c.Run(ctx) }()
	t.Cleanup(func() { s.close(true) })
	select {
	case <-c.Ready():
	case <-time.After(tg.EventTimeout()):
		t.Fatalf("%s: adapter not connected within %v", tg.Name(), tg.EventTimeout())
	}
	s.first = s.wait("first Resynced", func(e pbx.Event) bool { return e.Type == pbx.Resynced })
	return s
}

// close stops the adapter; with hangup it first hangs up every channel the
// session saw enter the application or originated.
func (s *session) close(hangup bool) {
	s.once.Do(func() {
		if hangup {
			s.mu.Lock()
			ids := make([]string, 0, len(s.channels))
			for id := range s.channels {
				ids = append(ids, id)
			}
			s.mu.Unlock()
			for _, id := range ids {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = s.c.Hangup(ctx, id, "")
				cancel()
			}
		}
		s.cancel()
		select {
		case err := <-s.runErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				s.t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			s.t.Error("Run did not return after cancel")
		}
		s.c.Close()
		for range s.c.Events() {
		}
	})
}

func (s *session) track(id string) {
	s.mu.Lock()
	s.channels[id] = true
	s.mu.Unlock()
}

func (s *session) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return ctx
}

// wait reads events until one matches; every event read is kept in seen.
func (s *session) wait(what string, match func(pbx.Event) bool) pbx.Event {
	s.t.Helper()
	tm := time.NewTimer(s.tg.EventTimeout())
	defer tm.Stop()
	for {
		select {
		case e, ok := <-s.c.Events():
			if !ok {
				s.t.Fatalf("events closed while waiting for %s", what)
			}
			s.note(e)
			if match(e) {
				return e
			}
		case <-tm.C:
			s.t.Fatalf("%s: no %s within %v; seen %s", s.tg.Name(), what, s.tg.EventTimeout(), s.history())
		}
	}
}

func (s *session) note(e pbx.Event) {
	s.seen = append(s.seen, e)
	if e.Type == pbx.StasisStart && e.ChannelID != "" {
		s.track(e.ChannelID)
	}
}

// quiet reads events for the target's Quiet period and fails on any that
// matches.
func (s *session) quiet(what string, match func(pbx.Event) bool) {
	s.t.Helper()
	tm := time.NewTimer(s.tg.Quiet())
	defer tm.Stop()
	for {
		select {
		case e, ok := <-s.c.Events():
			if !ok {
				return
			}
			s.note(e)
			if match(e) {
				s.t.Fatalf("%s: unexpected %s: %+v", s.tg.Name(), what, e)
			}
		case <-tm.C:
			return
		}
	}
}

// index is the position in seen of the first event matching match, -1 if none.
func (s *session) index(match func(pbx.Event) bool) int {
	for i, e := range s.seen {
		if match(e) {
			return i
		}
	}
	return -1
}

func (s *session) history() string {
	var b strings.Builder
	for _, e := range s.seen {
		b.WriteString(string(e.Type))
		if e.ChannelID != "" {
			b.WriteString(":" + e.ChannelID)
		}
		b.WriteString(" ")
	}
	return b.String()
}

// inbound places a call and waits for its StasisStart.
func (s *session) inbound() (Call, pbx.Event) {
	s.t.Helper()
	call := s.tg.Call(s.t)
	s.track(call.ChannelID())
	return call, s.wait("StasisStart of the call", is(pbx.StasisStart, call.ChannelID()))
}

// answered places a call, answers it and waits for ChannelStateChange(Up).
func (s *session) answered() (Call, pbx.Event) {
	s.t.Helper()
	call, ss := s.inbound()
	if err := s.c.Answer(s.ctx(), call.ChannelID()); err != nil {
		s.t.Fatalf("answer: %v", err)
	}
	s.wait("ChannelStateChange(Up)", func(e pbx.Event) bool {
		return e.Type == pbx.ChannelStateChange && e.ChannelID == call.ChannelID() && e.Channel.State == "Up"
	})
	return call, ss
}

// originate dials endpoint into the application and tracks the channel.
func (s *session) originate(endpoint string, timeout time.Duration, args ...string) (string, error) {
	id := newID("hc-out-")
	s.track(id)
	ch, err := s.c.Originate(s.ctx(), pbx.OriginateRequest{ChannelID: id, Endpoint: endpoint,
		CallerID: `"Hotline" <122>`, Args: args, Timeout: timeout})
	if err == nil && ch.ID != id {
		s.t.Fatalf("originate returned channel %q, want %q", ch.ID, id)
	}
	return id, err
}

func is(typ pbx.EventType, ch string) func(pbx.Event) bool {
	return func(e pbx.Event) bool { return e.Type == typ && (ch == "" || e.ChannelID == ch) }
}

func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// waitReconnects waits until the adapter counted n reconnects (it counts
// just after queuing the Resynced event, so reading it right after that
// event races).
func waitReconnects(t *testing.T, s *session, n uint64) {
	t.Helper()
	deadline := time.Now().Add(s.tg.EventTimeout())
	for s.c.Reconnects() < n {
		if time.Now().After(deadline) {
			t.Fatalf("reconnects %d, want %d", s.c.Reconnects(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
