// Package auth signs people in to hotline's pages: each person has their
// own id, role and secret (stored only as a salted PBKDF2 hash), a session
// held in Redis (so a restart of hotline signs nobody out) behind an
// HttpOnly, SameSite=Strict cookie, and a per-session CSRF token that every
// state-changing request must carry.
package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HashIterations is PBKDF2-HMAC-SHA256's work factor for new hashes
// (OWASP's 2023 figure); a hash carries its own, so it can be raised.
const HashIterations = 600_000

const hashScheme = "pbkdf2-sha256"

// ErrWeakSecret: a secret too short, or the example's placeholder.
var ErrWeakSecret = errors.New("auth: secret too weak")

// MinSecretLen is the shortest secret accepted.
const MinSecretLen = 10

// CheckSecret refuses secrets nobody should sign in with.
func CheckSecret(secret string) error {
	switch {
	case strings.Contains(strings.ToUpper(secret), "CHANGE_ME"):
		return fmt.Errorf("%w: it is the example's CHANGE_ME placeholder", ErrWeakSecret)
	case len([]rune(secret)) < MinSecretLen:
		return fmt.Errorf("%w: shorter than %d characters", ErrWeakSecret, MinSecretLen)
	}
	return nil
}

// HashSecret returns the stored form of secret:
// pbkdf2-sha256$<iterations>$<salt>$<key>, base64 without padding.
func HashSecret(secret string) (string, error) {
	return hashWith(secret, HashIterations)
}

func hashWith(secret string, iter int) (string, error) {
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, secret, salt, iter, 32)
	if err != nil {
		return "", fmt.Errorf("auth: hash: %w", err)
	}
	enc := base64.RawStdEncoding
	return hashScheme + "$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// ValidHash reports whether h is a hash HashSecret could have made.
func ValidHash(h string) error {
	_, _, _, err := parseHash(h)
	return err
}

func parseHash(h string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != hashScheme {
		return 0, nil, nil, errors.New("auth: not a " + hashScheme + "$iterations$salt$key hash (make one with `hotline hash-secret`)")
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < 1000 || iter > 10_000_000 {
		return 0, nil, nil, errors.New("auth: hash iterations out of range")
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[2]); err != nil || len(salt) < 8 {
		return 0, nil, nil, errors.New("auth: hash salt is not base64")
	}
	if key, err = enc.DecodeString(parts[3]); err != nil || len(key) != 32 {
		return 0, nil, nil, errors.New("auth: hash key is not a base64 SHA-256 key")
	}
	return iter, salt, key, nil
}

// Verify reports whether secret matches the stored hash, in time that
// does not depend on where they differ.
func Verify(hash, secret string) bool {
	iter, salt, key, err := parseHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, secret, salt, iter, len(key))
	return err == nil && subtle.ConstantTimeCompare(got, key) == 1
}
