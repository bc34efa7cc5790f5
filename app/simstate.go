package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/router"
)

// SimState is the Redis state `hotline serve` drives — the same dispatch,
// agents and callbacks adapters over the same Lua scripts — handed to the
// staffing simulator (package sim), so that what it measures is what the
// live router does. Only the wiring package knows these concrete types.
type SimState struct {
	ACD       router.ACD
	Agents    router.Agents
	Callbacks router.Callbacks
	// Policy is each topic's callback rules for the router, as in serve.
	Policy func(topic string) router.CallbackPolicy

	state *redisState
	cfg   *config.Config
}

// NewSimState wires cfg's centre on rdb on the simulator's clock. newID makes callback ids (the
// simulator numbers them, so that a seed gives the same run twice); the
// callbacks audit trail is left out: the simulator keeps its records in
// memory, not in the stream.
func NewSimState(rdb redis.UniversalClient, cfg *config.Config, now func() time.Time, newID func() string) *SimState {
	st := newRedisState(rdb, cfg)
	st.now = now
	var ptr atomic.Pointer[config.Config]
	ptr.Store(cfg)
	cb := &callbackState{now: now, cfg: &ptr, store: callbacks.New(rdb, cfg.Centre.ID, callbacks.Options{
		CountryCode: cfg.Centre.CountryCode, NewID: newID,
	})}
	return &SimState{ACD: st, Agents: st, Callbacks: cb, Policy: cb.policy, state: st, cfg: cfg}
}

// Sync registers the config's operators in Redis, as serve does at start.
func (s *SimState) Sync(ctx context.Context) error {
	return s.state.sync(ctx, s.cfg)
}

// CallbackStatus is the status the callbacks store holds for id
// (scheduled, queued, …, reached, unreached), for the simulator's count of
// callbacks owed at the end of a day.
func (s *SimState) CallbackStatus(ctx context.Context, id string) (string, error) {
	cb, err := s.Callbacks.(*callbackState).store.Get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("callback %s: %w", id, err)
	}
	return string(cb.Status), nil
}
