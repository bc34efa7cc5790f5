package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/api"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/desk"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/queue"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/report"
	"github.com/hotline-acd/hotline/router"
	"github.com/hotline-acd/hotline/wallboard"
)

// boardSource computes the wallboard from Redis: the queues and operators
// as they are, today's records, and the callbacks owed.
type boardSource struct{ a *App }

func (b boardSource) Board(ctx context.Context) (wallboard.Board, error) {
	a := b.a
	cfg := a.router.Config()
	now := a.opt.Now()
	loc := cfg.Hours.Location
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	board := wallboard.Board{At: local}
	today, err := todayReport(ctx, a, dayStart)
	if err != nil {
		return board, err
	}
	ids := make([]string, 0, len(cfg.Topics))
	for id := range cfg.Topics {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t := cfg.Topics[id]
		row := wallboard.Topic{ID: id, Name: t.Name, TargetPercent: t.ServiceLevel.Percent, TargetWithin: t.ServiceLevel.Within.D()}
		if row.Waiting, err = a.state.queue.Len(ctx, id); err != nil {
			return board, err
		}
		if first, err := a.state.queue.List(ctx, id, 1); err == nil && len(first) > 0 && !first[0].EnqueuedAt.IsZero() {
			row.OldestWait = now.Sub(first[0].EnqueuedAt)
		} else if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return board, err
		}
		// Today's numbers are the report's (GET /api/v1/report): one
		// definition of offered, answered and service level everywhere.
		if r, ok := today[id]; ok {
			row.Offered, row.Answered, row.Abandoned, row.AnsweredInTarget = r.Offered, r.Answered, r.Abandoned, r.AnsweredWithin
			if r.ASASeconds != nil {
				row.ASA = time.Duration(*r.ASASeconds * float64(time.Second))
			}
			if r.AHTSeconds != nil {
				row.AHT = time.Duration(*r.AHTSeconds * float64(time.Second))
			}
		}
		board.Topics = append(board.Topics, row)
	}
	if board.History, err = history(ctx, a, now, loc); err != nil {
		return board, err
	}
	ags, err := a.state.agents.List(ctx)
	if err != nil {
		return board, err
	}
	for _, ag := range ags {
		board.Operators = append(board.Operators, wallboard.Operator{ID: ag.ID, Name: ag.Name, State: string(ag.State), Reason: ag.Reason, Since: ag.Since.In(loc)})
	}
	counts, err := a.cbs.store.Counts(ctx)
	if err != nil {
		return board, err
	}
	board.Callbacks = wallboard.Callbacks{Pending: counts.Pending, Due: counts.Queued + counts.Promoting + counts.InFlight, Unreached: counts.Unreached}
	open, err := a.cbs.store.List(ctx, callbacks.Filter{}, 50)
	if err != nil {
		return board, err
	}
	for _, c := range open {
		name := c.Topic
		if t, ok := cfg.Topic(c.Topic); ok && t.Name != "" {
			name = t.Name
		}
		board.Pending = append(board.Pending, wallboard.Callback{ID: c.ID, Topic: c.Topic, TopicName: name, Status: string(c.Status),
			Number: desk.Mask(c.Number, cfg.Desk.NumberMask), Due: c.DueAt.In(loc), Attempts: c.Tries, Reasons: c.Reasons})
	}
	return board, nil
}

// todayReport is today's report by topic, from the records written since
// the day began.
func todayReport(ctx context.Context, a *App, dayStart time.Time) (map[string]report.Row, error) {
	recs, err := recordsSince(ctx, a.state.records, dayStart)
	if err != nil {
		return nil, err
	}
	rep, err := report.Compute(report.Request{From: dayStart, To: dayStart.Add(24 * time.Hour), By: report.Day}, report.FromConfig(a.router.Config()), recs)
	if err != nil {
		return nil, err
	}
	out := map[string]report.Row{}
	for _, r := range rep.Rows {
		out[r.Topic] = r
	}
	return out, nil
}

// callsSince are the inbound calls that reached a queue since from, by
// topic, from the records stream (whose ids are the write times in ms).
func callsSince(ctx context.Context, s *records.Stream, from time.Time) (map[string][]records.Record, error) {
	recs, err := recordsSince(ctx, s, from)
	if err != nil {
		return nil, err
	}
	out := map[string][]records.Record{}
	for _, r := range recs {
		if r.Topic == "" || r.EnqueuedAt.IsZero() || strings.HasPrefix(r.CallID, "cb-") || strings.HasPrefix(r.CallID, "audit-") {
			continue
		}
		out[r.Topic] = append(out[r.Topic], r)
	}
	return out, nil
}

// recordsSince are the records written since from, a page at a time.
func recordsSince(ctx context.Context, s *records.Stream, from time.Time) ([]records.Record, error) {
	var out []records.Record
	start := strconv.FormatInt(from.UnixMilli(), 10)
	for {
		page, err := s.Range(ctx, start, "+", 1000)
		if err != nil {
			return nil, fmt.Errorf("wallboard: records since %s: %w", from.Format(time.RFC3339), err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		start = "(" + page[len(page)-1].ID
	}
}

// boardActions are the supervisor's actions from the board.
type boardActions struct{ a *App }

func (b boardActions) CancelCallback(ctx context.Context, id, who string) error {
	return boardRefusal(b.a.callbackAPI().CancelCallback(ctx, id, who))
}

func (b boardActions) CallbackNow(ctx context.Context, id, who string) error {
	return boardRefusal(b.a.callbackAPI().CallbackNow(ctx, id, who))
}

func (b boardActions) MoveCallback(ctx context.Context, id, topic, who string) error {
	return boardRefusal(b.a.callbackAPI().MoveCallback(ctx, id, topic, who))
}

func (b boardActions) Pause(ctx context.Context, agentID, reason string) error {
	return boardRefusal(b.a.router.Pause(ctx, agentID, reason))
}

func (b boardActions) Logout(ctx context.Context, agentID string) error {
	return boardRefusal(b.a.router.Logout(ctx, agentID))
}

// boardRefusal marks err with the wallboard's reason, for its page to say
// it in the supervisor's language.
func boardRefusal(err error) error {
	for _, m := range []struct{ from, to error }{
		{callbacks.ErrNotFound, wallboard.ErrGone},
		{router.ErrUnknownAgent, wallboard.ErrGone},
		{callbacks.ErrBusy, wallboard.ErrCallbackBusy},
		{callbacks.ErrClosed, wallboard.ErrCallbackClosed},
		{callbacks.ErrDuplicate, wallboard.ErrCallbackTaken},
		{agents.ErrUnknown, wallboard.ErrGone},
		{agents.ErrBadTransition, wallboard.ErrOperatorState},
		{dispatch.ErrBadTransition, wallboard.ErrOperatorState},
		{router.ErrRefused, wallboard.ErrOperatorState},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return err
}

// historySteps and historyStep are the board's history: the last four
// hours in ten-minute steps.
const (
	historySteps = 24
	historyStep  = 10 * time.Minute
)

// history is read back from the records: a step counts the callers who
// waited at some moment of the ten minutes up to it (queued before its
// end, answered or gone after its start); the callers waiting now are
// added to the last step. Nothing is sampled, so a restart loses
// nothing.
func history(ctx context.Context, a *App, now time.Time, loc *time.Location) ([]wallboard.Point, error) {
	from := now.Add(-historySteps * historyStep)
	byTopic, err := callsSince(ctx, a.state.records, from.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	cfg := a.router.Config()
	pts := make([]wallboard.Point, historySteps+1)
	offered := make([]int, len(pts))
	within := make([]int, len(pts))
	for i := range pts {
		pts[i].At = from.Add(time.Duration(i) * historyStep).In(loc)
	}
	for topic, recs := range byTopic {
		target := time.Duration(0)
		if t, ok := cfg.Topic(topic); ok {
			target = t.ServiceLevel.Within.D()
		}
		for _, r := range recs {
			left := r.EndedAt
			if !r.AnsweredAt.IsZero() {
				left = r.AnsweredAt
			}
			for i := range pts {
				at := pts[i].At
				if r.EnqueuedAt.Before(at) && left.After(at.Add(-historyStep)) {
					pts[i].Waiting++
				}
			}
			if i := int(r.EndedAt.Sub(from) / historyStep); i >= 0 && i < len(pts) {
				offered[i]++
				if !r.AnsweredAt.IsZero() && target > 0 && r.Wait <= target {
					within[i]++
				}
			}
		}
	}
	for i := range pts {
		pts[i].ServiceLevel = -1
		if offered[i] > 0 {
			pts[i].ServiceLevel = 100 * float64(within[i]) / float64(offered[i])
		}
	}
	for id := range cfg.Topics {
		n, err := a.state.queue.Len(ctx, id)
		if err != nil {
			return nil, err
		}
		pts[len(pts)-1].Waiting += n
	}
	return pts, nil
}

// boardMonitoring is listening and whispering from the wallboard: the
// same router calls as the API's monitor routes (supervision), with the
// refusals named for the page, and the monitors running with whose phone
// each rings.
type boardMonitoring struct{ a *App }

func (b boardMonitoring) Monitor(ctx context.Context, phone, agent, mode string) (string, error) {
	id, err := supervision(b).Monitor(ctx, phone, agent, mode)
	switch {
	case errors.Is(err, router.ErrNoCall):
		return "", fmt.Errorf("%w: %w", wallboard.ErrNotTalking, err)
	case errors.Is(err, router.ErrMonitored):
		if slices.ContainsFunc(b.a.monitors(), func(m router.MonitorInfo) bool { return m.Supervisor == phone }) {
			return "", fmt.Errorf("%w: %w", wallboard.ErrPhoneBusy, err)
		}
		return "", fmt.Errorf("%w: %w", wallboard.ErrMonitored, err)
	}
	return id, err
}

func (b boardMonitoring) StopMonitor(ctx context.Context, id string) error {
	_, _, err := supervision(b).StopMonitor(ctx, id)
	if errors.Is(err, router.ErrNoMonitor) {
		return fmt.Errorf("%w: %w", wallboard.ErrNoMonitor, err)
	}
	return err
}

func (b boardMonitoring) Monitors() []wallboard.Monitor {
	staff := b.a.router.Config().Staff
	var out []wallboard.Monitor
	for _, m := range b.a.monitors() {
		by := m.Supervisor // rung over the API to a phone no staff member has
		for _, st := range staff {
			if st.Phone == m.Supervisor {
				by = st.Name
			}
		}
		out = append(out, wallboard.Monitor{ID: m.ID, Agent: m.Agent, Mode: m.Mode, Phone: m.Supervisor, By: by, Answered: m.Answered})
	}
	return out
}

// supervision is the router's listening, whispering and recordings for
// the API (and, through boardMonitoring, the wallboard).
type supervision struct{ a *App }

// Monitor rings endpoint into agent's conversation on the router holding
// it, whichever instance that is; a phone in a monitor on any instance is
// refused, as the router refuses one in its own.
func (s supervision) Monitor(ctx context.Context, endpoint, agent, mode string) (string, error) {
	for _, m := range s.a.monitors() {
		if m.Supervisor == endpoint {
			return "", fmt.Errorf("app: monitor of operator %s: %s is in another monitor already, of operator %s (%s): %w", agent, endpoint, m.Agent, m.ID, router.ErrMonitored)
		}
	}
	return s.a.onCall(ctx, deskOp{Op: opMonitor, Agent: agent, Target: endpoint, Mode: mode})
}

// StopMonitor stops monitor id on the router running it.
func (s supervision) StopMonitor(ctx context.Context, id string) (agent, endpoint string, err error) {
	app := s.a.router.App()
	e, ok := s.a.monitorEntries()[id]
	if ok {
		app = e.App
	}
	if _, err := s.a.onApp(ctx, app, deskOp{Op: opStopMonitor, Target: id}); err != nil {
		if errors.Is(err, router.ErrNoMonitor) {
			err = fmt.Errorf("%w: %w", api.ErrNotFound, err)
		}
		return "", "", err
	}
	return e.Monitor.Agent, e.Monitor.Supervisor, nil
}

func (s supervision) Recordings(ctx context.Context) (any, error) { return s.a.router.Recordings(ctx) }

func (s supervision) RecordingFile(ctx context.Context, name string) (io.ReadCloser, error) {
	f, err := s.a.router.RecordingFile(ctx, name)
	if errors.Is(err, router.ErrNoRecording) {
		return nil, fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return f, err
}
