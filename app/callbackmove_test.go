package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/queue"
)

// entry is where a callback's entry in the topic queues stands.
func (h *harness) entry(id string) queue.Position {
	h.t.Helper()
	p, err := queue.New(h.rdb, h.cfg.Centre.ID, time.Minute).Position(context.Background(), callbacks.CallIDPrefix+id)
	if err != nil && !errors.Is(err, queue.ErrNotFound) {
		h.t.Fatal(err)
	}
	return p
}

// A supervisor moves a callback waiting in testing's queue to general over
// the API: it leaves testing's queue, waits in general's at its place, is
// not offered to an operator of testing only, and general's operator
// calls the citizen back. Unknown topics and callbacks are refused.
func TestSupervisorMovesAQueuedCallback(t *testing.T) {
	h := newHarness(t, callbackConfig(t, 0))
	h.withTrunk()
	answer := emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 100 * time.Millisecond}
	_, first := h.abandonAfterMinimum(emulator.Caller{Number: "79009100001", AnswerCallbacks: &answer})
	id := first.Callback
	if id == "" {
		t.Fatal("no callback for the abandon")
	}
	h.eventually("the callback waiting in testing", func() bool {
		p := h.entry(id)
		return h.callback(id).Status == callbacks.StatusQueued && p.State == queue.StateWaiting && p.Topic == "testing"
	})
	path := "/api/v1/callbacks/" + id + "/move"
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{path, `{"topic":"nowhere"}`, 422},
		{path, `{"topic":"general","extra":1}`, 400},
		{path, `{}`, 400},
		{"/api/v1/callbacks/nope/move", `{"topic":"general"}`, 404},
	} {
		if code, body := h.api("POST", tc.path, tc.body); code != tc.want {
			t.Errorf("POST %s %s: %d %s, want %d", tc.path, tc.body, code, body, tc.want)
		}
	}
	if cb, p := h.callback(id), h.entry(id); cb.Topic != "testing" || p.Topic != "testing" {
		t.Fatalf("a refused move changed the callback (%s) or its entry (%+v)", cb.Topic, p)
	}
	if code, body := h.api("POST", path, `{"topic":"general"}`); code != 200 {
		t.Fatalf("move: %d %s", code, body)
	}
	h.eventually("the callback waiting in general", func() bool {
		p := h.entry(id)
		return h.callback(id).Status == callbacks.StatusQueued && p.State == queue.StateWaiting && p.Topic == "general"
	})
	if !first.EnqueuedAt.IsZero() && !h.entry(id).QueueTime.Equal(first.EnqueuedAt) {
		t.Errorf("in general at %s, the citizen first queued at %s", h.entry(id).QueueTime, first.EnqueuedAt)
	}
	if code, body := h.api("POST", path, `{"topic":"general"}`); code != 200 {
		t.Errorf("the same move again: %d %s", code, body)
	}
	// 1003 takes testing, not general: logged in, nothing is offered.
	h.login("PJSIP/1003")
	if st := h.state("1003"); st != agents.Ready || len(h.emu.Originations("PJSIP/1003")) != 0 {
		t.Fatalf("testing's operator is %s, rung %d times, for a callback moved to general", st, len(h.emu.Originations("PJSIP/1003")))
	}
	h.login("PJSIP/1002") // general
	h.eventually("the citizen called back", func() bool { return h.callback(id).Status == callbacks.StatusReached })
	cb := h.callback(id)
	if cb.Topic != "general" || cb.AgentID != "1002" {
		t.Errorf("reached in %s by %s, want general by 1002", cb.Topic, cb.AgentID)
	}
	if code, body := h.api("POST", path, `{"topic":"testing"}`); code != 409 {
		t.Errorf("moving a reached callback: %d %s, want 409", code, body)
	}
	moves := 0
	for _, r := range h.records() {
		if r.Callback == id && r.Outcome == "callback_moved_topic" {
			moves++
			if r.Topic != "general" || !strings.Contains(r.Note, "from testing") || !strings.Contains(r.Note, "by api-token") {
				t.Errorf("the move's audit: topic %s, note %q", r.Topic, r.Note)
			}
		}
		if strings.HasPrefix(r.CallID, "cb-"+id+"-a") && (r.Topic != "general" || r.Agent != "1002") {
			t.Errorf("attempt %s in %s by %s", r.CallID, r.Topic, r.Agent)
		}
	}
	if moves != 1 {
		t.Errorf("%d moves in the records, want 1", moves)
	}
}
