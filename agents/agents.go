// Package agents keeps operators' presence in Redis: who exists (from
// config), their skills and languages, and their state — offline, ready,
// reserved (ringing), on_call, wrap_up, paused with a reason. Ready
// operators are indexed per skill (and per skill+language) by their level in
// the skill and then idle-since (rkeys.ReadyScore), which is what dispatch
// selects from by each topic's rule.
//
// This package applies the operator's own requests (log in, pause, ready,
// log out). The transitions of a call (reserve, answer, end, no-answer) are
// package dispatch's, in the same Redis records.
package agents

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// State is an operator's state.
type State string

const (
	Offline  State = "offline"
	Ready    State = "ready"
	Reserved State = "reserved" // a caller is offered: the phone rings
	OnCall   State = "on_call"
	WrapUp   State = "wrap_up"
	Paused   State = "paused" // Reason says why; "no_answer" after repeated misses
)

// ReasonNoAnswer is the pause reason set by dispatch after too many
// consecutive unanswered offers.
const ReasonNoAnswer = "no_answer"

var (
	// ErrBadTransition: the request is not allowed from the current state
	// (e.g. ready while on_call).
	ErrBadTransition = errors.New("agents: transition not allowed")
	// ErrUnknown: no operator with this id is registered.
	ErrUnknown = errors.New("agents: unknown operator")
	// ErrInvalid: an operator definition is malformed.
	ErrInvalid = errors.New("agents: invalid operator")
)

// Operator is one operator as configured.
type Operator struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Endpoint  string         `json:"endpoint"` // e.g. PJSIP/1001
	Skills    map[string]int `json:"skills"`   // skill -> level 1..10; dispatch's selection weighs it
	Languages []string       `json:"languages"`
}

// Agent is a snapshot of one operator.
type Agent struct {
	Operator
	State       State     `json:"state"`
	Reason      string    `json:"reason"`        // pause or logout reason
	Since       time.Time `json:"since"`         // when State was entered
	IdleSince   time.Time `json:"idle_since"`    // ready: the key for longest-idle selection
	CallID      string    `json:"call_id"`       // reserved/on_call: the call
	LeaseUntil  time.Time `json:"lease_until"`   // reserved: the reservation's expiry
	Misses      int       `json:"misses"`        // consecutive unanswered offers
	WrapUpUntil time.Time `json:"wrap_up_until"` // wrap_up: when it ends by itself
	PauseNext   string    `json:"pause_next"`    // pause with this reason once the call is over
}

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script { return rkeys.Script(luaFS, name) }

var (
	syncScript       = script("sync.lua")
	transitionScript = script("transition.lua")
)

// Registry is one centre's operators.
type Registry struct {
	rdb    redis.UniversalClient
	centre string
	keys   []string
}

// New returns the operator registry of centre.
func New(rdb redis.UniversalClient, centre string) *Registry {
	return &Registry{rdb: rdb, centre: centre, keys: []string{rkeys.Prefix(centre)}}
}

func (o Operator) check() error {
	if !rkeys.ValidID(o.ID) {
		return fmt.Errorf("%w: bad id %q", ErrInvalid, o.ID)
	}
	if len(o.Skills) == 0 {
		return fmt.Errorf("%w: %s has no skills", ErrInvalid, o.ID)
	}
	for s := range o.Skills {
		if !rkeys.ValidID(s) {
			return fmt.Errorf("%w: %s: bad skill %q", ErrInvalid, o.ID, s)
		}
	}
	for _, l := range o.Languages {
		if !rkeys.ValidID(l) {
			return fmt.Errorf("%w: %s: bad language %q", ErrInvalid, o.ID, l)
		}
	}
	return nil
}

// Sync registers ops: new operators start offline; existing ones keep
// their state, and their name, endpoint, skills and languages are updated
// (indexes rebuilt). Idempotent. Operators missing from ops are left as
// they are (log them out to stop routing to them). One pipeline.
func (r *Registry) Sync(ctx context.Context, ops []Operator, now time.Time) error {
	for _, o := range ops {
		if err := o.check(); err != nil {
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	// Load the scripts once so the pipelined EVALSHAs cannot miss.
	if err := syncScript.Load(ctx, r.rdb).Err(); err != nil {
		return fmt.Errorf("agents: sync: %w", err)
	}
	pipe := r.rdb.Pipeline()
	for _, o := range ops {
		skills := slices.Sorted(func(yield func(string) bool) {
			for s := range o.Skills {
				if !yield(s) {
					return
				}
			}
		})
		levels := make([]string, len(skills))
		for i, s := range skills {
			levels[i] = strconv.Itoa(o.Skills[s])
		}
		syncScript.EvalSha(ctx, pipe, r.keys, rkeys.Ms(now), o.ID, o.Name, o.Endpoint,
			strings.Join(skills, ","), strings.Join(levels, ","), strings.Join(o.Languages, ","))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("agents: sync: %w", err)
	}
	return nil
}

func (r *Registry) transition(ctx context.Context, id, op, reason string, now time.Time) error {
	v, err := transitionScript.Run(ctx, r.rdb, rkeys.OpKeys(ctx, r.centre, transitionScript), rkeys.Ms(now), id, op, reason).Slice()
	if err != nil {
		return fmt.Errorf("agents: %s %s: %w", op, id, err)
	}
	code, _ := v[0].(int64)
	before, _ := v[1].(string)
	switch code {
	case 0, 1:
		return nil
	case -1:
		return fmt.Errorf("%w: %s", ErrUnknown, id)
	default:
		return fmt.Errorf("%w: %s: %s while %s", ErrBadTransition, id, op, before)
	}
}

// Login: offline → ready (misses reset, idle since now); no-op when ready.
// The router should then call dispatch.ClaimForAgent — or use
// dispatch.Ready, which does both atomically.
func (r *Registry) Login(ctx context.Context, id string, now time.Time) error {
	return r.transition(ctx, id, "login", "", now)
}

// Logout: ready, paused or wrap_up → offline; no-op when offline.
// ErrBadTransition while reserved or on a call.
func (r *Registry) Logout(ctx context.Context, id, reason string, now time.Time) error {
	return r.transition(ctx, id, "logout", reason, now)
}

// Pause: ready, paused or wrap_up → paused with reason.
// ErrBadTransition while offline, reserved or on a call.
func (r *Registry) Pause(ctx context.Context, id, reason string, now time.Time) error {
	return r.transition(ctx, id, "pause", reason, now)
}

// Ready: offline, paused or wrap_up → ready (misses reset, idle since
// now); no-op when ready; ErrBadTransition while reserved or on a call.
// Follow with dispatch.ClaimForAgent, or use dispatch.Ready instead.
func (r *Registry) Ready(ctx context.Context, id string, now time.Time) error {
	return r.transition(ctx, id, "ready", "", now)
}

// PauseAfterCall: the operator on a call (reserved, on_call or in
// wrap-up) is paused with reason once it is over instead of made ready;
// reason "" takes the request back. ErrBadTransition in any other state.
func (r *Registry) PauseAfterCall(ctx context.Context, id, reason string, now time.Time) error {
	return r.transition(ctx, id, "pause_next", reason, now)
}

// Get returns a snapshot of operator id; ErrUnknown if not registered.
func (r *Registry) Get(ctx context.Context, id string) (Agent, error) {
	m, err := r.rdb.HGetAll(ctx, rkeys.Agent(r.centre, id)).Result()
	if err != nil {
		return Agent{}, fmt.Errorf("agents: get %s: %w", id, err)
	}
	if len(m) == 0 {
		return Agent{}, fmt.Errorf("%w: %s", ErrUnknown, id)
	}
	return decode(id, m), nil
}

// List returns every registered operator, sorted by id (two round trips).
func (r *Registry) List(ctx context.Context) ([]Agent, error) {
	ids, err := r.rdb.SMembers(ctx, rkeys.Agents(r.centre)).Result()
	if err != nil {
		return nil, fmt.Errorf("agents: list: %w", err)
	}
	sort.Strings(ids)
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, rkeys.Agent(r.centre, id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("agents: list: %w", err)
		}
	}
	out := make([]Agent, 0, len(ids))
	for i, id := range ids {
		if m := cmds[i].Val(); len(m) > 0 {
			out = append(out, decode(id, m))
		}
	}
	return out, nil
}

func decode(id string, m map[string]string) Agent {
	ms := func(f string) time.Time {
		n, _ := strconv.ParseInt(m[f], 10, 64)
		return rkeys.FromMs(n)
	}
	a := Agent{
		Operator: Operator{ID: id, Name: m["name"], Endpoint: m["endpoint"], Skills: map[string]int{}},
		State:    State(m["state"]), Reason: m["reason"], Since: ms("since"), IdleSince: ms("idle"),
		CallID: m["call"], LeaseUntil: ms("lease"), WrapUpUntil: ms("wrap"), PauseNext: m["pause_next"],
	}
	a.Misses, _ = strconv.Atoi(m["misses"])
	skills, levels := split(m["skills"]), split(m["levels"])
	for i, s := range skills {
		lvl := 0
		if i < len(levels) {
			lvl, _ = strconv.Atoi(levels[i])
		}
		a.Skills[s] = lvl
	}
	a.Languages = split(m["langs"])
	return a
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
