package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/queue"
)

// statusNow is the clock of the staff-command tests.
var statusNow = time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)

// fakeAPI answers GET /api/v1/queues and /api/v1/agents with the JSON of
// the real types (so a renamed field breaks this test) and 200 to every
// POST with the token "tok"; it keeps what it was asked.
type fakeAPI struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func (f *fakeAPI) serve(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or wrong bearer token"}`))
			return
		}
		var v any
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/queues":
			v = fakeQueues()
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/agents":
			v = fakeOperators()
		case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/9999/"):
			w.WriteHeader(http.StatusNotFound)
			v = map[string]string{"error": "router: unknown operator 9999"}
		case r.Method == http.MethodPost:
			v = map[string]string{"result": "ok"}
		default:
			w.WriteHeader(http.StatusNotFound)
			v = map[string]string{"error": "no route"}
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeQueues: two callers in testing, the older a callback's citizen who
// arrived 7 minutes ago and queued again 1 minute ago; none in travel.
func fakeQueues() any {
	type view struct {
		Topic   string          `json:"topic"`
		Name    string          `json:"name"`
		Waiting int             `json:"waiting"`
		Callers []queue.Waiting `json:"callers"`
	}
	caller := func(id string, arrival, queued time.Duration) queue.Waiting {
		return queue.Waiting{Caller: queue.Caller{CallID: id, Topic: "testing", Arrival: statusNow.Add(-arrival)}, EnqueuedAt: statusNow.Add(-queued)}
	}
	return []view{
		{Topic: "testing", Name: "Тестирование: ПЦР и результаты", Waiting: 2, Callers: []queue.Waiting{caller("c1", 2*time.Minute, 2*time.Minute), caller("cb-7", 7*time.Minute+5*time.Second, time.Minute)}},
		{Topic: "travel", Name: "Передвижение и карантин", Callers: []queue.Waiting{}},
	}
}

func fakeOperators() []agents.Agent {
	return []agents.Agent{
		{Operator: agents.Operator{ID: "1001", Name: "Айгерим Сапарова", Skills: map[string]int{"testing": 8, "general": 5}, Languages: []string{"ru", "kk"}},
			State: agents.OnCall, Since: statusNow.Add(-3*time.Minute - 12*time.Second), CallID: "c0"},
		{Operator: agents.Operator{ID: "1002", Name: "Олена Коваленко", Skills: map[string]int{"complaints": 8}, Languages: []string{"uk"}},
			State: agents.Paused, Reason: "lunch", Since: statusNow.Add(-65 * time.Minute)},
		{Operator: agents.Operator{ID: "1003"}, State: agents.Offline},
	}
}

// runCLI runs a command line on the tests' clock.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runAt(context.Background(), func() time.Time { return statusNow }, args, &out, &errb)
	return code, out.String(), errb.String()
}

// `hotline status` prints the queues and the operators as aligned tables:
// per topic the callers waiting and the longest wait (a callback's citizen
// counted from their first arrival), operators with their state, time in
// it, pause reason, skills and languages, and the count by state.
func TestStatusTables(t *testing.T) {
	f := &fakeAPI{}
	srv := f.serve(t)
	code, out, errOut := runCLI("status", "--api", srv.URL, "--api-token", "tok")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `TOPIC    NAME                            WAITING  LONGEST WAIT
testing  Тестирование: ПЦР и результаты  2        7m05s
travel   Передвижение и карантин         0        -

operators: 1 on_call, 1 paused, 1 offline
OPERATOR  NAME              STATE    FOR    REASON  SKILLS           LANGUAGES
1001      Айгерим Сапарова  on_call  3m12s  -       general,testing  ru,kk
1002      Олена Коваленко   paused   1h05m  lunch   complaints       uk
1003      -                 offline  -      -       -                -
`
	if out != want {
		t.Fatalf("status printed:\n%s\nwant:\n%s", out, want)
	}
	if got := strings.Join(f.requests(), "\n"); got != "GET /api/v1/queues\nGET /api/v1/agents" {
		t.Fatalf("requests:\n%s", got)
	}
}

// --format json prints both answers as the API gave them, under queues
// and operators; the flag may come first or last.
func TestStatusJSON(t *testing.T) {
	srv := (&fakeAPI{}).serve(t)
	for _, args := range [][]string{
		{"status", "--format", "json", "--api", srv.URL, "--api-token", "tok"},
		{"status", "--api", srv.URL, "--api-token", "tok", "--format", "json"},
	} {
		code, out, errOut := runCLI(args...)
		var got struct {
			Queues []struct {
				Topic   string
				Waiting int
				Callers []struct {
					CallID string `json:"call_id"`
				}
			}
			Operators []agents.Agent
		}
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
			t.Fatalf("%v: exit %d, %q, %s", args, code, out, errOut)
		}
		if len(got.Queues) != 2 || got.Queues[0].Waiting != 2 || got.Queues[0].Callers[1].CallID != "cb-7" ||
			len(got.Operators) != 3 || got.Operators[1].Reason != "lunch" {
			t.Fatalf("%v: decoded %+v", args, got)
		}
	}
	if code, _, errOut := runCLI("status", "--format", "xml", "--api", srv.URL, "--api-token", "tok"); code != 2 || !strings.Contains(errOut, "--format must be table or json") {
		t.Fatalf("--format xml: exit %d, %s", code, errOut)
	}
}

// `hotline operators` lists the operators' table, pauses with a reason and
// logs out, with flags before or after the action and its id; an unknown
// operator's refusal is shown with the API's reason and exit 1.
func TestOperatorsCLI(t *testing.T) {
	f := &fakeAPI{}
	srv := f.serve(t)
	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"operators", "list", "--api", srv.URL, "--api-token", "tok"}, 0, "1002      Олена Коваленко   paused   1h05m  lunch", ""},
		{[]string{"operators", "--api", srv.URL, "list", "--format", "json", "--api-token", "tok"}, 0, `"reason": "lunch"`, ""},
		{[]string{"operators", "pause", "1001", "--reason", "lunch", "--api", srv.URL, "--api-token", "tok"}, 0, "operator 1001: pause done\n", ""},
		{[]string{"operators", "--api-token", "tok", "--api", srv.URL, "pause", "1002"}, 0, "operator 1002: pause done\n", ""},
		{[]string{"operators", "logout", "--api", srv.URL, "1003", "--api-token", "tok"}, 0, "operator 1003: logout done\n", ""},
		{[]string{"operators", "logout", "9999", "--api", srv.URL, "--api-token", "tok"}, 1, "", "the API answered 404 Not Found: router: unknown operator 9999"},
		{[]string{"operators", "pause", "--api", srv.URL, "--api-token", "tok"}, 2, "", `unknown or incomplete action "pause"`},
		{[]string{"operators", "logout", "1001", "--reason", "x", "--api", srv.URL, "--api-token", "tok"}, 2, "", "--reason is for pause only"},
		{[]string{"operators", "--api", srv.URL, "--api-token", "tok"}, 2, "", "missing action"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errs) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d, %q, %q", tc.args, code, out, errOut, tc.code, tc.out, tc.errs)
		}
	}
	want := []string{
		"GET /api/v1/agents",
		"GET /api/v1/agents",
		`POST /api/v1/agents/1001/pause {"reason":"lunch"}`,
		`POST /api/v1/agents/1002/pause {"reason":""}`,
		"POST /api/v1/agents/1003/logout",
		"POST /api/v1/agents/9999/logout",
	}
	if got := strings.Join(f.requests(), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
