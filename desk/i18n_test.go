package desk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/i18n"
)

// Every string of the desktop, and every name of a configured id, is
// there in all four languages, and translated.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	for name, tb := range map[string]i18n.Table{"texts": texts, "labels": labels} {
		for _, p := range tb.Problems() {
			t.Errorf("%s: %s", name, p)
		}
		for _, lang := range i18n.Languages {
			if same := tb.SameAsEnglish(lang); len(same) > 0 {
				t.Errorf("%s: %s has the English text for %q", name, lang, same)
			}
		}
	}
}

// The sign-in page in each language shows none of its English texts.
func TestSignInPageInEachLanguage(t *testing.T) {
	d, err := New(Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range i18n.Languages {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login?lang="+lang, nil))
		body, _ := io.ReadAll(rec.Body)
		page := string(body)
		if rec.Code != http.StatusOK || !strings.Contains(page, `<html lang="`+lang+`">`) || !strings.Contains(page, tr(lang, "signin")) {
			t.Fatalf("%s: %d %s", lang, rec.Code, page)
		}
		for _, l := range texts.Leftovers(lang, page) {
			t.Errorf("English left on the sign-in page: %s", l)
		}
	}
	// With no ?lang=, the browser's language, as its sign-in form sends it.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	req.Header.Set("Accept-Language", "uk-UA,uk;q=0.9,en;q=0.8")
	d.ServeHTTP(rec, req)
	if page := rec.Body.String(); !strings.Contains(page, `<html lang="uk">`) || !strings.Contains(page, tr("uk", "signin")) {
		t.Fatalf("sign-in page for a Ukrainian browser: %d %s", rec.Code, page)
	}
}
