package callbacks

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hotline-acd/hotline/internal/logmask"
)

// A number refused for a callback fails with one of these (wrapped with the
// detail); Reason maps each to the short code recorded with the refusal.
// The detail shows the number masked (internal/logmask), since these errors
// are logged; the refusal record keeps the raw input beside it.
var (
	ErrEmpty             = errors.New("callbacks: no number")
	ErrWithheld          = errors.New("callbacks: caller id withheld")
	ErrInvalidCharacters = errors.New("callbacks: number has characters other than digits, a leading +, spaces, dashes and parentheses")
	ErrTooLong           = errors.New("callbacks: number too long")
	ErrTooShort          = errors.New("callbacks: number too short (a short or internal number)")
	ErrBadFormat         = errors.New("callbacks: not a number of a form we can dial")
	ErrForeign           = errors.New("callbacks: foreign number")
	ErrPremium           = errors.New("callbacks: premium-rate number")
	ErrDenied            = errors.New("callbacks: number denied by pattern")
	ErrNoCountry         = errors.New("callbacks: no country code configured")
)

var reasonCodes = []struct {
	err  error
	code string
}{
	{ErrEmpty, "empty"}, {ErrWithheld, "withheld"}, {ErrInvalidCharacters, "invalid_characters"},
	{ErrTooLong, "too_long"}, {ErrTooShort, "too_short"}, {ErrBadFormat, "bad_format"},
	{ErrForeign, "foreign"}, {ErrPremium, "premium"}, {ErrDenied, "denied"}, {ErrNoCountry, "no_country"},
}

// Reason is the short code of a refusal ("too_short", "denied", ...), or
// "" when err is not a number refusal.
func Reason(err error) string {
	for _, r := range reasonCodes {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return ""
}

// NumberRules decide which numbers the hotline may dial back.
//
// Patterns match the E.164 form ("+77011234567") and are written as "+"
// then digits, where "?" stands for any one digit and a final "*" for any
// rest (including none): "+7800*" is every number starting +7800,
// "+7701???????" is +7701 and exactly seven more digits, "+77012345678"
// only that number. Nothing else is a pattern (see ValidPattern).
//
// The order of decisions: a number matching Deny is refused (ErrDenied),
// whatever Allow says; a number matching Allow is accepted even when a
// built-in rule would refuse it; otherwise the built-in rules refuse
// foreign numbers (another country code, ErrForeign) and the country's
// premium-rate ranges (+7809… for country code 7, ErrPremium). Free-phone
// ranges (+7800…) are dialable unless denied. Short and internal numbers
// (1001, 122, 103) never become E.164 and fail ErrTooShort.
type NumberRules struct {
	CountryCode string   // E.164 country code without "+", e.g. "7"
	Allow       []string // patterns accepted despite the built-in rules
	Deny        []string // patterns always refused
}

// country is what Normalize needs to know of a numbering plan.
type country struct {
	national int      // digits of a national significant number, 0 unknown
	trunk    string   // national trunk prefix dialled before it ("8", "0")
	premium  []string // built-in premium-rate patterns
}

// countries holds the plans hotline has been configured for; any other
// country code gets the generic E.164 bounds (7 to 15 digits in all).
var countries = map[string]country{
	"7":   {national: 10, trunk: "8", premium: []string{"+7809*"}},
	"380": {national: 9, trunk: "0", premium: []string{"+38090*"}},
	"44":  {national: 10, trunk: "0", premium: []string{"+449*"}},
	"1":   {national: 10, trunk: "1", premium: []string{"+1900*", "+1976*"}},
}

// maxRaw bounds the input looked at: a caller id is never this long, and a
// longer one is hostile or broken.
const maxRaw = 64

// e164 is what every accepted number looks like.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// IsE164 reports whether s has the E.164 shape Normalize produces.
func IsE164(s string) bool { return e164.MatchString(s) }

// withheld are the caller ids Asterisk and carriers use for "no number".
var withheld = map[string]bool{
	"anonymous": true, "unknown": true, "restricted": true, "private": true,
	"unavailable": true, "withheld": true, "<unknown>": true,
}

// Normalize turns a caller id or a keyed-in number into the E.164 form the
// hotline dials, or refuses it. Spaces, dashes and parentheses are dropped
// as formatting; any other character refuses the number (a caller id is
// attacker-controlled text and may carry dial-string syntax). National
// forms become international with the centre's country code: for "7",
// 8XXXXXXXXXX and 7XXXXXXXXXX (11 digits) and XXXXXXXXXX (10) all become
// +7XXXXXXXXXX. The result then passes rules (see NumberRules).
//
// Normalize is the only way a number becomes dialable: the callbacks store
// keeps only its output.
func Normalize(raw string, rules NumberRules) (string, error) {
	n, err := toE164(raw, rules.CountryCode)
	if err != nil {
		return "", err
	}
	if err := rules.check(n); err != nil {
		return "", err
	}
	return n, nil
}

// toE164 is Normalize's first half: the form, no policy.
func toE164(raw, cc string) (string, error) {
	if len(raw) > maxRaw {
		return "", fmt.Errorf("%w: %d characters", ErrTooLong, len(raw))
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	if withheld[strings.ToLower(s)] {
		return "", ErrWithheld
	}
	plus := false
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' && !plus && len(digits) == 0 && strings.TrimLeft(s[:i], " (") == "":
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')':
		default:
			return "", fmt.Errorf("%w: %q", ErrInvalidCharacters, logmask.Mask(clip(s)))
		}
	}
	if len(digits) == 0 {
		return "", ErrEmpty
	}
	if len(digits) > 15 {
		return "", fmt.Errorf("%w: %d digits", ErrTooLong, len(digits))
	}
	d := string(digits)
	if plus {
		return checkLength("+" + d)
	}
	if cc == "" {
		return "", ErrNoCountry
	}
	plan := countries[cc]
	nat := plan.national
	switch {
	case nat == 0:
		// Unknown plan: accept only the full international digits.
		if strings.HasPrefix(d, cc) {
			return checkLength("+" + d)
		}
		return "", fmt.Errorf("%w: %s has no country code", ErrBadFormat, logmask.Mask(d))
	case len(d) < nat:
		return "", fmt.Errorf("%w: %d digits", ErrTooShort, len(d))
	case len(d) == nat:
		return checkLength("+" + cc + d)
	case plan.trunk != "" && len(d) == len(plan.trunk)+nat && strings.HasPrefix(d, plan.trunk):
		return checkLength("+" + cc + d[len(plan.trunk):])
	case len(d) == len(cc)+nat && strings.HasPrefix(d, cc):
		return checkLength("+" + d)
	case len(d) > len(cc)+nat:
		return "", fmt.Errorf("%w: %d digits", ErrTooLong, len(d))
	}
	return "", fmt.Errorf("%w: %s", ErrBadFormat, logmask.Mask(d))
}

// checkLength checks an international number against E.164 and, for a
// country whose plan is known, its national length.
func checkLength(n string) (string, error) {
	digits := len(n) - 1
	if digits < 7 {
		return "", fmt.Errorf("%w: %d digits", ErrTooShort, digits)
	}
	if n[1] == '0' {
		return "", fmt.Errorf("%w: %s (no country code starts with 0)", ErrBadFormat, logmask.Mask(n))
	}
	for cc, plan := range countries {
		if !strings.HasPrefix(n[1:], cc) || plan.national == 0 {
			continue
		}
		switch nat := digits - len(cc); {
		case nat < plan.national:
			return "", fmt.Errorf("%w: %s", ErrTooShort, logmask.Mask(n))
		case nat > plan.national:
			return "", fmt.Errorf("%w: %s", ErrTooLong, logmask.Mask(n))
		}
	}
	if !e164.MatchString(n) {
		return "", fmt.Errorf("%w: %s", ErrBadFormat, logmask.Mask(n))
	}
	return n, nil
}

// check applies the allow and deny patterns and the built-in rules to an
// E.164 number.
func (r NumberRules) check(n string) error {
	for _, p := range r.Deny {
		if MatchPattern(p, n) {
			return fmt.Errorf("%w %q: %s", ErrDenied, p, logmask.Mask(n))
		}
	}
	for _, p := range r.Allow {
		if MatchPattern(p, n) {
			return nil
		}
	}
	if r.CountryCode == "" {
		return ErrNoCountry
	}
	if !strings.HasPrefix(n[1:], r.CountryCode) || !sameCountry(n, r.CountryCode) {
		return fmt.Errorf("%w: %s (the centre's country code is +%s)", ErrForeign, logmask.Mask(n), r.CountryCode)
	}
	for _, p := range countries[r.CountryCode].premium {
		if MatchPattern(p, n) {
			return fmt.Errorf("%w: %s matches %q", ErrPremium, logmask.Mask(n), p)
		}
	}
	return nil
}

// sameCountry guards against a country code that is a prefix of another
// ("1" of "1264"): with a known plan the length must be the national one.
func sameCountry(n, cc string) bool {
	plan, ok := countries[cc]
	if !ok || plan.national == 0 {
		return true
	}
	return len(n)-1-len(cc) == plan.national
}

// pattern is the syntax NumberRules patterns follow.
var pattern = regexp.MustCompile(`^\+[0-9?]{1,15}\*?$`)

// ValidPattern reports what is wrong with a number pattern, if anything.
func ValidPattern(p string) error {
	if !pattern.MatchString(p) {
		return fmt.Errorf("callbacks: number pattern %q must be \"+\" then digits, with \"?\" for any one digit and an optional final \"*\" (e.g. \"+7809*\")", p)
	}
	return nil
}

// MatchPattern reports whether E.164 number n matches pattern p. An invalid
// pattern matches nothing.
func MatchPattern(p, n string) bool {
	if !pattern.MatchString(p) {
		return false
	}
	rest := strings.HasSuffix(p, "*")
	p = strings.TrimSuffix(p, "*")
	if len(n) < len(p) || (!rest && len(n) != len(p)) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] != n[i] && !(p[i] == '?' && n[i] >= '0' && n[i] <= '9') {
			return false
		}
	}
	return true
}

// clip shortens hostile input for messages and records.
func clip(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return s
}
