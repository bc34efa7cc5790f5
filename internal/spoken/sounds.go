package spoken

import (
	"fmt"
	"regexp"
	"strconv"
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
//	number_<n>       n = 1..MaxPosition   the cardinal, "двадцать один"
//	number_over_100  beyond MaxPosition   "больше ста"
//	minutes_<n>      n = 1..MaxMinutes    the whole phrase, "двадцать одна минута"
//	minutes_over_60  beyond MaxMinutes    "больше часа"
//	digit_<d>        d = 0..9             one digit, for reading a number back
//
// A minutes sound holds the numeral and the noun together because in ru
// and uk the numeral's gender and the noun's form depend on each other.
var (
	positionOver = fmt.Sprintf("number_over_%d", MaxPosition)
	minutesOver  = fmt.Sprintf("minutes_over_%d", MaxMinutes)
	soundName    = regexp.MustCompile(`^(number|minutes)_(over_)?[0-9]+$|^digit_[0-9]$`)
)

// PositionSound names the sound saying queue position n. Positions start
// at 1; a smaller n is said as 1 rather than as nothing.
func PositionSound(n int) string {
	switch {
	case n > MaxPosition:
		return positionOver
	case n < 1:
		n = 1
	}
	return "number_" + strconv.Itoa(n)
}

// MinutesSound names the sound saying a wait of n minutes; a wait under
// a minute is said as one minute, as the announcement rounds up.
func MinutesSound(n int) string {
	switch {
	case n > MaxMinutes:
		return minutesOver
	case n < 1:
		n = 1
	}
	return "minutes_" + strconv.Itoa(n)
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
// rendering and for checking that the files exist.
func Sounds(lang string) (map[string]string, error) {
	w, err := wordsFor(lang)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, MaxPosition+MaxMinutes+2+10)
	for n := 1; n <= MaxPosition; n++ {
		m[PositionSound(n)] = w.cardinal(n, masculine)
	}
	m[positionOver] = w.morePositions
	for n := 1; n <= MaxMinutes; n++ {
		m[MinutesSound(n)] = w.minutes(n)
	}
	m[minutesOver] = w.moreMinutes
	for d := 0; d <= 9; d++ {
		m[digitSound(d)] = w.cardinal(d, masculine)
	}
	return m, nil
}
