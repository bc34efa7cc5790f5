package sim

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/records"
)

func TestKaplanMeier(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		waits  []time.Duration
		gaveUp []bool
		at     []time.Duration
		left   []float64
	}{
		// 5 at risk at 10 s, one gives up: 4/5; the answer at 15 s leaves
		// 3 at risk at 20 s: 4/5·2/3; the last at risk gives up at 30 s.
		{"mixed", []time.Duration{20 * s, 10 * s, 25 * s, 15 * s, 30 * s}, []bool{true, true, false, false, true},
			[]time.Duration{10 * s, 20 * s, 30 * s}, []float64{0.8, 0.8 * 2 / 3, 0}},
		// An answer at the same time as an abandon counts as still at
		// risk then.
		{"tie", []time.Duration{10 * s, 10 * s}, []bool{false, true}, []time.Duration{10 * s}, []float64{0.5}},
		{"nobody gave up", []time.Duration{10 * s, 20 * s}, []bool{false, false}, nil, nil},
		{"everybody gave up", []time.Duration{30 * s, 10 * s}, []bool{true, true}, []time.Duration{10 * s, 30 * s}, []float64{0.5, 0}},
	} {
		got := kaplanMeier(tc.waits, tc.gaveUp)
		if !slices.Equal(got.at, tc.at) || len(got.left) != len(tc.left) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got.at, got.left, tc.at, tc.left)
			continue
		}
		for i := range tc.left {
			if d := got.left[i] - tc.left[i]; d > 1e-12 || d < -1e-12 {
				t.Errorf("%s: left %v, want %v", tc.name, got.left, tc.left)
			}
		}
	}
}

// Drawn patience follows the estimate: 20 % at 10 s, 26.7 % at 20 s,
// 53.3 % at 30 s; with nobody giving up, nobody does.
func TestKaplanMeierDraw(t *testing.T) {
	s := time.Second
	km := kaplanMeier([]time.Duration{20 * s, 10 * s, 25 * s, 15 * s, 30 * s}, []bool{true, true, false, false, true})
	r := rand.New(rand.NewPCG(1, 2))
	const n = 100000
	count := map[time.Duration]int{}
	for range n {
		count[km.draw(r)]++
	}
	for at, want := range map[time.Duration]float64{10 * s: 0.2, 20 * s: 0.8 / 3, 30 * s: 1.6 / 3} {
		if got := float64(count[at]) / n; got < want-0.01 || got > want+0.01 {
			t.Errorf("P(%s) = %.3f, want %.3f (draws %v)", at, got, want, count)
		}
	}
	if got := kaplanMeier([]time.Duration{s}, []bool{false}).draw(r); got != neverGivesUp {
		t.Errorf("patience with no abandon seen: %s", got)
	}
}

// Two days simulated from two days' records behave like them: talk drawn
// from its conversations, patience from Kaplan–Meier over its waits. Drawn
// from the abandons alone, patience would be far too short: the patient
// callers were answered before their patience showed.
func TestRecordsRoundTrip(t *testing.T) {
	if raceOn {
		t.Skip("three two-day runs are too slow under the race detector; TestSmallDay runs the simulator there")
	}
	cfg := exampleConfig(t, false, 0)
	day := func(talk, patience string) string {
		return `
name: from-records
start: 2026-12-01T08:00:00+05:00
duration: 48h
interval: 1h
always_open: true
answer_delay: 0s
topics:
  general:
    rate: [100]
    talk: ` + talk + `
    patience: ` + patience + `
staff: [6]
`
	}
	orig := run(t, Options{Config: cfg, Scenario: scenario(t, cfg, day("{dist: lognormal, mean: 3m, sd: 2m}", "{dist: exponential, mean: 2m}")), Seed: 1})
	dir := t.TempDir()
	file := filepath.Join(dir, "day.json")
	// Two pages, as two GET /api/v1/records answers appended.
	var pages []byte
	half := len(orig.Records) / 2
	for _, part := range [][]records.Record{orig.Records[:half], orig.Records[half:]} {
		b, err := json.Marshal(struct {
			Records []records.Record `json:"records"`
			Next    string           `json:"next"`
		}{part, "1-0"})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(append(pages, b...), '\n')
	}
	if err := os.WriteFile(file, pages, 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := ParseScenario(filepath.Join(dir, "replay.yaml"), []byte(day("{dist: records, records: day.json}", "{dist: records, records: day.json}")), cfg)
	if err != nil {
		t.Fatal(err)
	}
	replay := run(t, Options{Config: cfg, Scenario: sc, Seed: 2})
	var abandonedWaits []string
	for _, r := range orig.Records {
		if r.Count(0).Abandoned {
			abandonedWaits = append(abandonedWaits, r.Wait.Round(time.Millisecond).String())
		}
	}
	naive := run(t, Options{Config: cfg, Scenario: scenario(t, cfg, day("{dist: records, records: "+file+"}",
		"{dist: empirical, values: ["+strings.Join(abandonedWaits, ", ")+"]}")), Seed: 2})
	a, b, c := orig.Total(All), replay.Total(All), naive.Total(All)
	share := func(x Row) float64 { return float64(x.Abandoned) / float64(x.Offered) }
	asa := func(x Row) float64 {
		if x.ASA == nil {
			return 0
		}
		return *x.ASA
	}
	t.Logf("original: offered %d, abandoned %.1f%%, ASA %.0fs; from its records: %d, %.1f%%, %.0fs; patience from abandons only: %.1f%%",
		a.Offered, 100*share(a), asa(a), b.Offered, 100*share(b), asa(b), 100*share(c))
	if d := share(b) - share(a); d > 0.015 || d < -0.015 {
		t.Errorf("abandoned %.1f%% from the records, %.1f%% in the days they came from", 100*share(b), 100*share(a))
	}
	if d := asa(b)/asa(a) - 1; d > 0.15 || d < -0.15 {
		t.Errorf("ASA %.1fs from the records, %.1fs in the days they came from", asa(b), asa(a))
	}
	if share(c) < 1.25*share(a) {
		t.Errorf("patience from abandons only: %.1f%% abandoned, want far more than the days' %.1f%%", 100*share(c), 100*share(a))
	}
}

// A records distribution names a readable file with the topic's calls.
func TestRecordsDistErrors(t *testing.T) {
	cfg := exampleConfig(t, false, 0)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`[{"CallID":"c1","Topic":"symptoms","EnqueuedAt":"2026-12-01T08:00:00Z","AnsweredAt":"2026-12-01T08:01:00Z","EndedAt":"2026-12-01T08:03:00Z","Outcome":"answered"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"records": 5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ talk, want string }{
		{"{dist: records}", "test.yaml:9: dist records needs records"},
		{"{dist: records, records: missing.json}", "test.yaml:9: records: open"},
		{"{dist: records, records: other.json}", `other.json holds no answered call of topic "general"`},
		{"{dist: records, records: bad.json}", "neither a page of /api/v1/records"},
	} {
		yaml := `
name: bad
start: 2026-12-01T08:00:00+05:00
duration: 1h
topics:
  general:
    rate: [10]
    patience: {dist: exponential, mean: 1m}
    talk: ` + tc.talk + `
staff: [1]
`
		_, err := ParseScenario(filepath.Join(dir, "test.yaml"), []byte(yaml), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("talk %s: %v, want %q", tc.talk, err, tc.want)
		}
	}
}
