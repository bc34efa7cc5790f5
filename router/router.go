// Package router owns the life of every call: answer, IVR, queue, offer to an
// operator, bridge, tear-down and the call record. One goroutine and one
// select loop per call; a single demultiplexer reads PBX events and posts
// them to the call that owns the channel without ever blocking.
package router

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// The dialplan context and extension that take callers hotline releases
// (deploy/asterisk/extensions.conf, [hotline-fallback]).
const (
	fallbackContext  = "hotline-fallback"
	fallbackReleased = "released"
)

// Options configure a Router.
type Options struct {
	PBX     PBX
	ACD     ACD
	Agents  Agents
	Records Recorder
	Config  *config.Config
	Log     *zap.Logger
	Metrics *Metrics // optional
	Now     func() time.Time
	// SoundPrefix is prepended to prompt names: sound:hotline/<lang>/<name>.
	SoundPrefix string
	// RecoverEvery bounds how long the sweep of expired leases, wrap-ups
	// and due callbacks sleeps when Redis names no earlier deadline (what
	// other instances add); default 5 s. It is the crash-safety net, not
	// the hand-over path (that is event-driven).
	RecoverEvery time.Duration
	// ReconcileEvery is how often Redis is compared with the PBX's channels
	// and repaired (reconcile.go) besides after every re-sync and after
	// Redis comes back; default 30 s.
	ReconcileEvery time.Duration
	// CommandTimeout bounds one PBX or Redis command issued by the router.
	CommandTimeout time.Duration
	// OnHandover, if set, receives every hand-over latency: from an operator
	// becoming free to the originate of the next waiting caller.
	OnHandover func(time.Duration)
	// Callbacks, if set, makes hotline call back abandoned and dropped
	// callers; Trunk is the PJSIP endpoint citizens are dialled through
	// ("PJSIP/<number>@<trunk>", default "carrier") and CallbackRingTimeout
	// how long their phone rings (default 30 s).
	Callbacks Callbacks
	Policy    func(topic string) CallbackPolicy
	// OutageTopic is the topic callbacks for callers missed during an
	// outage (AstDB hotline_missed) join; "" disables the read-back.
	OutageTopic         string
	Trunk               string
	CallbackRingTimeout time.Duration
	// CallbackRenewEvery renews an attempt's lease in the callbacks store;
	// it must be well under the lease (default 1 m for the store's 3 m).
	CallbackRenewEvery time.Duration
	// RecordingSweepEvery is how often stored recordings past
	// recordings.retention are deleted; default 1 h.
	RecordingSweepEvery time.Duration
	// OnRecord, if set, sees every call record after it is written.
	OnRecord func(records.Record)
	// OnCard, if set, is told whose card (Router.Card) changed.
	OnCard func(agentID string)
	// Cards, if set, shares the cards with the other instances' desktops.
	Cards CardBoard
	// App is the Stasis application this router serves (default
	// "hotline"); with several instances each has its own, and Peers
	// carries offers for callers another one holds.
	App   string
	Peers Peers
	// Adopter: the router of a dead instance's application, run by a
	// survivor. It finishes the calls it adopted and claims no new call
	// (CallBroadcast): those go to the live instances' own applications,
	// so the taken-over one empties and is given back or forgotten. A
	// callback's turn it is offered goes to HostApp, the application of
	// the instance running it, for the same reason.
	Adopter bool
	HostApp string
}

// Router routes calls. Create with New, run with Run.
type Router struct {
	opt Options
	log *zap.Logger
	cfg atomic.Pointer[config.Config]
	now func() time.Time

	mu       sync.Mutex
	calls    map[string]*call         // caller channel id → call
	attempts map[string]*cbAttempt    // agent-first callback attempts running, by their queue entry
	legs     map[string]*mailbox[msg] // leg channel id → its owner's mailbox
	wrapups  map[string]wrapUp
	cards    map[string]Card            // operator → the call on their phone
	lastCall map[string]CallbackRequest // operator → their last conversation, for "call back"
	monitors map[string]*monitor        // supervisors listening, by monitor id
	// monClaims hold the conversations ("call:<id>") and the phones
	// ("phone:<endpoint>") monitors have, from request to end.
	monClaims map[string]monClaim
	draining  bool
	// board is what Options.Cards holds of this router's cards.
	board cardSync

	runCtx     context.Context
	wg         sync.WaitGroup
	promoteNow chan struct{}
	sweptAt    time.Time   // last sweep; recoverLoop's goroutine only
	redisDown  bool        // the last sweep failed; recoverLoop's goroutine only
	sweepDue   bool        // the sweep timer is set for a deadline, not only RecoverEvery; recoverLoop's goroutine only
	syncing    atomic.Bool // an outage read-back is running
	// synced: the first re-sync has adopted what the application held.
	// Before it an offer for a caller this router does not know may be
	// for one it is about to adopt, and is not taken as a call gone.
	synced atomic.Bool
	// early: offers forwarded by other instances before the first
	// re-sync, for callers it may be about to adopt (under mu).
	early    []Offer
	seq      atomic.Uint64
	instance string // this process's token in the ids it makes (uniq)
}

// New returns a router; it does nothing until Run.
func New(opt Options) (*Router, error) {
	if opt.PBX == nil || opt.ACD == nil || opt.Agents == nil || opt.Records == nil || opt.Config == nil {
		return nil, errors.New("router: PBX, ACD, Agents, Records and Config are required")
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SoundPrefix == "" {
		opt.SoundPrefix = "sound:hotline/"
	}
	if opt.RecoverEvery <= 0 {
		opt.RecoverEvery = 5 * time.Second
	}
	if opt.ReconcileEvery <= 0 {
		opt.ReconcileEvery = 30 * time.Second
	}
	if opt.CommandTimeout <= 0 {
		opt.CommandTimeout = 5 * time.Second
	}
	if opt.App == "" {
		opt.App = "hotline"
	}
	if opt.Trunk == "" {
		opt.Trunk = "carrier"
	}
	if opt.CallbackRingTimeout <= 0 {
		opt.CallbackRingTimeout = 30 * time.Second
	}
	if opt.RecordingSweepEvery <= 0 {
		opt.RecordingSweepEvery = time.Hour
	}
	if opt.CallbackRenewEvery <= 0 {
		opt.CallbackRenewEvery = time.Minute
	}
	r := &Router{
		opt:       opt,
		log:       opt.Log,
		now:       opt.Now,
		calls:     make(map[string]*call),
		attempts:  make(map[string]*cbAttempt),
		legs:      make(map[string]*mailbox[msg]),
		wrapups:   make(map[string]wrapUp),
		cards:     make(map[string]Card),
		board:     newCardSync(),
		lastCall:  make(map[string]CallbackRequest),
		monitors:  make(map[string]*monitor),
		monClaims: make(map[string]monClaim),

		promoteNow: make(chan struct{}, 1),
		instance:   newInstance(),
	}
	r.cfg.Store(opt.Config)
	return r, nil
}

// SetConfig swaps the configuration; calls in progress keep the one they
// started with for their IVR, and pick up topic settings on their next step.
func (r *Router) SetConfig(c *config.Config) { r.cfg.Store(c) }

// Config returns the configuration in force.
func (r *Router) Config() *config.Config { return r.cfg.Load() }

// Drain stops taking new calls: new callers hear nothing and are left to the
// PBX's fallback; calls in progress go on.
func (r *Router) Drain() {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
}

// ActiveCalls is the number of calls the router currently owns.
func (r *Router) ActiveCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Run reads events until ctx ends or events closes, then stops every call
// goroutine and timer it started and returns.
func (r *Router) Run(ctx context.Context, events <-chan pbx.Event) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.runCtx = ctx
	r.mu.Unlock()

	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.recoverLoop(ctx)
	}()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.recordingSweepLoop(ctx, r.opt.RecordingSweepEvery)
	}()
	if r.opt.Cards != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.cardSyncLoop(ctx)
		}()
	}

	defer func() {
		cancel()
		r.mu.Lock()
		for id, w := range r.wrapups {
			if w.timer.Stop() {
				r.wg.Done()
			}
			delete(r.wrapups, id)
		}
		r.mu.Unlock()
		r.wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			r.route(ctx, ev)
		}
	}
}

// route hands one event to its owner. It must never block on a call.
func (r *Router) route(ctx context.Context, ev pbx.Event) {
	if ev.Type == pbx.Resynced {
		r.resync(ctx, ev.Channels, ev.Restarted)
		return
	}
	if ev.Type == pbx.CallBroadcast {
		r.claim(ev)
		return
	}
	r.mu.Lock()
	var box *mailbox[msg]
	if c := r.calls[ev.ChannelID]; c != nil {
		box = c.inbox
	} else {
		box = r.legs[ev.ChannelID]
	}
	if box == nil {
		// An operator leg another instance rang for a call of this
		// router, whose offer is still on its way: the call holds its
		// events until then.
		if callID, ok := owningCall(ev.ChannelID); ok && r.calls[callID] != nil {
			box = r.calls[callID].inbox
		}
	}
	draining := r.draining
	r.mu.Unlock()
	if box != nil {
		box.post(msg{ev: ev})
		return
	}
	if ev.Type != pbx.StasisStart {
		return // events of channels we no longer own (late ChannelDestroyed etc.)
	}
	kind := ""
	if len(ev.Args) > 0 {
		kind = strings.TrimSpace(ev.Args[0])
	}
	switch kind {
	case "", "inbound":
		if draining {
			// The dialplan's fallback (deploy/asterisk extensions.conf) queues
			// the caller for the same operators and keeps the number for a
			// callback: a draining hotline never just hangs up on a citizen.
			r.log.Info("draining: handing new caller to the PBX fallback", zap.String("call_id", ev.ChannelID))
			r.spawn(func() {
				cctx, cancel := r.cmdCtx()
				defer cancel()
				if err := r.opt.PBX.Continue(cctx, ev.ChannelID, fallbackContext, fallbackReleased); err != nil {
					r.log.Error("fallback failed; hanging up", zap.String("call_id", ev.ChannelID), zap.Error(err))
					r.hangupQuietly(ctx, ev.ChannelID, "congestion")
				}
			})
			return
		}
		r.startCall(ctx, ev)
	case featureLogin, featureLogout, featurePause, featureReady:
		// The channel's events (the confirmation's PlaybackFinished) must
		// reach the feature code from the first one on.
		box := newMailbox[msg]()
		r.addLeg(ev.ChannelID, box)
		r.spawn(func() {
			defer r.dropLeg(ev.ChannelID)
			r.featureCode(ctx, kind, ev, box)
		})
	case argMonitor, argMonitorLeg:
		// A monitor's snoop channel or supervisor leg whose monitor ended.
		r.log.Info("monitor channel without its monitor; hanging up", zap.String("channel", ev.ChannelID))
		r.spawn(func() { r.hangupQuietly(ctx, ev.ChannelID, "normal") })
	case argOperatorLeg:
		// An operator answered after the call it was for ended: nobody to talk to.
		r.log.Info("operator leg for a finished call; hanging up", zap.String("channel", ev.ChannelID))
		r.spawn(func() { r.hangupQuietly(ctx, ev.ChannelID, "normal") })
	default:
		r.log.Warn("unknown application argument; hanging up", zap.String("channel", ev.ChannelID), zap.Strings("args", ev.Args))
		r.spawn(func() { r.hangupQuietly(ctx, ev.ChannelID, "normal") })
	}
}

// spawn runs f on a goroutine the router owns and waits for at shutdown.
func (r *Router) spawn(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

func (r *Router) startCall(ctx context.Context, ev pbx.Event) {
	r.launch(ctx, newCall(r, ev), "")
}

// launch registers a call (and an operator leg it already has) for event
// routing and runs its loop.
func (r *Router) launch(ctx context.Context, c *call, legID string) {
	r.mu.Lock()
	r.calls[c.id] = c
	if legID != "" {
		r.legs[legID] = c.inbox
	}
	r.mu.Unlock()
	if r.opt.Metrics != nil {
		r.opt.Metrics.ActiveCalls.Inc()
	}
	r.spawn(func() { c.run(ctx) })
}

// forget removes a finished call and its legs from the routing tables.
func (r *Router) forget(c *call) {
	r.showCard(c.id, nil)
	r.mu.Lock()
	delete(r.calls, c.id)
	for leg, owner := range r.legs {
		if owner == c.inbox {
			delete(r.legs, leg)
		}
	}
	r.mu.Unlock()
	if r.opt.Metrics != nil {
		r.opt.Metrics.ActiveCalls.Dec()
	}
}

func (r *Router) addLeg(legID string, owner *mailbox[msg]) {
	r.mu.Lock()
	r.legs[legID] = owner
	r.mu.Unlock()
}

func (r *Router) dropLeg(legID string) {
	r.mu.Lock()
	delete(r.legs, legID)
	r.mu.Unlock()
}

// cmdCtx bounds one command issued on behalf of a call or an operator. It
// is detached from the run context so that tear-down still reaches the PBX
// and Redis while hotline is stopping.
func (r *Router) cmdCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.opt.CommandTimeout)
}

func (r *Router) hangupQuietly(_ context.Context, channelID, reason string) {
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.PBX.Hangup(ctx, channelID, reason); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		r.log.Warn("hangup failed", zap.String("channel", channelID), zap.Error(err))
	}
}

// deliver posts offers to the calls that own their callers. When a call
// is gone (it hung up between the claim and now), the caller is abandoned
// in Redis, which releases the operator and offers them the next caller.
// freedAt, when set, is when the operators of these offers became free:
// the start of the hand-over the router measures.
func (r *Router) deliver(offers []Offer, freedAt time.Time) {
	for i := 0; len(offers) > 0 && i < 100; i++ {
		o := offers[0]
		offers = offers[1:]
		o.FreedAt = freedAt
		r.mu.Lock()
		c := r.calls[o.CallID]
		runCtx := r.runCtx
		r.mu.Unlock()
		if c != nil && c.inbox.post(msg{offer: &o}) {
			continue
		}
		if isCallbackTurn(o.CallID) && r.opt.Adopter && r.opt.Peers != nil {
			r.forwardCallbackTurn(o)
			continue
		}
		if r.elsewhere(o) {
			continue
		}
		r.hangupOfferLeg(o) // rung for a call that is gone
		if isCallback(o.CallID) && r.opt.Callbacks != nil && runCtx != nil && runCtx.Err() == nil {
			// A callback's turn: its entry waited in Redis with no call of
			// its own; an attempt goroutine takes the offer.
			r.startCallback(runCtx, o)
			continue
		}
		ctx, cancel := r.cmdCtx()
		_, next, err := r.opt.ACD.Abandon(ctx, o.CallID, r.now())
		cancel()
		if err != nil {
			r.log.Error("releasing an offer for a call that is gone", zap.String("call_id", o.CallID), zap.String("agent", o.AgentID), zap.Error(err))
			continue
		}
		r.log.Info("claimed caller had already left; the operator is offered the next one",
			zap.String("call_id", o.CallID), zap.String("agent", o.AgentID))
		offers = append(offers, next...)
	}
}

// wrapUp is an operator's wrap-up timer and when it ends.
type wrapUp struct {
	timer *time.Timer
	until time.Time
}

// scheduleWrapUp makes the operator ready when wrap-up ends. The timer is
// the hand-over trigger; Recover is only the net for a crashed instance.
func (r *Router) scheduleWrapUp(agentID string, d time.Duration) {
	if d <= 0 {
		r.wrapUpDone(agentID)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx == nil || r.runCtx.Err() != nil {
		return
	}
	if old, ok := r.wrapups[agentID]; ok && old.timer.Stop() {
		r.wg.Done()
	}
	r.wg.Add(1)
	r.wrapups[agentID] = wrapUp{until: r.now().Add(d), timer: time.AfterFunc(d, func() {
		defer r.wg.Done()
		r.mu.Lock()
		delete(r.wrapups, agentID)
		r.mu.Unlock()
		r.endWrapUp(agentID, true)
	})}
}

// wrapUpPreempted is called when the recovery sweep ended an operator's
// wrap-up before this router's timer fired (the timer ran late): the timer
// is cancelled and the hand-over counts from the wrap-up's end.
func (r *Router) wrapUpPreempted(agentID string) (until time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.wrapups[agentID]
	if !ok {
		return time.Time{}, false
	}
	delete(r.wrapups, agentID)
	if w.timer.Stop() {
		r.wg.Done()
	}
	return w.until, true
}

// wrapUpDone is an event-driven hand-over: the operator is ready and, in
// the same Redis step, claimed for the best waiting caller.
func (r *Router) wrapUpDone(agentID string) { r.endWrapUp(agentID, false) }

// endWrapUp ends agentID's wrap-up: due when its timer fired, which may be
// one of an instance that did not see the wrap-up extended.
func (r *Router) endWrapUp(agentID string, due bool) {
	at := r.now()
	ctx, cancel := r.cmdCtx()
	offers, err := r.opt.ACD.WrapUpDone(ctx, agentID, at, due)
	cancel()
	if err != nil {
		r.log.Warn("wrap-up end", zap.String("agent", agentID), zap.Error(err))
		return
	}
	r.deliver(offers, at)
}

// recoverLoop sweeps when there is work: it returns expired leases and
// finished wrap-ups (the net for a crashed instance) and promotes due
// callbacks. It sleeps until the earliest deadline Redis holds (a lease, a
// wrap-up end, a callback due) but at most RecoverEvery, which catches
// what other instances add; a kick (a callback just scheduled) sweeps the
// callbacks at once. Polling once a second cost an idle hotline three Redis
// round trips a second.
func (r *Router) recoverLoop(ctx context.Context) {
	t := time.NewTimer(r.nextSweep(ctx))
	defer t.Stop()
	rec := time.NewTicker(r.opt.ReconcileEvery)
	defer rec.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.promoteNow:
			r.promote()
		case <-t.C:
			if !r.sweepDue {
				// Only RecoverEvery passed: nextSweep below reads the
				// deadlines again, and an idle line runs no script.
				break
			}
			if r.sweep() && r.redisDown {
				// Redis is back: what failed meanwhile is repaired now.
				r.redisDown = false
				r.reconcile(ctx)
			}
		case <-rec.C:
			r.reconcile(ctx)
		}
		t.Reset(r.nextSweep(ctx))
	}
}

// minSweepGap keeps a deadline that is already past (work a sweep could not
// do yet) from turning the loop into a busy one.
const minSweepGap = 200 * time.Millisecond

// deadliner is what an ACD or a callbacks store may offer: the earliest
// moment its sweep has something to do.
type deadliner interface {
	NextDeadline(ctx context.Context) (time.Time, bool, error)
}

// nextSweep is how long to sleep before the next sweep; it sets sweepDue
// when that wake-up is for a deadline (or to see whether Redis is back).
func (r *Router) nextSweep(ctx context.Context) time.Duration {
	now := r.now()
	next := now.Add(r.opt.RecoverEvery)
	r.sweepDue = false
	for _, src := range []any{r.opt.ACD, r.opt.Callbacks} {
		if src == nil {
			continue
		}
		d, ok := src.(deadliner)
		if !ok {
			r.sweepDue = true // no deadlines to read: sweep every RecoverEvery
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.opt.CommandTimeout)
		at, found, err := d.NextDeadline(cctx)
		cancel()
		if err != nil {
			// Redis is away: look again soon, as the old one-second poll did.
			r.redisDown, r.sweepDue = true, true
			return time.Second
		}
		if found && !at.After(next) {
			next, r.sweepDue = at, true
		}
	}
	wait := next.Sub(now)
	if !next.After(now) {
		// Due already: once more now, but a deadline still past after a
		// sweep is work that has to wait (a topic gone, Redis refusing):
		// no faster than once a second then.
		wait = time.Second
		if r.sweptAt.IsZero() || now.Sub(r.sweptAt) >= time.Second {
			wait = minSweepGap
		}
	}
	return max(wait, minSweepGap)
}

// sweep returns what expired and promotes due callbacks; it reports
// whether Redis answered.
func (r *Router) sweep() bool {
	r.sweptAt = r.now()
	if r.opt.Callbacks != nil {
		r.promote()
	}
	cctx, cancel := r.cmdCtx()
	offers, err := r.opt.ACD.Recover(cctx, r.now())
	cancel()
	if err != nil {
		r.log.Warn("lease recovery", zap.Error(err))
		r.redisDown = true
		return false
	}
	for _, o := range offers {
		freed, _ := r.wrapUpPreempted(o.AgentID)
		r.deliver([]Offer{o}, freed)
	}
	return true
}

// resync reconciles the calls this router owns with the channels the PBX
// still holds after the event stream came back: events during the gap are
// lost, so a vanished channel is treated as hung up, and an operator leg
// that answered in the gap is treated as answered.
func (r *Router) resync(ctx context.Context, present []pbx.Channel, restarted bool) {
	byID := make(map[string]pbx.Channel, len(present))
	for _, ch := range present {
		byID[ch.ID] = ch
	}
	r.mu.Lock()
	var unknown []pbx.Channel
	for _, ch := range present {
		if r.calls[ch.ID] == nil && r.legs[ch.ID] == nil {
			unknown = append(unknown, ch)
		}
	}
	var posts []func()
	for id, c := range r.calls {
		if _, ok := byID[id]; !ok {
			c := c
			id := id
			posts = append(posts, func() {
				c.inbox.post(msg{ev: pbx.Event{Type: pbx.StasisEnd, ChannelID: id, Time: r.now()}, resynced: true, pbxLost: restarted})
			})
		}
	}
	for leg, box := range r.legs {
		ch, ok := byID[leg]
		switch {
		case !ok:
			posts = append(posts, func() {
				box.post(msg{ev: pbx.Event{Type: pbx.ChannelDestroyed, ChannelID: leg, Time: r.now()}})
			})
		case ch.State == "Up":
			posts = append(posts, func() {
				box.post(msg{ev: pbx.Event{Type: pbx.StasisStart, ChannelID: leg, Channel: ch, Time: r.now()}, resynced: true})
			})
		}
	}
	r.mu.Unlock()
	if restarted {
		r.log.Warn("the PBX restarted: its calls were cut; callbacks are owed to those who waited or talked",
			zap.Int("calls_cut", len(posts)))
	}
	r.log.Info("re-synced with the PBX", zap.Bool("pbx_restarted", restarted), zap.Int("channels", len(present)), zap.Int("reconciled", len(posts)), zap.Int("unknown", len(unknown)))
	if ce := r.log.Check(zap.DebugLevel, "re-sync channels"); ce != nil {
		ids := make([]string, 0, len(present))
		for _, ch := range present {
			ids = append(ids, ch.ID+"("+ch.State+")")
		}
		ce.Write(zap.Strings("channels", ids))
	}
	for _, p := range posts {
		p()
	}
	var cut []string
	if len(unknown) > 0 {
		cut = r.adopt(ctx, unknown)
	}
	live := make(map[string]bool, len(byID))
	for id := range byID {
		live[id] = true
	}
	r.reconcileHeld(ctx, live)
	r.freeOrphanedOperators()
	r.cutAttempts(cut, unknown)
	r.writeOwed(live)
	r.markSynced()
	r.syncOutage(ctx)
}

func (r *Router) nextID(prefix string) string {
	return prefix + "-" + r.uniq()
}

// uniq is a token no other router process uses: the ids hotline gives
// operator legs, playbacks and callback attempts outlive a crash in
// Asterisk and in the records, and a restarted router counting from 1
// again must not reuse one (an old leg's late ChannelDestroyed taken for
// the new leg's, an attempt's record taken for a repeat of the last's).
func (r *Router) uniq() string {
	return r.instance + strconv.FormatUint(r.seq.Add(1), 10)
}

// newInstance is a router process's token: 6 letters from crypto/rand,
// letters only so that it never runs into the counter after it.
func newInstance() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b[:])
}
