package asteriskconf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Step is one dialplan priority: exten => 122,1(label),App(args).
type Step struct {
	Exten    string
	Priority int
	Label    string
	App      string // as written, e.g. "Stasis"
	Args     string // raw text between the outer parentheses
	Pos      Pos
}

// Extension is one extension of a context with its priorities in order.
type Extension struct {
	Name  string // "122", "_X.", "h", "*11"
	Steps []Step
}

// Step returns the step with priority n, if any.
func (e *Extension) Step(n int) (Step, bool) {
	for _, s := range e.Steps {
		if s.Priority == n {
			return s, true
		}
	}
	return Step{}, false
}

// Label returns the step labelled l, if any.
func (e *Extension) Label(l string) (Step, bool) {
	for _, s := range e.Steps {
		if s.Label == l {
			return s, true
		}
	}
	return Step{}, false
}

// Context is one dialplan context.
type Context struct {
	Name       string
	Extensions []*Extension
	Includes   []string
	Pos        Pos
}

// Extension returns the extension literally named name.
func (c *Context) Extension(name string) *Extension {
	for _, e := range c.Extensions {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Match returns the extension that dialling number would run: a literal
// match first, else the first pattern that matches (Asterisk sorts patterns
// by specificity; good enough for the small contexts here).
func (c *Context) Match(number string) *Extension {
	if e := c.Extension(number); e != nil {
		return e
	}
	for _, e := range c.Extensions {
		if strings.HasPrefix(e.Name, "_") && MatchPattern(e.Name, number) {
			return e
		}
	}
	return nil
}

// Dialplan is extensions.conf as contexts.
type Dialplan struct {
	Contexts map[string]*Context
	Order    []string // context names in file order
	Globals  map[string]string
	General  map[string]string
}

// ParseDialplan builds the dialplan from a parsed extensions.conf.
func ParseDialplan(f *File) (*Dialplan, error) {
	d := &Dialplan{Contexts: map[string]*Context{}, Globals: map[string]string{}, General: map[string]string{}}
	for _, s := range f.Sections {
		switch s.Name {
		case "globals":
			for _, e := range s.Entries {
				d.Globals[e.Key] = e.Value
			}
			continue
		case "general":
			for _, e := range s.Entries {
				d.General[e.Key] = e.Value
			}
			continue
		}
		c := d.Contexts[s.Name]
		if c == nil {
			c = &Context{Name: s.Name, Pos: s.Pos}
			d.Contexts[s.Name] = c
			d.Order = append(d.Order, s.Name)
		}
		var last *Extension
		lastPrio := 0
		for _, e := range s.Entries {
			switch strings.ToLower(e.Key) {
			case "include":
				c.Includes = append(c.Includes, strings.TrimSpace(strings.SplitN(e.Value, ",", 2)[0]))
			case "exten", "same":
				var extName, rest string
				if strings.EqualFold(e.Key, "exten") {
					var ok bool
					extName, rest, ok = strings.Cut(e.Value, ",")
					if !ok {
						return nil, fmt.Errorf("%s: exten without priority: %q", e.Pos, e.Value)
					}
					extName = strings.TrimSpace(extName)
					if i := strings.IndexByte(extName, '/'); i > 0 && !strings.HasPrefix(extName, "_") {
						extName = extName[:i] // 122/callerid: caller-id match
					}
					last = c.Extension(extName)
					if last == nil {
						last = &Extension{Name: extName}
						c.Extensions = append(c.Extensions, last)
					}
					lastPrio = 0
					if len(last.Steps) > 0 {
						lastPrio = last.Steps[len(last.Steps)-1].Priority
					}
				} else {
					if last == nil {
						return nil, fmt.Errorf("%s: same => before any exten", e.Pos)
					}
					rest = e.Value
				}
				prioText, appText, _ := strings.Cut(rest, ",")
				prio, label, hint, err := parsePriority(strings.TrimSpace(prioText), lastPrio)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", e.Pos, err)
				}
				if hint {
					continue
				}
				app, args, err := splitApp(strings.TrimSpace(appText))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", e.Pos, err)
				}
				if _, dup := last.Step(prio); dup {
					return nil, fmt.Errorf("%s: extension %s priority %d defined twice", e.Pos, last.Name, prio)
				}
				last.Steps = append(last.Steps, Step{Exten: last.Name, Priority: prio, Label: label, App: app, Args: args, Pos: e.Pos})
				sort.SliceStable(last.Steps, func(i, j int) bool { return last.Steps[i].Priority < last.Steps[j].Priority })
				lastPrio = prio
			case "ignorepat", "switch", "eswitch", "lswitch":
			default:
				return nil, fmt.Errorf("%s: unexpected %q in context [%s]", e.Pos, e.Key, s.Name)
			}
		}
	}
	return d, nil
}

var prioRe = regexp.MustCompile(`^(n|\d+|n\+\d+)(?:\(([A-Za-z0-9_-]+)\))?$`)

func parsePriority(s string, last int) (prio int, label string, hint bool, err error) {
	if strings.EqualFold(s, "hint") {
		return 0, "", true, nil
	}
	m := prioRe.FindStringSubmatch(s)
	if m == nil {
		return 0, "", false, fmt.Errorf("bad priority %q", s)
	}
	switch {
	case m[1] == "n":
		prio = last + 1
	case strings.HasPrefix(m[1], "n+"):
		k, _ := strconv.Atoi(m[1][2:])
		prio = last + k
	default:
		prio, _ = strconv.Atoi(m[1])
	}
	if prio < 1 {
		return 0, "", false, fmt.Errorf("priority %q must start at 1", s)
	}
	return prio, m[2], false, nil
}

// splitApp splits "App(args)" into App and args; "App" alone has no args.
func splitApp(s string) (app, args string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("priority without application")
	}
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, "", nil
	}
	if !strings.HasSuffix(s, ")") {
		return "", "", fmt.Errorf("application %q: unbalanced parentheses", s)
	}
	return strings.TrimSpace(s[:i]), s[i+1 : len(s)-1], nil
}

// SplitArgs splits application arguments at top-level commas (outside
// ${...}, $[...], (...) and quotes).
func SplitArgs(s string) []string {
	return splitTop(s, ',')
}

func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Target is a dialplan location named by Goto/GotoIf.
type Target struct {
	Context, Exten, Priority string // Priority: number or label
}

func (t Target) String() string { return t.Context + "," + t.Exten + "," + t.Priority }

// Dynamic reports whether the target depends on variables.
func (t Target) Dynamic() bool {
	return strings.Contains(t.Context+t.Exten+t.Priority, "${")
}

// Condition returns the condition of a GotoIf/ExecIf-style argument
// ("cond?a:b"); empty for other applications.
func (s Step) Condition() string {
	if !strings.EqualFold(s.App, "GotoIf") {
		return ""
	}
	parts := splitTop(s.Args, '?')
	return parts[0]
}

// Targets returns where a Goto or GotoIf may jump, resolved against the
// step's own context and extension. Other applications return nil.
func (s Step) Targets(context string) []Target {
	var labels []string
	switch strings.ToLower(s.App) {
	case "goto":
		labels = []string{s.Args}
	case "gotoif":
		parts := splitTop(s.Args, '?')
		if len(parts) < 2 {
			return nil
		}
		for _, l := range splitTop(strings.Join(parts[1:], "?"), ':') {
			if strings.TrimSpace(l) != "" {
				labels = append(labels, l)
			}
		}
	default:
		return nil
	}
	var out []Target
	for _, l := range labels {
		a := SplitArgs(l)
		for i := range a {
			a[i] = strings.TrimSpace(a[i])
		}
		t := Target{Context: context, Exten: s.Exten}
		switch len(a) {
		case 1:
			t.Priority = a[0]
		case 2:
			t.Exten, t.Priority = a[0], a[1]
		default:
			t.Context, t.Exten, t.Priority = a[0], a[1], a[2]
		}
		out = append(out, t)
	}
	return out
}

// Resolve finds the step a target names; ok is false when the context,
// extension, priority or label does not exist.
func (d *Dialplan) Resolve(t Target) (Step, bool) {
	c := d.Contexts[t.Context]
	if c == nil {
		return Step{}, false
	}
	e := c.Match(t.Exten)
	if e == nil {
		return Step{}, false
	}
	if n, err := strconv.Atoi(t.Priority); err == nil {
		return e.Step(n)
	}
	return e.Label(t.Priority)
}

// Exec is one step of a walk, with the context it ran in.
type Exec struct {
	Context string
	Step
}

// Walk follows the dialplan from context/number priority 1 the way the
// channel would run it when every GotoIf condition is false: it takes
// unconditional Goto jumps and stops at Hangup, at a dynamic target, at
// the end of the extension or after limit steps. It is for checks such as
// "122 reaches Stasis(hotline,inbound)".
func (d *Dialplan) Walk(context, number string, limit int) []Exec {
	var out []Exec
	c := d.Contexts[context]
	if c == nil {
		return nil
	}
	e := c.Match(number)
	if e == nil {
		return nil
	}
	prio := 1
	for len(out) < limit {
		st, ok := e.Step(prio)
		if !ok {
			return out
		}
		out = append(out, Exec{Context: c.Name, Step: st})
		switch strings.ToLower(st.App) {
		case "hangup":
			return out
		case "goto":
			ts := st.Targets(c.Name)
			if len(ts) != 1 || ts[0].Dynamic() {
				return out
			}
			nc := d.Contexts[ts[0].Context]
			if nc == nil {
				return out
			}
			ne := nc.Match(ts[0].Exten)
			if ne == nil {
				return out
			}
			var next Step
			if n, err := strconv.Atoi(ts[0].Priority); err == nil {
				next, ok = ne.Step(n)
			} else {
				next, ok = ne.Label(ts[0].Priority)
			}
			if !ok {
				return out
			}
			c, e, prio = nc, ne, next.Priority
			continue
		}
		prio++
	}
	return out
}

// MatchPattern reports whether number matches the Asterisk extension
// pattern pat ("_X.", "_[+0-9].", "_NXX"). Patterns start with "_".
func MatchPattern(pat, number string) bool {
	if !strings.HasPrefix(pat, "_") {
		return pat == number
	}
	return matchFrom(pat[1:], number)
}

func matchFrom(p, s string) bool {
	for len(p) > 0 {
		c := p[0]
		switch c {
		case '.':
			return len(s) >= 1 // one or more of anything
		case '!':
			return true // zero or more
		}
		if len(s) == 0 {
			return false
		}
		var set string
		switch c {
		case 'X', 'x':
			set, p = "0123456789", p[1:]
		case 'Z', 'z':
			set, p = "123456789", p[1:]
		case 'N', 'n':
			set, p = "23456789", p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return false
			}
			set, p = expandSet(p[1:end]), p[end+1:]
		default:
			set, p = string(c), p[1:]
		}
		if !strings.ContainsRune(set, rune(s[0])) {
			return false
		}
		s = s[1:]
	}
	return len(s) == 0
}

func expandSet(spec string) string {
	var b strings.Builder
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for c := spec[i]; c <= spec[i+2]; c++ {
				b.WriteByte(c)
			}
			i += 2
			continue
		}
		b.WriteByte(spec[i])
	}
	return b.String()
}

var funcRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\(`)

// Functions returns the dialplan functions a step uses: every ${NAME(...)}
// plus the left side of Set(NAME(...)=...).
func (s Step) Functions() []string {
	seen := map[string]bool{}
	for _, m := range funcRe.FindAllStringSubmatch(s.Args, -1) {
		seen[strings.ToUpper(m[1])] = true
	}
	if strings.EqualFold(s.App, "Set") || strings.EqualFold(s.App, "MSet") {
		for _, a := range SplitArgs(s.Args) {
			lhs, _, ok := strings.Cut(a, "=")
			if ok {
				if i := strings.IndexByte(lhs, '('); i > 0 {
					seen[strings.ToUpper(strings.TrimSpace(lhs[:i]))] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
