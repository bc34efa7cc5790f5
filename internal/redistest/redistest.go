// Package redistest gives tests and benchmarks a real Redis: the one named
// by HOTLINE_TEST_REDIS (host:port) when set, else a private redis-server
// started from PATH and killed when the test ends. Prefix gives each test
// its own centre id, so tests may share one server without seeing each
// other's keys.
package redistest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
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

// StartWith starts a private redis-server shaped by o (a password, ACL
// users, TLS) for tb, stopped on cleanup, and returns its address. It
// never uses HOTLINE_TEST_REDIS: the test needs that very setup.
func StartWith(tb testing.TB, o redisproc.Options) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	addr, stop, err := redisproc.Start(ctx, o)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(stop)
	return addr
}

// TLSFiles writes a throw-away CA and a server certificate it signs, for
// "localhost" and 127.0.0.1, into a temporary directory of tb: the server
// files for redisproc.Options.TLS, and CAFile for clients.
func TLSFiles(tb testing.TB) *redisproc.TLS {
	tb.Helper()
	dir := tb.TempDir()
	caKey := newKey(tb)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatal(err)
	}
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	f := &redisproc.TLS{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "redis.pem"), KeyFile: filepath.Join(dir, "redis-key.pem"),
	}
	for path, block := range map[string]*pem.Block{
		f.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
		f.CertFile: {Type: "CERTIFICATE", Bytes: der},
		f.KeyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
