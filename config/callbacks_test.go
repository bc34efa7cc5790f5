package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func durations(ds []Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.D()
	}
	return out
}

// TestCallbackDefaults: without a callbacks: section every topic gets the
// defaults, switched off.
func TestCallbackDefaults(t *testing.T) {
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"testing", "general", "no-such-topic"} {
		r := cfg.CallbackRules(id)
		if r.Enabled || r.MinAbandonWait.D() != 10*time.Second || r.DropWindow.D() != 5*time.Second ||
			!slices.Equal(durations(r.Delays), DefaultCallbackDelays) || r.MaxAttempts != 4 ||
			r.Expiry.D() != 24*time.Hour || r.Mode != CallbackAgentFirst || r.AfterHours != AfterHoursSchedule ||
			r.Bias != 0 || r.VirtualHold.Enabled || r.VirtualHold.MinWait.D() != 2*time.Minute || r.VirtualHold.MinPosition != 0 {
			t.Errorf("%s: %+v", id, r)
		}
	}
	if cfg.CallbacksEnabled() {
		t.Error("CallbacksEnabled without a callbacks section")
	}
}

// TestCallbackOverride: a topic's callbacks: keys replace the centre's,
// key by key; the rest are inherited.
func TestCallbackOverride(t *testing.T) {
	data := mustRead(t, "testdata/good.yaml")
	data = strings.Replace(data, "  short_numbers: [\"122\"]\n", "  short_numbers: [\"122\"]\n  caller_id: \"+77270001406\"\n", 1)
	var prompts strings.Builder
	for _, p := range append(slices.Clone(CallbackPrompts), "callback_offer") {
		prompts.WriteString("  " + p + ": {ru: \"текст\", kk: \"мәтін\"}\n")
	}
	data = strings.Replace(data, "prompts:\n", "prompts:\n"+prompts.String(), 1)
	data = strings.Replace(data, "  general:\n    name: General questions\n", `  general:
    name: General questions
    callbacks:
      delays: [0s, 5m]
      max_attempts: 2
      deny: ["+7800*"]
      virtual_hold: {min_position: 5}
      bias: 30s
`, 1)
	data += `
callbacks:
  enabled: true
  min_abandon_wait: 20s
  expiry: 48h
  mode: customer-first
  allow: ["+44*"]
  deny: ["+7809*", "+7700???????"]
  virtual_hold: {enabled: true, min_wait: 3m}
  after_hours: offer
`
	cfg, err := Parse("override.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	centre := cfg.CallbackRules("testing")
	if !centre.Enabled || centre.MinAbandonWait.D() != 20*time.Second || centre.Expiry.D() != 48*time.Hour ||
		centre.Mode != CallbackCustomerFirst || centre.AfterHours != AfterHoursOffer || centre.MaxAttempts != 4 ||
		!slices.Equal(centre.Deny, []string{"+7809*", "+7700???????"}) || !slices.Equal(centre.Allow, []string{"+44*"}) ||
		!centre.VirtualHold.Enabled || centre.VirtualHold.MinWait.D() != 3*time.Minute || centre.DropWindow.D() != 5*time.Second {
		t.Errorf("testing (centre rules): %+v", centre)
	}
	g := cfg.CallbackRules("general")
	if !g.Enabled || g.MinAbandonWait.D() != 20*time.Second || g.Expiry.D() != 48*time.Hour || g.Mode != CallbackCustomerFirst ||
		!slices.Equal(durations(g.Delays), []time.Duration{0, 5 * time.Minute}) || g.MaxAttempts != 2 ||
		!slices.Equal(g.Deny, []string{"+7800*"}) || !slices.Equal(g.Allow, []string{"+44*"}) || g.Bias.D() != 30*time.Second ||
		!g.VirtualHold.Enabled || g.VirtualHold.MinWait.D() != 3*time.Minute || g.VirtualHold.MinPosition != 5 {
		t.Errorf("general (override): %+v", g)
	}
	// The result is a copy: changing it changes nothing in the config.
	g.Deny[0] = "+1*"
	if cfg.CallbackRules("general").Deny[0] != "+7800*" {
		t.Error("CallbackRules shares its slices with the config")
	}
	if !cfg.CallbacksEnabled() || !cfg.CallbacksVirtualHold() {
		t.Error("CallbacksEnabled/CallbacksVirtualHold false")
	}
}
