package cases

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Longest values, in runes (ids in bytes).
const (
	MaxOrganisation  = 300
	MaxText          = 4000
	MaxAddress       = 500
	MaxSymptoms      = 2000
	MaxPreferredTime = 200
	maxID            = 64  // agent, topic, language, service ids
	maxCallID        = 128 // call and request ids
	maxCitizen       = 32  // a caller id as the PBX gave it
)

// FieldError says which field of a case is wrong; it wraps ErrInvalid.
type FieldError struct {
	Field string // the JSON name: text, address, category, ...
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// check returns c cleaned (trimmed; what Open sets itself cleared), or the
// first thing wrong with it.
func (s *Store) check(c Case) (Case, error) {
	out := Case{Kind: c.Kind, RequestID: c.RequestID, CallID: c.CallID, Agent: c.Agent, Topic: c.Topic,
		Language: c.Language, Service: c.Service, OrgService: c.OrgService}
	if c.Kind != KindComplaint && c.Kind != KindHomeVisit {
		return Case{}, invalid("kind", "%q: use %s or %s", clip(string(c.Kind), 20), KindComplaint, KindHomeVisit)
	}
	var err error
	if out.CitizenNumber, err = text("citizen_number", c.CitizenNumber, 0, maxCitizen, false); err != nil {
		return Case{}, err
	}
	switch {
	case !rkeys.ValidID(c.Agent) || len(c.Agent) > maxID:
		return Case{}, invalid("agent", "an operator id is required (got %q)", clip(c.Agent, 40))
	case !validToken(c.CallID, maxCallID):
		return Case{}, invalid("call_id", "a call id is required (got %q)", clip(c.CallID, 40))
	case c.RequestID != "" && !validToken(c.RequestID, maxCallID):
		return Case{}, invalid("request_id", "%q is not an id", clip(c.RequestID, 40))
	case c.Topic != "" && (!rkeys.ValidID(c.Topic) || len(c.Topic) > maxID):
		return Case{}, invalid("topic", "%q is not a topic id", clip(c.Topic, 40))
	case c.Language != "" && (!rkeys.ValidID(c.Language) || len(c.Language) > maxID):
		return Case{}, invalid("language", "%q is not a language", clip(c.Language, 40))
	}
	if c.Service != "" {
		svc, ok := s.service(c.Service)
		switch {
		case !ok:
			return Case{}, invalid("service", "no service %q in the directory", clip(c.Service, 40))
		case !slices.Contains(svc.Cases, string(c.Kind)):
			return Case{}, invalid("service", "service %q does not take %s cases", c.Service, clip(string(c.Kind), 20))
		}
	}
	switch c.Kind {
	case KindComplaint:
		if f := setField("address", c.Address, "symptoms", c.Symptoms, "preferred_time", c.PreferredTime); f != "" {
			return Case{}, invalid(f, "not a field of a complaint")
		}
		if out.Organisation, err = text("organisation", c.Organisation, 0, MaxOrganisation, false); err != nil {
			return Case{}, err
		}
		if c.OrgService != "" {
			svc, ok := s.service(c.OrgService)
			if !ok {
				return Case{}, invalid("org_service", "no service %q in the directory", clip(c.OrgService, 40))
			}
			if out.Organisation == "" {
				out.Organisation = svc.Name
			}
		}
		if out.Organisation == "" {
			return Case{}, invalid("organisation", "name the organisation or pick it from the directory")
		}
		if !slices.Contains(s.categories(), c.Category) {
			return Case{}, invalid("category", "%q is not a complaint category (%s)", clip(c.Category, 40), strings.Join(s.categories(), ", "))
		}
		out.Category = c.Category
		if out.Text, err = text("text", c.Text, 1, MaxText, true); err != nil {
			return Case{}, err
		}
	case KindHomeVisit:
		if f := setField("org_service", c.OrgService, "organisation", c.Organisation, "category", c.Category, "text", c.Text); f != "" {
			return Case{}, invalid(f, "not a field of a home visit")
		}
		if out.Address, err = text("address", c.Address, 1, MaxAddress, true); err != nil {
			return Case{}, err
		}
		if out.Symptoms, err = text("symptoms", c.Symptoms, 1, MaxSymptoms, true); err != nil {
			return Case{}, err
		}
		if out.PreferredTime, err = text("preferred_time", c.PreferredTime, 0, MaxPreferredTime, false); err != nil {
			return Case{}, err
		}
	}
	return out, nil
}

// setField returns the first name of name, value pairs whose value is
// set, or "".
func setField(pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			return pairs[i]
		}
	}
	return ""
}

// text trims v and checks it is valid UTF-8 of min..max runes with no
// control characters (but line breaks and tabs when multiline).
func text(field, v string, min, max int, multiline bool) (string, error) {
	if !utf8.ValidString(v) {
		return "", invalid(field, "not valid UTF-8 text")
	}
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	switch {
	case n < min && n == 0:
		return "", invalid(field, "is required")
	case n < min:
		return "", invalid(field, "at least %d characters", min)
	case n > max:
		return "", invalid(field, "%d characters, at most %d", n, max)
	}
	for _, r := range v {
		if (r == '\n' || r == '\r' || r == '\t') && multiline {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", invalid(field, "holds a control character %U", r)
		}
	}
	return v, nil
}

// validToken: an id that goes into a key — printable ASCII, no spaces or
// braces (the hash tag), at most max bytes.
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// clip cuts s for an error message: at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
