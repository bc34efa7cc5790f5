package callbacks

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Status is where a callback stands.
type Status string

// Open statuses come first; a callback in any other is closed for good.
const (
	StatusScheduled      Status = "scheduled"       // waiting for its due time
	StatusPromoting      Status = "promoting"       // taken for its topic queue, under a short lease
	StatusQueued         Status = "queued"          // in its topic queue as caller "cb-<id>"
	StatusInFlight       Status = "in_flight"       // an attempt is being made, under a lease
	StatusReached        Status = "reached"         // a callback attempt reached the citizen
	StatusReachedInbound Status = "reached_inbound" // the citizen called in and was served
	StatusUnreached      Status = "unreached"       // attempts or time ran out
	StatusCancelled      Status = "cancelled"       // a supervisor cancelled it
	StatusRefused        Status = "refused"         // the number was refused (never stored as a callback)
)

// Open reports whether a callback in s is still owed.
func (s Status) Open() bool {
	return s == StatusScheduled || s == StatusPromoting || s == StatusQueued || s == StatusInFlight
}

// Reasons a callback is owed.
const (
	ReasonAbandoned      = "abandoned"       // hung up after the minimum wait
	ReasonDropped        = "dropped"         // the conversation dropped
	ReasonOperatorMarked = "operator_marked" // the operator marked the call "call back"
	ReasonVirtualHold    = "virtual_hold"    // took the offer to be called back, keeping their place
	ReasonNoService      = "no_service"      // after hours, queue full, waited too long
	ReasonOutage         = "outage"          // the hotline failed the call
)

// Results of an attempt (Attempt.Result).
const (
	ResultReached     = "reached"
	ResultNoAnswer    = "no_answer"
	ResultBusy        = "busy"
	ResultDeclined    = "declined"
	ResultRejected    = "rejected"
	ResultFailed      = "failed"
	ResultUnallocated = "unallocated" // the number does not exist: no retry
)

// finalResults end a callback at once: retrying cannot help.
var finalResults = map[string]bool{ResultUnallocated: true, "invalid_number": true}

// CallIDPrefix marks a callback's entry in a topic queue: "cb-<id>".
const CallIDPrefix = "cb-"

// Errors of the store, wrapped with the callback id.
var (
	ErrNotFound = errors.New("callbacks: no such callback")
	ErrClosed   = errors.New("callbacks: callback already closed")
	ErrBusy     = errors.New("callbacks: another attempt holds the callback")
	ErrNotHeld  = errors.New("callbacks: attempt not held by this call")
	ErrInvalid  = errors.New("callbacks: invalid request")
	// ErrDuplicate: the number already has an open callback in the topic
	// a callback was to move to (one open callback per number and topic).
	ErrDuplicate = errors.New("callbacks: the number already has an open callback in that topic")
)

// Calendar is when the centre is open; config.Hours satisfies it.
type Calendar interface {
	IsOpen(t time.Time) bool
	// NextOpen is the first open moment at or after t (zero: never).
	NextOpen(t time.Time) time.Time
}

// Rules schedule one topic's callbacks.
type Rules struct {
	Numbers NumberRules
	// Delays: the first is the wait before the first attempt (0: at once);
	// after attempt k fails the next is due Delays[min(k, len-1)] later,
	// moved into business hours. Default 2m, 10m, 30m, 2h.
	Delays []time.Duration
	// MaxAttempts counted attempts (citizen dialled) before unreached.
	// Default 4.
	MaxAttempts int
	// Expiry: how long after it first falls due a callback may be retried
	// before it is unreached; 0 never. Counting from the first due time,
	// not the request, keeps a Friday-night callback alive over a weekend.
	Expiry time.Duration
	// Bias is added to the queue time when the callback joins its queue:
	// positive puts callbacks behind inbound callers who arrived as early.
	Bias time.Duration
	// Calendar moves due times into business hours; nil is always open.
	Calendar Calendar
}

// DefaultDelays are the retry delays when Rules has none.
var DefaultDelays = []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// DefaultMaxAttempts is MaxAttempts when Rules has none.
const DefaultMaxAttempts = 4

func (r Rules) withDefaults() Rules {
	if len(r.Delays) == 0 {
		r.Delays = DefaultDelays
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	return r
}

// open moves t into business hours; a calendar that never opens leaves it.
func (r Rules) open(t time.Time) time.Time {
	if r.Calendar == nil {
		return t
	}
	if o := r.Calendar.NextOpen(t); !o.IsZero() {
		return o
	}
	return t
}

// NextDue is when the attempt after k failed attempts is due (k = 0: the
// first attempt of a new callback).
func (r Rules) NextDue(k int, now time.Time) time.Time {
	r = r.withDefaults()
	return r.open(now.Add(r.Delays[min(k, len(r.Delays)-1)]))
}

// Request asks for a callback.
type Request struct {
	RawNumber    string // caller id or keyed-in number: Normalize decides
	Topic        string
	Language     string
	Reason       string    // Reason* constant
	QueueTime    time.Time // the caller's original queue time; zero: now
	Priority     int
	SourceCallID string
	Note         string
}

// Attempt is one try to reach the citizen.
type Attempt struct {
	At      time.Time `json:"at"`
	CallID  string    `json:"call_id"`
	AgentID string    `json:"agent_id"`
	Result  string    `json:"result"` // Result* constant, or "interrupted"
	Cause   int       `json:"cause"`  // hang-up cause, 0 none
}

// Event is one entry of a callback's history.
type Event struct {
	At      time.Time `json:"-"`
	AtMs    int64     `json:"at"`
	Kind    string    `json:"kind"` // an Action kind
	Reason  string    `json:"reason,omitempty"`
	CallID  string    `json:"call,omitempty"`
	AgentID string    `json:"agent,omitempty"`
	Result  string    `json:"result,omitempty"`
	Cause   int       `json:"cause,omitempty"`
	Who     string    `json:"who,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Callback is one callback owed.
type Callback struct {
	ID           string        `json:"id"`
	Number       string        `json:"number"` // E.164, the output of Normalize
	Topic        string        `json:"topic"`
	Language     string        `json:"language"`
	Reasons      []string      `json:"reasons"`
	QueueTime    time.Time     `json:"queue_time"` // the caller's original queue time: it keeps its place
	Bias         time.Duration `json:"bias"`       // added to QueueTime in the queue (see Arrival)
	Priority     int           `json:"priority"`
	Status       Status        `json:"status"`
	Tries        int           `json:"tries"`    // counted attempts (the citizen was dialled)
	Attempts     []Attempt     `json:"attempts"` // every attempt, interrupted ones included
	History      []Event       `json:"history"`  // everything that happened to it, oldest first (capped)
	DueAt        time.Time     `json:"due_at"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	ExpiresAt    time.Time     `json:"expires_at"` // zero: never
	ClosedAt     time.Time     `json:"closed_at"`
	Note         string        `json:"note"`
	SourceCallID string        `json:"source_call_id"`
	Holder       string        `json:"holder"`   // the attempt call id holding it (in_flight)
	AgentID      string        `json:"agent_id"` // the operator of the current or last attempt
	LeaseUntil   time.Time     `json:"lease_until"`
}

// Arrival is the time to queue the callback at: its original queue time
// plus the topic's bias.
func (c Callback) Arrival() time.Time { return c.QueueTime.Add(c.Bias) }

// CallID is the callback's caller id in its topic queue: "cb-<id>".
func (c Callback) CallID() string { return CallIDPrefix + c.ID }

// Action is one thing that happened to a callback, for the audit hook.
type Action struct {
	At         time.Time
	Kind       string // scheduled merged refused promoted queued attempt_started attempt reached reached_inbound unreached cancelled moved moved_topic aborted interrupted
	CallbackID string
	Number     string
	Topic      string
	Reason     string // why: the request's reason, a refusal code, "expired", ...
	Status     Status // the callback's status after the action
	CallID     string
	AgentID    string
	Result     string
	Cause      int
	Who        string
	Detail     string
}

// Options tune New; zero values take the defaults.
type Options struct {
	// CountryCode normalises numbers for CloseInbound (config
	// centre.country_code).
	CountryCode string
	// Audit hears every action (e.g. to append it to the call records).
	// It is called synchronously after the change; keep it quick.
	Audit func(Action)
	// PromoteLease is how long a promoted callback may wait for MarkQueued
	// before RecoverExpired returns it; default 30s.
	PromoteLease time.Duration
	// QueuedRecheck is how long a queued callback waits in its topic queue
	// before RecoverExpired makes it due again, to be promoted (and found
	// still queued, or queued again) — so one whose queue entry vanished
	// without an attempt is not forgotten; default 15m.
	QueuedRecheck time.Duration
	// AttemptLease is how long an attempt holds a callback without Extend;
	// default 3m (ring the operator, whisper, ring the citizen).
	AttemptLease time.Duration
	// Retention keeps closed callbacks readable; default 7 days.
	Retention time.Duration
	// RefusedMaxLen caps the refused-number stream; default 1000.
	RefusedMaxLen int64
	// NewID makes callback ids; default 16 random hex digits.
	NewID func() string
}

// Store is one centre's callbacks in Redis.
type Store struct {
	rdb    redis.UniversalClient
	centre string
	keys   []string
	opt    Options
}

//go:embed lua/*.lua
var luaFS embed.FS

var cbLib = mustRead("lua/cblib.lua")

func mustRead(name string) string {
	b, err := luaFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func script(name string) *redis.Script {
	return redis.NewScript(rkeys.Lua(cbLib + "\n" + mustRead("lua/"+name)))
}

var (
	scheduleScript     = script("schedule.lua")
	promoteScript      = script("promote.lua")
	markQueuedScript   = script("mark_queued.lua")
	beginScript        = script("begin.lua")
	extendScript       = script("extend.lua")
	finishScript       = script("finish.lua")
	abortScript        = script("abort.lua")
	recoverScript      = script("recover.lua")
	closeInboundScript = script("close_inbound.lua")
	cancelScript       = script("cancel.lua")
	moveNowScript      = script("move_now.lua")
	moveTopicScript    = script("move_topic.lua")
)

// New returns the callbacks of centre.
func New(rdb redis.UniversalClient, centre string, opt Options) *Store {
	if opt.PromoteLease <= 0 {
		opt.PromoteLease = 30 * time.Second
	}
	if opt.QueuedRecheck <= 0 {
		opt.QueuedRecheck = 15 * time.Minute
	}
	if opt.AttemptLease <= 0 {
		opt.AttemptLease = 3 * time.Minute
	}
	if opt.Retention <= 0 {
		opt.Retention = 7 * 24 * time.Hour
	}
	if opt.RefusedMaxLen <= 0 {
		opt.RefusedMaxLen = 1000
	}
	if opt.NewID == nil {
		opt.NewID = randomID
	}
	return &Store{rdb: rdb, centre: centre, keys: []string{rkeys.Prefix(centre)}, opt: opt}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) audit(a Action) {
	if s.opt.Audit != nil {
		s.opt.Audit(a)
	}
}

func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) ([]any, error) {
	v, err := sc.Run(ctx, s.rdb, rkeys.OpKeys(ctx, s.centre, sc), args...).Slice()
	return v, err
}

// Schedule records a callback owed for req, or merges req into the open
// callback of the same number and topic (created is then false; reasons,
// notes and history are kept, and the earlier queue time). A number
// Normalize refuses is recorded with its reason in the refused stream and
// returned as an error wrapping the refusal (Reason(err) names it); the
// returned Callback then has Status refused and no number.
func (s *Store) Schedule(ctx context.Context, req Request, rules Rules, now time.Time) (Callback, bool, error) {
	switch {
	case !rkeys.ValidID(req.Topic):
		return Callback{}, false, fmt.Errorf("%w: call %s: bad topic %q", ErrInvalid, req.SourceCallID, req.Topic)
	case req.Language != "" && !rkeys.ValidID(req.Language):
		return Callback{}, false, fmt.Errorf("%w: call %s: bad language %q", ErrInvalid, req.SourceCallID, req.Language)
	case !rkeys.ValidID(req.Reason):
		return Callback{}, false, fmt.Errorf("%w: call %s: bad reason %q", ErrInvalid, req.SourceCallID, req.Reason)
	}
	rules = rules.withDefaults()
	number, err := Normalize(req.RawNumber, rules.Numbers)
	if err != nil {
		if rerr := s.refuse(ctx, req, err, now); rerr != nil {
			return Callback{}, false, fmt.Errorf("callbacks: recording refused number of call %s: %w (refused: %w)", req.SourceCallID, rerr, err)
		}
		return Callback{Topic: req.Topic, Language: req.Language, Reasons: []string{req.Reason}, Status: StatusRefused, SourceCallID: req.SourceCallID},
			false, fmt.Errorf("callbacks: call %s: %w", req.SourceCallID, err)
	}
	qtime := req.QueueTime
	if qtime.IsZero() {
		qtime = now
	}
	due := rules.NextDue(0, now)
	if req.Reason == ReasonVirtualHold {
		// The citizen keeps a place in line: the queue decides when.
		due = now
	}
	v, err := s.run(ctx, scheduleScript, rkeys.Ms(now), s.opt.NewID(), number, req.Topic, req.Language, req.Reason,
		rkeys.Ms(qtime), req.Priority, req.SourceCallID, oneLine(req.Note, 200), rkeys.Ms(due),
		rules.Expiry.Milliseconds(), rules.Bias.Milliseconds())
	if err != nil {
		return Callback{}, false, fmt.Errorf("callbacks: schedule for call %s: %w", req.SourceCallID, err)
	}
	created, id := num(v[0]) == 1, str(v[1])
	kind := "merged"
	if created {
		kind = "scheduled"
	}
	cb, err := s.Get(ctx, id)
	if err != nil {
		return Callback{}, created, err
	}
	s.audit(Action{At: now, Kind: kind, CallbackID: id, Number: number, Topic: req.Topic, Reason: req.Reason,
		Status: cb.Status, CallID: req.SourceCallID, Detail: req.Note})
	return cb, created, nil
}

// refuse records a refused number in the capped stream.
func (s *Store) refuse(ctx context.Context, req Request, why error, now time.Time) error {
	code := Reason(why)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{
			Stream: rkeys.CallbacksRefused(s.centre), MaxLen: s.opt.RefusedMaxLen, Approx: true,
			Values: []any{
				"at", rkeys.Ms(now), "raw", strconv.QuoteToASCII(clip(req.RawNumber)), "reason", code,
				"detail", why.Error(), "topic", req.Topic, "request", req.Reason, "call", req.SourceCallID,
			},
		})
		p.HIncrBy(ctx, rkeys.CallbackCounts(s.centre), string(StatusRefused), 1)
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(Action{At: now, Kind: "refused", Topic: req.Topic, Reason: code, Status: StatusRefused,
		CallID: req.SourceCallID, Detail: why.Error()})
	return nil
}

// Refusal is one refused number as recorded.
type Refusal struct {
	At      time.Time `json:"at"`
	Raw     string    `json:"raw"`    // the raw input, Go-quoted and clipped (it is hostile text)
	Reason  string    `json:"reason"` // Reason code
	Detail  string    `json:"detail"`
	Topic   string    `json:"topic"`
	Request string    `json:"request"` // the reason the callback was asked for
	CallID  string    `json:"call_id"`
}

// Refused returns the most recent refusals, newest first.
func (s *Store) Refused(ctx context.Context, limit int64) ([]Refusal, error) {
	xs, err := s.rdb.XRevRangeN(ctx, rkeys.CallbacksRefused(s.centre), "+", "-", limit).Result()
	if err != nil {
		return nil, fmt.Errorf("callbacks: refused: %w", err)
	}
	out := make([]Refusal, 0, len(xs))
	for _, x := range xs {
		g := func(k string) string { v, _ := x.Values[k].(string); return v }
		ms, _ := strconv.ParseInt(g("at"), 10, 64)
		out = append(out, Refusal{At: rkeys.FromMs(ms), Raw: g("raw"), Reason: g("reason"), Detail: g("detail"),
			Topic: g("topic"), Request: g("request"), CallID: g("call")})
	}
	return out, nil
}

// NextDeadline is when Promote or RecoverExpired next has something to do:
// the earliest due time or attempt lease; ok is false when there is none.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	return rkeys.Earliest(ctx, s.rdb, rkeys.CallbacksDue(s.centre), rkeys.CallbackLeases(s.centre))
}

// Promote takes at most limit due callbacks for dispatch: each becomes
// promoting under a short lease and is returned. The router enqueues each
// (CallID(), Arrival(), Priority) and then calls MarkQueued; if it dies in
// between, RecoverExpired makes the callback due again, and the second
// enqueue finds it already queued. Callbacks found past their expiry
// become unreached instead. Concurrent promoters never get the same one.
func (s *Store) Promote(ctx context.Context, now time.Time, limit int) ([]Callback, error) {
	if limit <= 0 {
		limit = 100
	}
	v, err := s.run(ctx, promoteScript, rkeys.Ms(now), s.opt.PromoteLease.Milliseconds(), limit, s.opt.Retention.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("callbacks: promote: %w", err)
	}
	s.auditIDs(ctx, strs(v[1]), now, "unreached", "expired")
	out, err := s.getMany(ctx, strs(v[0]))
	for _, cb := range out {
		s.audit(actionOf(cb, now, "promoted"))
	}
	return out, err
}

// MarkQueued confirms a promoted callback is in its topic queue.
// Idempotent; ErrClosed when it was closed meanwhile (take "cb-<id>" out of
// the queue), ErrBusy when an attempt already holds it.
func (s *Store) MarkQueued(ctx context.Context, id string, now time.Time) error {
	v, err := s.run(ctx, markQueuedScript, rkeys.Ms(now), id, s.opt.QueuedRecheck.Milliseconds())
	if err != nil {
		return fmt.Errorf("callbacks: mark %s queued: %w", id, err)
	}
	switch num(v[0]) {
	case 1:
		s.auditID(ctx, id, now, "queued", "")
		return nil
	case 0:
		return nil
	case -1:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if st := Status(str(v[1])); !st.Open() {
		return fmt.Errorf("%w: %s is %s", ErrClosed, id, st)
	}
	return fmt.Errorf("%w: %s is %s", ErrBusy, id, str(v[1]))
}

// Begin starts an attempt by callID (the attempt's own call id) with
// agentID's operator: the callback becomes in_flight under a lease and is
// returned. ErrBusy when another holder's lease is live (no double dial);
// ErrClosed when it is no longer owed; Begin by the same callID again
// renews the lease.
func (s *Store) Begin(ctx context.Context, id, callID, agentID string, now time.Time) (Callback, error) {
	v, err := s.run(ctx, beginScript, rkeys.Ms(now), id, callID, agentID, s.opt.AttemptLease.Milliseconds())
	if err != nil {
		return Callback{}, fmt.Errorf("callbacks: begin %s by %s: %w", id, callID, err)
	}
	switch num(v[0]) {
	case -1:
		return Callback{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return Callback{}, fmt.Errorf("%w: %s is %s", ErrClosed, id, str(v[1]))
	case -3:
		return Callback{}, fmt.Errorf("%w: %s is held by %s", ErrBusy, id, str(v[2]))
	}
	cb, err := s.Get(ctx, id)
	if err != nil {
		return Callback{}, err
	}
	if num(v[0]) == 1 {
		a := actionOf(cb, now, "attempt_started")
		a.CallID, a.AgentID = callID, agentID
		s.audit(a)
	}
	return cb, nil
}

// Extend renews callID's lease on an attempt; ErrNotHeld when it is not
// (or no longer) callID's.
func (s *Store) Extend(ctx context.Context, id, callID string, now time.Time) error {
	n, err := extendScript.Run(ctx, s.rdb, rkeys.OpKeys(ctx, s.centre, extendScript), rkeys.Ms(now), id, callID, s.opt.AttemptLease.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("callbacks: extend %s by %s: %w", id, callID, err)
	}
	switch n {
	case -1:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return fmt.Errorf("%w: %s by %s", ErrNotHeld, id, callID)
	}
	return nil
}

// Finish records an attempt's result. reached closes the callback (even
// from an attempt whose lease had lapsed: the citizen was reached); any
// other result, from the holder (same call id, or the same operator),
// counts an attempt and schedules the next at rules' delay in business
// hours, or makes it unreached after MaxAttempts, past its expiry, or on a
// result that rules out retrying (unallocated). Returns the callback after.
func (s *Store) Finish(ctx context.Context, id string, a Attempt, rules Rules, now time.Time) (Callback, error) {
	rules = rules.withDefaults()
	if a.Result == "" {
		a.Result = ResultFailed
	}
	final := "0"
	if finalResults[a.Result] {
		final = "1"
	}
	args := []any{rkeys.Ms(now), id, a.CallID, a.AgentID, a.Result, a.Cause, final, rules.MaxAttempts, s.opt.Retention.Milliseconds()}
	for k := 1; k < rules.MaxAttempts; k++ {
		args = append(args, rkeys.Ms(rules.NextDue(k, now)))
	}
	v, err := s.run(ctx, finishScript, args...)
	if err != nil {
		return Callback{}, fmt.Errorf("callbacks: finish %s (%s): %w", id, a.Result, err)
	}
	switch num(v[0]) {
	case -1:
		return Callback{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return Callback{}, fmt.Errorf("%w: %s is %s", ErrClosed, id, str(v[1]))
	case -4:
		return Callback{}, fmt.Errorf("%w: %s by %s/%s (%s)", ErrNotHeld, id, a.CallID, a.AgentID, str(v[1]))
	}
	cb, err := s.Get(ctx, id)
	if err != nil {
		return Callback{}, err
	}
	act := actionOf(cb, now, "attempt")
	act.CallID, act.AgentID, act.Result, act.Cause = a.CallID, a.AgentID, a.Result, a.Cause
	s.audit(act)
	switch cb.Status {
	case StatusReached:
		s.audit(actionOf(cb, now, "reached"))
	case StatusUnreached:
		u := actionOf(cb, now, "unreached")
		u.Reason = lastReason(cb, "unreached")
		s.audit(u)
	}
	return cb, nil
}

// Abort ends an attempt that never reached the citizen's phone (the
// operator did not answer, or left before the citizen answered): no
// attempt is counted and the callback is due again at once. callID ""
// accepts any holder.
func (s *Store) Abort(ctx context.Context, id, callID, reason string, now time.Time) error {
	n, err := abortScript.Run(ctx, s.rdb, rkeys.OpKeys(ctx, s.centre, abortScript), rkeys.Ms(now), id, callID, reason).Int64()
	if err != nil {
		return fmt.Errorf("callbacks: abort %s: %w", id, err)
	}
	switch n {
	case -1:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return fmt.Errorf("%w: %s", ErrClosed, id)
	case -4:
		return fmt.Errorf("%w: %s by %s", ErrNotHeld, id, callID)
	case 1:
		s.auditID(ctx, id, now, "aborted", reason)
	}
	return nil
}

// RecoverExpired returns promoting and in-flight callbacks whose lease
// ended (their router died or forgot them) to scheduled, due now, with an
// "interrupted" attempt in their history, and queued ones past their
// recheck (see Options.QueuedRecheck); those past expiry become unreached.
// It returns the ids made due again. Run it every few seconds
// on any instance; the work per call is bounded.
func (s *Store) RecoverExpired(ctx context.Context, now time.Time) ([]string, error) {
	var recovered []string
	for range 10 {
		v, err := s.run(ctx, recoverScript, rkeys.Ms(now), 100, s.opt.Retention.Milliseconds())
		if err != nil {
			return recovered, fmt.Errorf("callbacks: recover: %w", err)
		}
		ids := strs(v[0])
		recovered = append(recovered, ids...)
		s.auditIDs(ctx, ids, now, "", "lease expired")
		s.auditIDs(ctx, strs(v[1]), now, "unreached", "expired")
		if num(v[2]) == 0 {
			break
		}
	}
	return recovered, nil
}

// CloseInbound closes rawNumber's open callbacks (of topic, or of every
// topic when topic is "") as reached_inbound: the citizen called in and
// was served. It returns the ids of those that may be in a topic queue
// (promoting, queued or scheduled): the router removes "cb-<id>" from the
// queue with dispatch.CallerGone. One in flight closes too; its attempt's
// Finish then gets ErrClosed. A number that does not normalise has no
// callbacks: nil, nil.
func (s *Store) CloseInbound(ctx context.Context, rawNumber, topic, callID string, now time.Time) ([]string, error) {
	number, err := toE164(rawNumber, s.opt.CountryCode)
	if err != nil {
		return nil, nil
	}
	v, err := s.run(ctx, closeInboundScript, rkeys.Ms(now), number, topic, callID, s.opt.Retention.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("callbacks: close %s inbound: %w", number, err)
	}
	var queued []string
	for _, e := range v {
		row := list(e)
		id, prev, t := str(row[0]), Status(str(row[1])), str(row[2])
		if prev != StatusInFlight {
			queued = append(queued, id)
		}
		s.audit(Action{At: now, Kind: "reached_inbound", CallbackID: id, Number: number, Topic: t,
			Status: StatusReachedInbound, CallID: callID, Detail: "was " + string(prev)})
	}
	return queued, nil
}

// Cancel closes an open callback as cancelled by who and returns the
// status it had: when promoting or queued, take "cb-<id>" out of its
// queue. ErrBusy while an attempt's lease is live; ErrClosed when already
// closed.
func (s *Store) Cancel(ctx context.Context, id, who string, now time.Time) (Status, error) {
	v, err := s.run(ctx, cancelScript, rkeys.Ms(now), id, who, s.opt.Retention.Milliseconds())
	if err != nil {
		return "", fmt.Errorf("callbacks: cancel %s: %w", id, err)
	}
	prev := Status(str(v[1]))
	switch num(v[0]) {
	case -1:
		return "", fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return prev, fmt.Errorf("%w: %s is %s", ErrClosed, id, prev)
	case -3:
		return prev, fmt.Errorf("%w: %s: an attempt is under way", ErrBusy, id)
	}
	s.auditWho(ctx, id, now, "cancelled", who)
	return prev, nil
}

// MoveNow makes a scheduled callback due now (a supervisor's "call back
// now"); one already promoting, queued or in flight is left as it is.
func (s *Store) MoveNow(ctx context.Context, id, who string, now time.Time) error {
	v, err := s.run(ctx, moveNowScript, rkeys.Ms(now), id, who)
	if err != nil {
		return fmt.Errorf("callbacks: move %s: %w", id, err)
	}
	switch num(v[0]) {
	case -1:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return fmt.Errorf("%w: %s is %s", ErrClosed, id, str(v[1]))
	case 1:
		s.auditWho(ctx, id, now, "moved", who)
	}
	return nil
}

// Move moves an open callback to topic for who (a supervisor): scheduled
// (waiting for its first attempt or for a retry after an unanswered one)
// or queued. It keeps its reasons, attempts, original queue time, priority
// and due time; one waiting in its old topic's queue leaves it in the same
// atomic step and is due now, so the next promotion queues it in topic at
// its original place (call the router's promotion after Move). Moving to
// the topic it is in already is a no-op. ErrBusy while it is on its way
// (promoting, in flight, or its queue entry offered to an operator): try
// again once that settled; ErrClosed when closed; ErrDuplicate when the
// number has another open callback in topic. The caller checks that topic
// is configured.
func (s *Store) Move(ctx context.Context, id, topic, who string, now time.Time) error {
	if !rkeys.ValidID(topic) {
		return fmt.Errorf("%w: move %s: bad topic %q", ErrInvalid, id, topic)
	}
	v, err := s.run(ctx, moveTopicScript, rkeys.Ms(now), id, topic, who)
	if err != nil {
		return fmt.Errorf("callbacks: move %s to %s: %w", id, topic, err)
	}
	prev, detail := Status(str(v[1])), str(v[2])
	switch num(v[0]) {
	case -1:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case -2:
		return fmt.Errorf("%w: %s is %s", ErrClosed, id, prev)
	case -3:
		if detail != "" {
			return fmt.Errorf("%w: %s: its queue entry is %s to an operator", ErrBusy, id, detail)
		}
		return fmt.Errorf("%w: %s is %s", ErrBusy, id, prev)
	case -5:
		return fmt.Errorf("%w: %s: callback %s is open for the same number in %s", ErrDuplicate, id, detail, topic)
	case 1:
		if s.opt.Audit != nil {
			if cb, err := s.Get(ctx, id); err == nil {
				a := actionOf(cb, now, "moved_topic")
				a.Who, a.Detail = who, "from "+detail+" (was "+string(prev)+")"
				s.audit(a)
			}
		}
	}
	return nil
}

// Get returns one callback with its attempts and history.
func (s *Store) Get(ctx context.Context, id string) (Callback, error) {
	cbs, err := s.getMany(ctx, []string{id})
	if err != nil {
		return Callback{}, err
	}
	if len(cbs) == 0 {
		return Callback{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return cbs[0], nil
}

// getMany reads callbacks in one round trip, leaving out missing ones.
func (s *Store) getMany(ctx context.Context, ids []string) ([]Callback, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(ids))
	ls := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		hs[i] = p.HGetAll(ctx, rkeys.Callback(s.centre, id))
		ls[i] = p.LRange(ctx, rkeys.CallbackLog(s.centre, id), 0, -1)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("callbacks: read %d callbacks: %w", len(ids), err)
	}
	out := make([]Callback, 0, len(ids))
	for i, id := range ids {
		h := hs[i].Val()
		if len(h) == 0 {
			continue
		}
		cb, err := decode(id, h, ls[i].Val())
		if err != nil {
			return out, err
		}
		out = append(out, cb)
	}
	return out, nil
}

func decode(id string, h map[string]string, log []string) (Callback, error) {
	i := func(k string) int64 { n, _ := strconv.ParseInt(h[k], 10, 64); return n }
	cb := Callback{
		ID: id, Number: h["number"], Topic: h["topic"], Language: h["lang"],
		QueueTime: rkeys.FromMs(i("qtime")), Bias: time.Duration(i("bias")) * time.Millisecond,
		Priority: int(i("prio")), Status: Status(h["status"]), Tries: int(i("tries")),
		DueAt: rkeys.FromMs(i("due")), CreatedAt: rkeys.FromMs(i("created")), UpdatedAt: rkeys.FromMs(i("updated")),
		ExpiresAt: rkeys.FromMs(i("expires")), ClosedAt: rkeys.FromMs(i("closed")),
		Note: h["note"], SourceCallID: h["src"], Holder: h["holder"], AgentID: h["agent"],
		LeaseUntil: rkeys.FromMs(i("lease")),
	}
	if r := h["reasons"]; r != "" {
		cb.Reasons = strings.Split(r, ",")
	}
	// Defence in depth: only Normalize's output is stored, but what comes
	// back from Redis goes into a dial string, so check it again.
	if !IsE164(cb.Number) {
		return cb, fmt.Errorf("callbacks: %s holds %q, not an E.164 number; refusing to return it", id, clip(cb.Number))
	}
	for _, l := range log {
		var e Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			continue
		}
		e.At = rkeys.FromMs(e.AtMs)
		cb.History = append(cb.History, e)
		if e.Kind == "attempt" || e.Kind == "interrupted" {
			res := e.Result
			if res == "" {
				res = e.Kind
			}
			cb.Attempts = append(cb.Attempts, Attempt{At: e.At, CallID: e.CallID, AgentID: e.AgentID, Result: res, Cause: e.Cause})
		}
	}
	return cb, nil
}

// Filter selects callbacks for List.
type Filter struct {
	Status []Status // default: every open status
	Topic  string   // "" every topic
}

// List returns at most limit callbacks matching f: open ones sorted by due
// time (soonest first), closed ones (when asked for) most recent first,
// each with its attempts and reasons.
func (s *Store) List(ctx context.Context, f Filter, limit int) ([]Callback, error) {
	if limit <= 0 {
		limit = 100
	}
	want := map[Status]bool{}
	openWanted, closedWanted := len(f.Status) == 0, false
	for _, st := range f.Status {
		want[st] = true
		if st.Open() {
			openWanted = true
		} else {
			closedWanted = true
		}
	}
	if len(f.Status) == 0 {
		for _, st := range []Status{StatusScheduled, StatusPromoting, StatusQueued, StatusInFlight} {
			want[st] = true
		}
	}
	var out []Callback
	scan := func(key string, rev bool) error {
		const batch = 200
		for start := int64(0); len(out) < limit && start < 20*batch; start += batch {
			var ids []string
			var err error
			if rev {
				ids, err = s.rdb.ZRevRange(ctx, key, start, start+batch-1).Result()
			} else {
				ids, err = s.rdb.ZRange(ctx, key, start, start+batch-1).Result()
			}
			if err != nil {
				return fmt.Errorf("callbacks: list: %w", err)
			}
			cbs, err := s.getMany(ctx, ids)
			if err != nil {
				return err
			}
			for _, cb := range cbs {
				if want[cb.Status] && (f.Topic == "" || cb.Topic == f.Topic) && len(out) < limit {
					out = append(out, cb)
				}
			}
			if len(ids) < batch {
				break
			}
		}
		return nil
	}
	if openWanted {
		if err := scan(rkeys.CallbacksOpen(s.centre), false); err != nil {
			return out, err
		}
	}
	if closedWanted {
		if err := scan(rkeys.CallbacksClosed(s.centre), true); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Counts are the centre's callback numbers.
type Counts struct {
	Scheduled      int64 `json:"scheduled"` // ever created (a merge counts once)
	Merged         int64 `json:"merged"`    // requests merged into an open callback
	Refused        int64 `json:"refused"`   // requests whose number was refused
	Attempts       int64 `json:"attempts"`  // counted attempts made
	Pending        int64 `json:"pending"`   // open now (the sum of the next four)
	Waiting        int64 `json:"waiting"`   // scheduled now
	Promoting      int64 `json:"promoting"`
	Queued         int64 `json:"queued"`
	InFlight       int64 `json:"in_flight"`
	Reached        int64 `json:"reached"`
	ReachedInbound int64 `json:"reached_inbound"`
	Unreached      int64 `json:"unreached"`
	Cancelled      int64 `json:"cancelled"`
}

// Counts returns the centre's callback counters.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	m, err := s.rdb.HGetAll(ctx, rkeys.CallbackCounts(s.centre)).Result()
	if err != nil {
		return Counts{}, fmt.Errorf("callbacks: counts: %w", err)
	}
	g := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	c := Counts{
		Scheduled: g("created"), Merged: g("merged"), Refused: g(string(StatusRefused)), Attempts: g("attempts"),
		Waiting: g(string(StatusScheduled)), Promoting: g(string(StatusPromoting)), Queued: g(string(StatusQueued)),
		InFlight: g(string(StatusInFlight)), Reached: g(string(StatusReached)), ReachedInbound: g(string(StatusReachedInbound)),
		Unreached: g(string(StatusUnreached)), Cancelled: g(string(StatusCancelled)),
	}
	c.Pending = c.Waiting + c.Promoting + c.Queued + c.InFlight
	return c, nil
}

// actionOf is an Action describing cb.
func actionOf(cb Callback, now time.Time, kind string) Action {
	return Action{At: now, Kind: kind, CallbackID: cb.ID, Number: cb.Number, Topic: cb.Topic,
		Reason: strings.Join(cb.Reasons, ","), Status: cb.Status, AgentID: cb.AgentID}
}

func (s *Store) auditID(ctx context.Context, id string, now time.Time, kind, reason string) {
	s.auditIDs(ctx, []string{id}, now, kind, reason)
}

func (s *Store) auditIDs(ctx context.Context, ids []string, now time.Time, kind, reason string) {
	if s.opt.Audit == nil || len(ids) == 0 {
		return
	}
	cbs, _ := s.getMany(ctx, ids)
	for _, cb := range cbs {
		k := kind
		if k == "" && len(cb.History) > 0 {
			k = cb.History[len(cb.History)-1].Kind // what the script logged
		}
		a := actionOf(cb, now, k)
		if reason != "" {
			a.Reason = reason
		}
		s.audit(a)
	}
}

func (s *Store) auditWho(ctx context.Context, id string, now time.Time, kind, who string) {
	if s.opt.Audit == nil {
		return
	}
	if cb, err := s.Get(ctx, id); err == nil {
		a := actionOf(cb, now, kind)
		a.Who = who
		s.audit(a)
	}
}

// lastReason is the reason of the latest event of kind.
func lastReason(cb Callback, kind string) string {
	for i := len(cb.History) - 1; i >= 0; i-- {
		if cb.History[i].Kind == kind {
			return cb.History[i].Reason
		}
	}
	return ""
}

// oneLine makes free text safe to store: one line, at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string { s, _ := v.(string); return s }

func num(v any) int64 { n, _ := v.(int64); return n }

func strs(v any) []string {
	l := list(v)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, str(e))
	}
	return out
}
