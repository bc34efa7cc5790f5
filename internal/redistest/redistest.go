// Package redistest gives tests and benchmarks a real Redis: the one named
// by HOTLINE_TEST_REDIS (host:port) when set, else a private redis-server
// started from PATH and killed when the test ends. Prefix gives each test
// its own centre id, so tests may share one server without seeing each
// other's keys.
package redistest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/redisproc"
)

// EnvAddr names the environment variable holding an external test Redis.
const EnvAddr = "HOTLINE_TEST_REDIS"

// Addr returns the address of a Redis for tb: HOTLINE_TEST_REDIS, or a
// fresh redis-server stopped by tb.Cleanup. A missing redis-server fails
// the test (it is a dependency, not an optional extra).
func Addr(tb testing.TB) string {
	tb.Helper()
	if a := os.Getenv(EnvAddr); a != "" {
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	addr, stop, err := redisproc.StartServer(ctx)
	if err != nil {
		tb.Fatalf("redistest: %v (install redis-server or set %s)", err, EnvAddr)
	}
	tb.Cleanup(stop)
	return addr
}

// Start returns a client of a Redis for tb (see Addr); the client is closed
// on cleanup.
func Start(tb testing.TB) *redis.Client {
	tb.Helper()
	return Client(tb, Addr(tb))
}

// Client opens another client to addr (e.g. one per simulated instance),
// checks it with PING and closes it on cleanup.
func Client(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		tb.Fatalf("redistest: ping %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

var seq atomic.Int64

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Prefix returns a centre id unique to tb within this process and across
// processes sharing HOTLINE_TEST_REDIS (it carries the pid and a counter).
func Prefix(tb testing.TB) string {
	name := unsafe.ReplaceAllString(tb.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d-%d-%s", os.Getpid(), seq.Add(1), name)
}
