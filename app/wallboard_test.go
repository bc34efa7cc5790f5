package app_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

var stopRe = regexp.MustCompile(`hx-post="/wallboard/monitors/(mon-[^/"]+)/stop"`)

// auditEntry waits for the audit entry of action on agent by actor and
// returns it.
func (h *harness) auditEntry(agent, action, actor string) records.Record {
	h.t.Helper()
	var got records.Record
	h.eventually("audit "+action+" of "+agent+" by "+actor, func() bool {
		for _, r := range h.records() {
			if r.CallID == "audit-"+agent && r.Outcome == "audit_"+action && strings.Contains(r.Note, " "+actor+" ") {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// Listening and whispering from the wallboard ring the signed-in
// supervisor's own phone (staff: phone:) through the router's monitor,
// as the API does: without the CSRF token, for an operator, and for an
// admin without a phone nothing rings; Listen snoops both ways and
// whispers nothing, the board shows the monitor with Stop, the audit
// names the supervisor and their phone; the API cannot ring a second
// phone into the monitored conversation; Stop hangs the supervisor up
// and the conversation goes on; Whisper whispers to the operator alone
// and ends with the call.
func TestWallboardListenAndWhisper(t *testing.T) {
	cfg := testConfig(t)
	withStaff(cfg)
	h := newHarnessTweaked(t, cfg, emulator.Options{}, nil, withDeskSecrets)
	h.withSupervisor()
	h.login("PJSIP/1001")
	c, opLeg := h.talking("79001234567", "PJSIP/1001")

	sup, adm, op := h.browser(), h.browser(), h.browser()
	sup.signIn("sup1", "secret-of-sup1")
	adm.signIn("adm1", "secret-of-adm1")
	op.signIn("1001", "secret-of-1001")
	if _, page := sup.get("/wallboard"); !strings.Contains(page, `hx-post="/wallboard/operators/1001/listen"`) ||
		!strings.Contains(page, `hx-post="/wallboard/operators/1001/whisper"`) || strings.Contains(page, `disabled aria-describedby`) {
		t.Fatalf("the board of a supervisor with a phone, 1001 talking: %s", page)
	}
	if _, page := adm.get("/wallboard"); !strings.Contains(page, `disabled aria-describedby="mon-no-phone"`) || !strings.Contains(page, `id="mon-no-phone"`) {
		t.Errorf("the board of an admin without a phone: %s", page)
	}
	if code, _ := sup.post("/wallboard/operators/1001/listen", nil, true); code != http.StatusForbidden {
		t.Errorf("listen without the CSRF token: %d", code)
	}
	if code, _ := op.post("/wallboard/operators/1001/listen", nil, false); code != http.StatusForbidden {
		t.Errorf("an operator's listen: %d", code)
	}
	if code, body := adm.post("/wallboard/operators/1001/listen", nil, false); code != http.StatusConflict || !strings.Contains(body, "give your own phone (phone:)") {
		t.Errorf("an admin without a phone: %d %q", code, body)
	}
	if n := len(h.emu.Originations(supervisor)); n != 0 || len(h.app.Router().ActiveMonitors()) != 0 {
		t.Fatalf("refused requests rang the supervisor %d times", n)
	}

	code, body := sup.post("/wallboard/operators/1001/listen", nil, false)
	m := stopRe.FindStringSubmatch(body)
	if code != 200 || m == nil || !strings.Contains(body, "Ringing your phone "+supervisor) {
		t.Fatalf("listen: %d %s", code, body)
	}
	leg := h.supervisorLeg()
	if s := h.monitoring(opLeg, leg); s.Spy != "both" || s.Whisper != "none" {
		t.Fatalf("listen snoop %+v", s)
	}
	if peerOf(c) != opLeg {
		t.Fatalf("the citizen is bridged with %q, want the operator's leg alone", peerOf(c))
	}
	h.eventually("the board says sup1 listens, answered", func() bool {
		_, page := sup.get("/wallboard")
		return strings.Contains(page, "listened to by Supervisor</span>") && stopRe.MatchString(page)
	})
	if _, page := adm.get("/wallboard"); stopRe.MatchString(page) || !strings.Contains(page, "listened to by Supervisor") {
		t.Errorf("another's board shows the monitor without Stop: %s", page)
	}
	if a := h.auditEntry("1001", "monitor_listen", "sup1"); !strings.Contains(a.Note, "by supervisor sup1 "+supervisor+" from the wallboard") {
		t.Errorf("audit note %q", a.Note)
	}
	if code, body := h.api("POST", "/api/v1/agents/1001/monitor", `{"endpoint":"PJSIP/1902","mode":"whisper"}`); code != http.StatusConflict || !strings.Contains(body, "monitored already by "+supervisor) {
		t.Errorf("a second phone into the conversation over the API: %d %s", code, body)
	}
	if code, _ := adm.post("/wallboard/monitors/"+m[1]+"/stop", nil, false); code != http.StatusForbidden {
		t.Errorf("another's stop: %d", code)
	}
	if code, body := sup.post("/wallboard/monitors/"+m[1]+"/stop", nil, false); code != 200 || stopRe.MatchString(body) {
		t.Fatalf("stop: %d %s", code, body)
	}
	h.waitClosed(leg.Ended(), "the supervisor's leg hung up")
	h.eventually("the snoop channel gone", func() bool { return len(h.emu.Snoops()) == 0 })
	h.auditEntry("1001", "monitor_stop", "sup1")
	if peerOf(c) != opLeg || c.State() != "bridged" {
		t.Fatalf("the conversation after the stop: %s with %q", c.State(), peerOf(c))
	}

	if code, body := sup.post("/wallboard/operators/1001/whisper", nil, false); code != 200 || !strings.Contains(body, "pick up to whisper to") {
		t.Fatalf("whisper: %d %s", code, body)
	}
	leg = h.supervisorLeg()
	if s := h.monitoring(opLeg, leg); s.Spy != "both" || s.Whisper != "out" {
		t.Fatalf("whisper snoop %+v", s)
	}
	h.auditEntry("1001", "monitor_whisper", "sup1")
	c.Hangup()
	h.waitClosed(leg.Ended(), "the supervisor's leg hung up with the call")
	h.eventually("the board without the monitor or buttons", func() bool {
		_, page := sup.get("/wallboard")
		return !stopRe.MatchString(page) && !strings.Contains(page, "/wallboard/operators/1001/listen")
	})
	if r := h.record(c.ID()); strings.Join(r.Monitored, ",") != "listen:"+supervisor+",whisper:"+supervisor {
		t.Errorf("the call's record names monitors %v", r.Monitored)
	}
}
