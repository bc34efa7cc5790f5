package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// cheap hashes keep the tests fast; the cost is read from the hash.
func cheap(t *testing.T, secret string) string {
	t.Helper()
	h, err := hashWith(secret, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSecrets(t *testing.T) {
	h := cheap(t, "correct horse battery")
	if !Verify(h, "correct horse battery") || Verify(h, "correct horse batterY") || Verify(h, "") {
		t.Fatal("verify accepts a wrong secret or refuses the right one")
	}
	if h2 := cheap(t, "correct horse battery"); h2 == h {
		t.Fatal("two hashes of one secret are equal: no salt")
	}
	for _, bad := range []string{"", "short", "CHANGE_ME_operator_1001", "xxchange_mexxxxxx"} {
		if _, err := HashSecret(bad); err == nil {
			t.Errorf("secret %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "plain", "pbkdf2-sha256$10$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "md5$1$2$3", h + "x"} {
		if ValidHash(bad) == nil || Verify(bad, "anything at all") {
			t.Errorf("hash %q taken for valid", bad)
		}
	}
}

func TestPeopleFromConfig(t *testing.T) {
	cfg := &config.Config{Operators: []config.Operator{
		{ID: "1001", Name: "A", SecretHash: cheap(t, "secret-of-1001")},
		{ID: "op-2", Name: "B"},
		{ID: "1003", Name: "C"},
	}, Staff: []config.StaffMember{{ID: "sup1", Name: "S", Role: config.RoleSupervisor, Phone: "PJSIP/1901"}}}
	env := map[string]string{"HOTLINE_SECRET_OP_2": "secret-of-op-2", "HOTLINE_SECRET_SUP1": "secret-of-sup1"}
	p, missing, err := FromConfig(cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != "1003" {
		t.Errorf("missing %v, want [1003]", missing)
	}
	if per, ok := p.Check("1001", "secret-of-1001"); !ok || per.Role != RoleOperator {
		t.Errorf("1001 with its secret: %+v %v", per, ok)
	}
	if per, ok := p.Check("op-2", "secret-of-op-2"); !ok || per.Phone != "" {
		t.Errorf("op-2 with the secret from the environment: %+v %v", per, ok)
	}
	if per, ok := p.Check("sup1", "secret-of-sup1"); !ok || per.Role != RoleSupervisor || per.Phone != "PJSIP/1901" {
		t.Errorf("supervisor sup1 (their phone comes with them): %+v %v", per, ok)
	}
	for _, c := range [][2]string{{"1001", "secret-of-op-2"}, {"1003", ""}, {"nobody", "secret-of-1001"}} {
		if _, ok := p.Check(c[0], c[1]); ok {
			t.Errorf("%s signed in with %q", c[0], c[1])
		}
	}
	env["HOTLINE_SECRET_1003"] = "CHANGE_ME"
	if _, _, err := FromConfig(cfg, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "1003") {
		t.Errorf("placeholder secret: %v, want an error naming 1003", err)
	}
	cfg.Operators[0].SecretHash = "not-a-hash"
	if _, _, err := FromConfig(cfg, func(string) string { return "" }); err == nil {
		t.Error("a malformed secret_hash accepted")
	}
}

func TestSessions(t *testing.T) {
	rdb := redistest.Start(t)
	people := &People{}
	if err := people.Add(Person{ID: "1001", Role: RoleOperator}, cheap(t, "secret-of-1001")); err != nil {
		t.Fatal(err)
	}
	s := NewSessions(rdb, redistest.Prefix(t), func() *People { return people })
	per, _ := people.Get("1001")
	rec := httptest.NewRecorder()
	sess, err := s.Start(t.Context(), rec, per, "kk")
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v: want one HttpOnly SameSite=Strict cookie", cookies)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookies[0])
	got, err := s.Get(req)
	if err != nil || got.Person.ID != "1001" || got.CSRF != sess.CSRF || got.Lang != "kk" {
		t.Fatalf("session read back: %+v %v", got, err)
	}
	// The token is not stored: Redis holds only its hash.
	keys, _ := rdb.Keys(t.Context(), "*").Result()
	for _, k := range keys {
		if strings.Contains(k, cookies[0].Value) {
			t.Errorf("the cookie's token is a Redis key: %s", k)
		}
	}

	post := func(h map[string]string) error {
		r := httptest.NewRequest("POST", "http://desk.example/desk/state", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return CheckCSRF(r, got)
	}
	if err := post(map[string]string{CSRFHeader: sess.CSRF}); err != nil {
		t.Errorf("the right token refused: %v", err)
	}
	for _, h := range []map[string]string{{}, {CSRFHeader: "x"}, {CSRFHeader: sess.CSRF, "Origin": "http://evil.example"}} {
		if post(h) == nil {
			t.Errorf("state change with %v accepted", h)
		}
	}

	// Forged and ended sessions are refused.
	forged := httptest.NewRequest("GET", "/", nil)
	forged.AddCookie(&http.Cookie{Name: CookieName, Value: "forged"})
	if _, err := s.Get(forged); err != ErrNoSession {
		t.Errorf("forged cookie: %v", err)
	}
	if err := s.End(t.Context(), httptest.NewRecorder(), got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(req); err != ErrNoSession {
		t.Errorf("session after sign-out: %v", err)
	}
	// A person removed from the config is signed out.
	rec2 := httptest.NewRecorder()
	if _, err := s.Start(t.Context(), rec2, per, "ru"); err != nil {
		t.Fatal(err)
	}
	req2 := httptest.NewRequest("GET", "/", nil)
	req2.AddCookie(rec2.Result().Cookies()[0])
	if _, err := s.Get(req2); err != nil {
		t.Fatalf("second session: %v", err)
	}
	people = &People{}
	if _, err := s.Get(req2); err != ErrNoSession {
		t.Errorf("removed person's session: %v", err)
	}
}
