package emulator

import (
	"sort"
	"strings"
)

// Trunk scripts a carrier trunk: a PJSIP endpoint through which the
// application reaches outside numbers with the Asterisk dial string
// PJSIP/<number>@<trunk>, e.g. PJSIP/+77011234567@carrier. The trunk is
// always reachable; how each number behaves is a Phone (its Registered
// field is ignored, Unallocated gives the carrier's 404).
//
// A number is looked up, first match wins: Numbers; then a virtual Caller
// with AnswerCallbacks whose Number it is; then Citizen; otherwise it is
// unallocated (404, cause 1). Numbers are compared by their digits only,
// so "+77011234567" matches "77011234567".
type Trunk struct {
	// Numbers scripts given numbers.
	Numbers map[string]Phone
	// Citizen scripts any other number (nil: unallocated). It is called
	// with the emulator locked: it must not call the Server.
	Citizen func(number string) Phone
	// CallerID is the trunk endpoint's configured caller id, shown when the
	// originate gives no callerId (e.g. "Carrier <0>"); default none.
	CallerID string
	// Context is the endpoint's dialplan context; default "from-<trunk>".
	Context string
}

type trunk struct {
	name string
	cfg  Trunk
}

// AddTrunk adds (or replaces the script of) a carrier trunk. name is the
// PJSIP endpoint, "carrier" or "PJSIP/carrier"; GET /endpoints lists it
// online with its channels.
func (s *Server) AddTrunk(name string, t Trunk) {
	endpoint := name
	if !strings.Contains(endpoint, "/") {
		endpoint = "PJSIP/" + name
	}
	tech, res, _ := strings.Cut(endpoint, "/")
	if t.Context == "" {
		t.Context = "from-" + res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := Phone{Registered: true, Context: t.Context, Name: res}
	if p := s.phones[endpoint]; p != nil {
		p.cfg = cfg
		p.trunk = &trunk{name: res, cfg: t}
		return
	}
	s.phones[endpoint] = &phone{endpoint: endpoint, tech: tech, resource: res, cfg: cfg, trunk: &trunk{name: res, cfg: t}}
}

// digitsOnly keeps the digits of a number ("+7 701 123" → "7701123").
func digitsOnly(n string) string {
	var b strings.Builder
	for _, r := range n {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	da := digitsOnly(a)
	return da != "" && da == digitsOnly(b)
}

// trunkTargetLocked decides how number, dialled through trunk p, behaves.
func (s *Server) trunkTargetLocked(p *phone, number, dialstring string) dialTarget {
	t := dialTarget{p: p, number: number, dialstring: dialstring, cfg: Phone{Unallocated: true}}
	if digitsOnly(number) == "" {
		return t
	}
	tc := p.trunk.cfg
	if ph, ok := tc.Numbers[number]; ok {
		t.cfg = ph
		return t
	}
	for k, ph := range tc.Numbers {
		if sameNumber(k, number) {
			t.cfg = ph
			return t
		}
	}
	if cl, busy := s.callbackCallerLocked(number); cl != nil {
		t.cfg, t.callee = *cl.AnswerCallbacks, cl
		if busy {
			t.cfg = Phone{Busy: true}
		}
		return t
	}
	if tc.Citizen != nil {
		t.cfg = tc.Citizen(number)
	}
	return t
}

// callbackCallerLocked finds the newest virtual Caller with
// AnswerCallbacks whose Number is number; busy reports that the citizen is
// still on a call (that one, or an answered call to the number).
func (s *Server) callbackCallerLocked(number string) (cl *Caller, busy bool) {
	for i := len(s.handles) - 1; i >= 0; i-- {
		h := s.handles[i]
		if h.caller.AnswerCallbacks == nil || !sameNumber(h.caller.Number, number) {
			continue
		}
		if cl == nil {
			c := h.caller
			cl = &c
		}
		if !h.done {
			busy = true
		}
	}
	if cl == nil {
		return nil, false
	}
	for _, p := range s.phones {
		if p.trunk == nil {
			continue
		}
		for _, c := range p.chans {
			if c.answered && c.handle != nil && sameNumber(c.handle.caller.Number, number) {
				busy = true
			}
		}
	}
	return cl, busy
}

// Dialled lists every originate to number through any trunk, oldest first
// (numbers compared by digits). An originate to an unknown trunk (500) is
// not listed: see RESTLog.
func (s *Server) Dialled(number string) []Origination {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Origination
	for _, o := range s.trunkLogLocked(number) {
		out = append(out, *o)
	}
	return out
}

func (s *Server) trunkLogLocked(number string) []*Origination {
	var out []*Origination
	for _, p := range s.phones {
		if p.trunk == nil {
			continue
		}
		for _, o := range p.log {
			if sameNumber(o.Number, number) {
				out = append(out, o)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// CitizenLeg is the handle of the newest answered call to number through a
// trunk (nil if none was answered): what the citizen heard (Played), their
// digits (SendDTMF), their hangup (Hangup), Bridged and Ended.
func (s *Server) CitizenLeg(number string) *CallHandle {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *CallHandle
	for _, o := range s.trunkLogLocked(number) {
		if h := o.Leg; h != nil && !h.answeredAt.IsZero() && (best == nil || !h.answeredAt.Before(best.answeredAt)) {
			best = h
		}
	}
	return best
}
