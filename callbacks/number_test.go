package callbacks

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	kz := NumberRules{CountryCode: "7"}
	noFree := NumberRules{CountryCode: "7", Deny: []string{"+7800*"}}
	allowRU := NumberRules{CountryCode: "7", Allow: []string{"+44??????????", "+7809*"}, Deny: []string{"+7809123*"}}
	tests := []struct {
		raw   string
		rules NumberRules
		want  string
		err   error
	}{
		// National and international forms of one Kazakh mobile number.
		{"+77011234567", kz, "+77011234567", nil},
		{"87011234567", kz, "+77011234567", nil},
		{"77011234567", kz, "+77011234567", nil},
		{"7011234567", kz, "+77011234567", nil},
		{"8 (701) 123-45-67", kz, "+77011234567", nil},
		{"+7 701 123 45 67", kz, "+77011234567", nil},
		{"  +7-701-123-45-67  ", kz, "+77011234567", nil},
		{"8-800-080-77-77", kz, "+78000807777", nil}, // free-phone dialable by default
		{"8-800-080-77-77", noFree, "", ErrDenied},
		// Short and internal numbers.
		{"1001", kz, "", ErrTooShort},
		{"122", kz, "", ErrTooShort},
		{"103", kz, "", ErrTooShort},
		{"+7701", kz, "", ErrTooShort},
		{"+770112345", kz, "", ErrTooShort},
		{"+123456", kz, "", ErrTooShort},
		// Hostile input: dial-string syntax, channel names, letters.
		{"+79990000000;x", kz, "", ErrInvalidCharacters},
		{"PJSIP/1001", kz, "", ErrInvalidCharacters},
		{"1001@carrier", kz, "", ErrInvalidCharacters},
		{"*12", kz, "", ErrInvalidCharacters},
		{"#31#87011234567", kz, "", ErrInvalidCharacters},
		{"87011234567&PJSIP/1002", kz, "", ErrInvalidCharacters},
		{"8701123456,7", kz, "", ErrInvalidCharacters},
		{"+7701123456\x00", kz, "", ErrInvalidCharacters},
		{"+7701123456\n7", kz, "", ErrInvalidCharacters},
		{"++77011234567", kz, "", ErrInvalidCharacters},
		{"87011+234567", kz, "", ErrInvalidCharacters},
		{"Anonymous <1001>", kz, "", ErrInvalidCharacters},
		{"٨٧٠١١٢٣٤٥٦٧", kz, "", ErrInvalidCharacters}, // Arabic-Indic digits
		{"８７０１１２３４５６７", kz, "", ErrInvalidCharacters}, // full-width digits
		{"anonymous", kz, "", ErrWithheld},
		{"Anonymous", kz, "", ErrWithheld},
		{"unknown", kz, "", ErrWithheld},
		{"", kz, "", ErrEmpty},
		{"   ", kz, "", ErrEmpty},
		{"()- ", kz, "", ErrEmpty},
		{"+", kz, "", ErrEmpty},
		{strings.Repeat("7", 40), kz, "", ErrTooLong},
		{strings.Repeat("7", 100), kz, "", ErrTooLong},
		{"+7701123456789", kz, "", ErrTooLong},
		{"870112345678", kz, "", ErrTooLong},
		{"970112345678", kz, "", ErrTooLong},
		{"97011234567", kz, "", ErrBadFormat},
		{"+07011234567", kz, "", ErrBadFormat},
		// Premium and foreign.
		{"8 809 123 45 67", kz, "", ErrPremium},
		{"+78091234567", kz, "", ErrPremium},
		{"+78095554567", allowRU, "+78095554567", nil},
		{"+78091234567", allowRU, "", ErrDenied}, // deny wins over allow
		{"+442079460000", kz, "", ErrForeign},
		{"+442079460000", allowRU, "+442079460000", nil},
		{"+380441234567", kz, "", ErrForeign},
		{"+12025550100", kz, "", ErrForeign},
		// A number in another country's form with no country configured.
		{"87011234567", NumberRules{}, "", ErrNoCountry},
		{"+77011234567", NumberRules{}, "", ErrNoCountry},
		{"+77011234567", NumberRules{Allow: []string{"+7*"}}, "+77011234567", nil},
		// Another plan.
		{"0441234567", NumberRules{CountryCode: "380"}, "+380441234567", nil},
		{"+380441234567", NumberRules{CountryCode: "380"}, "+380441234567", nil},
		{"+77011234567", NumberRules{CountryCode: "380"}, "", ErrForeign},
		// An unknown plan takes only full international digits.
		{"4930123456", NumberRules{CountryCode: "49"}, "+4930123456", nil},
		{"030123456", NumberRules{CountryCode: "49"}, "", ErrBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.rules)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tt.raw, got, err, tt.want, tt.err)
			}
			if err != nil && Reason(err) == "" {
				t.Errorf("Reason(%v) is empty", err)
			}
			// Refusals are logged: their text masks the number (the
			// patterns it names are the centre's, not the caller's).
			msg := ""
			if err != nil {
				msg = err.Error()
				for _, p := range append(append(tt.rules.Deny, tt.rules.Allow...), countries[tt.rules.CountryCode].premium...) {
					msg = strings.ReplaceAll(msg, p, "")
				}
			}
			if longDigits.MatchString(msg) {
				t.Errorf("Normalize(%q): error %q shows the number", tt.raw, err)
			}
		})
	}
}

var longDigits = regexp.MustCompile(`[0-9]{4}`)

func TestDeniedNamesPattern(t *testing.T) {
	_, err := Normalize("88000807777", NumberRules{CountryCode: "7", Deny: []string{"+7800*"}})
	if err == nil || !strings.Contains(err.Error(), `"+7800*"`) || Reason(err) != "denied" {
		t.Fatalf("err = %v; want a denial naming the pattern", err)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		p, n  string
		valid bool
		match bool
	}{
		{"+7800*", "+78000807777", true, true},
		{"+7800*", "+7800", true, true},
		{"+7800*", "+77011234567", true, false},
		{"+7701???????", "+77011234567", true, true},
		{"+7701???????", "+770112345678", true, false},
		{"+77011234567", "+77011234567", true, true},
		{"+77011234567", "+770112345670", true, false},
		{"+7*", "+442079460000", true, false},
		{"7800*", "+78000807777", false, false},
		{"+7800**", "+78000807777", false, false},
		{"+78*00", "+78000807777", false, false},
		{"+", "+7", false, false},
		{"+7x", "+7x", false, false},
		{"", "", false, false},
	}
	for _, tt := range tests {
		if err := ValidPattern(tt.p); (err == nil) != tt.valid {
			t.Errorf("ValidPattern(%q) = %v; want valid %v", tt.p, err, tt.valid)
		}
		if got := MatchPattern(tt.p, tt.n); got != tt.match {
			t.Errorf("MatchPattern(%q, %q) = %v; want %v", tt.p, tt.n, got, tt.match)
		}
	}
}

// FuzzNormalize: no input panics, and whatever is accepted is E.164, passes
// the rules, and normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+77011234567", "8 (701) 123-45-67", "+79990000000;x", "PJSIP/1001",
		"8-800-080-77-77", "*12", strings.Repeat("9", 40), "", "٨٧٠", "anonymous", "Anonymous <1001>",
		"+78091234567", "+442079460000", "1001", "(+7) 701 1234567", "+7\x00"} {
		f.Add(s)
	}
	rules := NumberRules{CountryCode: "7", Deny: []string{"+7800*"}, Allow: []string{"+44*"}}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := Normalize(raw, rules)
		if err != nil {
			if n != "" || Reason(err) == "" {
				t.Fatalf("Normalize(%q) = %q, %v: a refusal must return no number and a reason", raw, n, err)
			}
			return
		}
		if !IsE164(n) {
			t.Fatalf("Normalize(%q) = %q: not E.164", raw, n)
		}
		if err := rules.check(n); err != nil {
			t.Fatalf("Normalize(%q) = %q, which the rules refuse: %v", raw, n, err)
		}
		if again, err := Normalize(n, rules); again != n || err != nil {
			t.Fatalf("Normalize(%q) = %q, %v; want itself", n, again, err)
		}
	})
}
