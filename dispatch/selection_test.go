package dispatch_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// leveled is an operator with one skill at a level, speaking lang.
func leveled(id, lang, skill string, level int) agents.Operator {
	return agents.Operator{ID: id, Endpoint: "PJSIP/" + id, Skills: map[string]int{skill: level}, Languages: []string{lang}}
}

func (f *fixture) rules(rs map[string]dispatch.Rule) {
	f.t.Helper()
	if err := f.d.SetRules(f.ctx, rs); err != nil {
		f.t.Fatal(err)
	}
}

// TestOperatorSelection: a caller arrives while several operators with
// the topic's skill are free; the topic's rule picks one. Operators are
// made ready at t0+at (so idle since then), the caller arrives at t0+now.
func TestOperatorSelection(t *testing.T) {
	type ready struct {
		id    string
		level int
		lang  string
		at    time.Duration
	}
	weighted := &dispatch.Rule{Selection: dispatch.Weighted, LevelWeight: time.Minute}
	tests := []struct {
		name string
		rule *dispatch.Rule // nil: no rules in Redis at all
		ops  []ready
		now  time.Duration
		lang string
		want string
	}{
		{name: "no rules: level 8 beats a level 5 idle longer", ops: []ready{{"a5", 5, "ru", 0}, {"a8", 8, "ru", 10 * time.Second}},
			now: 20 * time.Second, want: "a8"},
		{name: "best_level: level 8 beats a level 5 idle an hour longer", rule: &dispatch.Rule{Selection: dispatch.BestLevel},
			ops: []ready{{"a5", 5, "ru", 0}, {"a8", 8, "ru", time.Hour}}, now: time.Hour + time.Second, want: "a8"},
		{name: "best_level: equal levels go to the longest idle", rule: &dispatch.Rule{Selection: dispatch.BestLevel},
			ops: []ready{{"b8", 8, "ru", 0}, {"a8", 8, "ru", 5 * time.Second}, {"c3", 3, "ru", 0}}, now: 10 * time.Second, want: "b8"},
		{name: "best_level: a speaker of the caller's language before a higher level", rule: &dispatch.Rule{Selection: dispatch.BestLevel},
			ops: []ready{{"ru9", 9, "ru", 0}, {"kk3", 3, "kk", 0}}, now: time.Second, lang: "kk", want: "kk3"},
		{name: "best_level: among the speakers, the higher level", rule: &dispatch.Rule{Selection: dispatch.BestLevel},
			ops: []ready{{"ru9", 9, "ru", 0}, {"kk3", 3, "kk", 0}, {"kk7", 7, "kk", time.Second}}, now: 2 * time.Second, lang: "kk", want: "kk7"},
		// weighted, 1m a level: merit = idle time + level × 1m.
		{name: "weighted: a level 5 idle 5m (10m) beats a level 8 idle 10s (8m10s)", rule: weighted,
			ops: []ready{{"a5", 5, "ru", 0}, {"a8", 8, "ru", 4*time.Minute + 50*time.Second}}, now: 5 * time.Minute, want: "a5"},
		{name: "weighted: a level 8 idle 2m (10m) beats a level 5 idle 4m (9m)", rule: weighted,
			ops: []ready{{"a5", 5, "ru", time.Minute}, {"a8", 8, "ru", 3 * time.Minute}}, now: 5 * time.Minute, want: "a8"},
		{name: "weighted: equal merit (9m) goes to the higher level", rule: weighted,
			ops: []ready{{"a5", 5, "ru", time.Minute}, {"a8", 8, "ru", 4 * time.Minute}}, now: 5 * time.Minute, want: "a8"},
		{name: "weighted: the middle of three levels (9m, 10m, 8m)", rule: weighted,
			ops: []ready{{"a3", 3, "ru", 0}, {"a6", 6, "ru", time.Minute}, {"a9", 9, "ru", 5 * time.Minute}}, now: 5 * time.Minute, want: "a6"},
		{name: "weighted: within a level, the longest idle", rule: weighted,
			ops: []ready{{"b5", 5, "ru", 0}, {"a5", 5, "ru", time.Minute}, {"c4", 4, "ru", 0}}, now: 2 * time.Minute, want: "b5"},
		{name: "weighted: a speaker first, then merit among speakers", rule: weighted,
			ops: []ready{{"ru9", 9, "ru", 0}, {"kk8", 8, "kk", 4 * time.Minute}, {"kk5", 5, "kk", 0}}, now: 5 * time.Minute, lang: "kk", want: "kk5"},
		{name: "weighted with weight 0: longest idle whatever the level", rule: &dispatch.Rule{Selection: dispatch.Weighted},
			ops: []ready{{"a8", 8, "ru", time.Second}, {"a2", 2, "ru", 0}}, now: 2 * time.Second, want: "a2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ops []agents.Operator
			for _, o := range tc.ops {
				ops = append(ops, leveled(o.id, o.lang, "covid", o.level))
			}
			f := newFixture(t, ops...)
			if tc.rule != nil {
				f.rules(map[string]dispatch.Rule{"covid": *tc.rule})
			}
			for _, o := range tc.ops {
				f.now = t0.Add(o.at)
				none(t, f.ready(o.id))
			}
			f.now = t0.Add(tc.now)
			one(t, f.enqueue("c1", "covid", 0, tc.now, tc.lang), "c1", tc.want)
		})
	}
}

// TestLevelPerSkill: an operator's level is the one of the skill the caller
// needs, not its best.
func TestLevelPerSkill(t *testing.T) {
	multi := agents.Operator{ID: "multi", Endpoint: "PJSIP/multi", Skills: map[string]int{"covid": 3, "vacc": 9}, Languages: []string{"ru"}}
	f := newFixture(t, multi, leveled("covid6", "ru", "covid", 6), leveled("vacc4", "ru", "vacc", 4))
	none(t, f.ready("multi"))
	f.tick(time.Second)
	none(t, f.ready("covid6"))
	none(t, f.ready("vacc4"))
	one(t, f.enqueue("c1", "covid", 0, 0, ""), "c1", "covid6")
	one(t, f.enqueue("c2", "vacc", 0, 0, ""), "c2", "multi")
}

// TestCallerSelection: an operator frees up while several callers wait; the
// caller with the highest effective priority (priority + waited/ageing for
// a topic with ageing) is offered, then the earliest arrival. The operator
// serves topics low and high; callers arrive at t0+at, the operator is
// ready at t0+now.
func TestCallerSelection(t *testing.T) {
	type waiting struct {
		id, topic string
		prio      int
		at        time.Duration
	}
	age := func(d time.Duration) dispatch.Rule { return dispatch.Rule{Ageing: d} }
	tests := []struct {
		name    string
		rules   map[string]dispatch.Rule
		callers []waiting
		now     time.Duration
		want    string
	}{
		{name: "no ageing: the newer high-priority caller, however long the other waited",
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 10 * time.Minute}}, now: 10 * time.Minute, want: "high"},
		{name: "no ageing rule among others: still priority, then arrival", rules: map[string]dispatch.Rule{"high": {Selection: dispatch.Weighted}},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 10 * time.Minute}}, now: 10 * time.Minute, want: "high"},
		{name: "ageing 30s on low: 59s waited is 1.97 < 2", rules: map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 50 * time.Second}}, now: 59 * time.Second, want: "high"},
		{name: "ageing 30s on low: 61s waited is 2.03 > 2", rules: map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 50 * time.Second}}, now: 61 * time.Second, want: "low"},
		{name: "ageing 30s on low: equal at 60s (2 = 2), the earlier arrival", rules: map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 50 * time.Second}}, now: 60 * time.Second, want: "low"},
		{name: "ageing on both: arrived less than two steps earlier, never ahead",
			rules:   map[string]dispatch.Rule{"low": age(30 * time.Second), "high": age(30 * time.Second)},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 50 * time.Second}}, now: time.Hour, want: "high"},
		{name: "ageing on both: arrived more than two steps earlier, ahead",
			rules:   map[string]dispatch.Rule{"low": age(30 * time.Second), "high": age(30 * time.Second)},
			callers: []waiting{{"low", "low", 0, 0}, {"high", "high", 2, 70 * time.Second}}, now: 80 * time.Second, want: "low"},
		{name: "ageing within a topic: the older priority 0 (1.5) before the newer priority 1 (1.17)",
			rules:   map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"p0", "low", 0, 0}, {"p1", "low", 1, 40 * time.Second}}, now: 45 * time.Second, want: "p0"},
		{name: "ageing within a topic: not yet (0.83 < 1.17)",
			rules:   map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"p0", "low", 0, 0}, {"p1", "low", 1, 20 * time.Second}}, now: 25 * time.Second, want: "p1"},
		{name: "ageing within a topic: three bands, the middle one",
			rules: map[string]dispatch.Rule{"low": age(10 * time.Second)},
			// at 60s: p0 0+6=6, p3 3+4=7, p5 5+1=6
			callers: []waiting{{"p0", "low", 0, 0}, {"p3", "low", 3, 20 * time.Second}, {"p5", "low", 5, 50 * time.Second}}, now: 60 * time.Second, want: "p3"},
		{name: "ageing: the low topic's oldest, not its newest",
			rules:   map[string]dispatch.Rule{"low": age(30 * time.Second)},
			callers: []waiting{{"low1", "low", 0, 0}, {"low2", "low", 0, 5 * time.Second}, {"high", "high", 2, 50 * time.Second}}, now: 90 * time.Second, want: "low1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, agents.Operator{ID: "a1", Endpoint: "PJSIP/a1", Skills: map[string]int{"low": 5, "high": 5}, Languages: []string{"ru"}})
			if tc.rules != nil {
				f.rules(tc.rules)
			}
			for _, c := range tc.callers {
				f.now = t0.Add(c.at)
				none(t, f.enqueue(c.id, c.topic, c.prio, c.at, ""))
			}
			f.now = t0.Add(tc.now)
			one(t, f.ready("a1"), tc.want, "a1")
		})
	}
}

// TestAgeingWhenCallerArrives: the caller side of a topic's own match (a
// caller arrives while an operator is free) follows ageing too: here two
// callers were queued without a claim, and the claim for the topic takes
// the one ahead by effective priority.
func TestAgeingWhenCallerArrives(t *testing.T) {
	f := newFixture(t, op("a1", "", "covid"))
	f.rules(map[string]dispatch.Rule{"covid": {Ageing: 30 * time.Second}})
	for _, c := range []struct {
		id   string
		prio int
		at   time.Duration
	}{{"old-p0", 0, 0}, {"new-p1", 1, 40 * time.Second}} {
		f.calls = append(f.calls, c.id)
		if _, err := f.q.Enqueue(f.ctx, dispatch.Caller{CallID: c.id, Topic: "covid", Priority: c.prio, Arrival: t0.Add(c.at)}, t0.Add(c.at)); err != nil {
			t.Fatal(err)
		}
	}
	f.now = t0.Add(45 * time.Second)
	if err := f.ag.Login(f.ctx, "a1", f.now); err != nil {
		t.Fatal(err)
	}
	rs, err := f.d.ClaimForTopic(f.ctx, "covid", f.now)
	if err != nil {
		t.Fatal(err)
	}
	one(t, rs, "old-p0", "a1")
}

// TestAgeingEndsStarvation is a timeline at peak: one operator, its calls
// last 20 s, and a new priority-2 caller arrives every 20 s just before the
// call ends, so when the operator frees up a priority-2 caller always waits.
// A priority-0 caller queued at 0 s is never served without ageing; with
// 30 s ageing it is served at 60 s, when its wait is worth the two steps
// (level with the new caller: the earlier arrival goes first).
func TestAgeingEndsStarvation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ageing time.Duration
		served time.Duration // when the low caller is offered; 0: never in the run
	}{
		{"no ageing: starved", 0, 0},
		{"ageing 30s: served at 60s", 30 * time.Second, 60 * time.Second},
		{"ageing 10s: served at 20s", 10 * time.Second, 20 * time.Second},
		{"ageing 2m: served at 4m", 2 * time.Minute, 4 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, agents.Operator{ID: "a1", Endpoint: "PJSIP/a1", Skills: map[string]int{"low": 5, "high": 5}, Languages: []string{"ru"}})
			if tc.ageing > 0 {
				f.rules(map[string]dispatch.Rule{"low": {Ageing: tc.ageing}})
			}
			none(t, f.ready("a1"))
			answer := func(rs []dispatch.Reservation) string {
				t.Helper()
				if len(rs) != 1 {
					t.Fatalf("at %s: reservations %v, want one", f.now.Sub(t0), rs)
				}
				if err := f.d.Answered(f.ctx, rs[0], f.now); err != nil {
					t.Fatal(err)
				}
				return rs[0].CallID
			}
			answer(f.enqueue("h0", "high", 2, 0, ""))
			none(t, f.enqueue("low", "low", 0, 0, ""))
			var served time.Duration
			for k := 1; k <= 15; k++ {
				at := time.Duration(k) * 20 * time.Second
				f.now = t0.Add(at)
				none(t, f.enqueue(fmt.Sprintf("h%d", k), "high", 2, at, ""))
				rs, err := f.d.Ended(f.ctx, "a1", 0, f.now)
				if err != nil {
					t.Fatal(err)
				}
				if answer(rs) == "low" && served == 0 {
					served = at
				}
			}
			if served != tc.served {
				t.Errorf("low caller served at %s, want %s (0: never)", served, tc.served)
			}
		})
	}
}

// TestRulesReplacedOnReload: SetRules puts the whole set in force, so a
// reload that drops a topic's ageing (or the topic) routes it by the
// defaults again; writing the same rules twice changes nothing; bad rules
// are refused and the rules in force stay.
func TestRulesReplacedOnReload(t *testing.T) {
	f := newFixture(t, agents.Operator{ID: "a1", Endpoint: "PJSIP/a1", Skills: map[string]int{"low": 5, "high": 5}, Languages: []string{"ru"}})
	aged := map[string]dispatch.Rule{"low": {Ageing: 30 * time.Second}, "high": {Selection: dispatch.Weighted, LevelWeight: time.Minute}}
	f.rules(aged)
	f.rules(aged)
	if got := f.rdb.HGetAll(f.ctx, rkeys.Routing(f.centre)).Val(); len(got) != 2 || got["low"] != "best_level,0,30000" || got["high"] != "weighted,60000,0" {
		t.Fatalf("routing = %v", got)
	}
	for _, bad := range []map[string]dispatch.Rule{
		{"low": {Selection: "fastest"}},
		{"lo:w": {}},
		{"low": {Ageing: -time.Second}},
	} {
		if err := f.d.SetRules(f.ctx, bad); !errors.Is(err, dispatch.ErrInvalid) {
			t.Errorf("SetRules(%v) = %v, want ErrInvalid", bad, err)
		}
	}
	none(t, f.enqueue("low", "low", 0, 0, ""))
	none(t, f.enqueue("high", "high", 2, 50*time.Second, ""))
	f.now = t0.Add(90 * time.Second)
	f.rules(map[string]dispatch.Rule{"high": {}}) // the reload dropped low's ageing
	one(t, f.ready("a1"), "high", "a1")
}

// TestLevelChangeOnReload: an operator's new level counts from the sync
// that brings it, also while the operator is ready.
func TestLevelChangeOnReload(t *testing.T) {
	f := newFixture(t, leveled("a", "ru", "covid", 3), leveled("b", "ru", "covid", 5))
	none(t, f.ready("a"))
	none(t, f.ready("b"))
	if err := f.ag.Sync(f.ctx, []agents.Operator{leveled("a", "ru", "covid", 9)}, f.now); err != nil {
		t.Fatal(err)
	}
	one(t, f.enqueue("c1", "covid", 0, 0, "ru"), "c1", "a")
}

// An operator who let a caller ring out is not offered that caller again
// while another operator of the skill is free, whatever the levels: the
// level 8 who did not answer goes after the free level 5.
func TestNoAnswerTriesOthersFirst(t *testing.T) {
	f := newFixture(t, leveled("a8", "ru", "covid", 8), leveled("a5", "ru", "covid", 5))
	f.ready("a5")
	f.tick(time.Second)
	f.ready("a8")
	f.tick(time.Second)
	r := one(t, f.enqueue("c1", "covid", 0, 2*time.Second, ""), "c1", "a8")
	f.tick(4 * time.Second)
	res, err := f.d.NoAnswer(f.ctx, r, 3, f.now)
	if err != nil || res.Paused {
		t.Fatalf("no answer: %+v %v", res, err)
	}
	one(t, res.Reservations, "c1", "a5")
	if got := f.state("a8"); got != agents.Ready {
		t.Fatalf("a8 after its miss = %s, want ready", got)
	}
}
