package wallboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/internal/i18n"
)

// Listening and whispering from the board: a supervisor with a phone of
// their own in the config (staff: phone:) presses Listen or Whisper beside
// an operator in a conversation; their phone rings (the router's monitor,
// as POST /api/v1/agents/{id}/monitor makes it) and, picked up, hears the
// conversation, whispering heard by the operator alone. The browser never
// names the phone: it is the signed-in person's. A running monitor shows
// beside its operator, with Stop for the supervisor whose phone it rings.
// A conversation has one monitor at a time and a phone is in one at a
// time (the router refuses a second): the board shows who holds it.

// Monitor modes.
const (
	ModeListen  = "listen"
	ModeWhisper = "whisper"
)

// Monitor is one monitor running.
type Monitor struct {
	ID, Agent, Mode string
	Phone           string // the supervisor's phone it rings
	By              string // whose phone that is (their name), or the phone itself
	Answered        bool   // picked up: listening now
}

// Refusals of Monitoring, which the board names for the supervisor.
var (
	ErrNotTalking = errors.New("wallboard: the operator is not in a conversation")
	ErrMonitored  = errors.New("wallboard: the conversation is monitored already")
	ErrPhoneBusy  = errors.New("wallboard: the phone is in another monitor")
	ErrNoMonitor  = errors.New("wallboard: no such monitor")
)

// Monitoring listens to and whispers into operators' conversations.
type Monitoring interface {
	// Monitor rings phone into agentID's conversation (mode listen or
	// whisper) and names the monitor; ErrNotTalking, ErrMonitored or
	// ErrPhoneBusy (wrapped) when it cannot.
	Monitor(ctx context.Context, phone, agentID, mode string) (string, error)
	// StopMonitor ends monitor id; ErrNoMonitor when it is not running.
	StopMonitor(ctx context.Context, id string) error
	// Monitors are the monitors running.
	Monitors() []Monitor
}

var agentID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// monitorOf is the monitor on agent's conversation, or nil.
func monitorOf(ms []Monitor, agent string) *Monitor {
	for i := range ms {
		if ms[i].Agent == agent {
			return &ms[i]
		}
	}
	return nil
}

// phoneMonitor is the monitor ringing phone, or nil (none for no phone).
func phoneMonitor(ms []Monitor, phone string) *Monitor {
	for i := range ms {
		if phone != "" && ms[i].Phone == phone {
			return &ms[i]
		}
	}
	return nil
}

// monitor rings the signed-in supervisor's phone into operator id's
// conversation.
func (w *Wallboard) monitor(rw http.ResponseWriter, r *http.Request, s auth.Session, id, mode string) {
	lang := i18n.Known(s.Lang)
	phone := s.Person.Phone
	switch {
	case w.opt.Monitoring == nil:
		w.fail(rw, s, http.StatusNotFound, tr(lang, "err_action"))
		return
	case phone == "":
		w.fail(rw, s, http.StatusConflict, tr(lang, "mon_no_phone"))
		return
	case !agentID.MatchString(id):
		w.fail(rw, s, http.StatusBadRequest, tr(lang, "err_action"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	mid, err := w.opt.Monitoring.Monitor(ctx, phone, id, mode)
	if err != nil {
		w.opt.Log.Info("wallboard: monitor refused", zap.String("actor", s.Person.ID), zap.String("agent", id),
			zap.String("mode", mode), zap.String("phone", phone), zap.Error(err))
		var msg string
		switch {
		case errors.Is(err, ErrNotTalking):
			msg = fmt.Sprintf(tr(lang, "mon_not_talking"), id)
		case errors.Is(err, ErrMonitored):
			msg = tr(lang, "mon_taken")
		case errors.Is(err, ErrPhoneBusy):
			msg = tr(lang, "mon_phone_busy")
		default:
			msg = fmt.Sprintf(tr(lang, "mon_failed"), err.Error())
		}
		w.fail(rw, s, http.StatusConflict, msg)
		return
	}
	w.opt.Log.Info("wallboard: monitor", zap.String("actor", s.Person.ID), zap.String("agent", id), zap.String("mode", mode),
		zap.String("phone", phone), zap.String("monitor", mid))
	if w.opt.Audit != nil {
		w.opt.Audit(s.Person.ID, s.Person.Role, "monitor_"+mode, id, phone)
	}
	v := w.base(s)
	v.Board, v.BoardError = w.board(r.Context())
	name := id
	for _, op := range v.Board.Operators {
		if op.ID == id && op.Name != "" {
			name = op.Name
		}
	}
	v.Message = fmt.Sprintf(tr(lang, "mon_rung_"+mode), phone, name)
	w.render(rw, http.StatusOK, "answer", v)
}

// stopMonitor ends one of the signed-in supervisor's monitors.
func (w *Wallboard) stopMonitor(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	lang := i18n.Known(s.Lang)
	if w.opt.Monitoring == nil {
		w.fail(rw, s, http.StatusNotFound, tr(lang, "err_action"))
		return
	}
	id := r.PathValue("id")
	var m *Monitor
	for _, x := range w.opt.Monitoring.Monitors() {
		if x.ID == id {
			m = &x
		}
	}
	switch {
	case m == nil:
		w.fail(rw, s, http.StatusNotFound, tr(lang, "mon_gone"))
		return
	case s.Person.Phone == "" || m.Phone != s.Person.Phone:
		w.fail(rw, s, http.StatusForbidden, tr(lang, "mon_not_yours"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := w.opt.Monitoring.StopMonitor(ctx, id); err != nil {
		if errors.Is(err, ErrNoMonitor) {
			w.fail(rw, s, http.StatusNotFound, tr(lang, "mon_gone"))
			return
		}
		w.fail(rw, s, http.StatusConflict, fmt.Sprintf(tr(lang, "refused"), err.Error()))
		return
	}
	w.opt.Log.Info("wallboard: monitor stopped", zap.String("actor", s.Person.ID), zap.String("agent", m.Agent), zap.String("monitor", id))
	if w.opt.Audit != nil {
		w.opt.Audit(s.Person.ID, s.Person.Role, "monitor_stop", m.Agent, m.Phone)
	}
	w.boardAnswer(rw, r, s, tr(lang, "mon_stopped"))
}
