package wallboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// fakeSource is a fixed board.
type fakeSource struct{ b Board }

func (f fakeSource) Board(context.Context) (Board, error) { return f.b, nil }

// fakeActions records what the board asked for.
type fakeActions struct {
	mu   sync.Mutex
	done []string
	err  error // returned by every action
}

func (f *fakeActions) note(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.done = append(f.done, s)
	return nil
}

func (f *fakeActions) CancelCallback(_ context.Context, id, who string) error {
	return f.note("cancel " + id + " by " + who)
}
func (f *fakeActions) CallbackNow(_ context.Context, id, who string) error {
	return f.note("now " + id + " by " + who)
}
func (f *fakeActions) MoveCallback(_ context.Context, id, topic, who string) error {
	return f.note("move " + id + " to " + topic + " by " + who)
}
func (f *fakeActions) Pause(_ context.Context, id, reason string) error {
	return f.note("pause " + id + " " + reason)
}
func (f *fakeActions) Logout(_ context.Context, id string) error { return f.note("logout " + id) }

func (f *fakeActions) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.done...)
}

// fakeMonitoring keeps monitors as the router does: one per conversation
// and per phone; operator 1099 is not talking.
type fakeMonitoring struct {
	mu   sync.Mutex
	mons []Monitor
	seq  int
}

var phoneOwner = map[string]string{"PJSIP/1901": "Гульнара", "PJSIP/1902": "Асель"}

func (f *fakeMonitoring) Monitor(_ context.Context, phone, agent, mode string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if agent == "1099" {
		return "", fmt.Errorf("router: monitor of operator %s: %w", agent, ErrNotTalking)
	}
	for _, m := range f.mons {
		if m.Agent == agent {
			return "", fmt.Errorf("router: monitored by %s: %w", m.Phone, ErrMonitored)
		}
		if m.Phone == phone {
			return "", fmt.Errorf("router: %s in another monitor: %w", phone, ErrPhoneBusy)
		}
	}
	f.seq++
	id := fmt.Sprintf("mon-%d", f.seq)
	f.mons = append(f.mons, Monitor{ID: id, Agent: agent, Mode: mode, Phone: phone, By: phoneOwner[phone]})
	return id, nil
}

func (f *fakeMonitoring) StopMonitor(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.mons {
		if m.ID == id {
			f.mons = append(f.mons[:i], f.mons[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("router: stop monitor %s: %w", id, ErrNoMonitor)
}

func (f *fakeMonitoring) Monitors() []Monitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Monitor(nil), f.mons...)
}

// fixture is a wallboard over a real Redis's sessions, a fixed board and
// recorded actions: operator 1001, supervisors sup1 and sup3 with phones,
// sup2 without one.
type fixture struct {
	t        *testing.T
	wb       *Wallboard
	sessions *auth.Sessions
	people   *auth.People
	acts     *fakeActions
	mons     *fakeMonitoring
	mu       sync.Mutex
	audits   []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := &config.Config{
		Operators: []config.Operator{{ID: "1001", Name: "Айгерим"}},
		Staff: []config.StaffMember{{ID: "sup1", Name: "Гульнара", Role: config.RoleSupervisor, Phone: "PJSIP/1901"},
			{ID: "sup2", Name: "Ерлан", Role: config.RoleSupervisor}, {ID: "sup3", Name: "Асель", Role: config.RoleSupervisor, Phone: "PJSIP/1902"}},
	}
	people, missing, err := auth.FromConfig(cfg, func(k string) string { return "secret-of-" + strings.ToLower(k) })
	if err != nil || len(missing) > 0 {
		t.Fatalf("people: %v, missing %v", err, missing)
	}
	f := &fixture{t: t, people: people, acts: &fakeActions{}, mons: &fakeMonitoring{}}
	f.sessions = auth.NewSessions(redistest.Start(t), redistest.Prefix(t), func() *auth.People { return f.people })
	f.wb, err = New(Options{
		Sessions: f.sessions, Source: fakeSource{sampleBoard()}, Actions: f.acts, Monitoring: f.mons, Now: time.Now,
		Audit: func(who, role, action, target, detail string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audits = append(f.audits, strings.TrimSpace(strings.Join([]string{action, target, "by", role, who, detail}, " ")))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// client is one signed-in browser: its cookie and CSRF token.
type client struct {
	f      *fixture
	cookie *http.Cookie
	csrf   string
}

func (f *fixture) signIn(id, lang string) *client {
	f.t.Helper()
	per, ok := f.people.Get(id)
	if !ok {
		f.t.Fatalf("no %s", id)
	}
	rec := httptest.NewRecorder()
	s, err := f.sessions.Start(context.Background(), rec, per, lang)
	if err != nil {
		f.t.Fatal(err)
	}
	return &client{f: f, cookie: rec.Result().Cookies()[0], csrf: s.CSRF}
}

func (c *client) do(method, path string, form url.Values, withToken bool) (int, string, http.Header) {
	c.f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	if c != nil && c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if withToken {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	rec := httptest.NewRecorder()
	c.f.wb.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func (c *client) get(path string) (int, string) {
	code, body, _ := c.do(http.MethodGet, path, nil, false)
	return code, body
}

func (c *client) post(path string, form url.Values) (int, string) {
	code, body, _ := c.do(http.MethodPost, path, form, true)
	return code, body
}

// The page speaks the language of the session (chosen at sign-in, as on
// the desktop); the switch changes it with the session's CSRF token only,
// to a language the pages speak; an operator is refused in their own
// language.
func TestLanguageOfTheSessionAndTheSwitch(t *testing.T) {
	f := newFixture(t)
	sup := f.signIn("sup1", "kk")
	if code, page := sup.get("/wallboard"); code != 200 || !strings.Contains(page, `<html lang="kk">`) || !strings.Contains(page, "Бүгінгі кезектер") {
		t.Fatalf("page of a Kazakh session: %d %.300s", code, page)
	}
	if code, body, _ := sup.do(http.MethodPost, "/wallboard/language", url.Values{"lang": {"uk"}}, false); code != http.StatusForbidden || !strings.Contains(body, tr("kk", "err_session")) {
		t.Errorf("switch without the token: %d %q", code, body)
	}
	if code, body := sup.post("/wallboard/language", url.Values{"lang": {"de"}}); code != http.StatusBadRequest || !strings.Contains(body, tr("kk", "err_language")) {
		t.Errorf("switch to German: %d %q", code, body)
	}
	if _, page := sup.get("/wallboard"); !strings.Contains(page, `<html lang="kk">`) {
		t.Error("a refused switch changed the language")
	}
	code, _, h := sup.do(http.MethodPost, "/wallboard/language", url.Values{"lang": {"uk"}}, true)
	if code != http.StatusNoContent || h.Get("HX-Refresh") != "true" {
		t.Fatalf("switch to Ukrainian: %d %v", code, h)
	}
	if _, page := sup.get("/wallboard"); !strings.Contains(page, `<html lang="uk">`) || !strings.Contains(page, "Черги сьогодні") {
		t.Errorf("after the switch: %.300s", page)
	}
	op := f.signIn("1001", "ru")
	if code, body := op.get("/wallboard"); code != http.StatusForbidden || !strings.Contains(body, tr("ru", "err_role")) {
		t.Errorf("an operator: %d %q", code, body)
	}
	if code, body := op.post("/wallboard/language", url.Values{"lang": {"en"}}); code != http.StatusForbidden || !strings.Contains(body, tr("ru", "err_role")) {
		t.Errorf("an operator's switch: %d %q", code, body)
	}
	nobody := &client{f: f}
	if code, _, h := nobody.do(http.MethodPost, "/wallboard/language", url.Values{"lang": {"en"}}, false); code != http.StatusUnauthorized || h.Get("HX-Redirect") != "/login" {
		t.Errorf("without a session: %d %v", code, h)
	}
}

// A refused action comes back in the person's language with the reason;
// a done one clears the status line beside the board.
func TestActionAnswersInTheSessionsLanguage(t *testing.T) {
	f := newFixture(t)
	sup := f.signIn("sup1", "uk")
	if code, body := sup.post("/wallboard/operators/1001/pause", nil); code != 200 || !strings.Contains(body, `id="wb-msg"`) || !strings.Contains(body, "Оператори") {
		t.Fatalf("pause: %d %.300s", code, body)
	}
	if got := f.acts.calls(); len(got) != 1 || got[0] != "pause 1001 supervisor" {
		t.Errorf("actions %q", got)
	}
	if code, body := sup.post("/wallboard/operators/1001/dance", nil); code != http.StatusBadRequest || !strings.Contains(body, tr("uk", "err_action")) {
		t.Errorf("unknown action: %d %q", code, body)
	}
	f.acts.err = context.DeadlineExceeded
	if code, body := sup.post("/wallboard/callbacks/cb-a/cancel", nil); code != http.StatusConflict || !strings.Contains(body, "Не виконано: context deadline exceeded") {
		t.Errorf("a failed action: %d %q", code, body)
	}
}

func (f *fixture) auditLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.audits...)
}

// Listen, whisper and stop: each needs the session's CSRF token and a
// supervisor's role; the phone rung is the signed-in supervisor's own
// (a supervisor without one is told how to get one, and nothing rings);
// the audit names the supervisor and their phone; a conversation has one
// monitor and a phone one conversation, and each refusal says which;
// only the supervisor whose phone it rings stops a monitor.
func TestListenWhisperAndStop(t *testing.T) {
	f := newFixture(t)
	sup1, sup2, sup3 := f.signIn("sup1", "en"), f.signIn("sup2", "ru"), f.signIn("sup3", "kk")
	op := f.signIn("1001", "uk")

	if code, body, _ := sup1.do(http.MethodPost, "/wallboard/operators/1101/listen", nil, false); code != http.StatusForbidden || !strings.Contains(body, tr("en", "err_session")) {
		t.Errorf("listen without the token: %d %q", code, body)
	}
	if code, body := op.post("/wallboard/operators/1101/whisper", nil); code != http.StatusForbidden || !strings.Contains(body, tr("uk", "err_role")) {
		t.Errorf("an operator's whisper: %d %q", code, body)
	}
	if code, body := sup2.post("/wallboard/operators/1101/listen", nil); code != http.StatusConflict || !strings.Contains(body, tr("ru", "mon_no_phone")) {
		t.Errorf("a supervisor without a phone: %d %q", code, body)
	}
	if ms := f.mons.Monitors(); len(ms) != 0 || len(f.auditLog()) != 0 {
		t.Fatalf("refusals left monitors %v, audits %v", ms, f.auditLog())
	}

	code, body := sup1.post("/wallboard/operators/1101/listen", nil)
	if code != 200 || !strings.Contains(body, "Ringing your phone PJSIP/1901: pick up to listen to Данияр&#39;s conversation.") ||
		!strings.Contains(body, `hx-post="/wallboard/monitors/mon-1/stop"`) || !strings.Contains(body, "listened to by Гульнара") {
		t.Fatalf("listen: %d %s", code, body)
	}
	if ms := f.mons.Monitors(); len(ms) != 1 || ms[0].Phone != "PJSIP/1901" || ms[0].Agent != "1101" || ms[0].Mode != ModeListen {
		t.Fatalf("monitors %+v", ms)
	}
	if a := f.auditLog(); len(a) != 1 || a[0] != "monitor_listen 1101 by supervisor sup1 PJSIP/1901" {
		t.Errorf("audit %q", a)
	}
	// Another supervisor sees it, without Stop; their whisper into it is
	// refused, and so is sup1's phone into a second conversation.
	if _, page := sup3.get("/wallboard"); !strings.Contains(page, "Гульнара тыңдап отыр") || strings.Contains(page, "mon-1/stop") {
		t.Errorf("the board of another supervisor: %s", page)
	}
	if code, body := sup3.post("/wallboard/operators/1101/whisper", nil); code != http.StatusConflict || !strings.Contains(body, tr("kk", "mon_taken")) {
		t.Errorf("a second supervisor on the conversation: %d %q", code, body)
	}
	if code, body := sup1.post("/wallboard/operators/1103/whisper", nil); code != http.StatusConflict || !strings.Contains(body, tr("en", "mon_phone_busy")) {
		t.Errorf("a phone in two conversations: %d %q", code, body)
	}
	if code, body := sup3.post("/wallboard/operators/1099/whisper", nil); code != http.StatusConflict || !strings.Contains(body, fmt.Sprintf(tr("kk", "mon_not_talking"), "1099")) {
		t.Errorf("an operator not talking: %d %q", code, body)
	}
	if code, _ := sup3.post("/wallboard/operators/10%2001/listen", nil); code != http.StatusBadRequest {
		t.Errorf("a malformed operator id: %d", code)
	}
	// Only sup1 stops it, with the token.
	for _, c := range []*client{sup2, sup3} {
		if code, body := c.post("/wallboard/monitors/mon-1/stop", nil); code != http.StatusForbidden || !strings.Contains(body, tr(map[*client]string{sup2: "ru", sup3: "kk"}[c], "mon_not_yours")) {
			t.Errorf("another supervisor's stop: %d %q", code, body)
		}
	}
	if code, _, _ := sup1.do(http.MethodPost, "/wallboard/monitors/mon-1/stop", nil, false); code != http.StatusForbidden {
		t.Errorf("stop without the token: %d", code)
	}
	if len(f.mons.Monitors()) != 1 {
		t.Fatal("a refused stop stopped the monitor")
	}
	if code, body := sup1.post("/wallboard/monitors/mon-1/stop", nil); code != 200 || !strings.Contains(body, tr("en", "mon_stopped")) || strings.Contains(body, "mon-1/stop") {
		t.Errorf("stop: %d %s", code, body)
	}
	if code, body := sup1.post("/wallboard/monitors/mon-1/stop", nil); code != http.StatusNotFound || !strings.Contains(body, tr("en", "mon_gone")) {
		t.Errorf("second stop: %d %q", code, body)
	}
	// Whispering, once the phone is free.
	if code, body := sup1.post("/wallboard/operators/1103/whisper", nil); code != 200 || !strings.Contains(body, "pick up to whisper to Данияр.") {
		t.Errorf("whisper: %d %s", code, body)
	}
	want := []string{"monitor_listen 1101 by supervisor sup1 PJSIP/1901", "monitor_stop 1101 by supervisor sup1 PJSIP/1901", "monitor_whisper 1103 by supervisor sup1 PJSIP/1901"}
	if a := f.auditLog(); strings.Join(a, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit %q, want %q", a, want)
	}
}
