package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/cardboard"
	"github.com/hotline-acd/hotline/fleet"
	"github.com/hotline-acd/hotline/router"
)

// With several instances an operator's desktop may be served by one
// instance while another holds their call. The card comes from the shared
// board (cardboard); an action on the call (a transfer, "call back") runs
// on the router holding it: one of this process's (its own, or one it
// took over from an instance that died), or another process's, asked over
// the fleet.

// localRouters are the routers this process runs for applications it
// took over, by application (its own is App.router).
type localRouters struct {
	taken map[string]*router.Router // under App.mu
}

func (a *App) addRouter(r *router.Router) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r != a.router {
		a.routers.taken[r.App()] = r
	}
}

func (a *App) dropRouter(r *router.Router) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.routers.taken[r.App()] == r {
		delete(a.routers.taken, r.App())
	}
}

// localRouter is this process's router of app, if it runs one.
func (a *App) localRouter(app string) *router.Router {
	if app == a.router.App() {
		return a.router
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.routers.taken[app]
}

// allRouters are this process's routers, its own first.
func (a *App) allRouters() []*router.Router {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []*router.Router{a.router}
	for _, r := range a.routers.taken {
		out = append(out, r)
	}
	return out
}

// card is agentID's card: a router of this process holds the call, or
// the board says another instance does.
func (a *App) card(agentID string) (cardboard.Entry, bool) {
	for _, r := range a.allRouters() {
		if c, ok := r.Card(agentID); ok {
			return cardboard.Entry{App: r.App(), Card: c}, true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e, ok, err := a.board.Card(ctx, agentID)
	if err != nil {
		a.log.Warn("desk: reading the shared cards", zap.String("agent", agentID), zap.Error(err))
		return cardboard.Entry{}, false
	}
	return e, ok
}

// monitorEntries are the monitors every instance runs, by id, with the
// application running each: this process's routers' as they stand, the
// others' from the board.
func (a *App) monitorEntries() map[string]cardboard.MonitorEntry {
	byID := map[string]cardboard.MonitorEntry{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if all, err := a.board.Monitors(ctx); err != nil {
		a.log.Warn("wallboard: reading the shared monitors", zap.Error(err))
	} else {
		for id, e := range all {
			if a.localRouter(e.App) == nil {
				byID[id] = e
			}
		}
	}
	for _, r := range a.allRouters() {
		for _, m := range r.ActiveMonitors() {
			byID[m.ID] = cardboard.MonitorEntry{App: r.App(), Monitor: m}
		}
	}
	return byID
}

// monitors are the monitors every instance runs, oldest first.
func (a *App) monitors() []router.MonitorInfo {
	var out []router.MonitorInfo
	for _, e := range a.monitorEntries() {
		out = append(out, e.Monitor)
	}
	slices.SortFunc(out, func(x, y router.MonitorInfo) int {
		if c := x.Started.Compare(y.Started); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// deskOp is an operator's action on their call, or a supervisor's
// monitor of it, run where the call is.
type deskOp struct {
	Op     string `json:"op"`
	Agent  string `json:"agent,omitempty"`
	Target string `json:"target,omitempty"` // service or topic; a callback's reason; a monitor's phone or id
	Mode   string `json:"mode,omitempty"`   // a monitor's
}

// The operations.
const (
	opTransferService = "transfer_service"
	opTransferTopic   = "transfer_topic"
	opConsult         = "consult"
	opComplete        = "consult_complete"
	opCancel          = "consult_cancel"
	opMarkCallback    = "mark_callback"
	opMonitor         = "monitor"
	opStopMonitor     = "stop_monitor"
)

// deskReply is a deskOp's outcome on the wire.
type deskReply struct {
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	Is     string `json:"is,omitempty"` // the router's error it wraps (remoteErrors)
}

// remoteErrors are the router's errors a caller tells apart (the web
// layer's status codes), by their name on the wire.
var remoteErrors = map[string]error{
	"no_call":          router.ErrNoCall,
	"unknown_target":   router.ErrUnknownTarget,
	"transfer_refused": router.ErrTransferRefused,
	"no_recent_call":   router.ErrNoRecentCall,
	"unknown_agent":    router.ErrUnknownAgent,
	"monitored":        router.ErrMonitored,
	"bad_monitor":      router.ErrBadMonitor,
	"no_monitor":       router.ErrNoMonitor,
}

// remoteError is another instance's error, with the router error it wraps.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }

// run runs op on r.
func (op deskOp) run(ctx context.Context, r *router.Router) (string, error) {
	switch op.Op {
	case opTransferService:
		return "", r.TransferToService(ctx, op.Agent, op.Target)
	case opTransferTopic:
		return "", r.TransferToTopic(ctx, op.Agent, op.Target)
	case opConsult:
		return "", r.ConsultService(ctx, op.Agent, op.Target)
	case opComplete:
		return "", r.CompleteConsult(ctx, op.Agent)
	case opCancel:
		return "", r.CancelConsult(ctx, op.Agent)
	case opMarkCallback:
		return r.MarkCallback(ctx, op.Agent, op.Target)
	case opMonitor:
		return r.Monitor(ctx, op.Target, op.Agent, op.Mode)
	case opStopMonitor:
		return "", r.StopMonitor(ctx, op.Target)
	}
	return "", fmt.Errorf("app: unknown desk operation %q", op.Op)
}

// remoteOpWait bounds the wait for another instance's answer, longer
// than the router's own wait for a call's (a transfer, a monitor).
const remoteOpWait = 15 * time.Second

// onApp runs op on app's router, here or in the process that runs it.
func (a *App) onApp(ctx context.Context, app string, op deskOp) (string, error) {
	if r := a.localRouter(app); r != nil {
		return op.run(ctx, r)
	}
	body, err := json.Marshal(op)
	if err != nil {
		return "", fmt.Errorf("app: %s by operator %s: %w", op.Op, op.Agent, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		// A reply lost with its instance must not hold the caller.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, remoteOpWait)
		defer cancel()
	}
	b, err := a.fleet.Request(ctx, app, body)
	if err != nil {
		if errors.Is(err, fleet.ErrNoReceiver) {
			return "", fmt.Errorf("app: %s by operator %s: the instance holding the call (%s) is being taken over, try again: %w", op.Op, op.Agent, app, router.ErrNoCall)
		}
		return "", fmt.Errorf("app: %s by operator %s on %s: %w", op.Op, op.Agent, app, err)
	}
	var rep deskReply
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("app: %s by operator %s on %s: undecodable reply: %w", op.Op, op.Agent, app, err)
	}
	if rep.Error != "" {
		return "", &remoteError{msg: rep.Error, is: remoteErrors[rep.Is]}
	}
	return rep.Result, nil
}

// answer runs a deskOp another instance sent to r and replies.
func (a *App) answer(ctx context.Context, r *router.Router, m fleet.Message) {
	var op deskOp
	var rep deskReply
	if err := json.Unmarshal(m.Body, &op); err != nil {
		rep.Error = fmt.Sprintf("app: undecodable desk operation: %v", err)
	} else {
		res, err := op.run(ctx, r)
		rep.Result = res
		if err != nil {
			rep.Error = err.Error()
			for name, e := range remoteErrors {
				if errors.Is(err, e) {
					rep.Is = name
				}
			}
		}
	}
	b, _ := json.Marshal(rep) // strings only: never fails
	if err := m.Reply(ctx, b); err != nil {
		a.log.Warn("fleet: reply to a desk operation lost", zap.String("agent", op.Agent), zap.Error(err))
	}
}

// onCall runs op on the router holding agent's call (their own router when
// they have none: it says so).
func (a *App) onCall(ctx context.Context, op deskOp) (string, error) {
	app := a.router.App()
	if e, ok := a.card(op.Agent); ok {
		app = e.App
	}
	return a.onApp(ctx, app, op)
}

// calls is the operators' presence and calls as the desktop changes them:
// presence is Redis's (any router), a call is its holder's.
type calls struct {
	*router.Router // presence: Login, Pause, WrapUpDone, ...
	a              *App
}

func (c calls) Card(agentID string) (router.Card, bool) {
	e, ok := c.a.card(agentID)
	return e.Card, ok
}

func (c calls) TransferToService(ctx context.Context, agentID, serviceID string) error {
	_, err := c.a.onCall(ctx, deskOp{Op: opTransferService, Agent: agentID, Target: serviceID})
	return err
}

func (c calls) TransferToTopic(ctx context.Context, agentID, topicID string) error {
	_, err := c.a.onCall(ctx, deskOp{Op: opTransferTopic, Agent: agentID, Target: topicID})
	return err
}

func (c calls) ConsultService(ctx context.Context, agentID, serviceID string) error {
	_, err := c.a.onCall(ctx, deskOp{Op: opConsult, Agent: agentID, Target: serviceID})
	return err
}

func (c calls) CompleteConsult(ctx context.Context, agentID string) error {
	_, err := c.a.onCall(ctx, deskOp{Op: opComplete, Agent: agentID})
	return err
}

func (c calls) CancelConsult(ctx context.Context, agentID string) error {
	_, err := c.a.onCall(ctx, deskOp{Op: opCancel, Agent: agentID})
	return err
}

// MarkCallback runs on the router that held the operator's last
// conversation: this process's own when the board knows none.
func (c calls) MarkCallback(ctx context.Context, agentID, reason string) (string, error) {
	op := deskOp{Op: opMarkCallback, Agent: agentID, Target: reason}
	app, err := c.a.board.LastApp(ctx, agentID)
	if err != nil || app == "" {
		return op.run(ctx, c.a.router)
	}
	return c.a.onApp(ctx, app, op)
}
