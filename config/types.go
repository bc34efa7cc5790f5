// Package config is hotline's configuration: the YAML schema, defaults, and
// strict validation whose errors name the file, the line and the problem.
package config

import "time"

// Config is one centre's whole configuration, as loaded from YAML.
type Config struct {
	Centre    Centre               `yaml:"centre"`
	Languages []Language           `yaml:"languages"`
	Hours     Hours                `yaml:"hours"`
	Prompts   map[string]PromptSet `yaml:"prompts"`
	IVR       IVR                  `yaml:"ivr"`
	Topics    map[string]*Topic    `yaml:"topics"`
	Operators []Operator           `yaml:"operators"`
	Agents    AgentRules           `yaml:"agents"`
	Records   Records              `yaml:"records"`
	Callbacks CallbackRules        `yaml:"callbacks"`
	Desk      Desk                 `yaml:"desk"`
	Services  []Service            `yaml:"services"`
	Staff     []StaffMember        `yaml:"staff"`
	// Recordings are the centre's rules for conversation recordings
	// (topics.<id>.record turns recording on for a topic).
	Recordings Recordings `yaml:"recordings"`

	// File is the path the config was loaded from (for messages).
	File string `yaml:"-"`
}

// Centre identifies the call centre; its ID prefixes (and hash-tags) every
// Redis key, so one centre lives in one Redis Cluster slot.
type Centre struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	CountryCode  string   `yaml:"country_code"`  // E.164 country code without '+', e.g. "7"
	ShortNumbers []string `yaml:"short_numbers"` // numbers citizens dial, e.g. ["122", "1406"]
	CallerID     string   `yaml:"caller_id"`     // number shown when hotline dials out
	MOHClass     string   `yaml:"moh_class"`     // Asterisk music-on-hold class; default "default"
}

// Language is one language the IVR speaks. Code is the Asterisk sound
// language (ru, kk, uk, en) used in sound: URIs.
type Language struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
}

// Hours are the centre's business hours.
type Hours struct {
	TimeZone string       `yaml:"timezone"` // IANA name, e.g. Asia/Almaty
	Weekly   []WeeklyOpen `yaml:"weekly"`
	Holidays []string     `yaml:"holidays"` // YYYY-MM-DD, closed all day

	// Location is TimeZone resolved by Load.
	Location *time.Location `yaml:"-"`

	// sched is Weekly and Holidays parsed by Load; nil for Hours built by
	// hand, which are then parsed on each use.
	sched *schedule
}

// WeeklyOpen is one opening range repeated on the given days.
type WeeklyOpen struct {
	Days  []string `yaml:"days"`  // mon..sun
	Open  string   `yaml:"open"`  // HH:MM
	Close string   `yaml:"close"` // HH:MM, after Open; "24:00" allowed
}

// PromptSet is one prompt's text per language code. The text is what
// `make prompts` speaks into hotline/<lang>/<name>.wav.
type PromptSet map[string]string

// IVR is the menu graph.
type IVR struct {
	Start string           `yaml:"start"` // first node
	Nodes map[string]*Node `yaml:"nodes"`
}

// Node is one menu: prompts played in order, then digits collected.
type Node struct {
	Prompts           []string           `yaml:"prompts"`
	Digits            map[string]*Action `yaml:"digits"`     // key: one or more digits, 0-9 * #
	MaxDigits         int                `yaml:"max_digits"` // default: longest key in Digits
	FirstDigitTimeout Duration           `yaml:"first_digit_timeout"`
	InterDigitTimeout Duration           `yaml:"inter_digit_timeout"`
	Retries           int                `yaml:"retries"` // re-prompts after invalid input or silence
	InvalidPrompt     string             `yaml:"invalid_prompt"`
	TimeoutPrompt     string             `yaml:"timeout_prompt"`
	Default           *Action            `yaml:"default"` // taken when retries run out

	// Name is the node's key in IVR.Nodes, filled by Load.
	Name string `yaml:"-"`
}

// ActionType is what a menu choice does.
type ActionType string

const (
	ActionSetLanguage ActionType = "set_language" // Language, then Next
	ActionGoto        ActionType = "goto"         // Next
	ActionInfo        ActionType = "info"         // play Prompt, then Next
	ActionQueue       ActionType = "queue"        // Topic with Priority
	ActionTransfer    ActionType = "transfer"     // Number (an outside service)
	ActionHangup      ActionType = "hangup"       // play Prompt (optional), hang up
)

// Action is one menu choice.
type Action struct {
	Type     ActionType `yaml:"action"`
	Language string     `yaml:"language,omitempty"`
	Next     string     `yaml:"next,omitempty"`
	Prompt   string     `yaml:"prompt,omitempty"`
	Topic    string     `yaml:"topic,omitempty"`
	Priority int        `yaml:"priority,omitempty"` // added to the topic's priority; higher is served first
	Number   string     `yaml:"number,omitempty"`
}

// Topic is one queue: the callers waiting about one subject.
type Topic struct {
	Name          string       `yaml:"name"`
	Skill         string       `yaml:"skill"`    // operators need this skill; default: the topic's key
	Priority      int          `yaml:"priority"` // higher is served first
	ServiceLevel  ServiceLevel `yaml:"service_level"`
	MaxWait       Duration     `yaml:"max_wait"`
	MaxQueue      int          `yaml:"max_queue"` // 0: no cap
	Overflow      string       `yaml:"overflow"`  // topic that takes callers past MaxWait
	RingTimeout   Duration     `yaml:"ring_timeout"`
	WrapUp        Duration     `yaml:"wrap_up"`
	AnnounceEvery Duration     `yaml:"announce_every"`
	// Callbacks overrides the centre's callbacks: keys for this topic; Load
	// replaces it with the merged result (see Config.CallbackRules).
	Callbacks *CallbackRules `yaml:"callbacks"`
	// Record: the topic's conversations are recorded (an ARI bridge
	// recording named after the call); its callers hear the
	// recording_notice prompt when they join the queue.
	Record bool `yaml:"record"`
	// Selection is how a caller's operator is picked among the free ones
	// with the skill: best_level (default: the highest skill level, ties to
	// the longest idle) or weighted (the greatest idle time + level ×
	// LevelWeight, so a lower level idle much longer can win).
	Selection string `yaml:"selection"`
	// LevelWeight is the idle time one skill level is worth (weighted
	// only); default DefaultLevelWeight.
	LevelWeight Duration `yaml:"level_weight"`
	// PriorityAgeing: a waiting caller's effective priority improves one
	// step per PriorityAgeing waited (priority + waited/ageing), so a
	// low-priority topic is not starved at peak; 0 (default): none.
	PriorityAgeing Duration `yaml:"priority_ageing"`

	// ID is the topic's key in Topics, filled by Load.
	ID string `yaml:"-"`
}

// Topic selections (topics.<id>.selection).
const (
	SelectionBestLevel = "best_level"
	SelectionWeighted  = "weighted"
)

// DefaultLevelWeight is level_weight when a weighted topic does not set
// it: one skill level is worth a minute of idle time.
const DefaultLevelWeight = Duration(time.Minute)

// MinPriorityAgeing is the shortest ageing step allowed: shorter, a few
// seconds of waiting would outweigh any priority.
const MinPriorityAgeing = Duration(time.Second)

// ServiceLevel is a target such as 80 % of callers answered within 20 s.
type ServiceLevel struct {
	Percent float64  `yaml:"percent"`
	Within  Duration `yaml:"within"`
}

// Operator is one person on a SIP softphone.
type Operator struct {
	ID        string         `yaml:"id"`
	Name      string         `yaml:"name"`
	Endpoint  string         `yaml:"endpoint"` // e.g. PJSIP/1001
	Skills    map[string]int `yaml:"skills"`   // skill -> level 1..10
	Languages []string       `yaml:"languages"`
	// SecretHash is the operator's desktop sign-in secret, hashed
	// (`hotline hash-secret`); HOTLINE_SECRET_<ID> in the environment
	// may give the secret instead. Neither: the operator cannot sign in.
	SecretHash string `yaml:"secret_hash"`
}

// AgentRules govern operator state handling.
type AgentRules struct {
	MaxNoAnswer      int      `yaml:"max_no_answer"`     // consecutive misses before pause; default 3
	ReservationLease Duration `yaml:"reservation_lease"` // default 30s
}

// Records configures the call-record stream.
// Recordings: how long stored conversation recordings are kept.
type Recordings struct {
	// Retention: a stored recording older than this is deleted; default
	// DefaultRecordingRetention.
	Retention Duration `yaml:"retention"`
}

// DefaultRecordingRetention is recordings.retention when not set (30 days).
const DefaultRecordingRetention = Duration(720 * time.Hour)

// The position announcement's intro prompts: the router plays them with
// the number (package spoken), as one sound each that hotline prompts
// renders from these prompts' texts.
const (
	PromptPositionIntro = "queue_position_intro" // "You are number"
	PromptWaitIntro     = "estimated_wait_intro" // "Your estimated waiting time is"
)

// The prompts the router plays on its own, outside the menu; every
// config defines them (a missing one is silence at that moment, on a
// real Asterisk a failed playback).
const (
	PromptGoodbye = "goodbye" // a caller leaves with no callback
	// PromptOperatorDropped: "the line to the operator dropped; you keep
	// your place in line".
	PromptOperatorDropped = "operator_dropped"
	PromptClosed          = "closed" // "we are closed" (no callback)
)

// RouterPrompts lists them, with what each is for, for the validator.
var RouterPrompts = []struct{ Name, Use string }{
	{PromptGoodbye, "to a caller who leaves with no callback"},
	{PromptOperatorDropped, "when the line to the operator drops"},
	{PromptClosed, "outside business hours"},
}

// RecordingNotice is the prompt that tells a caller their conversation may
// be recorded. It is played only to callers of a topic that records; no
// other prompt may say so unless every topic records (see
// RecordingWords).
const RecordingNotice = "recording_notice"

// RecordingWords are the word stems, per language, by which a prompt's text
// tells callers they may be recorded (en "recorded", ru "записан",
// "записывается", uk "записуватися", kk "жазылуы", "жазып алу");
// matched case-insensitively. Narrow on purpose: "запись на приём" and
// "қабылдауға жазылу" (an appointment) are not a recording notice.
var RecordingWords = []string{"recorded", "recording", "записан", "записыва", "записув", "жазылуы", "жазып ал"}

type Records struct {
	StreamMaxLen int64 `yaml:"stream_max_len"` // approximate MAXLEN; default 100000
}

// Duration is a time.Duration written in YAML as "20s", "1m30s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// CallbackRules are the promise "if the call drops, we call you back": when
// a callback is owed, and how it is attempted. The top-level callbacks:
// section sets them for the centre; topics.<id>.callbacks: overrides any of
// the same keys for one topic.
type CallbackRules struct {
	Enabled bool `yaml:"enabled"`
	// MinAbandonWait: a caller who hangs up after waiting at least this
	// long is owed a callback (a 3 s abandon is a misdial). Default 10s.
	MinAbandonWait Duration `yaml:"min_abandon_wait"`
	// DropWindow: a conversation that ends within this long of the bridge
	// starting counts as dropped. Default 5s.
	DropWindow Duration `yaml:"drop_window"`
	// Delays: the first is the wait before the first attempt (0s: at once);
	// after attempt k fails the next waits Delays[min(k, len-1)], moved into
	// business hours. Default [2m, 10m, 30m, 2h].
	Delays []Duration `yaml:"delays"`
	// MaxAttempts before the callback is unreached. Default 4.
	MaxAttempts int `yaml:"max_attempts"`
	// Expiry: how long after it first falls due a callback is retried;
	// "0s" means no time limit (MaxAttempts still ends it). Default 24h.
	Expiry Duration `yaml:"expiry"`
	// Mode: agent-first (ring the operator, then dial the citizen) or
	// customer-first (dial the citizen, then queue for an operator).
	// Default agent-first.
	Mode string `yaml:"mode"`
	// Allow and Deny are number patterns on the E.164 form: "+" then
	// digits, "?" for any one digit, an optional final "*" for any rest
	// ("+7800*"). Deny always wins; Allow admits numbers the built-in rules
	// refuse (foreign, premium-rate).
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
	// VirtualHold offers "press 1 to be called back and keep your place".
	VirtualHold VirtualHold `yaml:"virtual_hold"`
	// AfterHours: schedule (tell callers we will call back when we open)
	// or offer (ask them first). Default schedule.
	AfterHours string `yaml:"after_hours"`
	// Bias is added to a callback's queue time when it joins its queue:
	// positive serves inbound callers who arrived as early first. Default 0.
	Bias Duration `yaml:"bias"`
}

// VirtualHold is when waiting callers are offered a callback instead.
type VirtualHold struct {
	Enabled bool `yaml:"enabled"`
	// MinWait: offer when the estimated wait is at least this. Default 2m.
	MinWait Duration `yaml:"min_wait"`
	// MinPosition: offer when the caller is further back than this; 0
	// disables this test.
	MinPosition int `yaml:"min_position"`
}

// Callback modes and after-hours handling.
const (
	CallbackAgentFirst    = "agent-first"
	CallbackCustomerFirst = "customer-first"
	AfterHoursSchedule    = "schedule"
	AfterHoursOffer       = "offer"
)

// CallbackPrompts are the prompts the callback flows play; every one must
// exist when callbacks are enabled (callback_offer only with virtual hold).
var CallbackPrompts = []string{
	"callback_confirmed", "enter_number", "number_readback", "confirm_number",
	"closed_callback", "whisper_callback", "callback_greeting",
}
