package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline-acd/hotline/api"
	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redisopt"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
)

// serveFlags are `hotline serve`'s settings; each has an environment
// variable so secrets need not appear on a command line.
type serveFlags struct {
	config, redis, redisCA, ariURL, ariUser, ariPassword, ariApp, http, apiToken string
	drain, fleetLease                                                            time.Duration
	// redisPassword has no flag: it comes from the environment only.
	redisPassword string
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// runServe is `hotline serve`: connect to Asterisk and Redis and route
// calls until stopped. The first SIGINT/SIGTERM drains (no new calls, calls
// in progress finish, up to --drain); a second one stops at once. SIGHUP,
// or an admin's POST /api/v1/config/reload (hotline reload), reloads the
// config, keeping the running one if the new one is invalid.
func runServe(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", envOr("HOTLINE_CONFIG", "configs/hotline.yaml"), "config file (HOTLINE_CONFIG)")
	fs.StringVar(&f.redis, "redis", envOr("HOTLINE_REDIS_URL", envOr("HOTLINE_REDIS", "127.0.0.1:6379")),
		"Redis: redis://[user[:password]@]host:port[/db], rediss://... (TLS), host:port, redis+sentinel://sentinel:26379?master_name=M&addr=… or redis+cluster://node:6379?addr=…; ?wait_replicas=1 makes writes wait for a replica (HOTLINE_REDIS_URL; HOTLINE_REDIS is the older name)")
	fs.StringVar(&f.redisCA, "redis-ca", envOr("HOTLINE_REDIS_CA", ""), "PEM file of the CA that signs the Redis server's certificate, for rediss:// (HOTLINE_REDIS_CA); empty: the system's roots")
	f.redisPassword = os.Getenv("HOTLINE_REDIS_PASSWORD")
	fs.StringVar(&f.ariURL, "ari-url", envOr("HOTLINE_ARI_URL", "http://127.0.0.1:8088/ari"), "Asterisk ARI URL (HOTLINE_ARI_URL)")
	fs.StringVar(&f.ariUser, "ari-user", envOr("HOTLINE_ARI_USER", "hotline"), "ARI user (HOTLINE_ARI_USER)")
	fs.StringVar(&f.ariPassword, "ari-password", envOr("HOTLINE_ARI_PASSWORD", ""), "ARI password (HOTLINE_ARI_PASSWORD; prefer the variable)")
	fs.StringVar(&f.ariApp, "ari-app", envOr("HOTLINE_ARI_APP", "hotline"), "Stasis application name (HOTLINE_ARI_APP); each instance of an active-active fleet has its own, starting with hotline (the dialplan's StasisBroadcast filter ^hotline): hotline, hotline-2, ...")
	fs.DurationVar(&f.fleetLease, "fleet-lease", envDuration("HOTLINE_FLEET_LEASE", 3*time.Second), "how long this instance's lease on its application lasts unrenewed: how soon another instance takes its calls over after a crash (HOTLINE_FLEET_LEASE)")
	fs.StringVar(&f.http, "http", envOr("HOTLINE_HTTP", "127.0.0.1:8080"), "HTTP API, metrics and probes; empty disables (HOTLINE_HTTP)")
	fs.StringVar(&f.apiToken, "api-token", envOr("HOTLINE_API_TOKEN", ""), "bearer token for /api/v1 (HOTLINE_API_TOKEN)")
	fs.DurationVar(&f.drain, "drain", 10*time.Minute, "after the first stop signal, how long calls in progress may finish")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for tuning)")
	level := zapcore.InfoLevel
	fs.Var(&level, "log-level", "log level: debug, info, warn, error")
	fullNumbers := fs.Bool("log-full-numbers", envBool("HOTLINE_LOG_FULL_NUMBERS"), "log citizens' numbers in full, for debugging (HOTLINE_LOG_FULL_NUMBERS); masked by default")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	if err := f.checkSecrets(); err != nil {
		return err
	}
	if !strings.HasPrefix(f.ariApp, "hotline") || strings.ContainsAny(f.ariApp, "|, ") {
		// The dialplan offers calls to ^hotline; "|" separates a lease holder's parts.
		return usagef("--ari-app %q: an instance's application must start with \"hotline\" (the dialplan's StasisBroadcast filter) and hold no \"|\", comma or space", f.ariApp)
	}
	if f.fleetLease < 300*time.Millisecond || f.fleetLease > time.Minute {
		return usagef("--fleet-lease %v: want 300ms..1m", f.fleetLease)
	}
	if f.http != "" && f.apiToken == "" {
		fmt.Fprintln(stderr, "hotline serve: warning: HOTLINE_API_TOKEN is empty, so every /api/v1 call is refused")
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errReported
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// hotline waits on Asterisk and Redis almost all the time: one P
		// saves the thread wake-ups of handing each event and reply to an
		// idle P, a third of its CPU per call on a VM (make bench-pbx), at
		// no cost in hand-over latency. A router needs a few ms of CPU per
		// call, so one core serves dozens of calls a second.
		runtime.GOMAXPROCS(1)
	}
	log := newLogger(stderr, level, *fullNumbers)
	defer func() { _ = log.Sync() }()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}

	rl := &reloader{clk: clk, path: f.config, log: log}
	a, err := app.New(app.Options{
		Config: cfg, RedisAddr: f.redis, RedisPassword: f.redisPassword, RedisCA: f.redisCA,
		HTTPAddr: f.http, APIToken: f.apiToken, Log: log, Now: clk,
		ARI:        ariadapter.Options{URL: f.ariURL, User: f.ariUser, Password: f.ariPassword, App: f.ariApp},
		Reload:     rl.reload,
		FleetLease: f.fleetLease,
	})
	if err != nil {
		return err
	}
	rl.app = a // before Run: the API, which calls it, starts there
	// The app runs under its own context: the first signal only drains.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log.Info("hotline serving", zap.String("config", f.config), zap.String("ari", f.ariURL), zap.String("redis", redisopt.Redact(f.redis)))
	logHours(log, cfg, clk())
	for {
		select {
		case err := <-done:
			return err
		case <-hup:
			_, _ = rl.reload(runCtx) // it logs the outcome
		case <-ctx.Done():
			return drain(a, stop, done, f.drain, log)
		}
	}
}

// startCPUProfile profiles the process until the returned stop is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	// 1 kHz instead of the default 100 Hz: a call costs milliseconds.
	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// logHours tells whoever starts or reloads hotline whether the line is open
// now: outside business hours every caller hears "closed", which a newcomer
// would otherwise take for a fault.
func logHours(log *zap.Logger, cfg *config.Config, now time.Time) {
	msg := "business hours: " + cfg.Hours.Describe(now)
	if cfg.Hours.IsOpen(now) {
		log.Info(msg)
		return
	}
	log.Warn(msg + "; callers hear the closed prompt until then")
}

// reloader replaces the running config from its file, for SIGHUP and for
// an admin's POST /api/v1/config/reload alike: one reload at a time, and
// a file that is refused or fails to apply leaves the running config.
type reloader struct {
	mu   sync.Mutex
	clk  clock
	app  *app.App
	path string
	log  *zap.Logger
}

// reload loads the file and swaps it in. It returns a summary of the
// config now in force; a refused file is an api.ConfigRefused.
func (r *reloader) reload(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := config.Load(r.path)
	if err != nil {
		r.log.Error("config reload refused; keeping the running config", zap.String("errors", strings.TrimSpace(err.Error())))
		return "", api.ConfigRefused{Err: err}
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.app.Reload(rctx, cfg); err != nil {
		r.log.Error("config reload failed; keeping the running config", zap.Error(err))
		return "", fmt.Errorf("reload %s: %w", r.path, err)
	}
	now := r.clk()
	logHours(r.log, cfg, now)
	return fmt.Sprintf("%s: %s; business hours: %s", r.path, summary(cfg), cfg.Hours.Describe(now)), nil
}

// drain is the first stage of shutdown: no new calls, and calls in progress
// finish; a second signal (the default handler, restored by main) or the
// deadline ends it.
func drain(a *app.App, stop context.CancelFunc, done <-chan error, limit time.Duration, log *zap.Logger) error {
	a.Drain()
	log.Info("draining: no new calls; waiting for calls in progress", zap.Int("calls", a.ActiveCalls()), zap.Duration("limit", limit))
	deadline := time.After(limit)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for a.ActiveCalls() > 0 {
		select {
		case err := <-done:
			return err
		case <-deadline:
			log.Warn("drain limit reached; stopping with calls in progress", zap.Int("calls", a.ActiveCalls()))
			stop()
			return <-done
		case <-tick.C:
		}
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// envDuration reads a duration from the environment; unset is def, and an
// unparsable value is reported by the flag check (it reads as 0).
func envDuration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0
	}
	return d
}
