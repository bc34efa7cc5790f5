package main

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// clearServeEnv unsets every variable `hotline serve` reads, so the
// developer's own environment cannot change a test.
func clearServeEnv(t *testing.T) {
	for _, k := range []string{"HOTLINE_CONFIG", "HOTLINE_REDIS", "HOTLINE_REDIS_URL", "HOTLINE_REDIS_PASSWORD", "HOTLINE_REDIS_CA",
		"HOTLINE_ARI_URL", "HOTLINE_ARI_USER", "HOTLINE_ARI_PASSWORD", "HOTLINE_ARI_APP", "HOTLINE_HTTP", "HOTLINE_API_TOKEN", "HOTLINE_LOG_FULL_NUMBERS"} {
		t.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
}

// exampleCopy is the example config's text to write elsewhere: its
// knowledge base, beside it in configs/, named by absolute path.
func exampleCopy(t *testing.T) string {
	t.Helper()
	example, err := os.ReadFile("../../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := filepath.Abs("../../configs/kb")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(example), "kb_dir: kb ", "kb_dir: "+kb+" ", 1)
	if text == string(example) {
		t.Fatal("the example config has no kb_dir: kb")
	}
	return text
}

// writeConfig writes the example config with a centre id of the test's own.
func writeConfig(t *testing.T) (path, centre string) {
	t.Helper()
	example := exampleCopy(t)
	centre = strings.ToLower(redistest.Prefix(t))
	path = filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(example, "id: kz-1406", "id: "+centre, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, centre
}

// A wrong Redis password stops `hotline serve` at start-up with an error
// that says so and names the setting, never the password.
func TestServeWrongRedisPassword(t *testing.T) {
	clearServeEnv(t)
	addr := redistest.StartWith(t, redisproc.Options{Args: []string{"--requirepass", "right-secret"}})
	cfg, _ := writeConfig(t)
	t.Setenv("HOTLINE_ARI_PASSWORD", "pw")
	t.Setenv("HOTLINE_REDIS_URL", "redis://"+addr)
	t.Setenv("HOTLINE_REDIS_PASSWORD", "wrong-secret")
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, []string{"serve", "--config", cfg, "--ari-url", "http://127.0.0.1:1/ari", "--http", ""}, &out, &errb)
	msg := errb.String()
	if code != 1 || !strings.Contains(msg, `the password for user "default" is wrong`) || !strings.Contains(msg, "HOTLINE_REDIS_PASSWORD") {
		t.Fatalf("exit %d: %s; want 1 and the wrong password named", code, msg)
	}
	if strings.Contains(msg, "wrong-secret") || strings.Contains(msg, "right-secret") {
		t.Fatalf("the error shows a password: %s", msg)
	}
}

// `hotline serve` reaches a TLS-only Redis as an ACL user: the URL from
// HOTLINE_REDIS_URL, the password from HOTLINE_REDIS_PASSWORD and the CA
// from HOTLINE_REDIS_CA; it keeps its state there and logs no password.
func TestServeOverTLSAsACLUser(t *testing.T) {
	clearServeEnv(t)
	files := redistest.TLSFiles(t)
	addr := redistest.StartWith(t, redisproc.Options{TLS: files, Args: []string{
		"--user", "hotline", "on", ">acl-secret", "~*", "&*", "+@all", "--user", "default", "off",
	}})
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	emu := emulator.New(emulator.Options{App: "hotline", User: "hotline", Password: "pw", TimeScale: 0.02})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	cfg, centre := writeConfig(t)
	t.Setenv("HOTLINE_ARI_PASSWORD", "pw")
	t.Setenv("HOTLINE_REDIS_URL", "rediss://hotline@localhost:"+port)
	t.Setenv("HOTLINE_REDIS_PASSWORD", "acl-secret")
	t.Setenv("HOTLINE_REDIS_CA", files.CAFile)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAt(ctx, clockAt(openWednesday(t)), []string{"serve", "--config", cfg, "--ari-url", emu.URL(), "--http", ""}, &stdout, &stderr)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := emu.WaitConnected(wctx); err != nil {
		t.Fatalf("serve did not connect: %v\n%s", err, stderr.String())
	}
	waitFor(t, &stderr, "hotline serving")

	// The operators were synced into this Redis, under the centre's keys.
	pool, err := os.ReadFile(files.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	o, err := redis.ParseURL("rediss://hotline:acl-secret@localhost:" + port)
	if err != nil {
		t.Fatal(err)
	}
	o.TLSConfig.RootCAs = certPool(t, pool)
	rdb := redis.NewClient(o)
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "*"+centre+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of centre %s over TLS: %v %v", centre, keys, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stderr.String(), "acl-secret") {
		t.Fatalf("the log shows the Redis password:\n%s", stderr.String())
	}
}

func certPool(t *testing.T, pem []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no CA in the PEM")
	}
	return p
}
