package emulator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// newChannelLocked creates a channel (no event: Asterisk sends none for a
// channel nobody is subscribed to yet).
func (s *Server) newChannelLocked(id, name, state string) *channel {
	s.chanSeq++
	if id == "" {
		id = fmt.Sprintf("%d.%d", s.startTime.Unix(), s.chanSeq)
	}
	c := &channel{
		id: id, name: name, state: state,
		created:  s.now(),
		language: "en",
		vars:     map[string]string{},
		seq:      s.chanSeq,
		priority: 1,
	}
	s.channels[id] = c
	return c
}

func (s *Server) nextName(prefix string) string {
	n := fmt.Sprintf("%s-%08x", prefix, s.nameSeq)
	s.nameSeq++
	return n
}

func randHex(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[rand.IntN(16)]
	}
	return string(b)
}

func uuid() string {
	return randHex(8) + "-" + randHex(4) + "-4" + randHex(3) + "-a" + randHex(3) + "-" + randHex(12)
}

// touchLocked wakes up anybody waiting on the channel's handle state.
func (s *Server) touchLocked(c *channel) {
	if c != nil && c.handle != nil {
		c.handle.changedLocked()
	}
}

func (s *Server) chanEvent(typ string, c *channel, fields ...kv) obj {
	ev := s.event(typ, fields...)
	return append(ev, kv{"channel", c.json()})
}

// enterStasisLocked puts c into app with args and emits StasisStart.
func (s *Server) enterStasisLocked(c *channel, appName string, args []string) {
	if args == nil {
		args = []string{}
	}
	c.stasisApp = appName
	if c.handle != nil {
		c.handle.app = appName
	}
	c.appName = "Stasis"
	c.appData = appName
	if len(args) > 0 {
		c.appData = appName + "," + strings.Join(args, ",")
	}
	s.subscribeLocked(appName, "channel:"+c.id)
	s.emitLocked(s.event("StasisStart", kv{"args", args}, kv{"channel", c.json()}), []*channel{c}, nil)
	s.touchLocked(c)
}

func (s *Server) setStateLocked(c *channel, state string) {
	if c.state == state {
		return
	}
	c.state = state
	s.emitLocked(s.chanEvent("ChannelStateChange", c), []*channel{c}, nil)
	s.touchLocked(c)
}

// answerLocked answers a channel (POST /answer): ChannelStateChange(Up).
func (s *Server) answerLocked(c *channel) {
	c.ring = false
	if c.state != "Up" {
		c.answered = true
		if h := c.handle; h != nil && h.answeredAt.IsZero() {
			h.answeredAt = s.now()
			s.scheduleAfterAnswerLocked(h)
		}
		s.setStateLocked(c, "Up")
	}
}

func (s *Server) setVarLocked(c *channel, name, value string) {
	c.vars[name] = value
	ev := obj{{"variable", name}, {"value", value}, {"type", "ChannelVarset"}, {"timestamp", ts(s.now())}, {"channel", c.json()}}
	s.emitLocked(ev, []*channel{c}, nil)
}

// qosVarsLocked emits the five RTPAUDIOQOS* ChannelVarset events Asterisk
// sends when an answered SIP channel hangs up.
func (s *Server) qosVarsLocked(c *channel) {
	if c.local {
		return
	}
	rx, tx := 50+rand.IntN(400), 50+rand.IntN(400)
	vals := [][2]string{
		{"RTPAUDIOQOS", fmt.Sprintf("ssrc=%d;themssrc=%d;lp=0;rxjitter=0.000000;rxcount=%d;txjitter=0.000125;txcount=%d;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000", rand.Uint32(), rand.Uint32(), rx, tx)},
		{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000375;avgrxjitter=000.000200;stdevrxjitter=000.000075;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
		{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
		{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
		{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
	}
	for _, v := range vals {
		c.vars[v[0]] = v[1]
		ev := obj{{"variable", v[0]}, {"value", v[1]}, {"type", "ChannelVarset"}, {"timestamp", ts(s.now())}, {"channel", c.json()}}
		s.emitLocked(ev, []*channel{c}, nil)
	}
}

// hangupRequestLocked emits ChannelHangupRequest; cause 0 = no cause field
// (remote hangup), soft adds "soft":true.
func (s *Server) hangupRequestLocked(c *channel, cause int, soft bool) {
	var ev obj
	if cause != 0 {
		ev = append(ev, kv{"cause", cause})
	}
	if soft {
		ev = append(ev, kv{"soft", true})
	}
	ev = append(ev, kv{"type", "ChannelHangupRequest"}, kv{"timestamp", ts(s.now())}, kv{"channel", c.json()})
	s.emitLocked(ev, []*channel{c}, nil)
}

// appHangupLocked: DELETE /channels/{id}.
func (s *Server) appHangupLocked(c *channel, cause int) {
	if c.hangingUp || c.dead {
		return
	}
	if c.originated && !c.answered {
		// Cancel a leg that is still dialling: hangup request (32, soft),
		// Dial NOANSWER, destroyed with the reason's cause (16 normally).
		c.hangingUp = true
		if c.handle != nil && c.handle.endedBy == "" {
			c.handle.endedBy = endApp
		}
		s.hangupRequestLocked(c, 32, true)
		s.dialEventLocked(c, "NOANSWER")
		s.destroyLocked(c, cause, 0)
		return
	}
	s.terminateLocked(c, 32, true, cause, endApp)
}

// remoteHangupLocked: the far end (caller or phone) sent BYE.
func (s *Server) remoteHangupLocked(c *channel) {
	if c.hangingUp || c.dead {
		return
	}
	s.terminateLocked(c, 0, false, 16, endRemote)
}

// terminateLocked tears down an answered / in-Stasis channel in Asterisk's
// order: QoS varsets, hangup request, playback end, bridge leave, StasisEnd,
// STASISSTATUS, ChannelDestroyed (delivered only while still subscribed).
func (s *Server) terminateLocked(c *channel, reqCause int, soft bool, destroyCause int, by string) {
	c.hangingUp = true
	if c.handle != nil && c.handle.endedBy == "" {
		c.handle.endedBy = by
	}
	if c.state == "Up" {
		s.qosVarsLocked(c)
	}
	s.hangupRequestLocked(c, reqCause, soft)
	s.abortPlaybacksLocked(c)
	if c.bridge != nil {
		s.bridgeLeaveLocked(c)
	}
	if c.stasisApp != "" {
		s.stasisEndLocked(c)
	}
	s.destroyLocked(c, destroyCause, 0)
}

func (s *Server) stasisEndLocked(c *channel) {
	appName := c.stasisApp
	s.emitLocked(s.chanEvent("StasisEnd", c), []*channel{c}, nil)
	c.stasisApp = ""
	s.unsubscribeLocked(appName, "channel:"+c.id)
	s.setVarLocked(c, "STASISSTATUS", "SUCCESS")
}

// destroyLocked emits ChannelDestroyed and forgets the channel.
func (s *Server) destroyLocked(c *channel, cause, techCause int) {
	if c.dead {
		return
	}
	c.hangingUp = true
	c.dead = true
	txt, ok := causeText[cause]
	if !ok {
		txt = "Unknown"
	}
	ev := s.event("ChannelDestroyed", kv{"cause", cause}, kv{"cause_txt", txt})
	if techCause != 0 {
		ev = append(ev, kv{"tech_cause", techCause})
	}
	ev = append(ev, kv{"channel", c.json()})
	s.emitLocked(ev, []*channel{c}, nil)
	for _, t := range c.timers {
		s.cancelTimerLocked(t)
	}
	c.timers = nil
	s.abortPlaybacksLocked(c)
	if c.bridge != nil {
		c.bridge.remove(c)
		c.bridge = nil
	}
	delete(s.channels, c.id)
	if c.snoopOf != nil {
		c.snoopOf.snoops = slicesDelete(c.snoopOf.snoops, c)
	}
	s.endSnoopsLocked(c)
	s.dropSubsLocked("channel:" + c.id)
	if c.ph != nil {
		c.ph.dropChannel(c)
	}
	if c.onDestroy != nil {
		c.onDestroy(cause)
	}
	if c.handle != nil {
		c.handle.cause = cause
		c.handle.finishLocked(true)
	}
}

// continueLocked: POST /continue — the channel leaves Stasis back to the
// dialplan at context/exten: the modelled one (dbsync.go) runs; any other
// (in the emulator) simply hangs the channel up.
func (s *Server) continueLocked(c *channel, context, exten string) {
	if c.bridge != nil {
		s.bridgeLeaveLocked(c)
	}
	s.abortPlaybacksLocked(c)
	s.stasisEndLocked(c)
	c.appName, c.appData = "", ""
	if s.dialplanLocked(c, context, exten) {
		return
	}
	if c.handle != nil && c.handle.endedBy == "" {
		c.handle.endedBy = endContinue
	}
	s.addTimer(c, s.afterLocked(time.Millisecond, func() {
		if c.state == "Up" {
			s.qosVarsLocked(c)
		}
		c.hangingUp = true
		s.destroyLocked(c, 16, 0)
	}))
}

// ---- playbacks ----

func (s *Server) mediaDuration(media string) time.Duration {
	if d, ok := s.opts.SoundDurations[media]; ok {
		return s.scaled(d)
	}
	return s.scaled(s.opts.PlaybackDuration)
}

func (s *Server) playLocked(c *channel, id string, media []string, lang string) *playback {
	pb := &playback{id: id, media: media, target: c, language: lang, state: "queued"}
	s.playbacks[id] = pb
	c.pbQueue = append(c.pbQueue, pb)
	if len(c.pbQueue) == 1 {
		s.addTimer(c, s.afterLocked(0, func() { s.startPlaybackLocked(c) }))
	}
	return pb
}

func (s *Server) startPlaybackLocked(c *channel) {
	if c.dead || c.hangingUp || len(c.pbQueue) == 0 {
		return
	}
	pb := c.pbQueue[0]
	if pb.state != "queued" {
		return
	}
	pb.state = "playing"
	s.emitLocked(s.event("PlaybackStarted", kv{"playback", pb.json()}), []*channel{c}, nil)
	s.playMediaLocked(pb)
}

func (s *Server) playMediaLocked(pb *playback) {
	c := pb.target
	m := pb.media[pb.idx]
	if c.handle != nil {
		c.handle.played = append(c.handle.played, m)
		c.handle.changedLocked()
	}
	if !s.opts.SoundExists(m) {
		pb.t = s.afterLocked(2*time.Millisecond, func() { s.finishPlaybackLocked(pb, "failed") })
		s.addTimer(c, pb.t)
		return
	}
	pb.t = s.afterLocked(s.mediaDuration(m), func() {
		if c.handle != nil {
			c.handle.completed = append(c.handle.completed, m)
		}
		if pb.idx+1 < len(pb.media) {
			pb.idx++
			s.emitLocked(s.event("PlaybackContinuing", kv{"playback", pb.json()}), []*channel{c}, nil)
			s.playMediaLocked(pb)
			return
		}
		s.finishPlaybackLocked(pb, "done")
	})
	s.addTimer(c, pb.t)
}

func (s *Server) finishPlaybackLocked(pb *playback, state string) {
	if pb.state != "playing" {
		return
	}
	s.cancelTimerLocked(pb.t)
	pb.state = state
	c := pb.target
	s.emitLocked(s.event("PlaybackFinished", kv{"playback", pb.json()}), []*channel{c}, nil)
	delete(s.playbacks, pb.id)
	s.removeQueued(c, pb)
	if c.handle != nil {
		c.handle.finished++
		c.handle.changedLocked()
	}
	if len(c.pbQueue) > 0 && !c.dead && !c.hangingUp {
		s.addTimer(c, s.afterLocked(0, func() { s.startPlaybackLocked(c) }))
	}
}

func (s *Server) removeQueued(c *channel, pb *playback) {
	for i, x := range c.pbQueue {
		if x == pb {
			c.pbQueue = append(c.pbQueue[:i:i], c.pbQueue[i+1:]...)
			return
		}
	}
}

// stopPlaybackLocked: DELETE /playbacks/{id}. A playing playback finishes
// with state "done" (as Asterisk reports a stopped one); a queued one is
// dropped silently.
func (s *Server) stopPlaybackLocked(pb *playback) {
	if pb.state == "playing" {
		next := pb.idx + 1
		s.finishPlaybackLocked(pb, "done")
		if next < len(pb.media) {
			s.orphanLocked(pb.target, pb.media[next])
		}
		return
	}
	pb.state = "canceled"
	delete(s.playbacks, pb.id)
	s.removeQueued(pb.target, pb)
}

// orphanLocked plays the item Asterisk starts after a several-media
// playback was stopped: no event tells the app, but the channel is busy with
// it, and a bridge join waits until it ends (seen on Asterisk 22.10.1).
func (s *Server) orphanLocked(c *channel, media string) {
	if c.dead || c.hangingUp {
		return
	}
	if c.handle != nil {
		c.handle.played = append(c.handle.played, media)
		c.handle.orphans++
		c.handle.changedLocked()
	}
	c.busyUntil = s.now().Add(s.mediaDuration(media))
}

// abortPlaybacksLocked ends the current playback (done) and drops queued ones.
func (s *Server) abortPlaybacksLocked(c *channel) {
	q := c.pbQueue
	c.pbQueue = nil
	for _, pb := range q {
		if pb.state == "playing" {
			s.cancelTimerLocked(pb.t)
			pb.state = "done"
			s.emitLocked(s.event("PlaybackFinished", kv{"playback", pb.json()}), []*channel{c}, nil)
		}
		delete(s.playbacks, pb.id)
	}
}

// ---- DTMF ----

// dtmfLocked: the far end of c pressed digit. It reaches the app as
// ChannelDtmfReceived, except in a natively bridged plain mixing bridge.
func (s *Server) dtmfLocked(c *channel, digit string) bool {
	if c.dead || c.hangingUp {
		return false
	}
	if c.handle != nil {
		c.handle.sent = append(c.handle.sent, digit)
	}
	if c.bridge != nil && c.bridge.nativeRTP() {
		return false
	}
	s.emitLocked(s.event("ChannelDtmfReceived", kv{"digit", digit}, kv{"duration_ms", 280}, kv{"channel", c.json()}), []*channel{c}, nil)
	return true
}

// ---- bridges ----

func (s *Server) bridgeAddLocked(b *bridge, c *channel) {
	if c.bridge == b {
		return
	}
	if wait := c.busyUntil.Sub(s.now()); wait > 0 {
		s.addTimer(c, s.afterLocked(wait, func() {
			if !c.dead && !b.destroyed {
				s.bridgeAddLocked(b, c)
			}
		}))
		return
	}
	if c.bridge != nil {
		s.bridgeLeaveLocked(c)
	}
	b.channels = append([]*channel{c}, b.channels...)
	c.bridge = b
	if c.stasisApp != "" && !s.appLocked(c.stasisApp).subscribed("bridge:"+b.id) {
		// Asterisk subscribes the application of a channel it adds to a
		// bridge (control_add_channel_to_bridge).
		s.subscribeLocked(c.stasisApp, "bridge:"+b.id)
	}
	s.emitLocked(s.event("ChannelEnteredBridge", kv{"bridge", b.json()}, kv{"channel", c.json()}), []*channel{c}, []*bridge{b})
	if len(b.channels) == 2 && b.bridgeType == "mixing" {
		other := b.channels[1]
		other.connName, other.connNum = c.callerName, c.callerNum
		s.emitLocked(s.chanEvent("ChannelConnectedLine", other), []*channel{other}, nil)
	}
	for _, x := range b.channels {
		s.touchLocked(x)
		if x.handle != nil {
			x.handle.noteBridgedLocked(s)
		}
	}
}

func (s *Server) bridgeLeaveLocked(c *channel) {
	b := c.bridge
	if b == nil {
		return
	}
	b.remove(c)
	c.bridge = nil
	s.emitLocked(s.event("ChannelLeftBridge", kv{"bridge", b.json()}, kv{"channel", c.json()}), []*channel{c}, []*bridge{b})
	s.touchLocked(c)
	for _, x := range b.channels {
		s.touchLocked(x)
	}
}

func (s *Server) destroyBridgeLocked(b *bridge) {
	s.endBridgeRecordingsLocked(b)
	for len(b.channels) > 0 {
		s.bridgeLeaveLocked(b.channels[0])
	}
	b.destroyed = true
	s.emitLocked(s.event("BridgeDestroyed", kv{"bridge", b.json()}), nil, []*bridge{b})
	delete(s.bridges, b.id)
	s.dropSubsLocked("bridge:" + b.id)
}

func slicesDelete(cs []*channel, c *channel) []*channel {
	out := cs[:0]
	for _, x := range cs {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}
