package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// CookieName is the session cookie.
const CookieName = "hotline_session"

// CSRFHeader carries the session's CSRF token on every state change
// (forms may send it as the field "csrf" instead).
const CSRFHeader = "X-CSRF-Token"

// ErrNoSession: no cookie, or a session that ended or never was.
var ErrNoSession = errors.New("auth: not signed in")

// Session is one person signed in on one browser.
type Session struct {
	Person Person
	CSRF   string
	Lang   string // interface language the person chose
	key    string
}

// Sessions keeps sessions in Redis, keyed by a hash of the cookie's
// token (a copy of Redis does not hand out live cookies). A session lasts
// TTL from its last use: longer than a shift, shorter than a day.
type Sessions struct {
	rdb    redis.UniversalClient
	prefix string
	people func() *People
	TTL    time.Duration
	// Secure marks the cookie Secure (hotline behind TLS).
	Secure bool
}

// NewSessions keeps centre's sessions in rdb; people is read on every
// request, so a config reload that removes a person signs them out.
func NewSessions(rdb redis.UniversalClient, centre string, people func() *People) *Sessions {
	return &Sessions{rdb: rdb, prefix: rkeys.Prefix(centre) + "session:", people: people, TTL: 12 * time.Hour}
}

func token() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Sessions) keyOf(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return s.prefix + hex.EncodeToString(h[:])
}

// Start signs per in and sets the cookie on w.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, per Person, lang string) (Session, error) {
	tok, err := token()
	if err != nil {
		return Session{}, err
	}
	csrf, err := token()
	if err != nil {
		return Session{}, err
	}
	key := s.keyOf(tok)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, key, "person", per.ID, "csrf", csrf, "lang", lang)
	pipe.PExpire(ctx, key, s.TTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return Session{}, fmt.Errorf("auth: start session of %s: %w", per.ID, err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.TTL.Seconds()),
	})
	return Session{Person: per, CSRF: csrf, Lang: lang, key: key}, nil
}

// Get returns the request's session, renewing its lifetime.
func (s *Sessions) Get(r *http.Request) (Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return Session{}, ErrNoSession
	}
	key := s.keyOf(c.Value)
	ctx := r.Context()
	v, err := s.rdb.HMGet(ctx, key, "person", "csrf", "lang").Result()
	if err != nil {
		return Session{}, fmt.Errorf("auth: read session: %w", err)
	}
	id, _ := v[0].(string)
	csrf, _ := v[1].(string)
	lang, _ := v[2].(string)
	if id == "" || csrf == "" {
		return Session{}, ErrNoSession
	}
	per, ok := s.people().Get(id)
	if !ok {
		return Session{}, ErrNoSession // removed from the config since
	}
	s.rdb.PExpire(ctx, key, s.TTL) // best effort: a missed renewal costs a sign-in later
	return Session{Person: per, CSRF: csrf, Lang: lang, key: key}, nil
}

// SetLang changes the session's interface language.
func (s *Sessions) SetLang(ctx context.Context, sess Session, lang string) error {
	if err := s.rdb.HSet(ctx, sess.key, "lang", lang).Err(); err != nil {
		return fmt.Errorf("auth: set language of %s: %w", sess.Person.ID, err)
	}
	return nil
}

// End signs the session out and clears the cookie.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, sess Session) error {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if err := s.rdb.Del(ctx, sess.key).Err(); err != nil {
		return fmt.Errorf("auth: end session of %s: %w", sess.Person.ID, err)
	}
	return nil
}

// CheckCSRF refuses a state change without the session's token (header
// or form field), and one whose Origin is another site's.
func CheckCSRF(r *http.Request, sess Session) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errors.New("auth: request from another origin")
		}
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
		return errors.New("auth: missing or wrong CSRF token")
	}
	return nil
}
