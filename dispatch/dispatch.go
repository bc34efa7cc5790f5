// Package dispatch makes the routing decision: it pairs one waiting caller
// with one ready operator in a single atomic Redis script, or does nothing.
// A pair becomes a Reservation with a lease; the reservation ends in
// Answered, NoAnswer, CallerGone, or — when its holder vanished — lease
// expiry found by RecoverExpired. A caller is never offered to two
// operators and an operator never holds two callers, because every state
// change of both sides happens inside one script.
//
// Nothing polls. The router calls dispatch on events, and each call that
// frees a caller or an operator also tries to match it in the same script,
// returning the reservations it made. The router must offer (ring) every
// Reservation any call returns:
//
//	caller chose a topic in the IVR      EnqueueAndClaim (or queue.Enqueue + ClaimForTopic)
//	operator logs in / unpauses          Ready (or agents.Ready/Login + ClaimForAgent)
//	operator's phone answered the offer  Answered
//	ring timeout / decline / busy        NoAnswer (maxMisses from config)
//	operator endpoint not registered     Unreachable
//	ring longer than the lease           Extend, before the lease ends
//	caller hung up (waiting or ringing)  CallerGone
//	operator's call ended                Ended (wrap-up length from the topic)
//	wrap-up timer fired / "ready" button WrapUpDone / Ready
//	at the next deadline, on any instance  RecoverExpired (leases and wrap-ups)
//
// Selection, by each topic's Rule (SetRules puts them in Redis): for a
// caller, the ready operator with the topic's skill that the topic's
// Selection picks — BestLevel: the highest skill level, ties to the
// longest idle; Weighted: the greatest idle time + level × LevelWeight —
// preferring one who speaks the caller's language (a second look-up on a
// per-language index; never makes the caller wait for a speaker). For an
// operator, the caller with the highest effective priority over the topics
// its skills serve, then the earliest arrival: priority + time waited /
// Ageing for a topic with ageing, the priority alone otherwise.
package dispatch

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Caller is one caller to enqueue (the same type as queue.Caller).
type Caller = rkeys.CallerRecord

var (
	// ErrNotReserved: the reservation is not (or no longer) the operator's,
	// e.g. it expired and was recovered or re-offered.
	ErrNotReserved = errors.New("dispatch: reservation not held")
	// ErrUnknownCall: no such caller (hung up, ended, never queued).
	ErrUnknownCall = errors.New("dispatch: unknown call")
	// ErrUnknownAgent: no such operator registered.
	ErrUnknownAgent = errors.New("dispatch: unknown operator")
	// ErrBadTransition: the operator's state does not allow this (e.g.
	// Ended while not on a call, Ready while ringing).
	ErrBadTransition = errors.New("dispatch: transition not allowed")
	// ErrExists: EnqueueAndClaim for a call id already known.
	ErrExists = errors.New("dispatch: call already queued")
	// ErrFull: the topic queue holds MaxQueue callers already.
	ErrFull = errors.New("dispatch: topic queue full")
	// ErrInvalid: a malformed caller.
	ErrInvalid = errors.New("dispatch: invalid caller")
)

// Reservation is one caller offered to one operator until Expires.
type Reservation struct {
	CallID   string
	AgentID  string
	Endpoint string // the operator's endpoint to ring, e.g. PJSIP/1001
	Topic    string
	// Seq is the caller's offer number; it tells a re-offer of the same
	// caller to the same operator from a stale one. 0 in a Reservation
	// passed to Answered/NoAnswer/Extend matches any live offer of CallID
	// to AgentID (for callers that kept only the ids).
	Seq     int64
	Expires time.Time
}

func (r Reservation) String() string {
	return fmt.Sprintf("%s→%s#%d", r.CallID, r.AgentID, r.Seq)
}

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script { return rkeys.Script(luaFS, name) }

var (
	enqueueClaimScript = script("enqueue_claim.lua")
	claimTopicScript   = script("claim_topic.lua")
	claimAgentScript   = script("claim_agent.lua")
	readyScript        = script("ready.lua")
	answeredScript     = script("answered.lua")
	noAnswerScript     = script("noanswer.lua")
	extendScript       = script("extend.lua")
	callerGoneScript   = script("caller_gone.lua")
	endedScript        = script("ended.lua")
	wrapUpDoneScript   = script("wrapup_done.lua")
	wrapUpExtendScript = script("wrapup_extend.lua")
	recoverScript      = script("recover.lua")
	releaseScript      = script("release.lua")
	rulesScript        = script("rules.lua")
)

// Selection is how a topic picks among the free operators with its skill.
type Selection string

const (
	// BestLevel: the highest skill level wins; among equals, the longest
	// idle. The default.
	BestLevel Selection = "best_level"
	// Weighted: the greatest idle time + level × Rule.LevelWeight wins (ties
	// to the higher level), so an operator one level lower who has been
	// idle LevelWeight longer draws level.
	Weighted Selection = "weighted"
)

// Rule is one topic's routing rule (config topics.<id>.selection,
// level_weight, priority_ageing).
type Rule struct {
	Selection Selection
	// LevelWeight is the idle time one skill level is worth (Weighted).
	LevelWeight time.Duration
	// Ageing: a waiting caller's effective priority grows by one per
	// Ageing waited, so a low-priority topic is not starved at peak; 0 is
	// none (priority, then arrival).
	Ageing time.Duration
}

// SetRules puts rules (topic id -> Rule) in force in Redis for every
// instance's next match, replacing the previous set; a topic without a rule
// routes by BestLevel without ageing. Idempotent: run it at start and on
// each reload. One round trip.
func (d *Dispatcher) SetRules(ctx context.Context, rules map[string]Rule) error {
	args := make([]any, 0, 2*len(rules))
	for _, topic := range slices.Sorted(maps.Keys(rules)) {
		r := rules[topic]
		sel := r.Selection
		if sel == "" {
			sel = BestLevel
		}
		switch {
		case !rkeys.ValidID(topic):
			return fmt.Errorf("%w: rules: bad topic %q", ErrInvalid, topic)
		case sel != BestLevel && sel != Weighted:
			return fmt.Errorf("%w: rules: topic %s: unknown selection %q", ErrInvalid, topic, sel)
		case r.LevelWeight < 0 || r.Ageing < 0:
			return fmt.Errorf("%w: rules: topic %s: negative level weight or ageing", ErrInvalid, topic)
		}
		args = append(args, topic, rkeys.RoutingRule(string(sel), r.LevelWeight, r.Ageing))
	}
	if err := rulesScript.Run(ctx, d.rdb, d.keys, args...).Err(); err != nil {
		return fmt.Errorf("dispatch: set routing rules: %w", err)
	}
	return nil
}

// Dispatcher makes routing decisions for one centre.
type Dispatcher struct {
	rdb    redis.UniversalClient
	centre string
	keys   []string
	leaseD time.Duration
	leaseM int64
}

// New returns the dispatcher of centre; lease is how long a reservation
// lives without Answered/NoAnswer/Extend (config agents.reservation_lease;
// longer than the ring timeout).
func New(rdb redis.UniversalClient, centre string, lease time.Duration) *Dispatcher {
	return &Dispatcher{rdb: rdb, centre: centre, keys: []string{rkeys.Prefix(centre)}, leaseD: lease, leaseM: lease.Milliseconds()}
}

func (d *Dispatcher) run(ctx context.Context, s *redis.Script, now time.Time, args ...any) ([]any, error) {
	v, err := s.Run(ctx, d.rdb, rkeys.OpKeys(ctx, d.centre, s), append([]any{rkeys.Ms(now), d.leaseM}, args...)...).Slice()
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Enqueued is EnqueueAndClaim's result.
type Enqueued struct {
	Position     int           // 1-based place in the topic queue before matching
	Reservations []Reservation // 0 or 1; may name another caller of the topic
}

// EnqueueAndClaim queues c and offers the caller the topic serves next
// (c, or one ahead of it) to the ready operator the topic's rule picks, in
// the same script: one round trip for a routed call.
func (d *Dispatcher) EnqueueAndClaim(ctx context.Context, c Caller, now time.Time) (Enqueued, error) {
	if err := c.Check(); err != nil {
		return Enqueued{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	v, err := d.run(ctx, enqueueClaimScript, now, rkeys.CallerArgv(c)...)
	if err != nil {
		return Enqueued{}, fmt.Errorf("dispatch: enqueue %s: %w", c.CallID, err)
	}
	switch code := num(v[0]); code {
	case -1:
		return Enqueued{}, fmt.Errorf("%w: %s", ErrExists, c.CallID)
	case -3:
		return Enqueued{}, fmt.Errorf("%w: %s (call %s)", ErrFull, c.Topic, c.CallID)
	default:
		return Enqueued{Position: int(code), Reservations: reservations(v[1])}, nil
	}
}

// ClaimForTopic offers the caller topic serves next to the ready operator
// with its skill that the topic's rule picks. Use after queue.Enqueue; EnqueueAndClaim does both.
func (d *Dispatcher) ClaimForTopic(ctx context.Context, topic string, now time.Time) ([]Reservation, error) {
	v, err := d.run(ctx, claimTopicScript, now, topic)
	if err != nil {
		return nil, fmt.Errorf("dispatch: claim for topic %s: %w", topic, err)
	}
	return reservations(v), nil
}

// ClaimForAgent offers a ready operator the caller served next (effective
// priority, then arrival) among the topics of its skills. Use after agents.Ready or
// agents.Login; Ready does both.
func (d *Dispatcher) ClaimForAgent(ctx context.Context, agentID string, now time.Time) ([]Reservation, error) {
	v, err := d.run(ctx, claimAgentScript, now, agentID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: claim for %s: %w", agentID, err)
	}
	if num(v[0]) == -1 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	return reservations(v[1]), nil
}

// Ready makes an operator ready (from offline, paused or wrap_up; no-op if
// ready) and offers it the best waiting caller, atomically.
// ErrBadTransition while reserved or on a call.
func (d *Dispatcher) Ready(ctx context.Context, agentID string, now time.Time) ([]Reservation, error) {
	v, err := d.run(ctx, readyScript, now, agentID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: ready %s: %w", agentID, err)
	}
	switch num(v[0]) {
	case -1:
		return nil, fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	case -2:
		return nil, fmt.Errorf("%w: %s: ready while %s", ErrBadTransition, agentID, str(v[1]))
	}
	return reservations(v[2]), nil
}

func (d *Dispatcher) resvErr(code int64, op string, r Reservation) error {
	switch code {
	case -1:
		return fmt.Errorf("%w: %s (%s %s)", ErrUnknownCall, r.CallID, op, r)
	case -2:
		return fmt.Errorf("%w: %s %s", ErrNotReserved, op, r)
	}
	return nil
}

// Answered turns reservation r into a connected call: operator on_call,
// caller connected, lease cleared, the operator's misses reset.
// ErrNotReserved if r is no longer the operator's (expired and recovered,
// or re-offered); ErrUnknownCall if the caller is gone.
func (d *Dispatcher) Answered(ctx context.Context, r Reservation, now time.Time) error {
	n, err := answeredScript.Run(ctx, d.rdb, rkeys.OpKeys(ctx, d.centre, answeredScript), rkeys.Ms(now), r.CallID, r.AgentID, r.Seq).Int64()
	if err != nil {
		return fmt.Errorf("dispatch: answered %s: %w", r, err)
	}
	return d.resvErr(n, "answered", r)
}

// NoAnswerResult is what NoAnswer did.
type NoAnswerResult struct {
	Paused       bool          // the operator reached maxMisses and is paused "no_answer"
	Reservations []Reservation // the freed caller and/or operator matched again
}

// NoAnswer ends offer r unanswered (ring timeout, decline, unreachable):
// the caller returns to its original queue position; the operator is ready
// again with idle-since = now (so others are tried first), or paused
// "no_answer" after maxMisses consecutive misses (0: never). The caller
// and operator are matched again at once.
func (d *Dispatcher) NoAnswer(ctx context.Context, r Reservation, maxMisses int, now time.Time) (NoAnswerResult, error) {
	v, err := d.run(ctx, noAnswerScript, now, r.CallID, r.AgentID, r.Seq, maxMisses, "miss")
	if err != nil {
		return NoAnswerResult{}, fmt.Errorf("dispatch: no answer %s: %w", r, err)
	}
	if err := d.resvErr(num(v[0]), "no answer", r); err != nil {
		return NoAnswerResult{}, err
	}
	return NoAnswerResult{Paused: num(v[1]) == 1, Reservations: reservations(v[2])}, nil
}

// Unreachable ends offer r because the operator's phone cannot be reached
// (not registered): the caller returns to its original position and is
// matched again; the operator goes offline with reason "unreachable" (no
// miss counted) until it logs in again.
func (d *Dispatcher) Unreachable(ctx context.Context, r Reservation, now time.Time) ([]Reservation, error) {
	v, err := d.run(ctx, noAnswerScript, now, r.CallID, r.AgentID, r.Seq, 0, "offline")
	if err != nil {
		return nil, fmt.Errorf("dispatch: unreachable %s: %w", r, err)
	}
	if err := d.resvErr(num(v[0]), "unreachable", r); err != nil {
		return nil, err
	}
	return reservations(v[2]), nil
}

// Extend renews r's lease to now + lease and returns r with the new expiry.
func (d *Dispatcher) Extend(ctx context.Context, r Reservation, now time.Time) (Reservation, error) {
	v, err := d.run(ctx, extendScript, now, r.CallID, r.AgentID, r.Seq)
	if err != nil {
		return r, fmt.Errorf("dispatch: extend %s: %w", r, err)
	}
	if err := d.resvErr(num(v[0]), "extend", r); err != nil {
		return r, err
	}
	r.Expires = rkeys.FromMs(num(v[1]))
	return r, nil
}

// Gone is what CallerGone found.
type Gone struct {
	// State before: "waiting" (removed), "offered" (operator released),
	// "connected" (nothing done: Ended will follow), "" unknown call.
	State        string
	AgentID      string        // the operator that held it, if any
	Reservations []Reservation // the released operator's next offer
}

// Release gives callID's offer back at once, as lease expiry would: the
// caller returns to its original place, the operator to ready without a
// miss, and both are matched again. For a router that knows the offer's
// ringing leg is gone (it restarted); a call not offered is left alone.
func (d *Dispatcher) Release(ctx context.Context, callID string, now time.Time) ([]Reservation, error) {
	v, err := d.run(ctx, releaseScript, now, callID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: release %s: %w", callID, err)
	}
	return reservations(v[1]), nil
}

// CallerGone handles a caller hanging up: out of the queue if waiting; if
// ringing, the operator is released at once (keeping its idle-since) and
// offered the next caller. Idempotent: an unknown call is no error.
func (d *Dispatcher) CallerGone(ctx context.Context, callID string, now time.Time) (Gone, error) {
	v, err := d.run(ctx, callerGoneScript, now, callID)
	if err != nil {
		return Gone{}, fmt.Errorf("dispatch: caller gone %s: %w", callID, err)
	}
	return Gone{State: str(v[0]), AgentID: str(v[1]), Reservations: reservations(v[2])}, nil
}

// Ended reports that operator agentID's call ended: on_call → wrap_up for
// wrapUp, or with wrapUp <= 0 straight to ready and offered the next
// caller. Updates the topic's average handle time. ErrBadTransition when
// the operator is not on a call.
func (d *Dispatcher) Ended(ctx context.Context, agentID string, wrapUp time.Duration, now time.Time) ([]Reservation, error) {
	return d.EndedCall(ctx, agentID, "", wrapUp, now)
}

// EndedCall is Ended for the conversation with callID only: when the
// operator is on another call by now (this end was reported late, or is a
// retry of one that took effect) it is ErrBadTransition and changes
// nothing.
func (d *Dispatcher) EndedCall(ctx context.Context, agentID, callID string, wrapUp time.Duration, now time.Time) ([]Reservation, error) {
	until := now.Add(max(0, wrapUp))
	v, err := d.run(ctx, endedScript, now, agentID, rkeys.Ms(until), callID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: ended %s (call %s): %w", agentID, callID, err)
	}
	switch num(v[0]) {
	case -1:
		return nil, fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	case -2:
		return nil, fmt.Errorf("%w: %s: ended while not on a call", ErrBadTransition, agentID)
	case -3:
		return nil, fmt.Errorf("%w: %s: call %s ended, but the operator is on %s", ErrBadTransition, agentID, callID, str(v[1]))
	}
	return reservations(v[2]), nil
}

// WrapUpDone ends an operator's wrap-up: ready, and offered the next
// caller. A no-op unless the operator is in wrap_up (a late timer racing
// RecoverExpired or a pause is harmless).
func (d *Dispatcher) WrapUpDone(ctx context.Context, agentID string, now time.Time) ([]Reservation, error) {
	return d.wrapUpDone(ctx, agentID, now, "now")
}

// WrapUpDue is WrapUpDone for a timer: a no-op too while the wrap-up's
// end (extended meanwhile, perhaps by another instance) is after now.
func (d *Dispatcher) WrapUpDue(ctx context.Context, agentID string, now time.Time) ([]Reservation, error) {
	return d.wrapUpDone(ctx, agentID, now, "due")
}

func (d *Dispatcher) wrapUpDone(ctx context.Context, agentID string, now time.Time, when string) ([]Reservation, error) {
	v, err := d.run(ctx, wrapUpDoneScript, now, agentID, when)
	if err != nil {
		return nil, fmt.Errorf("dispatch: wrap-up done %s: %w", agentID, err)
	}
	if num(v[0]) == -1 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	return reservations(v[1]), nil
}

// ExtendWrapUp makes agentID's wrap-up by longer, counted from its end
// as Redis holds it (whichever instance set it), or from now when that has
// passed, and returns the new end; ErrBadTransition when they are not in
// wrap-up.
func (d *Dispatcher) ExtendWrapUp(ctx context.Context, agentID string, by time.Duration, now time.Time) (time.Time, error) {
	v, err := d.run(ctx, wrapUpExtendScript, now, agentID, by.Milliseconds())
	if err != nil {
		return time.Time{}, fmt.Errorf("dispatch: extend wrap-up of %s: %w", agentID, err)
	}
	switch num(v[0]) {
	case -1:
		return time.Time{}, fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	case 0:
		return time.Time{}, fmt.Errorf("%w: %s is not in wrap-up", ErrBadTransition, agentID)
	}
	return time.UnixMilli(num(v[1])), nil
}

// Recovered is one reservation returned by lease expiry.
type Recovered struct {
	CallID, AgentID, Topic string
}

// Recovery is what RecoverExpired did.
type Recovery struct {
	Recovered    []Recovered   // expired reservations undone
	WrappedUp    []string      // operators whose wrap-up ended
	Reservations []Reservation // new offers for the freed callers/operators
}

// NextDeadline is when RecoverExpired next has something to do: the
// earliest reservation lease or wrap-up end; ok is false when there is
// none.
func (d *Dispatcher) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	return rkeys.Earliest(ctx, d.rdb, rkeys.Leases(d.centre), rkeys.WrapUps(d.centre))
}

// recoverBatch bounds one script's work.
const recoverBatch = 100

// RecoverExpired undoes every reservation whose lease ended by now (caller
// back to its original position, operator ready with its old idle-since,
// no miss counted), ends wrap-ups past their end, and matches what was
// freed. Run it from a loop on every instance (at NextDeadline, and every
// few seconds for what other instances add); it
// calls the script again while a batch was full.
func (d *Dispatcher) RecoverExpired(ctx context.Context, now time.Time) (Recovery, error) {
	var out Recovery
	for {
		v, err := d.run(ctx, recoverScript, now, recoverBatch)
		if err != nil {
			return out, fmt.Errorf("dispatch: recover: %w", err)
		}
		for _, row := range list(v[0]) {
			f := list(row)
			out.Recovered = append(out.Recovered, Recovered{CallID: str(f[0]), AgentID: str(f[1]), Topic: str(f[2])})
		}
		for _, a := range list(v[1]) {
			out.WrappedUp = append(out.WrappedUp, str(a))
		}
		out.Reservations = append(out.Reservations, reservations(v[2])...)
		if num(v[3]) != 1 {
			return out, nil
		}
	}
}

func reservations(v any) []Reservation {
	rows := list(v)
	if len(rows) == 0 {
		return nil
	}
	out := make([]Reservation, 0, len(rows))
	for _, row := range rows {
		f := list(row)
		if len(f) < 6 {
			continue
		}
		out = append(out, Reservation{
			CallID: str(f[0]), AgentID: str(f[1]), Seq: num(f[2]),
			Expires: rkeys.FromMs(num(f[3])), Topic: str(f[4]), Endpoint: str(f[5]),
		})
	}
	return out
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string { s, _ := v.(string); return s }

func num(v any) int64 { n, _ := v.(int64); return n }
