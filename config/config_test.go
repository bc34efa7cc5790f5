package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestBadFixtures is the contract for error messages: each fixture in
// testdata is good.yaml with one kind of mistake, and must give exactly these
// problems, each at exactly this line, in this order.
func TestBadFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string // "LINE: message", the file name prefix left out
	}{
		{"action_fields.yaml", []string{
			`42: ivr node "topics": digit "3" (queue) needs a topic`,
			`42: ivr node "topics": digit "3" (queue) does not take "next"`,
			`45: ivr node "topics": digit "#" (transfer) needs a number`,
			`45: ivr node "topics": digit "#" (transfer) does not take "prompt"`,
			`46: ivr node "topics": digit "*" (goto) needs a next node`,
			`47: ivr node "topics": digit "0" has unknown action "call" (one of set_language, goto, info, queue, transfer, hangup)`,
		}},
		{"bad_callbacks.yaml", []string{
			`68: topic "general": callbacks: after_hours "never" is not schedule or offer`,
			`69: topic "general": callbacks: allow pattern "+7 800*" must be "+" then digits, with "?" for any one digit and an optional final "*" (e.g. "+7809*")`,
			`70: topic "general": callbacks: virtual_hold min_position is -1; it must be zero (off) or more`,
			`83: callbacks: enabled needs prompt "callback_offer", which does not exist in prompts`,
			`84: callbacks: mode "agent_first" is not agent-first or customer-first`,
			`86: callbacks: max_attempts is 0; it must be at least 1`,
			`87: callbacks: delays is empty; list the waits before each attempt (e.g. [2m, 10m, 30m, 2h])`,
			`88: callbacks: deny pattern "7800*" must be "+" then digits, with "?" for any one digit and an optional final "*" (e.g. "+7809*")`,
			`88: callbacks: deny pattern "+7809*" is listed twice (first at line 88)`,
			`88: callbacks: deny pattern "+78??**" must be "+" then digits, with "?" for any one digit and an optional final "*" (e.g. "+7809*")`,
		}},
		{"callbacks_needs.yaml", []string{
			`56: topic "testing": callbacks: enabled needs centre caller_id, the number citizens see when the hotline calls back`,
			`56: topic "testing": callbacks: enabled needs centre country_code to read national numbers (e.g. "7")`,
			`56: topic "testing": callbacks: enabled needs prompt "callback_confirmed", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "callback_greeting", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "callback_offer", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "closed_callback", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "confirm_number", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "enter_number", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "number_readback", which does not exist in prompts`,
			`56: topic "testing": callbacks: enabled needs prompt "whisper_callback", which does not exist in prompts`,
		}},
		{"callbacks_shape.yaml", []string{
			`70: callbacks.enabled: "sometimes" is not true or false`,
			`71: callbacks.min_abandon_wait: duration 10 has no unit (write e.g. "10s")`,
			`72: callbacks.delays[1]: duration "-10m" is negative; it must be zero or more`,
			`73: callbacks.virtual_hold: unknown key "min_pos" (known keys: enabled, min_position, min_wait)`,
			`74: callbacks.expiry: "1 day" is not a duration (write e.g. "20s" or "1m30s")`,
		}},
		{"bad_centre_id.yaml", []string{
			`3: centre: id "Test 122" may only contain lowercase letters, digits, "-" and "_" (it prefixes every Redis key)`,
		}},
		{"bad_digit_key.yaml", []string{
			`43: ivr node "topics": digit key "4a" may only use 0-9, * and #`,
		}},
		{"bad_duration.yaml", []string{
			`53: topics.testing.max_wait: "20 s" is not a duration (write e.g. "20s" or "1m30s")`,
			`54: topics.testing.wrap_up: duration "-5s" is negative; it must be zero or more`,
			`55: topics.testing.ring_timeout: duration 20 has no unit (write e.g. "20s")`,
			`56: topics.testing.announce_every: "abc" is not a duration (write e.g. "20s" or "1m30s")`,
		}},
		{"bad_endpoint.yaml", []string{
			`60: operator "1001": endpoint "1001" does not look like TECH/resource (e.g. PJSIP/1001)`,
			`64: operator "1002": endpoint "PJSIP/1002&PJSIP/1003" does not look like TECH/resource (e.g. PJSIP/1001)`,
		}},
		{"bad_hours.yaml", []string{
			`15: hours: weekly[0]: unknown day "monday" (use mon, tue, wed, thu, fri, sat, sun)`,
			`15: hours: weekly[0]: open "8:00" is not a time in HH:MM form (00:00 to 23:59)`,
			`16: hours: weekly[1]: open 15:00 is not before close 09:00 (split a range that runs past midnight in two)`,
			`17: hours: holiday "2026-02-30" is not a real date in YYYY-MM-DD form`,
		}},
		{"bad_routing.yaml", []string{
			`56: topic "testing": selection "fastest" is not best_level or weighted`,
			`57: topic "testing": priority_ageing 500ms is shorter than 1s; write 0s for none, or e.g. "30s" for one priority step per 30 s waited`,
			`61: topic "general": level_weight must be more than zero: the idle time one skill level is worth (e.g. "1m")`,
			`64: topic "extra": level_weight applies only to selection weighted (selection is best_level)`,
		}},
		{"bad_skill_level.yaml", []string{
			`61: operator "1001": skill "testing" level 11 is not between 1 and 10`,
			`61: operator "1001": skill "general" level 0 is not between 1 and 10`,
		}},
		{"bad_timezone.yaml", []string{
			`13: hours: timezone "Asia/Almati" is not a known IANA time zone (such as Asia/Almaty)`,
		}},
		{"bad_topic.yaml", []string{
			`52: topic "testing": service_level percent 120 is not between 0 and 100`,
			`53: topic "testing": max_queue is -1; it must be zero (no cap) or more`,
			`54: topic "testing": overflow needs max_wait, the wait after which callers move`,
		}},
		{"bad_transfer_number.yaml", []string{
			`45: ivr node "topics": digit "#" transfers to "8 800 080,Dial(PJSIP/x)", which is not a phone number (digits with an optional leading "+")`,
		}},
		{"dangling_node.yaml", []string{
			`46: ivr node "topics": digit "*" goes to node "languge", which does not exist`,
		}},
		{"dangling_prompt.yaml", []string{
			`39: ivr node "topics": prompt "topic_menu_extra" does not exist in prompts`,
			`44: ivr node "topics": digit "9" plays prompt "emergency_112", which does not exist in prompts`,
		}},
		{"dangling_topic.yaml", []string{
			`42: ivr node "topics": digit "3" queues to topic "tsting", which does not exist`,
		}},
		{"duplicate_digit.yaml", []string{
			`44: ivr node "topics": digit "3" is listed twice (first at line 42)`,
		}},
		{"duplicate_language.yaml", []string{
			`11: language "ru" is listed twice (first at line 9)`,
		}},
		{"duplicate_operator.yaml", []string{
			`63: operator "1001" is listed twice (first at line 59)`,
			`64: operator "1001": endpoint "PJSIP/1001" is also used by operator "1001"`,
		}},
		{"empty.yaml", []string{
			`1: the file is empty; expected a hotline configuration`,
		}},
		{"missing_centre_id.yaml", []string{
			`2: centre: id is missing (it prefixes every Redis key; use lowercase letters, digits, "-" and "_")`,
		}},
		{"missing_prompt_language.yaml", []string{
			`23: prompt "welcome" has no text for language "kk"`,
			`23: prompt "welcome" has text for language "en", which is not in languages`,
		}},
		{"missing_start.yaml", []string{
			`30: ivr: start node "lang" does not exist`,
		}},
		{"operator_language.yaml", []string{
			`62: operator "1001": language "en" is not in languages (ru, kk)`,
			`63: operator "1002" speaks no language; list at least one of ru, kk`,
		}},
		{"overflow_cycle.yaml", []string{
			`54: topic "testing": overflow loops testing → general → testing; callers would be moved round forever`,
			`61: topic "other": overflow goes to topic "nowhere", which does not exist`,
		}},
		{"short_lease.yaml", []string{
			`59: agents: reservation_lease 10s is not longer than topic "general" ring_timeout 15s; reservations would expire while phones ring`,
			`59: agents: reservation_lease 10s is not longer than topic "testing" ring_timeout 15s; reservations would expire while phones ring`,
			`60: agents: max_no_answer is 0; it must be at least 1`,
		}},
		{"silent_loop.yaml", []string{
			`48: ivr node "hold": goto/set_language actions loop hold → again → hold through nodes without prompts; callers would wait in silence forever`,
			`54: ivr node "stuck": goto/set_language actions loop stuck → stuck through nodes without prompts; callers would wait in silence forever`,
		}},
		{"spoken_numbers.yaml", []string{
			`12: languages[2]: hotline cannot say numbers in "tt" (queue positions and waits are spoken in en, kk, ru, uk)`,
			`30: prompt "minutes_5": the name is taken by the sounds hotline renders for numbers (number_N, minutes_N, position_N, wait_N, their _over_N, digit_D); choose another`,
		}},
		{"syntax_error.yaml", []string{
			`4: YAML syntax: could not find expected ':'`,
		}},
		{"unknown_key.yaml", []string{
			`57: topics.general: unknown key "ring_timout" (did you mean "ring_timeout"?)`,
			`59: top level: unknown key "queues" (known keys: agents, callbacks, centre, desk, hours, ivr, languages, operators, prompts, recordings, records, services, staff, topics)`,
		}},
		{"unknown_language.yaml", []string{
			`36: ivr node "language": digit "2" sets language "kz", which is not in languages (ru, kk)`,
		}},
		{"missing_router_prompts.yaml", []string{
			`20: prompts: "closed" is missing; hotline plays it outside business hours`,
			`20: prompts: "goodbye" is missing; hotline plays it to a caller who leaves with no callback`,
			`20: prompts: "operator_dropped" is missing; hotline plays it when the line to the operator drops`,
		}},
		{"unserved_topic.yaml", []string{
			`50: topic "testing": no operator has skill "pcr", so its callers would never be answered`,
		}},
		{"wrong_type.yaml", []string{
			`57: topics.general.max_queue: "ten" is not a whole number`,
			`58: topics.general.service_level.percent: "high" is not a number`,
			`68: operators[1].languages: expected a list, found "ru"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			cfg, err := Load(path)
			if cfg != nil {
				t.Errorf("Load returned a config along with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) = %v; want config.Errors", path, err)
			}
			var got []string
			for _, e := range errs {
				if e.File != path {
					t.Errorf("error names file %q, want %q", e.File, path)
				}
				got = append(got, strings.TrimPrefix(e.Error(), path+":"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// Error() is one problem per line, each starting with the path.
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Error() has %d lines, want %d", len(lines), len(tt.want))
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, path+":") {
					t.Errorf("Error() line %q does not start with %q", l, path+":")
				}
			}
		})
	}
}

// TestEveryFixtureIsTested keeps the table and testdata in step: a fixture
// added without expectations would otherwise only be fuzz seed.
func TestEveryFixtureIsTested(t *testing.T) {
	src, err := os.ReadFile("config_test.go")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, f := range files {
		name := filepath.Base(f)
		if name != "good.yaml" && !strings.Contains(string(src), `{"`+name+`"`) {
			t.Errorf("testdata/%s has no entry in TestBadFixtures", name)
		}
	}
}

func TestGoodDefaults(t *testing.T) {
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "testdata/good.yaml" {
		t.Errorf("File = %q", cfg.File)
	}
	if cfg.Centre.MOHClass != "default" {
		t.Errorf("MOHClass = %q, want default", cfg.Centre.MOHClass)
	}
	if cfg.Hours.Location == nil || cfg.Hours.Location.String() != "Asia/Almaty" {
		t.Errorf("Hours.Location = %v, want Asia/Almaty", cfg.Hours.Location)
	}
	topics, ok := cfg.Node("topics")
	if !ok {
		t.Fatal(`Node("topics") not found`)
	}
	if topics.Name != "topics" || topics.MaxDigits != 1 || topics.Retries != 2 ||
		topics.FirstDigitTimeout.D() != 5*time.Second || topics.InterDigitTimeout.D() != 2*time.Second {
		t.Errorf("node defaults: %+v", topics)
	}
	testing, ok := cfg.Topic("testing")
	if !ok {
		t.Fatal(`Topic("testing") not found`)
	}
	if testing.ID != "testing" || testing.Skill != "testing" || testing.RingTimeout.D() != 15*time.Second ||
		testing.WrapUp.D() != 10*time.Second || testing.AnnounceEvery.D() != time.Minute ||
		testing.MaxWait.D() != 5*time.Minute || testing.ServiceLevel.Within.D() != 20*time.Second {
		t.Errorf("topic defaults: %+v", testing)
	}
	if g, _ := cfg.Topic("general"); g.Name != "General questions" {
		t.Errorf("general.Name = %q", g.Name)
	}
	if _, ok := cfg.Topic("nope"); ok {
		t.Error(`Topic("nope") found`)
	}
	op, ok := cfg.OperatorByID("1002")
	if !ok || op.Endpoint != "PJSIP/1002" || op.Name != "1002" {
		t.Errorf(`OperatorByID("1002") = %+v, %v`, op, ok)
	}
	if _, ok := cfg.OperatorByID("9999"); ok {
		t.Error(`OperatorByID("9999") found`)
	}
	if cfg.Agents.MaxNoAnswer != 3 || cfg.Agents.ReservationLease.D() != 30*time.Second || cfg.Records.StreamMaxLen != 100000 {
		t.Errorf("agents/records defaults: %+v %+v", cfg.Agents, cfg.Records)
	}
	if !cfg.HasLanguage("kk") || cfg.HasLanguage("en") {
		t.Error("HasLanguage wrong")
	}
	if cfg.Languages[0].Name != "Русский" {
		t.Errorf("language name = %q", cfg.Languages[0].Name)
	}
}

// TestRoutingDefaults: a topic without selection is best_level without
// ageing; a weighted one without level_weight gets DefaultLevelWeight.
func TestRoutingDefaults(t *testing.T) {
	data := strings.Replace(mustRead(t, "testdata/good.yaml"), "    name: General questions\n",
		"    name: General questions\n    selection: weighted\n    priority_ageing: 30s\n", 1)
	cfg, err := Parse("routing.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if tt, _ := cfg.Topic("testing"); tt.Selection != SelectionBestLevel || tt.LevelWeight != 0 || tt.PriorityAgeing != 0 {
		t.Errorf("testing = %q %s %s; want best_level 0s 0s", tt.Selection, tt.LevelWeight, tt.PriorityAgeing)
	}
	if g, _ := cfg.Topic("general"); g.Selection != SelectionWeighted || g.LevelWeight != DefaultLevelWeight || g.PriorityAgeing.D() != 30*time.Second {
		t.Errorf("general = %q %s %s; want weighted 1m0s 30s", g.Selection, g.LevelWeight, g.PriorityAgeing)
	}
}

// TestExplicitZeroKept: a key written as zero is a decision, not a gap.
func TestExplicitZeroKept(t *testing.T) {
	data := mustRead(t, "testdata/good.yaml")
	data = strings.Replace(data, "    name: General questions\n",
		"    name: General questions\n    wrap_up: 0s\n    announce_every: 0s\n", 1)
	data = strings.Replace(data, "      invalid_prompt: invalid_choice\n",
		"      invalid_prompt: invalid_choice\n      retries: 0\n      max_digits: 2\n", 1)
	cfg, err := Parse("zero.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cfg.Topic("general")
	if g.WrapUp != 0 || g.AnnounceEvery != 0 || g.RingTimeout.D() != 15*time.Second {
		t.Errorf("general = %+v; want wrap_up 0, announce_every 0, ring_timeout 15s", g)
	}
	n, _ := cfg.Node("topics")
	if n.Retries != 0 || n.MaxDigits != 2 {
		t.Errorf("topics node = %+v; want retries 0, max_digits 2", n)
	}
}

// TestExample is the shipped configs/hotline.yaml, with the facts the
// end-to-end tests rely on.
func TestExample(t *testing.T) {
	cfg, err := Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Languages); got != 4 {
		t.Errorf("%d languages, want 4", got)
	}
	start, _ := cfg.Node(cfg.IVR.Start)
	if a := start.Digits["2"]; a == nil || a.Type != ActionSetLanguage || a.Language != "kk" {
		t.Fatalf("language menu digit 2 = %+v; want set_language kk", a)
	}
	menu, _ := cfg.Node(start.Digits["2"].Next)
	three := menu.Digits["3"]
	if three == nil || three.Type != ActionQueue {
		t.Fatalf("topic menu digit 3 = %+v; want a queue action", three)
	}
	topic, _ := cfg.Topic(three.Topic)
	op, ok := cfg.OperatorByID("1001")
	if !ok || op.Skills[topic.Skill] < 1 || !slices.Contains(op.Languages, "kk") {
		t.Errorf("operator 1001 = %+v; want skill %q and language kk", op, topic.Skill)
	}
	for id, tp := range cfg.Topics {
		if tp.RingTimeout.D() != 15*time.Second || tp.WrapUp.D() != 10*time.Second {
			t.Errorf("topic %s: ring_timeout %s, wrap_up %s; want 15s, 10s", id, tp.RingTimeout, tp.WrapUp)
		}
	}
	for name, set := range cfg.Prompts {
		for _, l := range cfg.Languages {
			if strings.TrimSpace(set[l.Code]) == "" {
				t.Errorf("prompt %s has no %s text", name, l.Code)
			}
		}
	}
	if !slices.Equal(cfg.Centre.ShortNumbers, []string{"122", "1406"}) {
		t.Errorf("short numbers = %v", cfg.Centre.ShortNumbers)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v; want fs.ErrNotExist wrapped", err)
	}
	var errs Errors
	if errors.As(err, &errs) {
		t.Error("an I/O error should not be config.Errors")
	}
}

// TestShape covers YAML-level cases too small to deserve a fixture.
func TestShape(t *testing.T) {
	good := mustRead(t, "testdata/good.yaml")
	tests := []struct {
		name, data string
		want       []string
	}{
		{"second document", good + "---\ncentre: {id: x}\n", []string{
			`x.yaml:68: a second YAML document (after ---) is not allowed; one file holds one centre`}},
		// yaml.v3 gives no line for these; Parse finds it.
		{"tab indent", "centre:\n\tid: x\n", []string{
			`x.yaml:2: YAML syntax: found character that cannot start any token (indent with spaces, not tabs)`}},
		{"control character", "centre:\n  id: \x01\n", []string{
			`x.yaml:2: YAML syntax: control characters are not allowed`}},
		{"unknown anchor", "centre:\n  id: *x\n", []string{
			`x.yaml:2: YAML syntax: unknown anchor 'x' referenced`}},
		{"top level list", "- a\n- b\n", []string{
			`x.yaml:1: the top level must be key: value pairs (centre:, languages:, hours:, ...), found a list`}},
		{"only a scalar", "hello\n", []string{
			`x.yaml:1: the top level must be key: value pairs (centre:, languages:, hours:, ...), found "hello"`}},
		{"repeated section", "centre: {id: a}\ncentre: {id: b}\n", []string{
			`x.yaml:2: top level: key "centre" is listed twice (first at line 1)`}},
		{"list key", "centre:\n  ? [a, b]\n  : c\n", []string{
			`x.yaml:2: centre: a key must be a single value, found a list`}},
		{"mapping for string", "centre: {id: {a: b}}\n", []string{
			`x.yaml:1: centre.id: expected a single value, found key: value pairs`}},
		{"huge int", "records: {stream_max_len: 99999999999999999999}\n", []string{
			`x.yaml:1: records.stream_max_len: "99999999999999999999" is not a whole number`}},
		{"unknown key under merge", "centre: &c {id: a}\nhours:\n  <<: *c\n", []string{
			`x.yaml:1: hours: unknown key "id" (known keys: holidays, timezone, weekly)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.data))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v; want config.Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestAliasesAndMerges: anchors, aliases and merge keys are ordinary YAML
// and must load like the written-out form.
func TestAliasesAndMerges(t *testing.T) {
	data := mustRead(t, "testdata/good.yaml")
	data = strings.Replace(data, "topics:\n  testing:\n    name: Testing\n",
		"topics:\n  testing: &t\n    name: Testing\n", 1)
	data = strings.Replace(data, "  general:\n    name: General questions\n",
		"  general:\n    <<: *t\n    name: General questions\n    overflow: \"\"\n", 1)
	cfg, err := Parse("merge.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cfg.Topic("general")
	if g.Name != "General questions" || g.MaxWait.D() != 5*time.Minute || g.ServiceLevel.Percent != 80 {
		t.Errorf("merged topic = %+v", g)
	}
}

// TestAliasBomb: a small file whose aliases expand to a million values must
// be refused quickly, not walked.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("prompts:\n  p: &m {")
	for i := range 1000 {
		fmt.Fprintf(&b, "a%d: x, ", i)
	}
	b.WriteString("}\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  q%d: *m\n", i)
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if want := "the document is too large (more than 200000 values, perhaps through aliases)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v; want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestDurationUnmarshal(t *testing.T) {
	var v struct {
		A, B Duration
	}
	if err := yaml.Unmarshal([]byte("a: 1m30s\nb: 0\n"), &v); err != nil || v.A.D() != 90*time.Second || v.B != 0 {
		t.Errorf("got %+v, %v", v, err)
	}
	err := yaml.Unmarshal([]byte("a: 5 s\nb: -1s\n"), &v)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 2 {
		t.Fatalf("err = %v; want a TypeError naming both", err)
	}
	if want := `line 1: "5 s" is not a duration (write e.g. "20s" or "1m30s")`; te.Errors[0] != want {
		t.Errorf("error = %q, want %q", te.Errors[0], want)
	}
	out, err := yaml.Marshal(struct{ A Duration }{Duration(90 * time.Second)})
	if err != nil || string(out) != "a: 1m30s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
