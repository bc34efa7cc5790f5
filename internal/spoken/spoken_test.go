package spoken

import (
	"errors"
	"testing"
)

// Each row: a number, the cardinal, and "n minutes".
type row struct {
	n        int
	cardinal string
	minutes  string
}

var tables = map[string][]row{
	"ru": {
		{0, "ноль", "ноль минут"},
		{1, "один", "одна минута"},
		{2, "два", "две минуты"},
		{4, "четыре", "четыре минуты"},
		{5, "пять", "пять минут"},
		{10, "десять", "десять минут"},
		{11, "одиннадцать", "одиннадцать минут"},
		{12, "двенадцать", "двенадцать минут"},
		{14, "четырнадцать", "четырнадцать минут"},
		{20, "двадцать", "двадцать минут"},
		{21, "двадцать один", "двадцать одна минута"},
		{22, "двадцать два", "двадцать две минуты"},
		{25, "двадцать пять", "двадцать пять минут"},
		{40, "сорок", "сорок минут"},
		{60, "шестьдесят", "шестьдесят минут"},
		{100, "сто", "сто минут"},
		{101, "сто один", "сто одна минута"},
		{111, "сто одиннадцать", "сто одиннадцать минут"},
		{112, "сто двенадцать", "сто двенадцать минут"},
		{121, "сто двадцать один", "сто двадцать одна минута"},
		{200, "двести", "двести минут"},
		{342, "триста сорок два", "триста сорок две минуты"},
		{999, "девятьсот девяносто девять", "девятьсот девяносто девять минут"},
	},
	"uk": {
		{0, "нуль", "нуль хвилин"},
		{1, "один", "одна хвилина"},
		{2, "два", "дві хвилини"},
		{4, "чотири", "чотири хвилини"},
		{5, "п'ять", "п'ять хвилин"},
		{11, "одинадцять", "одинадцять хвилин"},
		{12, "дванадцять", "дванадцять хвилин"},
		{14, "чотирнадцять", "чотирнадцять хвилин"},
		{21, "двадцять один", "двадцять одна хвилина"},
		{22, "двадцять два", "двадцять дві хвилини"},
		{25, "двадцять п'ять", "двадцять п'ять хвилин"},
		{59, "п'ятдесят дев'ять", "п'ятдесят дев'ять хвилин"},
		{100, "сто", "сто хвилин"},
		{101, "сто один", "сто одна хвилина"},
		{111, "сто одинадцять", "сто одинадцять хвилин"},
		{121, "сто двадцять один", "сто двадцять одна хвилина"},
		{200, "двісті", "двісті хвилин"},
		{999, "дев'ятсот дев'яносто дев'ять", "дев'ятсот дев'яносто дев'ять хвилин"},
	},
	"kk": {
		{0, "нөл", "нөл минут"},
		{1, "бір", "бір минут"},
		{2, "екі", "екі минут"},
		{4, "төрт", "төрт минут"},
		{5, "бес", "бес минут"},
		{9, "тоғыз", "тоғыз минут"},
		{10, "он", "он минут"},
		{11, "он бір", "он бір минут"},
		{12, "он екі", "он екі минут"},
		{14, "он төрт", "он төрт минут"},
		{21, "жиырма бір", "жиырма бір минут"},
		{22, "жиырма екі", "жиырма екі минут"},
		{25, "жиырма бес", "жиырма бес минут"},
		{36, "отыз алты", "отыз алты минут"},
		{47, "қырық жеті", "қырық жеті минут"},
		{50, "елу", "елу минут"},
		{68, "алпыс сегіз", "алпыс сегіз минут"},
		{73, "жетпіс үш", "жетпіс үш минут"},
		{80, "сексен", "сексен минут"},
		{99, "тоқсан тоғыз", "тоқсан тоғыз минут"},
		{100, "жүз", "жүз минут"},
		{101, "жүз бір", "жүз бір минут"},
		{111, "жүз он бір", "жүз он бір минут"},
		{121, "жүз жиырма бір", "жүз жиырма бір минут"},
		{200, "екі жүз", "екі жүз минут"},
		{999, "тоғыз жүз тоқсан тоғыз", "тоғыз жүз тоқсан тоғыз минут"},
	},
	"en": {
		{0, "zero", "zero minutes"},
		{1, "one", "one minute"},
		{2, "two", "two minutes"},
		{4, "four", "four minutes"},
		{5, "five", "five minutes"},
		{11, "eleven", "eleven minutes"},
		{12, "twelve", "twelve minutes"},
		{14, "fourteen", "fourteen minutes"},
		{21, "twenty-one", "twenty-one minutes"},
		{22, "twenty-two", "twenty-two minutes"},
		{25, "twenty-five", "twenty-five minutes"},
		{40, "forty", "forty minutes"},
		{100, "one hundred", "one hundred minutes"},
		{101, "one hundred and one", "one hundred and one minutes"},
		{111, "one hundred and eleven", "one hundred and eleven minutes"},
		{121, "one hundred and twenty-one", "one hundred and twenty-one minutes"},
		{999, "nine hundred and ninety-nine", "nine hundred and ninety-nine minutes"},
	},
}

func TestCardinalAndMinutes(t *testing.T) {
	for lang, rows := range tables {
		for _, r := range rows {
			if got, err := Cardinal(lang, r.n); err != nil || got != r.cardinal {
				t.Errorf("Cardinal(%s, %d) = %q, %v; want %q", lang, r.n, got, err, r.cardinal)
			}
			if got, err := Minutes(lang, r.n); err != nil || got != r.minutes {
				t.Errorf("Minutes(%s, %d) = %q, %v; want %q", lang, r.n, got, err, r.minutes)
			}
		}
	}
}

func TestEveryLanguageIsTabled(t *testing.T) {
	for _, lang := range Languages() {
		if len(tables[lang]) == 0 {
			t.Errorf("%s speaks numbers but has no table test", lang)
		}
	}
}

func TestSlavicForm(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want form
	}{
		{0, many}, {1, one}, {2, few}, {3, few}, {4, few}, {5, many}, {10, many},
		{11, many}, {12, many}, {13, many}, {14, many}, {15, many}, {20, many},
		{21, one}, {22, few}, {24, few}, {25, many}, {100, many}, {101, one},
		{102, few}, {111, many}, {112, many}, {114, many}, {121, one}, {122, few},
	} {
		if got := slavicForm(tc.n); got != tc.want {
			t.Errorf("slavicForm(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestRegionalCodesShareTheLanguage(t *testing.T) {
	got, err := Minutes("en_GB", 2)
	if err != nil || got != "two minutes" {
		t.Errorf(`Minutes("en_GB", 2) = %q, %v`, got, err)
	}
	if !Supports("ru") || !Supports("kk") || Supports("de") {
		t.Error("Supports: want ru and kk, not de")
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int
		want error
	}{
		{"de", 1, ErrLanguage},
		{"", 1, ErrLanguage},
		{"ru", -1, ErrRange},
		{"kk", MaxCardinal + 1, ErrRange},
	} {
		if _, err := Cardinal(tc.lang, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("Cardinal(%q, %d): %v, want %v", tc.lang, tc.n, err, tc.want)
		}
		if _, err := Minutes(tc.lang, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("Minutes(%q, %d): %v, want %v", tc.lang, tc.n, err, tc.want)
		}
	}
	if _, err := Cardinal("de", 1); err == nil || err.Error() != `spoken: no number words for language "de" (have en, kk, ru, uk)` {
		t.Errorf("message: %v", err)
	}
}
