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
		{PositionPhrase(1), "position_1"},
		{PositionPhrase(37), "position_37"},
		{PositionPhrase(MaxPosition), "position_100"},
		{PositionPhrase(MaxPosition + 1), "position_over_100"},
		{PositionPhrase(0), "position_1"},
		{WaitPhrase(1), "wait_1"},
		{WaitPhrase(0), "wait_1"},
		{WaitPhrase(MaxMinutes), "wait_60"},
		{WaitPhrase(MaxMinutes + 1), "wait_over_60"},
		{WaitPhrase(600), "wait_over_60"},
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
		"ru": {"position_1": "один", "position_21": "двадцать один", "wait_1": "одна минута", "wait_2": "две минуты",
			"wait_5": "пять минут", "wait_21": "двадцать одна минута", "position_over_100": "больше ста",
			"wait_over_60": "больше часа", "digit_0": "ноль", "digit_2": "два"},
		"uk": {"position_5": "п'ять", "wait_1": "одна хвилина", "wait_2": "дві хвилини", "wait_5": "п'ять хвилин",
			"position_over_100": "понад сто", "wait_over_60": "понад годину", "digit_0": "нуль"},
		"kk": {"position_5": "бес", "position_100": "жүз", "wait_1": "бір минут", "wait_5": "бес минут",
			"position_over_100": "жүзден астам", "wait_over_60": "бір сағаттан астам", "digit_0": "нөл", "digit_9": "тоғыз"},
		"en": {"position_1": "one", "wait_1": "one minute", "wait_60": "sixty minutes",
			"position_over_100": "more than one hundred", "wait_over_60": "more than an hour", "digit_0": "zero"},
	}
	for _, lang := range Languages() {
		m, err := Sounds(lang, "", "") // no intro: the numbers alone
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
	if _, err := Sounds("de", "", ""); err == nil {
		t.Error("Sounds(de) accepted")
	}
}

// The position and wait sounds are the intro prompt and the number
// phrase in one.
func TestSoundsWithIntros(t *testing.T) {
	for _, tc := range []struct {
		lang, position, wait string
		want                 map[string]string
	}{
		{"ru", "Ваш номер в очереди:", "Примерное время ожидания:", map[string]string{
			"position_1": "Ваш номер в очереди: один", "position_21": "Ваш номер в очереди: двадцать один",
			"position_over_100": "Ваш номер в очереди: больше ста", "wait_1": "Примерное время ожидания: одна минута",
			"wait_5": "Примерное время ожидания: пять минут", "wait_over_60": "Примерное время ожидания: больше часа"}},
		{"kk", "Сіздің кезектегі нөміріңіз:", "Күтудің шамамен уақыты:", map[string]string{
			"position_5": "Сіздің кезектегі нөміріңіз: бес", "wait_6": "Күтудің шамамен уақыты: алты минут"}},
		// No intro text: the number alone, no stray space.
		{"en", "", " ", map[string]string{"position_2": "two", "wait_1": "one minute"}},
	} {
		m, err := Sounds(tc.lang, tc.position, tc.wait)
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range tc.want {
			if m[name] != text {
				t.Errorf("%s: %s = %q, want %q", tc.lang, name, m[name], text)
			}
		}
	}
}

func TestIsSoundName(t *testing.T) {
	for name, want := range map[string]bool{
		"number_5": true, "number_500": true, "number_over_100": true, "minutes_1": true,
		"minutes_over_60": true, "digit_0": true, "position_7": true, "position_over_100": true,
		"wait_12": true, "wait_over_60": true, "wait_music": false, "position_intro": false,
		"number_readback": false, "minutes": false, "digit_10": false, "number_": false,
		"queue_position_intro": false, "confirm_number": false,
	} {
		if got := IsSoundName(name); got != want {
			t.Errorf("IsSoundName(%q) = %v, want %v", name, got, want)
		}
	}
}
