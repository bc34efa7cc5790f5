// Package i18n is what hotline's pages (the operators' desktop and the
// supervisors' wallboard) share to speak the operators' four languages:
// the languages and their names, the language a request gets, string
// tables with their fallback, numbers and durations written as each
// language writes them, and the checks their tests make (every key in
// every language, no English left on a translated page).
//
// A person picks the language when signing in (the sign-in page offers
// it, ?lang= or else the browser's Accept-Language preselects it); the
// session keeps it (auth.Session.Lang) and each page's language switch
// changes it (auth.Sessions.SetLang).
package i18n

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

// Languages the pages speak, in the order the sign-in page and the
// language switches offer them.
var Languages = []string{"ru", "kk", "uk", "en"}

// Default is the language of a request that names none the pages speak.
const Default = "ru"

// fallback is where a text missing in a language is looked up next.
const fallback = "en"

var names = map[string]string{"ru": "Русский", "kk": "Қазақша", "uk": "Українська", "en": "English"}

// Name is the language's name in itself (Қазақша), for the switches.
func Name(code string) string { return names[code] }

// Speaks reports whether the pages speak lang.
func Speaks(lang string) bool {
	_, ok := names[lang]
	return ok
}

// matcher picks among Languages; its first (Default) is what no match gets.
var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		tags[i] = language.Make(l)
	}
	return language.NewMatcher(tags)
}()

// Requested is the language a request for a page asks for: ?lang= when
// the pages speak it, else the best the pages speak of the browser's
// Accept-Language (kk-KZ is kk), else Default.
func Requested(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); Speaks(l) {
		return l
	}
	accept, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(accept) == 0 {
		return Default
	}
	if _, i, conf := matcher.Match(accept...); conf != language.No {
		return Languages[i]
	}
	return Default
}

// Known is lang if the pages speak it, else Default.
func Known(lang string) string {
	if Speaks(lang) {
		return lang
	}
	return Default
}

// Table is one page's strings: language → key → text. A key missing in a
// language falls back to English, then to the key itself, so a new string
// shows up untranslated rather than as nothing (and Problems names it).
type Table map[string]map[string]string

// Rows builds a table from one row per key holding its text in every
// language, in the order of Languages (ru, kk, uk, en): a new string is
// one line with its four languages side by side.
func Rows(rows map[string][4]string) Table {
	t := Table{}
	for _, l := range Languages {
		t[l] = map[string]string{}
	}
	for key, texts := range rows {
		for i, l := range Languages {
			if texts[i] != "" {
				t[l][key] = texts[i]
			}
		}
	}
	return t
}

// Lookup is key's text in lang, without falling back.
func (t Table) Lookup(lang, key string) (string, bool) {
	s, ok := t[lang][key]
	return s, ok
}

// Text is key in lang, else in English, else the key itself.
func (t Table) Text(lang, key string) string {
	if s, ok := t[lang][key]; ok {
		return s
	}
	if s, ok := t[fallback][key]; ok {
		return s
	}
	return key
}

// Problems lists what the table lacks, sorted: a language the pages
// speak that it has no strings for, a key one language has and another
// lacks or leaves empty, a language the pages do not speak.
func (t Table) Problems() []string {
	keys := map[string]bool{}
	for _, m := range t {
		for k := range m {
			keys[k] = true
		}
	}
	var out []string
	for lang := range t {
		if !Speaks(lang) {
			out = append(out, fmt.Sprintf("strings in %q, which the pages do not speak", lang))
		}
	}
	for _, lang := range Languages {
		m, ok := t[lang]
		if !ok {
			out = append(out, fmt.Sprintf("%s: no strings at all", lang))
			continue
		}
		for k := range keys {
			if strings.TrimSpace(m[k]) == "" {
				out = append(out, fmt.Sprintf("%s: %q is missing", lang, k))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Leftovers are the English texts of t's keys that lang translates (its
// text differs from the English one) and that still show on page, an
// HTML document or fragment: in its text, or in a title, aria-label,
// placeholder or alt attribute; the language switch's names of the
// languages in themselves (English) are not leftovers. A text is split at
// its printf verbs and each part with a letter in it counts where it
// stands as whole words. It is for the pages' tests: a translated page
// shows no English.
func (t Table) Leftovers(lang, page string) []string {
	if lang == fallback {
		return nil
	}
	var visible []string
	for _, s := range Visible(page) {
		if s != names[fallback] {
			visible = append(visible, s)
		}
	}
	var out []string
	for key, en := range t[fallback] {
		if s, ok := t[lang][key]; !ok || s == en {
			continue
		}
		for _, part := range splitVerbs(en) {
			if !hasLetter(part) {
				continue
			}
			if at := wordIn(visible, part); at >= 0 {
				out = append(out, fmt.Sprintf("%s %q: %q in %q", lang, key, part, visible[at]))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// SameAsEnglish are the keys whose text in lang is the English one, sorted:
// a string copied and not translated yet, unless it is the same in both
// (CSV). Leftovers cannot see these; the pages' tests list the ones that
// may be.
func (t Table) SameAsEnglish(lang string) []string {
	var out []string
	for key, en := range t[fallback] {
		if s, ok := t[lang][key]; ok && lang != fallback && s == en {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// Visible is what a person reads (or hears from a screen reader) on an
// HTML page: its text nodes and its title, aria-label, placeholder and
// alt attributes, each trimmed; scripts and styles are left out.
func Visible(page string) []string {
	var out []string
	z := html.NewTokenizer(strings.NewReader(page))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if skip == 0 {
				if s := strings.TrimSpace(string(z.Text())); s != "" {
					out = append(out, s)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, attrs := z.TagName()
			if n := string(name); n == "script" || n == "style" {
				skip++
			}
			for attrs {
				var k, v []byte
				k, v, attrs = z.TagAttr()
				switch string(k) {
				case "title", "aria-label", "placeholder", "alt":
					if s := strings.TrimSpace(string(v)); s != "" {
						out = append(out, s)
					}
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); (string(name) == "script" || string(name) == "style") && skip > 0 {
				skip--
			}
		}
	}
}

// splitVerbs cuts s at its printf verbs (%s, %d, %.0f…) and trims the
// parts.
func splitVerbs(s string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			cur.WriteByte(s[i])
			continue
		}
		j := i + 1
		for j < len(s) && strings.IndexByte("0123456789.+-# []", s[j]) >= 0 {
			j++
		}
		if j < len(s) && s[j] == '%' {
			cur.WriteByte('%')
			i = j
			continue
		}
		parts = append(parts, strings.TrimSpace(cur.String()))
		cur.Reset()
		i = j
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// wordIn is the index of the first of texts holding part as whole words
// (no letter or digit right before or after it), or -1.
func wordIn(texts []string, part string) int {
	for i, s := range texts {
		for off := 0; ; {
			j := strings.Index(s[off:], part)
			if j < 0 {
				break
			}
			j += off
			before, _ := utf8.DecodeLastRuneInString(s[:j])
			after, _ := utf8.DecodeRuneInString(s[j+len(part):])
			if !isWordRune(before) && !isWordRune(after) {
				return i
			}
			off = j + 1
		}
	}
	return -1
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// nbsp keeps a number's groups, and a number and its sign, on one line.
const nbsp = "\u00a0"

// Int is n with the language's digit groups: 12,345 in English, 12 345
// (a no-break space) in Russian, Kazakh and Ukrainian.
func Int(lang string, n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	sep := nbsp
	if lang == fallback {
		sep = ","
	}
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	return sign + b.String()
}

// Percent is f (0–100) rounded to a whole percent as lang writes it: 85%
// in English, Kazakh and Ukrainian, 85 % (a no-break space) in Russian;
// a dash when f is negative (nothing to measure).
func Percent(lang string, f float64) string {
	if f < 0 || math.IsNaN(f) {
		return "—"
	}
	n := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	if lang == "ru" {
		return n + nbsp + "%"
	}
	return n + "%"
}

// Duration is d rounded to the second as m:ss, or h:mm:ss from an hour,
// the same in every language; a negative d is written as its length.
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
