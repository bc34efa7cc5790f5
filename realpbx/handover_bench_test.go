package realpbx

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
)

// BenchmarkHandoverRealAsterisk measures, on a real Asterisk, what a citizen
// waiting for the one operator of a topic experiences: 8 citizens queue for
// operator 1001 (no wrap-up), and each ends their conversation in turn. The
// hand-over is the time from the citizen's BYE reaching Asterisk to
// Asterisk's INVITE to the operator for the next citizen, both read from
// Asterisk's own SIP log; hotline's CPU is utime+stime from /proc over the
// whole run, divided by the calls.
//
//	go test -run '^$' -bench HandoverRealAsterisk -benchtime 1x ./realpbx/
func BenchmarkHandoverRealAsterisk(b *testing.B) {
	for range b.N {
		handoverRun(b)
	}
}

const handoverCallers = 8

func handoverRun(b *testing.B) {
	var extra []string
	if p := os.Getenv("HOTLINE_BENCH_CPUPROFILE"); p != "" {
		extra = []string{"--cpuprofile", p}
	}
	r := newRig(b, rigOptions{logLevel: "info", extraArgs: extra, edit: func(cfg string) string {
		return mustReplace(b, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    wrap_up: 0s\n    callbacks: {drop_window: 1s}\n")
	}})
	r.ast.MustCLI(b, "pjsip set logger on")
	op := r.ast.Softphone(b, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	// What hotline spends with no call at all (its once-a-second sweeps),
	// reported apart: per call it depends on how long the run lasts.
	idle0 := procCPU(b, r.pid())
	idleStart := time.Now()
	r.waitFor(5*time.Second, "3 s of idling", func() bool { return time.Since(idleStart) >= 3*time.Second })
	idle := procCPU(b, r.pid()) - idle0
	idleRate := float64(idle.Microseconds()) / 1000 / time.Since(idleStart).Seconds()
	ops0 := r.opCounts(b)
	cpu0, idleFrom := procCPU(b, r.pid()), time.Now()
	// Citizen i hangs up 2 s after citizen i-1: the first talks from about
	// 3 s to 7 s, the others 2 s each, one after the other.
	var calls []*pbxtest.SIPpRun
	for i := range handoverCallers {
		number := fmt.Sprintf("7900555%04d", i)
		steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: time.Duration(4000+2000*i) * time.Millisecond})
		calls = append(calls, r.ast.Call(b, pbxtest.Citizen{Number: number, Steps: steps, HangUp: true}))
		r.waitFor(5*time.Second, "citizen "+number+" answered by Asterisk", func() bool {
			return strings.Count(r.ast.MustCLI(b, "core show channels concise"), "PJSIP/carrier") > i
		})
	}
	for _, c := range calls {
		if err := c.Wait(ctxFor(b, 60*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	// Each 2 s conversation is an answered call, not a dropped line owed a
	// callback (drop_window 1 s above): the path measured is the plain one.
	var recs []records.Record
	r.waitFor(10*time.Second, "every call recorded", func() bool {
		recs = recs[:0]
		for _, rec := range r.records() {
			if rec.Count(0).Offered {
				recs = append(recs, rec)
			}
		}
		return len(recs) >= handoverCallers
	})
	for _, rec := range recs {
		if rec.Outcome != records.OutcomeAnswered {
			b.Fatalf("call %s ended %q, want answered", rec.CallID, rec.Outcome)
		}
	}
	cpu := procCPU(b, r.pid()) - cpu0
	elapsed := time.Since(idleFrom)
	ops := r.opCounts(b)
	if n := op.Count("CALL_ESTABLISHED"); n != handoverCallers {
		b.Fatalf("operator took %d calls, want %d", n, handoverCallers)
	}
	hand := handovers(b, r.ast.FullLog())
	if len(hand) != handoverCallers-1 {
		b.Fatalf("%d hand-overs in Asterisk's log, want %d", len(hand), handoverCallers-1)
	}
	slices.Sort(hand)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(hand[len(hand)/2]), "handover-p50-ms")
	b.ReportMetric(ms(hand[len(hand)-1]), "handover-max-ms")
	b.ReportMetric(ms(cpu)/handoverCallers, "cpu-ms/call")
	b.ReportMetric(elapsed.Seconds(), "run-s")
	b.ReportMetric(idleRate, "idle-cpu-ms/s")
	b.ReportMetric((ms(cpu)-idleRate*elapsed.Seconds())/handoverCallers, "net-cpu-ms/call")
	perCall := func(key string) float64 { return (ops[key] - ops0[key]) / handoverCallers }
	b.ReportMetric(perCall(restTotal), "rest/call")
	b.ReportMetric(perCall(redisTotal), "redis/call")
	var byOp []string
	for k := range ops {
		if k != restTotal && k != redisTotal && ops[k] > ops0[k] {
			byOp = append(byOp, fmt.Sprintf("%s %.2f", k, perCall(k)))
		}
	}
	slices.Sort(byOp)
	b.Logf("hand-overs %v; hotline CPU %v over %v for %d calls; REST per call by op: %s", hand, cpu, elapsed.Round(time.Millisecond), handoverCallers, strings.Join(byOp, ", "))
}

const (
	restTotal  = "rest"
	redisTotal = "redis"
)

// opCounts reads hotline's /metrics: ARI REST commands by operation, and
// their total (restTotal), and Redis round trips (redisTotal).
func (r *rig) opCounts(tb testing.TB) map[string]float64 {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+r.http+"/metrics", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ') // label values hold spaces ("start moh")
		if i < 0 {
			continue
		}
		name := line[:i]
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case name == "hotline_redis_command_duration_seconds_count":
			out[redisTotal] += v
		case strings.HasPrefix(name, "hotline_ari_request_duration_seconds_count{"):
			_, op, _ := strings.Cut(name, `op="`)
			op, _, _ = strings.Cut(op, `"`)
			out[op] += v
			out[restTotal] += v
		}
	}
	if resp.StatusCode != http.StatusOK || out[redisTotal] == 0 {
		tb.Fatalf("hotline's /metrics: %s, no Redis round trips counted", resp.Status)
	}
	return out
}

// procCPU is a process's CPU time so far: the sum over its threads of
// /proc/PID/task/TID/schedstat (nanoseconds on the CPU), finer than the
// 10 ms ticks of utime+stime in /proc/PID/stat, which it falls back to.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err == nil {
		var sum int64
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				sum += ns
			}
		}
		if sum > 0 {
			return time.Duration(sum)
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	rest := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// handovers pairs every BYE Asterisk received from the carrier (a citizen
// hanging up) with the next INVITE it sent to an operator, from the
// res_pjsip_logger lines of its full log.
func handovers(tb testing.TB, log string) []time.Duration {
	tb.Helper()
	var out []time.Duration
	var bye time.Time
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var pending string // "rx" or "tx": a logger header waiting for its request line
	var at time.Time
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "<--- Received SIP request") && strings.Contains(line, pbxtest.CarrierIP):
			pending, at = "rx", logTime(line)
		case strings.Contains(line, "<--- Transmitting SIP request"):
			pending, at = "tx", logTime(line)
		case pending != "" && strings.TrimSpace(line) != "":
			req := strings.TrimSpace(line)
			switch {
			case pending == "rx" && strings.HasPrefix(req, "BYE "):
				bye = at
			case pending == "tx" && strings.HasPrefix(req, "INVITE sip:1001") && !bye.IsZero():
				out = append(out, at.Sub(bye))
				bye = time.Time{}
			}
			pending = ""
		}
	}
	return out
}

// logTime reads "[2026-12-01 22:13:21.579] ..." (logger.conf's dateformat).
func logTime(line string) time.Time {
	if len(line) < 25 || line[0] != '[' {
		return time.Time{}
	}
	t, _ := time.ParseInLocation("2006-01-02 15:04:05.000", line[1:24], time.Local)
	return t
}
