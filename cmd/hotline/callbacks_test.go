package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `hotline callbacks` sends the supervisor's actions to the API with the
// token and prints the answer; refusals exit non-zero with the reason.
func TestCallbacksCLI(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		if strings.Contains(r.URL.Path, "/gone/") {
			http.Error(w, `{"error":"no such callback"}`, http.StatusConflict)
			return
		}
		_, _ = w.Write([]byte(`[{"ID":"abc","Status":"scheduled"}]`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"list"}, 0, `"ID": "abc"`},
		{[]string{"list", "unreached"}, 0, "abc"},
		{[]string{"now", "abc"}, 0, "abc"},
		{[]string{"cancel", "gone"}, 1, ""},
		{[]string{"cancel"}, 2, ""},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"callbacks", "--api", srv.URL, "--api-token", "tok"}, tc.args...)
		if code := run(context.Background(), args, &out, &errb); code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d containing %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out)
		}
	}
	// Flags may follow the action, as a person types them.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"callbacks", "list", "refused", "--api", srv.URL, "--api-token", "tok"}, &out, &errb); code != 0 {
		t.Errorf("list refused --api URL: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"callbacks", "--api-token", "tok", "now", "--api", srv.URL, "abc"}, &out, &errb); code != 0 {
		t.Errorf("flags on both sides: exit %d: %s", code, errb.String())
	}
	want := []string{
		"GET /api/v1/callbacks Bearer tok",
		"GET /api/v1/callbacks?status=unreached Bearer tok",
		"POST /api/v1/callbacks/abc/now Bearer tok",
		"POST /api/v1/callbacks/gone/cancel Bearer tok",
		"GET /api/v1/callbacks?status=refused Bearer tok",
		"POST /api/v1/callbacks/abc/now Bearer tok",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
