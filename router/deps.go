package router

import (
	"context"
	"time"

	"github.com/hotline-acd/hotline/pbx"
)

// PBX is the call control the router needs; pbx/ari implements it over ARI
// and tests run it against the ARI emulator through the same adapter.
type PBX interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string, reason string) error
	Play(ctx context.Context, channelID, playbackID string, media ...string) error
	StopPlayback(ctx context.Context, playbackID string) error
	StartMOH(ctx context.Context, channelID, class string) error
	StopMOH(ctx context.Context, channelID string) error
	SetVariable(ctx context.Context, channelID, name, value string) error
	Originate(ctx context.Context, req pbx.OriginateRequest) (pbx.Channel, error)
	EndpointState(ctx context.Context, endpoint string) (string, error)
	CreateBridge(ctx context.Context, bridgeID, bridgeType string) error
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	// Continue sends the channel back to the dialplan at context/exten.
	Continue(ctx context.Context, channelID, context, exten string) error
}

// Waiting describes a caller to put in a topic queue.
type Waiting struct {
	CallID       string
	Topic        string
	Skill        string
	Priority     int
	Arrival      time.Time // original queue time; keeps the caller's place
	Language     string
	CallerNumber string
}

// Offer is one atomic decision: this caller goes to this operator. The
// operator is reserved (with a lease) and the caller is out of the queue
// until Answered, NoAnswer or Abandon settles it.
type Offer struct {
	CallID  string
	AgentID string
	Topic   string

	// FreedAt is when the operator became free, when the claim was made
	// for a freed operator; zero when a new caller triggered the claim.
	FreedAt time.Time
}

// ACD is the Redis-held state the router drives: topic queues, operator
// states and the atomic claim. Every method is one short Redis exchange.
type ACD interface {
	// Enqueue puts the caller in its topic queue and, in the same step,
	// claims an operator for the head of that queue if one is free.
	Enqueue(ctx context.Context, w Waiting, now time.Time) (*Offer, error)
	// ClaimForTopic claims the head caller of topic and a free operator.
	ClaimForTopic(ctx context.Context, topic string, now time.Time) (*Offer, error)
	// ClaimForAgent claims, for an operator who just became ready, the best
	// waiting caller among the topics the operator is skilled for.
	ClaimForAgent(ctx context.Context, agentID string, now time.Time) (*Offer, error)
	// Answered settles a reservation as a conversation; it fails when the
	// reservation is no longer this caller's (lease expired and re-claimed).
	Answered(ctx context.Context, callID, agentID string, now time.Time) error
	// NoAnswer returns the caller to its original place and the operator to
	// ready, or paused after too many consecutive misses (paused = true).
	NoAnswer(ctx context.Context, callID, agentID string, now time.Time) (paused bool, err error)
	// Unreachable returns the caller to its original place and takes the
	// operator offline: their phone is not registered.
	Unreachable(ctx context.Context, callID, agentID string, now time.Time) error
	// Abandon removes a caller who hung up, wherever it was; if it was
	// reserved for an operator, that operator is released and returned.
	Abandon(ctx context.Context, callID string, now time.Time) (releasedAgent string, err error)
	// Ended puts the operator into wrap-up until the given time.
	Ended(ctx context.Context, agentID string, until time.Time) error
	// WrapUpDone makes the operator ready again (if still in wrap-up).
	WrapUpDone(ctx context.Context, agentID string, now time.Time) error
	// Position is the caller's 1-based place in its queue and the
	// estimated wait.
	Position(ctx context.Context, callID string) (pos int, wait time.Duration, err error)
	// Recover returns expired reservations and finished wrap-ups; the
	// operators it freed are listed so the router can offer them callers.
	Recover(ctx context.Context, now time.Time) (freedAgents []string, err error)
}

// Agents is the operator presence the feature codes and API change.
type Agents interface {
	Login(ctx context.Context, agentID string, now time.Time) error
	Logout(ctx context.Context, agentID string, now time.Time) error
	Pause(ctx context.Context, agentID, reason string, now time.Time) error
	Ready(ctx context.Context, agentID string, now time.Time) error
}

// Recorder appends call records.
type Recorder interface {
	Append(ctx context.Context, r Record) error
}

// Record is one call's record, written once when the call ends.
type Record struct {
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
	Agent        string
	Outcome      Outcome
	HangupCause  int
	EndedBy      string // caller, operator, system
	Offers       int    // operators tried
	Wait         time.Duration
}
