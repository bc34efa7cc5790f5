package spoken

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Caps on what the queue announcement says exactly. Beyond them the caller
// hears "more than a hundred" or "more than an hour": past that an exact
// figure helps nobody, and each exact figure is a sound file per language
// to render. The "more than" phrases (words.morePositions, moreMinutes)
// name these values, so change them together.
const (
	MaxPosition = 100
	MaxMinutes  = 60
)

// The sound names, under hotline/<lang>/, that carry the phrases:
//
//	position_<n>       n = 1..MaxPosition   the position intro prompt and n: "Ваш номер в очереди: пять"
//	position_over_100  beyond MaxPosition   "…: больше ста"
//	wait_<n>           n = 1..MaxMinutes    the wait intro prompt and n minutes: "…: двадцать одна минута"
//	wait_over_60       beyond MaxMinutes    "…: больше часа"
//	digit_<d>          d = 0..9             one digit, for reading a number back
//
// The numeral and the noun are one phrase because in ru and uk the
// numeral's gender and the noun's form depend on each other; the intro
// prompt is in the same sound so that the announcement is two playbacks,
// not four (each costs hotline a request and an event). number_<n> and
// minutes_<n> (the numbers without the intro, rendered before) stay
// reserved, so a config prompt cannot take a name an old sounds directory
// still holds.
var soundName = regexp.MustCompile(`^(number|minutes|position|wait)_(over_)?[0-9]+$|^digit_[0-9]$`)

// PositionPhrase names the sound saying the position intro and queue
// position n. Positions start at 1; a smaller n is said as 1 rather than
// as nothing.
func PositionPhrase(n int) string {
	switch {
	case n > MaxPosition:
		return fmt.Sprintf("position_over_%d", MaxPosition)
	case n < 1:
		n = 1
	}
	return "position_" + strconv.Itoa(n)
}

// WaitPhrase names the sound saying the wait intro and a wait of n
// minutes; a wait under a minute is said as one minute, as the
// announcement rounds up.
func WaitPhrase(n int) string {
	switch {
	case n > MaxMinutes:
		return fmt.Sprintf("wait_over_%d", MaxMinutes)
	case n < 1:
		n = 1
	}
	return "wait_" + strconv.Itoa(n)
}

// DigitSounds names one digit_<d> sound per digit of s, in order, for
// reading back a number the caller keyed in; anything but 0-9 is skipped.
func DigitSounds(s string) []string {
	names := make([]string, 0, len(s))
	for _, r := range s {
		if r >= '0' && r <= '9' {
			names = append(names, digitSound(int(r-'0')))
		}
	}
	return names
}

func digitSound(d int) string { return "digit_" + strconv.Itoa(d) }

// IsSoundName says whether a prompt name is one of the names above (any n,
// not just those rendered), so a config prompt cannot take one and be
// overwritten by, or overwrite, a number.
func IsSoundName(name string) bool { return soundName.MatchString(name) }

// Sounds returns every sound name above with its text in lang, for
// rendering and for checking that the files exist: the position and wait
// phrases each after their intro (the config's prompts in lang; an empty
// intro leaves the number alone), and the digits.
func Sounds(lang, positionIntro, waitIntro string) (map[string]string, error) {
	w, err := wordsFor(lang)
	if err != nil {
		return nil, err
	}
	join := func(intro, phrase string) string { return strings.TrimSpace(intro + " " + phrase) }
	m := make(map[string]string, MaxPosition+MaxMinutes+2+10)
	for n := 1; n <= MaxPosition; n++ {
		m[PositionPhrase(n)] = join(positionIntro, w.cardinal(n, masculine))
	}
	m[PositionPhrase(MaxPosition+1)] = join(positionIntro, w.morePositions)
	for n := 1; n <= MaxMinutes; n++ {
		m[WaitPhrase(n)] = join(waitIntro, w.minutes(n))
	}
	m[WaitPhrase(MaxMinutes+1)] = join(waitIntro, w.moreMinutes)
	for d := 0; d <= 9; d++ {
		m[digitSound(d)] = w.cardinal(d, masculine)
	}
	return m, nil
}
