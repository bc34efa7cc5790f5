package desk

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/i18n"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// view is what every template gets.
type view struct {
	Lang    string
	CSRF    string
	Me      auth.Person
	Cfg     *config.Config
	Now     time.Time
	State   *stateView
	Card    *cardView
	Message string
	Error   string
	Data    any
}

type stateView struct {
	AgentView
	Reasons  []config.PauseReason
	Limit    time.Duration // the pause reason's longest length
	OnCall   bool
	WrapLeft time.Duration
}

type cardView struct {
	router.Card
	Live        bool // ringing or talking now; else the last call
	Masked      string
	Waited      time.Duration
	History     []records.Record
	Articles    []Article
	Disposition records.Disposition
}

func (d *Desk) funcs() template.FuncMap {
	return template.FuncMap{
		"t":     tr,
		"label": label,
		"tf": func(lang, key string, args ...any) string {
			return fmt.Sprintf(tr(lang, key), args...)
		},
		"langName": i18n.Name,
		"langs":    func() []string { return i18n.Languages },
		"dur":      i18n.Duration,
		"hhmm": func(t time.Time, cfg *config.Config) string {
			if t.IsZero() {
				return ""
			}
			if cfg != nil && cfg.Hours.Location != nil {
				t = t.In(cfg.Hours.Location)
			}
			return t.Format("02.01 15:04")
		},
		"ms": func(t time.Time) int64 {
			if t.IsZero() {
				return 0
			}
			return t.UnixMilli()
		},
		"topicName": func(cfg *config.Config, id string) string {
			if t, ok := cfg.Topic(id); ok && t.Name != "" {
				return t.Name
			}
			return id
		},
		"serviceName": func(cfg *config.Config, id string) string {
			if s, ok := cfg.Service(id); ok {
				return s.Name
			}
			return id
		},
		"takes": func(s config.Service, kind string) bool {
			for _, k := range s.Cases {
				if k == kind {
					return true
				}
			}
			return false
		},
		"join": strings.Join,
	}
}

// Mask shows a citizen's number as configured: last4 keeps the country
// code and the last four digits (+7 *** ***-12-34), full shows it all.
func Mask(number, mode string) string {
	if number == "" {
		return "—"
	}
	if mode == config.MaskFull {
		return number
	}
	var digits []rune
	for _, r := range number {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	if len(digits) <= 4 {
		return strings.Repeat("*", len(digits))
	}
	last := string(digits[len(digits)-4:])
	return "+" + string(digits[0]) + " *** ***-" + last[:2] + "-" + last[2:]
}

func (d *Desk) base(s auth.Session) view {
	return view{Lang: i18n.Known(s.Lang), CSRF: s.CSRF, Me: s.Person, Cfg: d.opt.Config(), Now: d.opt.Now()}
}

func (d *Desk) state(ctx context.Context, s auth.Session) (*stateView, error) {
	a, err := d.opt.States.Agent(ctx, s.Person.ID)
	if err != nil {
		return nil, err
	}
	cfg := d.opt.Config()
	v := &stateView{AgentView: a, Reasons: cfg.Desk.PauseReasons}
	if a.State == "paused" {
		if p, ok := cfg.PauseReason(a.Reason); ok {
			v.Limit = p.Max.D()
		}
	}
	v.OnCall = a.State == "reserved" || a.State == "on_call"
	if a.State == "wrap_up" {
		v.WrapLeft = a.WrapUpUntil.Sub(d.opt.Now())
	}
	return v, nil
}

// card is the operator's live call, or else the last one they had (kept
// for its disposition during wrap-up).
func (d *Desk) card(ctx context.Context, s auth.Session) *cardView {
	c, live, ok := d.currentCard(s.Person.ID)
	if !ok {
		return nil
	}
	return d.cardView(ctx, c, live)
}

// currentCard is the operator's live card, or else their last one; it
// remembers the calls the operator had (for their dispositions).
func (d *Desk) currentCard(agent string) (router.Card, bool, bool) {
	c, live := d.opt.Presence.Card(agent)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !live {
		c, ok := d.last[agent]
		return c, false, ok
	}
	d.last[agent] = c
	if d.seen[agent] == nil || len(d.seen[agent]) > 1000 {
		// Bounded: older calls are found in the records (owns).
		d.seen[agent] = map[string]bool{}
	}
	d.seen[agent][c.CallID] = true
	return c, true, true
}

// cardView is c with what the card shows beside it: the citizen's last
// contacts, the topic's articles, the disposition given so far.
func (d *Desk) cardView(ctx context.Context, c router.Card, live bool) *cardView {
	cfg := d.opt.Config()
	v := &cardView{Card: c, Live: live, Masked: Mask(c.Number, cfg.Desk.NumberMask)}
	switch {
	case !c.AnsweredAt.IsZero() && !c.EnqueuedAt.IsZero():
		v.Waited = c.AnsweredAt.Sub(c.EnqueuedAt)
	case !c.EnqueuedAt.IsZero():
		v.Waited = d.opt.Now().Sub(c.EnqueuedAt)
	}
	if hist, err := d.opt.History.ByNumber(ctx, c.Number, 6); err == nil {
		for _, r := range hist {
			if r.CallID != c.CallID && len(v.History) < 5 {
				v.History = append(v.History, r)
			}
		}
	}
	if k := d.knowledge(); k != nil {
		v.Articles = k.ForTopic(c.Topic)
	}
	if disp, err := d.opt.History.Annotation(ctx, c.CallID); err == nil {
		v.Disposition = disp
	}
	return v
}

func (d *Desk) knowledge() Knowledge {
	if d.opt.Knowledge == nil {
		return nil
	}
	return d.opt.Knowledge()
}

// owns reports whether callID is (or was) the operator's call: on their
// card now or before, or in their records of the last two days.
func (d *Desk) owns(ctx context.Context, agent, callID string) bool {
	if callID == "" {
		return false
	}
	if c, ok := d.opt.Presence.Card(agent); ok && c.CallID == callID {
		return true
	}
	d.mu.Lock()
	seen := d.seen[agent][callID]
	d.mu.Unlock()
	if seen {
		return true
	}
	now := d.opt.Now()
	recs, err := d.opt.History.ByAgent(ctx, agent, now.Add(-48*time.Hour), now, 1000)
	if err != nil {
		return false
	}
	for _, r := range recs {
		if r.CallID == callID {
			return true
		}
	}
	return false
}

// callOf is the operator's call callID as a card, from their live or last
// card: what a case opened from it is filed under.
func (d *Desk) callOf(agent, callID string) (router.Card, bool) {
	if c, ok := d.opt.Presence.Card(agent); ok && c.CallID == callID {
		return c, true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.last[agent]; ok && c.CallID == callID {
		return c, true
	}
	return router.Card{}, false
}
