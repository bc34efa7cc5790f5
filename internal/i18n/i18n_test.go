package i18n

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// A page's language: ?lang= first, then the browser's preference among
// the four, then Russian.
func TestRequested(t *testing.T) {
	for _, tc := range []struct{ query, accept, want string }{
		{"", "", "ru"},
		{"", "kk-KZ,kk;q=0.9,ru;q=0.8", "kk"},
		{"", "uk-UA,uk;q=0.9", "uk"},
		{"", "en-GB,en;q=0.9", "en"},
		{"", "de-DE,de;q=0.9,en;q=0.5", "en"}, // the first the pages speak
		{"", "de-DE", "ru"},
		{"", "fr;q=0.9,kk;q=0.1", "kk"},
		{"", "not a header ;;; q=x", "ru"},
		{"en", "kk-KZ", "en"}, // the link's choice wins
		{"zz", "uk", "uk"},    // an unknown one does not
		{"kk", strings.Repeat("a,", 5000), "kk"},
	} {
		r := httptest.NewRequest("GET", "/login?lang="+tc.query, nil)
		r.Header.Set("Accept-Language", tc.accept)
		if got := Requested(r); got != tc.want {
			t.Errorf("Requested(?lang=%s, Accept-Language %.40q) = %q, want %q", tc.query, tc.accept, got, tc.want)
		}
	}
}

func TestKnownFallsBackToRussian(t *testing.T) {
	for in, want := range map[string]string{"kk": "kk", "en": "en", "": "ru", "de": "ru", "RU": "ru"} {
		if got := Known(in); got != want {
			t.Errorf("Known(%q) = %q, want %q", in, got, want)
		}
	}
	for _, l := range Languages {
		if Name(l) == "" {
			t.Errorf("%s has no name", l)
		}
	}
}

func TestTableFallsBackToEnglishThenTheKey(t *testing.T) {
	tb := Rows(map[string][4]string{"a": {"а", "", "", "A"}})
	if tb.Text("ru", "a") != "а" || tb.Text("kk", "a") != "A" || tb.Text("ru", "b") != "b" {
		t.Errorf("texts: %q %q %q", tb.Text("ru", "a"), tb.Text("kk", "a"), tb.Text("ru", "b"))
	}
	if _, ok := tb.Lookup("kk", "a"); ok {
		t.Error("an empty text was stored")
	}
}

func TestProblemsNameEveryMissingText(t *testing.T) {
	tb := Table{
		"ru": {"a": "а", "b": "б"}, "kk": {"a": "а"}, "uk": {"a": "а", "b": " "}, "en": {"a": "A", "b": "B"},
		"de": {"a": "A"},
	}
	want := []string{`kk: "b" is missing`, `strings in "de", which the pages do not speak`, `uk: "b" is missing`}
	if got := tb.Problems(); !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
	if got := (Table{"ru": {"a": "а"}}).Problems(); !slices.Contains(got, "en: no strings at all") {
		t.Errorf("a table without English: %q", got)
	}
}

func TestLeftoversFindEnglishWordsOnly(t *testing.T) {
	tb := Rows(map[string][4]string{
		"wait":  {"Ожидание", "Күту", "Очікування", "Waiting"},
		"upto":  {"до %d", "%d дейін", "до %d", "up to %d"},
		"same":  {"CSV", "CSV", "CSV", "CSV"},
		"short": {"в", "в", "в", "in"},
	})
	page := `<html><head><title>Ожидание</title><style>.Waiting{}</style></head><body>
<p class="waiting">Ожидание: 3 · CSV</p><button aria-label="up to 5 callers">до 5</button><p>Waitings, interim</p></body></html>`
	got := tb.Leftovers("ru", page)
	if len(got) != 1 || !strings.Contains(got[0], `"up to"`) {
		t.Errorf("leftovers %q, want the aria-label's \"up to\" alone", got)
	}
	if got := tb.Leftovers("en", page); got != nil {
		t.Errorf("English leftovers on an English page: %q", got)
	}
}

func TestNumbersAsEachLanguageWritesThem(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int64
		want string
	}{
		{"en", 1234567, "1,234,567"}, {"ru", 1234567, "1\u00a0234\u00a0567"}, {"kk", 12345, "12\u00a0345"},
		{"uk", 999, "999"}, {"en", -1000, "-1,000"}, {"ru", 0, "0"},
	} {
		if got := Int(tc.lang, tc.n); got != tc.want {
			t.Errorf("Int(%s, %d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
	if Percent("ru", 84.6) != "85\u00a0%" || Percent("en", 84.4) != "84%" || Percent("kk", 100) != "100%" || Percent("uk", -1) != "—" {
		t.Errorf("percents: %q %q %q %q", Percent("ru", 84.6), Percent("en", 84.4), Percent("kk", 100), Percent("uk", -1))
	}
	for d, want := range map[time.Duration]string{
		0: "0:00", 59600 * time.Millisecond: "1:00", 75 * time.Minute: "1:15:00", -90 * time.Second: "1:30",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestOperatorsInEveryLanguage(t *testing.T) {
	for _, p := range Operators.Problems() {
		t.Error(p)
	}
	for _, lang := range Languages {
		if same := Operators.SameAsEnglish(lang); len(same) > 0 {
			t.Errorf("%s has the English text for %q", lang, same)
		}
	}
	if got := Rows(map[string][4]string{"a": {"CSV", "б", "CSV", "CSV"}}).SameAsEnglish("ru"); len(got) != 1 || got[0] != "a" {
		t.Errorf("same as English: %q", got)
	}
	m := Merge(Table{"en": {"a": "A"}}, Table{"en": {"b": "B"}, "ru": {"b": "Б"}})
	if m.Text("en", "a") != "A" || m.Text("ru", "b") != "Б" {
		t.Errorf("merged %v", m)
	}
	defer func() {
		if recover() == nil {
			t.Error("a key defined twice was merged")
		}
	}()
	Merge(Operators, Table{"kk": {"state_ready": "x"}})
}
