package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// Supervisors listen to a live conversation, or whisper to the operator,
// from their own softphone. An ARI snoop channel is made on the operator's
// leg and bridged with a leg originated to the supervisor's phone. The
// call's machine knows nothing of it: the call is asked once (through its
// inbox, as a transfer is) for its operator leg and notes the monitor in
// its record; the monitor then lives on its own goroutine and ends when
// the supervisor hangs up, StopMonitor is called, or the operator's leg
// goes (Asterisk hangs the snoop channel up with it).

// Monitor modes.
const (
	MonitorListen  = "listen"  // the supervisor hears both sides; nobody hears them
	MonitorWhisper = "whisper" // the supervisor hears both sides; only the operator hears them
)

// ErrBadMonitor: an unknown mode or a malformed supervisor endpoint.
var ErrBadMonitor = errors.New("router: bad monitor request")

// ErrNoMonitor: no such monitor (it ended, or never was).
var ErrNoMonitor = errors.New("router: no such monitor")

// ErrMonitored: the conversation is monitored already, or the
// supervisor's phone is in another monitor. A conversation has one
// monitor at a time (two supervisors whispering at once would talk over
// each other, and the one listening would hear the other's coaching
// mixed in), and a phone takes one conversation at a time; the first
// stops (or hangs up) before another starts.
var ErrMonitored = errors.New("router: monitored already")

// MonitorInfo is one monitor running.
type MonitorInfo struct {
	ID, Agent, Mode, CallID string
	Supervisor              string // the endpoint rung, e.g. PJSIP/1901
	Started                 time.Time
	Answered                bool // the supervisor picked up and hears the conversation
}

// monClaim holds a conversation or a phone for one monitor, from the
// request until the monitor ends (or fails to start).
type monClaim struct{ id, agent, supervisor string }

// Application arguments and ids of a monitor's channels: the snoop
// channel is <monitor id>-snoop, the supervisor's leg <monitor id>-sup,
// their bridge br-<monitor id>. A restarted router hangs up channels with
// the prefix (the monitor is not resumed).
const (
	argMonitor    = "monitor"
	argMonitorLeg = "monitor-leg"
	monPrefix     = "mon-"
)

// isMonitorLeg tells a monitor's channels.
func isMonitorLeg(channelID string) bool { return strings.HasPrefix(channelID, monPrefix) }

// snoopDirections maps a mode to ARI's spy and whisper. Asterisk's
// directions are the snooped channel's: "in" is what the operator's phone
// sends (their voice), "out" what it is sent (the citizen's voice). Spying
// both hears the conversation; whispering "out" adds the supervisor to
// what the operator hears only, never to what the citizen hears (that
// would be "in").
func snoopDirections(mode string) (spy, whisper string, ok bool) {
	switch mode {
	case MonitorListen:
		return pbx.SnoopBoth, pbx.SnoopNone, true
	case MonitorWhisper:
		return pbx.SnoopBoth, pbx.SnoopOut, true
	}
	return "", "", false
}

// monReq asks a call for its operator's leg.
type monReq struct {
	agent, supervisor, mode, id string
	reply                       chan monReply // buffered
}

type monReply struct {
	callID, legID string
	err           error
}

func (q *monReq) answer(rep monReply) {
	select {
	case q.reply <- rep:
	default:
	}
}

// monitor is one supervisor listening; its fields are set before its
// goroutine starts and read-only after, but for done and stop.
type monitor struct {
	id, mode, supervisor, agent, callID, legID string
	snoopID, supLeg, bridgeID                  string
	claimed                                    string // the conversation id claimMonitor holds for it
	started                                    time.Time
	answered                                   atomic.Bool
	box                                        *mailbox[msg]
	stop                                       chan struct{}
	stopOnce                                   sync.Once
	done                                       chan struct{}
}

// Monitor lets the supervisor on supervisorEndpoint (e.g. PJSIP/1901)
// listen to, or whisper to, the operator agentID's conversation: their
// phone rings and, on answer, hears it. The returned id names the monitor
// for StopMonitor. ErrNoCall (wrapped) when the operator is not talking
// to a citizen, ErrMonitored when their conversation is monitored already
// or the supervisor's phone is in another monitor.
func (r *Router) Monitor(ctx context.Context, supervisorEndpoint, agentID, mode string) (string, error) {
	spy, whisper, ok := snoopDirections(mode)
	if !ok {
		return "", fmt.Errorf("router: monitor of operator %s by %s: mode %q: %w", agentID, supervisorEndpoint, mode, ErrBadMonitor)
	}
	if tech, res, ok := strings.Cut(supervisorEndpoint, "/"); !ok || tech == "" || res == "" || strings.ContainsAny(supervisorEndpoint, ", \t&?") {
		return "", fmt.Errorf("router: monitor of operator %s: endpoint %q: %w", agentID, supervisorEndpoint, ErrBadMonitor)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTransferWait)
		defer cancel()
	}
	r.mu.Lock()
	runCtx := r.runCtx
	r.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return "", fmt.Errorf("router: monitor of operator %s: router not running: %w", agentID, ErrNoCall)
	}
	onCall, err := r.opt.ACD.OnCall(ctx)
	if err != nil {
		return "", fmt.Errorf("router: monitor of operator %s: finding their call: %w", agentID, err)
	}
	callID := onCall[agentID]
	// The operator talks to an inbound caller, or to a citizen called back.
	var inbox *mailbox[msg]
	r.mu.Lock()
	if c := r.calls[callID]; c != nil {
		inbox = c.inbox
	} else if a := r.attempts[callID]; a != nil {
		inbox = a.inbox
	}
	r.mu.Unlock()
	if callID == "" || inbox == nil {
		return "", fmt.Errorf("router: monitor of operator %s: %w", agentID, ErrNoCall)
	}
	id := monPrefix + r.uniq()
	if err := r.claimMonitor(id, callID, agentID, supervisorEndpoint); err != nil {
		return "", err
	}
	started := false
	defer func() {
		if !started {
			r.releaseMonitor(callID, supervisorEndpoint)
		}
	}()
	q := &monReq{agent: agentID, supervisor: supervisorEndpoint, mode: mode, id: id, reply: make(chan monReply, 1)}
	if !inbox.post(msg{mon: q}) {
		return "", fmt.Errorf("router: monitor of operator %s on call %s: %w", agentID, callID, ErrNoCall)
	}
	var rep monReply
	select {
	case rep = <-q.reply:
	case <-ctx.Done():
		return "", fmt.Errorf("router: monitor of operator %s on call %s: no answer from the call: %w", agentID, callID, ctx.Err())
	}
	if rep.err != nil {
		return "", rep.err
	}
	m := &monitor{
		id: id, mode: mode, supervisor: supervisorEndpoint, agent: agentID, callID: rep.callID, legID: rep.legID,
		snoopID: id + "-snoop", supLeg: id + "-sup", bridgeID: bridgePrefix + id, claimed: callID, started: r.now(),
		box: newMailbox[msg](), stop: make(chan struct{}), done: make(chan struct{}),
	}
	log := r.log.With(zap.String("monitor", id), zap.String("call_id", m.callID), zap.String("agent", agentID),
		zap.String("supervisor", supervisorEndpoint), zap.String("mode", mode))
	r.addLeg(m.snoopID, m.box)
	r.addLeg(m.supLeg, m.box)
	cctx, cancel := r.cmdCtx()
	_, err = r.opt.PBX.Snoop(cctx, pbx.SnoopRequest{ChannelID: m.legID, SnoopID: m.snoopID, Spy: spy, Whisper: whisper,
		Args: []string{argMonitor, id}})
	cancel()
	if err != nil {
		r.dropLeg(m.snoopID)
		r.dropLeg(m.supLeg)
		if errors.Is(err, pbx.ErrNotFound) {
			return "", fmt.Errorf("router: monitor %s of operator %s on call %s: their leg is gone: %w", id, agentID, m.callID, ErrNoCall)
		}
		return "", fmt.Errorf("router: monitor %s of operator %s on call %s: snoop: %w", id, agentID, m.callID, err)
	}
	err = r.dialLeg(m.box, pbx.OriginateRequest{
		ChannelID: m.supLeg, Endpoint: supervisorEndpoint,
		CallerID: fmt.Sprintf("%q <%s>", mode+" "+agentID, agentID),
		Args:     []string{argMonitorLeg, id}, Timeout: 30 * time.Second,
	})
	if err != nil {
		r.dropLeg(m.snoopID)
		r.hangupQuietly(ctx, m.snoopID, "normal")
		return "", fmt.Errorf("router: monitor %s of operator %s on call %s: ringing %s: %w", id, agentID, m.callID, supervisorEndpoint, err)
	}
	r.mu.Lock()
	r.monitors[id] = m
	r.monitorsChanged(id)
	r.mu.Unlock()
	started = true // released when it ends (endMonitor)
	log.Info("supervisor monitoring a conversation; their phone rings")
	r.audit(log, records.Record{
		CallID: id, Outcome: "monitor_" + mode, Agent: agentID, EndedAt: r.now(),
		Note: "supervisor " + supervisorEndpoint + " " + mode + " call " + m.callID,
	})
	r.spawn(func() { r.runMonitor(runCtx, m, log) })
	return id, nil
}

// StopMonitor ends monitor id (the supervisor's leg is hung up) and waits
// for it to be over. ErrNoMonitor when it is not running.
func (r *Router) StopMonitor(ctx context.Context, id string) error {
	r.mu.Lock()
	m := r.monitors[id]
	r.mu.Unlock()
	if m == nil {
		return fmt.Errorf("router: stop monitor %s: %w", id, ErrNoMonitor)
	}
	m.stopOnce.Do(func() { close(m.stop) })
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("router: stop monitor %s: %w", id, ctx.Err())
	}
}

// claimMonitor holds the conversation callID and the supervisor's phone
// for monitor id; ErrMonitored when either is held already.
func (r *Router) claimMonitor(id, callID, agentID, supervisor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.monClaims["call:"+callID]; ok {
		return fmt.Errorf("router: monitor of operator %s: their conversation is monitored already by %s (%s): %w", agentID, c.supervisor, c.id, ErrMonitored)
	}
	if c, ok := r.monClaims["phone:"+supervisor]; ok {
		return fmt.Errorf("router: monitor of operator %s: %s is in another monitor already, of operator %s (%s): %w", agentID, supervisor, c.agent, c.id, ErrMonitored)
	}
	c := monClaim{id: id, agent: agentID, supervisor: supervisor}
	r.monClaims["call:"+callID] = c
	r.monClaims["phone:"+supervisor] = c
	return nil
}

func (r *Router) releaseMonitor(callID, supervisor string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.monClaims, "call:"+callID)
	delete(r.monClaims, "phone:"+supervisor)
}

// ActiveMonitors are the monitors running, oldest first.
func (r *Router) ActiveMonitors() []MonitorInfo {
	r.mu.Lock()
	out := make([]MonitorInfo, 0, len(r.monitors))
	for _, m := range r.monitors {
		out = append(out, m.info())
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (m *monitor) info() MonitorInfo {
	return MonitorInfo{ID: m.id, Agent: m.agent, Mode: m.mode, CallID: m.callID, Supervisor: m.supervisor,
		Started: m.started, Answered: m.answered.Load()}
}

// Monitors lists the monitors running, by id, with the call each listens to.
func (r *Router) Monitors() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.monitors))
	for id, m := range r.monitors {
		out[id] = m.callID
	}
	return out
}

// runMonitor bridges the supervisor's leg with the snoop channel once it
// answers, and ends the monitor when either goes or it is stopped.
func (r *Router) runMonitor(ctx context.Context, m *monitor, log *zap.Logger) {
	why := ""
	defer func() { r.endMonitor(m, log, why) }()
	for {
		select {
		case <-ctx.Done():
			why = "router stopping"
			return
		case <-m.stop:
			why = "stopped"
			return
		case <-m.box.C():
			for _, x := range m.box.take() {
				ev := x.ev
				switch {
				case ev.ChannelID == m.supLeg && ev.Type == pbx.StasisStart:
					if err := r.bridgeLegs(m.bridgeID, m.snoopID, m.supLeg); err != nil {
						log.Error("bridging the supervisor with the snoop channel", zap.Error(err))
						why = "bridge failed"
						return
					}
					m.answered.Store(true)
					r.mu.Lock()
					r.monitorsChanged(m.id)
					r.mu.Unlock()
					log.Info("supervisor answered; listening")
				case ev.ChannelID == m.supLeg && (ev.Type == pbx.StasisEnd || ev.Type == pbx.ChannelDestroyed || ev.Type == pbx.ChannelHangupRequest):
					why = "supervisor hung up"
					return
				case ev.ChannelID == m.snoopID && (ev.Type == pbx.StasisEnd || ev.Type == pbx.ChannelDestroyed || ev.Type == pbx.ChannelHangupRequest):
					why = "the conversation ended"
					return
				}
			}
		}
	}
}

// endMonitor hangs up what is left of a monitor and forgets it.
func (r *Router) endMonitor(m *monitor, log *zap.Logger, why string) {
	m.box.close()
	r.dropLeg(m.snoopID)
	r.dropLeg(m.supLeg)
	r.hangupQuietly(context.Background(), m.supLeg, "normal")
	r.hangupQuietly(context.Background(), m.snoopID, "normal")
	r.destroyBridge(log, m.bridgeID)
	r.mu.Lock()
	delete(r.monitors, m.id)
	r.monitorsChanged(m.id)
	r.mu.Unlock()
	r.releaseMonitor(m.claimed, m.supervisor)
	close(m.done)
	log.Info("monitor ended", zap.String("why", why))
}

// audit writes an audit entry in the records stream (once per id), as the
// callbacks' actions are.
func (r *Router) audit(log *zap.Logger, rec records.Record) {
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if _, err := r.opt.Records.Append(ctx, rec); err != nil {
		log.Warn("audit entry lost", zap.String("id", rec.CallID), zap.Error(err))
	}
}

// monitorRequest answers a monitor's request for the operator's leg in a
// called-back conversation: while the operator and the citizen talk.
func (a *cbAttempt) monitorRequest(q *monReq) {
	if a.m.phase != atTalking || a.offer.AgentID != q.agent || a.opLeg == "" {
		q.answer(monReply{err: fmt.Errorf("router: monitor of operator %s on callback %s: %w", q.agent, a.attempt, ErrNoCall)})
		return
	}
	a.rec.Monitored = append(a.rec.Monitored, q.mode+":"+q.supervisor)
	a.log.Info("a supervisor monitors the called-back conversation", zap.String("supervisor", q.supervisor),
		zap.String("mode", q.mode), zap.String("monitor", q.id))
	q.answer(monReply{callID: a.attempt, legID: a.opLeg})
}

// monitorRequest answers a monitor's request for the operator's leg: only
// a conversation of that operator has one to snoop on. The record notes
// who monitored.
func (c *call) monitorRequest(q *monReq) {
	if c.m.phase != phaseBridged || c.offer == nil || c.offer.AgentID != q.agent || c.legID == "" {
		q.answer(monReply{err: fmt.Errorf("router: monitor of operator %s on call %s: %w", q.agent, c.id, ErrNoCall)})
		return
	}
	c.rec.Monitored = append(c.rec.Monitored, q.mode+":"+q.supervisor)
	c.log.Info("a supervisor monitors the conversation", zap.String("agent", q.agent), zap.String("supervisor", q.supervisor),
		zap.String("mode", q.mode), zap.String("monitor", q.id))
	q.answer(monReply{callID: c.id, legID: c.legID})
}
