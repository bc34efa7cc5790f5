// Package queue keeps the callers waiting for an operator, one Redis sorted
// set per topic, ordered by priority (higher first) then arrival (earlier
// first). A caller keeps its original score for life, so one returned to the
// queue (ring timeout, lease expiry) goes back to exactly its old place.
//
// Matching callers to operators is package dispatch's job; queue adds,
// removes, and answers "where am I, how long, who is waiting".
package queue

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Caller is one waiting caller (shared with package dispatch).
type Caller = rkeys.CallerRecord

// State is a caller's routing state.
type State string

const (
	StateUnknown   State = ""          // no such call (never queued, abandoned or ended)
	StateWaiting   State = "waiting"   // in its topic queue
	StateOffered   State = "offered"   // reserved for an operator, ringing
	StateConnected State = "connected" // talking to an operator
)

var (
	// ErrExists: a caller with this call id is already known.
	ErrExists = errors.New("queue: call already queued")
	// ErrFull: the topic holds MaxQueue callers already.
	ErrFull = errors.New("queue: topic queue full")
	// ErrNotFound: no such call.
	ErrNotFound = errors.New("queue: call not found")
	// ErrInvalid: the caller record is malformed.
	ErrInvalid = errors.New("queue: invalid caller")
)

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script { return rkeys.Script(luaFS, name) }

var (
	enqueueScript  = script("enqueue.lua")
	removeScript   = script("remove.lua")
	positionScript = script("position.lua")
	listScript     = script("list.lua")
)

// Queue is one centre's topic queues.
type Queue struct {
	rdb        redis.UniversalClient
	centre     string
	keys       []string
	defaultAHT time.Duration
}

// New returns the queues of centre. defaultAHT is the handle time assumed
// for a topic before any call of it has ended (e.g. 3 minutes).
func New(rdb redis.UniversalClient, centre string, defaultAHT time.Duration) *Queue {
	return &Queue{rdb: rdb, centre: centre, keys: []string{rkeys.Prefix(centre)}, defaultAHT: defaultAHT}
}

// Enqueue adds c to its topic queue and returns its 1-based position.
// Prefer dispatch.EnqueueAndClaim on the call path: this one does not look
// for an operator, so the router must follow it with dispatch.ClaimForTopic.
func (q *Queue) Enqueue(ctx context.Context, c Caller, now time.Time) (int, error) {
	if err := c.Check(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	args := append([]any{rkeys.Ms(now)}, rkeys.CallerArgv(c)...)
	n, err := enqueueScript.Run(ctx, q.rdb, rkeys.OpKeys(ctx, q.centre, enqueueScript), args...).Int()
	if err != nil {
		return 0, fmt.Errorf("queue: enqueue %s: %w", c.CallID, err)
	}
	return enqueueResult(n, c.CallID, c.Topic)
}

// enqueueResult maps lib.lua's enqueue_caller code to a position or error.
func enqueueResult(code int, callID, topic string) (int, error) {
	switch {
	case code > 0:
		return code, nil
	case code == -1:
		return 0, fmt.Errorf("%w: %s", ErrExists, callID)
	case code == -3:
		return 0, fmt.Errorf("%w: %s (call %s)", ErrFull, topic, callID)
	}
	return 0, fmt.Errorf("queue: enqueue %s: unexpected code %d", callID, code)
}

// Removed says what Remove found.
type Removed struct {
	State   State  // StateWaiting: it was waiting and is now gone
	AgentID string // the operator holding it when Offered or Connected
}

// Remove takes a waiting caller out of its queue (abandon, overflow,
// transfer). A caller already offered or connected is left alone and
// reported with its operator: on hang-up use dispatch.CallerGone, which
// also frees the operator. An unknown call reports StateUnknown, no error.
func (q *Queue) Remove(ctx context.Context, callID string) (Removed, error) {
	v, err := removeScript.Run(ctx, q.rdb, rkeys.OpKeys(ctx, q.centre, removeScript), callID).StringSlice()
	if err != nil {
		return Removed{}, fmt.Errorf("queue: remove %s: %w", callID, err)
	}
	return Removed{State: State(v[0]), AgentID: v[1]}, nil
}

// Abandon is Remove under the name the caller's hang-up suggests.
func (q *Queue) Abandon(ctx context.Context, callID string) (Removed, error) {
	return q.Remove(ctx, callID)
}

// Position is where a caller stands.
type Position struct {
	State State
	Topic string
	// Pos is the 1-based place in the topic queue; 0 unless waiting.
	Pos int
	// EstimatedWait = Pos × AHT ÷ max(1, staffed), where AHT is the topic's
	// recent average handle time (talk + wrap-up, an EWMA updated by
	// dispatch.Ended; the default until a call has ended) and staffed counts
	// operators with the skill who are ready, ringing, talking or in
	// wrap-up. Cheap (one script, O(log n)) and deliberately rough: it
	// ignores callers of other topics competing for the same operators.
	EstimatedWait time.Duration
	AgentID       string // when offered or connected

	// What a router that did not start the call needs to resume it.
	Language   string
	QueueTime  time.Time // the caller's place: arrival in the queue (a callback's original time)
	EnqueuedAt time.Time // when this call joined the queue
	AnsweredAt time.Time // connected: when the operator answered; zero before
	IVRPath    string
	Number     string // the caller's number as queued ("" withheld)
	App        string // the Stasis application holding the caller's channel ("" before instances had one each)
}

// Position reports where callID stands and its estimated wait; ErrNotFound
// for an unknown call.
func (q *Queue) Position(ctx context.Context, callID string) (Position, error) {
	v, err := positionScript.Run(ctx, q.rdb, q.keys, callID).Slice()
	if err != nil {
		return Position{}, fmt.Errorf("queue: position %s: %w", callID, err)
	}
	if len(v) < 6 {
		return Position{}, fmt.Errorf("%w: %s", ErrNotFound, callID)
	}
	p := Position{State: State(str(v[0])), Topic: str(v[1]), Pos: int(num(v[2])), AgentID: str(v[3])}
	aht := time.Duration(num(v[4])) * time.Millisecond
	if aht <= 0 {
		aht = q.defaultAHT
	}
	p.EstimatedWait = EstimateWait(p.Pos, aht, int(num(v[5])))
	if len(v) >= 11 {
		p.Language, p.IVRPath = str(v[6]), str(v[8])
		p.QueueTime, p.EnqueuedAt = msTime(num(v[7])), msTime(num(v[10]))
		p.AnsweredAt = msTime(num(v[9]))
	}
	if len(v) >= 12 {
		p.Number = str(v[11])
	}
	if len(v) >= 13 {
		p.App = str(v[12])
	}
	return p, nil
}

// Held lists the calls Redis holds a place for: waiting in a topic queue
// or being offered. Not one atomic snapshot; a reconciler re-reads each.
func (q *Queue) Held(ctx context.Context) ([]string, error) {
	topics, err := q.Topics(ctx)
	if err != nil {
		return nil, err
	}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, 0, len(topics)+1)
	for _, t := range topics {
		cmds = append(cmds, pipe.ZRange(ctx, rkeys.Queue(q.centre, t), 0, -1))
	}
	cmds = append(cmds, pipe.ZRange(ctx, rkeys.Leases(q.centre), 0, -1))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("queue: held calls: %w", err)
	}
	var out []string
	for _, c := range cmds {
		out = append(out, c.Val()...)
	}
	return out, nil
}

// EstimateWait is the formula Position uses: pos × aht ÷ max(1, staffed).
func EstimateWait(pos int, aht time.Duration, staffed int) time.Duration {
	return time.Duration(pos) * aht / time.Duration(max(1, staffed))
}

// Len returns how many callers wait in topic.
func (q *Queue) Len(ctx context.Context, topic string) (int, error) {
	n, err := q.rdb.ZCard(ctx, rkeys.Queue(q.centre, topic)).Result()
	if err != nil {
		return 0, fmt.Errorf("queue: len %s: %w", topic, err)
	}
	return int(n), nil
}

// Topics returns every topic that has had a caller.
func (q *Queue) Topics(ctx context.Context) ([]string, error) {
	t, err := q.rdb.SMembers(ctx, rkeys.Topics(q.centre)).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: topics: %w", err)
	}
	return t, nil
}

// Waiting is one caller in a supervisor's list.
type Waiting struct {
	Caller
	Pos        int       `json:"position"`
	EnqueuedAt time.Time `json:"enqueued_at"`
}

// List returns up to limit callers waiting in topic, in serving order (one
// atomic snapshot). limit is capped at 1000 to bound the script's work.
func (q *Queue) List(ctx context.Context, topic string, limit int) ([]Waiting, error) {
	limit = max(1, min(limit, 1000))
	v, err := listScript.Run(ctx, q.rdb, q.keys, topic, limit).Slice()
	if err != nil {
		return nil, fmt.Errorf("queue: list %s: %w", topic, err)
	}
	out := make([]Waiting, 0, len(v))
	for i, row := range v {
		f, _ := row.([]any)
		if len(f) < 8 {
			continue
		}
		prio, _ := strconv.Atoi(str(f[2]))
		out = append(out, Waiting{
			Caller: Caller{
				CallID: str(f[0]), Topic: topic, Skill: str(f[1]), Priority: prio,
				Arrival: rkeys.FromMs(num(f[3])), Language: str(f[4]),
				CallerNumber: str(f[5]), IVRPath: str(f[6]),
			},
			Pos:        i + 1,
			EnqueuedAt: rkeys.FromMs(num(f[7])),
		})
	}
	return out, nil
}

// msTime is a stored millisecond time; 0 (not set) is the zero Time.
func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return rkeys.FromMs(ms)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}
