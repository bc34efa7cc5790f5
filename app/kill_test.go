package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/testclock"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Environment of the hotline child process (TestHelperHotlineProcess).
const (
	envKillChild  = "HOTLINE_KILL_CHILD"
	envKillARI    = "HOTLINE_KILL_ARI"
	envKillRedis  = "HOTLINE_KILL_REDIS"
	envKillCentre = "HOTLINE_KILL_CENTRE"
)

const (
	// killTimeScale: the router's 30 s citizen ring timeout lasts 3 s in the
	// emulator, long enough to SIGKILL the router while citizens ring.
	killTimeScale = 0.1
	// killAttemptLease outlives a whole attempt of the first process
	// (operator ring, whisper, 3 s of citizen ringing), so no attempt of a
	// live router expires, yet recovery after the crash fits in the test.
	killAttemptLease = 5 * time.Second
	killTopic        = "general" // operators 1001, 1002 and 1004
)

var killOperators = []string{"1001", "1002", "1004"}

// killConfig is the config of both the parent and the child processes.
func killConfig(t *testing.T, centre string) *config.Config {
	cfg := callbackConfig(t, 0) // first attempt at once, the next after 1h
	cfg.Centre.ID = centre
	return cfg
}

// TestHelperHotlineProcess is the hotline process of TestKillDuringCallbackAttempts:
// it does nothing unless run by it, and then runs until killed.
func TestHelperHotlineProcess(t *testing.T) {
	if os.Getenv(envKillChild) != "1" {
		return
	}
	cfg := killConfig(t, os.Getenv(envKillCentre))
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.Lock(os.Stderr), testLogLevel))
	a, err := app.New(app.Options{
		Config: cfg, RedisAddr: os.Getenv(envKillRedis), Log: log, Now: testclock.Now,
		ARI: ariadapter.Options{URL: os.Getenv(envKillARI), User: "hotline", Password: "secret",
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
		CallbackAttemptLease: killAttemptLease,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotline child:", err)
		os.Exit(2)
	}
	err = a.Run(context.Background())
	fmt.Fprintln(os.Stderr, "hotline child: Run returned:", err)
	os.Exit(3)
}

// syncBuffer collects a child's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// dialWatch records, for every number, when each dialled leg ended, and
// whether a number was dialled while an earlier leg to it was still up.
type dialWatch struct {
	mu       sync.Mutex
	seen     map[string]bool      // channel ids
	endedAt  map[string]time.Time // by channel id
	overlaps []string
}

func watchDials(ctx context.Context, emu *emulator.Server, numbers []string) *dialWatch {
	w := &dialWatch{seen: map[string]bool{}, endedAt: map[string]time.Time{}}
	go func() {
		for ctx.Err() == nil {
			for _, n := range numbers {
				ds := emu.Dialled(n)
				for i, d := range ds {
					if d.Leg == nil || w.isSeen(d.ChannelID) {
						continue
					}
					w.mu.Lock()
					w.seen[d.ChannelID] = true
					w.mu.Unlock()
					// A new dial: every earlier leg to the number must be over.
					for _, prev := range ds[:i] {
						if prev.Leg == nil {
							continue
						}
						select {
						case <-prev.Leg.Ended():
						default:
							w.mu.Lock()
							w.overlaps = append(w.overlaps, fmt.Sprintf("%s: %s dialled while %s still up", n, d.ChannelID, prev.ChannelID))
							w.mu.Unlock()
						}
					}
					go func(id string, leg *emulator.CallHandle) {
						select {
						case <-leg.Ended():
							w.mu.Lock()
							w.endedAt[id] = time.Now()
							w.mu.Unlock()
						case <-ctx.Done():
						}
					}(d.ChannelID, d.Leg)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return w
}

func (w *dialWatch) isSeen(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[id]
}

func (w *dialWatch) ended(id string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.endedAt[id]
	return t, ok
}

// A router process is killed with SIGKILL while three callback attempts
// are in flight (citizens ringing) and ten are scheduled; after a restart
// every one of the 13 is either completed or scheduled again, and no
// number is ever dialled twice at once.
func TestKillDuringCallbackAttempts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hotline as a child process")
	}
	centre := redistest.Prefix(t)
	cfg := killConfig(t, centre)
	emu := emulator.New(emulator.Options{App: "hotline", User: "hotline", Password: "secret", TimeScale: killTimeScale})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	addr := redistest.Addr(t)
	rdb := redistest.Client(t, addr)
	for _, op := range cfg.Operators {
		emu.AddPhone(op.Endpoint, emulator.Phone{Registered: true, AnswerAfter: 30 * time.Millisecond})
	}
	// Before the crash citizens let it ring (until the originate times out);
	// after it they answer and talk briefly.
	var answering atomic.Bool
	emu.AddTrunk("carrier", emulator.Trunk{Citizen: func(string) emulator.Phone {
		if answering.Load() {
			return emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 200 * time.Millisecond}
		}
		return emulator.Phone{NeverAnswer: true}
	}})
	ag := agents.New(rdb, centre)
	store := callbacks.New(rdb, centre, callbacks.Options{CountryCode: cfg.Centre.CountryCode})

	var outputs []*syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			for i, o := range outputs {
				t.Logf("hotline process %d output:\n%s", i+1, o.String())
			}
		}
	})
	startChild := func() *exec.Cmd {
		t.Helper()
		testclock.Now() // fixes the clock's offset, which the child inherits
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHotlineProcess$")
		cmd.Env = append(os.Environ(), envKillChild+"=1", envKillARI+"="+emu.URL(),
			envKillRedis+"="+addr, envKillCentre+"="+centre)
		out := &syncBuffer{}
		outputs = append(outputs, out)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := emu.WaitConnected(ctx); err != nil {
			t.Fatalf("hotline process did not connect to the emulator: %v", err)
		}
		return cmd
	}
	eventually := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	get := func(id string) callbacks.Callback {
		t.Helper()
		cb, err := store.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("callback %s lost: %v", id, err)
		}
		return cb
	}

	first := startChild()
	for _, id := range killOperators {
		fc := emu.DialFromPhone("PJSIP/"+id, "*11", nil)
		select {
		case <-fc.Ended():
		case <-time.After(10 * time.Second):
			t.Fatalf("login call of %s did not end", id)
		}
		eventually("operator "+id+" ready", 10*time.Second, func() bool {
			a, err := ag.Get(context.Background(), id)
			return err == nil && a.State == agents.Ready
		})
	}

	ctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	r := cfg.CallbackRules(killTopic)
	rules := func(first time.Duration) callbacks.Rules {
		return callbacks.Rules{
			Numbers:     callbacks.NumberRules{CountryCode: cfg.Centre.CountryCode, Allow: r.Allow, Deny: r.Deny},
			Delays:      []time.Duration{first, time.Hour},
			MaxAttempts: r.MaxAttempts, Expiry: r.Expiry.D(), Calendar: cfg.Hours,
		}
	}
	type owed struct {
		id, number string
		now        bool // due at once: in flight at the crash
	}
	var all []owed
	var numbers []string
	now := testclock.Now() // the child's clock: it decides what is due
	for i := range 13 {
		o := owed{number: fmt.Sprintf("+7900700%04d", i+1), now: i < 3}
		numbers = append(numbers, o.number)
		delay := time.Hour
		if o.now {
			delay = 0
		}
		cb, created, err := store.Schedule(context.Background(), callbacks.Request{
			RawNumber: o.number, Topic: killTopic, Language: "ru", Reason: callbacks.ReasonAbandoned, QueueTime: now,
		}, rules(delay), now)
		if err != nil || !created {
			t.Fatalf("schedule %s: created %v, %v", o.number, created, err)
		}
		o.id = cb.ID
		all = append(all, o)
	}
	w := watchDials(ctx, emu, numbers)

	// Three attempts in flight: every due citizen's phone is ringing.
	eventually("three citizens ringing", 10*time.Second, func() bool {
		for _, o := range all[:3] {
			ds := emu.Dialled(o.number)
			if len(ds) != 1 || ds[0].Outcome != "ringing" {
				return false
			}
		}
		return true
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := time.Now()
	for _, o := range all[:3] {
		if st := get(o.id).Status; st != callbacks.StatusInFlight {
			t.Fatalf("callback %s was %s at the crash, want in_flight", o.number, st)
		}
		if ds := emu.Dialled(o.number); len(ds) != 1 || !ds[0].Time.Before(killedAt) {
			t.Fatalf("%s dialled %d times before the crash, want once", o.number, len(ds))
		}
	}
	eventually("the emulator to see hotline gone", 5*time.Second, func() bool { return !emu.Connected() })

	answering.Store(true)
	restartedAt := time.Now()
	startChild()
	eventually("the interrupted callbacks reached after the restart", 15*time.Second, func() bool {
		for _, o := range all[:3] {
			if get(o.id).Status != callbacks.StatusReached {
				return false
			}
		}
		return true
	})
	t.Logf("killed %v after scheduling; reached again %v after the restart",
		killedAt.Sub(now).Round(time.Millisecond), time.Since(restartedAt).Round(time.Millisecond))

	for _, o := range all {
		cb := get(o.id)
		ds := emu.Dialled(o.number)
		if !o.now {
			if cb.Status != callbacks.StatusScheduled || cb.DueAt.Before(now.Add(50*time.Minute)) || len(ds) != 0 {
				t.Errorf("future callback %s: %s due %v, dialled %d times; want still scheduled, never dialled",
					o.number, cb.Status, cb.DueAt, len(ds))
			}
			continue
		}
		if len(ds) < 2 || !ds[len(ds)-1].Time.After(killedAt) {
			t.Errorf("interrupted callback %s dialled %d times, want again after the restart", o.number, len(ds))
			continue
		}
		// Dials never overlap: each leg ended before the next was dialled.
		for i := 1; i < len(ds); i++ {
			prev := ds[i-1]
			end, ok := w.ended(prev.ChannelID)
			if !ok || end.After(ds[i].Time) {
				t.Errorf("%s: %s (dialled %v) still up when %s was dialled at %v (ended %v, %v)", o.number,
					prev.ChannelID, prev.Time.Format("15:04:05.000"), ds[i].ChannelID, ds[i].Time.Format("15:04:05.000"),
					end.Format("15:04:05.000"), ok)
			}
		}
		if last := ds[len(ds)-1]; last.Outcome != "answered" || !strings.HasPrefix(last.ChannelID, "cb-"+o.id+"-c") {
			t.Errorf("%s: last dial %s %s, want the callback's answered leg", o.number, last.ChannelID, last.Outcome)
		}
	}
	stopWatch()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.overlaps {
		t.Error(o)
	}
}
