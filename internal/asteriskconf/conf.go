// Package asteriskconf reads Asterisk's .conf files well enough to check
// hotline's deployment configs (deploy/asterisk) without an Asterisk binary:
// sections with template options ([name](!), [name](tpl1,tpl2), [name](+)),
// "key = value" and "key => value" entries, ";" comments and ";-- --;"
// block comments, "\;" escapes, and #include / #tryinclude. On top of that,
// dialplan.go models extensions.conf (exten/same, priorities, labels,
// applications, Goto targets).
package asteriskconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Pos is where a line came from.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", filepath.Base(p.File), p.Line) }

// Entry is one "key = value" or "key => value" line.
type Entry struct {
	Key   string
	Value string
	Arrow bool // written with "=>" (object syntax, e.g. exten =>)
	Pos   Pos
}

// Section is one [name] category. The same name may occur several times
// (pjsip.conf: endpoint, auth and aor called "1001").
type Section struct {
	Name     string
	Template bool     // (!): a template, not an object
	Append   bool     // (+): adds to an earlier section of that name
	Inherits []string // templates named in the header, in order
	Entries  []Entry
	Pos      Pos
}

// Get returns the last value of key in the section's own entries.
func (s *Section) Get(key string) (string, bool) {
	v, ok := "", false
	for _, e := range s.Entries {
		if strings.EqualFold(e.Key, key) {
			v, ok = e.Value, true
		}
	}
	return v, ok
}

// All returns every value of key in the section's own entries.
func (s *Section) All(key string) []string {
	var out []string
	for _, e := range s.Entries {
		if strings.EqualFold(e.Key, key) {
			out = append(out, e.Value)
		}
	}
	return out
}

// Include is one #include / #tryinclude directive.
type Include struct {
	Path    string // as written
	Try     bool   // #tryinclude: a missing file is not an error
	Missing bool   // the file did not exist (only with Options.AllowMissingIncludes or Try)
	Pos     Pos
}

// File is one parsed configuration file with its includes merged in.
type File struct {
	Path     string
	Sections []*Section
	Includes []Include
	// Orphans are entries that appear before any [section]; Asterisk
	// rejects them, so callers usually treat them as errors.
	Orphans []Entry
}

// Options tune Load.
type Options struct {
	// AllowMissingIncludes records a missing #include in File.Includes
	// (Missing=true) instead of failing; used for secrets kept outside the
	// repository (ari.conf includes ari_secret.conf).
	AllowMissingIncludes bool
}

// Load parses the file at path, following #include relative to its
// directory (as Asterisk does for relative includes of /etc/asterisk).
func Load(path string, opt Options) (*File, error) {
	f := &File{Path: path}
	p := &parser{f: f, opt: opt, dir: filepath.Dir(path)}
	if err := p.loadFile(path, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// Parse parses text from r; includes are resolved relative to dir.
func Parse(r io.Reader, name, dir string, opt Options) (*File, error) {
	f := &File{Path: name}
	p := &parser{f: f, opt: opt, dir: dir}
	if err := p.parse(r, name, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// Section returns the first section named name whose "type" (after
// template inheritance) is typ; typ "" matches any section.
func (f *File) Section(name, typ string) *Section {
	for _, s := range f.Sections {
		if s.Name != name || s.Template {
			continue
		}
		if typ == "" {
			return s
		}
		if t, _ := f.Value(s, "type"); t == typ {
			return s
		}
	}
	return nil
}

// SectionsNamed returns every section (templates included) named name.
func (f *File) SectionsNamed(name string) []*Section {
	var out []*Section
	for _, s := range f.Sections {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// OfType returns the non-template sections whose resolved "type" is typ.
func (f *File) OfType(typ string) []*Section {
	var out []*Section
	for _, s := range f.Sections {
		if s.Template {
			continue
		}
		if t, _ := f.Value(s, "type"); t == typ {
			out = append(out, s)
		}
	}
	return out
}

// template finds the template (or plain section) named name defined before
// section s, as Asterisk only inherits from categories already read.
func (f *File) template(name string, before *Section) *Section {
	var found *Section
	for _, s := range f.Sections {
		if s == before {
			break
		}
		if s.Name == name {
			if s.Template {
				return s
			}
			if found == nil {
				found = s
			}
		}
	}
	return found
}

// MissingTemplates lists "section: template" for every inherited template
// that is not defined before its use.
func (f *File) MissingTemplates() []string {
	var out []string
	for _, s := range f.Sections {
		for _, t := range s.Inherits {
			if f.template(t, s) == nil {
				out = append(out, fmt.Sprintf("%s [%s] inherits unknown template %q", s.Pos, s.Name, t))
			}
		}
	}
	return out
}

// Resolved returns the section's entries with its templates' entries
// first (recursively, in header order), as Asterisk builds the category.
func (f *File) Resolved(s *Section) []Entry {
	return f.resolved(s, 0)
}

func (f *File) resolved(s *Section, depth int) []Entry {
	if depth > 16 {
		return nil
	}
	var out []Entry
	for _, t := range s.Inherits {
		if ts := f.template(t, s); ts != nil {
			out = append(out, f.resolved(ts, depth+1)...)
		}
	}
	return append(out, s.Entries...)
}

// Value returns the last value of key in the resolved section.
func (f *File) Value(s *Section, key string) (string, bool) {
	v, ok := "", false
	for _, e := range f.Resolved(s) {
		if strings.EqualFold(e.Key, key) {
			v, ok = e.Value, true
		}
	}
	return v, ok
}

// Values returns every value of key in the resolved section.
func (f *File) Values(s *Section, key string) []string {
	var out []string
	for _, e := range f.Resolved(s) {
		if strings.EqualFold(e.Key, key) {
			out = append(out, e.Value)
		}
	}
	return out
}

type parser struct {
	f   *File
	opt Options
	dir string
	cur *Section
	// inBlock: inside a ;-- ... --; comment
	inBlock bool
}

const maxIncludeDepth = 8

func (p *parser) loadFile(path string, depth int) error {
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return p.parse(r, path, depth)
}

func (p *parser) parse(r io.Reader, name string, depth int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		pos := Pos{File: name, Line: n}
		line := p.stripComments(sc.Text())
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := p.line(line, pos, depth); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// stripComments removes ";" comments (not "\;") and ;-- --; blocks, and
// turns "\;" into ";".
func (p *parser) stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if p.inBlock {
			if strings.HasPrefix(s[i:], "--;") {
				p.inBlock = false
				i += 2
			}
			continue
		}
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == ';' {
			b.WriteByte(';')
			i++
			continue
		}
		if c == ';' {
			if strings.HasPrefix(s[i:], ";--") {
				p.inBlock = true
				i += 2
				continue
			}
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (p *parser) line(line string, pos Pos, depth int) error {
	switch {
	case line[0] == '#':
		return p.directive(line, pos, depth)
	case line[0] == '[':
		return p.header(line, pos)
	}
	key, val, arrow, ok := splitEntry(line)
	if !ok {
		return fmt.Errorf("%s: not a section, entry or directive: %q", pos, line)
	}
	e := Entry{Key: key, Value: val, Arrow: arrow, Pos: pos}
	if p.cur == nil {
		p.f.Orphans = append(p.f.Orphans, e)
		return nil
	}
	p.cur.Entries = append(p.cur.Entries, e)
	return nil
}

// splitEntry splits "key = value" / "key => value" at the first "=".
func splitEntry(line string) (key, val string, arrow, ok bool) {
	i := strings.IndexByte(line, '=')
	if i <= 0 {
		return "", "", false, false
	}
	key = strings.TrimSpace(line[:i])
	rest := line[i+1:]
	if strings.HasPrefix(rest, ">") {
		arrow = true
		rest = rest[1:]
	}
	if key == "" {
		return "", "", false, false
	}
	return key, strings.TrimSpace(rest), arrow, true
}

func (p *parser) header(line string, pos Pos) error {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return fmt.Errorf("%s: section header without ']': %q", pos, line)
	}
	name := strings.TrimSpace(line[1:end])
	if name == "" {
		return fmt.Errorf("%s: empty section name", pos)
	}
	s := &Section{Name: name, Pos: pos}
	rest := strings.TrimSpace(line[end+1:])
	if rest != "" {
		if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
			return fmt.Errorf("%s: junk after section header: %q", pos, rest)
		}
		for _, opt := range strings.Split(rest[1:len(rest)-1], ",") {
			opt = strings.TrimSpace(opt)
			switch opt {
			case "":
			case "!":
				s.Template = true
			case "+":
				s.Append = true
			default:
				s.Inherits = append(s.Inherits, opt)
			}
		}
	}
	if s.Append {
		// [name](+) continues the last section of that name.
		for i := len(p.f.Sections) - 1; i >= 0; i-- {
			if p.f.Sections[i].Name == name {
				p.cur = p.f.Sections[i]
				return nil
			}
		}
		return fmt.Errorf("%s: [%s](+) appends to a section that does not exist", pos, name)
	}
	p.f.Sections = append(p.f.Sections, s)
	p.cur = s
	return nil
}

func (p *parser) directive(line string, pos Pos, depth int) error {
	word, arg, _ := strings.Cut(line[1:], " ")
	arg = strings.Trim(strings.TrimSpace(arg), `"<>`)
	switch word {
	case "include", "tryinclude":
	case "exec":
		return fmt.Errorf("%s: #exec is not supported (and needs execincludes=yes)", pos)
	default:
		return fmt.Errorf("%s: unknown directive #%s", pos, word)
	}
	if arg == "" {
		return fmt.Errorf("%s: #%s without a file", pos, word)
	}
	inc := Include{Path: arg, Try: word == "tryinclude", Pos: pos}
	if depth >= maxIncludeDepth {
		return fmt.Errorf("%s: #include nested too deeply", pos)
	}
	path := arg
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	matches, err := filepath.Glob(path)
	if err != nil {
		return fmt.Errorf("%s: #include %q: %w", pos, arg, err)
	}
	if len(matches) == 0 {
		if inc.Try || p.opt.AllowMissingIncludes {
			inc.Missing = true
			p.f.Includes = append(p.f.Includes, inc)
			return nil
		}
		return fmt.Errorf("%s: #include %q: %w", pos, arg, fs.ErrNotExist)
	}
	p.f.Includes = append(p.f.Includes, inc)
	for _, m := range matches {
		if err := p.loadFile(m, depth+1); err != nil {
			if errors.Is(err, fs.ErrNotExist) && (inc.Try || p.opt.AllowMissingIncludes) {
				continue
			}
			return err
		}
	}
	return nil
}
