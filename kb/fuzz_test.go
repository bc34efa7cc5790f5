package kb_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/hotline-acd/hotline/kb"
)

// checkHits checks what every Search must give, whatever the query.
func checkHits(t *testing.T, b *kb.Base, query string, n int, hits []kb.Hit) {
	t.Helper()
	if len(hits) > max(n, 0) {
		t.Errorf("Search(%q, %d) gave %d hits", query, n, len(hits))
	}
	seen := map[string]bool{}
	for _, h := range hits {
		if seen[h.ID] {
			t.Errorf("Search(%q) gave %s twice", query, h.ID)
		}
		seen[h.ID] = true
		if a, ok := b.Get(h.ID); !ok || a.Title != h.Title || a.Topic != h.Topic {
			t.Errorf("Search(%q): hit %+v is not an article", query, h)
		}
		if c := utf8.RuneCountInString(h.Snippet); c > kb.SnippetRunes || !utf8.ValidString(h.Snippet) {
			t.Errorf("Search(%q): snippet of %d runes (valid UTF-8: %v): %q", query, c, utf8.ValidString(h.Snippet), h.Snippet)
		}
	}
	if strings.TrimSpace(query) == "" && hits != nil {
		t.Errorf("Search(%q) found something", query)
	}
}

func FuzzSearch(f *testing.F) {
	for _, seed := range []struct {
		q string
		n int
	}{
		{"результат ПЦР", 5},
		{"резул", 1},
		{"ёлка", 3},
		{"м'ясо об’єм", 10},
		{"ҚАЗАҚСТАН", 2},
		{"", 5},
		{"   ", 5},
		{"пцр", 0},
		{"пцр", -7},
		{"\xff\xfeпцр\x00", 5},
		{"a\u0301b й ﬁ İ ß", 5},
		{strings.Repeat("пцр ", 80), 5},
		{strings.Repeat("р", 500), 5},
	} {
		f.Add(seed.q, seed.n)
	}
	b := searchBase(f)
	f.Fuzz(func(t *testing.T, query string, n int) {
		hits := b.Search(query, n)
		checkHits(t, b, query, n, hits)
		if again := b.Search(query, n); !slices.Equal(again, hits) {
			t.Errorf("Search(%q) is not deterministic: %v then %v", query, hits, again)
		}
	})
}

// FuzzRender loads any Markdown as an article: Load must not panic, its
// HTML must stay safe, and searching its own text must work.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"# ПЦР-тест\n\nРезультат **через 24 часа**.",
		"<script>alert(1)</script>\n\nafter",
		"[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
		"| a |\n|---|\n| <iframe src=x> |",
		"> # q\n>\n> - [x](<javascript:alert(1)>)",
		"```\n<script>\n```",
		"\uFEFF# \xd0",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		b, err := kb.Load(fstest.MapFS{"t/a.md": {Data: []byte(src)}}, ".")
		if err != nil {
			if utf8.ValidString(strings.TrimPrefix(src, "\uFEFF")) {
				t.Fatalf("Load of valid UTF-8: %v", err)
			}
			return
		}
		a, ok := b.Get("t/a")
		if !ok {
			t.Fatal("article missing")
		}
		if bad := unsafeHTML(a.HTML); len(bad) > 0 {
			t.Errorf("unsafe %q in HTML %q from %q", bad, a.HTML, src)
		}
		if a.Title == "" || strings.Contains(a.Title, "\n") || !utf8.ValidString(a.Title) || !utf8.ValidString(a.Text) {
			t.Errorf("Title %q, Text %q", a.Title, a.Text)
		}
		q := a.Text
		if len(q) > 40 {
			q = q[:40] // may cut a rune: Search must cope
		}
		checkHits(t, b, q, 3, b.Search(q, 3))
	})
}
