package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// answeredWaits is, over topic's inbound callers who arrived in
// [from, to) and were answered, the longest wait and their number.
func answeredWaits(res *Result, topic string, from, to time.Time) (longest time.Duration, n int) {
	for _, r := range res.Records {
		if strings.HasPrefix(r.CallID, "cb-") || r.Topic != topic || r.AnsweredAt.IsZero() {
			continue
		}
		if r.Arrival.Before(from) || !r.Arrival.Before(to) {
			continue
		}
		longest = max(longest, r.Wait)
		n++
	}
	return longest, n
}

// answeredBy counts topic's answered inbound calls by operator.
func answeredBy(res *Result, topic string) map[string]int {
	out := map[string]int{}
	for _, r := range res.Records {
		if strings.HasPrefix(r.CallID, "cb-") || r.Topic != topic || r.AnsweredAt.IsZero() {
			continue
		}
		out[r.Agent]++
	}
	return out
}

// An hour at 1.5× the operators' capacity on a priority-3 topic
// (elderly_delivery) that shares its operators with a priority-0 one
// (general), 40 low-priority callers an hour and callers who wait long.
const ageingPeak = `
name: ageing
start: 2026-12-01T08:00:00+05:00
duration: 90m
interval: 30m
always_open: true
answer_delay: 2s
topics:
  elderly_delivery:
    rate: [300, 300, 0]
    talk: {dist: exponential, mean: 3m}
    patience: {dist: exponential, mean: 20m}
  general:
    rate: [40]
    talk: {dist: exponential, mean: 3m}
    patience: {dist: exponential, mean: 20m}
shifts:
  - {name: peak, start: "08:00", end: "09:30", operators: 10, skills: [general]}
`

// ageingConfig is the example config with elderly_delivery (priority 3)
// served by general's operators and general's priority_ageing set to
// ageing (0: none).
func ageingConfig(t *testing.T, ageing time.Duration) *config.Config {
	t.Helper()
	cfg := exampleConfig(t, false, 0)
	high, ok := cfg.Topic("elderly_delivery")
	if !ok || high.Priority != 3 {
		t.Fatalf("example config: elderly_delivery %+v", high)
	}
	low, ok := cfg.Topic("general")
	if !ok || low.Priority != 0 {
		t.Fatalf("example config: general %+v", low)
	}
	high.Skill = low.Skill
	high.PriorityAgeing = 0
	low.PriorityAgeing = config.Duration(ageing)
	for _, tp := range []*config.Topic{high, low} {
		tp.MaxWait, tp.MaxQueue, tp.Overflow = 0, 0, ""
	}
	return cfg
}

// No starvation: with priority_ageing 30s on the low-priority topic, a
// low-priority caller is ahead of every new high-priority one after
// 3 × 30s = 90s, so the longest wait of one answered at peak stays near
// that (plus the wait for the next of 10 busy operators to be free);
// without ageing (the same callers) they wait for the peak to end.
func TestAgeingNoStarvation(t *testing.T) {
	const seed = 12
	peakFrom := time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("", 5*3600))
	peakTo := peakFrom.Add(time.Hour)

	cfg := ageingConfig(t, 30*time.Second)
	aged := run(t, Options{Config: cfg, Scenario: scenario(t, cfg, ageingPeak), Seed: seed})
	cfg0 := ageingConfig(t, 0)
	plain := run(t, Options{Config: cfg0, Scenario: scenario(t, cfg0, ageingPeak), Seed: seed})

	agedLow, plainLow := aged.Total("general"), plain.Total("general")
	agedHigh := aged.Total("elderly_delivery")
	agedWait, agedN := answeredWaits(aged, "general", peakFrom, peakTo)
	plainWait, plainN := answeredWaits(plain, "general", peakFrom, peakTo)
	t.Logf("ageing 30s: general %+v answered at peak %d, longest wait %s; elderly_delivery offered %d answered %d abandoned %d",
		agedLow, agedN, agedWait, agedHigh.Offered, agedHigh.Answered, agedHigh.Abandoned)
	t.Logf("no ageing: general offered %d answered %d abandoned %d, answered at peak %d, longest wait %s",
		plainLow.Offered, plainLow.Answered, plainLow.Abandoned, plainN, plainWait)

	// The peak really is overloaded: high-priority callers queue and give up.
	if agedHigh.Offered < 250 || agedHigh.Abandoned < 50 {
		t.Fatalf("elderly_delivery not overloaded: %+v", agedHigh)
	}
	if agedLow.Offered < 40 || agedN < 30 {
		t.Fatalf("ageing: too few low-priority callers answered at peak: %d of %+v", agedN, agedLow)
	}
	// 90 s to overtake, then the next free operator (10 operators, 3 min
	// talk: one frees every ~18 s) shared with the other aged callers.
	if agedWait > 3*time.Minute {
		t.Fatalf("ageing: a low-priority caller answered at peak waited %s (bound 3m)", agedWait)
	}
	// Few low-priority callers give up with ageing (only the impatient).
	if agedLow.Abandoned*5 > agedLow.Offered {
		t.Fatalf("ageing: %d of %d low-priority callers abandoned", agedLow.Abandoned, agedLow.Offered)
	}
	// Without ageing low-priority callers starve at peak: they are
	// answered far later, or not at all.
	if plainN > 0 && plainWait < 3*agedWait {
		t.Fatalf("no ageing: longest low-priority wait %s, not clearly worse than %s with ageing", plainWait, agedWait)
	}
	if plainLow.Abandoned < 3*max(agedLow.Abandoned, 5) {
		t.Fatalf("no ageing: %d low-priority callers abandoned, with ageing %d", plainLow.Abandoned, agedLow.Abandoned)
	}
}

// A light day on one topic with two operators, 1001 at skill level 8 and
// 1002 at level 3.
const levelDay = `
name: levels
start: 2026-12-01T08:00:00+05:00
duration: 8h
interval: 1h
always_open: true
answer_delay: 2s
topics:
  travel:
    rate: [6]
    talk: {dist: exponential, mean: 2m}
    patience: {dist: exponential, mean: 10m}
shifts:
  - {name: senior, start: "08:00", end: "16:00", operators: 1, skills: [travel], levels: {travel: 8}}
  - {name: junior, start: "08:00", end: "16:00", operators: 1, skills: [travel], levels: {travel: 3}}
`

func levelShare(t *testing.T, selection string) (share float64, by map[string]int) {
	t.Helper()
	cfg := exampleConfig(t, false, 0)
	tp, ok := cfg.Topic("travel")
	if !ok {
		t.Fatal("example config has no travel topic")
	}
	tp.Selection = selection
	tp.LevelWeight = config.Duration(time.Minute)
	sc := scenario(t, cfg, levelDay)
	res := run(t, Options{Config: cfg, Scenario: sc, Seed: 3})
	by = answeredBy(res, "travel")
	total := by["1001"] + by["1002"]
	if total < 30 || total != res.Total("travel").Answered {
		t.Fatalf("%s: answered %v of %+v", selection, by, res.Total("travel"))
	}
	return float64(by["1001"]) / float64(total), by
}

// best_level gives the level-8 operator every call while free (the
// level-3 one takes only what arrives while 1001 talks); weighted
// (1 level = 1 min of idle time) lets the long-idle level-3 operator win
// often, so the calls are shared more evenly.
func TestSkillLevelSelection(t *testing.T) {
	best, byBest := levelShare(t, config.SelectionBestLevel)
	weighted, byWeighted := levelShare(t, config.SelectionWeighted)
	t.Logf("best_level: %v (level 8 takes %.0f%%); weighted: %v (%.0f%%)", byBest, best*100, byWeighted, weighted*100)
	if best < 0.7 {
		t.Fatalf("best_level: the level-8 operator took %.0f%% of the calls", best*100)
	}
	if weighted > best-0.1 {
		t.Fatalf("weighted: the level-8 operator took %.0f%%, best_level %.0f%%", weighted*100, best*100)
	}
}
