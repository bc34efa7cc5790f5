package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path and returns it with defaults
// filled in, or an error. An invalid file gives an Errors listing every
// problem with its line; an unreadable one gives the wrapped I/O error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse checks data, the contents of file (a name used only in messages),
// and returns the configuration with defaults filled in. On any problem it
// returns nil and an Errors.
//
// It works in two stages, like a compiler: first the YAML's shape (syntax,
// unknown or repeated keys, values of the wrong type); then, only if the
// shape is sound, defaults and cross-field checks. The second stage would
// otherwise run on a half-decoded configuration and report phantom problems
// ("node has no digits") caused by the first.
func Parse(file string, data []byte) (*Config, error) {
	doc, errs := parseShape(file, data)
	if len(errs) > 0 {
		return nil, limit(file, sortErrors(errs))
	}
	cfg := &Config{File: file}
	if err := doc.Decode(cfg); err != nil {
		// parseShape checks everything yaml.v3 would refuse, so this is a
		// safety net; still say where, when yaml.v3 says.
		return nil, sortErrors(yamlErrors(file, err, ""))
	}
	v := &validator{file: file, doc: doc, cfg: cfg}
	v.defaults()
	v.validate()
	if len(v.errs) > 0 {
		return nil, limit(file, sortErrors(v.errs))
	}
	return cfg, nil
}

// maxErrors is how many problems are worth showing: past it, the file is
// probably not a hotline configuration at all.
const maxErrors = 100

func limit(file string, errs Errors) Errors {
	if len(errs) <= maxErrors {
		return errs
	}
	return append(errs[:maxErrors:maxErrors], Error{File: file,
		Msg: fmt.Sprintf("too many problems (%d); showing the first %d", len(errs), maxErrors)})
}

// maxNodes bounds the shape walk. YAML aliases can make a small file expand
// into an enormous tree ("billion laughs"); no real configuration comes close.
const maxNodes = 200_000

// parseShape parses data into a node tree and checks it against Config's
// types: unknown keys, repeated keys, and scalars of the wrong kind.
func parseShape(file string, data []byte) (*yaml.Node, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Line: 1, Msg: "the file is empty; expected a hotline configuration"}}
		}
		return nil, locate(data, yamlErrors(file, err, "YAML syntax: "))
	}
	if len(root.Content) == 0 || root.Content[0] == nil {
		return nil, Errors{{File: file, Line: 1, Msg: "the file is empty; expected a hotline configuration"}}
	}
	doc := root.Content[0]
	var errs Errors
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		errs = append(errs, locate(data, yamlErrors(file, err, "YAML syntax: "))...)
	default:
		errs = append(errs, Error{File: file, Line: next.Line, Column: next.Column,
			Msg: "a second YAML document (after ---) is not allowed; one file holds one centre"})
	}
	if resolve(doc).Kind != yaml.MappingNode {
		errs = append(errs, Error{File: file, Line: doc.Line, Column: doc.Column,
			Msg: "the top level must be key: value pairs (centre:, languages:, hours:, ...), found " + kindName(doc)})
		return nil, errs
	}
	s := &shape{file: file}
	s.walk(doc, reflect.TypeFor[Config](), "")
	return doc, append(errs, s.errs...)
}

// yamlLine matches yaml.v3's "yaml: line 3: message" and its type errors'
// "line 3: message".
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors turns a yaml.v3 error into located Errors.
func yamlErrors(file string, err error, prefix string) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs Errors
	for _, m := range msgs {
		e := Error{File: file}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			m = sm[2]
		} else {
			m = strings.TrimPrefix(m, "yaml: ")
		}
		e.Msg = prefix + m
		errs = append(errs, e)
	}
	return errs
}

// unknownAnchor matches yaml.v3's "unknown anchor 'x' referenced".
var unknownAnchor = regexp.MustCompile(`unknown anchor '(.*)' referenced`)

// locate finds the line for the syntax errors yaml.v3 reports without one,
// by looking for what they complain about; the common case is a tab in the
// indentation ("found character that cannot start any token").
func locate(data []byte, errs Errors) Errors {
	lines := strings.Split(string(data), "\n")
	find := func(e *Error, match func(string) int) {
		for n, l := range lines {
			if col := match(l); col >= 0 {
				e.Line, e.Column = n+1, col+1
				return
			}
		}
	}
	tabIndent := func(l string) int {
		indent := len(l) - len(strings.TrimLeft(l, " \t-"))
		return strings.IndexByte(l[:indent], '\t')
	}
	for i := range errs {
		e := &errs[i]
		switch {
		case e.Line > 0:
		case strings.Contains(e.Msg, "control characters") || strings.Contains(e.Msg, "UTF-8"):
			find(e, func(l string) int {
				for j, r := range l {
					if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\r') || r == 0x7f {
						return j
					}
				}
				return -1
			})
		case strings.Contains(e.Msg, "cannot start any token"):
			if find(e, tabIndent); e.Line == 0 {
				find(e, func(l string) int {
					if m := reservedStart.FindStringIndex(l); m != nil {
						return m[1] - 1
					}
					return -1
				})
			}
		default:
			if m := unknownAnchor.FindStringSubmatch(e.Msg); m != nil {
				find(e, func(l string) int { return strings.Index(l, "*"+m[1]) })
			}
		}
		if strings.Contains(e.Msg, "cannot start any token") && e.Line > 0 && e.Line <= len(lines) && tabIndent(lines[e.Line-1]) >= 0 {
			e.Msg += " (indent with spaces, not tabs)"
		}
	}
	return errs
}

// reservedStart finds a value starting with "`" or "@", which YAML reserves.
var reservedStart = regexp.MustCompile("(^|[:\\-\\[,{]\\s*)[`@]")

// shape walks a node tree alongside the Go type it will decode into.
type shape struct {
	file  string
	errs  Errors
	nodes int
}

func (s *shape) errorf(n *yaml.Node, format string, args ...any) {
	s.errs = append(s.errs, Error{File: s.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeFor[Duration]()
	nodeType     = reflect.TypeFor[yaml.Node]()
)

func (s *shape) walk(n *yaml.Node, t reflect.Type, path string) {
	s.nodes++
	if len(s.errs) > 10*maxErrors {
		return // enough to show; walking on would only cost time
	}
	if s.nodes > maxNodes {
		if s.nodes == maxNodes+1 {
			s.errorf(n, "the document is too large (more than %d values, perhaps through aliases)", maxNodes)
		}
		return
	}
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value: the field keeps its zero value or default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	where := path
	if where == "" {
		where = "top level"
	}
	if t == durationType {
		if _, msg := parseDuration(n); msg != "" {
			s.errorf(n, "%s: %s", where, msg)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == nodeType {
			return
		}
		if n.Kind != yaml.MappingNode {
			s.errorf(n, "%s: expected key: value pairs, found %s", where, kindName(n))
			return
		}
		fields := yamlFields(t)
		s.mapping(n, path, func(key *yaml.Node, val *yaml.Node) {
			ft, ok := fields[key.Value]
			if !ok {
				s.errorf(key, "%s: unknown key %q%s", where, key.Value, suggest(key.Value, t))
				return
			}
			s.walk(val, ft, join(path, key.Value))
		}, func(val *yaml.Node) { s.walk(val, t, path) })
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			s.errorf(n, "%s: expected key: value pairs, found %s", where, kindName(n))
			return
		}
		s.mapping(n, path, func(key *yaml.Node, val *yaml.Node) {
			s.walk(val, t.Elem(), join(path, key.Value))
		}, func(val *yaml.Node) { s.walk(val, t, path) })
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			s.errorf(n, "%s: expected a list, found %s", where, kindName(n))
			return
		}
		for i, el := range n.Content {
			s.walk(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			s.errorf(n, "%s: expected a single value, found %s", where, kindName(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			s.errorf(n, "%s: %s is not a whole number", where, describe(n))
			return
		}
		// Let yaml.v3's own parser decide overflow and 0x/0o forms.
		var x int64
		if err := n.Decode(&x); err != nil || reflect.Zero(t).OverflowInt(x) {
			s.errorf(n, "%s: %s is too large", where, describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			s.errorf(n, "%s: %s is not true or false", where, describe(n))
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			s.errorf(n, "%s: %s is not a number", where, describe(n))
		}
	}
}

// mapping checks a mapping's keys (scalar, not repeated) and calls each for
// every ordinary pair and merge for every "<<: *alias" merge source.
func (s *shape) mapping(n *yaml.Node, path string, each func(key, val *yaml.Node), merge func(*yaml.Node)) {
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := resolve(n.Content[i]), n.Content[i+1]
		s.nodes++ // pairs whose value is not walked still cost time
		if key.Kind != yaml.ScalarNode {
			s.errorf(key, "%s: a key must be a single value, found %s", orTop(path), kindName(key))
			continue
		}
		if key.ShortTag() == "!!merge" {
			if v := resolve(val); v.Kind == yaml.SequenceNode {
				for _, el := range v.Content {
					merge(el)
				}
			} else {
				merge(val)
			}
			continue
		}
		if prev, ok := first[key.Value]; ok {
			s.errorf(key, "%s", duplicateMsg(path, key.Value, prev.Line))
			continue
		}
		first[key.Value] = key
		each(key, val)
	}
}

// duplicateMsg says a key is repeated. yaml.v3 would refuse the whole mapping
// with "mapping key already defined"; digits get their own wording because
// they are the likeliest to be repeated by hand.
func duplicateMsg(path, key string, firstLine int) string {
	parts := strings.Split(path, ".")
	if len(parts) == 4 && parts[0] == "ivr" && parts[1] == "nodes" && parts[3] == "digits" {
		return fmt.Sprintf("ivr node %q: digit %q is listed twice (first at line %d)", parts[2], key, firstLine)
	}
	return fmt.Sprintf("%s: key %q is listed twice (first at line %d)", orTop(path), key, firstLine)
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch resolve(n).Kind {
	case yaml.MappingNode:
		return "key: value pairs"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describe(n)
	}
	return "nothing"
}

func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "key: value pairs"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
}

// yamlFields maps a struct's yaml key names to field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// suggest offers the closest known key to a misspelt one.
func suggest(key string, t reflect.Type) string {
	best, bestD := "", 3 // more than two edits away is not a typo
	names := make([]string, 0)
	for name := range yamlFields(t) {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := editDistance(strings.ToLower(key), name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return " (known keys: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
