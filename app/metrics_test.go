package app_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// scrape reads /metrics into series → value, a series written as in the
// text exposition: name{label="value",...} with the labels sorted by name.
func (h *harness) scrape() map[string]float64 {
	h.t.Helper()
	code, body := h.api("GET", "/metrics", "")
	if code != 200 {
		h.t.Fatalf("GET /metrics: %d", code)
	}
	return parseExposition(h.t, body)
}

func parseExposition(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// A scripted morning in the testing queue, then the scrape says exactly
// what happened:
//
//	A (kk) queues with nobody logged in and hangs up at once: a short abandon;
//	B (ru) queues; 1001 logs in and answers B at once: within the 30 s target;
//	C (kk) queues while B talks; 40 s pass; B hangs up; 1001 answers C late;
//	C hangs up; 1001 pauses; D (kk) queues and waits 25 s.
func TestMetricsCountWhatHappened(t *testing.T) {
	h := newHarness(t, testConfig(t))
	queued := func(number, lang string) *emulator.CallHandle {
		c := h.emu.Call(emulator.Caller{Number: number, Script: choose(lang, "3")})
		h.eventually("caller "+number+" queued", func() bool { return c.OnMOH() })
		return c
	}

	a := queued("79001000001", "2")
	a.Hangup()
	h.record(a.ID())

	b := queued("79001000002", "1")
	h.login("PJSIP/1001")
	h.waitClosed(b.Bridged(), "B bridged")
	c := queued("79001000003", "2")
	h.advance(40 * time.Second)
	b.Hangup()
	h.record(b.ID())
	h.waitClosed(c.Bridged(), "C bridged after B's wrap-up")
	c.Hangup()
	h.record(c.ID())
	h.eventually("1001 out of C's call", func() bool { s := h.state("1001"); return s == agents.WrapUp || s == agents.Ready })
	if code, body := h.api("POST", "/api/v1/agents/1001/pause", `{"reason":"lunch"}`); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	queued("79001000004", "2")
	h.advance(25 * time.Second)

	m := h.scrape()
	want := map[string]float64{
		`hotline_calls_offered_total{topic="testing"}`:                3,
		`hotline_calls_answered_total{topic="testing"}`:               2,
		`hotline_answered_within_target_total{topic="testing"}`:       1,
		`hotline_calls_abandoned_total{kind="short",topic="testing"}`: 1,
		`hotline_calls_abandoned_total{kind="long",topic="testing"}`:  0,
		`hotline_calls_offered_total{topic="general"}`:                0,
		`hotline_calls_total{outcome="answered"}`:                     2,
		`hotline_calls_total{outcome="abandoned"}`:                    1,
		`hotline_queue_wait_seconds_count{queue="testing"}`:           2,
		`hotline_ivr_choices_total{choice="2",node="language"}`:       3,
		`hotline_ivr_choices_total{choice="1",node="language"}`:       1,
		`hotline_ivr_choices_total{choice="3",node="main"}`:           4,
		`hotline_ivr_choices_total{choice="default",node="main"}`:     0,
		`hotline_callback_attempts_total{result="reached"}`:           0,
		`hotline_waiting_calls{topic="testing"}`:                      1,
		`hotline_waiting_calls{topic="general"}`:                      0,
		`hotline_oldest_wait_seconds{topic="general"}`:                0,
		`hotline_operators{state="paused"}`:                           1,
		`hotline_operators{state="offline"}`:                          3,
		`hotline_operators{state="ready"}`:                            0,
		`hotline_operators{state="on_call"}`:                          0,
		`hotline_callbacks{status="scheduled"}`:                       0,
		`hotline_callbacks{status="in_flight"}`:                       0,
		`hotline_service_level_target_ratio{topic="testing"}`:         0.8,
		`hotline_service_level_target_seconds{topic="testing"}`:       30,
		`hotline_state_up`: 1,
		`hotline_ari_up`:   1,
		`hotline_redis_errors_total{kind="timeout"}`:    0,
		`hotline_redis_errors_total{kind="connection"}`: 0,
		`hotline_redis_errors_total{kind="server"}`:     0,
		`hotline_redis_errors_total{kind="other"}`:      0,
	}
	for s, v := range want {
		got, ok := m[s]
		if !ok {
			t.Errorf("%s not exported", s)
		} else if got != v {
			t.Errorf("%s = %v, want %v", s, got, v)
		}
	}
	if w := m[`hotline_oldest_wait_seconds{topic="testing"}`]; w < 25 || w > 60 {
		t.Errorf("oldest wait in testing %v s, want D's 25 s and a little", w)
	}
	if n := m[`hotline_ari_request_duration_seconds_count{op="answer",result="ok"}`]; n < 4 {
		t.Errorf("ARI answers observed: %v, want at least the 4 callers'", n)
	}
	if n := m[`hotline_redis_command_duration_seconds_count`]; n == 0 {
		t.Error("no Redis command observed")
	}
	for s := range m {
		if strings.Contains(s, "79001") || strings.Contains(s, a.ID()) {
			t.Errorf("a number or call id in a label: %s", s)
		}
	}
}

// With Redis down a scrape still answers: the Redis-read gauges are left
// out, hotline_state_up is 0 and the failed commands are counted; with the
// PBX down too, hotline_ari_up is 0.
func TestMetricsWithRedisDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := redisproc.StartDurable(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	h := newHarnessOn(t, testConfig(t), emulator.Options{}, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), nil, redistest.Client(t, d.Addr()))
	if m := h.scrape(); m[`hotline_state_up`] != 1 {
		t.Fatalf("hotline_state_up %v with Redis up", m[`hotline_state_up`])
	}
	// The emulator sees the WebSocket before hotline's ARI client has
	// re-synced and counts itself connected: wait for that first.
	h.eventually("hotline_ari_up 1", func() bool { return h.scrape()[`hotline_ari_up`] == 1 })
	d.Kill()
	m := h.scrape()
	if v, ok := m[`hotline_state_up`]; !ok || v != 0 {
		t.Errorf("hotline_state_up = %v (exported %v) with Redis down, want 0", v, ok)
	}
	if _, ok := m[`hotline_waiting_calls{topic="testing"}`]; ok {
		t.Error("waiting calls exported with Redis down")
	}
	if m[`hotline_service_level_target_ratio{topic="testing"}`] != 0.8 {
		t.Error("the config's targets must not depend on Redis")
	}
	// A collector's own failures show from the next scrape on (a scrape
	// gathers the collectors concurrently).
	h.eventually("Redis errors counted", func() bool {
		m := h.scrape()
		return m[`hotline_redis_errors_total{kind="connection"}`]+m[`hotline_redis_errors_total{kind="timeout"}`] > 0
	})

	// And with the PBX gone, so is hotline_ari_up.
	if m[`hotline_ari_up`] != 1 {
		t.Fatalf("hotline_ari_up %v with Redis down, before the PBX went away", m[`hotline_ari_up`])
	}
	h.emu.Close()
	h.eventually("hotline_ari_up 0", func() bool { return h.scrape()[`hotline_ari_up`] == 0 })
}

// metricNames are the metric names of a scrape (the part before "{").
func metricNames(series map[string]float64) map[string]bool {
	names := map[string]bool{}
	for s := range series {
		name, _, _ := strings.Cut(s, "{")
		names[name] = true
	}
	return names
}

// promQLName is a metric or recording-rule name in PromQL or a dashboard.
var promQLName = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// referencedNames are the hotline_ metric names a file's text mentions;
// recording rules' names (level:metric:operation, with colons) are not
// metrics hotline exports and are left out.
func referencedNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range promQLName.FindAllString(string(b), -1) {
		if strings.HasPrefix(n, "hotline_") && !strings.Contains(n, ":") && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// exported reports whether a running hotline exports name: as is, or as
// a histogram's _bucket, _sum or _count.
func exported(names map[string]bool, name string) bool {
	if names[name] || names[name+"_bucket"] {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && names[base+"_bucket"] {
			return true
		}
	}
	return false
}

// Every metric the Grafana dashboard and the Prometheus rules name is one a
// running hotline exports after a small scenario (one caller answered),
// and promtool accepts the rules and their unit tests.
func TestDashboardAndRulesNameExportedMetrics(t *testing.T) {
	h := newHarness(t, testConfig(t))
	c := h.emu.Call(emulator.Caller{Number: "79001000005", Script: choose("2", "3")})
	h.eventually("caller queued", func() bool { return c.OnMOH() })
	h.login("PJSIP/1001")
	h.waitClosed(c.Bridged(), "caller bridged")
	c.Hangup()
	h.record(c.ID())
	names := metricNames(h.scrape())

	for _, f := range []string{"../deploy/grafana/hotline.json", "../deploy/prometheus/alerts.yml"} {
		refs := referencedNames(t, f)
		if len(refs) < 5 {
			t.Errorf("%s names only %v", f, refs)
		}
		for _, n := range refs {
			if !exported(names, n) {
				t.Errorf("%s names %s, which hotline does not export", f, n)
			}
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is required to check deploy/prometheus (make prom-deps installs Debian's prometheus package)")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
