// Package records writes one record per call to a Redis stream (XADD with
// an approximate MAXLEN, so the stream stays bounded at little cost) and
// reads the latest back for supervisors and tests.
package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Outcomes a record may carry (the router owns the list; these are its
// values at the time of writing, repeated for readers of the stream).
const (
	OutcomeAnswered    = "answered"
	OutcomeAbandoned   = "abandoned"
	OutcomeDropped     = "dropped"
	OutcomeTransferred = "transferred"
	OutcomeIVRHangup   = "ivr_hangup"
	OutcomeRejected    = "rejected"
	OutcomeLost        = "lost"
	OutcomeFallback    = "fallback"
)

// ErrInvalid: a record without a call id.
var ErrInvalid = errors.New("records: invalid record")

// Record is one call, written once when it ends. Zero times are stored as
// 0 and read back as the zero time.
type Record struct {
	ID           string // stream entry id, filled when read
	CallID       string
	CallerNumber string
	Arrival      time.Time
	IVRPath      string
	Language     string
	Topic        string
	EnqueuedAt   time.Time
	OfferedAt    time.Time
	AnsweredAt   time.Time
	EndedAt      time.Time
	Agent        string // operator who answered
	Outcome      string
	HangupCause  int    // Q.850
	EndedBy      string // caller, operator, system
	Offers       int    // operators tried
	Wait         time.Duration
	Callback     string // the callback this call scheduled, or that this attempt served
	Note         string // free text, e.g. a callback action's detail
	// Transfers are the transfers made during the call, in order.
	Transfers []Transfer
	// Disposition is the operator's word on the call (read back from its
	// annotation, see Annotate).
	Disposition Disposition
	// Recording names the conversation's stored recordings (ARI
	// /recordings/stored), comma-separated when a re-queued citizen talked
	// twice; empty when the topic does not record.
	Recording string
	// Monitored lists who listened to or whispered in the conversation, as
	// "<mode>:<supervisor endpoint>" (router.Monitor).
	Monitored []string
}

// Transfer is one transfer of the citizen during a call.
type Transfer struct {
	Kind    string    `json:"kind"` // blind, attended, topic
	To      string    `json:"to"`   // a service id, or a topic id for kind topic
	Number  string    `json:"number,omitempty"`
	Agent   string    `json:"agent,omitempty"` // the operator who transferred
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"` // connected, returned, failed
}

// Stream is one centre's call-record stream.
type Stream struct {
	rdb    redis.UniversalClient
	centre string
	key    string
	prefix string
	maxLen int64
}

// New returns centre's record stream trimmed to about maxLen entries
// (config records.stream_max_len; <= 0 means 100000).
func New(rdb redis.UniversalClient, centre string, maxLen int64) *Stream {
	if maxLen <= 0 {
		maxLen = 100000
	}
	return &Stream{rdb: rdb, centre: centre, key: rkeys.Records(centre), prefix: rkeys.Prefix(centre), maxLen: maxLen}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Append adds r to the stream (one XADD, MAXLEN ~) and returns its id.
// Use it for entries a call may have several of (callback actions);
// AppendOnce writes a call's own record.
func (s *Stream) Append(ctx context.Context, r Record) (string, error) {
	if r.CallID == "" {
		return "", ErrInvalid
	}
	id, err := appendAtScript.Run(ctx, s.rdb, []string{s.prefix}, append([]any{s.maxLen, entryMs(r)}, fields(r)...)...).Text()
	if err != nil {
		return "", fmt.Errorf("records: append %s: %w", r.CallID, err)
	}
	return id, nil
}

//go:embed lua/append_once.lua
var appendOnceLua string

var appendOnceScript = redis.NewScript(rkeys.Lua(appendOnceLua))

//go:embed lua/append_at.lua
var appendAtLua string

var appendAtScript = redis.NewScript(rkeys.Lua(appendAtLua))

// entryMs is the stream entry's time: when the call ended on the app's
// clock (an entry's id says when it was written; tests move that clock).
func entryMs(r Record) int64 {
	switch {
	case !r.EndedAt.IsZero():
		return r.EndedAt.UnixMilli()
	case !r.Arrival.IsZero():
		return r.Arrival.UnixMilli()
	}
	return 0
}

// AppendOnce writes the one record of call r.CallID: a second write for
// the same call (a retry after a timeout that did reach Redis, a restarted
// router or the reconciler writing what it knows) adds nothing and
// returns the first record's id. written reports whether this call wrote.
func (s *Stream) AppendOnce(ctx context.Context, r Record) (id string, written bool, err error) {
	if r.CallID == "" {
		return "", false, ErrInvalid
	}
	at := r.Arrival
	if at.IsZero() {
		at = r.EndedAt
	}
	args := append([]any{r.CallID, s.maxLen, rkeys.RecordedTTL, NumberKey(r.CallerNumber), r.Agent, ms(at), IndexTTL.Milliseconds(), entryMs(r)}, fields(r)...)
	v, err := appendOnceScript.Run(ctx, s.rdb, []string{s.prefix}, args...).Slice()
	if err != nil {
		return "", false, fmt.Errorf("records: append %s: %w", r.CallID, err)
	}
	n, _ := v[0].(int64)
	id, _ = v[1].(string)
	return id, n == 1, nil
}

// fields is r as the stream entry's field/value pairs.
func fields(r Record) []any {
	return []any{
		"call_id", r.CallID,
		"caller_number", r.CallerNumber,
		"arrival", ms(r.Arrival),
		"ivr_path", r.IVRPath,
		"language", r.Language,
		"topic", r.Topic,
		"enqueued_at", ms(r.EnqueuedAt),
		"offered_at", ms(r.OfferedAt),
		"answered_at", ms(r.AnsweredAt),
		"ended_at", ms(r.EndedAt),
		"operator", r.Agent,
		"outcome", r.Outcome,
		"hangup_cause", r.HangupCause,
		"ended_by", r.EndedBy,
		"offers", r.Offers,
		"wait_ms", r.Wait.Milliseconds(),
		"callback", r.Callback,
		"note", r.Note,
		"transfers", encodeTransfers(r.Transfers),
		"recording", r.Recording,
		"monitored", strings.Join(r.Monitored, ","),
	}
}

func encodeTransfers(ts []Transfer) string {
	if len(ts) == 0 {
		return ""
	}
	b, _ := json.Marshal(ts) // plain strings and times: cannot fail
	return string(b)
}

func decodeTransfers(s string) []Transfer {
	if s == "" {
		return nil
	}
	var ts []Transfer
	if json.Unmarshal([]byte(s), &ts) != nil {
		return nil // a damaged field loses the transfers, not the record
	}
	return ts
}

// Latest returns up to n most recent records, newest first.
func (s *Stream) Latest(ctx context.Context, n int64) ([]Record, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.key, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("records: latest: %w", err)
	}
	return decodeAll(msgs), nil
}

// Range returns up to n records with ids in [start, end] ("-" and "+" for
// the ends), oldest first; page with start = "(" + last id.
func (s *Stream) Range(ctx context.Context, start, end string, n int64) ([]Record, error) {
	msgs, err := s.rdb.XRangeN(ctx, s.key, start, end, n).Result()
	if err != nil {
		return nil, fmt.Errorf("records: range: %w", err)
	}
	return decodeAll(msgs), nil
}

// Len returns the number of records kept.
func (s *Stream) Len(ctx context.Context) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.key).Result()
	if err != nil {
		return 0, fmt.Errorf("records: len: %w", err)
	}
	return n, nil
}

func decodeAll(msgs []redis.XMessage) []Record {
	out := make([]Record, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, decode(m))
	}
	return out
}

func decode(m redis.XMessage) Record {
	get := func(k string) string { s, _ := m.Values[k].(string); return s }
	n := func(k string) int64 { v, _ := strconv.ParseInt(get(k), 10, 64); return v }
	t := func(k string) time.Time { return rkeys.FromMs(n(k)) }
	return Record{
		ID: m.ID, CallID: get("call_id"), CallerNumber: get("caller_number"),
		Arrival: t("arrival"), IVRPath: get("ivr_path"), Language: get("language"),
		Topic: get("topic"), EnqueuedAt: t("enqueued_at"), OfferedAt: t("offered_at"),
		AnsweredAt: t("answered_at"), EndedAt: t("ended_at"), Agent: get("operator"),
		Outcome: get("outcome"), HangupCause: int(n("hangup_cause")), EndedBy: get("ended_by"),
		Offers: int(n("offers")), Wait: time.Duration(n("wait_ms")) * time.Millisecond,
		Callback: get("callback"), Note: get("note"), Transfers: decodeTransfers(get("transfers")),
		Recording: get("recording"), Monitored: splitNonEmpty(get("monitored")),
	}
}

func splitNonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Counted is how a record counts toward offered, answered and abandoned
// calls, the way the reports and the simulator both count them.
type Counted struct {
	Offered   bool // it reached a queue (rejected and fallback calls did not)
	Answered  bool // offered and answered
	Abandoned bool // offered, not answered, and the caller gave up
	Short     bool // abandoned sooner than minAbandonWait: left out of the SL base
}

// Count says how r counts, with minAbandonWait the topic's shortest
// abandon that is counted against the service level.
func (r Record) Count(minAbandonWait time.Duration) Counted {
	var c Counted
	c.Offered = !r.EnqueuedAt.IsZero() && r.Outcome != OutcomeRejected && r.Outcome != OutcomeFallback
	c.Answered = c.Offered && !r.AnsweredAt.IsZero()
	c.Abandoned = c.Offered && !c.Answered && r.Outcome == OutcomeAbandoned
	c.Short = c.Abandoned && r.Wait < minAbandonWait
	return c
}
