package kb_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hotline-acd/hotline/configs"
	"github.com/hotline-acd/hotline/kb"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func ids(as []kb.Article) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestLoadLayout(t *testing.T) {
	fsys := fstest.MapFS{
		"kb/volunteers.md":              file("# Волонтёры\n\nДоставка."),
		"kb/Hours_2.md":                 file("# Часы работы\n"),
		"kb/readme.txt":                 file("not an article"),
		"kb/.draft.md":                  file("# hidden"),
		"kb/.git/config.md":             file("# hidden folder"),
		"kb/testing/pcr-results.md":     file("# ПЦР-тест: сроки и результаты\n"),
		"kb/testing/where-to-test.md":   file("# Где сдать тест\n"),
		"kb/testing/image.png":          file("\x89PNG"),
		"kb/testing/drafts/next.md":     file("# deeper nesting is skipped"),
		"kb/testing/.swap.md":           file("# hidden"),
		"kb/home_visit/booking.md":      file("no heading"),
		"kb/empty/.keep":                file(""),
		"kb/Картинки/logo.png":          file("\x89PNG"), // holds no article: its name does not matter
		"kb/travel/quarantine-rules.MD": file("# only .md counts"),
		"outside.md":                    file("# not under root"),
	}
	b, err := kb.Load(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		topic string
		want  []string
	}{
		{"testing", []string{"testing/where-to-test", "testing/pcr-results"}}, // by title: Г before П
		{"home_visit", []string{"home_visit/booking"}},
		{"", []string{"volunteers", "Hours_2"}}, // В before Ч
		{"empty", nil},
		{"travel", nil},
		{"nope", nil},
	}
	for _, tt := range tests {
		if got := ids(b.ForTopic(tt.topic)); !slices.Equal(got, tt.want) {
			t.Errorf("ForTopic(%q) = %q, want %q", tt.topic, got, tt.want)
		}
	}
	if got := ids(b.General()); !slices.Equal(got, []string{"volunteers", "Hours_2"}) {
		t.Errorf("General() = %q", got)
	}
	if got := b.Topics(); !slices.Equal(got, []string{"home_visit", "testing"}) {
		t.Errorf("Topics() = %q", got)
	}
	if b.Len() != 5 {
		t.Errorf("Len() = %d, want 5", b.Len())
	}

	a, ok := b.Get("testing/pcr-results")
	if !ok || a.Topic != "testing" || a.Title != "ПЦР-тест: сроки и результаты" {
		t.Errorf("Get(testing/pcr-results) = %+v, %v", a, ok)
	}
	if a, ok := b.Get("home_visit/booking"); !ok || a.Title != "booking" {
		t.Errorf("an article without a heading is titled by its file name, got %+v, %v", a, ok)
	}
	if a, ok := b.Get("volunteers"); !ok || a.Topic != "" {
		t.Errorf("Get(volunteers) = %+v, %v", a, ok)
	}
	for _, id := range []string{"", "testing", "testing/drafts/next", "drafts/next", "testing/pcr-results.md", "readme", ".draft", "outside", "kb/volunteers"} {
		if _, ok := b.Get(id); ok {
			t.Errorf("Get(%q) found an article", id)
		}
	}
}

func TestForTopicOrder(t *testing.T) {
	b, err := kb.Load(fstest.MapFS{
		"t/b.md": file("# ёж"),  // ё sorts as е, not after я
		"t/a.md": file("# Ель"), // case does not matter
		"t/c.md": file("# жук"),
		"t/d.md": file("# дом"),
		"t/f.md": file("# Apple"),
		"t/e.md": file("# apple"), // same title: by ID
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t/e", "t/f", "t/d", "t/b", "t/a", "t/c"} // ёж, Ель: ж before л
	if got := ids(b.ForTopic("t")); !slices.Equal(got, want) {
		t.Errorf("ForTopic(t) = %q, want %q", got, want)
	}
}

func TestLoadRoot(t *testing.T) {
	fsys := fstest.MapFS{"a.md": file("# A"), "t/b.md": file("# B")}
	for _, root := range []string{"", "."} {
		b, err := kb.Load(fsys, root)
		if err != nil {
			t.Fatalf("Load(%q): %v", root, err)
		}
		if got := ids(b.General()); !slices.Equal(got, []string{"a"}) {
			t.Errorf("Load(%q): General() = %q", root, got)
		}
	}
	b, err := kb.Load(fstest.MapFS{"kb/.keep": file("")}, "kb")
	if err != nil || b.Len() != 0 {
		t.Errorf("an empty folder is an empty base, got %v, %v", b.Len(), err)
	}
}

func TestLoadErrors(t *testing.T) {
	big := strings.Repeat("a", kb.MaxArticleSize+1)
	many := fstest.MapFS{}
	for i := range kb.MaxArticles + 1 {
		many[fmt.Sprintf("kb/t/a%04d.md", i)] = file("x")
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		root string
		is   error  // errors.Is, if not nil
		msg  string // the error holds it
	}{
		{"too large", fstest.MapFS{"kb/t/ok.md": file("ok"), "kb/t/big.md": file(big)}, "kb", kb.ErrTooLarge,
			fmt.Sprintf("kb: article too large: kb/t/big.md has %d bytes, the limit is %d", kb.MaxArticleSize+1, kb.MaxArticleSize)},
		{"too many", many, "kb", kb.ErrTooMany, "kb: too many articles: kb/t/a2000.md would be number 2001, the limit is 2000"},
		{"not UTF-8", fstest.MapFS{"kb/cp1251.md": file("\xcf\xd6\xd0")}, "kb", kb.ErrEncoding, "kb: article is not UTF-8: kb/cp1251.md (save it as UTF-8)"},
		{"Cyrillic file name", fstest.MapFS{"kb/t/пцр.md": file("x")}, "kb", kb.ErrName, "kb: bad name: kb/t/пцр.md: use only ASCII letters"},
		{"space in file name", fstest.MapFS{"kb/my note.md": file("x")}, "kb", kb.ErrName, "kb/my note.md"},
		{"bad topic folder", fstest.MapFS{"kb/home visit/a.md": file("x")}, "kb", kb.ErrName, "kb: bad name: kb/home visit:"},
		{"nameless file", fstest.MapFS{"kb/t/.md": file("x"), "kb/u/x.md.md": file("x"), "kb/v/%.md": file("x")}, "kb", kb.ErrName, "kb/v/%.md"},
		{"missing root", fstest.MapFS{"a.md": file("x")}, "kb", os.ErrNotExist, "kb: open kb:"},
		{"invalid root", fstest.MapFS{}, "../kb", kb.ErrName, `root "../kb"`},
		{"root is a file", fstest.MapFS{"kb": file("x")}, "kb", nil, "kb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := kb.Load(tt.fsys, tt.root)
			if err == nil {
				t.Fatalf("Load succeeded with %d articles", b.Len())
			}
			if b != nil {
				t.Errorf("Load returned a base with its error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestLoadLimitsInclusive(t *testing.T) {
	fsys := fstest.MapFS{"kb/big.md": file("# Big\n\n" + strings.Repeat("a", kb.MaxArticleSize-7))}
	for i := range kb.MaxArticles - 1 {
		fsys[fmt.Sprintf("kb/t/a%04d.md", i)] = file("x")
	}
	b, err := kb.Load(fsys, "kb")
	if err != nil {
		t.Fatalf("an article of exactly MaxArticleSize among exactly MaxArticles: %v", err)
	}
	if b.Len() != kb.MaxArticles {
		t.Errorf("Len() = %d, want %d", b.Len(), kb.MaxArticles)
	}
}

// TestLoadDirFS loads a real folder, as a deployment does, with a topic
// folder that is a symbolic link.
func TestLoadDirFS(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "general.md"), "# Общее")
	write(filepath.Join(dir, "testing", "a.md"), "# Тест")
	write(filepath.Join(elsewhere, "b.md"), "# Поездка")
	if err := os.Symlink(elsewhere, filepath.Join(dir, "travel")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	b, err := kb.Load(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Topics(); !slices.Equal(got, []string{"testing", "travel"}) {
		t.Errorf("Topics() = %q", got)
	}
	if a, ok := b.Get("travel/b"); !ok || a.Title != "Поездка" {
		t.Errorf("Get(travel/b) = %+v, %v", a, ok)
	}
}

// TestExample loads the knowledge base shipped with the example config.
func TestExample(t *testing.T) {
	b, err := kb.Load(configs.KB, "kb")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, a := range b.ForTopic("testing") {
		if a.Title == "ПЦР-тест: сроки и результаты" {
			found = true
			if a.ID != "testing/pcr-results" || !strings.Contains(a.HTML, "<strong>24–48 часов</strong>") {
				t.Errorf("article = %+v", a)
			}
		}
	}
	if !found {
		t.Errorf("topic testing lacks the PCR article: %q", ids(b.ForTopic("testing")))
	}
	hits := b.Search("результат ПЦР", 5)
	if len(hits) == 0 || hits[0].ID != "testing/pcr-results" || hits[0].Title != "ПЦР-тест: сроки и результаты" || hits[0].Topic != "testing" {
		t.Fatalf("Search(результат ПЦР) = %+v", hits)
	}
	if !strings.Contains(hits[0].Snippet, "Результат ПЦР-теста") {
		t.Errorf("snippet = %q", hits[0].Snippet)
	}
	if got := ids(b.General()); !slices.Equal(got, []string{"volunteers"}) {
		t.Errorf("General() = %q", got)
	}
	for _, topic := range b.Topics() {
		for _, a := range b.ForTopic(topic) {
			if bad := unsafeHTML(a.HTML); len(bad) > 0 || a.Text == "" {
				t.Errorf("%s: unsafe %q, text %q", a.ID, bad, a.Text)
			}
		}
	}
}

// TestConcurrentUse reads one base from many goroutines (run with -race),
// and shows that changing what it hands out does not change it.
func TestConcurrentUse(t *testing.T) {
	b, err := kb.Load(configs.KB, "kb")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 50 {
				as := b.ForTopic("testing")
				as[0].Title = fmt.Sprint("changed by ", g)
				topics := b.Topics()
				topics[0] = "changed"
				_ = b.General()
				if hits := b.Search("результат ПЦР", 3); len(hits) == 0 {
					t.Error("no hits")
					return
				}
				if a, ok := b.Get("testing/pcr-results"); !ok || a.Title != "ПЦР-тест: сроки и результаты" {
					t.Errorf("Get = %+v, %v", a, ok)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := b.Topics(); got[0] != "complaints" {
		t.Errorf("Topics() = %q", got)
	}
}

func TestNilBase(t *testing.T) {
	var b *kb.Base
	if b.Len() != 0 || b.ForTopic("testing") != nil || b.General() != nil || b.Topics() != nil || b.Search("пцр", 5) != nil {
		t.Error("a nil base is not empty")
	}
	if _, ok := b.Get("volunteers"); ok {
		t.Error("a nil base has an article")
	}
}
