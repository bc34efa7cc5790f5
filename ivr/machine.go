// Package ivr runs the caller-facing menu: which prompts to play, which
// digits mean what, and where the caller ends up (a queue, an outside number
// or a hang-up).
//
// It has two layers. Machine is a pure state machine with no I/O and no
// clock: events go in (Start, Digit, PromptDone, Timeout) and commands come
// out (Play, StopPlayback, StartTimer, CancelTimer), so every menu decision
// is table-testable. Driver runs a Machine against a Player and a timer
// factory, for the router's per-call select loop; it starts no goroutine.
//
// The menu comes from config, but neither layer trusts it: a missing node, a
// nil default, an unknown action type, zero timeouts or a goto cycle end in
// defaults or a clean Hangup outcome, never a panic or a stuck call.
package ivr

import (
	"strings"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// Defaults used when a node leaves a value at zero (the loader normally
// fills them; the machine does not rely on it).
const (
	DefaultFirstDigitTimeout = 5 * time.Second
	DefaultInterDigitTimeout = 2 * time.Second
	// MaxRetries caps Node.Retries so that a caller who never presses
	// anything reaches an outcome in bounded time whatever the config says.
	MaxRetries = 9
	// MaxTransitions caps node entries per call; a menu that keeps jumping
	// (a goto cycle, a default pointing back at itself) ends in a Hangup
	// with ReasonLoop instead of looping forever.
	MaxTransitions = 50
)

// Command is one thing the machine asks its driver to do.
type Command interface{ isCommand() }

// Play asks for the named prompts to be played one after another as one
// playback. Names are prompt names from config, not URIs; the driver maps
// them to sound files. PromptDone(Seq) must follow when it ends (naturally,
// stopped or failed).
type Play struct {
	Prompts []string
	Seq     int
}

// StopPlayback asks for playback Seq to be stopped (barge-in). No
// PromptDone is expected for it; one that arrives is ignored.
type StopPlayback struct{ Seq int }

// TimerKind says what a timer is waiting for; informative only.
type TimerKind string

const (
	FirstDigitTimer TimerKind = "first_digit"
	InterDigitTimer TimerKind = "inter_digit"
)

// StartTimer asks for Timeout(ID) to be delivered after After. The machine
// keeps at most one timer running; it cancels the old one first.
type StartTimer struct {
	ID    int
	After time.Duration
	Kind  TimerKind
}

// CancelTimer asks for timer ID to be dropped. A Timeout(ID) delivered
// anyway is ignored.
type CancelTimer struct{ ID int }

func (Play) isCommand()         {}
func (StopPlayback) isCommand() {}
func (StartTimer) isCommand()   {}
func (CancelTimer) isCommand()  {}

// OutcomeKind is where the caller goes when the menu ends.
type OutcomeKind string

const (
	OutcomeQueue    OutcomeKind = "queue"
	OutcomeTransfer OutcomeKind = "transfer"
	OutcomeHangup   OutcomeKind = "hangup"
)

// Reason says why the menu ended the way it did (for the call record).
type Reason string

const (
	// ReasonChoice: the caller's digits led to the outcome.
	ReasonChoice Reason = "choice"
	// ReasonDefault: retries ran out and the node's default led there.
	ReasonDefault Reason = "default"
	// ReasonNoDefault: retries ran out and the node has no default.
	ReasonNoDefault Reason = "no_default"
	// ReasonConfig: the menu pointed at a missing node, an action of
	// unknown type or one missing its topic/number.
	ReasonConfig Reason = "config"
	// ReasonLoop: more than MaxTransitions node entries in one call.
	ReasonLoop Reason = "loop"
)

// Outcome is the end of the menu for one call.
type Outcome struct {
	Kind     OutcomeKind
	Topic    string // OutcomeQueue
	Priority int    // OutcomeQueue: added to the topic's priority
	Number   string // OutcomeTransfer
	// Prompt is the hang-up action's prompt (OutcomeHangup). The machine has
	// already played it to the end; it is here for the record only.
	Prompt string
	// Language is the caller's language at the end (after set_language).
	Language string
	// Path lists the choices made, node:key joined by '>', e.g.
	// "language:2>topics:3"; key is "default" when the default was taken.
	Path   string
	Reason Reason
	// Node is the node the outcome was decided in ("" if none).
	Node string
}

type phase int

const (
	phaseIdle       phase = iota // before Start
	phasePrompting               // node prompts (maybe after invalid/timeout prompt) playing
	phaseCollecting              // waiting for (more) digits, a timer running
	phaseInfo                    // an info action's prompt playing; then Next
	phaseGoodbye                 // a hangup action's prompt playing; then the outcome
	phaseDone
)

// Machine is one call's menu state. It is not safe for concurrent use; the
// router's per-call goroutine owns it. The zero value is not usable: call New.
type Machine struct {
	menu *config.IVR
	lang string

	phase    phase
	node     *config.Node
	nodeName string

	seq     int // last playback seq handed out
	playing int // seq of the playback in progress, 0 if none
	timerID int // last timer id handed out
	timer   int // id of the running timer, 0 if none

	buf      string // digits collected in this attempt
	attempts int    // failed attempts (invalid or silence) in this node
	entries  int    // node entries in this call

	after   *config.Action // info/hangup action waiting for its prompt to end
	afterBy Reason
	path    []string
	outcome *Outcome
	out     []Command
}

// New returns a machine for menu speaking lang. menu may be nil (the first
// Start then ends in a Hangup with ReasonConfig).
func New(menu *config.IVR, lang string) *Machine {
	return &Machine{menu: menu, lang: lang}
}

// Language returns the caller's current language.
func (m *Machine) Language() string { return m.lang }

// Node returns the name of the current node ("" before Start).
func (m *Machine) Node() string { return m.nodeName }

// Done reports whether the menu has ended.
func (m *Machine) Done() bool { return m.phase == phaseDone }

// Outcome returns the outcome once Done, else nil.
func (m *Machine) Outcome() *Outcome { return m.outcome }

// Path returns the choices so far in Outcome.Path's format.
func (m *Machine) Path() string { return strings.Join(m.path, ">") }

// Start enters the start node. A second call does nothing.
func (m *Machine) Start() []Command {
	if m.phase != phaseIdle {
		return nil
	}
	start := ""
	if m.menu != nil {
		start = m.menu.Start
	}
	m.enter(start)
	return m.flush()
}

// Digit handles one DTMF digit. Anything but a single 0-9, * or # is
// ignored, as are digits before Start, after the end, and during a hang-up
// prompt. During node prompts a digit barges in; during an info prompt it
// skips the rest of the message (the digit itself is not kept).
func (m *Machine) Digit(d string) []Command {
	if !validDigit(d) {
		return nil
	}
	switch m.phase {
	case phasePrompting, phaseCollecting:
		if d == "#" && m.buf == "" && !m.anyKeyHasPrefix("#") {
			// A lone '#' ends an empty entry: most likely the tail of
			// "1#" typed into the previous menu. Ignore it rather than
			// barge in and call it invalid.
			return nil
		}
		m.stopPlayback()
		m.cancelTimer()
		m.phase = phaseCollecting
		m.buf += d
		m.evaluate()
	case phaseInfo:
		m.stopPlayback()
		m.afterPrompt()
	}
	return m.flush()
}

// PromptDone reports that playback seq ended, however it ended (done,
// stopped, failed). Unknown or old seqs are ignored.
func (m *Machine) PromptDone(seq int) []Command {
	if seq == 0 || seq != m.playing {
		return nil
	}
	m.playing = 0
	switch m.phase {
	case phasePrompting:
		m.phase = phaseCollecting
		m.startTimer(FirstDigitTimer, dur(m.node.FirstDigitTimeout, DefaultFirstDigitTimeout))
	case phaseInfo, phaseGoodbye:
		m.afterPrompt()
	}
	return m.flush()
}

// Timeout reports that timer id fired. Ids other than the running timer's
// (cancelled, replaced, never issued) are ignored.
func (m *Machine) Timeout(id int) []Command {
	if id == 0 || id != m.timer || m.phase != phaseCollecting {
		return nil
	}
	m.timer = 0
	if m.buf == "" {
		m.fail(m.node.TimeoutPrompt)
	} else {
		m.match(true)
	}
	return m.flush()
}

func (m *Machine) flush() []Command {
	out := m.out
	m.out = nil
	return out
}

func validDigit(d string) bool {
	if len(d) != 1 {
		return false
	}
	c := d[0]
	return c >= '0' && c <= '9' || c == '*' || c == '#'
}

// enter moves to node name and plays its prompts. A missing node is a
// config problem; too many entries is a loop.
func (m *Machine) enter(name string) {
	m.entries++
	if m.entries > MaxTransitions {
		m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonLoop})
		return
	}
	var n *config.Node
	if m.menu != nil && name != "" {
		n = m.menu.Nodes[name]
	}
	if n == nil {
		m.nodeName = name
		m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonConfig})
		return
	}
	m.node, m.nodeName = n, name
	m.attempts = 0
	m.buf = ""
	m.prompt(n.Prompts...)
}

// prompt plays the given prompts (empty names dropped) followed by the
// node's prompts, then collects digits. With nothing to play it goes
// straight to collecting.
func (m *Machine) prompt(pre ...string) {
	m.buf = ""
	var list []string
	for _, p := range pre {
		if p != "" {
			list = append(list, p)
		}
	}
	m.phase = phasePrompting
	if !m.play(list) {
		m.phase = phaseCollecting
		m.startTimer(FirstDigitTimer, dur(m.node.FirstDigitTimeout, DefaultFirstDigitTimeout))
	}
}

// reprompt plays pre (the invalid or timeout prompt), then the node's
// prompts again.
func (m *Machine) reprompt(pre string) {
	m.prompt(append([]string{pre}, m.node.Prompts...)...)
}

func (m *Machine) play(list []string) bool {
	if len(list) == 0 {
		return false
	}
	m.seq++
	m.playing = m.seq
	m.out = append(m.out, Play{Prompts: list, Seq: m.seq})
	return true
}

func (m *Machine) stopPlayback() {
	if m.playing != 0 {
		m.out = append(m.out, StopPlayback{Seq: m.playing})
		m.playing = 0
	}
}

func (m *Machine) startTimer(kind TimerKind, after time.Duration) {
	m.cancelTimer()
	m.timerID++
	m.timer = m.timerID
	m.out = append(m.out, StartTimer{ID: m.timer, After: after, Kind: kind})
}

func (m *Machine) cancelTimer() {
	if m.timer != 0 {
		m.out = append(m.out, CancelTimer{ID: m.timer})
		m.timer = 0
	}
}

// dur returns d, or def when d is zero or negative.
func dur(d config.Duration, def time.Duration) time.Duration {
	if d.D() <= 0 {
		return def
	}
	return d.D()
}

func (m *Machine) maxDigits() int {
	longest := 0
	for k := range m.node.Digits {
		longest = max(longest, len(k))
	}
	if n := m.node.MaxDigits; n > 0 && n < longest {
		return n
	}
	return max(longest, 1)
}

func (m *Machine) anyKeyHasPrefix(p string) bool {
	for k := range m.node.Digits {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// longerKeyHasPrefix reports whether some key longer than p starts with p,
// i.e. whether more digits could still change the choice.
func (m *Machine) longerKeyHasPrefix(p string) bool {
	for k := range m.node.Digits {
		if len(k) > len(p) && strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// evaluate decides, after a digit was added to buf, whether the entry is
// complete. The rules, in order:
//   - buf equals a key and no longer key starts with buf: take it now
//     (keys "1" and "12" together make "1" wait for the inter-digit
//     timeout or '#');
//   - buf reached MaxDigits: match what there is;
//   - some key starts with buf: wait for more (inter-digit timer);
//   - buf ends in '#': the '#' terminates the entry, match the rest;
//   - otherwise no key can match: invalid at once.
func (m *Machine) evaluate() {
	_, isKey := m.node.Digits[m.buf]
	switch {
	case isKey && !m.longerKeyHasPrefix(m.buf):
		m.match(false)
	case len(m.buf) >= m.maxDigits():
		m.match(true)
	case m.anyKeyHasPrefix(m.buf):
		m.startTimer(InterDigitTimer, dur(m.node.InterDigitTimeout, DefaultInterDigitTimeout))
	case strings.HasSuffix(m.buf, "#"):
		m.buf = strings.TrimSuffix(m.buf, "#")
		m.match(true)
	default:
		m.fail(m.node.InvalidPrompt)
	}
}

// match takes the action for buf if it is a key, else counts a failure.
// A '#' ends the entry when final is set and '#' is not part of a key.
func (m *Machine) match(final bool) {
	key := m.buf
	a, ok := m.node.Digits[key]
	if !ok && final && strings.HasSuffix(key, "#") {
		key = strings.TrimSuffix(key, "#")
		a, ok = m.node.Digits[key]
	}
	if !ok || a == nil || key == "" {
		m.fail(m.node.InvalidPrompt)
		return
	}
	m.path = append(m.path, m.nodeName+":"+key)
	m.buf = ""
	m.act(a, ReasonChoice)
}

// fail counts a failed attempt (invalid entry or silence) and re-prompts
// with pre, or takes the default once the retries are used up.
func (m *Machine) fail(pre string) {
	m.buf = ""
	m.attempts++
	retries := min(max(m.node.Retries, 0), MaxRetries)
	if m.attempts <= retries {
		m.reprompt(pre)
		return
	}
	m.path = append(m.path, m.nodeName+":default")
	if m.node.Default == nil {
		m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonNoDefault})
		return
	}
	m.act(m.node.Default, ReasonDefault)
}

// act performs a menu action. by is the reason recorded if it ends the menu.
func (m *Machine) act(a *config.Action, by Reason) {
	switch a.Type {
	case config.ActionSetLanguage:
		if a.Language != "" {
			m.lang = a.Language
		}
		m.enter(a.Next)
	case config.ActionGoto:
		m.enter(a.Next)
	case config.ActionInfo, config.ActionHangup:
		m.after, m.afterBy = a, by
		m.phase = phaseInfo
		if a.Type == config.ActionHangup {
			m.phase = phaseGoodbye
		}
		if !m.play(nonEmpty(a.Prompt)) {
			m.afterPrompt()
		}
	case config.ActionQueue:
		if a.Topic == "" {
			m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonConfig})
			return
		}
		m.finish(&Outcome{Kind: OutcomeQueue, Topic: a.Topic, Priority: a.Priority, Reason: by})
	case config.ActionTransfer:
		if a.Number == "" {
			m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonConfig})
			return
		}
		m.finish(&Outcome{Kind: OutcomeTransfer, Number: a.Number, Reason: by})
	default:
		m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonConfig})
	}
}

// afterPrompt continues an info or hangup action once its prompt ended.
func (m *Machine) afterPrompt() {
	a, by := m.after, m.afterBy
	m.after = nil
	if a == nil { // cannot happen; end cleanly rather than stall
		m.finish(&Outcome{Kind: OutcomeHangup, Reason: ReasonConfig})
		return
	}
	if a.Type == config.ActionHangup {
		m.finish(&Outcome{Kind: OutcomeHangup, Prompt: a.Prompt, Reason: by})
		return
	}
	m.enter(a.Next)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// finish ends the menu, stopping whatever still runs.
func (m *Machine) finish(o *Outcome) {
	m.stopPlayback()
	m.cancelTimer()
	o.Language = m.lang
	o.Path = m.Path()
	o.Node = m.nodeName
	m.outcome = o
	m.phase = phaseDone
	m.after = nil
}
