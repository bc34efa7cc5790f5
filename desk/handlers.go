package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/internal/i18n"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// Sign-in attempts allowed per operator id in failWindow.
const (
	maxFails   = 5
	failWindow = 5 * time.Minute
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (d *Desk) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := d.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		d.opt.Log.Error("desk: template", zap.String("template", name), zap.Error(err))
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// refusal is why a state change or a transfer was not done, in lang: the
// reasons an operator can act on in their words, any other as it is.
func refusal(lang string, err error) string {
	switch {
	case errors.Is(err, router.ErrRefused), errors.Is(err, agents.ErrBadTransition):
		return tr(lang, "refused_state")
	case errors.Is(err, router.ErrNoCall):
		return tr(lang, "refused_nocall")
	case errors.Is(err, router.ErrUnknownTarget):
		return tr(lang, "refused_target")
	case errors.Is(err, router.ErrTransferRefused):
		return fmt.Sprintf(tr(lang, "refused_xfer"), err.Error())
	}
	return fmt.Sprintf(tr(lang, "refused"), err.Error())
}

// bad answers 400 with a message the page shows; nothing was changed.
func (d *Desk) bad(w http.ResponseWriter, s auth.Session, status int, msg string) {
	v := d.base(s)
	v.Error = msg
	d.render(w, status, "msg", v)
}

func (d *Desk) loginPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, http.StatusOK, "login", view{Lang: i18n.Requested(r)})
}

func (d *Desk) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	// SameSite=Strict keeps the cookie from other sites; a sign-in posted
	// from another origin is refused too (login CSRF).
	if o := r.Header.Get("Origin"); o != "" && !strings.HasSuffix(o, "://"+r.Host) {
		http.Error(w, "sign-in from another origin", http.StatusForbidden)
		return
	}
	lang := i18n.Known(r.PostFormValue("lang"))
	id, secret := strings.TrimSpace(r.PostFormValue("id")), r.PostFormValue("secret")
	if !idRe.MatchString(id) || secret == "" || len(secret) > 256 {
		d.render(w, http.StatusBadRequest, "login", view{Lang: lang, Error: tr(lang, "bad_signin")})
		return
	}
	now := d.opt.Now()
	if d.tooManyFails(id, now) {
		d.render(w, http.StatusTooManyRequests, "login", view{Lang: lang, Error: tr(lang, "too_many")})
		return
	}
	per, ok := d.opt.People().Check(id, secret)
	if !ok {
		d.fail(id, now)
		d.opt.Log.Info("desk: sign-in refused", zap.String("agent", id))
		d.render(w, http.StatusUnauthorized, "login", view{Lang: lang, Error: tr(lang, "bad_signin")})
		return
	}
	if _, err := d.opt.Sessions.Start(r.Context(), w, per, lang); err != nil {
		d.opt.Log.Error("desk: starting a session", zap.String("agent", id), zap.Error(err))
		http.Error(w, "sessions are not available", http.StatusServiceUnavailable)
		return
	}
	d.mu.Lock()
	delete(d.fails, id)
	d.mu.Unlock()
	d.opt.Log.Info("desk: signed in", zap.String("agent", id), zap.String("role", per.Role))
	http.Redirect(w, r, home(per.Role), http.StatusSeeOther)
}

// home is where a person goes after signing in: operators to their
// desktop, supervisors and admins to the wallboard.
func home(role string) string {
	if role == auth.RoleOperator {
		return "/"
	}
	return "/wallboard"
}

func (d *Desk) tooManyFails(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.fails[id][:0]
	for _, t := range d.fails[id] {
		if now.Sub(t) < failWindow {
			kept = append(kept, t)
		}
	}
	d.fails[id] = kept
	return len(kept) >= maxFails
}

func (d *Desk) fail(id string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.fails) > 10000 { // bounded: ids are attacker-chosen
		clear(d.fails)
	}
	d.fails[id] = append(d.fails[id], now)
}

func (d *Desk) logout(w http.ResponseWriter, r *http.Request, s auth.Session) {
	if err := d.opt.Sessions.End(r.Context(), w, s); err != nil {
		d.opt.Log.Warn("desk: ending a session", zap.String("agent", s.Person.ID), zap.Error(err))
	}
	w.Header().Set("HX-Redirect", "/login")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (d *Desk) page(w http.ResponseWriter, r *http.Request) {
	s, err := d.opt.Sessions.Get(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if s.Person.Role != auth.RoleOperator {
		http.Redirect(w, r, home(s.Person.Role), http.StatusSeeOther)
		return
	}
	v := d.base(s)
	if v.State, err = d.state(r.Context(), s); err != nil {
		d.opt.Log.Warn("desk: operator state", zap.String("agent", s.Person.ID), zap.Error(err))
	}
	v.Card = d.card(r.Context(), s)
	d.render(w, http.StatusOK, "page", v)
}

func (d *Desk) stateFragment(w http.ResponseWriter, r *http.Request, s auth.Session) {
	v := d.base(s)
	var err error
	if v.State, err = d.state(r.Context(), s); err != nil {
		d.bad(w, s, http.StatusServiceUnavailable, err.Error())
		return
	}
	d.render(w, http.StatusOK, "state", v)
}

func (d *Desk) cardFragment(w http.ResponseWriter, r *http.Request, s auth.Session) {
	v := d.base(s)
	v.Card = d.card(r.Context(), s)
	d.render(w, http.StatusOK, "card", v)
}

// changeState is the operator's own state request.
func (d *Desk) changeState(w http.ResponseWriter, r *http.Request, s auth.Session) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	agent, p := s.Person.ID, d.opt.Presence
	action, reason := r.PostFormValue("action"), r.PostFormValue("reason")
	var err error
	switch action {
	case "login":
		err = p.Login(ctx, agent)
	case "ready":
		err = p.Ready(ctx, agent)
	case "logout":
		err = p.Logout(ctx, agent)
	case "pause", "pause_after":
		if _, ok := d.opt.Config().PauseReason(reason); !ok {
			d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown pause reason %q", clip(reason)))
			return
		}
		if action == "pause" {
			err = p.Pause(ctx, agent, reason)
		} else {
			err = p.PauseAfterCall(ctx, agent, reason)
		}
	case "pause_after_cancel":
		err = p.PauseAfterCall(ctx, agent, "")
	case "done":
		err = p.WrapUpDone(ctx, agent)
	case "extend":
		_, err = p.ExtendWrapUp(ctx, agent, time.Minute)
	default:
		d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown action %q", clip(action)))
		return
	}
	if err != nil {
		d.opt.Log.Info("desk: state change refused", zap.String("agent", agent), zap.String("action", action), zap.Error(err))
		d.bad(w, s, http.StatusConflict, refusal(i18n.Known(s.Lang), err))
		return
	}
	d.opt.Log.Info("desk: state change", zap.String("agent", agent), zap.String("action", action), zap.String("reason", reason))
	d.Notify(agent)
	d.stateFragment(w, r, s)
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// text is a form field, trimmed, at most max runes; ok false when longer
// or not UTF-8.
func text(r *http.Request, name string, max int) (string, bool) {
	v := strings.TrimSpace(r.PostFormValue(name))
	return v, utf8.ValidString(v) && utf8.RuneCountInString(v) <= max
}

// dispose saves the operator's disposition and note on one of their calls.
func (d *Desk) dispose(w http.ResponseWriter, r *http.Request, s auth.Session) {
	agent := s.Person.ID
	callID := r.PostFormValue("call_id")
	code := r.PostFormValue("code")
	note, ok := text(r, "note", 2000)
	if !ok {
		d.bad(w, s, http.StatusBadRequest, "the note is longer than 2000 characters")
		return
	}
	if !validCode(d.opt.Config().Desk.Dispositions, code) {
		d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown disposition %q", clip(code)))
		return
	}
	if !d.owns(r.Context(), agent, callID) {
		d.bad(w, s, http.StatusForbidden, "not your call")
		return
	}
	err := d.opt.History.Annotate(r.Context(), callID, records.Disposition{Code: code, Note: note, Agent: agent, At: d.opt.Now()})
	if err != nil {
		d.bad(w, s, http.StatusServiceUnavailable, err.Error())
		return
	}
	d.opt.Log.Info("desk: disposition", zap.String("agent", agent), zap.String("call_id", callID), zap.String("code", code))
	v := d.base(s)
	v.Message = tr(v.Lang, "saved")
	d.render(w, http.StatusOK, "msg", v)
}

func validCode(list []string, code string) bool {
	for _, c := range list {
		if c == code {
			return true
		}
	}
	return false
}

// openCase registers a complaint or a home-visit request from one of the
// operator's calls; it is filed under that call's citizen and topic.
func (d *Desk) openCase(w http.ResponseWriter, r *http.Request, s auth.Session) {
	if d.opt.Cases == nil {
		d.bad(w, s, http.StatusNotFound, "cases are not configured")
		return
	}
	agent := s.Person.ID
	callID := r.PostFormValue("call_id")
	call, ok := d.callOf(agent, callID)
	if !ok {
		d.bad(w, s, http.StatusForbidden, "cases are opened from your own current or last call")
		return
	}
	req := CaseRequest{
		RequestID: r.PostFormValue("request_id"), Kind: r.PostFormValue("kind"), CallID: callID, Agent: agent,
		CitizenNumber: call.Number, Topic: call.Topic, Language: call.Language, Service: r.PostFormValue("service"),
	}
	fields := []struct {
		dst  *string
		name string
		max  int
	}{
		{&req.Organisation, "organisation", 300}, {&req.Category, "category", 40}, {&req.Text, "text", 4000},
		{&req.Address, "address", 500}, {&req.Symptoms, "symptoms", 2000}, {&req.PreferredTime, "preferred_time", 200},
	}
	for _, f := range fields {
		if *f.dst, ok = text(r, f.name, f.max); !ok {
			d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("%s: longer than %d characters", f.name, f.max))
			return
		}
	}
	if svc, ok := d.opt.Config().Service(req.Service); !ok || !takes(svc.Cases, req.Kind) {
		d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("service %q does not take %q cases", clip(req.Service), clip(req.Kind)))
		return
	}
	c, err := d.opt.Cases.Open(r.Context(), req, d.opt.Now())
	if err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, ErrInvalidCase) {
			status = http.StatusBadRequest
		}
		d.bad(w, s, status, err.Error())
		return
	}
	if err := d.opt.History.Annotate(r.Context(), callID, records.Disposition{Cases: []string{c.Number}}); err != nil {
		d.opt.Log.Warn("desk: case not linked to its call", zap.String("call_id", callID), zap.String("case", c.Number), zap.Error(err))
	}
	d.opt.Log.Info("desk: case opened", zap.String("agent", agent), zap.String("call_id", callID), zap.String("case", c.Number), zap.String("kind", c.Kind))
	v := d.base(s)
	v.Data = c
	d.render(w, http.StatusOK, "caseok", v)
}

// closeCase closes one of the operator's own cases.
func (d *Desk) closeCase(w http.ResponseWriter, r *http.Request, s auth.Session) {
	if d.opt.Cases == nil {
		d.bad(w, s, http.StatusNotFound, "cases are not configured")
		return
	}
	number := r.PostFormValue("number")
	if err := d.opt.Cases.Close(r.Context(), s.Person.ID, number, d.opt.Now()); err != nil {
		status := http.StatusConflict
		if errors.Is(err, ErrNotYours) {
			status = http.StatusNotFound // another's case is none of theirs to know of
		}
		d.bad(w, s, status, err.Error())
		return
	}
	d.opt.Log.Info("desk: case closed", zap.String("agent", s.Person.ID), zap.String("case", clip(number)))
	d.day(w, r, s)
}

func takes(kinds []string, kind string) bool {
	for _, k := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// transfer moves the citizen the operator is talking to.
func (d *Desk) transfer(w http.ResponseWriter, r *http.Request, s auth.Session) {
	t := d.opt.Transfers
	if t == nil {
		d.bad(w, s, http.StatusNotFound, "transfers are not available")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	agent, kind, target := s.Person.ID, r.PostFormValue("kind"), r.PostFormValue("target")
	cfg := d.opt.Config()
	var err error
	switch kind {
	case "service", "consult":
		if _, ok := cfg.Service(target); !ok {
			d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown service %q", clip(target)))
			return
		}
		if kind == "service" {
			err = t.TransferToService(ctx, agent, target)
		} else {
			err = t.ConsultService(ctx, agent, target)
		}
	case "topic":
		if _, ok := cfg.Topic(target); !ok {
			d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown topic %q", clip(target)))
			return
		}
		err = t.TransferToTopic(ctx, agent, target)
	case "complete":
		err = t.CompleteConsult(ctx, agent)
	case "cancel":
		err = t.CancelConsult(ctx, agent)
	default:
		d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown transfer %q", clip(kind)))
		return
	}
	if err != nil {
		d.opt.Log.Info("desk: transfer refused", zap.String("agent", agent), zap.String("kind", kind), zap.String("target", target), zap.Error(err))
		d.bad(w, s, http.StatusConflict, refusal(i18n.Known(s.Lang), err))
		return
	}
	d.opt.Log.Info("desk: transfer", zap.String("agent", agent), zap.String("kind", kind), zap.String("target", target))
	v := d.base(s)
	v.Message = tr(v.Lang, "transferred")
	d.render(w, http.StatusOK, "msg", v)
}

func (d *Desk) setLanguage(w http.ResponseWriter, r *http.Request, s auth.Session) {
	lang := r.PostFormValue("lang")
	if !i18n.Speaks(lang) {
		d.bad(w, s, http.StatusBadRequest, fmt.Sprintf("unknown language %q", clip(lang)))
		return
	}
	if err := d.opt.Sessions.SetLang(r.Context(), s, lang); err != nil {
		d.bad(w, s, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("HX-Refresh", "true")
	w.WriteHeader(http.StatusNoContent)
}

func (d *Desk) kbSearch(w http.ResponseWriter, r *http.Request, s auth.Session) {
	v := d.base(s)
	if k := d.knowledge(); k != nil {
		v.Data = k.Search(r.URL.Query().Get("q"), 20)
	}
	d.render(w, http.StatusOK, "kbresults", v)
}

func (d *Desk) kbArticle(w http.ResponseWriter, r *http.Request, s auth.Session) {
	k := d.knowledge()
	if k == nil {
		d.bad(w, s, http.StatusNotFound, "no knowledge base")
		return
	}
	a, ok := k.Article(r.URL.Query().Get("id"))
	if !ok {
		d.bad(w, s, http.StatusNotFound, "no such article")
		return
	}
	v := d.base(s)
	v.Data = a
	d.render(w, http.StatusOK, "article", v)
}

// dayView is the operator's own day.
type dayView struct {
	Calls []records.Record
	Cases []Case // opened today
	Open  []Case // not closed, of any day
}

// today is the start and end of the operator's day in the centre's time.
func (d *Desk) today() (time.Time, time.Time) {
	now := d.opt.Now()
	if loc := d.opt.Config().Hours.Location; loc != nil {
		now = now.In(loc)
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	return start, start.Add(24 * time.Hour)
}

func (d *Desk) day(w http.ResponseWriter, r *http.Request, s auth.Session) {
	from, to := d.today()
	var dv dayView
	var err error
	if dv.Calls, err = d.opt.History.ByAgent(r.Context(), s.Person.ID, from, to, 500); err != nil {
		d.bad(w, s, http.StatusServiceUnavailable, err.Error())
		return
	}
	if d.opt.Cases != nil {
		if dv.Cases, err = d.opt.Cases.ByAgent(r.Context(), s.Person.ID, from, to); err != nil {
			d.bad(w, s, http.StatusServiceUnavailable, err.Error())
			return
		}
		if dv.Open, err = d.opt.Cases.OpenByAgent(r.Context(), s.Person.ID); err != nil {
			d.bad(w, s, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	v := d.base(s)
	v.Data = dv
	d.render(w, http.StatusOK, "day", v)
}

func (d *Desk) casesCSV(w http.ResponseWriter, r *http.Request, s auth.Session) {
	if d.opt.Cases == nil {
		http.Error(w, "cases are not configured", http.StatusNotFound)
		return
	}
	from, to := d.today()
	from = from.Add(-30 * 24 * time.Hour)
	var buf bytes.Buffer
	if err := d.opt.Cases.WriteCSV(r.Context(), &buf, s.Person.ID, from, to); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cases-`+s.Person.ID+`.csv"`)
	_, _ = w.Write(buf.Bytes())
}
