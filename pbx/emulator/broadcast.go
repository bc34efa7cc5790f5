package emulator

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Broadcast makes the emulated dialplan run StasisBroadcast(timeout,
// filter,args) instead of Stasis(app,args) for citizens' calls and the
// operators' feature codes, as a dialplan for several hotline instances
// does (Asterisk 22.7+). Each connected application whose name matches
// Filter hears a CallBroadcast; the first POST /events/claim wins and the
// channel enters Stasis in that application with the call's args (a
// StasisStart, as Stasis(winner) would). Later claims answer 409, a claim
// for a channel not being broadcast 404. Nobody claiming within Timeout
// sets STASISSTATUS=TIMEOUT and the dialplan goes on: to the fallback
// queue with Options.Fallback, else Hangup() (the handle reports
// Rejected). The emulator waits the whole timeout even when no
// application matches (the strict reading of the application's
// documentation).
type Broadcast struct {
	// Filter is a regular expression over application names; empty
	// matches every connected application.
	Filter string
	// Timeout to wait for a claim. Default 500ms, Asterisk's (scaled by
	// Options.TimeScale).
	Timeout time.Duration
}

// broadcastState is a channel StasisBroadcast() is offering.
type broadcastState struct {
	args    []string
	timer   *timer
	claimed string
}

// broadcastLocked offers c to the matching applications and starts the
// claim timeout.
func (s *Server) broadcastLocked(c *channel, args []string) {
	b := s.opts.Broadcast
	c.appName = "StasisBroadcast"
	c.appData = strings.Join([]string{s.broadcastTimeout().String(), b.Filter, strings.Join(args, ":")}, ",")
	st := &broadcastState{args: args}
	c.bcast = st
	ev := s.event("CallBroadcast", kv{"channel", c.json()}, kv{"caller", c.callerNum}, kv{"called", c.exten})
	for _, a := range s.broadcastAppsLocked() {
		if a.allows(map[string]any{"type": "CallBroadcast"}) {
			s.sendLocked(a, ev)
		}
	}
	st.timer = s.afterLocked(s.broadcastTimeout(), func() { s.broadcastTimeoutLocked(c) })
	s.addTimer(c, st.timer)
}

func (s *Server) broadcastTimeout() time.Duration {
	d := s.opts.Broadcast.Timeout
	if d <= 0 {
		d = 500 * time.Millisecond
	}
	return s.scaled(d)
}

// broadcastAppsLocked: the connected applications the filter matches, by name.
func (s *Server) broadcastAppsLocked() []*app {
	var re *regexp.Regexp
	if f := s.opts.Broadcast.Filter; f != "" {
		re = s.bcastRE
	}
	var out []*app
	for _, a := range s.apps {
		if a.sock != nil && (re == nil || re.MatchString(a.name)) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// broadcastTimeoutLocked: nobody claimed c; the dialplan goes on.
func (s *Server) broadcastTimeoutLocked(c *channel) {
	if c.dead || c.bcast == nil || c.bcast.claimed != "" {
		return
	}
	c.bcast = nil
	c.vars["STASISSTATUS"] = "TIMEOUT"
	if s.opts.Fallback && c.ph == nil {
		if c.handle != nil {
			c.handle.fallback = true
		}
		s.fallbackLocked(c)
		s.touchLocked(c)
		return
	}
	if c.handle != nil {
		c.handle.rejected = true
		c.handle.endedBy = endRejected
	}
	s.destroyLocked(c, 16, 0) // Hangup()
}

// claimLocked: POST /events/claim?channelId=&application=.
func (s *Server) claimLocked(rq *request) (int, any) {
	id, appName := rq.get("channelId"), rq.get("application")
	if id == "" || appName == "" {
		return http.StatusBadRequest, msg("channelId and application are required")
	}
	c := s.channels[id]
	if c == nil || c.dead || c.bcast == nil {
		return http.StatusNotFound, msg("Channel not found or not in broadcast state")
	}
	if c.bcast.claimed != "" {
		return http.StatusConflict, msg("Channel has already been claimed")
	}
	if !s.activeLocked(appName) {
		return http.StatusNotFound, msg("Application not found")
	}
	c.bcast.claimed = appName
	s.cancelTimerLocked(c.bcast.timer)
	// The claim stays on the channel: later claims hear 409.
	s.enterStasisLocked(c, appName, c.bcast.args)
	return http.StatusNoContent, nil
}

// ConnectedApps lists the applications with a WebSocket, by name.
func (s *Server) ConnectedApps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n, a := range s.apps {
		if a.sock != nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// App is the Stasis application that holds (or last held) the call; ""
// if it never entered one.
func (h *CallHandle) App() string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.app
}

// Restart is Asterisk restarting: every channel and bridge vanishes with
// no event (the process that would send them is gone), every WebSocket
// closes, the applications and their subscriptions are forgotten, and the
// new process has a new startup time (GET /asterisk/info status). The
// AstDB, on disk in Asterisk, stays; phones stay registered (they
// re-register at once). Calls in progress end with EndedBy "restart".
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for sc := range s.socks {
		sc.close()
	}
	s.apps = map[string]*app{}
	for _, c := range s.channels {
		c.dead = true
		for _, t := range c.timers {
			s.cancelTimerLocked(t)
		}
		c.timers = nil
		if c.ph != nil {
			c.ph.dropChannel(c)
		}
		if c.handle != nil && !c.handle.done {
			c.handle.endedBy = endRestart
			c.handle.finishLocked(true)
		}
	}
	for _, pb := range s.playbacks {
		s.cancelTimerLocked(pb.t)
	}
	s.channels = map[string]*channel{}
	s.bridges = map[string]*bridge{}
	s.playbacks = map[string]*playback{}
	s.liveRecs = map[string]*liveRecording{}
	now := s.now()
	if now.Sub(s.startTime) < time.Second {
		// A new second: channel ids start with the startup time.
		now = s.startTime.Add(time.Second)
	}
	s.startTime = now
}
