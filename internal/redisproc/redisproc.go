// Package redisproc starts a throw-away redis-server from PATH: no
// persistence, loopback only, on a free port. Tests (through redistest),
// benchmarks and `hotline demo` use it; production points at a real Redis.
// Durable is the one fault tests kill and stall: it keeps an append-only
// file and survives a restart.
package redisproc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotInstalled: no redis-server on PATH.
var ErrNotInstalled = errors.New("redisproc: redis-server not found on PATH")

// StartServer starts redis-server on a free 127.0.0.1 port and waits until
// it answers PING. stop kills the server and waits for it to exit; it is
// safe to call more than once. ctx bounds only the start-up.
func StartServer(ctx context.Context) (addr string, stop func(), err error) {
	return Start(ctx, Options{})
}

// Options shape a server other than the plain one: tests of passwords, ACL
// users and TLS.
type Options struct {
	// Args are extra redis-server arguments, e.g. "--requirepass", "pw", or
	// "--user", "hotline", "on", ">pw", "~*", "&*", "+@all".
	Args []string
	// TLS, when set, makes the server speak TLS only (--port 0
	// --tls-port): the address returned is the TLS port's.
	TLS *TLS
	// ConfigFile, when set, is the server's config file (the first
	// argument): a sentinel (Args "--sentinel") rewrites its own.
	ConfigFile string
}

// TLS names the PEM files of a TLS server; clients are not asked for a
// certificate (--tls-auth-clients no).
type TLS struct {
	CertFile, KeyFile, CAFile string
}

// Start is StartServer with options. A server that requires a password
// counts as up when it answers PING with NOAUTH.
func Start(ctx context.Context, o Options) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, ErrNotInstalled
	}
	// A port can be taken between our probe and redis' bind; try a few.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", nil, fmt.Errorf("redisproc: free port: %w", err)
		}
		addr, stop, err := start(ctx, bin, port, o)
		if err == nil {
			return addr, stop, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return "", nil, lastErr
}

func start(ctx context.Context, bin string, port int, o Options) (string, func(), error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{"--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--loglevel", "warning"}
	var tlsConf *tls.Config
	if o.TLS != nil {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", o.TLS.CertFile, "--tls-key-file", o.TLS.KeyFile,
			"--tls-ca-cert-file", o.TLS.CAFile, "--tls-auth-clients", "no")
		// The probe only asks whether our own child is up on loopback;
		// the clients under test verify the certificate.
		tlsConf = &tls.Config{InsecureSkipVerify: true}
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	args = append(args, o.Args...)
	if o.ConfigFile != "" {
		args = append([]string{o.ConfigFile}, args...)
	}
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	var outMu sync.Mutex
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("redisproc: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			outMu.Lock()
			if out.Len() < 4096 {
				out.WriteString(sc.Text())
				out.WriteByte('\n')
			}
			outMu.Unlock()
		}
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if probe(addr, tlsConf) {
			return addr, stop, nil
		}
		select {
		case <-exited:
			outMu.Lock()
			msg := strings.TrimSpace(out.String())
			outMu.Unlock()
			return "", nil, fmt.Errorf("redisproc: redis-server on %s exited: %s", addr, msg)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-deadline.C:
			stop()
			return "", nil, fmt.Errorf("redisproc: redis-server on %s did not answer PING in 10s", addr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ping speaks just enough RESP to know the server is up, so this package
// needs no Redis client.
func ping(addr string) bool { return probe(addr, nil) }

// probe is ping over TLS when tlsConf is set. NOAUTH (a password or ACL
// user is required) also means up.
func probe(addr string, tlsConf *tls.Config) bool {
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, tlsConf)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
