// Package spoken gives the words hotline speaks for numbers in its caller
// languages (ru, kk, uk, en): cardinals, "N minutes" with the noun in the
// form the number needs, and the sound files that carry each phrase.
//
// Asterisk's own number: and digits: media cannot do this job: it has no
// Kazakh or Ukrainian core sounds (say.c falls back to English) and in
// Russian it cannot agree "минута" with the number before it. So hotline
// renders the phrases itself (hotline prompts) and plays them as sounds.
//
// The package is pure: words in, words out, no I/O.
package spoken

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors are wrapped with the language or number that caused them.
var (
	ErrLanguage = errors.New("spoken: no number words for language")
	ErrRange    = errors.New("spoken: number out of range")
)

// MaxCardinal is the largest number Cardinal and Minutes can say. Queue
// positions and waits are capped well below it (MaxPosition, MaxMinutes).
const MaxCardinal = 999

// gender is the grammatical gender a Slavic numeral agrees with: "один
// человек" but "одна минута"; languages without it ignore it.
type gender int

const (
	masculine gender = iota
	feminine
)

// words is one language's way of saying numbers.
type words struct {
	// cardinal says 0 ≤ n ≤ MaxCardinal agreeing with g.
	cardinal func(n int, g gender) string
	// minutes says "n minutes" for 0 ≤ n ≤ MaxCardinal.
	minutes func(n int) string
	// morePositions says "more than MaxPosition" and moreMinutes "more
	// than MaxMinutes minutes"; see sounds.go.
	morePositions, moreMinutes string
}

var languages = map[string]words{
	"ru": russian,
	"uk": ukrainian,
	"kk": kazakh,
	"en": english,
}

// Languages lists, sorted, the language codes this package can speak.
func Languages() []string {
	codes := make([]string, 0, len(languages))
	for code := range languages {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// Supports says whether lang (an Asterisk language code such as "kk" or
// "en_GB") has number words.
func Supports(lang string) bool {
	_, ok := languages[base(lang)]
	return ok
}

// base is the language of an Asterisk code with a region: "en_GB" -> "en".
// Number words do not change by region.
func base(lang string) string {
	if i := strings.IndexAny(lang, "_-"); i >= 0 {
		lang = lang[:i]
	}
	return strings.ToLower(lang)
}

func wordsFor(lang string) (words, error) {
	w, ok := languages[base(lang)]
	if !ok {
		return words{}, fmt.Errorf("%w %q (have %s)", ErrLanguage, lang, strings.Join(Languages(), ", "))
	}
	return w, nil
}

// lookup is wordsFor with n checked against what the words can say.
func lookup(lang string, n int) (words, error) {
	w, err := wordsFor(lang)
	if err != nil {
		return words{}, err
	}
	if n < 0 || n > MaxCardinal {
		return words{}, fmt.Errorf("%w: %d is not in 0..%d", ErrRange, n, MaxCardinal)
	}
	return w, nil
}

// Cardinal returns n in words as one counts ("двадцать один", "жиырма
// бір", "twenty-one"), for 0 ≤ n ≤ MaxCardinal.
func Cardinal(lang string, n int) (string, error) {
	w, err := lookup(lang, n)
	if err != nil {
		return "", err
	}
	return w.cardinal(n, masculine), nil
}

// Minutes returns "n minutes" with the numeral and the noun in the forms
// they take together: "одна минута", "две минуты", "пять минут"; "бес
// минут"; "one minute", "five minutes".
func Minutes(lang string, n int) (string, error) {
	w, err := lookup(lang, n)
	if err != nil {
		return "", err
	}
	return w.minutes(n), nil
}

// form is a Slavic plural form: which noun form follows the number.
type form int

const (
	one  form = iota // 1, 21, 101: минута, хвилина
	few              // 2-4, 22-24: минуты, хвилини
	many             // 0, 5-20, 25-30, 111: минут, хвилин
)

// slavicForm is the plural rule Russian and Ukrainian share: the last digit
// decides, except that 11-14 always take the "many" form.
func slavicForm(n int) form {
	switch last, lastTwo := n%10, n%100; {
	case last == 1 && lastTwo != 11:
		return one
	case last >= 2 && last <= 4 && (lastTwo < 12 || lastTwo > 14):
		return few
	default:
		return many
	}
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}
