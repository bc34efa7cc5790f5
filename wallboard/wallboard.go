// Package wallboard is the supervisors' live page: per topic who waits
// now and for how long, today's offered, answered and abandoned calls and
// the service level against the topic's own target, the speed of answer
// and handle time; operators by state; callbacks owed, with the actions a
// supervisor takes on them and on operators. It is served by hotline with
// embedded templates (the desktop's htmx assets), refreshed over
// server-sent events, and open to supervisors and admins only. It speaks
// the desktop's four languages: the one chosen at sign-in, kept in the
// session and changed by the page's switch.
package wallboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/internal/i18n"
	"github.com/hotline-acd/hotline/internal/webpage"
)

// Board is what the wallboard shows, computed by the app from Redis.
type Board struct {
	At        time.Time
	Topics    []Topic
	Operators []Operator
	Callbacks Callbacks
	Pending   []Callback // the open callbacks, soonest first
	// History is the last hours in equal steps, oldest first: callers
	// waiting at each step and the service level of the step's answers.
	History []Point
	// Monitors are the supervisors listening now (Options.Monitoring's,
	// read by the wallboard itself).
	Monitors []Monitor
}

// Point is one step of the board's history.
type Point struct {
	At           time.Time
	Waiting      int
	ServiceLevel float64 // -1: nothing offered in the step
}

// chart is the history as two SVG polylines (waiting, service level) in a
// width × height box: drawn on the server, so the page needs no chart
// script.
type chart struct {
	Width, Height       int
	Waiting, Level      string // polyline points
	MaxWaiting          int
	FirstLabel, LastLab string
}

func newChart(h []Point) chart {
	c := chart{Width: 600, Height: 120, MaxWaiting: 1}
	if len(h) < 2 {
		return c
	}
	for _, p := range h {
		c.MaxWaiting = max(c.MaxWaiting, p.Waiting)
	}
	var w, l strings.Builder
	step := float64(c.Width) / float64(len(h)-1)
	for i, p := range h {
		x := float64(i) * step
		fmt.Fprintf(&w, "%.0f,%.0f ", x, float64(c.Height)-float64(p.Waiting)*float64(c.Height-10)/float64(c.MaxWaiting))
		if p.ServiceLevel >= 0 {
			fmt.Fprintf(&l, "%.0f,%.0f ", x, float64(c.Height)-p.ServiceLevel*float64(c.Height-10)/100)
		}
	}
	c.Waiting, c.Level = strings.TrimSpace(w.String()), strings.TrimSpace(l.String())
	c.FirstLabel, c.LastLab = h[0].At.Format("15:04"), h[len(h)-1].At.Format("15:04")
	return c
}

// Topic is one queue's numbers.
type Topic struct {
	ID, Name   string
	Waiting    int
	OldestWait time.Duration
	// Today, in the centre's time zone.
	Offered, Answered, Abandoned, AnsweredInTarget int
	TargetPercent                                  float64
	TargetWithin                                   time.Duration
	ASA, AHT                                       time.Duration
}

// ServiceLevel is the share of today's offered calls answered within the
// target (abandons count against it); -1 with nothing offered.
func (t Topic) ServiceLevel() float64 {
	if t.Offered == 0 {
		return -1
	}
	return 100 * float64(t.AnsweredInTarget) / float64(t.Offered)
}

// Operator is one operator's state.
type Operator struct {
	ID, Name, State, Reason string
	Since                   time.Time
}

// Callbacks are the callback counts.
type Callbacks struct {
	Pending, Due, Unreached int64
}

// Callback is one open callback.
type Callback struct {
	ID, Topic, Status, Number string // Number already masked
	TopicName                 string
	Due                       time.Time
	Attempts                  int
	Reasons                   []string
}

// Source computes the board.
type Source interface {
	Board(ctx context.Context) (Board, error)
}

// Actions are what a supervisor does from the board; who is their id.
type Actions interface {
	CancelCallback(ctx context.Context, id, who string) error
	CallbackNow(ctx context.Context, id, who string) error
	// MoveCallback moves a pending callback to another of the board's
	// topics.
	MoveCallback(ctx context.Context, id, topic, who string) error
	Pause(ctx context.Context, agentID, reason string) error
	Logout(ctx context.Context, agentID string) error
}

// Options wire the wallboard.
type Options struct {
	Sessions *auth.Sessions
	Source   Source
	Actions  Actions
	// Monitoring is listening and whispering; nil: the board offers none.
	Monitoring Monitoring
	// Audit records a supervisor's action on an operator (target), with
	// what it used (detail: the phone rung to listen, or "").
	Audit func(who, role, action, target, detail string)
	Now   func() time.Time
	Log   *zap.Logger
	Poll  time.Duration // default 2 s
}

//go:embed templates/*.html
var templateFS embed.FS

// Wallboard serves /wallboard.
type Wallboard struct {
	opt  Options
	tmpl *template.Template
	mux  *http.ServeMux
}

// New returns the wallboard's handler.
func New(o Options) (*Wallboard, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		return nil, errors.New("wallboard: a clock is required")
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	w := &Wallboard{opt: o}
	t, err := template.New("wallboard").Funcs(funcs()).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	w.tmpl = t
	m := http.NewServeMux()
	m.HandleFunc("GET /wallboard", w.supervisor(w.page))
	m.HandleFunc("GET /wallboard/events", w.supervisor(w.events))
	m.HandleFunc("POST /wallboard/callbacks/{id}/{action}", w.supervisor(w.callbackAction))
	m.HandleFunc("POST /wallboard/operators/{id}/{action}", w.supervisor(w.operatorAction))
	m.HandleFunc("POST /wallboard/monitors/{id}/stop", w.supervisor(w.stopMonitor))
	m.HandleFunc("POST /wallboard/language", w.supervisor(w.setLanguage))
	w.mux = m
	return w, nil
}

func (w *Wallboard) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	webpage.SecureHeaders(rw.Header())
	w.mux.ServeHTTP(rw, r)
}

// supervisor runs h for a supervisor or an admin: 401 (or the sign-in
// page) without a session, 403 for an operator; a state change carries
// the session's CSRF token.
func (w *Wallboard) supervisor(h func(rw http.ResponseWriter, r *http.Request, s auth.Session)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		s, err := w.opt.Sessions.Get(r)
		if err != nil {
			if r.Method == http.MethodGet && r.URL.Path == "/wallboard" {
				http.Redirect(rw, r, "/login", http.StatusSeeOther)
				return
			}
			rw.Header().Set("HX-Redirect", "/login")
			http.Error(rw, "not signed in", http.StatusUnauthorized)
			return
		}
		if auth.Rank(s.Person.Role) < auth.Rank(auth.RoleSupervisor) {
			w.fail(rw, s, http.StatusForbidden, tr(i18n.Known(s.Lang), "err_role"))
			return
		}
		if r.Method != http.MethodGet {
			r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
			if err := auth.CheckCSRF(r, s); err != nil {
				w.opt.Log.Info("wallboard: refused without the session's token", zap.String("actor", s.Person.ID), zap.Error(err))
				w.fail(rw, s, http.StatusForbidden, tr(i18n.Known(s.Lang), "err_session"))
				return
			}
		}
		h(rw, r, s)
	}
}

type view struct {
	Lang       string
	Me         auth.Person
	CSRF       string
	Board      Board
	BoardError string // why the board could not be read
	Error      string // a refusal, for the page's status line
	Message    string // the last action's outcome, for the status line
}

func (w *Wallboard) base(s auth.Session) view {
	return view{Lang: i18n.Known(s.Lang), Me: s.Person, CSRF: s.CSRF}
}

func (w *Wallboard) render(rw http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := w.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		w.opt.Log.Error("wallboard: template", zap.Error(err))
		http.Error(rw, "page error", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// fail answers status with msg for the page's status line (htmx puts a
// refusal there: the page's responseHandling); nothing was changed.
func (w *Wallboard) fail(rw http.ResponseWriter, s auth.Session, status int, msg string) {
	v := w.base(s)
	v.Error = msg
	w.render(rw, status, "msg", v)
}

// board is the board now, or what it could be and why not.
func (w *Wallboard) board(ctx context.Context) (Board, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := w.opt.Source.Board(ctx)
	if w.opt.Monitoring != nil {
		b.Monitors = w.opt.Monitoring.Monitors()
	}
	if err != nil {
		return b, err.Error()
	}
	return b, ""
}

func (w *Wallboard) page(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	v := w.base(s)
	v.Board, v.BoardError = w.board(r.Context())
	w.render(rw, http.StatusOK, "page", v)
}

// events sends the board again whenever it changed, checked every Poll.
func (w *Wallboard) events(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	fl, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	_ = http.NewResponseController(rw).SetWriteDeadline(time.Time{})
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-store")
	tick := time.NewTicker(w.opt.Poll)
	defer tick.Stop()
	last := ""
	for {
		v := w.base(s)
		v.Board, v.BoardError = w.board(r.Context())
		var buf bytes.Buffer
		if err := w.tmpl.ExecuteTemplate(&buf, "board", v); err == nil && buf.String() != last {
			last = buf.String()
			_, _ = rw.Write(webpage.Event("board", last))
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func (w *Wallboard) callbackAction(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	switch action {
	case "cancel":
		err = w.opt.Actions.CancelCallback(r.Context(), id, s.Person.ID)
	case "now":
		err = w.opt.Actions.CallbackNow(r.Context(), id, s.Person.ID)
	case "move":
		topic := r.PostFormValue("topic")
		if !topicPattern.MatchString(topic) {
			w.fail(rw, s, http.StatusBadRequest, tr(i18n.Known(s.Lang), "cb_move_choose"))
			return
		}
		err = w.opt.Actions.MoveCallback(r.Context(), id, topic, s.Person.ID)
	default:
		w.fail(rw, s, http.StatusBadRequest, tr(i18n.Known(s.Lang), "err_action"))
		return
	}
	w.answer(rw, r, s, "callback "+action, id, err)
}

func (w *Wallboard) operatorAction(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	switch action {
	case "pause":
		err = w.opt.Actions.Pause(r.Context(), id, "supervisor")
	case "logout":
		err = w.opt.Actions.Logout(r.Context(), id)
	case ModeListen, ModeWhisper:
		w.monitor(rw, r, s, id, action)
		return
	default:
		w.fail(rw, s, http.StatusBadRequest, tr(i18n.Known(s.Lang), "err_action"))
		return
	}
	if err == nil && w.opt.Audit != nil {
		w.opt.Audit(s.Person.ID, s.Person.Role, action, id, "")
	}
	w.answer(rw, r, s, "operator "+action, id, err)
}

// Why an action was refused: Actions' errors wrap one of these for the
// page to say it in the supervisor's language (any other error is shown
// as it is).
var (
	ErrGone           = errors.New("wallboard: no such callback or operator")
	ErrCallbackBusy   = errors.New("wallboard: the callback is being dialled or put through")
	ErrCallbackClosed = errors.New("wallboard: the callback is closed already")
	ErrCallbackTaken  = errors.New("wallboard: the number has a callback in that topic already")
	ErrOperatorState  = errors.New("wallboard: the operator's state does not allow it")
)

// refusal is the page's message for err.
func refusal(lang string, err error) string {
	for _, k := range []struct {
		err error
		key string
	}{{ErrGone, "err_gone"}, {ErrCallbackBusy, "err_cb_busy"}, {ErrCallbackClosed, "err_cb_closed"}, {ErrCallbackTaken, "err_cb_dup"}, {ErrOperatorState, "err_op_state"}} {
		if errors.Is(err, k.err) {
			return tr(lang, k.key)
		}
	}
	return fmt.Sprintf(tr(lang, "refused"), err.Error())
}

// answer is the board after an action, or the action's error.
func (w *Wallboard) answer(rw http.ResponseWriter, r *http.Request, s auth.Session, what, id string, err error) {
	if err != nil {
		w.opt.Log.Info("wallboard: action refused", zap.String("actor", s.Person.ID), zap.String("action", what), zap.String("target", clip(id)), zap.Error(err))
		w.fail(rw, s, http.StatusConflict, refusal(i18n.Known(s.Lang), err))
		return
	}
	w.opt.Log.Info("wallboard: action", zap.String("actor", s.Person.ID), zap.String("action", what), zap.String("target", id))
	w.boardAnswer(rw, r, s, "")
}

// boardAnswer is the board after an action that was done, with message
// for the page's status line (clearing the last refusal).
func (w *Wallboard) boardAnswer(rw http.ResponseWriter, r *http.Request, s auth.Session, message string) {
	v := w.base(s)
	v.Board, v.BoardError = w.board(r.Context())
	v.Message = message
	w.render(rw, http.StatusOK, "answer", v)
}

// setLanguage changes the session's language, as the desktop's switch
// does, and has the page reloaded in it.
func (w *Wallboard) setLanguage(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	lang := r.PostFormValue("lang")
	if !i18n.Speaks(lang) {
		w.fail(rw, s, http.StatusBadRequest, tr(i18n.Known(s.Lang), "err_language"))
		return
	}
	if err := w.opt.Sessions.SetLang(r.Context(), s, lang); err != nil {
		w.opt.Log.Warn("wallboard: setting the language", zap.String("actor", s.Person.ID), zap.Error(err))
		w.fail(rw, s, http.StatusServiceUnavailable, fmt.Sprintf(tr(i18n.Known(s.Lang), "refused"), err.Error()))
		return
	}
	rw.Header().Set("HX-Refresh", "true")
	rw.WriteHeader(http.StatusNoContent)
}

// funcs are the templates' helpers; the ones that write words, numbers
// and times take the page's language first.
func funcs() template.FuncMap {
	return template.FuncMap{
		"t": tr,
		"tf": func(lang, key string, args ...any) string {
			return fmt.Sprintf(tr(lang, key), args...)
		},
		"named":    named,
		"langs":    func() []string { return i18n.Languages },
		"langName": i18n.Name,
		"num": func(lang string, n any) string {
			switch n := n.(type) {
			case int:
				return i18n.Int(lang, int64(n))
			case int64:
				return i18n.Int(lang, n)
			}
			return fmt.Sprint(n)
		},
		"pct":          i18n.Percent,
		"dur":          i18n.Duration,
		"hhmm":         func(t time.Time) string { return t.Format("15:04") },
		"chart":        newChart,
		"monitorOf":    monitorOf,
		"phoneMonitor": phoneMonitor,
		"reasons": func(lang string, ids []string) string {
			names := make([]string, len(ids))
			for i, id := range ids {
				names[i] = named(lang, "cb_reason", id)
			}
			return strings.Join(names, ", ")
		},
	}
}

// topicPattern is a topic id as a move's form names it (the app checks
// it is configured).
var topicPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func clip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
