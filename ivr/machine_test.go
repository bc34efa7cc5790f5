package ivr

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

func sec(s float64) config.Duration { return config.Duration(time.Duration(s * float64(time.Second))) }

// testMenu is a two-level menu like a real centre's: language, then topic,
// plus a node with multi-digit keys. Built as a literal: the tests do not
// depend on the loader filling defaults.
func testMenu() *config.IVR {
	return &config.IVR{
		Start: "language",
		Nodes: map[string]*config.Node{
			"language": {
				Prompts: []string{"welcome", "choose_language"},
				Digits: map[string]*config.Action{
					"1": {Type: config.ActionSetLanguage, Language: "ru", Next: "topics"},
					"2": {Type: config.ActionSetLanguage, Language: "kk", Next: "topics"},
				},
				FirstDigitTimeout: sec(5), InterDigitTimeout: sec(2), Retries: 2,
				InvalidPrompt: "invalid", TimeoutPrompt: "no_input",
				Default: &config.Action{Type: config.ActionSetLanguage, Language: "ru", Next: "topics"},
			},
			"topics": {
				Prompts: []string{"choose_topic"},
				Digits: map[string]*config.Action{
					"1": {Type: config.ActionQueue, Topic: "covid"},
					"2": {Type: config.ActionInfo, Prompt: "covid_info", Next: "topics"},
					"3": {Type: config.ActionQueue, Topic: "vaccination", Priority: 1},
					"8": {Type: config.ActionGoto, Next: "ext"},
					"9": {Type: config.ActionTransfer, Number: "103"},
					"0": {Type: config.ActionHangup, Prompt: "goodbye"},
					"*": {Type: config.ActionGoto, Next: "language"},
				},
				FirstDigitTimeout: sec(4), InterDigitTimeout: sec(2), Retries: 1,
				InvalidPrompt: "invalid", TimeoutPrompt: "no_input",
				Default: &config.Action{Type: config.ActionQueue, Topic: "general"},
			},
			"ext": {
				Prompts: []string{"dial_ext"},
				Digits: map[string]*config.Action{
					"1":   {Type: config.ActionGoto, Next: "topics"},
					"12":  {Type: config.ActionTransfer, Number: "112"},
					"345": {Type: config.ActionTransfer, Number: "345"},
					"#":   {Type: config.ActionHangup},
				},
				FirstDigitTimeout: sec(6), InterDigitTimeout: sec(3), Retries: 1,
				InvalidPrompt: "invalid", TimeoutPrompt: "no_input",
			},
		},
	}
}

// render writes commands compactly: play(seq:a,b) stop(seq)
// timer(id,kind,after) cancel(id).
func render(cmds []Command) string {
	var parts []string
	for _, c := range cmds {
		switch c := c.(type) {
		case Play:
			parts = append(parts, fmt.Sprintf("play(%d:%s)", c.Seq, strings.Join(c.Prompts, ",")))
		case StopPlayback:
			parts = append(parts, fmt.Sprintf("stop(%d)", c.Seq))
		case StartTimer:
			parts = append(parts, fmt.Sprintf("timer(%d,%s,%s)", c.ID, c.Kind, c.After))
		case CancelTimer:
			parts = append(parts, fmt.Sprintf("cancel(%d)", c.ID))
		default:
			parts = append(parts, fmt.Sprintf("?%T", c))
		}
	}
	return strings.Join(parts, " ")
}

// step is one event and the commands it must produce. Events: "start",
// "digit X", "done SEQ", "timeout ID".
type step struct {
	in   string
	want string
}

func apply(m *Machine, in string) []Command {
	op, arg, _ := strings.Cut(in, " ")
	var n int
	fmt.Sscan(arg, &n)
	switch op {
	case "start":
		return m.Start()
	case "digit":
		return m.Digit(arg)
	case "rawdigit": // arg is a Go-quoted string, for garbage input
		var s string
		fmt.Sscanf(arg, "%q", &s)
		return m.Digit(s)
	case "done":
		return m.PromptDone(n)
	case "timeout":
		return m.Timeout(n)
	}
	panic("bad step " + in)
}

func TestMachine(t *testing.T) {
	type tc struct {
		name  string
		menu  func() *config.IVR
		steps []step
		// want outcome rendered as kind/topic-or-number/prio/lang/path/reason,
		// "" for still running.
		outcome string
	}
	welcome := "play(1:welcome,choose_language)"
	tests := []tc{
		{
			name: "language 2 then topic 3 queues in kk",
			steps: []step{
				{"start", welcome},
				{"done 1", "timer(1,first_digit,5s)"},
				{"digit 2", "cancel(1) play(2:choose_topic)"},
				{"done 2", "timer(2,first_digit,4s)"},
				{"digit 3", "cancel(2)"},
			},
			outcome: "queue/vaccination/1/kk/language:2>topics:3/choice",
		},
		{
			name: "barge-in stops the prompt and the digit counts",
			steps: []step{
				{"start", welcome},
				{"digit 2", "stop(1) play(2:choose_topic)"},
				{"done 1", ""}, // the stopped playback's finish: stale
				{"digit 1", "stop(2)"},
				{"done 2", ""},
			},
			outcome: "queue/covid/0/kk/language:2>topics:1/choice",
		},
		{
			name: "invalid digit plays invalid prompt then the menu again",
			steps: []step{
				{"start", welcome},
				{"done 1", "timer(1,first_digit,5s)"},
				{"digit 7", "cancel(1) play(2:invalid,welcome,choose_language)"},
				{"done 2", "timer(2,first_digit,5s)"},
				{"digit 1", "cancel(2) play(3:choose_topic)"},
			},
		},
		{
			name: "invalid digit during the prompt barges in and re-prompts",
			steps: []step{
				{"start", welcome},
				{"digit 5", "stop(1) play(2:invalid,welcome,choose_language)"},
			},
		},
		{
			name: "silence plays timeout prompt then the menu again",
			steps: []step{
				{"start", welcome},
				{"done 1", "timer(1,first_digit,5s)"},
				{"timeout 1", "play(2:no_input,welcome,choose_language)"},
				{"done 2", "timer(2,first_digit,5s)"},
			},
		},
		{
			name: "no timer while prompts play",
			steps: []step{
				{"start", welcome},
				{"timeout 1", ""},
				{"timeout 0", ""},
			},
		},
		{
			name: "retries exhausted takes the default",
			steps: []step{
				{"start", welcome},
				{"done 1", "timer(1,first_digit,5s)"},
				{"timeout 1", "play(2:no_input,welcome,choose_language)"},
				{"done 2", "timer(2,first_digit,5s)"},
				{"digit 9", "cancel(2) play(3:invalid,welcome,choose_language)"},
				{"done 3", "timer(3,first_digit,5s)"},
				{"timeout 3", "play(4:choose_topic)"}, // default: ru, topics
				{"done 4", "timer(4,first_digit,4s)"},
				{"timeout 4", "play(5:no_input,choose_topic)"},
				{"done 5", "timer(5,first_digit,4s)"},
				{"timeout 5", ""}, // topics default: queue general
			},
			outcome: "queue/general/0/ru/language:default>topics:default/default",
		},
		{
			name: "transfer",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 9", "stop(2)"},
			},
			outcome: "transfer/103/0/ru/language:1>topics:9/choice",
		},
		{
			name: "info plays then returns to the node",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 2", "stop(2) play(3:covid_info)"},
				{"done 3", "play(4:choose_topic)"},
				{"done 4", "timer(1,first_digit,4s)"},
				{"digit 3", "cancel(1)"},
			},
			outcome: "queue/vaccination/1/ru/language:1>topics:2>topics:3/choice",
		},
		{
			name: "a digit skips an info message and is not kept",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 2", "stop(2) play(3:covid_info)"},
				{"digit 3", "stop(3) play(4:choose_topic)"},
			},
		},
		{
			name: "hangup action plays its prompt to the end, digits ignored",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 0", "stop(2) play(3:goodbye)"},
				{"digit 1", ""},
				{"timeout 1", ""},
				{"done 3", ""},
			},
			outcome: "hangup//0/ru/language:1>topics:0/choice",
		},
		{
			name: "garbage digits are ignored",
			steps: []step{
				{"start", welcome},
				{`rawdigit ""`, ""},
				{`rawdigit "12"`, ""},
				{`rawdigit "x"`, ""},
				{`rawdigit "\x00"`, ""},
				{`rawdigit " 1"`, ""},
				{`rawdigit "١"`, ""}, // Arabic-Indic one
				{`rawdigit "A"`, ""},
				{"done 1", "timer(1,first_digit,5s)"},
				{`rawdigit "1\n"`, ""},
				{"digit 2", "cancel(1) play(2:choose_topic)"},
			},
		},
		{
			name: "events before start and after the end are ignored",
			steps: []step{
				{"digit 1", ""},
				{"done 1", ""},
				{"timeout 1", ""},
				{"start", welcome},
				{"start", ""},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 1", "stop(2)"},
				{"digit 1", ""},
				{"done 2", ""},
				{"timeout 1", ""},
				{"start", ""},
			},
			outcome: "queue/covid/0/ru/language:1>topics:1/choice",
		},
		{
			name: "stale timer ids are ignored",
			steps: []step{
				{"start", welcome},
				{"done 1", "timer(1,first_digit,5s)"},
				{"timeout 2", ""},
				{"timeout -1", ""},
				{"digit 1", "cancel(1) play(2:choose_topic)"},
				{"timeout 1", ""}, // cancelled
				{"done 2", "timer(2,first_digit,4s)"},
				{"timeout 1", ""},
				{"done 2", ""}, // twice
				{"timeout 2", "play(3:no_input,choose_topic)"},
				{"timeout 2", ""},
			},
		},
		// Multi-digit node "ext": keys 1, 12, 345, #.
		{
			name: "multi-digit: 1 then inter-digit timeout takes key 1",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit 1", "stop(3) timer(1,inter_digit,3s)"},
				{"timeout 1", "play(4:choose_topic)"},
			},
		},
		{
			name: "multi-digit: 1 2 matches 12 at once",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"done 3", "timer(1,first_digit,6s)"},
				{"digit 1", "cancel(1) timer(2,inter_digit,3s)"},
				{"digit 2", "cancel(2)"},
			},
			outcome: "transfer/112/0/ru/language:1>topics:8>ext:12/choice",
		},
		{
			name: "multi-digit: 1 # takes key 1 without waiting",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit 1", "stop(3) timer(1,inter_digit,3s)"},
				{"digit #", "cancel(1) play(4:choose_topic)"},
			},
		},
		{
			name: "multi-digit: 3 4 5",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit 3", "stop(3) timer(1,inter_digit,3s)"},
				{"digit 4", "cancel(1) timer(2,inter_digit,3s)"},
				{"digit 5", "cancel(2)"},
			},
			outcome: "transfer/345/0/ru/language:1>topics:8>ext:345/choice",
		},
		{
			name: "multi-digit: 3 4 # is invalid, 3 then timeout is invalid, retries out: no default",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit 3", "stop(3) timer(1,inter_digit,3s)"},
				{"digit 4", "cancel(1) timer(2,inter_digit,3s)"},
				{"digit #", "cancel(2) play(4:invalid,dial_ext)"},
				{"digit 3", "stop(4) timer(3,inter_digit,3s)"},
				{"timeout 3", ""},
			},
			outcome: "hangup//0/ru/language:1>topics:8>ext:default/no_default",
		},
		{
			name: "multi-digit: a digit no key starts with is invalid at once",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit 3", "stop(3) timer(1,inter_digit,3s)"},
				{"digit 9", "cancel(1) play(4:invalid,dial_ext)"},
				{"digit 7", "stop(4)"}, // second failure, no default
			},
			outcome: "hangup//0/ru/language:1>topics:8>ext:default/no_default",
		},
		{
			name: "'#' as a key of its own",
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2) play(3:dial_ext)"},
				{"digit #", "stop(3)"},
			},
			outcome: "hangup//0/ru/language:1>topics:8>ext:#/choice",
		},
		{
			name: "a lone '#' where no key starts with it is ignored",
			steps: []step{
				{"start", welcome},
				{"digit #", ""},
				{"done 1", "timer(1,first_digit,5s)"},
				{"digit #", ""},
				{"digit 2", "cancel(1) play(2:choose_topic)"},
			},
		},
		{
			name: "'*' goes back to the language menu",
			steps: []step{
				{"start", welcome},
				{"digit 2", "stop(1) play(2:choose_topic)"},
				{"digit *", "stop(2) play(3:welcome,choose_language)"},
				{"digit 1", "stop(3) play(4:choose_topic)"},
				{"digit 1", "stop(4)"},
			},
			outcome: "queue/covid/0/ru/language:2>topics:*>language:1>topics:1/choice",
		},
		// Menus the loader should have rejected.
		{
			name:    "nil menu",
			menu:    func() *config.IVR { return nil },
			steps:   []step{{"start", ""}, {"digit 1", ""}},
			outcome: "hangup//0/ru//config",
		},
		{
			name:    "missing start node",
			menu:    func() *config.IVR { m := testMenu(); m.Start = "nope"; return m },
			steps:   []step{{"start", ""}},
			outcome: "hangup//0/ru//config",
		},
		{
			name:    "nil node",
			menu:    func() *config.IVR { m := testMenu(); m.Nodes["language"] = nil; return m },
			steps:   []step{{"start", ""}},
			outcome: "hangup//0/ru//config",
		},
		{
			name: "goto a missing node",
			menu: func() *config.IVR {
				m := testMenu()
				m.Nodes["topics"].Digits["8"].Next = "gone"
				return m
			},
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 8", "stop(2)"},
			},
			outcome: "hangup//0/ru/language:1>topics:8/config",
		},
		{
			name: "a nil action is an invalid key; a nil default hangs up",
			menu: func() *config.IVR {
				m := testMenu()
				n := m.Nodes["topics"]
				n.Default = nil
				n.Digits["6"] = nil
				return m
			},
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 6", "stop(2) play(3:invalid,choose_topic)"}, // nil action: invalid
				{"digit 6", "stop(3)"},                              // again: retries out, nil default
			},
			outcome: "hangup//0/ru/language:1>topics:default/no_default",
		},
		{
			name: "unknown action type",
			menu: func() *config.IVR {
				m := testMenu()
				m.Nodes["topics"].Digits["4"] = &config.Action{Type: "dance"}
				return m
			},
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 4", "stop(2)"},
			},
			outcome: "hangup//0/ru/language:1>topics:4/config",
		},
		{
			name: "queue without a topic",
			menu: func() *config.IVR {
				m := testMenu()
				m.Nodes["topics"].Digits["5"] = &config.Action{Type: config.ActionQueue}
				return m
			},
			steps: []step{
				{"start", welcome},
				{"digit 1", "stop(1) play(2:choose_topic)"},
				{"digit 5", "stop(2)"},
			},
			outcome: "hangup//0/ru/language:1>topics:5/config",
		},
		{
			name: "zero and negative timeouts, no prompts, negative retries",
			menu: func() *config.IVR {
				return &config.IVR{Start: "a", Nodes: map[string]*config.Node{"a": {
					Digits:            map[string]*config.Action{"1": {Type: config.ActionHangup}, "12": {Type: config.ActionHangup}},
					InterDigitTimeout: sec(-1),
					Retries:           -3,
					Default:           &config.Action{Type: config.ActionTransfer, Number: "101"},
				}}}
			},
			steps: []step{
				{"start", "timer(1,first_digit,5s)"},
				{"digit 1", "cancel(1) timer(2,inter_digit,2s)"},
				{"timeout 2", ""},
			},
			outcome: "hangup//0/ru/a:1/choice",
		},
		{
			name: "silence with no prompts and no retries takes the default",
			menu: func() *config.IVR {
				return &config.IVR{Start: "a", Nodes: map[string]*config.Node{"a": {
					Default: &config.Action{Type: config.ActionTransfer, Number: "101"},
				}}}
			},
			steps: []step{
				{"start", "timer(1,first_digit,5s)"},
				{"timeout 1", ""},
			},
			outcome: "transfer/101/0/ru/a:default/default",
		},
		{
			name: "MaxDigits below the longest key cuts the entry short",
			menu: func() *config.IVR {
				return &config.IVR{Start: "a", Nodes: map[string]*config.Node{"a": {
					Prompts:   []string{"p"},
					MaxDigits: 1,
					Digits:    map[string]*config.Action{"1": {Type: config.ActionQueue, Topic: "t"}, "12": {Type: config.ActionHangup}},
				}}}
			},
			steps: []step{
				{"start", "play(1:p)"},
				{"digit 1", "stop(1)"},
			},
			outcome: "queue/t/0/ru/a:1/choice",
		},
		{
			name: "info with no prompt and set_language without a language go straight on",
			menu: func() *config.IVR {
				return &config.IVR{Start: "a", Nodes: map[string]*config.Node{
					"a": {Prompts: []string{"pa"}, Digits: map[string]*config.Action{"1": {Type: config.ActionInfo, Next: "b"}}},
					"b": {Prompts: []string{"pb"}, Digits: map[string]*config.Action{"1": {Type: config.ActionSetLanguage, Next: "a"}}},
				}}
			},
			steps: []step{
				{"start", "play(1:pa)"},
				{"digit 1", "stop(1) play(2:pb)"},
				{"digit 1", "stop(2) play(3:pa)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			menu := testMenu()
			if tt.menu != nil {
				menu = tt.menu()
			}
			m := New(menu, "ru")
			for i, s := range tt.steps {
				if got := render(apply(m, s.in)); got != s.want {
					t.Fatalf("step %d %q:\n got  %q\n want %q", i, s.in, got, s.want)
				}
			}
			if got := renderOutcome(m.Outcome()); got != tt.outcome {
				t.Errorf("outcome:\n got  %q\n want %q", got, tt.outcome)
			}
			if m.Done() != (tt.outcome != "") {
				t.Errorf("Done() = %v", m.Done())
			}
		})
	}
}

func renderOutcome(o *Outcome) string {
	if o == nil {
		return ""
	}
	target := o.Topic + o.Number
	return fmt.Sprintf("%s/%s/%d/%s/%s/%s", o.Kind, target, o.Priority, o.Language, o.Path, o.Reason)
}

// drain plays the call out as a silent caller: every prompt finishes, every
// timer fires. It returns the number of steps taken, or -1 if the machine
// stalls (neither playing nor waiting) or does not end within limit.
func drain(m *Machine, limit int) int {
	for i := 0; i < limit; i++ {
		switch {
		case m.Done():
			return i
		case m.playing != 0:
			m.PromptDone(m.playing)
		case m.timer != 0:
			m.Timeout(m.timer)
		default:
			return -1
		}
	}
	return -1
}

func TestLoopGuard(t *testing.T) {
	// a and b point at each other through their defaults and through an
	// info action; c is a goto cycle reachable by digits.
	menu := &config.IVR{Start: "a", Nodes: map[string]*config.Node{
		"a": {Prompts: []string{"pa"}, Default: &config.Action{Type: config.ActionGoto, Next: "b"}},
		"b": {Default: &config.Action{Type: config.ActionInfo, Prompt: "i", Next: "a"}},
	}}
	m := New(menu, "ru")
	m.Start()
	if n := drain(m, 10000); n < 0 {
		t.Fatalf("no outcome")
	}
	o := m.Outcome()
	if o.Kind != OutcomeHangup || o.Reason != ReasonLoop {
		t.Fatalf("outcome %+v", o)
	}
	if m.entries != MaxTransitions+1 {
		t.Errorf("entries %d", m.entries)
	}

	// A self-goto on a digit.
	menu = &config.IVR{Start: "a", Nodes: map[string]*config.Node{
		"a": {Prompts: []string{"pa"}, Digits: map[string]*config.Action{"1": {Type: config.ActionGoto, Next: "a"}}},
	}}
	m = New(menu, "ru")
	m.Start()
	for i := 0; i < 100 && !m.Done(); i++ {
		m.Digit("1")
	}
	if o := m.Outcome(); o == nil || o.Reason != ReasonLoop {
		t.Fatalf("outcome %+v", o)
	}
}

func TestRetriesCapped(t *testing.T) {
	menu := &config.IVR{Start: "a", Nodes: map[string]*config.Node{
		"a": {Prompts: []string{"pa"}, Retries: 1 << 30, TimeoutPrompt: "t"},
	}}
	m := New(menu, "ru")
	m.Start()
	n := drain(m, 10000)
	if n < 0 {
		t.Fatal("no outcome")
	}
	// Start's play, then per attempt: prompt done + timeout.
	if want := 2 * (MaxRetries + 1); n != want {
		t.Errorf("steps %d, want %d", n, want)
	}
	if o := m.Outcome(); o.Reason != ReasonNoDefault {
		t.Errorf("outcome %+v", o)
	}
}
