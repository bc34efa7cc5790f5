package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `hotline reload` posts to the admins' reload route and prints the
// summary; a refused file exits 1 with each problem on its own line, and
// a token below admin with the API's reason.
func TestReloadCLI(t *testing.T) {
	var seen []string
	answer := map[string]struct {
		code int
		body string
	}{
		"Bearer adm": {200, `{"result":"reloaded","summary":"centre kz: 8 topics"}`},
		"Bearer bad": {422, `{"error":"the config file is refused; the running config is kept","problems":["h.yaml:3: unknown key \"x\"","h.yaml:9: topic y has no name"]}`},
		"Bearer sup": {403, `{"error":"supervisor sup1 may not do this: it needs the admin role"}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		a := answer[r.Header.Get("Authorization")]
		w.WriteHeader(a.code)
		_, _ = w.Write([]byte(a.body))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"reload", "--api", srv.URL, "--api-token", "adm"}, 0, "reloaded: centre kz: 8 topics\n", ""},
		{[]string{"reload", "--api-token", "bad", "--api", srv.URL}, 1, "",
			"hotline reload: the API answered 422 Unprocessable Entity: the config file is refused; the running config is kept\n  h.yaml:3: unknown key \"x\"\n  h.yaml:9: topic y has no name\n"},
		{[]string{"reload", "--api", srv.URL, "--api-token", "sup"}, 1, "", "403 Forbidden: supervisor sup1 may not do this: it needs the admin role"},
		{[]string{"reload", "now", "--api", srv.URL, "--api-token", "adm"}, 2, "", `unexpected argument "now"`},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != tc.code || out != tc.out || !strings.Contains(errOut, tc.errs) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d, %q, %q", tc.args, code, out, errOut, tc.code, tc.out, tc.errs)
		}
	}
	want := "POST /api/v1/config/reload Bearer adm\nPOST /api/v1/config/reload Bearer bad\nPOST /api/v1/config/reload Bearer sup"
	if got := strings.Join(seen, "\n"); got != want {
		t.Fatalf("requests:\n%s\nwant:\n%s", got, want)
	}
}
