package sim

import (
	"testing"
	"time"
)

// day1406 is the 1406 peak's size: 10,000 calls in a day to 180
// operators in three shifts, 70 % about one benefit, long calls in the
// tail (configs/scenarios/1406-peak.yaml is the named one).
const day1406 = `
name: bench-1406
start: 2026-12-01T00:00:00+05:00
always_open: true
topics:
  social_benefits:
    daily: 7000
    profile: [1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 8, 8, 9, 9, 8, 7, 6, 4, 3, 2, 1, 1]
    talk: {dist: lognormal, mean: 150s, sd: 180s}
    patience: {dist: exponential, mean: 3m}
  general:
    daily: 3000
    profile: [1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 8, 8, 9, 9, 8, 7, 6, 4, 3, 2, 1, 1]
    talk: {dist: lognormal, mean: 200s, sd: 300s}
    patience: {dist: exponential, mean: 3m}
shifts:
  - {name: morning, start: "06:00", end: "12:00", operators: 60}
  - {name: day, start: "12:00", end: "18:00", operators: 60}
  - {name: evening, start: "18:00", end: "24:00", operators: 60}
`

// BenchmarkDay is one simulated day of 10,000 calls to 180 operators.
func BenchmarkDay(b *testing.B) {
	cfg := exampleConfig(b, true, 10*time.Second)
	sc := scenario(b, cfg, day1406)
	for i := 0; i < b.N; i++ {
		res := run(b, Options{Config: cfg, Scenario: sc, Seed: uint64(i + 1)})
		b.ReportMetric(float64(res.Total(All).Offered), "calls/day")
	}
}
