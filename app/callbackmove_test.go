package app_test

import (
	"context"
	"errors"
	"net/url"
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

// A supervisor moves a callback from the wallboard: the row offers the
// configured topics, the form posts with the page's CSRF token, and the
// board comes back with the callback in its new topic. Without the token,
// as an operator, or naming no or an unknown topic, nothing changes.
func TestWallboardMovesACallback(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	withStaff(cfg)
	h := newHarnessTweaked(t, cfg, emulator.Options{}, nil, withDeskSecrets)
	cb, _, err := h.cbs.Schedule(context.Background(), callbacks.Request{RawNumber: "+79009300001", Topic: "testing",
		Reason: callbacks.ReasonAbandoned, SourceCallID: "wb"}, callbacks.Rules{Delays: []time.Duration{time.Hour}, Numbers: callbacks.NumberRules{CountryCode: "7"}}, h.now())
	if err != nil {
		t.Fatal(err)
	}
	sup := h.browser()
	sup.signIn("sup1", "secret-of-sup1")
	_, page := sup.get("/wallboard")
	sel := `<select name="topic" id="cb-move-` + cb.ID + `"`
	// The topics by their names, as the rest of the wallboard shows them.
	if !strings.Contains(page, sel) || !strings.Contains(page, `<option value="testing" selected>`+cfg.Topics["testing"].Name+`</option>`) ||
		!strings.Contains(page, `<option value="general">`+cfg.Topics["general"].Name+`</option>`) {
		t.Fatalf("the wallboard offers no move to the configured topics for %s:\n%s", cb.ID, page)
	}
	op := h.browser()
	op.signIn("1001", "secret-of-1001")
	path := "/wallboard/callbacks/" + cb.ID + "/move"
	for _, tc := range []struct {
		who          *browser
		form         url.Values
		withoutToken bool
		want         int
	}{
		{sup, url.Values{"topic": {"general"}}, true, 403},
		{op, url.Values{"topic": {"general"}}, false, 403},
		{sup, url.Values{}, false, 400},
		{sup, url.Values{"topic": {"gen eral"}}, false, 400},
		{sup, url.Values{"topic": {"nowhere"}}, false, 409},
	} {
		if code, body := tc.who.post(path, tc.form, tc.withoutToken); code != tc.want {
			t.Errorf("move %v (without token %v): %d %s, want %d", tc.form, tc.withoutToken, code, body, tc.want)
		}
		if got := h.callback(cb.ID); got.Topic != "testing" || len(got.History) != len(cb.History) {
			t.Fatalf("a refused move changed the callback: %s, %d events", got.Topic, len(got.History))
		}
	}
	code, board := sup.post(path, url.Values{"topic": {"general"}}, false)
	general, _ := h.cfg.Topic("general")
	row := `<tr data-callback="` + cb.ID + `"><td>` + cb.ID + `</td><td class="topic" data-topic="general">` + general.Name + `</td>`
	if code != 200 || !strings.Contains(board, row) {
		t.Fatalf("move from the wallboard: %d, the board has no %q:\n%s", code, row, board)
	}
	if got := h.callback(cb.ID); got.Topic != "general" || got.History[len(got.History)-1].Who != "sup1" {
		t.Fatalf("after the wallboard's move: %s, last event %+v", got.Topic, got.History[len(got.History)-1])
	}
	audited := false
	for _, r := range h.records() {
		audited = audited || (r.Callback == cb.ID && r.Outcome == "callback_moved_topic" && strings.Contains(r.Note, "by sup1"))
	}
	if !audited {
		t.Error("the wallboard's move is not in the records under the supervisor's id")
	}

	// A refusal is said in the supervisor's language, not in the store's
	// English.
	if code, _ := sup.post("/wallboard/language", url.Values{"lang": {"kk"}}, false); code != 200 && code != 204 {
		t.Fatalf("switching the wallboard to Kazakh: %d", code)
	}
	cancel := "/wallboard/callbacks/" + cb.ID + "/cancel"
	if code, body := sup.post(cancel, nil, false); code != 200 {
		t.Fatalf("cancel from the wallboard: %d %s", code, body)
	}
	code, body := sup.post(cancel, nil, false)
	if want := "Орындалмады: бұл кері қоңырау жабылған."; code != 409 || !strings.Contains(body, want) || strings.Contains(body, "callbacks:") {
		t.Fatalf("second cancel: %d %s, want 409 saying %q", code, body, want)
	}
	if code, body := sup.post("/wallboard/callbacks/no-such/now", nil, false); code != 409 || !strings.Contains(body, "Орындалмады: ол енді жоқ.") {
		t.Fatalf("call-now of no callback: %d %s", code, body)
	}
}
