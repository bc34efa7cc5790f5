package app_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// TestRoutingRulesReachRedis: the topics' selection and ageing are in
// Redis, where every instance's dispatch scripts read them, from the start;
// a reload replaces them; a reload whose sync fails leaves the rules in
// force alone.
func TestRoutingRulesReachRedis(t *testing.T) {
	cfg := testConfig(t)
	for _, tp := range cfg.Topics { // the example's own rules aside
		tp.Selection, tp.LevelWeight, tp.PriorityAgeing = config.SelectionBestLevel, 0, 0
	}
	cfg.Topics["social_benefits"].PriorityAgeing = config.Duration(30 * time.Second)
	cfg.Topics["symptoms"].Selection = config.SelectionWeighted
	cfg.Topics["symptoms"].LevelWeight = config.Duration(2 * time.Minute)
	h := newHarness(t, cfg)
	key := rkeys.Routing(cfg.Centre.ID)
	rules := func() map[string]string { return h.rdb.HGetAll(context.Background(), key).Val() }
	want := map[string]string{}
	for id := range cfg.Topics {
		want[id] = "best_level,0,0"
	}
	want["social_benefits"] = "best_level,0,30000"
	want["symptoms"] = "weighted,120000,0"
	if got := rules(); !maps.Equal(got, want) {
		t.Fatalf("rules at start = %v, want %v", got, want)
	}

	next := *cfg
	next.Topics = map[string]*config.Topic{}
	for id, tp := range cfg.Topics {
		c := *tp
		next.Topics[id] = &c
	}
	next.Topics["social_benefits"].PriorityAgeing = 0
	next.Topics["general"].PriorityAgeing = config.Duration(time.Minute)
	if err := h.app.Reload(t.Context(), &next); err != nil {
		t.Fatal(err)
	}
	want["social_benefits"], want["general"] = "best_level,0,0", "best_level,0,60000"
	if got := rules(); !maps.Equal(got, want) {
		t.Fatalf("rules after the reload = %v, want %v", got, want)
	}

	failed := next
	failed.Topics = map[string]*config.Topic{"general": {ID: "general", Skill: "general", Selection: config.SelectionWeighted}}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.app.Reload(gone, &failed); err == nil {
		t.Fatal("a reload whose sync cannot run succeeded")
	}
	if got := rules(); !maps.Equal(got, want) {
		t.Fatalf("a failed reload changed the rules: %v, want %v", got, want)
	}
}
