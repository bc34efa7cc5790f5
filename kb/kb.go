// Package kb is the operators' knowledge base: short Markdown articles an
// operator opens or searches during a call, per topic of the hotline.
//
// Load reads a folder of an fs.FS (the example's configs.KB, or
// os.DirFS(cfg.KBPath()) in a deployment):
//
//	<root>/<name>.md          a general article, topic ""
//	<root>/<topic>/<name>.md  an article of <topic> (a config topic key)
//
// Only files ending in ".md" count. Hidden files and folders (a name
// starting with ".") are skipped, and so are folders inside a topic's
// folder: nesting is one level, so an editor's drafts/ subfolder never
// reaches the operators. The names of articles and of folders holding
// them must be ASCII letters, digits, '-', '_' or '.', because they make
// the article's ID and the desktop puts IDs in URLs; any other name is an
// error naming the file.
//
// An article's Markdown is rendered with goldmark and sanitised with
// bluemonday's UGC policy (raw HTML is dropped, scripts and javascript:
// links never survive). Its first top-level "# " heading is its Title and
// is taken out of the body; without one, the title is the file name.
//
// Search looks through every article, of all topics and general ones, for
// the words of an operator's query (see Base.Search).
//
// A Base is immutable after Load and safe for concurrent use; a nil *Base
// is an empty one (no folder configured yet). Reloading is loading a new
// Base and swapping it in; a Load that fails (a broken, oversized or badly
// named file, too many articles) returns an error that names the file, and
// the caller keeps serving its old Base.
package kb

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on what Load accepts. They keep a mistaken kb folder (a log file
// renamed .md, a copied archive) from taking the service's memory.
const (
	MaxArticleSize = 256 << 10 // bytes of one article's Markdown
	MaxArticles    = 2000      // articles in one Base
)

// Errors Load wraps, with the file's name and the details.
var (
	ErrTooLarge = errors.New("kb: article too large")
	ErrTooMany  = errors.New("kb: too many articles")
	ErrName     = errors.New("kb: bad name")
	ErrEncoding = errors.New("kb: article is not UTF-8")
)

// Article is one knowledge base article.
type Article struct {
	// ID is "<topic>/<name>" or, for a general article, "<name>" (the file
	// name without ".md"): stable across reloads and safe in a URL path.
	ID    string
	Topic string // "" for a general article
	Title string
	HTML  string // sanitised body, without the title heading
	Text  string // plain text of HTML, one line per block, for search and snippets; not HTML-escaped
}

// Base is a loaded knowledge base. Its methods hand out copies, so nothing
// a caller does changes it.
type Base struct {
	articles []Article         // ordered by topic, then title, then ID
	byID     map[string]int    // ID → index in articles
	byTopic  map[string][2]int // topic → [from, to) in articles
	index    index             // see search.go
	topics   []string          // topics with articles, sorted, without ""
}

// Load reads the knowledge base under root in fsys ("" or "." for its
// top). An empty folder is an empty Base; a missing one is an error.
func Load(fsys fs.FS, root string) (*Base, error) {
	if root == "" {
		root = "."
	}
	if !fs.ValidPath(root) {
		return nil, fmt.Errorf("%w: root %q is not a valid fs.FS path", ErrName, root)
	}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("kb: %w", err)
	}
	l := loader{fsys: fsys, r: newRenderer()}
	for _, e := range entries {
		if hidden(e.Name()) {
			continue
		}
		p := path.Join(root, e.Name())
		isDir, err := l.isDir(p, e)
		if err != nil {
			return nil, err
		}
		if !isDir {
			if err := l.add(p, ""); err != nil {
				return nil, err
			}
			continue
		}
		sub, err := fs.ReadDir(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("kb: %w", err)
		}
		for _, f := range sub {
			if hidden(f.Name()) {
				continue
			}
			fp := path.Join(p, f.Name())
			isDir, err := l.isDir(fp, f)
			if err != nil {
				return nil, err
			}
			if isDir {
				continue // deeper nesting is not part of the layout
			}
			if err := l.add(fp, e.Name()); err != nil {
				return nil, err
			}
		}
	}
	return newBase(l.articles), nil
}

// loader is one Load's state.
type loader struct {
	fsys     fs.FS
	r        *renderer
	articles []Article
}

// isDir reports whether the entry at p is a folder, following a symbolic
// link (a deployment may link a topic's folder from elsewhere).
func (l *loader) isDir(p string, e fs.DirEntry) (bool, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), nil
	}
	info, err := fs.Stat(l.fsys, p)
	if err != nil {
		return false, fmt.Errorf("kb: %w", err)
	}
	return info.IsDir(), nil
}

// add reads, renders and keeps the article at p if it is a Markdown file.
func (l *loader) add(p, topic string) error {
	base := path.Base(p)
	name, ok := strings.CutSuffix(base, ".md")
	if !ok {
		return nil
	}
	// A topic folder's name is checked only once it holds an article: a
	// folder of pictures may be called anything.
	if topic != "" {
		if err := checkName(path.Dir(p), topic); err != nil {
			return err
		}
	}
	if err := checkName(p, name); err != nil {
		return err
	}
	if len(l.articles) == MaxArticles {
		return fmt.Errorf("%w: %s would be number %d, the limit is %d", ErrTooMany, p, MaxArticles+1, MaxArticles)
	}
	src, err := l.read(p)
	if err != nil {
		return err
	}
	src = bytes.TrimPrefix(src, []byte("\uFEFF")) // editors on Windows add a BOM
	if !utf8.Valid(src) {
		return fmt.Errorf("%w: %s (save it as UTF-8)", ErrEncoding, p)
	}
	out, err := l.r.render(src)
	if err != nil {
		return fmt.Errorf("kb: render %s: %w", p, err)
	}
	a := Article{ID: name, Topic: topic, Title: out.title, HTML: out.html, Text: out.text}
	if topic != "" {
		a.ID = topic + "/" + name
	}
	if a.Title == "" {
		a.Title = name
	}
	l.articles = append(l.articles, a)
	return nil
}

// read reads the file at p, refusing it past MaxArticleSize. The size is
// checked before and while reading: a file can grow between the two.
func (l *loader) read(p string) ([]byte, error) {
	f, err := l.fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("kb: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kb: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("kb: %s is not a regular file", p)
	}
	tooLarge := func(size int64) error {
		return fmt.Errorf("%w: %s has %d bytes, the limit is %d", ErrTooLarge, p, size, MaxArticleSize)
	}
	if info.Size() > MaxArticleSize {
		return nil, tooLarge(info.Size())
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxArticleSize+1))
	if err != nil {
		return nil, fmt.Errorf("kb: read %s: %w", p, err)
	}
	if len(src) > MaxArticleSize {
		return nil, tooLarge(int64(len(src)))
	}
	return src, nil
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// checkName refuses a name (of a topic folder, or of a file without ".md")
// that would not be a plain URL path segment.
func checkName(p, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s: empty name", ErrName, p)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: %s: use only ASCII letters, digits, '-', '_' and '.'", ErrName, p)
		}
	}
	return nil
}

func newBase(articles []Article) *Base {
	slices.SortFunc(articles, func(a, b Article) int {
		return cmp.Or(
			cmp.Compare(a.Topic, b.Topic),
			cmp.Compare(sortKey(a.Title), sortKey(b.Title)),
			cmp.Compare(a.ID, b.ID),
		)
	})
	b := &Base{
		articles: articles,
		byID:     make(map[string]int, len(articles)),
		byTopic:  make(map[string][2]int),
	}
	for i, a := range articles {
		b.byID[a.ID] = i
		r, ok := b.byTopic[a.Topic]
		if !ok {
			r[0] = i
			if a.Topic != "" {
				b.topics = append(b.topics, a.Topic)
			}
		}
		r[1] = i + 1
		b.byTopic[a.Topic] = r
	}
	b.index = buildIndex(articles)
	return b
}

// sortKey orders titles the way an operator reads them: case does not
// matter and ё sorts with е. (Unicode order puts Kazakh letters after я;
// for a list of a few dozen titles that is good enough.)
func sortKey(title string) string { return fold(title) }

// ForTopic returns the articles of topic, sorted by title. General
// articles are not among them (see General); ForTopic("") is General().
// The slice is the caller's.
func (b *Base) ForTopic(topic string) []Article {
	if b == nil {
		return nil
	}
	r, ok := b.byTopic[topic]
	if !ok {
		return nil
	}
	return slices.Clone(b.articles[r[0]:r[1]])
}

// General returns the articles of no topic, sorted by title.
func (b *Base) General() []Article { return b.ForTopic("") }

// Topics returns the topics that have articles, sorted. The application
// can compare them with the config's topics to warn about a misspelt
// folder.
func (b *Base) Topics() []string {
	if b == nil {
		return nil
	}
	return slices.Clone(b.topics)
}

// Get returns the article with the given ID.
func (b *Base) Get(id string) (Article, bool) {
	if b == nil {
		return Article{}, false
	}
	i, ok := b.byID[id]
	if !ok {
		return Article{}, false
	}
	return b.articles[i], true
}

// Len is the number of articles.
func (b *Base) Len() int {
	if b == nil {
		return 0
	}
	return len(b.articles)
}
