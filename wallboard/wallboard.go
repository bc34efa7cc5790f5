// Package wallboard is the supervisors' live page: per topic who waits
// now and for how long, today's offered, answered and abandoned calls and
// the service level against the topic's own target, the speed of answer
// and handle time; operators by state; callbacks owed, with the actions a
// supervisor takes on them and on operators. It is served by hotline with
// embedded templates (the desktop's htmx assets), refreshed over
// server-sent events, and open to supervisors and admins only.
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
	// Audit records a supervisor's action on an operator.
	Audit func(who, role, action, target string)
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
	t, err := template.New("wallboard").Funcs(template.FuncMap{
		"dur": func(d time.Duration) string {
			d = d.Round(time.Second)
			return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
		},
		"pct": func(f float64) string {
			if f < 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f%%", f)
		},
		"ms":    func(t time.Time) int64 { return t.UnixMilli() },
		"join":  strings.Join,
		"hhmm":  func(t time.Time) string { return t.Format("15:04") },
		"chart": newChart,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	w.tmpl = t
	m := http.NewServeMux()
	m.HandleFunc("GET /wallboard", w.supervisor(w.page))
	m.HandleFunc("GET /wallboard/events", w.supervisor(w.events))
	m.HandleFunc("POST /wallboard/callbacks/{id}/{action}", w.supervisor(w.callbackAction))
	m.HandleFunc("POST /wallboard/operators/{id}/{action}", w.supervisor(w.operatorAction))
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
			http.Error(rw, "not signed in", http.StatusUnauthorized)
			return
		}
		if auth.Rank(s.Person.Role) < auth.Rank(auth.RoleSupervisor) {
			http.Error(rw, "the wallboard is for supervisors", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet {
			r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
			if err := auth.CheckCSRF(r, s); err != nil {
				http.Error(rw, err.Error(), http.StatusForbidden)
				return
			}
		}
		h(rw, r, s)
	}
}

type view struct {
	Me    auth.Person
	CSRF  string
	Board Board
	Error string
}

func (w *Wallboard) render(rw http.ResponseWriter, name string, v view) {
	var buf bytes.Buffer
	if err := w.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		w.opt.Log.Error("wallboard: template", zap.Error(err))
		http.Error(rw, "page error", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = rw.Write(buf.Bytes())
}

func (w *Wallboard) board(ctx context.Context) (Board, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := w.opt.Source.Board(ctx)
	if err != nil {
		return b, err.Error()
	}
	return b, ""
}

func (w *Wallboard) page(rw http.ResponseWriter, r *http.Request, s auth.Session) {
	b, msg := w.board(r.Context())
	w.render(rw, "page", view{Me: s.Person, CSRF: s.CSRF, Board: b, Error: msg})
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
		b, msg := w.board(r.Context())
		var buf bytes.Buffer
		if err := w.tmpl.ExecuteTemplate(&buf, "board", view{Me: s.Person, CSRF: s.CSRF, Board: b, Error: msg}); err == nil && buf.String() != last {
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
			http.Error(rw, "choose the topic to move the callback to", http.StatusBadRequest)
			return
		}
		err = w.opt.Actions.MoveCallback(r.Context(), id, topic, s.Person.ID)
	default:
		http.Error(rw, fmt.Sprintf("unknown action %q: cancel, now or move", clip(action)), http.StatusBadRequest)
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
	default:
		http.Error(rw, fmt.Sprintf("unknown action %q: pause or logout", clip(action)), http.StatusBadRequest)
		return
	}
	if err == nil && w.opt.Audit != nil {
		w.opt.Audit(s.Person.ID, s.Person.Role, action, id)
	}
	w.answer(rw, r, s, "operator "+action, id, err)
}

// answer is the board after an action, or the action's error.
func (w *Wallboard) answer(rw http.ResponseWriter, r *http.Request, s auth.Session, what, id string, err error) {
	if err != nil {
		w.opt.Log.Info("wallboard: action refused", zap.String("actor", s.Person.ID), zap.String("action", what), zap.String("target", clip(id)), zap.Error(err))
		http.Error(rw, err.Error(), http.StatusConflict)
		return
	}
	w.opt.Log.Info("wallboard: action", zap.String("actor", s.Person.ID), zap.String("action", what), zap.String("target", id))
	b, msg := w.board(r.Context())
	w.render(rw, "board", view{Me: s.Person, CSRF: s.CSRF, Board: b, Error: msg})
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
