package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/internal/testclock"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
)

// Environment of the hotline child (TestHelperChaosHotline).
const (
	envChild  = "HOTLINE_CHAOS_CHILD"
	envARI    = "HOTLINE_CHAOS_ARI"
	envRedis  = "HOTLINE_CHAOS_REDIS"
	envCentre = "HOTLINE_CHAOS_CENTRE"
	envApp    = "HOTLINE_CHAOS_APP" // the instance's Stasis application
	envLease  = "HOTLINE_CHAOS_LEASE"
	// envLogs names a directory to keep every hotline child's log in
	// (chaos-<test>-<n>.log); by default they go to the test's temp dir
	// and only their warnings and errors are shown, on failure.
	envLogs = "HOTLINE_CHAOS_LOGS"
)

const ariUser, ariPassword = "hotline", "secret"

// TestHelperChaosHotline is the hotline process under test: it does
// nothing unless the suite re-executes the test binary for it, and then
// runs until killed.
func TestHelperChaosHotline(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		return
	}
	cfg, err := chaosConfig(os.Getenv(envCentre))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotline child: config:", err)
		os.Exit(2)
	}
	// Info: each call's story is in the log, for the report of a failure.
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.Lock(os.Stderr), zapcore.InfoLevel))
	lease, _ := time.ParseDuration(os.Getenv(envLease))
	a, err := app.New(app.Options{
		Config: cfg, RedisAddr: os.Getenv(envRedis), Log: log, Now: testclock.Now, FleetLease: lease,
		ARI: ariadapter.Options{URL: os.Getenv(envARI), User: ariUser, Password: ariPassword, App: os.Getenv(envApp),
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotline child:", err)
		os.Exit(2)
	}
	err = a.Run(context.Background())
	fmt.Fprintln(os.Stderr, "hotline child: Run returned:", err)
	os.Exit(3)
}

// hotline is one running child process.
type hotline struct {
	app     string // its Stasis application
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	killed  atomic.Bool // by the test: not a crash to report
}

// startHotline runs a hotline child against the rig's emulator and Redis
// and waits until it holds the application's WebSocket.
func (r *rig) startHotline() *hotline {
	r.t.Helper()
	return r.startInstance("hotline")
}

// startInstance runs a hotline child for Stasis application app (an
// instance of an active-active fleet; the lease is fleetLease) and waits
// until it holds the application's WebSocket.
func (r *rig) startInstance(app string) *hotline {
	r.t.Helper()
	dir := os.Getenv(envLogs)
	if dir == "" {
		dir = r.tmp
	}
	r.nHotline++
	path := filepath.Join(dir, fmt.Sprintf("chaos-%s-%d.log", r.t.Name(), r.nHotline))
	f, err := os.Create(path)
	if err != nil {
		r.t.Fatal(err)
	}
	testclock.Now() // fixes the clock's offset, which the child inherits
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChaosHotline$")
	cmd.Env = append(os.Environ(), envChild+"=1", envARI+"="+r.emu.URL(),
		envRedis+"="+r.redisURL, envCentre+"="+r.centre, envApp+"="+app, envLease+"="+fleetLease.String())
	cmd.Stdout, cmd.Stderr = f, f
	// A test binary that dies (a panic, a timeout) takes hotline with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		r.t.Fatal(err)
	}
	_ = f.Close() // the child holds its own descriptor
	h := &hotline{app: app, cmd: cmd, exited: make(chan struct{}), logPath: path}
	go func() {
		_ = cmd.Wait()
		close(h.exited)
	}()
	r.hotlines = append(r.hotlines, h)
	r.t.Cleanup(func() { h.kill() })
	r.eventually("hotline "+app+" connected to the emulator", 20*time.Second, func() bool { return r.emu.Connected(app) })
	return h
}

// kill sends SIGKILL and waits for the process to be gone.
func (h *hotline) kill() {
	select {
	case <-h.exited:
		return
	default:
	}
	h.killed.Store(true)
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.exited
}

// killHotline SIGKILLs the running hotline and waits until the emulator
// has seen its WebSocket go.
func (r *rig) killHotline(h *hotline) {
	r.t.Helper()
	h.kill()
	r.eventually("the emulator to see hotline gone", 5*time.Second, func() bool { return !r.emu.Connected(h.app) })
}
