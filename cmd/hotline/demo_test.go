package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"
)

// The issue's own command: 20 s at 300 callers a minute with 10 operators
// ends with one JSON summary line that accounts for every caller.
func TestDemoSummaryAccountsForEveryCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs for 20 s")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--duration", "20s", "--callers-per-minute", "300", "--operators", "10", "--log-level", "warn"}, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("want one summary line on stdout, got %d: %s", len(lines), out.String())
	}
	var s struct {
		Offered, Answered, Abandoned, Waiting, Other int
		MaxWaitS                                     float64 `json:"max_wait_s"`
		AvgWaitS                                     float64 `json:"avg_wait_s"`
		HandoverP50                                  float64 `json:"handover_ms_p50"`
		HandoverMax                                  float64 `json:"handover_ms_max"`
		Handovers                                    int
		ServiceLevel                                 []struct {
			Topic          string
			Offered        int
			AnsweredWithin int      `json:"answered_within"`
			SL             *float64 `json:"sl"`
			TargetPercent  float64  `json:"target_percent"`
			TargetWithinS  float64  `json:"target_within_s"`
			MeetsTarget    bool     `json:"meets_target"`
		} `json:"service_level"`
	}
	if err := json.Unmarshal(lines[0], &s); err != nil {
		t.Fatalf("summary is not JSON: %v: %s", err, lines[0])
	}
	t.Logf("summary: %s", lines[0])
	if s.Offered < 50 || s.Answered == 0 {
		t.Fatalf("offered %d answered %d: want a busy run with calls answered", s.Offered, s.Answered)
	}
	if s.Offered != s.Answered+s.Abandoned+s.Waiting+s.Other || s.Other != 0 {
		t.Fatalf("offered %d != answered %d + abandoned %d + waiting %d (other %d)", s.Offered, s.Answered, s.Abandoned, s.Waiting, s.Other)
	}
	if s.MaxWaitS < s.AvgWaitS || s.Handovers == 0 || s.HandoverMax < s.HandoverP50 {
		t.Fatalf("implausible waits or hand-overs: %+v", s)
	}
	// The summary prints each topic's SL against its target.
	offered := 0
	for _, sl := range s.ServiceLevel {
		offered += sl.Offered
		if sl.TargetPercent <= 0 || sl.TargetWithinS <= 0 || sl.AnsweredWithin > sl.Offered {
			t.Errorf("topic %s: %+v", sl.Topic, sl)
		}
		if sl.SL != nil && (*sl.SL*100 >= sl.TargetPercent) != sl.MeetsTarget {
			t.Errorf("topic %s: sl %v against %v%% says meets=%v", sl.Topic, *sl.SL, sl.TargetPercent, sl.MeetsTarget)
		}
	}
	if len(s.ServiceLevel) == 0 || offered > s.Offered {
		t.Fatalf("service levels %+v for %d offered", s.ServiceLevel, s.Offered)
	}
}

// Every caller is reached: with callers who give up after a few seconds
// and callbacks due a second later, once the demo settles every abandoned
// caller has been called back — nothing pending, nobody unreached.
func TestDemoCallsBackEveryAbandonedCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs for about 30 s")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--duration", "10s", "--callers-per-minute", "120",
		"--operators", "3", "--talk-min", "1500ms", "--talk-max", "3s", "--wrap-up", "300ms",
		"--patience-min", "3s", "--patience-max", "6s", "--callback-min-wait", "1s", "--callback-delay", "1s",
		"--settle", "90s", "--seed", "7", "--log-level", "warn"}, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	var s struct {
		Offered, Answered, Abandoned, Waiting, Other int
		Scheduled                                    int `json:"callbacks_scheduled"`
		Reached                                      int `json:"callbacks_reached"`
		Pending                                      int `json:"callbacks_pending"`
		Unreached                                    int `json:"callbacks_unreached"`
		Attempts                                     int `json:"callback_attempts"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &s); err != nil {
		t.Fatalf("summary: %v: %s", err, out.String())
	}
	t.Logf("summary: %s", bytes.TrimSpace(out.Bytes()))
	if s.Offered != s.Answered+s.Abandoned+s.Waiting+s.Other || s.Waiting != 0 {
		t.Fatalf("callers not accounted for after settling: %+v", s)
	}
	// Menu hang-ups and waits under a second owe nothing; the rest do.
	if s.Abandoned == 0 || s.Scheduled == 0 || s.Attempts == 0 {
		t.Fatalf("want abandons owed callbacks, and attempts made: %+v", s)
	}
	if s.Pending != 0 || s.Unreached != 0 || s.Reached != s.Scheduled {
		t.Fatalf("not every abandoned caller was reached: %+v", s)
	}
}

// The demo's log masks the virtual citizens' numbers (770XXXXXXXX) unless
// --log-full-numbers asks for them.
func TestDemoLogMasksNumbersUnlessAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("two demo runs of 3 s")
	}
	full := regexp.MustCompile(`770[0-9]{8}`)
	masked := regexp.MustCompile(`"caller": "•{9}[0-9]{2}"`)
	for _, reveal := range []bool{false, true} {
		args := []string{"demo", "--duration", "3s", "--callers-per-minute", "240", "--operators", "2",
			"--talk-min", "200ms", "--talk-max", "400ms", "--seed", "3"}
		if reveal {
			args = append(args, "--log-full-numbers")
		}
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("demo exit %d: %s", code, errb.String())
		}
		log := errb.String()
		switch {
		case !reveal && (full.MatchString(log) || !masked.MatchString(log)):
			t.Fatalf("default log: want masked callers and no full number, got %q and:\n%s", full.FindString(log), log)
		case reveal && !full.MatchString(log):
			t.Fatalf("--log-full-numbers: no full number in the log:\n%s", log)
		}
	}
}

// `hotline demo --http ADDR` prints the desktop's address and a sign-in
// for each demo operator that works while the demo runs.
func TestDemoPrintsWorkingSignIns(t *testing.T) {
	var out bytes.Buffer
	var errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--http", "127.0.0.1:0", "--duration", "1m", "--operators", "2", "--log-level", "warn"}, &out, &errb)
	}()
	banner := regexp.MustCompile(`Operator desktop: (http://\S+/)[\s\S]*operator 1001  secret (\S+)[\s\S]*Wallboard: \S+  supervisor supervisor  secret (\S+)`)
	var m []string
	// Generous: under the race detector on a 2-core machine loaded by
	// other packages' tests, a demo once printed no banner within 30 s.
	deadline := time.Now().Add(90 * time.Second)
	for m == nil && time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("demo exited %d before printing its sign-ins: %s", code, errb.String())
		case <-time.After(50 * time.Millisecond): // polling the demo's output
		}
		m = banner.FindStringSubmatch(errb.String())
	}
	if m == nil {
		t.Fatalf("no desktop address and sign-in in the demo's output:\n%s", errb.String())
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		id, secret string
		want       int
	}{{"1001", m[2], http.StatusSeeOther}, {"1001", m[2] + "x", http.StatusUnauthorized}, {"supervisor", m[3], http.StatusSeeOther}} {
		id, secret, want := c.id, c.secret, c.want
		resp, err := noRedirect.PostForm(m[1]+"login", url.Values{"id": {id}, "secret": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("sign-in with %q: %d, want %d", secret, resp.StatusCode, want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("demo exit %d after Ctrl-C: %s", code, errb.String())
	}
}

// Two instances: the second stops twice during the run and comes back; a
// survivor takes its application over each time and every caller is
// still accounted for once the demo settles (nobody left waiting, every
// owed callback made).
func TestDemoTwoInstancesTakeOver(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs for about 30 s")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--instances", "2", "--failover-every", "4s", "--failover-for", "4s",
		"--duration", "14s", "--callers-per-minute", "120", "--operators", "4", "--talk-min", "1500ms", "--talk-max", "3s",
		"--wrap-up", "300ms", "--patience-min", "3s", "--patience-max", "6s", "--callback-min-wait", "1s", "--callback-delay", "1s",
		"--settle", "90s", "--seed", "11", "--log-level", "warn"}, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	var s struct {
		Offered, Answered, Abandoned, Waiting, Other int
		Pending                                      int `json:"callbacks_pending"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &s); err != nil {
		t.Fatalf("summary: %v: %s", err, out.String())
	}
	t.Logf("summary: %s", bytes.TrimSpace(out.Bytes()))
	if s.Offered < 10 || s.Offered != s.Answered+s.Abandoned+s.Waiting+s.Other || s.Waiting != 0 || s.Pending != 0 {
		t.Fatalf("callers not accounted for after settling: %+v", s)
	}
	log := errb.String()
	for _, want := range []string{"stopping an instance to show takeover", "taking its application over", "instance back"} {
		if !bytes.Contains([]byte(log), []byte(want)) {
			t.Errorf("the log never says %q", want)
		}
	}
}
