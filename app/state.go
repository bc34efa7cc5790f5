package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/queue"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// defaultAHT is the handle time assumed for wait estimates until a topic
// has finished calls of its own.
const defaultAHT = 3 * time.Minute

// redisState adapts the Redis packages to the interfaces the router and the
// API declare. It holds no state of its own beyond the config in force.
type redisState struct {
	now      func() time.Time // the app's clock
	cfg      atomic.Pointer[config.Config]
	queue    *queue.Queue
	agents   *agents.Registry
	dispatch *dispatch.Dispatcher
	records  *records.Stream
}

var (
	_ router.ACD      = (*redisState)(nil)
	_ router.Agents   = (*redisState)(nil)
	_ router.Recorder = (*redisState)(nil)
)

func newRedisState(rdb redis.UniversalClient, cfg *config.Config) *redisState {
	s := &redisState{
		queue:    queue.New(rdb, cfg.Centre.ID, defaultAHT),
		agents:   agents.New(rdb, cfg.Centre.ID),
		dispatch: dispatch.New(rdb, cfg.Centre.ID, cfg.Agents.ReservationLease.D()),
		records:  records.New(rdb, cfg.Centre.ID, cfg.Records.StreamMaxLen),
	}
	s.cfg.Store(cfg)
	return s
}

// sync puts the config's routing rules in Redis, registers its operators
// (existing ones keep their state) and makes cfg the one in force. Each
// step is idempotent, so a failed sync is repaired by the next one.
func (s *redisState) sync(ctx context.Context, cfg *config.Config) error {
	if err := s.dispatch.SetRules(ctx, routingRules(cfg)); err != nil {
		return fmt.Errorf("sync routing rules: %w", err)
	}
	ops := make([]agents.Operator, 0, len(cfg.Operators))
	for _, op := range cfg.Operators {
		ops = append(ops, agents.Operator{
			ID: op.ID, Name: op.Name, Endpoint: op.Endpoint, Skills: op.Skills, Languages: op.Languages,
		})
	}
	if err := s.agents.Sync(ctx, ops, s.now()); err != nil {
		return fmt.Errorf("sync operators: %w", err)
	}
	s.cfg.Store(cfg)
	return nil
}

// routingRules are the topics' selection and ageing as dispatch reads
// them in its scripts.
func routingRules(cfg *config.Config) map[string]dispatch.Rule {
	rules := make(map[string]dispatch.Rule, len(cfg.Topics))
	for id, t := range cfg.Topics {
		rules[id] = dispatch.Rule{Selection: dispatch.Selection(t.Selection), LevelWeight: t.LevelWeight.D(), Ageing: t.PriorityAgeing.D()}
	}
	return rules
}

// refused marks the Redis packages' domain answers (not on a call, unknown
// caller, reservation given away) as router.ErrRefused: final, unlike a
// timeout, which the router retries.
func refused(err error) error {
	for _, e := range []error{dispatch.ErrBadTransition, dispatch.ErrUnknownAgent, dispatch.ErrUnknownCall,
		dispatch.ErrNotReserved, dispatch.ErrInvalid, records.ErrInvalid, agents.ErrUnknown} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", router.ErrRefused, err)
		}
	}
	return err
}

func offers(rs []dispatch.Reservation) []router.Offer {
	if len(rs) == 0 {
		return nil
	}
	out := make([]router.Offer, len(rs))
	for i, r := range rs {
		out[i] = router.Offer{CallID: r.CallID, AgentID: r.AgentID, Endpoint: r.Endpoint, Topic: r.Topic, Seq: r.Seq, Expires: r.Expires}
	}
	return out
}

func reservation(o router.Offer) dispatch.Reservation {
	return dispatch.Reservation{CallID: o.CallID, AgentID: o.AgentID, Endpoint: o.Endpoint, Topic: o.Topic, Seq: o.Seq, Expires: o.Expires}
}

func (s *redisState) Enqueue(ctx context.Context, w router.Waiting, now time.Time) ([]router.Offer, error) {
	res, err := s.dispatch.EnqueueAndClaim(ctx, dispatch.Caller{
		CallID: w.CallID, Topic: w.Topic, Skill: w.Skill, Priority: w.Priority, Arrival: w.Arrival,
		Language: w.Language, CallerNumber: w.CallerNumber, IVRPath: w.IVRPath, MaxQueue: w.MaxQueue, App: w.App,
	}, now)
	return offers(res.Reservations), translateEnqueueErr(err, dispatch.ErrExists, dispatch.ErrFull)
}

func (s *redisState) Answered(ctx context.Context, o router.Offer, now time.Time) error {
	return refused(s.dispatch.Answered(ctx, reservation(o), now))
}

func (s *redisState) Extend(ctx context.Context, o router.Offer, now time.Time) (router.Offer, error) {
	r, err := s.dispatch.Extend(ctx, reservation(o), now)
	if err != nil {
		return o, refused(err)
	}
	return offers([]dispatch.Reservation{r})[0], nil
}

func (s *redisState) NoAnswer(ctx context.Context, o router.Offer, now time.Time) (bool, []router.Offer, error) {
	res, err := s.dispatch.NoAnswer(ctx, reservation(o), s.cfg.Load().Agents.MaxNoAnswer, now)
	return res.Paused, offers(res.Reservations), refused(err)
}

func (s *redisState) Unreachable(ctx context.Context, o router.Offer, now time.Time) ([]router.Offer, error) {
	rs, err := s.dispatch.Unreachable(ctx, reservation(o), now)
	return offers(rs), refused(err)
}

func (s *redisState) Abandon(ctx context.Context, callID string, now time.Time) (string, []router.Offer, error) {
	g, err := s.dispatch.CallerGone(ctx, callID, now)
	return g.AgentID, offers(g.Reservations), refused(err)
}

func (s *redisState) Ended(ctx context.Context, agentID, callID string, wrap time.Duration, now time.Time) ([]router.Offer, error) {
	rs, err := s.dispatch.EndedCall(ctx, agentID, callID, wrap, now)
	return offers(rs), refused(err)
}

func (s *redisState) WrapUpDone(ctx context.Context, agentID string, now time.Time, due bool) ([]router.Offer, error) {
	wrapUpDone := s.dispatch.WrapUpDone
	if due {
		wrapUpDone = s.dispatch.WrapUpDue
	}
	rs, err := wrapUpDone(ctx, agentID, now)
	return offers(rs), refused(err)
}

func (s *redisState) Position(ctx context.Context, callID string) (int, time.Duration, error) {
	p, err := s.queue.Position(ctx, callID)
	if err != nil {
		return 0, 0, err
	}
	return p.Pos, p.EstimatedWait, nil
}

func (s *redisState) OnCall(ctx context.Context) (map[string]string, error) {
	all, err := s.agents.List(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]string{}
	for _, a := range all {
		if a.State == agents.OnCall {
			busy[a.ID] = a.CallID
		}
	}
	return busy, nil
}

func (s *redisState) Lookup(ctx context.Context, callID string) (router.CallerState, error) {
	p, err := s.queue.Position(ctx, callID)
	if errors.Is(err, queue.ErrNotFound) {
		return router.CallerState{}, nil
	}
	if err != nil {
		return router.CallerState{}, err
	}
	return router.CallerState{State: string(p.State), Topic: p.Topic, AgentID: p.AgentID,
		Language: p.Language, QueueTime: p.QueueTime, AnsweredAt: p.AnsweredAt, IVRPath: p.IVRPath, Number: p.Number, App: p.App}, nil
}

// NextDeadline is the earliest reservation lease or wrap-up end, for the
// router's sweep to sleep until.
func (s *redisState) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	return s.dispatch.NextDeadline(ctx)
}

func (s *redisState) Held(ctx context.Context) ([]string, error) { return s.queue.Held(ctx) }

func (s *redisState) Release(ctx context.Context, callID string, now time.Time) ([]router.Offer, error) {
	rs, err := s.dispatch.Release(ctx, callID, now)
	return offers(rs), refused(err)
}

func (s *redisState) Recover(ctx context.Context, now time.Time) ([]router.Offer, error) {
	rec, err := s.dispatch.RecoverExpired(ctx, now)
	return offers(rec.Reservations), err
}

func (s *redisState) Ready(ctx context.Context, agentID string, now time.Time) ([]router.Offer, error) {
	rs, err := s.dispatch.Ready(ctx, agentID, now)
	return offers(rs), refused(err)
}

func (s *redisState) Logout(ctx context.Context, agentID string, now time.Time) error {
	return s.agents.Logout(ctx, agentID, "logout", now)
}

func (s *redisState) Pause(ctx context.Context, agentID, reason string, now time.Time) error {
	return s.agents.Pause(ctx, agentID, reason, now)
}

func (s *redisState) PauseAfterCall(ctx context.Context, agentID, reason string, now time.Time) error {
	return s.agents.PauseAfterCall(ctx, agentID, reason, now)
}

func (s *redisState) ExtendWrapUp(ctx context.Context, agentID string, by time.Duration, now time.Time) (time.Time, error) {
	until, err := s.dispatch.ExtendWrapUp(ctx, agentID, by, now)
	return until, refused(err)
}

// Append writes a call's one record: a second write for the same call is
// a no-op (the router retries until Redis takes it).
func (s *redisState) Append(ctx context.Context, r records.Record) (string, error) {
	id, _, err := s.records.AppendOnce(ctx, r)
	return id, refused(err)
}

// Owed are the call records owed (router.OwedRecords).
func (s *redisState) Owed(ctx context.Context, before time.Time, offset, n int64) ([]records.Record, error) {
	return s.records.Owed(ctx, before, offset, n)
}

// Arrived notes a call's arrival in the record outbox (router.ArrivalRecords).
func (s *redisState) Arrived(ctx context.Context, callID, number string, at time.Time) error {
	return s.records.Arrived(ctx, callID, number, at)
}

// The router finds these by type assertion: a missing one is silently
// skipped, so the build checks them.
var (
	_ router.OwedRecords    = (*redisState)(nil)
	_ router.ArrivalRecords = (*redisState)(nil)
)

// Agents lists operators for supervisors (api.Snapshot).
func (s *redisState) Agents(ctx context.Context) (any, error) {
	return s.agents.List(ctx)
}

// queueView is one topic as supervisors see it.
type queueView struct {
	Topic   string          `json:"topic"`
	Name    string          `json:"name"`
	Waiting int             `json:"waiting"`
	Callers []queue.Waiting `json:"callers"`
}

// Queues lists every configured topic with its waiting callers.
func (s *redisState) Queues(ctx context.Context) (any, error) {
	cfg := s.cfg.Load()
	ids := make([]string, 0, len(cfg.Topics))
	for id := range cfg.Topics {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]queueView, 0, len(ids))
	for _, id := range ids {
		ws, err := s.queue.List(ctx, id, 100)
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return nil, err
		}
		n, err := s.queue.Len(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, queueView{Topic: id, Name: cfg.Topics[id].Name, Waiting: n, Callers: ws})
	}
	return out, nil
}

// Records returns the latest call records, newest first.
func (s *redisState) Records(ctx context.Context, n int) (any, error) {
	return s.records.Latest(ctx, int64(n))
}
