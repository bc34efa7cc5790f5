package redisopt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/redisopt"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// connect builds a client from s, PINGs and writes a key: what hotline
// does at start-up, explained as it would be.
func connect(t *testing.T, s redisopt.Settings) error {
	t.Helper()
	o, err := s.Options()
	if err != nil {
		return err
	}
	o.MaxRetries = -1 // a refused password is not worth retrying here
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return redisopt.Explain(o, err)
	}
	return rdb.Set(ctx, redistest.Prefix(t), "1", time.Minute).Err()
}

// wantAuthError checks err is ErrAuth with words naming the problem, and
// never the password.
func wantAuthError(t *testing.T, err error, words string, secrets ...string) {
	t.Helper()
	if !errors.Is(err, redisopt.ErrAuth) || !strings.Contains(err.Error(), words) {
		t.Fatalf("err = %v; want ErrAuth saying %q", err, words)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("the error shows a password: %v", err)
		}
	}
}

func TestRequirePass(t *testing.T) {
	const pw = "s3cret-requirepass"
	addr := redistest.StartWith(t, redisproc.Options{Args: []string{"--requirepass", pw}})
	for _, s := range []redisopt.Settings{
		{URL: "redis://:" + pw + "@" + addr},
		{URL: "redis://" + addr + "/2", Password: pw},
		{URL: addr, Password: pw}, // bare host:port with the password apart
	} {
		if err := connect(t, s); err != nil {
			t.Errorf("%s: %v", redisopt.Redact(s.URL), err)
		}
	}
	wantAuthError(t, connect(t, redisopt.Settings{URL: addr, Password: "wrong-pass"}), "password for user \"default\" is wrong", "wrong-pass", pw)
	wantAuthError(t, connect(t, redisopt.Settings{URL: "redis://:wrong-pass@" + addr}), "is wrong", "wrong-pass", pw)
	wantAuthError(t, connect(t, redisopt.Settings{URL: addr}), "requires a password and none is set")
}

func TestACLUser(t *testing.T) {
	const pw = "s3cret-acl"
	addr := redistest.StartWith(t, redisproc.Options{Args: []string{
		"--user", "hotline", "on", ">" + pw, "~*", "&*", "+@all",
		"--user", "default", "off",
	}})
	for _, s := range []redisopt.Settings{
		{URL: "redis://hotline:" + pw + "@" + addr},
		{URL: "redis://hotline@" + addr, Password: pw},
	} {
		if err := connect(t, s); err != nil {
			t.Errorf("%s: %v", redisopt.Redact(s.URL), err)
		}
	}
	wantAuthError(t, connect(t, redisopt.Settings{URL: "redis://hotline@" + addr, Password: "nope-nope"}), `user "hotline" is wrong`, "nope-nope", pw)
	// The default user is off: a password alone is refused for it.
	wantAuthError(t, connect(t, redisopt.Settings{URL: addr, Password: pw}), `user "default"`, pw)
}

func TestTLS(t *testing.T) {
	files := redistest.TLSFiles(t)
	addr := redistest.StartWith(t, redisproc.Options{TLS: files, Args: []string{"--requirepass", "tls-pw"}})
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	for _, url := range []string{"rediss://:tls-pw@localhost:" + port, "rediss://:tls-pw@" + addr + "/1"} {
		if err := connect(t, redisopt.Settings{URL: url, CAFile: files.CAFile}); err != nil {
			t.Errorf("%s with the CA: %v", redisopt.Redact(url), err)
		}
	}
	// Without the CA the system's roots do not know the server.
	err := connect(t, redisopt.Settings{URL: "rediss://localhost:" + port, Password: "tls-pw"})
	if !errors.Is(err, redisopt.ErrTLS) || !strings.Contains(err.Error(), "HOTLINE_REDIS_CA") {
		t.Fatalf("without the CA: %v; want ErrTLS naming HOTLINE_REDIS_CA", err)
	}
	// A plain client on the TLS port gets nowhere.
	if err := connect(t, redisopt.Settings{URL: addr, Password: "tls-pw"}); err == nil {
		t.Fatal("a plain connection to the TLS port succeeded")
	}
	// A TLS client on a plain port is told to check the port.
	plain := redistest.Addr(t)
	err = connect(t, redisopt.Settings{URL: "rediss://" + plain, CAFile: files.CAFile})
	if !errors.Is(err, redisopt.ErrTLS) || !strings.Contains(err.Error(), "tls-port") {
		t.Fatalf("TLS to a plain port: %v; want ErrTLS naming the tls-port", err)
	}
}

func TestOptionsRefusesMistakes(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    redisopt.Settings
		want string
	}{
		{redisopt.Settings{}, "no Redis address"},
		{redisopt.Settings{URL: "localhost"}, "neither host:port nor"},
		{redisopt.Settings{URL: "http://localhost:6379"}, "invalid URL scheme"},
		{redisopt.Settings{URL: "redis://:pw-in-url@localhost:6379", Password: "pw-apart"}, "keep one"},
		{redisopt.Settings{URL: "redis://localhost:6379", CAFile: notPEM}, "not a rediss:// URL"},
		{redisopt.Settings{URL: "rediss://localhost:6379", CAFile: notPEM}, "holds no PEM certificate"},
		{redisopt.Settings{URL: "rediss://localhost:6379", CAFile: notPEM + ".missing"}, "no such file"},
		{redisopt.Settings{URL: "redis://u:pw-in-url@local host:6379"}, "invalid character"},
		{redisopt.Settings{URL: "redis://:pw-in-url@localhost:6379/x"}, "invalid database number"},
	} {
		_, err := tt.s.Options()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v; want %q", tt.s, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-in-url") {
			t.Errorf("%+v: the error shows the password: %v", tt.s, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1:6379", "127.0.0.1:6379"},
		{"redis://localhost:6379/0", "redis://localhost:6379/0"},
		{"redis://hotline@localhost:6379", "redis://hotline@localhost:6379"},
		{"redis://hotline:pw@localhost:6379/1", "redis://hotline:xxxxx@localhost:6379/1"},
		{"rediss://:pw@[::1]:6380", "rediss://:xxxxx@[::1]:6380"},
		{"redis://:p/w@x@localhost:6379", "redis://:xxxxx@localhost:6379"},
	} {
		if got := redisopt.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
