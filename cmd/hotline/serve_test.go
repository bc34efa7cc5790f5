package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `hotline serve` with flags and environment routes a call end to end,
// reloads its config on SIGHUP and on `hotline reload` (refusing a broken
// one and keeping the running one), shows the call to `hotline status`,
// and drains on the first stop signal: it returns only when the call in
// progress has ended.
func TestServeRoutesReloadsAndDrains(t *testing.T) {
	emu := emulator.New(emulator.Options{App: "hotline", User: "hotline", Password: "pw", TimeScale: 0.02})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	emu.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 20 * time.Millisecond})
	redisAddr := redistest.Addr(t)

	example := exampleCopy(t)
	cfgPath := filepath.Join(t.TempDir(), "hotline.yaml")
	good := strings.Replace(example, "id: kz-1406", "id: "+strings.ToLower(redistest.Prefix(t)), 1)
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOTLINE_ARI_PASSWORD", "pw")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAt(ctx, clockAt(openWednesday(t)), []string{"serve", "--config", cfgPath, "--redis", redisAddr, "--ari-url", emu.URL(),
			"--ari-user", "hotline", "--http", "127.0.0.1:0", "--api-token", "serve-token", "--log-level", "info"}, &stdout, &stderr)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := emu.WaitConnected(wctx); err != nil {
		t.Fatalf("serve did not connect: %v\n%s", err, stderr.String())
	}
	waitFor(t, &stderr, "business hours: open now (Wed 11:00 Asia/Almaty)")
	login := emu.DialFromPhone("PJSIP/1001", "*11", nil)
	<-login.Ended()
	c := emu.Call(emulator.Caller{Number: "79001234567", Script: []emulator.Step{
		{OnMedia: "/choose_language", Digits: "2"}, {OnMedia: "/topic_menu", Digits: "3"},
	}})
	select {
	case <-c.Bridged():
	case <-time.After(10 * time.Second):
		t.Fatalf("call not bridged:\n%s", stderr.String())
	}

	// A broken config is refused on SIGHUP; the running one stays.
	if err := os.WriteFile(cfgPath, []byte(good+"\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &stderr, "config reload refused")
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, &stderr, "configuration reloaded")

	// The same reload over the API: the broken file's problem is shown and
	// the running config kept; the good one is taken.
	api := "http://" + waitForMatch(t, &stderr, httpAddrRe)
	staff := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runAt(ctx, clockAt(openWednesday(t)), append(args, "--api", api, "--api-token", "serve-token"), &out, &errb)
		return code, out.String(), errb.String()
	}
	if err := os.WriteFile(cfgPath, []byte(good+"\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := staff("reload"); code != 1 || !strings.Contains(errOut, "422 Unprocessable Entity: the config file is refused; the running config is kept") ||
		!strings.Contains(errOut, "bogus_key") || out != "" {
		t.Fatalf("hotline reload of a broken file: exit %d, out %q, err %q", code, out, errOut)
	}
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := staff("reload"); code != 0 || !strings.HasPrefix(out, "reloaded: "+cfgPath+": centre ") || !strings.Contains(out, "business hours: open now") {
		t.Fatalf("hotline reload: exit %d, out %q, err %q", code, out, errOut)
	}
	// The real move route reads the CLI's body: a callback it does not know
	// is 404 (a body it could not read would be 400).
	if code, _, errOut := staff("callbacks", "move", "nope", "--topic", "general"); code != 1 || !strings.Contains(errOut, "the API answered 404 Not Found") {
		t.Fatalf("hotline callbacks move of an unknown callback: exit %d, err %q", code, errOut)
	}
	if code, out, errOut := staff("status"); code != 0 || !regexp.MustCompile(`(?m)^1001 +\S.* on_call `).MatchString(out) {
		t.Fatalf("hotline status during the call: exit %d, err %q:\n%s", code, errOut, out)
	}

	// First stop: drain. serve waits for the conversation to end.
	cancel()
	waitFor(t, &stderr, "draining")
	select {
	case code := <-done:
		t.Fatalf("serve returned %d while a call was in progress", code)
	case <-time.After(200 * time.Millisecond):
	}
	c.Hangup()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the last call ended")
	}
}

// openWednesday is 11:00 on a Wednesday in Almaty, inside the example
// config's business hours, whatever the wall clock says.
func openWednesday(t *testing.T) time.Time {
	t.Helper()
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 12, 2, 11, 0, 0, 0, almaty)
}

// clockAt is a clock that reads start now and runs on from there at the
// speed of the real one, so leases and timers still expire.
func clockAt(start time.Time) clock {
	t0 := time.Now()
	return func() time.Time { return start.Add(time.Since(t0)) }
}

// httpAddrRe finds the API's address in serve's log.
var httpAddrRe = regexp.MustCompile(`http api listening\s+\{"addr": "([^"]+)"\}`)

// waitForMatch waits for the log to match re and returns its first group.
func waitForMatch(t *testing.T, b *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never matched %s:\n%s", re, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, b *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", text, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
