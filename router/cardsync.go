package router

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// The cards this router shows, and its supervisors' monitors, are written
// to the shared board (Options.Cards) by one goroutine, so that a call
// never waits on Redis for its operator's desktop, and level-triggered:
// what changed is written at once, and every cardSyncEvery the board is
// compared with what the router holds and repaired (a write lost while
// Redis was away, a card of a call that ended while no router held the
// application).

// cardSyncEvery is how often the board is compared with the router's cards.
const cardSyncEvery = 5 * time.Second

// cardSync is what the board holds of this router's cards (under the
// router's mu): written maps an operator to the call whose card this
// router put there; dirty are the operators whose card changed since.
type cardSync struct {
	written map[string]string // operator -> call id
	dirty   map[string]bool
	// monDirty are the monitors started, answered or ended since written.
	monDirty map[string]bool
	kick     chan struct{}
}

func newCardSync() cardSync {
	return cardSync{written: map[string]string{}, dirty: map[string]bool{}, monDirty: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// monitorsChanged marks monitors for writing (under mu).
func (r *Router) monitorsChanged(ids ...string) { r.boardChanged(r.board.monDirty, ids) }

// cardsChanged marks agents' cards for writing (under mu).
func (r *Router) cardsChanged(agents []string) { r.boardChanged(r.board.dirty, agents) }

func (r *Router) boardChanged(dirty map[string]bool, keys []string) {
	if r.opt.Cards == nil || len(keys) == 0 {
		return
	}
	for _, k := range keys {
		dirty[k] = true
	}
	select {
	case r.board.kick <- struct{}{}:
	default:
	}
}

func (r *Router) cardSyncLoop(ctx context.Context) {
	t := time.NewTicker(cardSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The calls go on: the router that adopts them writes the
			// same application's cards.
			return
		case <-r.board.kick:
		case <-t.C:
			if r.synced.Load() {
				r.compareCards(ctx)
				r.compareMonitors()
			}
		}
		r.flushCards()
		r.flushMonitors()
	}
}

// flushMonitors writes the monitors started, answered or ended; one that
// fails stays marked for the next pass.
func (r *Router) flushMonitors() {
	type monWrite struct {
		id   string
		info MonitorInfo
		put  bool
	}
	r.mu.Lock()
	work := make([]monWrite, 0, len(r.board.monDirty))
	for id := range r.board.monDirty {
		w := monWrite{id: id}
		if m, ok := r.monitors[id]; ok {
			w.info, w.put = m.info(), true
		}
		work = append(work, w)
	}
	clear(r.board.monDirty)
	r.mu.Unlock()
	for i, w := range work {
		ctx, cancel := r.cmdCtx()
		var err error
		if w.put {
			err = r.opt.Cards.PutMonitor(ctx, r.opt.App, w.info)
		} else {
			err = r.opt.Cards.DropMonitor(ctx, w.id)
		}
		cancel()
		if err != nil {
			r.mu.Lock()
			for _, rest := range work[i:] {
				r.board.monDirty[rest.id] = true
			}
			r.mu.Unlock()
			r.log.Warn("monitors not shared with the other instances; retrying", zap.String("monitor", w.id), zap.Error(err))
			return
		}
	}
}

// cardWrite is one operator's card to write: shown, or the one written
// before to take away.
type cardWrite struct {
	agent string
	card  Card
	show  bool
	old   string // the call id written before
	had   bool
}

// flushCards writes the changed cards; one that fails stays marked for
// the next pass.
func (r *Router) flushCards() {
	r.mu.Lock()
	work := make([]cardWrite, 0, len(r.board.dirty))
	for agent := range r.board.dirty {
		w := cardWrite{agent: agent}
		w.card, w.show = r.cards[agent]
		w.old, w.had = r.board.written[agent]
		work = append(work, w)
	}
	clear(r.board.dirty)
	r.mu.Unlock()
	for i, w := range work {
		var err error
		ctx, cancel := r.cmdCtx()
		switch {
		case w.show:
			err = r.opt.Cards.ShowCard(ctx, r.opt.App, w.card)
		case w.had:
			err = r.opt.Cards.ClearCard(ctx, w.agent, w.old)
		}
		cancel()
		r.mu.Lock()
		if err != nil {
			for _, rest := range work[i:] {
				r.board.dirty[rest.agent] = true
			}
			r.mu.Unlock()
			r.log.Warn("desktop cards not shared with the other instances; retrying", zap.String("agent", w.agent), zap.Error(err))
			return
		}
		if w.show {
			r.board.written[w.agent] = w.card.CallID
		} else {
			delete(r.board.written, w.agent)
		}
		r.mu.Unlock()
	}
}

// compareCards marks for writing every card the board holds wrongly for
// this router's application: a missing or stale one of a call it holds,
// one of a call it does not hold. Before the first re-sync the router does
// not know yet which calls it holds, and leaves the board alone.
func (r *Router) compareCards(ctx context.Context) {
	cctx, cancel := r.cmdCtx()
	held, err := r.opt.Cards.AppCards(cctx, r.opt.App)
	cancel()
	if err != nil || ctx.Err() != nil {
		return
	}
	var attempts []string
	defer func() {
		// A stale card of a callback attempt: the attempt may have died
		// with its instance, its operator still held.
		for _, id := range attempts {
			r.spawn(func() { r.abortVanishedAttempt(id) })
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	for agent, callID := range held {
		if c, ok := r.cards[agent]; !ok || c.CallID != callID {
			r.board.written[agent] = callID
			r.board.dirty[agent] = true
			if isAttemptID(callID) {
				attempts = append(attempts, callID)
			}
		}
	}
	for agent, c := range r.cards {
		if held[agent] != c.CallID {
			r.board.dirty[agent] = true
		}
	}
	for agent := range r.board.written {
		if _, ok := held[agent]; !ok && !r.board.dirty[agent] {
			delete(r.board.written, agent)
		}
	}
}

// compareMonitors marks for writing the monitors the board holds wrongly
// for this router's application.
func (r *Router) compareMonitors() {
	cctx, cancel := r.cmdCtx()
	mons, err := r.opt.Cards.AppMonitors(cctx, r.opt.App)
	cancel()
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := make(map[string]bool, len(mons))
	for _, id := range mons {
		listed[id] = true
		if _, ok := r.monitors[id]; !ok {
			r.board.monDirty[id] = true
		}
	}
	for id := range r.monitors {
		if !listed[id] {
			r.board.monDirty[id] = true
		}
	}
}
