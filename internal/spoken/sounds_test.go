package spoken

import (
	"slices"
	"strings"
	"testing"
)

func TestSoundNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{PositionSound(1), "number_1"},
		{PositionSound(37), "number_37"},
		{PositionSound(MaxPosition), "number_100"},
		{PositionSound(MaxPosition + 1), "number_over_100"},
		{PositionSound(0), "number_1"},
		{MinutesSound(1), "minutes_1"},
		{MinutesSound(0), "minutes_1"},
		{MinutesSound(MaxMinutes), "minutes_60"},
		{MinutesSound(MaxMinutes + 1), "minutes_over_60"},
		{MinutesSound(600), "minutes_over_60"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := DigitSounds("+7 (701) 0"); !slices.Equal(got, []string{"digit_7", "digit_7", "digit_0", "digit_1", "digit_0"}) {
		t.Errorf("DigitSounds: %v", got)
	}
}

// The "more than" phrases name the caps: "больше ста", "больше часа".
func TestCapsMatchTheirPhrases(t *testing.T) {
	if MaxPosition != 100 || MaxMinutes != 60 {
		t.Fatalf("caps are %d and %d: rewrite every language's morePositions/moreMinutes to say them", MaxPosition, MaxMinutes)
	}
}

func TestSounds(t *testing.T) {
	want := map[string]map[string]string{
		"ru": {"number_1": "один", "number_21": "двадцать один", "minutes_1": "одна минута", "minutes_2": "две минуты",
			"minutes_5": "пять минут", "minutes_21": "двадцать одна минута", "number_over_100": "больше ста",
			"minutes_over_60": "больше часа", "digit_0": "ноль", "digit_2": "два"},
		"uk": {"number_5": "п'ять", "minutes_1": "одна хвилина", "minutes_2": "дві хвилини", "minutes_5": "п'ять хвилин",
			"number_over_100": "понад сто", "minutes_over_60": "понад годину", "digit_0": "нуль"},
		"kk": {"number_5": "бес", "number_100": "жүз", "minutes_1": "бір минут", "minutes_5": "бес минут",
			"number_over_100": "жүзден астам", "minutes_over_60": "бір сағаттан астам", "digit_0": "нөл", "digit_9": "тоғыз"},
		"en": {"number_1": "one", "minutes_1": "one minute", "minutes_60": "sixty minutes",
			"number_over_100": "more than one hundred", "minutes_over_60": "more than an hour", "digit_0": "zero"},
	}
	for _, lang := range Languages() {
		m, err := Sounds(lang)
		if err != nil {
			t.Fatal(err)
		}
		if n := MaxPosition + 1 + MaxMinutes + 1 + 10; len(m) != n {
			t.Errorf("%s: %d sounds, want %d", lang, len(m), n)
		}
		for name, text := range m {
			if !IsSoundName(name) || strings.TrimSpace(text) == "" {
				t.Errorf("%s: sound %q = %q", lang, name, text)
			}
		}
		for name, text := range want[lang] {
			if m[name] != text {
				t.Errorf("%s: %s = %q, want %q", lang, name, m[name], text)
			}
		}
	}
	if _, err := Sounds("de"); err == nil {
		t.Error("Sounds(de) accepted")
	}
}

func TestIsSoundName(t *testing.T) {
	for name, want := range map[string]bool{
		"number_5": true, "number_500": true, "number_over_100": true, "minutes_1": true,
		"minutes_over_60": true, "digit_0": true,
		"number_readback": false, "minutes": false, "digit_10": false, "number_": false,
		"queue_position_intro": false, "confirm_number": false,
	} {
		if got := IsSoundName(name); got != want {
			t.Errorf("IsSoundName(%q) = %v, want %v", name, got, want)
		}
	}
}
