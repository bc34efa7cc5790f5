package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/api"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// callbackState adapts the callbacks store to the router and the API; the
// rules of each topic come from the config in force.
type callbackState struct {
	now    func() time.Time // the app's clock
	cfg    *atomic.Pointer[config.Config]
	store  *callbacks.Store
	router *router.Router
}

var _ router.Callbacks = (*callbackState)(nil)

// promoteBatch bounds one promotion sweep.
const promoteBatch = 100

func newCallbackState(rdb redis.UniversalClient, cfg *atomic.Pointer[config.Config], rec *records.Stream, attemptLease time.Duration) *callbackState {
	c := cfg.Load()
	return &callbackState{cfg: cfg, store: callbacks.New(rdb, c.Centre.ID, callbacks.Options{
		CountryCode:  c.Centre.CountryCode,
		AttemptLease: attemptLease,
		// Every action on a callback lands in the call-records stream, so
		// supervisors audit callbacks where they audit calls.
		Audit: func(a callbacks.Action) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			note := a.Reason
			if a.Detail != "" {
				note = strings.TrimSpace(note + " " + a.Detail)
			}
			if a.Who != "" {
				// A supervisor's action names them, as audit_* entries do.
				note = strings.TrimSpace(note + " by " + a.Who)
			}
			_, _ = rec.Append(ctx, records.Record{
				CallID: "cb-" + a.CallbackID, Outcome: "callback_" + a.Kind, Callback: a.CallbackID, Topic: a.Topic,
				CallerNumber: a.Number, Agent: a.AgentID, HangupCause: a.Cause, EndedAt: a.At, Note: note,
			})
		},
	})}
}

// rules are a topic's callback rules for the store, from the config in
// force; callbacks.FromConfig is their only builder.
func (s *callbackState) rules(topic string) callbacks.Rules {
	cfg := s.cfg.Load()
	return callbacks.FromConfig(cfg.CallbackRules(topic), cfg.Centre.CountryCode, cfg.Hours)
}

// policy is a topic's callback rules for the router, from the config in
// force; nothing else builds a router.CallbackPolicy.
func (s *callbackState) policy(topic string) router.CallbackPolicy {
	r := s.cfg.Load().CallbackRules(topic)
	return router.CallbackPolicy{
		Enabled: r.Enabled, CustomerFirst: r.Mode == config.CallbackCustomerFirst,
		MinAbandonWait: r.MinAbandonWait.D(), DropWindow: r.DropWindow.D(),
		VirtualHold: r.VirtualHold.Enabled, VirtualHoldMinWait: r.VirtualHold.MinWait.D(),
		VirtualHoldMinPosition: r.VirtualHold.MinPosition,
		AfterHoursOffer:        r.AfterHours == config.AfterHoursOffer,
	}
}

func due(c callbacks.Callback) router.DueCallback {
	return router.DueCallback{ID: c.ID, Number: c.Number, Topic: c.Topic, Language: c.Language,
		QueueTime: c.Arrival(), Priority: c.Priority, Attempts: c.Tries, Reasons: c.Reasons}
}

func (s *callbackState) Schedule(ctx context.Context, req router.CallbackRequest, now time.Time) (router.CallbackTicket, error) {
	cb, created, err := s.store.Schedule(ctx, callbacks.Request{
		RawNumber: req.Number, Topic: req.Topic, Language: req.Language, Reason: req.Reason,
		QueueTime: req.QueueTime, Priority: req.Priority, SourceCallID: req.SourceCallID, Note: req.Note,
	}, s.rules(req.Topic), now)
	if err != nil {
		switch {
		case cb.Status == callbacks.StatusRefused:
			// Recorded as refused (not a store failure): the router
			// must not keep asking.
			err = fmt.Errorf("%w: %w", router.ErrNumberRefused, err)
		case errors.Is(err, callbacks.ErrInvalid):
			err = fmt.Errorf("%w: %w", router.ErrRefused, err)
		}
		return router.CallbackTicket{}, err
	}
	return router.CallbackTicket{ID: cb.ID, Created: created, DueAt: cb.DueAt}, nil
}

func (s *callbackState) Promote(ctx context.Context, now time.Time) ([]router.DueCallback, error) {
	cbs, err := s.store.Promote(ctx, now, promoteBatch)
	out := make([]router.DueCallback, len(cbs))
	for i, c := range cbs {
		out[i] = due(c)
	}
	return out, err
}

func (s *callbackState) MarkQueued(ctx context.Context, id string, now time.Time) error {
	return s.store.MarkQueued(ctx, id, now)
}

func (s *callbackState) Begin(ctx context.Context, id, callID, agentID string, now time.Time) (router.DueCallback, error) {
	c, err := s.store.Begin(ctx, id, callID, agentID, now)
	return due(c), err
}

func (s *callbackState) Abort(ctx context.Context, id, callID, reason string, now time.Time) error {
	return cbRefused(s.store.Abort(ctx, id, callID, reason, now))
}

func (s *callbackState) Extend(ctx context.Context, id, callID string, now time.Time) error {
	return s.store.Extend(ctx, id, callID, now)
}

func (s *callbackState) Finish(ctx context.Context, id, topic string, a router.CallbackAttempt, now time.Time) error {
	_, err := s.store.Finish(ctx, id, callbacks.Attempt{At: now, CallID: a.CallID, AgentID: a.AgentID, Result: a.Result, Cause: a.Cause}, s.rules(topic), now)
	return cbRefused(err)
}

// cbRefused marks the store's final answers (the callback is gone, closed,
// or held by another attempt) as router.ErrRefused, so the router does not
// retry them as it retries a Redis failure.
func cbRefused(err error) error {
	for _, e := range []error{callbacks.ErrNotFound, callbacks.ErrClosed, callbacks.ErrNotHeld} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", router.ErrRefused, err)
		}
	}
	return err
}

func (s *callbackState) CloseInbound(ctx context.Context, number, callID string, now time.Time) ([]string, error) {
	return s.store.CloseInbound(ctx, number, "", callID, now)
}

// NextDeadline is the earliest callback due time or attempt lease.
func (s *callbackState) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	return s.store.NextDeadline(ctx)
}

func (s *callbackState) Recover(ctx context.Context, now time.Time) error {
	_, err := s.store.RecoverExpired(ctx, now)
	return err
}

func (s *callbackState) Holder(ctx context.Context, id string) (string, string, error) {
	cb, err := s.store.Get(ctx, id)
	if err != nil || cb.Status != callbacks.StatusInFlight {
		return "", "", err
	}
	return cb.Holder, cb.AgentID, nil
}

var _ api.Callbacks = (*callbackAPI)(nil)

// callbackAPI serves the operators' and supervisors' callback actions.
type callbackAPI struct {
	*callbackState
	calls calls
}

func (s callbackAPI) MarkCallback(ctx context.Context, agentID, reason string) (string, error) {
	return s.calls.MarkCallback(ctx, agentID, reason)
}

func (s callbackAPI) ListCallbacks(ctx context.Context, statuses []string) (any, error) {
	if slices.Equal(statuses, []string{"refused"}) {
		return s.store.Refused(ctx, 500)
	}
	f := callbacks.Filter{}
	for _, st := range statuses {
		switch status := callbacks.Status(st); status {
		case callbacks.StatusScheduled, callbacks.StatusPromoting, callbacks.StatusQueued, callbacks.StatusInFlight,
			callbacks.StatusReached, callbacks.StatusReachedInbound, callbacks.StatusUnreached, callbacks.StatusCancelled:
			f.Status = append(f.Status, status)
		default:
			return nil, fmt.Errorf("unknown callback status %q", st)
		}
	}
	return s.store.List(ctx, f, 500)
}

func (s callbackAPI) CancelCallback(ctx context.Context, id, who string) error {
	if _, err := s.store.Cancel(ctx, id, who, s.now()); err != nil {
		return notFound(err)
	}
	// A cancelled callback waiting in its queue must not ring anyone.
	return s.router.Abandon(ctx, "cb-"+id)
}

func (s callbackAPI) CallbackNow(ctx context.Context, id, who string) error {
	if err := s.store.MoveNow(ctx, id, who, s.now()); err != nil {
		return notFound(err)
	}
	s.router.KickCallbacks()
	return nil
}

// notFound marks the store's "no such callback" as the API's 404.
func notFound(err error) error {
	if errors.Is(err, callbacks.ErrNotFound) {
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return err
}

// MoveCallback moves a pending callback to topic, one of the running
// configuration's. One that waited in its old topic's queue has left it
// and is due now: the promotion kicked here (or the next sweep, on any
// instance, should this one stop first) queues it in topic at its
// original place.
func (s callbackAPI) MoveCallback(ctx context.Context, id, topic, who string) error {
	if _, ok := s.cfg.Load().Topic(topic); !ok {
		return fmt.Errorf("%w: callback %s: no topic %q in the configuration", api.ErrInvalid, id, topic)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := s.now()
	err := untilHeld(ctx, func(ctx context.Context) error { return s.store.Move(ctx, id, topic, who, now) })
	switch {
	case errors.Is(err, callbacks.ErrNotFound):
		return notFound(err)
	case errors.Is(err, callbacks.ErrInvalid):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case err != nil:
		return err
	}
	s.router.KickCallbacks()
	return nil
}

// untilHeld runs a supervisor's store step under one operation id until it
// holds, the store gives a final answer, or ctx ends: a Redis blip does not
// fail the action, and the operation id keeps a retry from applying it
// twice.
func untilHeld(ctx context.Context, step func(ctx context.Context) error) error {
	ctx = rkeys.WithOp(ctx, "supervisor-"+rkeys.NewOp())
	wait := 50 * time.Millisecond
	for {
		err := step(ctx)
		if err == nil || ctx.Err() != nil || storeAnswer(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// storeAnswer reports whether err is the callbacks store's decision (not a
// Redis failure worth retrying).
func storeAnswer(err error) bool {
	for _, e := range []error{callbacks.ErrNotFound, callbacks.ErrClosed, callbacks.ErrBusy, callbacks.ErrNotHeld,
		callbacks.ErrInvalid, callbacks.ErrDuplicate} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Counts are the centre's callback numbers (the demo's summary).
func (s *callbackState) Counts(ctx context.Context) (callbacks.Counts, error) {
	return s.store.Counts(ctx)
}

// translateEnqueueErr names the Redis packages' enqueue refusals in the
// router's terms.
func translateEnqueueErr(err error, exists, full error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exists):
		return fmt.Errorf("%w: %w", router.ErrAlreadyQueued, err)
	case errors.Is(err, full):
		return fmt.Errorf("%w: %w", router.ErrQueueFull, err)
	}
	return err
}
