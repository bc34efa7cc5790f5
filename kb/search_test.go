package kb_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/hotline-acd/hotline/kb"
)

// searchBase is a small base in the hotline's four languages.
func searchBase(t testing.TB) *kb.Base {
	t.Helper()
	b, err := kb.Load(fstest.MapFS{
		"testing/pcr.md":     file("# ПЦР-тест: сроки и результаты\n\nРезультат ПЦР-теста готов через 24–48 часов. Если результата нет — запишите обращение."),
		"testing/where.md":   file("# Где сдать тест\n\nПлатно — в лабораториях. Результат на английском языке."),
		"travel/rules.md":    file("# Въезд из-за границы\n\nОтрицательный ПЦР-тест, не ранее 72 часов. Без теста — карантин до результата. Результат, результат."),
		"volunteers.md":      file("# Волонтёры\n\nВолонтеры доставляют продукты. Ёлка и елка."),
		"kk/kazakh.md":       file("# Вакцина туралы\n\nҚАЗАҚСТАН азаматтары вакцинаны емханада алады. Ақпарат 1414 нөмірі бойынша."),
		"uk/food.md":         file("# Продукти\n\nМ’ясо та молоко привезуть волонтери. Об'єм допомоги обмежений."),
		"en/mask.md":         file("# Masks\n\nWear a MASK indoors. Masks are free at the pharmacy. Don't panic."),
		"emergency/call.md":  file("# Скорая помощь\n\nПри температуре выше 38,5 °C более 3 дней — переведите в скорую (103)."),
		"testing/results.md": file("# Результаты анализов\n\nСм. личный кабинет."),
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hitIDs(hs []kb.Hit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	b := searchBase(t)
	tests := []struct {
		name  string
		query string
		n     int
		want  []string
	}{
		{"title matches first, then by frequency", "результат", 10,
			[]string{"testing/pcr", "testing/results", "travel/rules", "testing/where"}},
		{"all words must match", "результат ПЦР", 10, []string{"testing/pcr", "travel/rules"}},
		{"word order does not matter", "пцр результат", 10, []string{"testing/pcr", "travel/rules"}},
		{"no article holds both", "результат волонтеры", 10, nil},
		{"case does not matter", "пЦр", 10, []string{"testing/pcr", "travel/rules"}},
		{"prefix of three letters or more", "резул", 10,
			[]string{"testing/pcr", "testing/results", "travel/rules", "testing/where"}},
		{"prefix of a word only, not its middle", "зульт", 10, nil},
		{"shorter words only match whole", "ре", 10, nil},
		{"a short word matching whole", "до", 10, []string{"travel/rules"}},
		{"the query word longer than the text's", "результатами", 10, nil},
		{"ё as е in the query", "ёлка", 10, []string{"volunteers"}},
		{"е as ё in the text", "волонтеры доставляют", 10, []string{"volunteers"}},
		{"ё in the title; Ukrainian shares the stem", "волонтёр", 10, []string{"volunteers", "uk/food"}},
		{"Kazakh, upper case in the text", "қазақстан вакцина", 10, []string{"kk/kazakh"}},
		{"Kazakh letters as prefix", "нөм", 10, []string{"kk/kazakh"}},
		{"Ukrainian apostrophes are all one", "м'ясо", 10, []string{"uk/food"}},
		{"Ukrainian without apostrophe", "мясо об’єм", 10, []string{"uk/food"}},
		{"English", "MASKS pharmacy", 10, []string{"en/mask"}},
		{"English apostrophe", "dont", 10, []string{"en/mask"}},
		{"digits", "103", 10, []string{"emergency/call"}},
		{"digits are words", "38 5", 10, []string{"emergency/call"}},
		{"punctuation is ignored", "«ПЦР»,  — результат!?", 10, []string{"testing/pcr", "travel/rules"}},
		{"n limits", "результат", 2, []string{"testing/pcr", "testing/results"}},
		{"n of zero", "результат", 0, nil},
		{"negative n", "результат", -1, nil},
		{"empty", "", 10, nil},
		{"white space", " \t\n\u00a0", 10, nil},
		{"no words", "!?—…", 10, nil},
		{"nothing matches", "инопланетяне", 10, nil},
		{"the same word twice is once", "пцр пцр ПЦР", 10, []string{"testing/pcr", "travel/rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := b.Search(tt.query, tt.n)
			if got := hitIDs(hits); !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q, %d) = %q, want %q", tt.query, tt.n, got, tt.want)
			}
			for _, h := range hits {
				a, ok := b.Get(h.ID)
				if !ok || h.Title != a.Title || h.Topic != a.Topic {
					t.Errorf("hit %+v does not match its article %+v", h, a)
				}
			}
		})
	}
}

func TestSearchTitleBeforeFrequency(t *testing.T) {
	b, err := kb.Load(fstest.MapFS{
		"a.md": file("# Other\n\nmask mask mask mask mask mask"),
		"b.md": file("# Mask\n\nnothing else"),
		"c.md": file("# Mask rules\n\nmask"),
		"d.md": file("# Other\n\nmask"),
		"e.md": file("# Another\n\nmask"), // ties: by title
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c", "b", "a", "e", "d"}
	if got := hitIDs(b.Search("mask", 10)); !slices.Equal(got, want) {
		t.Errorf("Search(mask) = %q, want %q", got, want)
	}
	// More query words in the title beat one word in it many times.
	b, err = kb.Load(fstest.MapFS{
		"a.md": file("# Mask mask mask\n\nfree"),
		"b.md": file("# Free masks\n\nx"),
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(b.Search("mask free", 10)); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("Search(mask free) = %q", got)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("слово ", 100) + "Результат ПЦР-теста готов. " + strings.Repeat("ещё ", 100)
	b, err := kb.Load(fstest.MapFS{
		"long.md":  file("# Длинная\n\n" + long),
		"short.md": file("# Короткая\n\nВсё про ПЦР и сроки."),
		"title.md": file("# Маски\n\nНосите в помещении."),
		"word.md":  file("# Слово\n\nначало " + strings.Repeat("я", 400) + " пцр"),
		"multi.md": file("# Много строк\n\nПервый абзац.\n\n- второй\n- третий пункт"),
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  string // exact, or a prefix/suffix check below
	}{
		{"короткая пцр", "Всё про ПЦР и сроки."},
		{"маски", "Носите в помещении."}, // only the title matched: the text from its start
		{"пункт", "Первый абзац. второй третий пункт"},
	}
	for _, tt := range tests {
		hits := b.Search(tt.query, 1)
		if len(hits) != 1 || hits[0].Snippet != tt.want {
			t.Errorf("Search(%q) = %+v, want snippet %q", tt.query, hits, tt.want)
		}
	}

	hits := b.Search("длинная результат", 1)
	if len(hits) != 1 {
		t.Fatalf("Search(длинная результат) = %+v", hits)
	}
	s := hits[0].Snippet
	if n := utf8.RuneCountInString(s); n > kb.SnippetRunes {
		t.Errorf("snippet has %d runes: %q", n, s)
	}
	if !strings.HasPrefix(s, "…слово ") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "Результат ПЦР-теста готов.") {
		t.Errorf("snippet = %q", s)
	}
	// About 40 runes before the match, the rest after it.
	before, after, _ := strings.Cut(s, "Результат")
	if nb, na := utf8.RuneCountInString(before), utf8.RuneCountInString(after); nb > 45 || na < 100 {
		t.Errorf("snippet has %d runes before the match and %d after: %q", nb, na, s)
	}
	if strings.Contains(s, "слов ") || strings.Contains(s, " ещ…") {
		t.Errorf("snippet cut a word: %q", s)
	}

	// One word longer than a snippet: cut inside it, but rune-safe.
	hits = b.Search("пцр слово", 1)
	if len(hits) != 1 {
		t.Fatalf("Search(пцр слово) = %+v", hits)
	}
	s = hits[0].Snippet
	if n := utf8.RuneCountInString(s); n > kb.SnippetRunes || !utf8.ValidString(s) {
		t.Errorf("snippet of %d runes, valid %v: %q", n, utf8.ValidString(s), s)
	}
	if !strings.HasSuffix(s, "пцр") || !strings.HasPrefix(s, "…") {
		t.Errorf("snippet = %q, want the end of the text", s)
	}
}

func TestSearchQueryCap(t *testing.T) {
	b := searchBase(t)
	pad := strings.Repeat(" ", kb.MaxQueryRunes)
	if hits := b.Search(pad+"пцр", 10); hits != nil {
		t.Errorf("words past MaxQueryRunes count: %q", hitIDs(hits))
	}
	if hits := b.Search("пцр"+pad+pad, 10); len(hits) != 2 {
		t.Errorf("a long query loses its first words: %q", hitIDs(hits))
	}
	// Cut by runes, not bytes: 199 two-byte runes of padding still leave
	// room for one letter.
	if hits := b.Search(strings.Repeat("—", kb.MaxQueryRunes-3)+"пцр", 10); len(hits) != 2 {
		t.Errorf("the cap counts bytes: %q", hitIDs(hits))
	}
}
