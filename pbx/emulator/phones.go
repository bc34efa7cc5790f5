package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Phone scripts a virtual operator softphone (a PJSIP endpoint), or a
// citizen's phone reached through a trunk (see Trunk).
type Phone struct {
	// Registered: the endpoint has a contact. An originate to an
	// unregistered (or unknown) endpoint fails with 500 "Allocation failed".
	// Ignored behind a trunk (the carrier is what is registered): use
	// Unallocated there.
	Registered bool
	// AnswerAfter: time from 180 Ringing to answer (0 = at once).
	AnswerAfter time.Duration
	// Decline answers 603 (cause 21), Busy answers 486 (cause 17).
	Decline, Busy bool
	// Unallocated answers 404 Not Found: ChannelHangupRequest cause 1, Dial
	// NOANSWER, ChannelDestroyed cause 1 (a number nobody has, or a citizen
	// phone the carrier cannot reach).
	Unallocated bool
	// NeverAnswer rings until the originate timeout (cause 19).
	NeverAnswer bool
	// HangupAfter: the phone hangs up this long after answering (0 = never).
	HangupAfter time.Duration
	// HangupAfterBridged: the phone hangs up this long after its answered
	// leg is first bridged with another channel (0 = never).
	HangupAfterBridged time.Duration
	// Name is the caller name of channels from this phone; default "Operator <resource>".
	Name string
	// Context is the endpoint's dialplan context; default "from-operators".
	Context string
}

// Origination records one originate aimed at a phone or a trunk.
type Origination struct {
	Time      time.Time
	ChannelID string
	AppArgs   string
	// CallerID is the originate's callerId parameter as sent (e.g.
	// "Hotline <122>"); "" when the app gave none.
	CallerID string
	// Number is the number dialled behind a trunk ("+77011234567" for
	// PJSIP/+77011234567@carrier); "" for a phone.
	Number string
	// Outcome: "allocation-failed" (unregistered, 500), "ringing" (still
	// dialling), "answered", "busy", "declined", "unallocated",
	// "no-answer", "cancelled".
	Outcome string
	// Leg follows the dialled channel (what the far end heard, its DTMF,
	// its hangup); nil when refused with 500.
	Leg *CallHandle
}

type phone struct {
	endpoint, tech, resource string
	cfg                      Phone
	rang                     int
	log                      []*Origination
	chans                    []*channel
	trunk                    *trunk // non-nil: a carrier trunk (AddTrunk)
	local                    bool   // a Local/ destination (not in s.phones)
}

func (p *phone) dropChannel(c *channel) {
	for i, x := range p.chans {
		if x == c {
			p.chans = append(p.chans[:i:i], p.chans[i+1:]...)
			return
		}
	}
}

func (p *phone) name() string {
	if p.cfg.Name != "" || p.local {
		return p.cfg.Name
	}
	return "Operator " + p.resource
}

func (p *phone) context() string {
	if p.cfg.Context != "" {
		return p.cfg.Context
	}
	return "from-operators"
}

// AddPhone adds (or replaces the script of) the endpoint, e.g. "PJSIP/1001".
func (s *Server) AddPhone(endpoint string, p Phone) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ph := s.phones[endpoint]; ph != nil {
		ph.cfg = p
		return
	}
	tech, res, _ := strings.Cut(endpoint, "/")
	s.phones[endpoint] = &phone{endpoint: endpoint, tech: tech, resource: res, cfg: p}
}

// SetPhone changes a phone's script at run time (later calls use it).
func (s *Server) SetPhone(endpoint string, p Phone) { s.AddPhone(endpoint, p) }

// PhoneRang counts the originates that reached the phone (it was dialled:
// registered endpoint, 200 to the POST), whatever their outcome.
func (s *Server) PhoneRang(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.phones[endpoint]; p != nil {
		return p.rang
	}
	return 0
}

// Originations lists every originate aimed at the endpoint, oldest first,
// including the ones refused with 500.
func (s *Server) Originations(endpoint string) []Origination {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phones[endpoint]
	if p == nil {
		return nil
	}
	out := make([]Origination, 0, len(p.log))
	for _, o := range p.log {
		out = append(out, *o)
	}
	return out
}

// HangupPhone hangs up the phone's answered calls (as the operator pressing
// "hang up": remote hangup events). It reports whether there was one.
func (s *Server) HangupPhone(endpoint string) bool { return s.endPhoneCalls(endpoint, 16) }

// DropPhone ends the phone's answered calls as a failed line would (a
// softphone crash, the network, Asterisk's RTP timeout): the events of a
// remote hang-up, but ChannelDestroyed carries cause (e.g. 38 network out
// of order) instead of 16. It reports whether there was one.
func (s *Server) DropPhone(endpoint string, cause int) bool { return s.endPhoneCalls(endpoint, cause) }

// endPhoneCalls ends the phone's answered calls from the phone's side, with
// cause on their ChannelDestroyed.
func (s *Server) endPhoneCalls(endpoint string, cause int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phones[endpoint]
	if p == nil {
		return false
	}
	any := false
	for _, c := range append([]*channel(nil), p.chans...) {
		if (c.answered || !c.originated) && !c.hangingUp && !c.dead {
			s.terminateLocked(c, 0, false, cause, endRemote)
			any = true
		}
	}
	return any
}

// PhoneDTMF makes the phone send digits on its answered calls.
func (s *Server) PhoneDTMF(endpoint, digits string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phones[endpoint]
	if p == nil {
		return false
	}
	ok := false
	for _, c := range p.chans {
		if c.answered {
			for _, d := range digits {
				ok = s.dtmfLocked(c, string(d)) || ok
			}
		}
	}
	return ok
}

func (s *Server) endpointJSON(p *phone) obj {
	state := "offline"
	if p.cfg.Registered {
		state = "online"
	}
	ids := []string{}
	for _, c := range p.chans {
		ids = append(ids, c.id)
	}
	return obj{{"technology", p.tech}, {"resource", p.resource}, {"state", state}, {"channel_ids", ids}}
}

// parseCallerID splits `Name <number>` (or a bare number).
func parseCallerID(v string) (name, num string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
		num = strings.TrimSuffix(v[i+1:], ">")
		return name, strings.TrimSpace(num)
	}
	return "", v
}

// dialTarget is what an originate's endpoint resolved to: an operator
// phone, or a number behind a trunk.
type dialTarget struct {
	p          *phone // endpoint the channel belongs to (a phone or a trunk)
	number     string // number dialled behind a trunk; "" for a phone
	dialstring string // the Dial events' dialstring: "1001", "+77011234567@carrier"
	cfg        Phone  // how the far end behaves
	// callee is the Caller whose AnswerCallbacks script answers (nil if none).
	callee *Caller
}

// lookupPhoneLocked finds an endpoint ("PJSIP/1001"), the technology
// matched case-insensitively as Asterisk does.
func (s *Server) lookupPhoneLocked(endpoint string) *phone {
	if p := s.phones[endpoint]; p != nil {
		return p
	}
	for k, x := range s.phones {
		if strings.EqualFold(k, endpoint) {
			return x
		}
	}
	return nil
}

// resolveEndpointLocked maps an originate endpoint to its target. ok is
// false when Asterisk would answer 500 "Allocation failed"; the target's p
// is then the unregistered phone, if any, to record the attempt on.
func (s *Server) resolveEndpointLocked(endpoint string) (t dialTarget, ok bool) {
	tech, res, _ := strings.Cut(endpoint, "/")
	if strings.EqualFold(tech, "Local") {
		return s.localTargetLocked(res)
	}
	if num, trunkName, isTrunk := strings.Cut(res, "@"); isTrunk {
		// PJSIP/<number>@<endpoint>: the number dialled through a trunk.
		p := s.lookupPhoneLocked(tech + "/" + trunkName)
		if p == nil {
			return dialTarget{}, false
		}
		if p.trunk == nil {
			// A user part towards a plain phone still reaches that phone.
			return dialTarget{p: p, dialstring: res, cfg: p.cfg}, p.cfg.Registered
		}
		return s.trunkTargetLocked(p, num, res), true
	}
	p := s.lookupPhoneLocked(endpoint)
	if p == nil {
		return dialTarget{}, false
	}
	if p.trunk != nil {
		// The trunk itself without a number: the carrier answers 404.
		return s.trunkTargetLocked(p, "", res), true
	}
	return dialTarget{p: p, dialstring: p.resource, cfg: p.cfg}, p.cfg.Registered
}

// originateLocked: POST /channels and POST /channels/{id}.
func (s *Server) originateLocked(rq *request, id string) (int, any) {
	endpoint := rq.get("endpoint")
	if endpoint == "" {
		return 400, msg("Endpoint must be specified")
	}
	appName, ext := rq.get("app"), rq.get("extension")
	if appName == "" && ext == "" {
		return 400, msg("Application or extension must be specified")
	}
	if id != "" && s.channels[id] != nil {
		return 409, msg("Channel with given unique ID already exists")
	}
	timeout := 30 * time.Second
	if t := rq.get("timeout"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil {
			return 400, msg("Invalid timeout")
		}
		switch {
		case v == 0:
		case v < 0:
			timeout = -1
		default:
			timeout = time.Duration(v) * time.Second
		}
	}
	tgt, ok := s.resolveEndpointLocked(endpoint)
	if !ok {
		if tgt.p != nil {
			tgt.p.log = append(tgt.p.log, &Origination{Time: s.now(), AppArgs: rq.get("appArgs"),
				CallerID: rq.get("callerId"), Number: tgt.number, Outcome: "allocation-failed"})
		}
		return http.StatusInternalServerError, obj{{"error", "Allocation failed"}}
	}
	p := tgt.p
	name := s.nextName(p.endpoint)
	if p.local {
		name += ";1"
	}
	c := s.newChannelLocked(id, name, "Down")
	c.local = p.local
	if !c.local {
		c.protocolID = uuid()
	}
	switch cid := rq.get("callerId"); {
	case cid != "":
		c.callerName, c.callerNum = parseCallerID(cid)
		c.connName, c.connNum = c.callerName, c.callerNum
	case p.local: // a Local channel has no caller id of its own
	case p.trunk != nil:
		c.callerName, c.callerNum = parseCallerID(p.trunk.cfg.CallerID)
	default:
		c.callerName, c.callerNum = p.name(), p.resource
	}
	c.context, c.exten, c.priority = p.context(), "s", 1
	c.appName, c.appData = "AppDial2", "(Outgoing Line)"
	c.originated = true
	c.originApp = appName
	if appName == "" {
		c.originContext, c.originExten = rq.get("context"), ext
		if c.originContext == "" {
			c.originContext = "default"
		}
	}
	c.appArgs = rq.get("appArgs")
	c.dialstring = tgt.dialstring
	c.endpoint = p.endpoint
	c.ph = p
	if vars, ok := rq.body["variables"].(map[string]any); ok {
		for k, v := range vars {
			if vs, ok := v.(string); ok {
				c.vars[k] = vs
			}
		}
	}
	if appName != "" {
		s.subscribeLocked(appName, "channel:"+c.id)
	}
	// The far end's handle: what it hears, its digits, its hangup.
	h := newHandle(s)
	h.caller = Caller{Number: p.resource, Name: p.name(), HangupAfterBridged: tgt.cfg.HangupAfterBridged}
	if p.trunk != nil {
		h.caller.Number, h.caller.Name = tgt.number, ""
		if tgt.callee != nil {
			h.caller.Name = tgt.callee.Name
		}
	}
	h.ch, h.id, h.name = c, c.id, c.name
	c.handle = h
	s.handles = append(s.handles, h)

	p.rang++
	rec := &Origination{Time: s.now(), ChannelID: c.id, AppArgs: c.appArgs, CallerID: rq.get("callerId"),
		Number: tgt.number, Outcome: "ringing", Leg: h}
	p.log = append(p.log, rec)
	p.chans = append(p.chans, c)
	resp := c.json()
	s.dialLocked(c, tgt.cfg, timeout, rec)
	return 200, resp
}

// dialLocked runs the far end of an originated channel c (an operator
// phone or a number behind a trunk) as Asterisk reports it: Dial(""), then
// a rejection (busy 486, declined 603, unallocated 404), or Dial(RINGING)
// with Ringing, then the answer or, at the timeout, ChannelDestroyed 19.
func (s *Server) dialLocked(c *channel, cfg Phone, timeout time.Duration, rec *Origination) {
	half := s.opts.RingDelay / 2
	reject := func(outcome string, cause int, dialstatus string, sipCode int) {
		s.addTimer(c, s.afterLocked(half, func() {
			rec.Outcome = outcome
			c.hangingUp = true
			s.hangupRequestLocked(c, cause, false)
			s.dialEventLocked(c, dialstatus)
			s.destroyLocked(c, cause, sipCode)
		}))
	}
	s.addTimer(c, s.afterLocked(half, func() {
		s.dialEventLocked(c, "")
		switch {
		case cfg.Busy:
			reject("busy", 17, "BUSY", 486)
		case cfg.Decline:
			reject("declined", 21, "NOANSWER", 603)
		case cfg.Unallocated:
			// Not recorded: a 404 ends as a 603 does (no BUSY/CONGESTION
			// control frame), with cause 1 (hangup_sip2cause(404)).
			reject("unallocated", 1, "NOANSWER", 404)
		default:
			s.addTimer(c, s.afterLocked(half, func() {
				s.dialEventLocked(c, "RINGING")
				s.setStateLocked(c, "Ringing")
				if timeout > 0 {
					c.timeoutT = s.afterLocked(s.scaled(timeout), func() {
						if !c.answered && !c.hangingUp {
							rec.Outcome = "no-answer"
							s.destroyLocked(c, 19, 0)
						}
					})
					s.addTimer(c, c.timeoutT)
				}
				if !cfg.NeverAnswer {
					s.addTimer(c, s.afterLocked(cfg.AnswerAfter, func() {
						rec.Outcome = "answered"
						s.phoneAnsweredLocked(c, cfg)
					}))
				}
			}))
		}
	}))
	// A cancelled leg (DELETE while dialling) records its outcome here.
	c.onDestroy = func(int) {
		if rec.Outcome == "ringing" {
			rec.Outcome = "cancelled"
		}
	}
}

// dialEventLocked emits a Dial event for the originated channel c.
func (s *Server) dialEventLocked(c *channel, status string) {
	ev := s.event("Dial", kv{"dialstatus", status}, kv{"forward", ""}, kv{"dialstring", c.dialstring}, kv{"peer", c.json()})
	s.emitLocked(ev, []*channel{c}, nil)
}

// phoneAnsweredLocked: the phone sent 200 OK to an originate.
func (s *Server) phoneAnsweredLocked(c *channel, cfg Phone) {
	if c.hangingUp || c.dead || c.answered {
		return
	}
	s.cancelTimerLocked(c.timeoutT)
	c.answered = true
	if h := c.handle; h != nil && h.answeredAt.IsZero() {
		h.answeredAt = s.now()
		s.scheduleAfterAnswerLocked(h)
	}
	s.setStateLocked(c, "Up")
	s.dialEventLocked(c, "ANSWER")
	if c.originApp == "" {
		if !s.dialplanLocked(c, c.originContext, c.originExten) {
			// A dialplan the emulator does not model: a short call.
			s.addTimer(c, s.afterLocked(10*time.Millisecond, func() { s.destroyLocked(c, 16, 0) }))
			return
		}
		s.hangupAfterLocked(c, cfg)
		return
	}
	if !s.activeLocked(c.originApp) {
		// Stasis() fails when the app has no WebSocket: hung up at once.
		s.qosVarsLocked(c)
		s.destroyLocked(c, 16, 0)
		return
	}
	s.setVarLocked(c, "STASISSTATUS", "")
	s.enterStasisLocked(c, c.originApp, splitList(c.appArgs))
	s.hangupAfterLocked(c, cfg)
}

// hangupAfterLocked schedules the far end's hang-up cfg.HangupAfter after
// the answer (for a Local channel: the ;2 half's Wait() running out).
func (s *Server) hangupAfterLocked(c *channel, cfg Phone) {
	if cfg.HangupAfter > 0 {
		s.addTimer(c, s.afterLocked(cfg.HangupAfter, func() { s.remoteHangupLocked(c) }))
	}
}
