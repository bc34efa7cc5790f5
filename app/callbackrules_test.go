package app

import (
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/router"
)

// TestTopicCallbackRules: each topic's callback rules, as the store
// (callbackState.rules) and the router (callbackState.policy) get them,
// are the centre's callbacks: section, or its defaults, with the topic's own
// keys on top; a disabled topic keeps its rules (callbacks already owed
// still run by them) but the router owes no new ones.
func TestTopicCallbackRules(t *testing.T) {
	example, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// edit rewrites the example config: each pair replaces its first text
	// (which must be there) with its second.
	edit := func(pairs ...string) *config.Config {
		t.Helper()
		data := string(example)
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(data, pairs[i]) {
				t.Fatalf("example config has no %q", pairs[i])
			}
			data = strings.Replace(data, pairs[i], pairs[i+1], 1)
		}
		cfg, err := config.Parse("hotline.yaml", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	const centre = "callbacks:\n  enabled: true\n"
	const symptoms = "  symptoms:\n    name: "
	const complaints = "  complaints:\n    name: "
	asIs := edit()
	overrides := edit(
		symptoms, `  symptoms:
    callbacks:
      min_abandon_wait: 20s
      drop_window: 0s
      delays: [0s, 5m]
      max_attempts: 2
      expiry: 0s
      mode: customer-first
      allow: ["+44*"]
      deny: ["+7809*"]
      virtual_hold: {min_wait: 30s, min_position: 0}
      after_hours: offer
      bias: 30s
    name: `,
		complaints, "  complaints:\n    callbacks: {enabled: false}\n    name: ")
	section := string(example)
	section = section[strings.Index(section, centre):]
	section = section[:strings.Index(section, "\n# Every prompt")+1]
	noSection := edit(section, "")
	centreOff := edit(centre, "callbacks:\n  enabled: false\n",
		symptoms, "  symptoms:\n    callbacks: {enabled: true, virtual_hold: {enabled: false}}\n    name: ")

	m := time.Minute
	// The example's callbacks: section.
	exampleRules := func(cfg *config.Config) callbacks.Rules {
		return callbacks.Rules{
			Numbers: callbacks.NumberRules{CountryCode: "7", Deny: []string{"+7800*"}},
			Delays:  []time.Duration{2 * m, 10 * m, 30 * m, 2 * time.Hour}, MaxAttempts: 4, Expiry: 24 * time.Hour,
			Calendar: cfg.Hours,
		}
	}
	examplePolicy := router.CallbackPolicy{Enabled: true, MinAbandonWait: 10 * time.Second, DropWindow: 5 * time.Second,
		VirtualHold: true, VirtualHoldMinWait: 2 * m, VirtualHoldMinPosition: 5}

	for _, tc := range []struct {
		name   string
		cfg    *config.Config
		topic  string
		rules  callbacks.Rules
		policy router.CallbackPolicy
	}{
		{"centre rules", asIs, "testing", exampleRules(asIs), examplePolicy},
		{"unknown topic: centre rules", asIs, "no-such-topic", exampleRules(asIs), examplePolicy},
		{"no override beside overrides", overrides, "testing", exampleRules(overrides), examplePolicy},
		{"defaults without a callbacks section", noSection, "testing",
			callbacks.Rules{Numbers: callbacks.NumberRules{CountryCode: "7"}, Delays: callbacks.DefaultDelays,
				MaxAttempts: 4, Expiry: 24 * time.Hour, Calendar: noSection.Hours},
			router.CallbackPolicy{MinAbandonWait: 10 * time.Second, DropWindow: 5 * time.Second, VirtualHoldMinWait: 2 * m}},
		{"topic overrides every key but enabled", overrides, "symptoms",
			callbacks.Rules{Numbers: callbacks.NumberRules{CountryCode: "7", Allow: []string{"+44*"}, Deny: []string{"+7809*"}},
				Delays: []time.Duration{0, 5 * m}, MaxAttempts: 2, Expiry: 0, Bias: 30 * time.Second, Calendar: overrides.Hours},
			router.CallbackPolicy{Enabled: true, CustomerFirst: true, MinAbandonWait: 20 * time.Second, DropWindow: 0,
				VirtualHold: true, VirtualHoldMinWait: 30 * time.Second, VirtualHoldMinPosition: 0, AfterHoursOffer: true}},
		{"topic disabled, centre enabled", overrides, "complaints", exampleRules(overrides),
			func() router.CallbackPolicy { p := examplePolicy; p.Enabled = false; return p }()},
		{"centre disabled", centreOff, "testing", exampleRules(centreOff),
			func() router.CallbackPolicy { p := examplePolicy; p.Enabled = false; return p }()},
		{"centre disabled, topic enabled", centreOff, "symptoms", exampleRules(centreOff),
			func() router.CallbackPolicy { p := examplePolicy; p.VirtualHold = false; return p }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg atomic.Pointer[config.Config]
			cfg.Store(tc.cfg)
			s := &callbackState{cfg: &cfg}
			if got := s.rules(tc.topic); !reflect.DeepEqual(got, tc.rules) {
				t.Errorf("rules(%q)\n got %+v\nwant %+v", tc.topic, got, tc.rules)
			}
			if got := s.policy(tc.topic); got != tc.policy {
				t.Errorf("policy(%q)\n got %+v\nwant %+v", tc.topic, got, tc.policy)
			}
		})
	}
}
