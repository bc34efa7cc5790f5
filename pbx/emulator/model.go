package emulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// TimeFormat is Asterisk's JSON timestamp format ("2026-11-23T07:56:44.562+0000").
const TimeFormat = "2006-01-02T15:04:05.000-0700"

func ts(t time.Time) string { return t.UTC().Format(TimeFormat) }

// kv / obj: a JSON object that keeps Asterisk's field order.
type kv struct {
	k string
	v any
}

type obj []kv

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o obj) get(k string) any {
	for _, e := range o {
		if e.k == k {
			return e.v
		}
	}
	return nil
}

// ---- channels ----

type channel struct {
	id, name, state, protocolID string
	callerName, callerNum       string
	connName, connNum           string
	accountcode                 string
	context, exten              string
	priority                    int
	appName, appData            string
	created                     time.Time
	language                    string

	stasisApp  string          // app the channel is in; "" when not in Stasis
	bcast      *broadcastState // StasisBroadcast() is offering the channel
	originated bool            // created by POST /channels
	originApp  string          // app given to originate
	appArgs    string
	dialstring string
	endpoint   string // "PJSIP/1001" for phone channels; "" for citizens
	local      bool   // a Local channel (the ;1 half): no RTP
	vars       map[string]string
	bridge     *bridge
	moh, ring  bool
	pbQueue    []*playback
	// busyUntil: an item of a stopped multi-media playback still plays
	// (Asterisk starts the next item anyway); a bridge join waits for it.
	busyUntil time.Time
	dead      bool
	hangingUp bool
	timers    []*timer
	handle    *CallHandle // scripted caller / phone-dialled channel
	ph        *phone      // phone this channel rings/belongs to
	answered  bool
	timeoutT  *timer
	seq       int
	onDestroy func(cause int)

	// originContext and originExten: the dialplan an originate without
	// app sends the answered channel to.
	originContext, originExten string
	// escalationsInhibited: the channel's thread refuses dangerous
	// functions (set by ARI's POST variable, for good; see setVariableLocked).
	escalationsInhibited bool

	// snoopOf: this is a snoop channel on that channel, spying and
	// whispering as given; snoops: the snoop channels on this one.
	snoopOf      *channel
	spy, whisper string
	snoops       []*channel
}

func (c *channel) json() obj {
	return obj{
		{"id", c.id},
		{"name", c.name},
		{"state", c.state},
		{"protocol_id", c.protocolID},
		{"caller", obj{{"name", c.callerName}, {"number", c.callerNum}}},
		{"connected", obj{{"name", c.connName}, {"number", c.connNum}}},
		{"accountcode", c.accountcode},
		{"dialplan", obj{{"context", c.context}, {"exten", c.exten}, {"priority", c.priority}, {"app_name", c.appName}, {"app_data", c.appData}}},
		{"creationtime", ts(c.created)},
		{"language", c.language},
	}
}

func (s *Server) addTimer(c *channel, t *timer) { c.timers = append(c.timers, t) }

// ---- bridges ----

type bridge struct {
	id, name   string
	bridgeType string // mixing | holding
	dtmfEvents bool
	proxyMedia bool
	channels   []*channel // newest first, as Asterisk lists them
	created    time.Time
	moh        bool
	destroyed  bool
}

func (b *bridge) technology() string {
	switch {
	case b.bridgeType == "holding":
		return "holding_bridge"
	case len(b.channels) > 2:
		return "softmix"
	default:
		return "simple_bridge"
	}
}

// nativeRTP: a plain mixing bridge of two SIP legs is natively bridged by
// Asterisk, so DTMF no longer reaches the application.
func (b *bridge) nativeRTP() bool {
	return b.bridgeType == "mixing" && !b.dtmfEvents && len(b.channels) == 2
}

func (b *bridge) json() obj {
	ids := make([]string, 0, len(b.channels))
	for _, c := range b.channels {
		ids = append(ids, c.id)
	}
	return obj{
		{"id", b.id},
		{"technology", b.technology()},
		{"bridge_type", b.bridgeType},
		{"bridge_class", "stasis"},
		{"creator", "Stasis"},
		{"name", b.name},
		{"channels", ids},
		{"creationtime", ts(b.created)},
		{"video_mode", "talker"},
	}
}

func (b *bridge) remove(c *channel) bool {
	for i, x := range b.channels {
		if x == c {
			b.channels = append(b.channels[:i:i], b.channels[i+1:]...)
			return true
		}
	}
	return false
}

// ---- playbacks ----

type playback struct {
	id       string
	media    []string
	idx      int
	target   *channel
	language string
	state    string // queued | playing | done | failed
	t        *timer
}

func (p *playback) json() obj {
	o := obj{
		{"id", p.id},
		{"media_uri", p.media[p.idx]},
	}
	if p.state == "playing" && p.idx+1 < len(p.media) {
		o = append(o, kv{"next_media_uri", p.media[p.idx+1]})
	}
	o = append(o,
		kv{"target_uri", "channel:" + p.target.id},
		kv{"language", p.language},
		kv{"state", p.state},
	)
	return o
}

// ---- hangup causes ----

var causeText = map[int]string{
	0:   "Unknown",
	1:   "Unallocated (unassigned) number",
	16:  "Normal Clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "User alerting, no answer",
	21:  "Call Rejected",
	26:  "Answered elsewhere",
	27:  "Destination out of order",
	31:  "Normal, unspecified",
	34:  "Circuit/channel congestion",
	38:  "Network out of order",
	127: "Interworking, unspecified",
}

// hangupReasons maps DELETE /channels/{id}?reason= to a Q.850 cause.
var hangupReasons = map[string]int{
	"normal":             16,
	"busy":               17,
	"congestion":         34,
	"no_answer":          19,
	"timeout":            19,
	"rejected":           21,
	"unallocated":        1,
	"normal_unspecified": 31,
	"number_incomplete":  28,
	"codec_mismatch":     58,
	"interworking":       127,
	"failure":            38,
	"answered_elsewhere": 26,
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
