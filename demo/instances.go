package demo

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// instances are the demo's hotline processes, each an app.App in this
// process with its own Stasis application, sharing the Redis and the
// emulated Asterisk.
type instances struct {
	o         Options
	emu       *emulator.Server
	cfg       *config.Config
	redisAddr string
	secrets   map[string]string
	t         *tally
	log       *zap.Logger

	mu      sync.Mutex
	running map[int]*instance
	addrs   map[int]string // HTTP address each instance got first
}

type instance struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

// appName is instance i's Stasis application: "hotline" when it is the
// only one (the single-instance dialplan), else hotline-<i>.
func (f *instances) appName(i int) string {
	if f.o.Instances <= 1 {
		return "hotline"
	}
	return "hotline-" + strconv.Itoa(i)
}

// httpAddr is where instance i serves HTTP: Options.HTTPAddr for the
// first, the ports after it for the others (any free port when it is 0),
// the same address again when an instance comes back.
func (f *instances) httpAddr(i int) string {
	if f.o.HTTPAddr == "" {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.addrs[i]; ok {
		return a
	}
	if i == 1 {
		return f.o.HTTPAddr
	}
	host, port, err := net.SplitHostPort(f.o.HTTPAddr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n == 0 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(n+i-1))
}

// start runs instance i and waits until it serves its application (and
// HTTP, whose address it returns).
func (f *instances) start(ctx context.Context, i int) (string, error) {
	name := f.appName(i)
	a, err := app.New(app.Options{
		Env:    func(k string) string { return f.secrets[k] },
		Config: f.cfg, RedisAddr: f.redisAddr, HTTPAddr: f.httpAddr(i), APIToken: f.o.APIToken,
		Log: f.log.Named(name),
		ARI: ariadapter.Options{URL: f.emu.URL(), User: "hotline", Password: "demo", App: name,
			ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second},
		OnHandover: f.t.handover,
		OnRecord: func(r records.Record) {
			f.t.record(r)
			logCall(f.log, r)
		},
	})
	if err != nil {
		return "", fmt.Errorf("demo: instance %s: %w", name, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in := &instance{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- a.Run(runCtx) }()
	f.mu.Lock()
	if f.running == nil {
		f.running, f.addrs = map[int]*instance{}, map[int]string{}
	}
	f.running[i] = in
	f.mu.Unlock()

	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for !f.emu.Connected(name) {
		select {
		case <-wctx.Done():
			return "", fmt.Errorf("demo: hotline %s did not connect to the emulator: %w", name, wctx.Err())
		case err := <-in.done:
			return "", fmt.Errorf("demo: hotline %s stopped: %w", name, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if f.o.HTTPAddr == "" {
		return "", nil
	}
	addr, err := a.WaitHTTP(wctx)
	if err != nil {
		return "", fmt.Errorf("demo: hotline %s did not listen on %s: %w", name, f.httpAddr(i), err)
	}
	f.mu.Lock()
	f.addrs[i] = addr
	f.mu.Unlock()
	f.log.Info("HTTP API", zap.String("app", name), zap.String("addr", addr))
	return addr, nil
}

// first is instance 1, which never stops before the run ends.
func (f *instances) first() *app.App {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[1].app
}

// stop ends instance i, as a process stopping would: its lease is given
// up and a survivor takes its calls over.
func (f *instances) stop(i int) {
	f.mu.Lock()
	in := f.running[i]
	delete(f.running, i)
	f.mu.Unlock()
	if in == nil {
		return
	}
	in.cancel()
	<-in.done
}

func (f *instances) stopAll() {
	for i := f.o.Instances; i >= 1; i-- {
		f.stop(i)
	}
}

// failovers stops the last instance every FailoverEvery for FailoverFor,
// then starts it again; the returned func ends the cycle.
func (f *instances) failovers(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	last := f.o.Instances
	name := f.appName(last)
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(f.o.FailoverEvery):
			}
			f.log.Warn("demo: stopping an instance to show takeover: a survivor adopts its calls, and gives them back when it returns",
				zap.String("app", name), zap.Duration("back_in", f.o.FailoverFor))
			f.stop(last)
			select {
			case <-ctx.Done():
				return
			case <-time.After(f.o.FailoverFor):
			}
			if _, err := f.start(ctx, last); err != nil {
				f.log.Error("demo: instance did not come back", zap.String("app", name), zap.Error(err))
				return
			}
			f.log.Warn("demo: instance back; its application is given back to it", zap.String("app", name))
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
