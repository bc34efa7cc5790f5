package cases_test

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/config"
)

// The lookups read the config in force: a reload applies at once.
func TestLookupsFollowReload(t *testing.T) {
	var cur atomic.Pointer[config.Config]
	opt, hooks := cases.OptionsFrom(cur.Load), cases.WebhooksFrom(cur.Load)
	if _, ok := opt.Services("gp"); ok || opt.Categories() != nil {
		t.Fatal("no config: no services, default categories")
	}
	if _, ok := hooks("gp"); ok {
		t.Fatal("no config: no webhook")
	}
	cur.Store(&config.Config{Desk: config.Desk{ComplaintCategories: []string{"rudeness"}},
		Services: []config.Service{{ID: "gp", Name: "GP", Cases: []string{config.CaseHomeVisit}, Webhook: "https://gp.example/hook"}}})
	if s, ok := opt.Services("gp"); !ok || s.Name != "GP" || !slices.Equal(opt.Categories(), []string{"rudeness"}) {
		t.Fatalf("after load: %+v %v", s, opt.Categories())
	}
	if u, ok := hooks("gp"); !ok || u != "https://gp.example/hook" {
		t.Fatalf("webhook %q %v", u, ok)
	}
	cur.Store(&config.Config{Services: []config.Service{{ID: "gp", Name: "GP"}}})
	if _, ok := hooks("gp"); ok {
		t.Fatal("webhook removed by the reload still found")
	}
}
