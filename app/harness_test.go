package app_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/testclock"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// timeScale shrinks the emulated Asterisk's playbacks and originate
// timeouts so scenarios run in a fraction of real time; the scripted
// callers' and phones' own durations are given directly.
const timeScale = 0.02

// harness is one hotline (real Redis, real ari/v5 client through the
// adapter) in front of one emulated Asterisk.
type harness struct {
	t      *testing.T
	emu    *emulator.Server
	app    *app.App
	rdb    *redis.Client
	cfg    *config.Config
	agents *agents.Registry
	stream *records.Stream
	cbs    *callbacks.Store
	halt   func() // stops the running instance (nil: none runs)
	log    *zap.Logger
	// tweak, when set, changes the app's options before each start.
	tweak func(*app.Options)

	mu        sync.Mutex
	handovers []time.Duration
	// offset moves the app's clock ahead of the wall clock (advance):
	// what a long wait or conversation would look like, without waiting.
	offset time.Duration
}

// now is the clock every app of the harness runs on: the test clock
// (HOTLINE_TEST_NOW may move it to any hour and weekday) plus advance.
func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return testclock.Now().Add(h.offset)
}

// harnessClock is the harness's clock for the emulator: its time, real
// timers.
type harnessClock struct{ h *harness }

func (c harnessClock) Now() time.Time { return c.h.now() }

func (c harnessClock) AfterFunc(d time.Duration, f func()) emulator.Timer {
	return time.AfterFunc(d, f)
}

// advance moves the harness's clock forward by d.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.offset += d
	h.mu.Unlock()
}

const testToken = "test-token"

var allDay = config.Hours{TimeZone: "UTC", Weekly: []config.WeeklyOpen{
	{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"},
}}

// closedNow is business hours that are closed when the test runs, at any
// hour of any weekday: open one minute a week, three days from now.
func closedNow() config.Hours {
	day := testclock.Now().UTC().Add(72 * time.Hour).Weekday()
	return config.Hours{TimeZone: "UTC", Weekly: []config.WeeklyOpen{
		{Days: []string{strings.ToLower(day.String()[:3])}, Open: "00:00", Close: "00:01"},
	}}
}

// testConfig is the example config with timers shortened for tests and a
// unique centre id so tests can share one Redis.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	cfg.Centre.ID = redistest.Prefix(t)
	cfg.Hours = allDay // tests must not depend on the hour they run at
	for _, n := range cfg.IVR.Nodes {
		n.FirstDigitTimeout = config.Duration(300 * time.Millisecond)
		n.InterDigitTimeout = config.Duration(150 * time.Millisecond)
	}
	// Test conversations last a fraction of a second: only tests about
	// drops keep a drop window.
	setCallbacks(cfg, func(r *config.CallbackRules) { r.DropWindow = 0 })
	for _, tp := range cfg.Topics {
		tp.RingTimeout = config.Duration(5 * time.Second) // × timeScale in the emulator
		tp.WrapUp = config.Duration(200 * time.Millisecond)
		tp.AnnounceEvery = 0
	}
	return cfg
}

// setCallbacks changes the callback rules of the centre and of every topic
// (Load merges the centre's rules into each topic that overrides them).
func setCallbacks(cfg *config.Config, f func(*config.CallbackRules)) {
	f(&cfg.Callbacks)
	for _, tp := range cfg.Topics {
		if tp.Callbacks != nil {
			f(tp.Callbacks)
		}
	}
}

func newHarness(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, emulator.Options{})
}

// newHarnessWith starts the emulator with extra options (e.g. Fallback).
func newHarnessWith(t *testing.T, cfg *config.Config, eo emulator.Options) *harness {
	t.Helper()
	return newHarnessTweaked(t, cfg, eo, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), nil)
}

// newHarnessTweaked starts a harness logging to log whose app options
// tweak changes (nil: none).
func newHarnessTweaked(t *testing.T, cfg *config.Config, eo emulator.Options, log *zap.Logger, tweak func(*app.Options)) *harness {
	t.Helper()
	return newHarnessOn(t, cfg, eo, log, tweak, redistest.Start(t))
}

// newHarnessOn is newHarnessTweaked on a Redis the test controls (one it
// can kill, say).
func newHarnessOn(t *testing.T, cfg *config.Config, eo emulator.Options, log *zap.Logger, tweak func(*app.Options), rdb *redis.Client) *harness {
	t.Helper()
	h := &harness{t: t, rdb: rdb, cfg: cfg,
		agents: agents.New(rdb, cfg.Centre.ID), stream: records.New(rdb, cfg.Centre.ID, 0),
		cbs: callbacks.New(rdb, cfg.Centre.ID, callbacks.Options{CountryCode: cfg.Centre.CountryCode})}
	eo.App, eo.User, eo.Password, eo.TimeScale = "hotline", "hotline", "secret", timeScale
	if eo.Clock == nil {
		// The PBX's timestamps (a channel's creation, an event's time) on
		// the app's clock, as a real Asterisk and hotline share one.
		eo.Clock = harnessClock{h}
	}
	emu := emulator.New(eo)
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	h.emu = emu
	for _, op := range cfg.Operators {
		emu.AddPhone(op.Endpoint, emulator.Phone{Registered: true, AnswerAfter: 30 * time.Millisecond})
	}
	h.log, h.tweak = log, tweak
	h.start()
	t.Cleanup(h.stop)
	return h
}

// start runs a hotline instance against the harness's emulator and Redis
// and waits until it is connected.
// newApp builds an instance on the harness's emulator and Redis: appName
// "" is the emulator's default application; set, then the test's tweak,
// change its options.
func (h *harness) newApp(appName string, log *zap.Logger, set func(*app.Options)) *app.App {
	h.t.Helper()
	opt := app.Options{
		Config: h.cfg, Redis: h.rdb, Log: log, HTTPAddr: "127.0.0.1:0", APIToken: testToken, Now: h.now,
		ARI: ariadapter.Options{URL: h.emu.URL(), App: appName, User: "hotline", Password: "secret",
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
	}
	if set != nil {
		set(&opt)
	}
	if h.tweak != nil {
		h.tweak(&opt)
	}
	a, err := app.New(opt)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// run runs a until the stop it returns (idempotent), which waits for Run
// to return and fails the test if it does not, or returns an error.
func (h *harness) run(name string, a *app.App) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					h.t.Errorf("%s stopped with %v", name, err)
				}
			case <-time.After(10 * time.Second):
				h.t.Errorf("%s did not stop within 10 s", name)
			}
		})
	}
}

func (h *harness) start() {
	h.t.Helper()
	a := h.newApp("", h.log, func(o *app.Options) {
		o.OnHandover = func(d time.Duration) {
			h.mu.Lock()
			h.handovers = append(h.handovers, d)
			h.mu.Unlock()
		}
	})
	h.app = a
	h.halt = h.run("hotline", a)
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := h.emu.WaitConnected(wctx); err != nil {
		h.t.Fatalf("hotline did not connect to the emulator: %v", err)
	}
	h.eventually("HTTP API listening", func() bool { return a.HTTPAddr() != "" })
}

// restart stops the running instance (as a crash would: nothing is handed
// over) and starts a new one on the same PBX and Redis.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.eventually("the emulator to see hotline gone", func() bool { return !h.emu.Connected() })
	h.start()
}

func (h *harness) stop() {
	if h.halt == nil {
		return
	}
	h.halt()
	h.halt = nil
}

// login logs an operator in from the phone with *11, as a person would.
func (h *harness) login(endpoint string) {
	h.t.Helper()
	fc := h.emu.DialFromPhone(endpoint, "*11", nil)
	h.waitClosed(fc.Ended(), "feature code call of "+endpoint+" to end")
	// The confirmation plays to its end before the hang-up (Asterisk
	// aborts a playback whose channel is hung up under it).
	if done := fc.Completed(); !slices.Contains(done, "sound:agent-loginok") {
		h.t.Errorf("*11 from %s: the confirmation did not play to its end (completed: %v, started: %v)", endpoint, done, fc.Played())
	}
	id := strings.TrimPrefix(endpoint, "PJSIP/")
	// Ready, or already offered a waiting caller.
	h.eventually("operator "+id+" logged in", func() bool { return h.state(id) != agents.Offline })
}

func (h *harness) state(id string) agents.State {
	a, err := h.agents.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("agent %s: %v", id, err)
	}
	return a.State
}

func (h *harness) agent(id string) agents.Agent {
	a, err := h.agents.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("agent %s: %v", id, err)
	}
	return a
}

// callback reads one callback from Redis.
func (h *harness) callback(id string) callbacks.Callback {
	h.t.Helper()
	cb, err := h.cbs.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("callback %s: %v", id, err)
	}
	return cb
}

// records returns every call record, oldest first.
func (h *harness) records() []records.Record {
	rs, err := h.stream.Range(context.Background(), "-", "+", 1000)
	if err != nil {
		h.t.Fatalf("records: %v", err)
	}
	return rs
}

func (h *harness) record(callID string) records.Record {
	h.t.Helper()
	var found []records.Record
	h.eventually("record of "+callID, func() bool {
		found = nil
		for _, r := range h.records() {
			if r.CallID == callID {
				found = append(found, r)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		h.t.Fatalf("call %s has %d records, want exactly one: %+v", callID, len(found), found)
	}
	return found[0]
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitClosed(ch <-chan struct{}, what string) {
	h.t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

// choose scripts a caller who picks language then topic digits as the
// menus start playing (barge-in).
func choose(lang, topic string) []emulator.Step {
	return []emulator.Step{
		{OnMedia: "/choose_language", Digits: lang},
		{OnMedia: "/topic_menu", Digits: topic},
	}
}

// peerOf is the channel bridged with the call ("" if none).
func peerOf(hd *emulator.CallHandle) string {
	if _, peers := hd.Bridge(); len(peers) == 1 {
		return peers[0]
	}
	return ""
}

// positionsHeard extracts N from every "you are number N" the caller heard
// (sound:hotline/<lang>/position_N).
func positionsHeard(hd *emulator.CallHandle) []string {
	var out []string
	for _, m := range hd.Played() {
		if _, n, ok := strings.Cut(m, "/position_"); ok {
			out = append(out, n)
		}
	}
	return out
}

func fmtRecord(r records.Record) string {
	return fmt.Sprintf("%s topic=%s lang=%s agent=%s outcome=%s path=%s by=%s", r.CallID, r.Topic, r.Language, r.Agent, r.Outcome, r.IVRPath, r.EndedBy)
}

// testLogLevel is Warn; HOTLINE_TEST_LOG=debug shows every call's story.
var testLogLevel = func() zapcore.Level {
	if lvl, err := zapcore.ParseLevel(os.Getenv("HOTLINE_TEST_LOG")); err == nil {
		return lvl
	}
	return zapcore.WarnLevel
}()
