package ariadapter

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/hotline-acd/hotline/pbx"
)

// filteredEventTypes is the application event filter applied after every
// (re)connect (PUT /applications/{app}/eventFilter). It lists only types
// that ari/v5 v5.3.1 knows (so that any ari/v5 code fed from this socket
// could never meet a nil event) and that the adapter uses. Everything else —
// ChannelVarset noise (five per SIP hangup), and the Asterisk 22 types
// ari/v5 does not know (ChannelToneDetected, ChannelTransfer, CallBroadcast,
// CallClaimed, ApplicationRegistered, ApplicationUnregistered, RESTResponse)
// — is dropped by Asterisk before it reaches the socket.
var filteredEventTypes = []string{
	ari.Events.StasisStart,
	ari.Events.StasisEnd,
	ari.Events.ChannelDestroyed,
	ari.Events.ChannelHangupRequest,
	ari.Events.ChannelStateChange,
	ari.Events.ChannelDtmfReceived,
	ari.Events.PlaybackStarted,
	ari.Events.PlaybackFinished,
	ari.Events.Dial,
	ari.Events.ChannelEnteredBridge,
	ari.Events.ChannelLeftBridge,
	ari.Events.ApplicationReplaced, // logged: another instance took the app
	string(pbx.CallBroadcast),      // not in ari/v5; our reader decodes it
	ari.Events.ChannelUserevent,    // the adapter's own connect barrier
}

// wireChannel is the ARI Channel model, reduced to what we use. ari/v5's
// ChannelData lacks dialplan.app_name/app_data, which the re-sync needs.
type wireChannel struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Language string `json:"language"`
	Created  string `json:"creationtime"`
	Caller   struct {
		Name   string `json:"name"`
		Number string `json:"number"`
	} `json:"caller"`
	Dialplan struct {
		Context string `json:"context"`
		Exten   string `json:"exten"`
		AppName string `json:"app_name"`
		AppData string `json:"app_data"`
	} `json:"dialplan"`
}

func (w *wireChannel) toPBX() pbx.Channel {
	if w == nil {
		return pbx.Channel{}
	}
	return pbx.Channel{
		ID:           w.ID,
		Name:         w.Name,
		State:        w.State,
		CallerNumber: w.Caller.Number, // raw: the router validates it
		CallerName:   w.Caller.Name,
		Language:     w.Language,
		Context:      w.Dialplan.Context,
		Exten:        w.Dialplan.Exten,
		Created:      parseTimeOr(w.Created, time.Time{}),
	}
}

// inStasisOf reports whether the channel sits in Stasis(app[,args...]).
func (w *wireChannel) inStasisOf(app string) bool {
	if w.Dialplan.AppName != "Stasis" {
		return false
	}
	d := w.Dialplan.AppData
	return d == app || strings.HasPrefix(d, app+",")
}

// wireEvent is the union of the event fields we translate. Decoding into it
// never fails on an unknown type and does not depend on the timestamp
// format (ari/v5's DecodeEvent returns a nil event for unknown types — the
// source of its bus panic — and fails on any timestamp that is not exactly
// 2006-01-02T15:04:05.000-0700).
type wireEvent struct {
	Type        string       `json:"type"`
	Application string       `json:"application"`
	Timestamp   string       `json:"timestamp"`
	Channel     *wireChannel `json:"channel"`
	Args        []string     `json:"args"`
	Digit       string       `json:"digit"`
	DurationMs  int          `json:"duration_ms"`
	Playback    *struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		TargetURI string `json:"target_uri"`
		MediaURI  string `json:"media_uri"`
	} `json:"playback"`
	Bridge *struct {
		ID string `json:"id"`
	} `json:"bridge"`
	Cause      int          `json:"cause"`
	CauseTxt   string       `json:"cause_txt"`
	Soft       bool         `json:"soft"`
	Dialstatus string       `json:"dialstatus"`
	Peer       *wireChannel `json:"peer"`
	// Caller is a Channel in Dial but the caller's number (a string) in
	// CallBroadcast: decoded by type.
	Caller json.RawMessage `json:"caller"`
}

// errIgnored marks a well-formed event that the adapter does not forward.
var errIgnored = errors.New("event type not forwarded")

// parseTime accepts Asterisk's format and RFC 3339; it falls back to now.
func parseTime(s string) time.Time { return parseTimeOr(s, time.Now()) }

// parseTimeOr is parseTime with the fallback given (zero for a channel's
// creation time: unknown is better than invented).
func parseTimeOr(s string, def time.Time) time.Time {
	if s == "" {
		return def
	}
	for _, layout := range []string{ari.DateFormat, "2006-01-02T15:04:05.000Z0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return def
}

// translate decodes one WebSocket text frame into a pbx.Event. It returns
// the raw type name as well, for logging. It never panics on any input
// (covered by a fuzz-style test over the recorded traces and junk).
func translate(data []byte) (pbx.Event, string, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return pbx.Event{}, "", err
	}
	ev := pbx.Event{Type: pbx.EventType(w.Type), Time: parseTime(w.Timestamp)}
	if w.Channel != nil {
		ev.Channel = w.Channel.toPBX()
		ev.ChannelID = w.Channel.ID
	}
	switch ev.Type {
	case pbx.StasisStart:
		ev.Args = w.Args
		if ev.Args == nil {
			ev.Args = []string{}
		}
	case pbx.StasisEnd, pbx.ChannelStateChange, pbx.CallBroadcast:
	case pbx.ChannelDestroyed:
		ev.Cause, ev.CauseText = w.Cause, w.CauseTxt
	case pbx.ChannelHangupRequest:
		ev.Cause, ev.Soft = w.Cause, w.Soft // cause absent (0) when the remote hung up
	case pbx.DTMF:
		ev.Digit, ev.DurationMs = w.Digit, w.DurationMs
	case pbx.PlaybackStarted, pbx.PlaybackFinished:
		if w.Playback == nil {
			return pbx.Event{}, w.Type, errors.New("playback event without playback")
		}
		ev.PlaybackID, ev.PlaybackState = w.Playback.ID, w.Playback.State
		kind, id, _ := strings.Cut(w.Playback.TargetURI, ":")
		switch kind {
		case "channel":
			ev.ChannelID = id
			ev.Channel.ID = id
		case "bridge":
			ev.BridgeID = id
		}
	case pbx.Dial:
		if w.Peer == nil {
			return pbx.Event{}, w.Type, errors.New("dial event without peer")
		}
		ev.Channel = w.Peer.toPBX()
		ev.ChannelID = w.Peer.ID
		ev.DialStatus = w.Dialstatus
		var caller wireChannel
		if len(w.Caller) > 0 && json.Unmarshal(w.Caller, &caller) == nil {
			ev.CallerID = caller.ID
		}
	case pbx.ChannelEnteredBridge, pbx.ChannelLeftBridge:
		if w.Bridge != nil {
			ev.BridgeID = w.Bridge.ID
		}
	default:
		return pbx.Event{}, w.Type, errIgnored
	}
	if ev.ChannelID == "" && ev.BridgeID == "" { // bridge playbacks have no channel
		return pbx.Event{}, w.Type, errors.New("event without channel id")
	}
	return ev, w.Type, nil
}
