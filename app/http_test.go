package app_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// The API's own server closes a keep-alive connection left idle past
// IdleTimeout, and cuts off a client that trickles its request headers past
// ReadHeaderTimeout: neither can hold one of the process's descriptors.
func TestHTTPServerClosesIdleAndSlowConnections(t *testing.T) {
	const idle, header = 400 * time.Millisecond, 300 * time.Millisecond
	h := newHarnessTweaked(t, testConfig(t), emulator.Options{}, zaptest.NewLogger(t, zaptest.Level(testLogLevel)),
		func(o *app.Options) { o.HTTPTimeouts = app.HTTPTimeouts{ReadHeader: header, Idle: idle} })
	addr := h.app.HTTPAddr()

	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dial(t, addr)
		br := bufio.NewReader(conn)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: hotline\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET /healthz: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET /healthz: %s, close=%v; want 200 on a kept-alive connection", resp.Status, resp.Close)
		}
		elapsed := waitServerClose(t, conn, br, 5*time.Second)
		// The idle clock starts as the response is written, a moment
		// before we finish reading it: allow that moment, not more.
		if elapsed < idle-100*time.Millisecond {
			t.Fatalf("server closed the idle connection after %v, before IdleTimeout %v", elapsed, idle)
		}
	})

	t.Run("slow headers", func(t *testing.T) {
		conn := dial(t, addr)
		start := time.Now()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: hotline\r\n"); err != nil {
			t.Fatal(err)
		}
		// A slow-loris keeps sending a header line now and then; that must
		// not extend its time.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := io.WriteString(conn, "X-Slow: 1\r\n"); err != nil {
						return
					}
				}
			}
		}()
		waitServerClose(t, conn, bufio.NewReader(conn), 5*time.Second)
		if elapsed := time.Since(start); elapsed < header-50*time.Millisecond {
			t.Fatalf("server cut the client off after %v, before ReadHeaderTimeout %v", elapsed, header)
		}
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitServerClose reads until the server closes conn and returns how long
// that took; it fails the test if limit passes first or the server sends
// anything.
func waitServerClose(t *testing.T, conn net.Conn, br *bufio.Reader, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(limit)); err != nil {
		t.Fatal(err)
	}
	b, err := br.ReadByte()
	elapsed := time.Since(start)
	switch {
	case err == nil:
		t.Fatalf("server sent %q instead of closing", b)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("server kept the connection open for %v", limit)
	case !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("reading: %v, want the server to close", err)
	}
	return elapsed
}
