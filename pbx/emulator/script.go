package emulator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Caller scripts a virtual citizen calling the hotline: the call enters
// Stasis(App,Args…) from the dialplan with state "Ring".
type Caller struct {
	Number string // caller id number, e.g. "79001234567"
	Name   string // caller id name; default "Citizen"
	Exten  string // dialled extension; default "122"
	// Context of the dialplan; default "from-citizens".
	Context string
	// App to enter; default Options.App.
	App string
	// Args of Stasis(); nil means ["inbound"], an empty non-nil slice means
	// none (app_data is then just the app name, as in the recorded traces).
	Args     []string
	Language string // default "en"
	// Script runs step after step in its own goroutine.
	Script []Step
	// HangupAt: the caller hangs up this long after the call started (0 = never).
	HangupAt time.Duration
	// HangupAfterAnswer: the caller hangs up this long after the app answered.
	HangupAfterAnswer time.Duration
	// HangupAfterBridged: the caller hangs up this long after first being
	// bridged with another channel (e.g. an operator).
	HangupAfterBridged time.Duration
	// AnswerCallbacks (optional) scripts the caller's phone when the app
	// calls Number back through any trunk (AddTrunk) once this call is
	// over: a citizen who abandoned answers the callback. While this call
	// (or an answered callback) is still up the number is busy (486).
	// Trunk.Numbers entries win over it; Trunk.Citizen does not.
	AnswerCallbacks *Phone
}

// Step is one scripted caller action. Its triggers (all that are set) are
// awaited, then Delay, then the action (Digits, then Hangup).
type Step struct {
	AfterPlayback     int           // the N-th PlaybackFinished on the call (cumulative)
	OnPlaybackStarted int           // the N-th media item started on the call (cumulative)
	OnMedia           string        // a media URI containing this started (since the previous step)
	AfterAnswer       bool          // the app answered
	AfterBridged      bool          // bridged with another channel
	At                time.Duration // since the call started
	Delay             time.Duration // extra wait once triggered

	Digits string // DTMF digits to send (Options.DigitGap apart)
	Hangup bool   // hang up
}

// CallState is a state CallHandle.WaitState can wait for.
type CallState int

const (
	StateInStasis CallState = iota // entered Stasis (StasisStart sent)
	StateAnswered                  // answered by the app
	StateBridged                   // in a bridge with another channel
	StateEnded                     // hung up or rejected
	StateRejected                  // refused: no WebSocket for the app
)

// Reasons a call ended (CallHandle.EndedBy).
const (
	endRemote   = "remote"   // the caller / phone hung up
	endApp      = "app"      // the application hung up (DELETE /channels)
	endContinue = "continue" // left Stasis to the dialplan
	endRejected = "rejected" // no app connected: 603, never entered Stasis
	endClosed   = "closed"   // the emulator closed
	endRestart  = "restart"  // Asterisk restarted (Server.Restart)
)

// CallHandle follows one scripted call (a Caller or a DialFromPhone).
type CallHandle struct {
	s        *Server
	id       string
	name     string
	ch       *channel
	caller   Caller
	start    time.Time
	rejected bool
	fallback bool   // Stasis() failed: in [hotline-fallback] (Options.Fallback)
	app      string // the Stasis application that took the call

	played     []string
	completed  []string // media that played to its natural end
	orphans    int      // items started after their playback was stopped
	finished   int
	sent       []string
	heard      []string
	answeredAt time.Time
	bridged    bool
	endedBy    string
	cause      int
	done       bool

	notify     chan struct{}
	answeredCh chan struct{}
	bridgedCh  chan struct{}
	endedCh    chan struct{}
}

func newHandle(s *Server) *CallHandle {
	return &CallHandle{s: s, start: s.now(), notify: make(chan struct{}),
		answeredCh: make(chan struct{}), bridgedCh: make(chan struct{}), endedCh: make(chan struct{})}
}

func (h *CallHandle) changedLocked() {
	close(h.notify)
	h.notify = make(chan struct{})
}

func (h *CallHandle) finishLocked(hungUp bool) {
	if h.done {
		return
	}
	h.done = true
	if h.endedBy == "" {
		if hungUp {
			h.endedBy = endRemote
		} else {
			h.endedBy = endClosed
		}
	}
	close(h.endedCh)
	h.changedLocked()
}

func (s *Server) scheduleAfterAnswerLocked(h *CallHandle) {
	close(h.answeredCh)
	h.changedLocked()
	if d := h.caller.HangupAfterAnswer; d > 0 && h.ch != nil {
		c := h.ch
		s.addTimer(c, s.afterLocked(d, func() { s.remoteHangupLocked(c) }))
	}
}

func (h *CallHandle) noteBridgedLocked(s *Server) {
	c := h.ch
	if h.bridged || c == nil || c.bridge == nil || len(c.bridge.channels) < 2 {
		return
	}
	h.bridged = true
	close(h.bridgedCh)
	if d := h.caller.HangupAfterBridged; d > 0 {
		s.addTimer(c, s.afterLocked(d, func() { s.remoteHangupLocked(c) }))
	}
}

// Call places a virtual inbound call. If no WebSocket is connected for the
// app the call is refused at once (Asterisk answers 603): it never enters
// Stasis and the handle reports Rejected. With Options.Fallback it goes to
// the fallback queue instead (InFallback): an AstDB record, no events, up
// until the caller hangs up (HangupAt, a Script step or Hangup).
func (s *Server) Call(cl Caller) *CallHandle {
	if cl.Name == "" {
		cl.Name = "Citizen"
	}
	if cl.Exten == "" {
		cl.Exten = "122"
	}
	if cl.Context == "" {
		cl.Context = "from-citizens"
	}
	broadcast := s.opts.Broadcast != nil && cl.App == ""
	if cl.App == "" {
		cl.App = s.opts.App
	}
	if cl.Args == nil {
		cl.Args = []string{"inbound"}
	}
	if cl.Language == "" {
		cl.Language = "en"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := newHandle(s)
	h.caller = cl
	s.handles = append(s.handles, h)
	inStasis := !s.closed && (broadcast || s.activeLocked(cl.App))
	if !inStasis && (s.closed || !s.opts.Fallback) {
		h.rejected = true
		h.endedBy = endRejected
		h.cause = 16
		h.finishLocked(true)
		return h
	}
	c := s.newChannelLocked("", s.nextName("PJSIP/citizens"), "Ring")
	c.protocolID = fmt.Sprintf("1-%d@127.0.0.1", 1000+c.seq)
	c.callerName, c.callerNum = cl.Name, cl.Number
	c.context, c.exten, c.priority = cl.Context, cl.Exten, 2
	c.language = cl.Language
	c.handle = h
	h.ch, h.id, h.name = c, c.id, c.name
	if broadcast {
		s.broadcastLocked(c, cl.Args)
	} else if inStasis {
		s.enterStasisLocked(c, cl.App, cl.Args)
	} else {
		h.fallback = true
		s.fallbackLocked(c)
	}
	if cl.HangupAt > 0 {
		s.addTimer(c, s.afterLocked(cl.HangupAt, func() { s.remoteHangupLocked(c) }))
	}
	if len(cl.Script) > 0 {
		s.wg.Add(1)
		go s.runScript(h, cl.Script)
	}
	return h
}

// featureArgs maps an operator feature code to the Stasis() args the
// hotline dialplan uses.
var featureArgs = map[string][]string{
	"*11": {"agent-login"},
	"*12": {"agent-logout"},
	"*13": {"agent-pause"},
	"*14": {"agent-ready"},
}

// DialFromPhone makes the operator phone at endpoint dial exten, entering
// Stasis(app,args…) with state Ring (as operator_agent_login.jsonl). nil
// args are derived from the feature code (*11 agent-login, *12
// agent-logout, *13 agent-pause, *14 agent-ready).
func (s *Server) DialFromPhone(endpoint, exten string, args []string) *CallHandle {
	if args == nil {
		args = featureArgs[exten]
	}
	s.mu.Lock()
	p := s.phones[endpoint]
	if p == nil {
		tech, res, _ := strings.Cut(endpoint, "/")
		p = &phone{endpoint: endpoint, tech: tech, resource: res, cfg: Phone{Registered: true}}
		s.phones[endpoint] = p
	}
	s.mu.Unlock()
	return s.callFrom(p, exten, args)
}

func (s *Server) callFrom(p *phone, exten string, args []string) *CallHandle {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := newHandle(s)
	h.caller = Caller{Number: p.resource, Name: p.name(), Exten: exten, Context: p.context(), App: s.opts.App, Args: args}
	s.handles = append(s.handles, h)
	broadcast := s.opts.Broadcast != nil
	if s.closed || (!broadcast && !s.activeLocked(s.opts.App)) {
		h.rejected = true
		h.endedBy = endRejected
		h.finishLocked(true)
		return h
	}
	c := s.newChannelLocked("", s.nextName(p.endpoint), "Ring")
	c.protocolID = randHex(16)
	c.callerName, c.callerNum = p.name(), p.resource
	c.context, c.exten, c.priority = p.context(), exten, 1
	c.endpoint = p.endpoint
	c.ph = p
	c.handle = h
	p.chans = append(p.chans, c)
	h.ch, h.id, h.name = c, c.id, c.name
	if broadcast {
		s.broadcastLocked(c, args)
	} else {
		s.enterStasisLocked(c, s.opts.App, args)
	}
	return h
}

func (s *Server) runScript(h *CallHandle, steps []Step) {
	defer s.wg.Done()
	for _, st := range steps {
		s.mu.Lock()
		mediaFrom := len(h.played)
		s.mu.Unlock()
		cond := func() bool {
			if st.AfterPlayback > 0 && h.finished < st.AfterPlayback {
				return false
			}
			if st.OnPlaybackStarted > 0 && len(h.played) < st.OnPlaybackStarted {
				return false
			}
			if st.OnMedia != "" {
				found := false
				for _, m := range h.played[mediaFrom:] {
					if strings.Contains(m, st.OnMedia) {
						found = true
					}
				}
				if !found {
					return false
				}
			}
			if st.AfterAnswer && h.answeredAt.IsZero() {
				return false
			}
			if st.AfterBridged && !h.bridged {
				return false
			}
			return true
		}
		if !s.waitHandle(h, cond, h.start.Add(st.At)) {
			return
		}
		if !s.sleep(h, st.Delay) {
			return
		}
		for i, d := range st.Digits {
			if i > 0 && !s.sleep(h, s.opts.DigitGap) {
				return
			}
			h.SendDTMF(string(d))
		}
		if st.Hangup {
			h.Hangup()
			return
		}
	}
}

// waitHandle waits until cond (evaluated under s.mu) holds and the clock
// passed notBefore; false if the call ended or the server closed.
func (s *Server) waitHandle(h *CallHandle, cond func() bool, notBefore time.Time) bool {
	for {
		s.mu.Lock()
		ok, done, ch := cond(), h.done, h.notify
		s.mu.Unlock()
		if done {
			return false
		}
		if ok {
			if d := notBefore.Sub(s.now()); d > 0 {
				return s.sleep(h, d)
			}
			return true
		}
		select {
		case <-ch:
		case <-s.closing:
			return false
		}
	}
}

func (s *Server) sleep(h *CallHandle, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.endedCh:
		return false
	case <-s.closing:
		return false
	}
}

// ID is the channel id ("" if the call was rejected).
func (h *CallHandle) ID() string { return h.id }

// Name is the channel name, e.g. "PJSIP/citizens-00000000".
func (h *CallHandle) Name() string { return h.name }

// SendDTMF sends digits from the caller (ChannelDtmfReceived each, unless
// natively bridged). It reports whether at least one reached the app side.
func (h *CallHandle) SendDTMF(digits string) bool {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.ch == nil {
		return false
	}
	ok := false
	for _, d := range digits {
		ok = s.dtmfLocked(h.ch, string(d)) || ok
	}
	return ok
}

// Hangup hangs up from the caller's side (remote hangup: no cause).
func (h *CallHandle) Hangup() {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.ch != nil {
		s.remoteHangupLocked(h.ch)
	}
}

// Answered is closed when the app answers the call.
func (h *CallHandle) Answered() <-chan struct{} { return h.answeredCh }

// Bridged is closed when the call is first bridged with another channel.
func (h *CallHandle) Bridged() <-chan struct{} { return h.bridgedCh }

// Ended is closed when the call is over (any side hung up, or rejected).
func (h *CallHandle) Ended() <-chan struct{} { return h.endedCh }

// Rejected reports that the call was refused because no app was connected.
func (h *CallHandle) Rejected() bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.rejected
}

// InFallback reports that the call went to the fallback queue because no
// app was connected (Options.Fallback); it stays true once the call ended.
func (h *CallHandle) InFallback() bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.fallback
}

func (h *CallHandle) locked(f func()) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	f()
}

// Played lists the media URIs started on the call, in order.
func (h *CallHandle) Played() []string {
	var out []string
	h.locked(func() { out = append(out, h.played...) })
	return out
}

// Completed lists the media URIs that played to their end: not stopped,
// and not cut off by a hang-up (on Asterisk, hanging a channel up right
// after POST /play aborts the playback: "Playback failed for sound:…").
func (h *CallHandle) Completed() []string {
	var out []string
	h.locked(func() { out = append(out, h.completed...) })
	return out
}

// Orphans counts media items that started after the app had stopped their
// several-media playback: Asterisk plays the next item anyway, and the
// caller's bridge join waits for it. An app that stops prompts cleanly
// leaves none.
func (h *CallHandle) Orphans() int {
	var n int
	h.locked(func() { n = h.orphans })
	return n
}

// DigitsSent lists the digits the caller sent.
func (h *CallHandle) DigitsSent() []string {
	var out []string
	h.locked(func() { out = append(out, h.sent...) })
	return out
}

// DTMFReceived lists the DTMF strings the app sent to the caller (POST /dtmf).
func (h *CallHandle) DTMFReceived() []string {
	var out []string
	h.locked(func() { out = append(out, h.heard...) })
	return out
}

// OnMOH reports whether the caller hears music on hold (channel MOH, or
// bridge MOH while alone in the bridge).
func (h *CallHandle) OnMOH() bool {
	var v bool
	h.locked(func() {
		c := h.ch
		if c == nil || h.done {
			return
		}
		v = c.moh || (c.bridge != nil && c.bridge.moh)
	})
	return v
}

// Ringing reports whether the app is sending ringing indication (POST /ring).
func (h *CallHandle) Ringing() bool {
	var v bool
	h.locked(func() { v = h.ch != nil && !h.done && h.ch.ring })
	return v
}

// Bridge returns the bridge the call is in ("" if none) and the ids of the
// other channels in it.
func (h *CallHandle) Bridge() (bridgeID string, peers []string) {
	h.locked(func() {
		c := h.ch
		if c == nil || c.bridge == nil {
			return
		}
		bridgeID = c.bridge.id
		for _, x := range c.bridge.channels {
			if x != c {
				peers = append(peers, x.id)
			}
		}
	})
	return bridgeID, peers
}

// State is "rejected", "fallback", "ring", "up", "bridged" or "ended".
func (h *CallHandle) State() string {
	var st string
	h.locked(func() {
		switch {
		case h.rejected:
			st = "rejected"
		case h.done:
			st = "ended"
		case h.fallback:
			st = "fallback"
		case h.ch.bridge != nil && len(h.ch.bridge.channels) > 1:
			st = "bridged"
		case h.ch.state == "Up":
			st = "up"
		default:
			st = "ring"
		}
	})
	return st
}

// EndedBy says who ended the call: "remote" (caller/phone hung up), "app"
// (DELETE /channels), "continue", "rejected", "closed"; "" while active.
func (h *CallHandle) EndedBy() string {
	var v string
	h.locked(func() {
		if h.done {
			v = h.endedBy
		}
	})
	return v
}

// Cause is the hangup cause once ended (16 normal clearing).
func (h *CallHandle) Cause() int {
	var v int
	h.locked(func() { v = h.cause })
	return v
}

// WaitState blocks until the call reaches st (or it can no longer: the
// call ended first) or ctx is done.
func (h *CallHandle) WaitState(ctx context.Context, st CallState) error {
	var ch <-chan struct{}
	switch st {
	case StateInStasis:
		if h.rejected {
			return errors.New("emulator: call rejected")
		}
		if h.fallback {
			return errors.New("emulator: call went to the fallback queue")
		}
		return nil
	case StateAnswered:
		ch = h.answeredCh
	case StateBridged:
		ch = h.bridgedCh
	case StateEnded:
		ch = h.endedCh
	case StateRejected:
		if h.rejected {
			return nil
		}
		return errors.New("emulator: call not rejected")
	}
	select {
	case <-ch:
		return nil
	case <-h.endedCh:
		select {
		case <-ch: // reached before it ended
			return nil
		default:
		}
		return fmt.Errorf("emulator: call ended (%s) before reaching state %d", h.EndedBy(), st)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- observation ----

// ChannelInfo is a snapshot of one channel.
type ChannelInfo struct {
	ID, Name, State string
	CallerNumber    string
	Endpoint        string // "PJSIP/1001" for phone channels
	App             string // Stasis app, "" when not in Stasis
	AppData         string
	Originated      bool
	BridgeID        string
	MOH, Ringing    bool
	Playing         string // current media URI
}

// BridgeInfo is a snapshot of one bridge.
type BridgeInfo struct {
	ID, Name, Type string // Type "mixing" or "holding"
	DTMFEvents     bool
	Channels       []string // newest first
	MOH            bool
}

// Channels snapshots every live channel, oldest first.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ChannelInfo
	for _, o := range s.channelList() {
		c := s.channels[o.get("id").(string)]
		ci := ChannelInfo{ID: c.id, Name: c.name, State: c.state, CallerNumber: c.callerNum, Endpoint: c.endpoint,
			App: c.stasisApp, AppData: c.appData, Originated: c.originated, MOH: c.moh, Ringing: c.ring}
		if c.bridge != nil {
			ci.BridgeID = c.bridge.id
		}
		if len(c.pbQueue) > 0 && c.pbQueue[0].state == "playing" {
			ci.Playing = c.pbQueue[0].media[c.pbQueue[0].idx]
		}
		out = append(out, ci)
	}
	return out
}

// Bridges snapshots every bridge.
func (s *Server) Bridges() []BridgeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BridgeInfo
	for _, b := range s.bridges {
		bi := BridgeInfo{ID: b.id, Name: b.name, Type: b.bridgeType, DTMFEvents: b.dtmfEvents, MOH: b.moh}
		for _, c := range b.channels {
			bi.Channels = append(bi.Channels, c.id)
		}
		out = append(out, bi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// WaitConnected waits until the default app has a WebSocket connected.
func (s *Server) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !s.Connected() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return errors.New("emulator: closed")
		case <-t.C:
		}
	}
	return nil
}
