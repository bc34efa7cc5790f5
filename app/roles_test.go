package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// caller is one way of making API requests: no credential, a person's
// session, or the machine token.
type caller struct {
	name string
	do   func(method, path, body string) int
}

// roleCallers signs in operators 1001 and 1002, supervisor sup1 and
// admin adm1, and adds the anonymous and the machine token.
func roleCallers(h *harness) []caller {
	session := func(id string) func(method, path, body string) int {
		b := h.browser()
		b.signIn(id, deskSecrets["HOTLINE_SECRET_"+strings.ToUpper(id)])
		return func(method, path, body string) int { return b.api(method, path, body) }
	}
	plain := func(token string) func(method, path, body string) int {
		return func(method, path, body string) int {
			req, _ := http.NewRequest(method, "http://"+h.app.HTTPAddr()+path, strings.NewReader(body))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				h.t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	return []caller{
		{"none", plain("")}, {"operator 1001", session("1001")}, {"operator 1002", session("1002")},
		{"supervisor", session("sup1")}, {"admin", session("adm1")}, {"token", plain(testToken)},
	}
}

// api sends an API request with the session and its CSRF token.
func (b *browser) api(method, path, body string) int {
	req, _ := http.NewRequest(method, b.url(path), strings.NewReader(body))
	req.Header.Set("X-CSRF-Token", b.csrf)
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func withStaff(cfg *config.Config) {
	cfg.Staff = []config.StaffMember{{ID: "sup1", Name: "Supervisor", Role: config.RoleSupervisor, Phone: supervisor}, {ID: "adm1", Name: "Admin", Role: config.RoleAdmin}}
}

// Every API route × every role: 401 without a credential, 403 for a role
// below the route's or another operator's id, and a refusal changes
// nothing (1001's state is what the last allowed request made it).
func TestAPIRoleMatrix(t *testing.T) {
	cfg := testConfig(t)
	withStaff(cfg)
	// Reload counts the reloads that got past the role check: a refused
	// caller must reload nothing.
	var h *harness
	var reloads atomic.Int32
	h = newHarnessTweaked(t, cfg, emulator.Options{}, nil, func(o *app.Options) {
		withDeskSecrets(o)
		o.Reload = func(ctx context.Context) (string, error) {
			reloads.Add(1)
			return "same config", h.app.Reload(ctx, cfg)
		}
	})
	callers := roleCallers(h)
	type row struct {
		method, path, body string
		want               [6]int // none, op 1001, op 1002, supervisor, admin, token
		stateAfter         string // 1001's state after the row ("" unchecked)
	}
	const ok, unauth, forbid, conflict = 200, 401, 403, 409
	// A callback owed, for the supervisor to move (its due time is minutes
	// away: it waits in no queue meanwhile).
	owed, _, err := h.cbs.Schedule(context.Background(), callbacks.Request{RawNumber: "+79009200001", Topic: "testing",
		Reason: callbacks.ReasonAbandoned, SourceCallID: "roles"}, callbacks.Rules{Delays: []time.Duration{time.Hour}, Numbers: callbacks.NumberRules{CountryCode: "7"}}, h.now())
	if err != nil {
		t.Fatal(err)
	}
	// callbackNow is what a refused request must leave as it was.
	callbackNow := func() string {
		cb := h.callback(owed.ID)
		return fmt.Sprintf("%s in %s, %d events", cb.Status, cb.Topic, len(cb.History))
	}
	rows := []row{
		{"POST", "/api/v1/agents/1001/login", "", [6]int{unauth, ok, forbid, ok, ok, ok}, "ready"},
		{"POST", "/api/v1/agents/1001/pause", `{"reason":"lunch"}`, [6]int{unauth, ok, forbid, ok, ok, ok}, "paused"},
		{"POST", "/api/v1/agents/1001/ready", "", [6]int{unauth, ok, forbid, ok, ok, ok}, "ready"},
		{"POST", "/api/v1/agents/1001/callback", `{"reason":"x"}`, [6]int{unauth, conflict, forbid, conflict, conflict, conflict}, "ready"},
		{"POST", "/api/v1/agents/1001/logout", "", [6]int{unauth, ok, forbid, ok, ok, ok}, "offline"},
		{"GET", "/api/v1/agents", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/queues", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/records", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/records?topic=testing&limit=10", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/report?from=2026-12-01&to=2026-12-02&by=hour", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/callbacks", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"POST", "/api/v1/callbacks/42/cancel", "", [6]int{unauth, forbid, forbid, 404, 404, 404}, ""},
		{"POST", "/api/v1/callbacks/42/now", "", [6]int{unauth, forbid, forbid, 404, 404, 404}, ""},
		{"POST", "/api/v1/callbacks/42/move", `{"topic":"general"}`, [6]int{unauth, forbid, forbid, 404, 404, 404}, ""},
		{"POST", "/api/v1/callbacks/" + owed.ID + "/move", `{"topic":"general"}`, [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"POST", "/api/v1/agents/1001/monitor", `{"endpoint":"PJSIP/1901","mode":"listen"}`, [6]int{unauth, forbid, forbid, conflict, conflict, conflict}, ""},
		{"POST", "/api/v1/monitors/m1/stop", "", [6]int{unauth, forbid, forbid, 404, 404, 404}, ""},
		{"GET", "/api/v1/recordings", "", [6]int{unauth, forbid, forbid, ok, ok, ok}, ""},
		{"GET", "/api/v1/recordings/nope", "", [6]int{unauth, forbid, forbid, 404, 404, 404}, ""},
		{"POST", "/api/v1/config/reload", "", [6]int{unauth, forbid, forbid, forbid, ok, ok}, ""},
		{"GET", "/api/v1/cases.csv", "", [6]int{unauth, forbid, forbid, forbid, ok, ok}, ""},
		{"GET", "/api/v1/cases.csv?from=2026-12-01&to=2026-12-02", "", [6]int{unauth, forbid, forbid, forbid, ok, ok}, ""},
		{"GET", "/healthz", "", [6]int{ok, ok, ok, ok, ok, ok}, ""},
	}
	for _, r := range rows {
		for i, c := range callers {
			cbBefore := callbackNow()
			// Operator 1001's own request (the second caller) sets the row's
			// state; a refusal after it must leave that state alone.
			if got := c.do(r.method, r.path, r.body); got != r.want[i] {
				t.Errorf("%s %s as %s: %d, want %d", r.method, r.path, c.name, got, r.want[i])
			}
			if after := callbackNow(); r.want[i] != ok && after != cbBefore {
				t.Errorf("%s %s refused for %s changed callback %s: %s, was %s", r.method, r.path, c.name, owed.ID, after, cbBefore)
			}
			if r.stateAfter != "" && r.want[i] != ok && i > 1 {
				if st := string(h.state("1001")); st != r.stateAfter {
					t.Errorf("%s %s refused for %s changed 1001 to %s", r.method, r.path, c.name, st)
				}
			}
		}
		if r.stateAfter != "" {
			if st := string(h.state("1001")); st != r.stateAfter {
				t.Errorf("after %s %s: 1001 is %s, want %s", r.method, r.path, st, r.stateAfter)
			}
		}
	}
	// The supervisor moved it (the admin's and the token's moves to where
	// it is were no-ops), under the supervisor's name.
	if cb := h.callback(owed.ID); cb.Topic != "general" || cb.Status != callbacks.StatusScheduled {
		t.Errorf("the callback after the moves: %s in %s, want scheduled in general", cb.Status, cb.Topic)
	} else if last := cb.History[len(cb.History)-1]; last.Kind != "moved_topic" || last.Who != "sup1" {
		t.Errorf("its last event %+v, want the move by sup1", last)
	}
	if n := reloads.Load(); n != 2 {
		t.Errorf("%d reloads, want 2: the admin's and the token's", n)
	}
	// A session's state change without its CSRF token is refused.
	b := h.browser()
	b.signIn("sup1", "secret-of-sup1")
	b.csrf = "forged"
	if got := b.api("POST", "/api/v1/agents/1001/login", ""); got != unauth || h.state("1001") != "offline" {
		t.Errorf("supervisor's session without the CSRF token: %d, 1001 %s", got, h.state("1001"))
	}
}
