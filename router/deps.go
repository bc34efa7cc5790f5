package router

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// PBX is the call control the router needs; pbx/ariadapter implements it over ARI
// and tests run it against the ARI emulator through the same adapter.
type PBX interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string, reason string) error
	Play(ctx context.Context, channelID, playbackID string, media ...string) error
	StopPlayback(ctx context.Context, playbackID string) error
	StartMOH(ctx context.Context, channelID, class string) error
	StopMOH(ctx context.Context, channelID string) error
	SetVariable(ctx context.Context, channelID, name, value string) error
	GetVariable(ctx context.Context, channelID, name string) (string, error)
	Originate(ctx context.Context, req pbx.OriginateRequest) (pbx.Channel, error)
	EndpointState(ctx context.Context, endpoint string) (string, error)
	CreateBridge(ctx context.Context, bridgeID, bridgeType string) error
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	// Channels lists the channels in the application now, for the
	// reconciler (the PBX is the truth about channels).
	Channels(ctx context.Context) ([]pbx.Channel, error)
	// Continue sends the channel back to the dialplan at context/exten.
	Continue(ctx context.Context, channelID, context, exten string) error
	// Claim takes a channel StasisBroadcast() offers to the application
	// (CallBroadcast); pbx.ErrConflict when another instance won it.
	Claim(ctx context.Context, channelID string) error
	// ChannelExists reports whether a channel is up on the PBX, in any
	// application: a call another instance holds is not one gone.
	ChannelExists(ctx context.Context, channelID string) (bool, error)

	// Snoop channels for supervisors (monitor.go) and conversation
	// recordings (recording.go).
	Snoop(ctx context.Context, req pbx.SnoopRequest) (pbx.Channel, error)
	RecordBridge(ctx context.Context, bridgeID, name, format string) error
	StopRecording(ctx context.Context, name string) error
	StoredRecordings(ctx context.Context) ([]pbx.StoredRecording, error)
	RecordingFile(ctx context.Context, name string) (io.ReadCloser, error)
	DeleteRecording(ctx context.Context, name string) error
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
	IVRPath      string
	MaxQueue     int    // refuse when the topic already holds this many; 0: no cap
	App          string // the Stasis application of the router that holds the channel
}

// Offer is one atomic decision: this caller goes to this operator. The
// operator is reserved with a lease and the caller is out of the queue until
// Answered, NoAnswer, Unreachable or Abandon settles it.
type Offer struct {
	CallID   string
	AgentID  string
	Endpoint string // the operator's phone, e.g. PJSIP/1001
	Topic    string
	Seq      int64 // tells a re-offer of the same pair from a stale one
	Expires  time.Time

	// FreedAt is when the operator became free, when the claim was made
	// because an operator became free; zero otherwise.
	FreedAt time.Time

	// LegID is the operator's leg the reserving instance originated into
	// the application of the router holding the caller; "" when that
	// router is to dial it (the offer is its own).
	LegID string `json:",omitempty"`
}

// ACD is the Redis-held state the router drives: topic queues, operator
// states and the atomic claim. Every operation that frees a caller or an
// operator also matches it at once and returns the offers it made, which
// the router must ring.
type ACD interface {
	// Enqueue puts the caller in its topic queue and claims a free operator
	// for the head of the queue in the same step.
	Enqueue(ctx context.Context, w Waiting, now time.Time) ([]Offer, error)
	// Answered settles an offer as a conversation; it fails when the
	// reservation is no longer this caller's (lease expired and re-claimed).
	Answered(ctx context.Context, o Offer, now time.Time) error
	// Extend renews an offer's lease while the phone still rings.
	Extend(ctx context.Context, o Offer, now time.Time) (Offer, error)
	// NoAnswer returns the caller to its original place and the operator to
	// ready, or paused after too many consecutive misses.
	NoAnswer(ctx context.Context, o Offer, now time.Time) (paused bool, next []Offer, err error)
	// Unreachable returns the caller to its original place and takes the
	// operator offline: their phone is not registered.
	Unreachable(ctx context.Context, o Offer, now time.Time) ([]Offer, error)
	// Abandon removes a caller who hung up, wherever it was; an operator it
	// held is released and offered the next caller.
	Abandon(ctx context.Context, callID string, now time.Time) (releasedAgent string, next []Offer, err error)
	// Ended puts the operator into wrap-up after their conversation with
	// callID (or straight to ready when wrap is zero, with the next offer);
	// ErrRefused when they are not on that call (any more).
	Ended(ctx context.Context, agentID, callID string, wrap time.Duration, now time.Time) ([]Offer, error)
	// WrapUpDone makes the operator ready again and offers the next caller.
	// due: a timer's call, a no-op while the wrap-up's end is after now
	// (another instance extended it).
	WrapUpDone(ctx context.Context, agentID string, now time.Time, due bool) ([]Offer, error)
	// ExtendWrapUp makes the operator's wrap-up by longer, counted from its
	// end as Redis holds it (or from now); it returns the new end.
	ExtendWrapUp(ctx context.Context, agentID string, by time.Duration, now time.Time) (time.Time, error)
	// Position is the caller's 1-based place in its queue and the
	// estimated wait.
	Position(ctx context.Context, callID string) (pos int, wait time.Duration, err error)
	// OnCall lists operators Redis holds in a conversation, with its call
	// id, so a restarted router can free those whose call is gone.
	OnCall(ctx context.Context) (map[string]string, error)
	// Lookup reports where a call stands in Redis, for adopting calls that
	// were already in the application when this router started.
	Lookup(ctx context.Context, callID string) (CallerState, error)
	// Held lists the calls Redis holds a place for (waiting or offered),
	// for the reconciler to compare with the PBX's channels.
	Held(ctx context.Context) ([]string, error)
	// Release gives a call's offer back at once (its ringing leg is known
	// to be gone): the caller keeps its place, the operator is ready again.
	Release(ctx context.Context, callID string, now time.Time) ([]Offer, error)
	// Recover returns expired reservations and ends finished wrap-ups;
	// it returns the offers made for what it freed.
	Recover(ctx context.Context, now time.Time) ([]Offer, error)
}

// ErrQueueFull is what the ACD returns (wrapped) when a topic queue holds
// its max_queue callers already.
var ErrQueueFull = errors.New("router: queue full")

// CallerState is a call's routing state as Redis holds it.
type CallerState struct {
	State   string // "waiting", "offered", "connected", or "" when unknown
	Topic   string
	AgentID string // offered or connected: the operator

	// Where the call stood, for a router resuming a call it did not start:
	// the record then carries the caller's real times, not the restart's.
	Language   string
	QueueTime  time.Time // the caller's place in the queue
	AnsweredAt time.Time // connected: when the operator answered
	IVRPath    string
	Number     string // the caller's number as queued ("" withheld)
	App        string // the Stasis application whose router holds the channel; "" unknown
}

// Agents is the operator presence the feature codes and API change.
type Agents interface {
	// Ready logs in or ends a pause, and offers the operator a caller.
	Ready(ctx context.Context, agentID string, now time.Time) ([]Offer, error)
	Logout(ctx context.Context, agentID string, now time.Time) error
	Pause(ctx context.Context, agentID, reason string, now time.Time) error
	// PauseAfterCall pauses the operator with reason once their call is
	// over ("" takes it back).
	PauseAfterCall(ctx context.Context, agentID, reason string, now time.Time) error
}

// Recorder writes call records.
type Recorder interface {
	// Append writes the one record of call r.CallID; writing it again (a
	// retry, a reconciler) adds nothing.
	Append(ctx context.Context, r records.Record) (string, error)
}

// Events are the PBX event types the router acts on; the PBX adapter may
// drop every other type at the source (call progress, leaving a bridge,
// playback starts, state changes: half of a call's events). Entering a
// bridge is kept: a conversation counts from the caller's entry, not from
// the PBX accepting the add.
var Events = []pbx.EventType{
	pbx.StasisStart, pbx.StasisEnd, pbx.ChannelDestroyed, pbx.ChannelHangupRequest,
	pbx.DTMF, pbx.PlaybackFinished, pbx.ChannelEnteredBridge, pbx.CallBroadcast,
}

// Peers carries an offer to the hotline instance whose router holds the
// caller's channel (the caller hash names its application): any instance
// may claim an operator for any waiting caller, only the holder may ring
// and bridge. A lost message costs the offer's lease, after which Recover
// makes it again.
type Peers interface {
	Forward(ctx context.Context, app string, o Offer) error
	// Runs answers whether some process runs app (errors.Is ErrNoPeer
	// when none does), without reaching its router.
	Runs(ctx context.Context, app string) error
}

// CardBoard shares the operators' cards between instances, so that a
// desktop served by any of them shows a call this router holds
// (cardboard.Board). The router writes what it holds and, on every pass,
// takes its application's stale cards away.
type CardBoard interface {
	ShowCard(ctx context.Context, app string, card Card) error
	// ClearCard takes callID's card from agent, unless their card is
	// another call's by now.
	ClearCard(ctx context.Context, agent, callID string) error
	// NoteLastCall names app as the application whose router holds
	// agent's last conversation (for "call back" from any instance).
	NoteLastCall(ctx context.Context, agent, app string) error
	// AppCards are the cards app's router showed: operator -> call id.
	AppCards(ctx context.Context, app string) (map[string]string, error)
	// The supervisors' monitors, likewise, so that a wallboard served by
	// any instance lists them and stops them.
	PutMonitor(ctx context.Context, app string, m MonitorInfo) error
	DropMonitor(ctx context.Context, id string) error
	AppMonitors(ctx context.Context, app string) ([]string, error)
}
