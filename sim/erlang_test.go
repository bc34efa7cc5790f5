package sim

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
)

// erlangA is the M/M/n+M queue (Erlang A: Poisson arrivals lam, n
// servers of exponential rate mu, exponential patience of rate theta,
// FCFS) in steady state: the share of arrivals answered within t, the
// share who abandon, and the mean wait of those answered. Computed from
// the birth-death chain of the number in the system and, for an arrival
// who finds m callers ahead in the queue, the stages of its own wait:
// with j ahead the line moves at n·mu + j·theta and the caller leaves at
// theta, so its wait is a sum of exponentials; the chance to be answered
// by t comes from uniformising those stages.
func erlangA(lam, mu, theta float64, n int, t float64) (slWithin, abandon, asa float64) {
	// Stationary distribution, up to where it no longer matters.
	p := []float64{1}
	sum := 1.0
	for k := 1; ; k++ {
		death := float64(min(k, n))*mu + float64(max(k-n, 0))*theta
		v := p[k-1] * lam / death
		p = append(p, v)
		sum += v
		if k > n && v < 1e-15*sum {
			break
		}
	}
	for k := range p {
		p[k] /= sum
	}
	nmu := float64(n) * mu
	M := len(p) - n // arrivals finding m = 0..M-1 ahead in the queue
	var pServed, waitServed, within float64
	for k := 0; k < n && k < len(p); k++ {
		pServed += p[k]
		within += p[k]
	}
	// Answered at all, and the mean wait of the answered, per m.
	for m := 0; m < M; m++ {
		w := p[n+m]
		served, mean := 1.0, 0.0
		for j := 0; j <= m; j++ {
			r := nmu + float64(j+1)*theta
			served *= (nmu + float64(j)*theta) / r
			mean += 1 / r
		}
		pServed += w * served
		waitServed += w * served * mean
	}
	// Answered within t: uniformisation of the stages, all m at once.
	lamU := nmu + float64(M+1)*theta
	mass := make([]float64, M) // by callers ahead
	for m := range M {
		mass[m] = p[n+m]
	}
	next := make([]float64, M)
	x := lamU * t
	logPois := -x // log Poisson(k; x) at k = 0
	served, cum := 0.0, 0.0
	for k := 0; ; k++ {
		pk := math.Exp(logPois)
		within += pk * served
		cum += pk
		if (cum > 1-1e-12 && float64(k) > x) || k > 100000 {
			break
		}
		// One uniformised step.
		for j := range next {
			next[j] = 0
		}
		for j := range M {
			adv := (nmu + float64(j)*theta) / lamU
			stay := 1 - adv - theta/lamU
			if j == 0 {
				served += mass[0] * adv
			} else {
				next[j-1] += mass[j] * adv
			}
			next[j] += mass[j] * stay
		}
		mass, next = next, mass
		logPois += math.Log(x) - math.Log(float64(k+1))
	}
	return within, 1 - pServed, waitServed / pServed
}

// An erlangA sanity check: with almost no patience loss and a light load,
// nobody waits; with theta = mu the queue is M/M/∞-like in its abandons.
func TestErlangAFormula(t *testing.T) {
	sl, ab, asa := erlangA(0.5, 1, 1e-9, 10, 1)
	if sl < 0.9999 || ab > 1e-6 || asa > 1e-3 {
		t.Fatalf("light: sl %v abandon %v asa %v", sl, ab, asa)
	}
	// n = 1, theta = mu: the number in the system is Poisson(lam/mu), so
	// an arrival waits iff it finds k ≥ 1 (PASTA) and with theta = mu
	// every queued caller leaves at the same rate as they are served.
	_, ab, _ = erlangA(2, 1, 1, 1, 0)
	// Served share = throughput/lam; throughput = mu·P(k ≥ 1).
	want := 1 - (1-math.Exp(-2))/2
	if math.Abs(ab-want) > 1e-9 {
		t.Fatalf("n=1 theta=mu: abandon %v, want %v", ab, want)
	}
}

type erlangCase struct {
	n   int
	rho float64 // offered load ÷ n
}

var erlangCases = []erlangCase{
	{1, 0.5}, {1, 0.9}, {1, 1.3}, {2, 0.7}, {2, 1.1}, {3, 0.9}, {5, 0.5}, {5, 1.0}, {5, 1.3},
	{8, 0.8}, {10, 0.9}, {10, 1.2}, {15, 1.0}, {20, 0.6}, {20, 1.1}, {30, 0.95}, {50, 0.8},
	{50, 1.3}, {75, 1.05}, {100, 0.9}, {100, 1.2}, {150, 1.0}, {200, 0.5}, {200, 1.3},
}

// On M/M/n+M (one topic, Poisson arrivals, exponential talk and patience,
// fixed staff, callbacks off, no wrap-up, operators pick up at once) the
// simulator on the real router and Redis scripts agrees with Erlang A:
// the share answered within the target and the abandon share within ±2
// points, the ASA within ±5 % (or 0.5 s when it is under 10 s: light
// loads barely wait). -short runs every fourth case; HOTLINE_SIM_LONG=1
// simulates four times as many calls per case and holds the bounds
// strictly; the default run widens them to three standard errors of its
// own batches where its span cannot resolve them (logged per case).
func TestErlangA(t *testing.T) {
	const (
		talk     = 60 * time.Second
		patience = 120 * time.Second
		within   = 20 * time.Second
	)
	calls, minSpan := 6000, 3*time.Hour
	strict := os.Getenv("HOTLINE_SIM_LONG") == "1"
	if strict {
		calls, minSpan = 4*calls, 4*minSpan
	}
	cases := erlangCases
	if raceOn {
		// Two cases under the race detector (see raceOn).
		cases = []erlangCase{erlangCases[0], erlangCases[6]}
	} else if testing.Short() {
		cases = nil
		for i := 0; i < len(erlangCases); i += 4 {
			cases = append(cases, erlangCases[i])
		}
	}
	cfg := exampleConfig(t, false, 0)
	tp, _ := cfg.Topic("general")
	tp.ServiceLevel.Within = config.Duration(within)
	rdb := redistest.Start(t)
	mu, theta := 1/talk.Seconds(), 1/patience.Seconds()
	for _, c := range cases {
		t.Run(fmt.Sprintf("n=%d/load=%.2fn", c.n, c.rho), func(t *testing.T) {
			lam := c.rho * float64(c.n) * mu // per second
			warm := 20 * talk
			// Enough calls, and enough hours: near a critical load the
			// queue wanders slowly, and a short span is one sample of it.
			span := max(time.Duration(float64(calls)/lam*float64(time.Second)), minSpan)
			if c.n <= 30 && math.Abs(c.rho-1) <= 0.1 {
				// Critical loads of small teams wander longest for
				// their calls: twelve hours (cheap at their rates).
				span = max(span, 4*minSpan)
			}
			span += warm
			cool := 30 * patience
			hours := (span + cool + time.Hour - 1) / time.Hour
			yaml := fmt.Sprintf(`
name: mmn+m
start: 2026-12-01T00:00:00Z
duration: %dh
interval: 1h
always_open: true
answer_delay: 0s
topics:
  general:
    rate: [%g]
    talk: {dist: exponential, mean: %s}
    patience: {dist: exponential, mean: %s}
staff: [%d]
`, hours, lam*3600, talk, patience, c.n)
			sc := scenario(t, cfg, yaml)
			res := run(t, Options{Config: cfg, Scenario: sc, Seed: uint64(c.n*100) + uint64(c.rho*100), Redis: rdb, SweepEvery: time.Minute})
			from := sc.Start.Add(warm)
			to := sc.Start.Add(time.Duration(hours)*time.Hour - cool)
			// Ten batches by arrival time give the run's own standard error:
			// near a critical load the queue wanders slowly and a few hours
			// are few independent samples of it.
			const batches = 10
			var b [batches]struct {
				offered, inTime, abandoned, answered int
				waits                                time.Duration
			}
			for _, r := range res.Records {
				if strings.HasPrefix(r.CallID, "cb-") || r.Arrival.Before(from) || !r.Arrival.Before(to) {
					continue
				}
				k := int(r.Arrival.Sub(from) * batches / to.Sub(from))
				b[k].offered++
				switch {
				case !r.AnsweredAt.IsZero():
					b[k].answered++
					b[k].waits += r.Wait
					if r.Wait <= within {
						b[k].inTime++
					}
				case r.Outcome == records.OutcomeAbandoned:
					b[k].abandoned++
				}
			}
			var offered, inTime, abandoned, answered int
			var waits time.Duration
			for _, x := range b {
				offered, inTime, abandoned, answered, waits = offered+x.offered, inTime+x.inTime, abandoned+x.abandoned, answered+x.answered, waits+x.waits
			}
			if offered < calls/2 {
				t.Fatalf("only %d calls measured", offered)
			}
			gotSL := float64(inTime) / float64(offered)
			gotAb := float64(abandoned) / float64(offered)
			gotASA := waits.Seconds() / float64(max(answered, 1))
			se := func(f func(int) float64) float64 {
				var sum, sq float64
				for k := range batches {
					v := f(k)
					sum += v
					sq += v * v
				}
				mean := sum / batches
				return math.Sqrt(max(sq/batches-mean*mean, 0) / (batches - 1))
			}
			seSL := se(func(k int) float64 { return float64(b[k].inTime) / float64(max(b[k].offered, 1)) })
			seAb := se(func(k int) float64 { return float64(b[k].abandoned) / float64(max(b[k].offered, 1)) })
			seASA := se(func(k int) float64 { return b[k].waits.Seconds() / float64(max(b[k].answered, 1)) })
			wantSL, wantAb, wantASA := erlangA(lam, mu, theta, c.n, within.Seconds())
			t.Logf("%d calls: SL %.1f%% ±%.1f (Erlang A %.1f%%), abandoned %.1f%% ±%.1f (%.1f%%), ASA %.2fs ±%.2f (%.2fs)",
				offered, 100*gotSL, 100*seSL, 100*wantSL, 100*gotAb, 100*seAb, 100*wantAb, gotASA, seASA, wantASA)
			// The bound: ±2 points (±5 % of the ASA, or 0.5 s under 10 s),
			// widened to three standard errors of this run when it is too
			// short to resolve that (HOTLINE_SIM_LONG=1 runs four times as
			// long and is the strict check).
			slack := func(se float64) float64 {
				if strict {
					return 0
				}
				return 3 * se
			}
			if d := math.Abs(gotSL - wantSL); d > max(0.02, slack(seSL)) {
				t.Errorf("SL %.2f%%, Erlang A %.2f%%", 100*gotSL, 100*wantSL)
			}
			if d := math.Abs(gotAb - wantAb); d > max(0.02, slack(seAb)) {
				t.Errorf("abandoned %.2f%%, Erlang A %.2f%%", 100*gotAb, 100*wantAb)
			}
			tol := 0.05 * wantASA
			if wantASA < 10 {
				tol = max(tol, 0.5)
			}
			if math.Abs(gotASA-wantASA) > max(tol, slack(seASA)) {
				t.Errorf("ASA %.2fs, Erlang A %.2fs (±%.2fs)", gotASA, wantASA, max(tol, slack(seASA)))
			}
		})
	}
}
