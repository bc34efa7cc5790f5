package sim

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/configs"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// exampleConfig is the example config; callbacks on or off, wrap-up of
// every topic set to wrap.
func exampleConfig(t testing.TB, callbacks bool, wrap time.Duration) *config.Config {
	t.Helper()
	cfg, err := config.Parse(configs.ExampleName, configs.Example)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Callbacks.Enabled = callbacks
	for _, tp := range cfg.Topics {
		tp.WrapUp = config.Duration(wrap)
		if tp.Callbacks != nil {
			tp.Callbacks.Enabled = callbacks
		}
	}
	return cfg
}

func scenario(t testing.TB, cfg *config.Config, yaml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario("test.yaml", []byte(yaml), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

var centres int

func run(t testing.TB, o Options) *Result {
	t.Helper()
	if o.Redis == nil {
		o.Redis = redistest.Start(t)
	}
	centres++
	o.Centre = fmt.Sprintf("%s-%d", redistest.Prefix(t), centres)
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const smallDay = `
name: small
start: 2026-12-01T08:00:00+05:00
duration: 4h
interval: 1h
always_open: true
answer_delay: 2s
topics:
  general:
    arrivals: [60, 120, 90, 30]
    talk: {dist: lognormal, mean: 3m, sd: 2m}
    patience: {dist: exponential, mean: 90s}
    accept_callback: 0.5
    answer_callback: 0.7
  symptoms:
    rate: [20]
    talk: {dist: empirical, values: [1m, 2m, 5m]}
    patience: {dist: exponential, mean: 1m}
shifts:
  - {name: morning, start: "08:00", end: "12:00", operators: 6,
     breaks: [{after: 1h, length: 15m, spread: 1h}]}
`

// A day with callbacks on, breaks and two topics runs to its end and every
// caller is accounted for.
func TestSmallDay(t *testing.T) {
	cfg := exampleConfig(t, true, 10*time.Second)
	sc := scenario(t, cfg, smallDay)
	res := run(t, Options{Config: cfg, Scenario: sc, Seed: 1})
	day := res.Total(All)
	if day.Offered < 350 || day.Answered == 0 || day.Abandoned == 0 {
		t.Fatalf("day: %+v", day)
	}
	if day.CallbacksOwed == 0 || day.CallbacksReached == 0 {
		t.Fatalf("no callbacks owed or reached: %+v", day)
	}
	if day.Occupancy == nil || *day.Occupancy < 0.5 {
		t.Fatalf("occupancy %v of an overloaded morning", day.Occupancy)
	}
	var buf bytes.Buffer
	if err := res.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + buf.String())
}

// The same scenario and seed give the same output twice.
func TestDeterministic(t *testing.T) {
	cfg := exampleConfig(t, true, 10*time.Second)
	sc := scenario(t, cfg, smallDay)
	rdb := redistest.Start(t)
	var out [2]bytes.Buffer
	for i := range out {
		res := run(t, Options{Config: cfg, Scenario: sc, Seed: 7, Redis: rdb})
		if err := res.WriteCSV(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	if out[0].String() != out[1].String() {
		t.Fatalf("two runs differ:\n%s\n---\n%s", out[0].String(), out[1].String())
	}
	res := run(t, Options{Config: cfg, Scenario: sc, Seed: 8, Redis: rdb})
	var other bytes.Buffer
	_ = res.WriteCSV(&other)
	if other.String() == out[0].String() {
		t.Fatal("another seed gave the same day")
	}
}

// The same day with customer-first callbacks: citizens are dialled as
// operators come free for them, and reached ones are served.
func TestSmallDayCustomerFirst(t *testing.T) {
	cfg := exampleConfig(t, true, 10*time.Second)
	cfg.Callbacks.Mode = config.CallbackCustomerFirst
	for _, tp := range cfg.Topics {
		if tp.Callbacks != nil {
			tp.Callbacks.Mode = config.CallbackCustomerFirst
		}
	}
	sc := scenario(t, cfg, smallDay)
	res := run(t, Options{Config: cfg, Scenario: sc, Seed: 1})
	day := res.Total(All)
	if day.Offered < 350 || day.Answered == 0 || day.CallbacksOwed == 0 || day.CallbacksReached == 0 {
		t.Fatalf("day: %+v", day)
	}
	// Reached citizens become calls of their own (cb-<id>-c<n>), answered
	// by an operator; no operator is rung first.
	calledBack, served := 0, 0
	for _, r := range res.Records {
		if r.Outcome == "callback_answered" {
			t.Fatalf("an agent-first attempt on a customer-first day: %+v", r)
		}
		if strings.HasPrefix(r.CallID, "cb-") && strings.Contains(r.CallID, "-c") {
			calledBack++
			if r.Outcome == "answered" {
				served++
			}
		}
	}
	if calledBack == 0 || served == 0 {
		t.Fatalf("%d called-back citizens, %d of them served", calledBack, served)
	}
	t.Logf("%d called-back citizens, %d of them served", calledBack, served)
}
