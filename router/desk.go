package router

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Card is what an operator's desktop shows about the call ringing on
// their phone or in progress: who is calling and why. Number is the raw
// caller ID (health data): the desktop masks it as configured.
type Card struct {
	CallID     string    `json:"call_id"`
	AgentID    string    `json:"agent"`
	State      string    `json:"state"` // ringing, talking
	Number     string    `json:"number"`
	Language   string    `json:"language"`
	Topic      string    `json:"topic"`
	IVRPath    string    `json:"ivr_path"`
	Arrival    time.Time `json:"arrival"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	// Callback is set when hotline calls the citizen back.
	Callback *CardCallback `json:"callback,omitempty"`
}

// CardCallback is the callback a call serves.
type CardCallback struct {
	ID       string   `json:"id"`
	Reasons  []string `json:"reasons"`
	Attempts int      `json:"attempts"` // made before this one
}

// Card states.
const (
	CardRinging = "ringing"
	CardTalking = "talking"
	// CardCallingBack: customer first, the citizen's phone rings for the
	// operator reserved for them, whose own rings once the citizen answers.
	CardCallingBack = "calling_back"
)

// Card returns the call on agentID's phone, if any.
func (r *Router) Card(agentID string) (Card, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cards[agentID]
	return c, ok
}

// showCard puts card on its operator's desktop (nil: owner's card goes);
// owner is the call or attempt it belongs to, so one call never takes
// another's card away. It is level-triggered: each call publishes what it
// holds after every step, and only a change is passed on.
func (r *Router) showCard(owner string, card *Card) {
	r.mu.Lock()
	var changed []string
	for agent, c := range r.cards {
		if c.CallID == owner && (card == nil || card.AgentID != agent) {
			delete(r.cards, agent)
			changed = append(changed, agent)
		}
	}
	if card != nil {
		if old, ok := r.cards[card.AgentID]; !ok || !sameCard(old, *card) {
			r.cards[card.AgentID] = *card
			changed = append(changed, card.AgentID)
		}
	}
	r.cardsChanged(changed)
	r.mu.Unlock()
	if r.opt.OnCard != nil {
		for _, agent := range changed {
			r.opt.OnCard(agent)
		}
	}
}

func sameCard(a, b Card) bool {
	return a.CallID == b.CallID && a.State == b.State && a.Topic == b.Topic && a.IVRPath == b.IVRPath &&
		a.AnsweredAt.Equal(b.AnsweredAt) && (a.Callback == nil) == (b.Callback == nil)
}

// publishCard is the inbound call's card as the call stands.
func (c *call) publishCard() {
	if c.offer == nil || c.topic == nil || (c.m.phase != phaseOffering && c.m.phase != phaseBridged) {
		c.r.showCard(c.id, nil)
		return
	}
	card := Card{
		CallID: c.id, AgentID: c.offer.AgentID, State: CardRinging, Number: c.callbackNumber(),
		Language: c.lang, Topic: c.topic.ID, IVRPath: c.rec.IVRPath, Arrival: c.rec.Arrival, EnqueuedAt: c.rec.EnqueuedAt,
	}
	if c.m.phase == phaseBridged {
		card.State, card.AnsweredAt = CardTalking, c.m.answeredAt
	}
	if d := c.calledBack; d != nil {
		card.Callback = &CardCallback{ID: d.ID, Reasons: d.Reasons, Attempts: d.Attempts}
	}
	c.r.showCard(c.id, &card)
}

// publishCard is a callback attempt's card. Agent first the operator
// rings, hears the whisper, waits for the citizen, talks. Customer first
// the operator is reserved while the citizen's phone rings, and sees whom
// hotline is calling back for them (with the citizen's history); the
// ringing card comes with the inbound call the answered citizen becomes.
func (a *cbAttempt) publishCard() {
	customerFirst := !a.m.agentFirst
	if a.offer.AgentID == "" || a.m.phase == atBegin || a.m.phase == atDone || customerFirst && a.m.phase != atDialCitizen {
		a.r.showCard(a.attempt, nil)
		return
	}
	card := Card{
		CallID: a.attempt, AgentID: a.offer.AgentID, State: CardTalking, Number: a.cb.Number,
		Language: a.cb.Language, Topic: a.offer.Topic, IVRPath: "callback", Arrival: a.rec.Arrival, EnqueuedAt: a.cb.QueueTime,
		AnsweredAt: a.m.answeredAt,
		Callback:   &CardCallback{ID: a.id, Reasons: a.cb.Reasons, Attempts: a.cb.Attempts},
	}
	switch {
	case customerFirst:
		card.State = CardCallingBack
	case a.m.phase == atRingOperator:
		card.State = CardRinging
	}
	a.r.showCard(a.attempt, &card)
}

// WrapUpDone ends agentID's wrap-up now: they are ready (or paused, when
// they asked to pause after the call) and offered the next caller.
func (r *Router) WrapUpDone(_ context.Context, agentID string) error {
	if err := r.knownAgent(agentID); err != nil {
		return err
	}
	r.cancelWrapUp(agentID)
	r.wrapUpDone(agentID)
	return nil
}

// ExtendWrapUp gives agentID d more wrap-up (counted from its current
// end) and returns the new end.
func (r *Router) ExtendWrapUp(_ context.Context, agentID string, d time.Duration) (time.Time, error) {
	if err := r.knownAgent(agentID); err != nil {
		return time.Time{}, err
	}
	if d <= 0 || d > time.Hour {
		return time.Time{}, fmt.Errorf("extend wrap-up of %s by %v: between 1 s and 1 h", agentID, d)
	}
	now := r.now()
	ctx, cancel := r.cmdCtx()
	defer cancel()
	until, err := r.opt.ACD.ExtendWrapUp(ctx, agentID, d, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("extend wrap-up of %s: %w", agentID, err)
	}
	r.scheduleWrapUp(agentID, until.Sub(now))
	r.log.Info("wrap-up extended", zap.String("agent", agentID), zap.Time("until", until))
	return until, nil
}

// PauseAfterCall pauses agentID with reason once their call (and its
// wrap-up) is over; reason "" takes it back.
func (r *Router) PauseAfterCall(_ context.Context, agentID, reason string) error {
	if err := r.knownAgent(agentID); err != nil {
		return err
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.Agents.PauseAfterCall(ctx, agentID, reason, r.now()); err != nil {
		return fmt.Errorf("pause %s after the call: %w", agentID, err)
	}
	return nil
}

// cancelWrapUp stops this router's timer of agentID's wrap-up.
func (r *Router) cancelWrapUp(agentID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.wrapups[agentID]; ok && w.timer.Stop() {
		delete(r.wrapups, agentID)
		r.wg.Done()
	}
}
