// Package api is hotline's small HTTP surface: operators log in, pause and
// log out; supervisors read operator states and queues; admins reload the
// config and export every case; Prometheus scrapes /metrics; orchestrators
// probe /healthz and /readyz. Every /api/v1 route needs a credential: the
// bearer token or a person's session.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
)

// AgentControl changes an operator's presence.
type AgentControl interface {
	Login(ctx context.Context, agentID string) error
	Logout(ctx context.Context, agentID string) error
	Pause(ctx context.Context, agentID, reason string) error
	Ready(ctx context.Context, agentID string) error
}

// Callbacks is the control of callbacks owed: operators mark their last
// call "call back"; supervisors list, cancel, bring forward or move one to
// another topic. An error wrapping ErrNotFound answers 404, one wrapping
// ErrInvalid 422, any other 409.
type Callbacks interface {
	MarkCallback(ctx context.Context, agentID, reason string) (string, error)
	// ListCallbacks lists callbacks in the given statuses (none: the open
	// ones); "refused" lists the numbers refused, with their reasons.
	ListCallbacks(ctx context.Context, statuses []string) (any, error)
	CancelCallback(ctx context.Context, id, who string) error
	CallbackNow(ctx context.Context, id, who string) error
	// MoveCallback moves a pending callback to topic (the same topic: a
	// no-op); ErrInvalid when topic is not configured.
	MoveCallback(ctx context.Context, id, topic, who string) error
}

// Snapshot reads what supervisors watch.
type Snapshot interface {
	Agents(ctx context.Context) (any, error)
	Queues(ctx context.Context) (any, error)
	Records(ctx context.Context, n int) (any, error)
}

// Actor is who makes a request: a person signed in (their session) or a
// machine with a bearer token.
type Actor struct {
	ID   string
	Role string // operator, supervisor, admin
}

// Roles, in the order of what they may do.
const (
	RoleOperator   = "operator"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

func rank(role string) int {
	switch role {
	case RoleOperator:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// ErrUnauthenticated is what Authenticate returns for a request that
// carries no credential, or one that is not valid (401).
var ErrUnauthenticated = errors.New("api: not authenticated")

// Options configure the handler.
type Options struct {
	Token string // bearer token for /api/v1 (an admin machine, "api-token"); empty refuses it
	// Authenticate names the actor of a request that carries no bearer
	// token (a person's session); nil: only the token is accepted. A
	// session's state change must carry its CSRF token: Authenticate
	// refuses it otherwise.
	Authenticate func(r *http.Request) (Actor, error)
	// Audit, if set, records an actor's action on an operator.
	Audit     func(actor Actor, action, target, detail string)
	Control   AgentControl
	Snapshot  Snapshot
	Callbacks Callbacks // nil: callbacks are not configured
	Reports   Reports   // nil: GET /api/v1/records is the latest 100 (Snapshot), no report
	// Supervision is listening, whispering and recordings; nil: none.
	Supervision Supervision
	Gatherer    prometheus.Gatherer
	Ready       func() error // nil error: ready to take calls
	Log         *zap.Logger
	// NotFound tells an unknown-operator error apart so it maps to 404.
	NotFound func(error) bool
	// Reload reloads the config file exactly as SIGHUP does and returns a
	// summary of the config now in force; a ConfigRefused error keeps the
	// running one. Admins only; nil: no POST /api/v1/config/reload.
	Reload func(ctx context.Context) (string, error)
	// Cases is every case, exported as CSV for admins; nil: no GET
	// /api/v1/cases.csv.
	Cases CaseExport
	// Now is the clock of the cases export's default period; time.Now
	// when nil.
	Now func() time.Time
}

var (
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	// endpointPattern is what a monitor request's phone may be: the
	// pattern a staff member's phone in the config is checked against.
	endpointPattern = config.MonitorEndpoint
)

// Handler returns the HTTP handler.
func Handler(o Options) http.Handler {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	// allow runs h for an actor of at least role min: 401 without a
	// credential, 403 for a role below it.
	allow := func(min string, h func(w http.ResponseWriter, r *http.Request, a Actor)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a, err := o.actor(r)
			if err != nil {
				writeJSON(w, http.StatusUnauthorized, errBody(err.Error()))
				return
			}
			if rank(a.Role) < rank(min) {
				writeJSON(w, http.StatusForbidden, errBody(fmt.Sprintf("%s %s may not do this: it needs the %s role", a.Role, a.ID, min)))
				return
			}
			h(w, r, a)
		}
	}
	// self lets an operator act on their own id only.
	self := func(w http.ResponseWriter, a Actor, id string) bool {
		if a.Role == RoleOperator && a.ID != id {
			writeJSON(w, http.StatusForbidden, errBody(fmt.Sprintf("operator %s may act only on themselves", a.ID)))
			return false
		}
		return true
	}
	mux.HandleFunc("POST /api/v1/agents/{id}/{action}", allow(RoleOperator, func(w http.ResponseWriter, r *http.Request, a Actor) {
		id, action := r.PathValue("id"), r.PathValue("action")
		if !validID(w, id) || !self(w, a, id) {
			return
		}
		if o.Control == nil {
			writeJSON(w, http.StatusServiceUnavailable, errBody("operator control is not available"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		var err error
		switch action {
		case "login":
			err = o.Control.Login(ctx, id)
		case "logout":
			err = o.Control.Logout(ctx, id)
		case "ready":
			err = o.Control.Ready(ctx, id)
		case "pause":
			reason, ok := readReason(w, r, "break")
			if !ok {
				return
			}
			err = o.Control.Pause(ctx, id, reason)
		default:
			writeJSON(w, http.StatusNotFound, errBody(fmt.Sprintf("unknown action %q: use login, logout, pause or ready", action)))
			return
		}
		if err != nil {
			status := http.StatusConflict
			if o.NotFound != nil && o.NotFound(err) {
				status = http.StatusNotFound
			}
			o.Log.Info("operator action refused", zap.String("agent", id), zap.String("action", action), zap.Error(err))
			writeJSON(w, status, errBody(err.Error()))
			return
		}
		o.Log.Info("operator action", zap.String("agent", id), zap.String("action", action), zap.String("actor", a.ID))
		if o.Audit != nil {
			o.Audit(a, action, id, "")
		}
		writeJSON(w, http.StatusOK, map[string]string{"agent": id, "action": action, "result": "ok"})
	}))
	read := func(get func(ctx context.Context) (any, error)) http.HandlerFunc {
		return allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, _ Actor) {
			if o.Snapshot == nil {
				writeJSON(w, http.StatusServiceUnavailable, errBody("not available"))
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			v, err := get(ctx)
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, errBody(err.Error()))
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	if o.Callbacks != nil {
		mux.HandleFunc("POST /api/v1/agents/{id}/callback", allow(RoleOperator, func(w http.ResponseWriter, r *http.Request, a Actor) {
			id := r.PathValue("id")
			if !validID(w, id) || !self(w, a, id) {
				return
			}
			reason, ok := readReason(w, r, "")
			if !ok {
				return
			}
			if reason == "" {
				writeJSON(w, http.StatusBadRequest, errBody(`say why the citizen must be called back: {"reason":"..."}`))
				return
			}
			cb, err := o.Callbacks.MarkCallback(r.Context(), id, reason)
			if err != nil {
				writeJSON(w, http.StatusConflict, errBody(err.Error()))
				return
			}
			o.Log.Info("operator marked a call back", zap.String("agent", id), zap.String("callback", cb))
			writeJSON(w, http.StatusOK, map[string]string{"agent": id, "callback": cb})
		}))
		mux.HandleFunc("GET /api/v1/callbacks", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, _ Actor) {
			var statuses []string
			for _, st := range strings.Split(r.URL.Query().Get("status"), ",") {
				if st = strings.TrimSpace(st); st != "" {
					if !idPattern.MatchString(st) {
						writeJSON(w, http.StatusBadRequest, errBody("status must be a list like scheduled,unreached"))
						return
					}
					statuses = append(statuses, st)
				}
			}
			v, err := o.Callbacks.ListCallbacks(r.Context(), statuses)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
				return
			}
			writeJSON(w, http.StatusOK, v)
		}))
		mux.HandleFunc("POST /api/v1/callbacks/{id}/{action}", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, a Actor) {
			id, action := r.PathValue("id"), r.PathValue("action")
			if !validID(w, id) {
				return
			}
			var err error
			detail := ""
			switch action {
			case "cancel":
				err = o.Callbacks.CancelCallback(r.Context(), id, a.ID)
			case "now":
				err = o.Callbacks.CallbackNow(r.Context(), id, a.ID)
			case "move":
				topic, ok := readTopic(w, r)
				if !ok {
					return
				}
				detail = topic
				err = o.Callbacks.MoveCallback(r.Context(), id, topic, a.ID)
			default:
				writeJSON(w, http.StatusNotFound, errBody(fmt.Sprintf("unknown action %q: use cancel, now or move", action)))
				return
			}
			if err != nil {
				status := http.StatusConflict
				switch {
				case errors.Is(err, ErrNotFound):
					status = http.StatusNotFound
				case errors.Is(err, ErrInvalid):
					status = http.StatusUnprocessableEntity
				}
				o.Log.Info("callback action refused", zap.String("callback", id), zap.String("action", action), zap.String("actor", a.ID), zap.Error(err))
				writeJSON(w, status, errBody(err.Error()))
				return
			}
			o.Log.Info("callback action", zap.String("callback", id), zap.String("action", action), zap.String("actor", a.ID), zap.String("detail", detail))
			writeJSON(w, http.StatusOK, map[string]string{"callback": id, "action": action, "result": "ok"})
		}))
	}
	if o.Snapshot != nil {
		mux.HandleFunc("GET /api/v1/agents", read(o.Snapshot.Agents))
		mux.HandleFunc("GET /api/v1/queues", read(o.Snapshot.Queues))
		if o.Reports == nil {
			mux.HandleFunc("GET /api/v1/records", read(func(ctx context.Context) (any, error) { return o.Snapshot.Records(ctx, 100) }))
		}
	}
	superviseRoutes(mux, o, allow)
	adminRoutes(mux, o, allow)
	reportRoutes(mux, o, func(h http.HandlerFunc) http.HandlerFunc {
		return allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, _ Actor) { h(w, r) })
	})
	return mux
}

// actor is who makes r: the bearer token's machine, or a person's
// session through Authenticate.
func (o Options) actor(r *http.Request) (Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		got, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || o.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(o.Token)) != 1 {
			return Actor{}, errors.New("missing or wrong bearer token")
		}
		return Actor{ID: "api-token", Role: RoleAdmin}, nil
	}
	if o.Authenticate == nil {
		return Actor{}, errors.New("missing or wrong bearer token")
	}
	a, err := o.Authenticate(r)
	if err != nil {
		return Actor{}, err
	}
	return a, nil
}

// validID answers 400 unless id is a plain operator or callback id.
func validID(w http.ResponseWriter, id string) bool {
	if !idPattern.MatchString(id) {
		writeJSON(w, http.StatusBadRequest, errBody("an id is 1-64 letters, digits, '_', '.', '-'"))
		return false
	}
	return true
}

// readReason reads an optional {"reason":"..."} body: one line of at most
// 64 characters; def when absent.
func readReason(w http.ResponseWriter, r *http.Request, def string) (string, bool) {
	var body struct {
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, errBody("body must be JSON like {\"reason\":\"break\"}: "+err.Error()))
		return "", false
	}
	reason := strings.TrimSpace(body.Reason)
	if reason == "" {
		reason = def
	}
	if len(reason) > 64 || strings.ContainsAny(reason, "\r\n") {
		writeJSON(w, http.StatusBadRequest, errBody("reason must be one line of at most 64 characters"))
		return "", false
	}
	return reason, true
}

// readTopic reads a move's {"topic":"..."} body: a plain topic id, no
// other field, at most 4 KiB.
func readTopic(w http.ResponseWriter, r *http.Request) (string, bool) {
	var body struct {
		Topic string `json:"topic"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, errBody(`body must be JSON like {"topic":"general"}: `+err.Error()))
		return "", false
	}
	if dec.More() {
		writeJSON(w, http.StatusBadRequest, errBody(`body must be one JSON object like {"topic":"general"}`))
		return "", false
	}
	if !idPattern.MatchString(body.Topic) {
		writeJSON(w, http.StatusBadRequest, errBody("topic must be a topic id: 1-64 letters, digits, '_', '.', '-'"))
		return "", false
	}
	return body.Topic, true
}

func errBody(msg string) map[string]string { return map[string]string{"error": msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
