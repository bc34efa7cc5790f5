package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

func (h *harness) api(method, path, body string) (int, string) {
	h.t.Helper()
	return h.apiOn(h.app, method, path, body)
}

// apiOn is api against instance at (the harness's or another).
func (h *harness) apiOn(at *app.App, method, path, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, "http://"+at.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Operators log in, pause and log out over the HTTP API; a login with a
// caller waiting rings the operator at once; supervisors read the queues,
// operators and records; Prometheus reads the metrics.
func TestOperatorAndSupervisorAPI(t *testing.T) {
	h := newHarness(t, testConfig(t))
	c := h.emu.Call(emulator.Caller{Number: "79001313131", Script: choose("2", "3")})
	// The music starts as the caller joins the queue, a moment before
	// Redis holds them: wait for the API to see them.
	h.eventually("caller queued", func() bool { return c.OnMOH() })
	waiting := map[string]int{}
	h.eventually("the API reports one caller waiting in testing", func() bool {
		code, body := h.api("GET", "/api/v1/queues", "")
		var queues []struct {
			Topic   string
			Waiting int
		}
		if err := json.Unmarshal([]byte(body), &queues); code != 200 || err != nil {
			t.Fatalf("GET queues: %d %s %v", code, body, err)
		}
		clear(waiting)
		for _, q := range queues {
			waiting[q.Topic] = q.Waiting
		}
		return waiting["testing"] == 1
	})
	for topic, n := range waiting {
		if topic != "testing" && n != 0 {
			t.Errorf("queues report %v, want the one caller in testing only", waiting)
		}
	}

	if code, body := h.api("POST", "/api/v1/agents/1001/login", ""); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	h.waitClosed(c.Bridged(), "waiting caller bridged after the API login")
	if code, body := h.api("POST", "/api/v1/agents/1001/logout", ""); code != 409 {
		t.Fatalf("logout while on a call: %d %s, want 409", code, body)
	}
	c.Hangup()
	h.eventually("operator out of the call", func() bool { s := h.state("1001"); return s == agents.WrapUp || s == agents.Ready })
	if code, body := h.api("POST", "/api/v1/agents/1001/pause", `{"reason":"lunch"}`); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	if a := h.agent("1001"); a.State != agents.Paused || a.Reason != "lunch" {
		t.Fatalf("after pause: %s (%s)", a.State, a.Reason)
	}
	if code, _ := h.api("POST", "/api/v1/agents/9999/login", ""); code != 404 {
		t.Fatalf("unknown operator: %d, want 404", code)
	}
	h.record(c.ID()) // the operator is freed before the record is written
	if code, body := h.api("GET", "/api/v1/records", ""); code != 200 || !strings.Contains(body, c.ID()) {
		t.Fatalf("records: %d %s", code, body)
	}
	if code, body := h.api("GET", "/api/v1/agents", ""); code != 200 || !strings.Contains(body, `"state":"paused","reason":"lunch"`) {
		t.Fatalf("agents: %d %s", code, body)
	}
	if code, body := h.api("GET", "/metrics", ""); code != 200 || !strings.Contains(body, `hotline_calls_total{outcome="answered"} 1`) ||
		!strings.Contains(body, `hotline_queue_wait_seconds_bucket{queue="testing",le="20"} 1`) {
		t.Fatalf("metrics: %d, answered counter or the testing queue's wait missing", code)
	}
	if code, body := h.api("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
}

// /readyz fails while Redis does not answer (new callers then go to the
// PBX's fallback) and recovers with it.
func TestReadyzReportsRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := redisproc.StartDurable(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	h := newHarnessOn(t, testConfig(t), emulator.Options{}, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), nil, redistest.Client(t, d.Addr()))
	h.eventually("readyz ready", func() bool { code, _ := h.api("GET", "/readyz", ""); return code == 200 })
	d.Kill()
	h.eventually("readyz failing on Redis", func() bool {
		code, body := h.api("GET", "/readyz", "")
		return code == 503 && strings.Contains(body, "redis")
	})
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	h.eventually("readyz ready again", func() bool { code, _ := h.api("GET", "/readyz", ""); return code == 200 })
}
