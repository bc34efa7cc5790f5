package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

var errUnknown = errors.New("unknown operator")

// control records what the handler asked for; a struct of funcs would be
// overkill for four calls that only need recording.
type control struct{ calls []string }

func (c *control) do(action, id string) error {
	if id == "9999" {
		return errUnknown
	}
	c.calls = append(c.calls, action+":"+id)
	return nil
}
func (c *control) Login(_ context.Context, id string) error  { return c.do("login", id) }
func (c *control) Logout(_ context.Context, id string) error { return c.do("logout", id) }
func (c *control) Ready(_ context.Context, id string) error  { return c.do("ready", id) }
func (c *control) Pause(_ context.Context, id, reason string) error {
	return c.do("pause("+reason+")", id)
}

func TestAgentActions(t *testing.T) {
	ctl := &control{}
	ready := errors.New("draining")
	srv := httptest.NewServer(Handler(Options{
		Token: "s3cret", Control: ctl,
		NotFound: func(err error) bool { return errors.Is(err, errUnknown) },
		Ready:    func() error { return ready },
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"no token", "POST", "/api/v1/agents/1001/login", "", "", 401, "bearer token"},
		{"wrong token", "POST", "/api/v1/agents/1001/login", "nope", "", 401, "bearer token"},
		{"login", "POST", "/api/v1/agents/1001/login", "s3cret", "", 200, `"result":"ok"`},
		{"pause with reason", "POST", "/api/v1/agents/1001/pause", "s3cret", `{"reason":"lunch"}`, 200, "ok"},
		{"pause default reason", "POST", "/api/v1/agents/1002/pause", "s3cret", "", 200, "ok"},
		{"pause bad json", "POST", "/api/v1/agents/1001/pause", "s3cret", `{"why":1}`, 400, "reason"},
		{"pause reason too long", "POST", "/api/v1/agents/1001/pause", "s3cret", `{"reason":"` + strings.Repeat("x", 65) + `"}`, 400, "64"},
		{"bad id", "POST", "/api/v1/agents/10%3B01/login", "s3cret", "", 400, "an id is"},
		{"unknown action", "POST", "/api/v1/agents/1001/dance", "s3cret", "", 404, "unknown action"},
		{"unknown operator", "POST", "/api/v1/agents/9999/login", "s3cret", "", 404, "unknown operator"},
		{"ready", "POST", "/api/v1/agents/1001/ready", "s3cret", "", 200, "ok"},
		{"logout", "POST", "/api/v1/agents/1001/logout", "s3cret", "", 200, "ok"},
		{"readyz while draining", "GET", "/readyz", "", "", 503, "draining"},
		{"healthz", "GET", "/healthz", "", "", 200, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.contains)
			}
		})
	}
	want := []string{"login:1001", "pause(lunch):1001", "pause(break):1002", "ready:1001", "logout:1001"}
	if strings.Join(ctl.calls, " ") != strings.Join(want, " ") {
		t.Fatalf("control saw %v, want %v", ctl.calls, want)
	}
}
