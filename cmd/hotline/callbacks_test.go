package main

import (
	"bytes"
	"context"
	"io"
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

// `hotline callbacks move ID --topic T` posts {"topic":"T"} as JSON to
// the callback's move route, with the flags anywhere; without --topic, or
// --topic on another action, it asks nothing of the API (exit 2).
func TestCallbacksMoveCLI(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(body))
		if strings.Contains(r.URL.Path, "/gone/") {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"callbacks: no open callback gone"}`))
			return
		}
		_, _ = w.Write([]byte(`{"callback":"42","action":"move","result":"ok"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"move", "42", "--topic", "general"}, 0, `"action": "move"`, ""},
		{[]string{"--topic", "travel", "move", "42"}, 0, `"result": "ok"`, ""},
		{[]string{"move", "gone", "--topic", "general"}, 1, "", "the API answered 409 Conflict: callbacks: no open callback gone"},
		{[]string{"move", "42"}, 2, "", "move needs --topic"},
		{[]string{"now", "42", "--topic", "general"}, 2, "", "only move takes it"},
		{[]string{"move", "--topic", "general"}, 2, "", `unknown or incomplete action "move"`},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"callbacks", "--api", srv.URL, "--api-token", "tok"}, tc.args...)
		code := run(context.Background(), args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.errs) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out, tc.errs)
		}
	}
	want := []string{
		`POST /api/v1/callbacks/42/move Bearer tok application/json {"topic":"general"}`,
		`POST /api/v1/callbacks/42/move Bearer tok application/json {"topic":"travel"}`,
		`POST /api/v1/callbacks/gone/move Bearer tok application/json {"topic":"general"}`,
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
