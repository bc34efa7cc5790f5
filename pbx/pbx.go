// Package pbx holds the PBX-neutral types that the router speaks: channel
// events in, media and call-control commands out. It knows nothing of ARI,
// SIP or Asterisk; adapters (pbx/ariadapter) translate to and from a real PBX.
package pbx

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors an adapter maps PBX answers to, so that the router can
// decide without knowing HTTP status codes.
var (
	// ErrNotFound: the channel, bridge or playback is gone (hung up, ended).
	ErrNotFound = errors.New("pbx: not found")
	// ErrUnavailable: an originate could not even start (endpoint unknown,
	// not registered: Asterisk's 500 "Allocation failed").
	ErrUnavailable = errors.New("pbx: endpoint unavailable")
	// ErrConflict: the channel is not in the application or in the wrong state.
	ErrConflict = errors.New("pbx: wrong state")
	// ErrTimeout: the PBX did not answer a command within its deadline.
	ErrTimeout = errors.New("pbx: command timed out")
)

// EventType names one kind of event. The values match ARI's event type names
// where one exists, so logs read the same as Asterisk's.
type EventType string

const (
	// StasisStart: a channel entered the application (inbound call, answered
	// originate, operator feature code). Args holds the application arguments.
	StasisStart EventType = "StasisStart"
	// StasisEnd: the channel left the application. For a dialplan-entered
	// channel this is the last event there will be: treat it as the leg's end.
	StasisEnd EventType = "StasisEnd"
	// ChannelDestroyed: the channel is gone; Cause holds the Q.850 cause.
	ChannelDestroyed EventType = "ChannelDestroyed"
	// ChannelHangupRequest: someone asked to hang up; Cause is 0 when the
	// remote side hung up (Asterisk sends no cause then).
	ChannelHangupRequest EventType = "ChannelHangupRequest"
	// ChannelStateChange: Channel.State changed (Ring, Ringing, Up...).
	ChannelStateChange EventType = "ChannelStateChange"
	// DTMF: one digit received on the channel (ChannelDtmfReceived).
	DTMF EventType = "ChannelDtmfReceived"
	// PlaybackStarted and PlaybackFinished: PlaybackID and PlaybackState set;
	// a missing sound file finishes with state "failed".
	PlaybackStarted  EventType = "PlaybackStarted"
	PlaybackFinished EventType = "PlaybackFinished"
	// Dial: progress of an originate (DialStatus RINGING, ANSWER, BUSY...).
	Dial EventType = "Dial"
	// ChannelEnteredBridge and ChannelLeftBridge: BridgeID set.
	ChannelEnteredBridge EventType = "ChannelEnteredBridge"
	ChannelLeftBridge    EventType = "ChannelLeftBridge"
	// CallBroadcast: StasisBroadcast() in the dialplan offers the channel
	// to every matching application; the first to claim it
	// (pbx.Claimer) gets its StasisStart.
	CallBroadcast EventType = "CallBroadcast"
	// Resynced is not an ARI event: the adapter emits it after every
	// (re)connect, listing the channels the PBX still holds in the
	// application. A call whose channel is missing from the list ended while
	// the event stream was down.
	Resynced EventType = "Resynced"
)

// Channel is a snapshot of a channel as the PBX described it.
type Channel struct {
	ID           string
	Name         string // e.g. PJSIP/citizens-00000001
	State        string // Down, Ring, Ringing, Up...
	CallerNumber string // raw caller ID; may be empty or hostile
	CallerName   string
	Language     string
	Context      string // dialplan context it came from
	Exten        string // dialplan extension it came from
	// Created is when the PBX created the channel (the citizen's arrival);
	// zero when unknown.
	Created time.Time
}

// Event is one thing that happened on the PBX. Only the fields that belong to
// Type are set.
type Event struct {
	Type      EventType
	Time      time.Time
	ChannelID string // the channel the event is about (empty for Resynced)
	Channel   Channel

	Args          []string // StasisStart: application arguments
	Digit         string   // DTMF
	DurationMs    int      // DTMF
	PlaybackID    string   // Playback*
	PlaybackState string   // Playback*: playing, done, failed
	BridgeID      string   // Channel*Bridge
	Cause         int      // ChannelDestroyed, ChannelHangupRequest
	CauseText     string
	Soft          bool   // ChannelHangupRequest
	DialStatus    string // Dial
	CallerID      string // Dial: the channel that dialled, if any

	Channels []Channel // Resynced: channels present in the application
	// Restarted (Resynced): Asterisk started again since the last
	// connect: every channel missing from Channels was cut by the PBX,
	// not hung up by its caller.
	Restarted bool
}

// OriginateRequest asks the PBX to dial an endpoint and, on answer, hand the
// new channel to the application with Args, or, when Extension is set, to
// the dialplan at Context/Extension priority 1.
//
// A channel sent to the dialplan is not the application's until the
// dialplan calls Stasis(): no event arrives for it before that StasisStart
// (with the dialplan's arguments), and none after its StasisEnd.
type OriginateRequest struct {
	ChannelID string        // chosen by the caller so events can be matched before the reply
	Endpoint  string        // e.g. PJSIP/1001; never raw caller input
	CallerID  string        // shown on the operator's phone, e.g. `"Citizen" <79001234567>`
	Args      []string      // application arguments delivered with StasisStart; none with Extension
	Timeout   time.Duration // ring timeout; 0 means the PBX default
	Variables map[string]string
	// App is the Stasis application the answered channel enters, and the
	// one its events go to from the start: "" is the originating client's
	// own; another instance's hands the channel (and its events) to it.
	App string

	// Context and Extension: where the answered channel runs the dialplan
	// instead of entering the application (both or neither).
	Context   string
	Extension string
}

// Snoop directions (ARI's spy and whisper): "in" is the audio the snooped
// channel sends into the PBX (the snooped party's own voice), "out" the
// audio the PBX sends it (what the snooped party hears). Spying "both"
// hears the whole conversation; whispering "out" is heard by the snooped
// party only, "in" by the party they talk to.
const (
	SnoopNone = "none"
	SnoopIn   = "in"
	SnoopOut  = "out"
	SnoopBoth = "both"
)

// SnoopRequest asks for a snoop channel on ChannelID: it enters the
// application with Args under SnoopID, already up, and hears (Spy) or
// speaks into (Whisper) the snooped channel's audio. The PBX hangs it up
// when the snooped channel goes.
type SnoopRequest struct {
	ChannelID string
	SnoopID   string
	Spy       string // SnoopNone, SnoopIn, SnoopOut, SnoopBoth; "" is none
	Whisper   string
	Args      []string
}

// StoredRecording is a finished recording the PBX keeps (ARI
// /recordings/stored).
type StoredRecording struct {
	Name   string
	Format string
}

// Client is the call-control surface of a PBX. All methods honour ctx and
// return one of the sentinel errors above (wrapped) when the PBX refuses.
type Client interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string, reason string) error
	Ring(ctx context.Context, channelID string) error
	// Play starts media (sound:, number:, digits:, tone: URIs) on a channel
	// under playbackID; PlaybackFinished with that id follows.
	Play(ctx context.Context, channelID, playbackID string, media ...string) error
	StopPlayback(ctx context.Context, playbackID string) error
	StartMOH(ctx context.Context, channelID, class string) error
	StopMOH(ctx context.Context, channelID string) error
	SetVariable(ctx context.Context, channelID, name, value string) error
	GetVariable(ctx context.Context, channelID, name string) (string, error)
	Originate(ctx context.Context, req OriginateRequest) (Channel, error)
	// EndpointState reports an endpoint's state ("online", "offline",
	// "unknown"); used to skip operators whose phone is not registered.
	EndpointState(ctx context.Context, endpoint string) (string, error)
	CreateBridge(ctx context.Context, bridgeID, bridgeType string) error
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	RemoveFromBridge(ctx context.Context, bridgeID, channelID string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	// Continue sends a channel back to the dialplan at context/exten,
	// priority 1 (ARI POST /channels/{id}/continue): used for transfers
	// to outside services, for the fallback, and to step the AstDB
	// read-back along its dialplan. StasisEnd follows.
	Continue(ctx context.Context, channelID, context, exten string) error
	// Channels lists the channels currently in the application (re-sync).
	Channels(ctx context.Context) ([]Channel, error)
	// Snoop creates a snoop channel (ARI POST /channels/{id}/snoop/{snoopId}).
	Snoop(ctx context.Context, req SnoopRequest) (Channel, error)
	// RecordBridge starts recording a bridge's mix as name in format
	// (e.g. "wav"); a recording of that name existing already is
	// ErrConflict (ifExists=fail).
	RecordBridge(ctx context.Context, bridgeID, name, format string) error
	// StopRecording stops a live recording; it is stored then.
	StopRecording(ctx context.Context, name string) error
	// StoredRecordings lists the finished recordings.
	StoredRecordings(ctx context.Context) ([]StoredRecording, error)
	// RecordingFile opens a stored recording's audio; the caller closes it.
	RecordingFile(ctx context.Context, name string) (io.ReadCloser, error)
	// DeleteRecording deletes a stored recording.
	DeleteRecording(ctx context.Context, name string) error
}

// Source delivers events. Events never blocks the PBX connection: the
// adapter buffers, so a slow consumer delays only itself.
type Source interface {
	Events() <-chan Event
}
