// Package redisopt turns what a person configures for Redis — a URL or a
// bare host:port, a password kept apart from it, a CA file for TLS — into
// go-redis options, and explains a refused connection in words that name
// the setting to fix. It never puts a password into an error or a log.
package redisopt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Settings are the Redis connection settings of one hotline.
type Settings struct {
	// URL is redis://[user[:password]@]host:port[/db], rediss://… for TLS
	// (go-redis ParseURL, with its query options), or a bare host:port.
	URL string
	// Password is used when URL carries none (HOTLINE_REDIS_PASSWORD): it
	// keeps the secret out of a URL that may be shown or passed on a
	// command line. The user, if an ACL user, goes in the URL
	// (redis://hotline@host:6379).
	Password string
	// CAFile is a PEM file of the CA(s) that sign the server's certificate,
	// for rediss:// (HOTLINE_REDIS_CA). Empty: the system's roots.
	CAFile string
}

// ErrAuth: Redis refused the user or password.
var ErrAuth = errors.New("redis refused hotline's credentials")

// ErrTLS: the TLS handshake with Redis failed.
var ErrTLS = errors.New("TLS with redis failed")

// Options builds the go-redis options for s.
func (s Settings) Options() (*redis.Options, error) {
	raw := strings.TrimSpace(s.URL)
	if raw == "" {
		return nil, errors.New("redisopt: no Redis address (a redis:// URL or host:port)")
	}
	var o *redis.Options
	if !strings.Contains(raw, "://") {
		if _, _, err := net.SplitHostPort(raw); err != nil {
			return nil, fmt.Errorf("redisopt: %q is neither host:port nor a redis:// or rediss:// URL: %w", raw, err)
		}
		o = &redis.Options{Addr: raw}
	} else {
		var err error
		if o, err = redis.ParseURL(raw); err != nil {
			// url.Error quotes the whole URL, password and all.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("redisopt: Redis URL %s: %w", Redact(raw), err)
		}
	}
	if err := s.mergePassword(&o.Password, raw); err != nil {
		return nil, err
	}
	if err := s.applyCA(o.TLSConfig, raw); err != nil {
		return nil, err
	}
	return o, nil
}

// mergePassword puts s.Password into a client's password unless the URL
// raw already carried one: two passwords are a mistake, not a choice.
func (s Settings) mergePassword(pw *string, raw string) error {
	if s.Password == "" {
		return nil
	}
	if *pw != "" {
		return fmt.Errorf("redisopt: Redis URL %s carries a password and a separate Redis password is set too: keep one", Redact(raw))
	}
	*pw = s.Password
	return nil
}

// applyCA loads s.CAFile into the TLS config the URL raw made; a CA for
// a URL without TLS is refused.
func (s Settings) applyCA(cfg *tls.Config, raw string) error {
	if s.CAFile == "" {
		return nil
	}
	if cfg == nil {
		return fmt.Errorf("redisopt: a Redis CA file is set but %s is not a rediss:// URL: the connection would not use TLS", Redact(raw))
	}
	pool, err := loadCA(s.CAFile)
	if err != nil {
		return err
	}
	cfg.RootCAs = pool
	return nil
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("redisopt: Redis CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("redisopt: Redis CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// Redact returns a Redis URL with its password replaced by "xxxxx", for
// logs and errors; a host:port or a URL without a password is unchanged.
// It works on text that does not parse as a URL too.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		// A password holding '/' (not URL-encoded) ends the authority
		// early: look for the '@' in the whole rest then.
		if at = strings.LastIndexByte(rest, '@'); at < 0 {
			return raw
		}
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// Describe names where o connects, for logs: the address, TLS and the
// user, never the password.
func Describe(o *redis.Options) string {
	d := o.Addr
	if o.TLSConfig != nil {
		d += " (TLS)"
	}
	if o.Username != "" {
		d += " as " + o.Username
	}
	return d
}

// Explain wraps a failed first contact with Redis (PING) with what to
// check: the credentials (ErrAuth) or TLS and its CA (ErrTLS).
func Explain(o *redis.Options, err error) error {
	if err == nil {
		return nil
	}
	user := o.Username
	if user == "" {
		user = "default"
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "WRONGPASS"):
		return fmt.Errorf("%w: redis %s: the password for user %q is wrong or the user is disabled (set HOTLINE_REDIS_PASSWORD, or the user:password of HOTLINE_REDIS_URL): %w",
			ErrAuth, Describe(o), user, err)
	case strings.HasPrefix(msg, "NOAUTH"):
		return fmt.Errorf("%w: redis %s requires a password and none is set (HOTLINE_REDIS_PASSWORD, or user:password in HOTLINE_REDIS_URL): %w",
			ErrAuth, Describe(o), err)
	case strings.Contains(msg, "without any password configured"):
		return fmt.Errorf("%w: redis %s has no password but one is set: remove HOTLINE_REDIS_PASSWORD or the URL's password, or set requirepass: %w",
			ErrAuth, Describe(o), err)
	}
	var unknownCA x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownCA) || errors.As(err, &verify) || errors.As(err, &hostname):
		return fmt.Errorf("%w: redis %s: its certificate was not accepted (give the CA that signed it in HOTLINE_REDIS_CA, and connect by a name the certificate holds): %w",
			ErrTLS, Describe(o), err)
	case errors.As(err, &rec):
		return fmt.Errorf("%w: redis %s does not speak TLS on that port (use redis:// there, or its tls-port): %w", ErrTLS, Describe(o), err)
	case o.TLSConfig != nil && isTimeout(err):
		// A plain Redis port reads a TLS hello as the start of a command
		// and waits for the rest: the handshake just times out.
		return fmt.Errorf("%w: redis %s did not answer the TLS handshake (is it up, and is that its tls-port?): %w", ErrTLS, Describe(o), err)
	}
	return fmt.Errorf("redis %s: %w", Describe(o), err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
