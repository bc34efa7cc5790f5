package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// deskSecrets are the test operators' sign-in secrets (HOTLINE_SECRET_<ID>).
var deskSecrets = map[string]string{
	"HOTLINE_SECRET_1001": "secret-of-1001", "HOTLINE_SECRET_1002": "secret-of-1002",
	"HOTLINE_SECRET_1003": "secret-of-1003", "HOTLINE_SECRET_1004": "secret-of-1004",
	"HOTLINE_SECRET_SUP1": "secret-of-sup1", "HOTLINE_SECRET_ADM1": "secret-of-adm1",
}

func withDeskSecrets(o *app.Options) { o.Env = func(k string) string { return deskSecrets[k] } }

// browser is one operator's browser: its own cookies, and the CSRF token
// the desktop page gave it.
type browser struct {
	h    *harness
	c    *http.Client
	csrf string
	at   *app.App // the instance it talks to; nil: the harness's
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) url(path string) string {
	at := b.at
	if at == nil {
		at = b.h.app
	}
	return "http://" + at.HTTPAddr() + path
}

var csrfRe = regexp.MustCompile(`"X-CSRF-Token": "([^"]+)"`)

// signIn signs in and reads the page's CSRF token; it returns the sign-in
// answer's status.
func (b *browser) signIn(id, secret string) int {
	b.h.t.Helper()
	resp, err := b.c.PostForm(b.url("/login"), url.Values{"id": {id}, "secret": {secret}, "lang": {"en"}})
	if err != nil {
		b.h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode
	}
	code, page := b.get(resp.Header.Get("Location")) // the desktop, or a supervisor's wallboard
	m := csrfRe.FindStringSubmatch(page)
	if code != 200 || m == nil {
		b.h.t.Fatalf("page after sign-in (%s): %d, CSRF token found: %v", resp.Header.Get("Location"), code, m != nil)
	}
	b.csrf = m[1]
	return resp.StatusCode
}

func (b *browser) get(path string) (int, string) {
	b.h.t.Helper()
	resp, err := b.c.Get(b.url(path))
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post sends a form with the CSRF token unless withoutToken.
func (b *browser) post(path string, form url.Values, withoutToken bool) (int, string) {
	b.h.t.Helper()
	req, _ := http.NewRequest("POST", b.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	if !withoutToken {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// An operator signs in with their own secret and changes only their own
// state; every change needs the CSRF token; malformed requests are
// refused with a message and change nothing; another operator cannot
// dispose of their call; the session does not open the supervisors' API.
func TestDeskSignInStateAndRoles(t *testing.T) {
	h := newHarnessTweaked(t, testConfig(t), emulator.Options{}, nil, withDeskSecrets)
	anon := h.browser()
	if code, _ := anon.get("/"); code != http.StatusSeeOther {
		t.Errorf("desktop without signing in: %d, want a redirect to /login", code)
	}
	if code := anon.signIn("1001", "secret-of-1002"); code != http.StatusUnauthorized {
		t.Errorf("another operator's secret: %d", code)
	}
	for range 5 {
		anon.signIn("1003", "wrong-secret-x")
	}
	if code := anon.signIn("1003", "secret-of-1003"); code != http.StatusTooManyRequests {
		t.Errorf("after five failures the right secret: %d, want 429", code)
	}

	a, b := h.browser(), h.browser()
	a.signIn("1001", "secret-of-1001")
	b.signIn("1002", "secret-of-1002")
	if code, _ := a.post("/desk/state", url.Values{"action": {"login"}}, true); code != http.StatusForbidden || h.state("1001") != "offline" {
		t.Errorf("state change without the CSRF token: %d, state %s", code, h.state("1001"))
	}
	if code, body := a.post("/desk/state", url.Values{"action": {"login"}}, false); code != 200 || h.state("1001") != "ready" {
		t.Fatalf("log in from the desktop: %d %s, state %s", code, body, h.state("1001"))
	}
	for _, bad := range []url.Values{{"action": {"explode"}}, {"action": {"pause"}, "reason": {"nap"}}, {}} {
		if code, body := a.post("/desk/state", bad, false); code != http.StatusBadRequest || !strings.Contains(body, "unknown") || h.state("1001") != "ready" {
			t.Errorf("malformed %v: %d %q, state %s", bad, code, body, h.state("1001"))
		}
	}
	if h.state("1002") != "offline" {
		t.Errorf("1001's log-in changed 1002: %s", h.state("1002"))
	}
	// A refusal says why in the operator's words and language, not the
	// router's English.
	if code, body := a.post("/desk/transfer", url.Values{"kind": {"service"}, "target": {"ambulance"}}, false); code != http.StatusConflict ||
		!strings.Contains(body, "Not done: there is no conversation") || strings.Contains(body, "router:") {
		t.Errorf("transfer with no conversation: %d %q", code, body)
	}
	if code, body := a.post("/desk/language", url.Values{"lang": {"uk"}}, false); code >= 300 {
		t.Fatalf("switching the desktop to Ukrainian: %d %s", code, body)
	}
	if code, body := a.post("/desk/transfer", url.Values{"kind": {"complete"}}, false); code != http.StatusConflict || !strings.Contains(body, "Не виконано: розмови немає") {
		t.Errorf("completing a consult with no conversation, in Ukrainian: %d %q", code, body)
	}
	if code, body := a.post("/desk/language", url.Values{"lang": {"en"}}, false); code >= 300 {
		t.Fatalf("switching the desktop back to English: %d %s", code, body)
	}

	c := h.emu.Call(emulator.Caller{Number: "79001414141", Script: choose("2", "3")})
	h.eventually("1001 talking", func() bool { return h.state("1001") == "on_call" })
	code, card := a.get("/desk/card")
	if code != 200 || !strings.Contains(card, "*** ***-41-41") || strings.Contains(card, "79001414141") || !strings.Contains(card, `id="card-topic"`) {
		t.Errorf("1001's card: %d, want the masked number and the topic:\n%s", code, card)
	}
	if _, other := b.get("/desk/card"); strings.Contains(other, c.ID()) {
		t.Errorf("1002 sees 1001's call:\n%s", other)
	}
	callID := c.ID()
	form := url.Values{"call_id": {callID}, "code": {"consulted"}, "note": {"asked about PCR results"}}
	if code, _ := b.post("/desk/disposition", form, false); code != http.StatusForbidden {
		t.Errorf("1002 disposing of 1001's call: %d", code)
	}
	if code, _ := a.post("/desk/disposition", url.Values{"call_id": {callID}, "code": {"no-such-code"}}, false); code != http.StatusBadRequest {
		t.Errorf("unknown disposition: %d", code)
	}
	if code, body := a.post("/desk/disposition", form, false); code != 200 {
		t.Fatalf("1001's disposition: %d %s", code, body)
	}
	// Cases: a malformed one is refused with a message and registers
	// nothing; one on another operator's call is refused; one's own is
	// seen in one's own day and CSV only.
	complaint := url.Values{"call_id": {callID}, "kind": {"complaint"}, "service": {"insurer"}, "request_id": {"r1"},
		"organisation": {"Поликлиника №3"}, "category": {"rudeness"}, "text": {"Нагрубили в регистратуре"}}
	for name, bad := range map[string]url.Values{
		"no text":       with(complaint, "text", ""),
		"bad category":  with(complaint, "category", "nonsense"),
		"wrong service": with(complaint, "service", "ambulance"),
		"huge text":     with(complaint, "text", strings.Repeat("я", 4001)),
	} {
		if code, body := a.post("/desk/cases", bad, false); code != http.StatusBadRequest || body == "" {
			t.Errorf("%s: %d %q, want 400 with a message", name, code, body)
		}
	}
	if code, _ := b.post("/desk/cases", complaint, false); code != http.StatusForbidden {
		t.Errorf("1002 opening a case on 1001's call: %d", code)
	}
	code, body := a.post("/desk/cases", complaint, false)
	number := regexp.MustCompile(`K-\d{8}-\d+`).FindString(body)
	if code != 200 || number == "" {
		t.Fatalf("1001's complaint: %d %s", code, body)
	}
	if code, again := a.post("/desk/cases", complaint, false); code != 200 || !strings.Contains(again, number) {
		t.Errorf("the same form sent twice: %d %s, want the same case %s", code, again, number)
	}
	if _, day := a.get("/desk/day"); strings.Count(day, "<td>K-") != 2 || !strings.Contains(day, number) {
		t.Errorf("1001's day: want their one case %s, opened today and open (the refused forms registered none):\n%s", number, day)
	}
	if _, day := b.get("/desk/day"); strings.Contains(day, number) {
		t.Errorf("1002's day shows 1001's case %s", number)
	}
	if _, csv := b.get("/desk/cases.csv"); strings.Contains(csv, number) {
		t.Errorf("1002's CSV holds 1001's case %s", number)
	}
	if _, csv := a.get("/desk/cases.csv"); !strings.Contains(csv, number) {
		t.Errorf("1001's CSV lacks their case %s:\n%s", number, csv)
	}
	if code, _ := b.post("/desk/cases/close", url.Values{"number": {number}}, false); code != http.StatusNotFound {
		t.Errorf("1002 closing 1001's case: %d, want 404", code)
	}
	if code, day := a.post("/desk/cases/close", url.Values{"number": {number}}, false); code != 200 || !strings.Contains(day, "Open cases (0)") {
		t.Errorf("1001 closing their case: %d\n%s", code, day)
	}

	// Every state change without the session's CSRF token is refused.
	for _, path := range []string{"/desk/state", "/desk/disposition", "/desk/cases", "/desk/cases/close", "/desk/transfer", "/desk/language", "/logout"} {
		if code, _ := a.post(path, url.Values{"action": {"ready"}, "kind": {"service"}, "target": {"volunteers"}, "lang": {"ru"}}, true); code != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d, want 403", path, code)
		}
	}
	c.Hangup()
	rec := h.record(callID)
	recs, err := h.stream.ByNumber(t.Context(), "79001414141", 5)
	if err != nil || len(recs) != 1 || recs[0].Disposition.Code != "consulted" || recs[0].Disposition.Note != "asked about PCR results" || recs[0].Disposition.Agent != "1001" {
		t.Errorf("record %s with disposition %+v (%v), want consulted with the note", rec.CallID, recs, err)
	}

	// Sessions live in Redis: a restarted hotline keeps the operator
	// signed in (the browser's event stream reconnects to it by itself).
	h.restart()
	if code, page := a.get("/"); code != 200 || !strings.Contains(page, a.csrf) {
		t.Errorf("after a restart of hotline: %d, want the desktop with the same session", code)
	}

	// An operator's session opens only their own part of the API.
	req, _ := http.NewRequest("POST", a.url("/api/v1/callbacks/1/cancel"), nil)
	req.Header.Set("X-CSRF-Token", a.csrf)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator's session cancelling a callback: %d, want 403", resp.StatusCode)
	}
	_ = records.OutcomeAnswered
}

func recordsDisposition(code, note, agent string) records.Disposition {
	return records.Disposition{Code: code, Note: note, Agent: agent}
}

// with is form with field set to v.
func with(form url.Values, field, v string) url.Values {
	out := url.Values{}
	for k, vs := range form {
		out[k] = append([]string(nil), vs...)
	}
	out.Set(field, v)
	out.Set("request_id", field+"-bad")
	return out
}

// The knowledge base is read again with the config: a new article is
// found after a reload; a broken one makes the reload fail and the
// articles in force stay.
func TestDeskKnowledgeBaseReloads(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("testing/pcr.md", "# ПЦР\n\nРезультат через сутки.\n")
	cfg := testConfig(t)
	cfg.Desk.KBDir = dir
	h := newHarnessTweaked(t, cfg, emulator.Options{}, nil, withDeskSecrets)
	a := h.browser()
	a.signIn("1001", "secret-of-1001")
	search := func(q string) string {
		_, body := a.get("/desk/kb?q=" + url.QueryEscape(q))
		return body
	}
	if body := search("вакцинация"); strings.Contains(body, "Прививки") {
		t.Fatalf("found an article not yet written: %s", body)
	}
	write("vaccines.md", "# Прививки\n\nВакцинация бесплатна в поликлинике.\n")
	if err := h.app.Reload(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if body := search("вакцинация"); !strings.Contains(body, "Прививки") {
		t.Fatalf("after the reload the new article is not found: %s", body)
	}
	write("broken.md", "\xff\xfe not text")
	if err := h.app.Reload(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "broken.md") {
		t.Fatalf("reload with a broken article: %v, want an error naming it", err)
	}
	if body := search("вакцинация"); !strings.Contains(body, "Прививки") {
		t.Fatalf("a refused reload lost the articles in force: %s", body)
	}
	// A reload whose Redis sync fails (here its context is gone) keeps
	// the desk on the running config, as the router is.
	_ = os.Remove(filepath.Join(dir, "broken.md"))
	write("masks.md", "# Маски\n\nМаски выдают бесплатно.\n")
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.app.Reload(gone, cfg); err == nil {
		t.Fatal("a reload whose sync cannot run succeeded")
	}
	if body := search("маски"); strings.Contains(body, "Маски") {
		t.Fatalf("a reload that failed its sync put its articles in force: %s", body)
	}
}
