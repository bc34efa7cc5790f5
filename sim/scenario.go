package sim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-acd/hotline/config"
)

// Scenario is one simulated day: who calls, how long they talk and wait,
// and who answers. Read it with LoadScenario.
type Scenario struct {
	Name     string          `yaml:"name"`
	Start    time.Time       `yaml:"start"`    // the day's first instant, with its zone
	Duration config.Duration `yaml:"duration"` // default 24h
	Interval config.Duration `yaml:"interval"` // a report row; default 1h
	// Topics are keyed by the config's topic ids.
	Topics map[string]*TopicLoad `yaml:"topics"`
	// Shifts staff the day; Staff (one count per interval, every skill and
	// language) replaces them when given (and --find-staff writes it).
	Shifts []Shift `yaml:"shifts"`
	Staff  []int   `yaml:"staff"`
	// AnswerDelay is how long an operator's phone rings before they pick
	// up; default 3s.
	AnswerDelay *config.Duration `yaml:"answer_delay"`
	// AlwaysOpen runs the day round the clock whatever the config's
	// hours say (a line that never closes).
	AlwaysOpen bool `yaml:"always_open"`
	// ReachTarget is the share of callbacks owed that must be reached
	// (--find-staff); default 0.9.
	ReachTarget *float64 `yaml:"reach_target"`

	file  string
	lines map[string]int // "topics.covid.talk" → its line
}

// TopicLoad is one topic's callers.
type TopicLoad struct {
	// Arrivals is the number of calls in each interval (spread at random
	// within it); Rate is calls per hour in each interval (Poisson).
	// Exactly one of them; a shorter list repeats its last value.
	Arrivals []int     `yaml:"arrivals"`
	Rate     []float64 `yaml:"rate"`
	// Daily with Profile: Daily calls over the day shared by the weights
	// of Profile (one per interval; Poisson).
	Daily   float64   `yaml:"daily"`
	Profile []float64 `yaml:"profile"`
	Talk    Dist      `yaml:"talk"`
	// Patience is how long a caller waits before hanging up.
	Patience Dist `yaml:"patience"`
	// AcceptCallback is the share of callers who take a virtual-hold
	// offer ("press 1"); AnswerCallback the share who pick up a callback.
	AcceptCallback float64  `yaml:"accept_callback"`
	AnswerCallback *float64 `yaml:"answer_callback"`
	// Languages shares the callers among the config's languages; default
	// all in the first.
	Languages map[string]float64 `yaml:"languages"`
}

// Dist is a distribution of durations.
type Dist struct {
	Kind   string            `yaml:"dist"` // exponential, lognormal, empirical, fixed, records
	Mean   config.Duration   `yaml:"mean"`
	SD     config.Duration   `yaml:"sd"`     // lognormal
	Values []config.Duration `yaml:"values"` // empirical: drawn with equal weight
	// Records is a file of hotline's call records (what GET
	// /api/v1/records answers), relative to the scenario: dist records
	// draws the topic's talk or patience from them (fromrecords.go).
	Records string `yaml:"records"`

	sample   []time.Duration // records, talk
	patience survival        // records, patience
}

// Shift is a group of operators working the same hours.
type Shift struct {
	Name      string   `yaml:"name"`
	Start     string   `yaml:"start"` // "08:00", on the scenario's day
	End       string   `yaml:"end"`   // "14:00"; before Start: the next day
	Operators int      `yaml:"operators"`
	Skills    []string `yaml:"skills"`    // default: every topic's skill
	Languages []string `yaml:"languages"` // default: every language
	// Levels are the shift's operators' skill levels (1..10) by skill;
	// default 5 (a skill the shift lacks is not added).
	Levels map[string]int `yaml:"levels"`
	Breaks []Break        `yaml:"breaks"`
}

// Break pauses each operator of a shift once: the first at After into the
// shift, the others staggered evenly over Spread.
type Break struct {
	After  config.Duration `yaml:"after"`
	Length config.Duration `yaml:"length"`
	Spread config.Duration `yaml:"spread"`
}

// ErrScenario marks a scenario that cannot be run.
var ErrScenario = errors.New("sim: invalid scenario")

// LoadScenario reads and checks a scenario file against cfg.
func LoadScenario(path string, cfg *config.Config) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScenario, err)
	}
	return ParseScenario(path, data, cfg)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// ParseScenario decodes data strictly (an unknown key is an error) and
// checks it; every error names file:line.
func ParseScenario(file string, data []byte, cfg *config.Config) (*Scenario, error) {
	s := &Scenario{file: file, lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = file + ":" + strings.TrimPrefix(yamlLine.ReplaceAllString(m, "$1: "), "yaml: ")
			}
			return nil, fmt.Errorf("%w:\n%s", ErrScenario, strings.Join(msgs, "\n"))
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrScenario, file, strings.TrimPrefix(yamlLine.ReplaceAllString(err.Error(), "$1: "), "yaml: "))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		indexLines(&root, "", s.lines)
	}
	if err := s.check(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// indexLines notes the line of every mapping key by its dotted path.
func indexLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			indexLines(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[p] = n.Content[i].Line
			indexLines(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			out[p] = c.Line
			indexLines(c, p, out)
		}
	}
}

type problems struct {
	s    *Scenario
	msgs []string
}

// at records a problem at path's line (or the nearest enclosing key's).
func (p *problems) at(path, format string, args ...any) {
	line := 0
	for q := path; q != ""; {
		if l, ok := p.s.lines[q]; ok {
			line = l
			break
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			break
		}
		q = q[:i]
	}
	p.msgs = append(p.msgs, fmt.Sprintf("%s:%d: %s", p.s.file, line, fmt.Sprintf(format, args...)))
}

func (s *Scenario) check(cfg *config.Config) error {
	p := &problems{s: s}
	if s.Start.IsZero() {
		p.at("start", "start is required (e.g. 2026-12-01T00:00:00+05:00)")
	}
	if s.Duration == 0 {
		s.Duration = config.Duration(24 * time.Hour)
	}
	if s.Interval == 0 {
		s.Interval = config.Duration(time.Hour)
	}
	if s.Interval.D() < time.Minute || s.Duration.D()%s.Interval.D() != 0 {
		p.at("interval", "interval %s must be at least 1m and divide duration %s", s.Interval, s.Duration)
	}
	if s.AnswerDelay == nil {
		d := config.Duration(3 * time.Second)
		s.AnswerDelay = &d
	}
	if s.ReachTarget == nil {
		v := 0.9
		s.ReachTarget = &v
	}
	if len(s.Topics) == 0 {
		p.at("topics", "topics: at least one topic's callers are required")
	}
	langs := map[string]bool{}
	for _, l := range cfg.Languages {
		langs[l.Code] = true
	}
	n := s.Intervals()
	files := recordFiles{}
	for _, id := range s.TopicIDs() {
		t := s.Topics[id]
		at := "topics." + id
		if _, ok := cfg.Topic(id); !ok {
			p.at(at, "topic %q is not in the config", id)
			continue
		}
		if t == nil {
			p.at(at, "topic %q has no callers", id)
			continue
		}
		given := 0
		for _, b := range []bool{len(t.Arrivals) > 0, len(t.Rate) > 0, t.Daily > 0} {
			if b {
				given++
			}
		}
		if given != 1 {
			p.at(at, "topic %q needs exactly one of arrivals, rate or daily (with profile)", id)
		}
		if len(t.Arrivals) > n || len(t.Rate) > n || len(t.Profile) > n {
			p.at(at, "topic %q lists more values than the day's %d intervals", id, n)
		}
		for _, v := range t.Rate {
			if v < 0 || math.IsNaN(v) {
				p.at(at+".rate", "rates must be zero or more")
			}
		}
		for _, v := range t.Arrivals {
			if v < 0 {
				p.at(at+".arrivals", "arrivals must be zero or more")
			}
		}
		if t.Daily > 0 && len(t.Profile) == 0 {
			p.at(at+".daily", "daily needs a profile (one weight per interval)")
		}
		t.Talk.check(p, at+".talk", true)
		t.Patience.check(p, at+".patience", true)
		for _, d := range []struct {
			dist *Dist
			at   string
			talk bool
		}{{&t.Talk, at + ".talk", true}, {&t.Patience, at + ".patience", false}} {
			if d.dist.Kind != "records" || d.dist.Records == "" {
				continue
			}
			recs, err := files.load(s.file, d.dist.Records)
			if err != nil {
				p.at(d.at+".records", "records: %v", err)
			} else if msg := d.dist.fromRecords(recs, id, d.talk); msg != "" {
				p.at(d.at+".records", "%s", msg)
			}
		}
		if t.AcceptCallback < 0 || t.AcceptCallback > 1 {
			p.at(at+".accept_callback", "accept_callback is a share in 0..1")
		}
		if t.AnswerCallback == nil {
			v := 0.8
			t.AnswerCallback = &v
		} else if *t.AnswerCallback < 0 || *t.AnswerCallback > 1 {
			p.at(at+".answer_callback", "answer_callback is a share in 0..1")
		}
		for l, w := range t.Languages {
			if !langs[l] {
				p.at(at+".languages", "language %q is not in the config", l)
			}
			if w < 0 {
				p.at(at+".languages", "language shares must be zero or more")
			}
		}
	}
	if len(s.Shifts) == 0 && len(s.Staff) == 0 {
		p.at("shifts", "shifts (or staff per interval) are required")
	}
	if len(s.Staff) > n {
		p.at("staff", "staff lists more values than the day's %d intervals", n)
	}
	skills := map[string]bool{}
	for _, t := range cfg.Topics {
		skills[t.Skill] = true
	}
	for i, sh := range s.Shifts {
		at := fmt.Sprintf("shifts[%d]", i)
		if _, err := clockTime(sh.Start); err != nil {
			p.at(at+".start", "start %q: %v", sh.Start, err)
		}
		if _, err := clockTime(sh.End); err != nil {
			p.at(at+".end", "end %q: %v", sh.End, err)
		}
		if sh.Operators <= 0 {
			p.at(at+".operators", "operators must be at least 1")
		}
		for _, k := range sh.Skills {
			if !skills[k] {
				p.at(at+".skills", "skill %q is no topic's skill", k)
			}
		}
		for _, l := range sh.Languages {
			if !langs[l] {
				p.at(at+".languages", "language %q is not in the config", l)
			}
		}
		for k, lvl := range sh.Levels {
			if !skills[k] {
				p.at(at+".levels", "skill %q is no topic's skill", k)
			}
			if lvl < 1 || lvl > 10 {
				p.at(at+".levels", "skill %q level %d is not between 1 and 10", k, lvl)
			}
		}
		for j, b := range sh.Breaks {
			if b.Length <= 0 {
				p.at(fmt.Sprintf("%s.breaks[%d].length", at, j), "a break needs a length")
			}
		}
	}
	if len(p.msgs) > 0 {
		return fmt.Errorf("%w:\n%s", ErrScenario, strings.Join(p.msgs, "\n"))
	}
	return nil
}

func (d *Dist) check(p *problems, at string, required bool) {
	switch d.Kind {
	case "":
		if required {
			p.at(at, "a distribution is required (dist: exponential, lognormal, empirical, fixed or records)")
		}
	case "exponential", "fixed":
		if d.Mean <= 0 {
			p.at(at, "%s needs a mean", d.Kind)
		}
	case "lognormal":
		if d.Mean <= 0 || d.SD <= 0 {
			p.at(at, "lognormal needs a mean and an sd")
		}
	case "empirical":
		if len(d.Values) == 0 {
			p.at(at, "empirical needs values")
		}
	case "records":
		if d.Records == "" {
			p.at(at, "dist records needs records: a file of the topic's call records (what GET /api/v1/records answers)")
		}
	default:
		p.at(at, "dist %q is not exponential, lognormal, empirical, fixed or records", d.Kind)
	}
}

// Draw returns one duration from d.
func (d Dist) Draw(r *rand.Rand) time.Duration {
	mean := d.Mean.D().Seconds()
	var s float64
	switch d.Kind {
	case "exponential":
		s = r.ExpFloat64() * mean
	case "lognormal":
		// Parameters from the mean and sd of the durations themselves.
		sd := d.SD.D().Seconds()
		sigma2 := math.Log(1 + sd*sd/(mean*mean))
		mu := math.Log(mean) - sigma2/2
		s = math.Exp(mu + math.Sqrt(sigma2)*r.NormFloat64())
	case "empirical":
		return d.Values[r.IntN(len(d.Values))].D()
	case "records":
		if d.sample != nil {
			return d.sample[r.IntN(len(d.sample))]
		}
		return d.patience.draw(r)
	default:
		return d.Mean.D()
	}
	return time.Duration(s * float64(time.Second))
}

// clockTime reads "HH:MM" as an offset into the day.
func clockTime(s string) (time.Duration, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || len(s) != 5 {
		return 0, errors.New("write a time of day such as \"08:00\"")
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Intervals is the number of report rows of the day.
func (s *Scenario) Intervals() int {
	if s.Interval <= 0 {
		return 0
	}
	return int(s.Duration.D() / s.Interval.D())
}

// TopicIDs are the scenario's topics in order.
func (s *Scenario) TopicIDs() []string {
	ids := make([]string, 0, len(s.Topics))
	for id := range s.Topics {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// at is the i-th value of a per-interval list; a shorter list repeats its
// last value.
func at[T any](vs []T, i int) T {
	var zero T
	if len(vs) == 0 {
		return zero
	}
	if i >= len(vs) {
		return vs[len(vs)-1]
	}
	return vs[i]
}
