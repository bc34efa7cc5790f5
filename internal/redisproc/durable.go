package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Durable is a redis-server that keeps its data in an append-only file
// fsynced on every write (--appendonly yes --appendfsync always), so it can
// be SIGKILLed and restarted on the same port and data directory with
// nothing acknowledged lost, and SIGSTOPped to stall every client. Fault
// tests (package chaos) use it; StartServer's throw-away servers are
// unchanged.
type Durable struct {
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *lockedBuffer
	paused bool
}

// StartDurable starts a durable redis-server on a free 127.0.0.1 port with
// its data in dir (which must exist) and waits until it answers PING.
func StartDurable(ctx context.Context, dir string) (*Durable, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	var lastErr error
	// A port can be taken between our probe and redis' bind; try a few.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("redisproc: free port: %w", err)
		}
		d := &Durable{bin: bin, dir: dir, port: port}
		if lastErr = d.start(ctx); lastErr == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// Addr is host:port; it stays the same across restarts.
func (d *Durable) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) }

// Dir is the data directory holding the append-only file.
func (d *Durable) Dir() string { return d.dir }

func (d *Durable) start(ctx context.Context) error {
	cmd := exec.Command(d.bin,
		"--port", strconv.Itoa(d.port), "--bind", "127.0.0.1",
		"--dir", d.dir, "--appendonly", "yes", "--appendfsync", "always",
		"--save", "", "--loglevel", "warning")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisproc: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	d.mu.Lock()
	d.cmd, d.exited, d.out, d.paused = cmd, exited, out, false
	d.mu.Unlock()

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		// PING answers only once the append-only file is loaded: a client
		// never sees a half-restored server.
		if ping(d.Addr()) {
			return nil
		}
		select {
		case <-exited:
			d.mu.Lock()
			d.cmd = nil // nothing left to kill; Restart may try again
			d.mu.Unlock()
			return fmt.Errorf("redisproc: redis-server on %s exited: %s", d.Addr(), bytes.TrimSpace(out.Bytes()))
		case <-ctx.Done():
			d.Kill()
			return ctx.Err()
		case <-deadline.C:
			d.Kill()
			return fmt.Errorf("redisproc: redis-server on %s did not answer PING in 10s", d.Addr())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL (no shutdown, no final fsync: a crash) and waits for
// the process to exit. It is a no-op when the server is not running.
func (d *Durable) Kill() {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.cmd, d.paused = nil, false
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart starts the server again on the same port and data directory
// (after Kill) and waits until it has replayed its append-only file.
func (d *Durable) Restart(ctx context.Context) error {
	d.mu.Lock()
	running := d.cmd != nil
	d.mu.Unlock()
	if running {
		return errors.New("redisproc: restart of a running server")
	}
	var err error
	// The old process's listening socket is gone with it, but give the
	// kernel a few tries if the bind races its clean-up.
	for attempt := 0; attempt < 5; attempt++ {
		if err = d.start(ctx); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// Pause sends SIGSTOP: the server keeps its connections but answers
// nothing, as a Redis stalled by the kernel, a fork or a hypervisor.
func (d *Durable) Pause() error { return d.signal(syscall.SIGSTOP, true) }

// Resume sends SIGCONT after Pause.
func (d *Durable) Resume() error { return d.signal(syscall.SIGCONT, false) }

func (d *Durable) signal(sig syscall.Signal, paused bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return errors.New("redisproc: server not running")
	}
	if err := d.cmd.Process.Signal(sig); err != nil {
		return err
	}
	d.paused = paused
	return nil
}

// Close resumes a paused server and kills it; safe to call more than once.
func (d *Durable) Close() {
	d.mu.Lock()
	if d.cmd != nil && d.paused {
		_ = d.cmd.Process.Signal(syscall.SIGCONT)
	}
	d.mu.Unlock()
	d.Kill()
}

// Output is what the running (or last) server printed.
func (d *Durable) Output() string {
	d.mu.Lock()
	out := d.out
	d.mu.Unlock()
	if out == nil {
		return ""
	}
	return string(out.Bytes())
}

// lockedBuffer collects a child's output, capped at 64 KiB.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() < 64<<10 {
		b.b.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}
