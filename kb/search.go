package kb

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search limits.
const (
	MaxQueryRunes = 200 // longer queries are cut, not refused: a paste of a whole SMS still searches
	SnippetRunes  = 160 // longest Hit.Snippet, its "…" included
	prefixRunes   = 3   // a query word this long matches as a prefix
)

// Hit is one search result.
type Hit struct {
	ID      string
	Title   string
	Topic   string
	Snippet string // plain text around the first match in the body, at most SnippetRunes
}

// index is an inverted index: every distinct word of the base, sorted, so
// that the words a prefix matches are one range found by binary search.
type index struct {
	words    []string
	postings [][]posting // parallel to words, ordered by article
}

// posting is one word in one article.
type posting struct {
	article int32
	title   int32 // times in the title
	body    int32 // times in the text
	first   int32 // rune offset of its first time in the text, -1 if none
}

// fold is how words and titles compare: lower case, ё as е (Russian
// writes ё or е for the same word; operators type е).
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if r == 'ё' {
			return 'е'
		}
		return r
	}, s)
}

// isWordRune: a word is letters, digits and combining marks (a letter
// typed as base plus accent stays one word).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isApostrophe: inside a word these are dropped rather than splitting it,
// so Ukrainian "м'ясо" (written with any of the three) is the word "мясо".
func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' }

// words calls fn with each folded word of s and the rune offset where it
// starts.
func words(s string, fn func(word string, at int)) {
	var w []rune
	start, pos := 0, 0
	flush := func() {
		if len(w) > 0 {
			fn(fold(string(w)), start)
			w = w[:0]
		}
	}
	for i := 0; i < len(s); pos++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case isWordRune(r):
			if len(w) == 0 {
				start = pos
			}
			w = append(w, r)
		case isApostrophe(r) && len(w) > 0 && i < len(s):
			if next, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsLetter(next) {
				continue
			}
			flush()
		default:
			flush()
		}
	}
	flush()
}

func buildIndex(articles []Article) index {
	byWord := make(map[string][]posting)
	for i, a := range articles {
		mine := make(map[string]*posting)
		get := func(w string) *posting {
			p := mine[w]
			if p == nil {
				p = &posting{article: int32(i), first: -1}
				mine[w] = p
			}
			return p
		}
		words(a.Title, func(w string, _ int) { get(w).title++ })
		words(a.Text, func(w string, at int) {
			p := get(w)
			if p.body == 0 {
				p.first = int32(at)
			}
			p.body++
		})
		for w, p := range mine {
			byWord[w] = append(byWord[w], *p)
		}
	}
	var ix index
	for w := range byWord {
		ix.words = append(ix.words, w)
	}
	slices.Sort(ix.words)
	ix.postings = make([][]posting, len(ix.words))
	for i, w := range ix.words {
		ix.postings[i] = byWord[w]
	}
	return ix
}

// match is how one query word matched one article, summed over the
// index words it matched.
type match struct {
	title, body int
	first       int // rune offset in the text, -1 if only the title matched
}

// lookup returns, per article, how the query word q matched: words equal
// to q or, when q has at least prefixRunes runes, starting with q.
func (ix *index) lookup(q string) map[int32]match {
	prefix := utf8.RuneCountInString(q) >= prefixRunes
	out := make(map[int32]match)
	for i := sort.SearchStrings(ix.words, q); i < len(ix.words); i++ {
		w := ix.words[i]
		if w != q && !(prefix && strings.HasPrefix(w, q)) {
			break
		}
		for _, p := range ix.postings[i] {
			m, ok := out[p.article]
			if !ok {
				m.first = -1
			}
			m.title += int(p.title)
			m.body += int(p.body)
			if p.first >= 0 && (m.first < 0 || int(p.first) < m.first) {
				m.first = int(p.first)
			}
			out[p.article] = m
		}
	}
	return out
}

// Search finds the articles (of every topic and general ones) that hold
// every word of query, and returns the best n.
//
// Words are letters and digits, compared without case and with ё as е; a
// query word of three letters or more also matches longer words it starts
// ("резул" finds "результат"), a shorter one only itself. Articles with
// more query words in the title come first, then those where the words
// occur more often, then by title. An empty query, one with no words, or
// n ≤ 0 finds nothing. Query is cut to MaxQueryRunes runes.
func (b *Base) Search(query string, n int) []Hit {
	if b == nil || n <= 0 {
		return nil
	}
	// Cut without converting: a pasted megabyte costs a scan, not a copy.
	runes := 0
	for i := range query {
		if runes == MaxQueryRunes {
			query = query[:i]
			break
		}
		runes++
	}
	var qs []string
	words(query, func(w string, _ int) {
		if !slices.Contains(qs, w) {
			qs = append(qs, w)
		}
	})
	if len(qs) == 0 {
		return nil
	}

	type result struct {
		article     int
		titleWords  int // query words found in the title
		occurrences int
		first       int
	}
	var found map[int32]*result
	for k, q := range qs {
		ms := b.index.lookup(q)
		next := make(map[int32]*result, len(ms))
		for a, m := range ms {
			r := found[a]
			if k == 0 {
				r = &result{article: int(a), first: -1}
			} else if r == nil {
				continue // an earlier word missed this article
			}
			if m.title > 0 {
				r.titleWords++
			}
			r.occurrences += m.title + m.body
			if m.first >= 0 && (r.first < 0 || m.first < r.first) {
				r.first = m.first
			}
			next[a] = r
		}
		found = next
		if len(found) == 0 {
			return nil
		}
	}

	results := make([]*result, 0, len(found))
	for _, r := range found {
		results = append(results, r)
	}
	slices.SortFunc(results, func(x, y *result) int {
		ax, ay := &b.articles[x.article], &b.articles[y.article]
		return cmp.Or(
			cmp.Compare(y.titleWords, x.titleWords),
			cmp.Compare(y.occurrences, x.occurrences),
			cmp.Compare(sortKey(ax.Title), sortKey(ay.Title)),
			cmp.Compare(ax.ID, ay.ID),
		)
	})
	if len(results) > n {
		results = results[:n]
	}
	hits := make([]Hit, len(results))
	for i, r := range results {
		a := &b.articles[r.article]
		hits[i] = Hit{ID: a.ID, Title: a.Title, Topic: a.Topic, Snippet: snippet(a.Text, r.first)}
	}
	return hits
}

// snippetLead is how much text a snippet shows before its match.
const snippetLead = 40

// snippet cuts the text around the rune offset at (the start when at < 0)
// to at most SnippetRunes runes on word boundaries, marking cuts with "…".
func snippet(text string, at int) string {
	rs := []rune(text)
	at = max(at, 0)
	// Show snippetLead runes before the match, or more when the text
	// ends soon after it, so a short article's snippet is all of it.
	start := max(0, min(at-snippetLead, len(rs)-(SnippetRunes-1)))
	if start > 0 {
		// Start on a word: after the first space past start, unless that
		// space is after the match itself.
		for i := start; i < at; i++ {
			if rs[i] == ' ' || rs[i] == '\n' {
				start = i + 1
				break
			}
		}
	}
	lead := start > 0
	budget := SnippetRunes
	if lead {
		budget--
	}
	end := len(rs)
	if end-start > budget {
		end = start + budget - 1 // room for the trailing "…"
		// End on a word when there is a space after the match.
		for i := end; i > at; i-- {
			if rs[i] == ' ' || rs[i] == '\n' {
				end = i
				break
			}
		}
	}
	s := strings.ReplaceAll(string(rs[start:end]), "\n", " ")
	s = strings.TrimSpace(s)
	if lead {
		s = "…" + s
	}
	if end < len(rs) {
		s += "…"
	}
	return s
}
