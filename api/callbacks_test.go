package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// cbControl records the callback actions the handler asked for and
// answers as the app does: an unknown callback, an unknown topic, a busy
// one.
type cbControl struct{ calls []string }

func (c *cbControl) MarkCallback(context.Context, string, string) (string, error) { return "", nil }
func (c *cbControl) ListCallbacks(context.Context, []string) (any, error)         { return nil, nil }
func (c *cbControl) CancelCallback(_ context.Context, id, who string) error {
	c.calls = append(c.calls, "cancel:"+id+":"+who)
	return nil
}
func (c *cbControl) CallbackNow(_ context.Context, id, who string) error {
	c.calls = append(c.calls, "now:"+id+":"+who)
	return nil
}
func (c *cbControl) MoveCallback(_ context.Context, id, topic, who string) error {
	switch {
	case id == "gone":
		return fmt.Errorf("%w: callback %s", ErrNotFound, id)
	case topic == "nowhere":
		return fmt.Errorf("%w: no topic %q", ErrInvalid, topic)
	case id == "busy":
		return fmt.Errorf("callback %s is in flight", id)
	}
	c.calls = append(c.calls, "move:"+id+":"+topic+":"+who)
	return nil
}

// POST /api/v1/callbacks/{id}/move takes {"topic":"T"} and nothing else;
// the app's answers map to 404, 422 and 409.
func TestMoveCallbackRoute(t *testing.T) {
	cb := &cbControl{}
	srv := httptest.NewServer(Handler(Options{Token: "s3cret", Callbacks: cb}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path, body string
		status           int
		contains         string
	}{
		{"move", "/api/v1/callbacks/c1/move", `{"topic":"general"}`, 200, `"action":"move"`},
		{"no body", "/api/v1/callbacks/c1/move", ``, 400, "topic"},
		{"not JSON", "/api/v1/callbacks/c1/move", `topic=general`, 400, "topic"},
		{"unknown field", "/api/v1/callbacks/c1/move", `{"topic":"general","when":"now"}`, 400, "unknown field"},
		{"two objects", "/api/v1/callbacks/c1/move", `{"topic":"general"} {"topic":"travel"}`, 400, "one JSON object"},
		{"empty topic", "/api/v1/callbacks/c1/move", `{"topic":""}`, 400, "topic id"},
		{"malformed topic", "/api/v1/callbacks/c1/move", `{"topic":"gen eral"}`, 400, "topic id"},
		{"too large", "/api/v1/callbacks/c1/move", `{"topic":"general","x":"` + strings.Repeat("x", 5000) + `"}`, 400, "topic"},
		{"too large, one field", "/api/v1/callbacks/c1/move", `{"topic":"` + strings.Repeat("x", 5000) + `"}`, 400, "too large"},
		{"unknown callback", "/api/v1/callbacks/gone/move", `{"topic":"general"}`, 404, "gone"},
		{"unknown topic", "/api/v1/callbacks/c1/move", `{"topic":"nowhere"}`, 422, "nowhere"},
		{"busy", "/api/v1/callbacks/busy/move", `{"topic":"general"}`, 409, "in flight"},
		{"bad id", "/api/v1/callbacks/c%3B1/move", `{"topic":"general"}`, 400, "an id is"},
		{"unknown action", "/api/v1/callbacks/c1/dance", ``, 404, "cancel, now or move"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer s3cret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
				t.Fatalf("POST %s %s = %d %s, want %d containing %q", tc.path, clipBody(tc.body), resp.StatusCode, b, tc.status, tc.contains)
			}
		})
	}
	// Only the one good request reached the app, naming the actor.
	if got := strings.Join(cb.calls, " "); got != "move:c1:general:api-token" {
		t.Errorf("calls %q", got)
	}
}

func clipBody(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
