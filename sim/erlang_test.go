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
// loads barely wait). -short runs every fourth case.
//
// A run's own standard error (from batches by arrival time) says whether
// it resolves those bounds: near a critical load the queue wanders slowly,
// and 48 simulated hours of 20 operators at 1.1 n still put the SL's
// standard error at 1.3 points (four seeds gave 57.9, 61.0, 61.9 and 61.5 %
// against Erlang A's 59.9 %). HOTLINE_SIM_LONG=1 is the strict check: it
// adds independent runs (other seeds) to a case until three standard
// errors fit inside every bound (at most 60), then holds the bounds as they are. The
// default run makes one run per case and widens a bound it cannot resolve
// to three standard errors (logged per case).
func TestErlangA(t *testing.T) {
	const (
		talk     = 60 * time.Second
		patience = 120 * time.Second
		within   = 20 * time.Second
		calls    = 6000
		minSpan  = 3 * time.Hour
	)
	strict := os.Getenv("HOTLINE_SIM_LONG") == "1"
	maxRuns := 1
	if strict {
		maxRuns = 60
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
			if c.n <= 30 && math.Abs(c.rho-1) <= 0.1+1e-9 { // 1.1-1 is 0.10000000000000009
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
			from := sc.Start.Add(warm)
			to := sc.Start.Add(time.Duration(hours)*time.Hour - cool)
			wantSL, wantAb, wantASA := erlangA(lam, mu, theta, c.n, within.Seconds())
			tol := 0.05 * wantASA
			if wantASA < 10 {
				tol = max(tol, 0.5)
			}
			// Ten batches by arrival time per run give the standard error:
			// a batch of a few hours is close to independent of the next,
			// and runs of other seeds are independent.
			const batches = 10
			var b []erlangBatch
			var st erlangStats
			runs := 0
			for runs < maxRuns {
				seed := uint64(c.n*100) + uint64(c.rho*100) + uint64(runs)*7919
				res := run(t, Options{Config: cfg, Scenario: sc, Seed: seed, Redis: rdb, SweepEvery: time.Minute})
				runs++
				one := make([]erlangBatch, batches)
				for _, r := range res.Records {
					if strings.HasPrefix(r.CallID, "cb-") || r.Arrival.Before(from) || !r.Arrival.Before(to) {
						continue
					}
					one[int(r.Arrival.Sub(from)*batches/to.Sub(from))].add(r, within)
				}
				b = append(b, one...)
				st = erlangSummary(b)
				if st.offered < runs*calls/2 {
					t.Fatalf("only %d calls measured in %d runs", st.offered, runs)
				}
				if 3*st.seSL <= 0.02 && 3*st.seAb <= 0.02 && 3*st.seASA <= tol {
					break
				}
			}
			t.Logf("%d calls in %d run(s): SL %.1f%% ±%.1f (Erlang A %.1f%%), abandoned %.1f%% ±%.1f (%.1f%%), ASA %.2fs ±%.2f (%.2fs)",
				st.offered, runs, 100*st.sl, 100*st.seSL, 100*wantSL, 100*st.ab, 100*st.seAb, 100*wantAb, st.asa, st.seASA, wantASA)
			if strict && (3*st.seSL > 0.02 || 3*st.seAb > 0.02 || 3*st.seASA > tol) {
				t.Errorf("%d runs do not resolve the bounds (standard errors SL %.2f, abandoned %.2f points, ASA %.2fs)", runs, 100*st.seSL, 100*st.seAb, st.seASA)
			}
			// The bound, widened to three standard errors only where the
			// default single run is too short to resolve it.
			slack := func(se float64) float64 {
				if strict {
					return 0
				}
				return 3 * se
			}
			if d := math.Abs(st.sl - wantSL); d > max(0.02, slack(st.seSL)) {
				t.Errorf("SL %.2f%%, Erlang A %.2f%%", 100*st.sl, 100*wantSL)
			}
			if d := math.Abs(st.ab - wantAb); d > max(0.02, slack(st.seAb)) {
				t.Errorf("abandoned %.2f%%, Erlang A %.2f%%", 100*st.ab, 100*wantAb)
			}
			if math.Abs(st.asa-wantASA) > max(tol, slack(st.seASA)) {
				t.Errorf("ASA %.2fs, Erlang A %.2fs (±%.2fs)", st.asa, wantASA, max(tol, slack(st.seASA)))
			}
		})
	}
}

// erlangBatch is what one batch of arrivals did.
type erlangBatch struct {
	offered, inTime, abandoned, answered int
	waits                                time.Duration
}

func (b *erlangBatch) add(r records.Record, within time.Duration) {
	b.offered++
	switch {
	case !r.AnsweredAt.IsZero():
		b.answered++
		b.waits += r.Wait
		if r.Wait <= within {
			b.inTime++
		}
	case r.Outcome == records.OutcomeAbandoned:
		b.abandoned++
	}
}

// erlangStats are the pooled shares and mean wait, each with the standard
// error of the batch means.
type erlangStats struct {
	offered           int
	sl, ab, asa       float64
	seSL, seAb, seASA float64
}

func erlangSummary(b []erlangBatch) erlangStats {
	var st erlangStats
	var inTime, abandoned, answered int
	var waits time.Duration
	for _, x := range b {
		st.offered, inTime, abandoned, answered, waits = st.offered+x.offered, inTime+x.inTime, abandoned+x.abandoned, answered+x.answered, waits+x.waits
	}
	st.sl = float64(inTime) / float64(max(st.offered, 1))
	st.ab = float64(abandoned) / float64(max(st.offered, 1))
	st.asa = waits.Seconds() / float64(max(answered, 1))
	se := func(f func(erlangBatch) float64) float64 {
		var sum, sq float64
		for _, x := range b {
			v := f(x)
			sum += v
			sq += v * v
		}
		k := float64(len(b))
		mean := sum / k
		return math.Sqrt(max(sq/k-mean*mean, 0) / (k - 1))
	}
	st.seSL = se(func(x erlangBatch) float64 { return float64(x.inTime) / float64(max(x.offered, 1)) })
	st.seAb = se(func(x erlangBatch) float64 { return float64(x.abandoned) / float64(max(x.offered, 1)) })
	st.seASA = se(func(x erlangBatch) float64 { return x.waits.Seconds() / float64(max(x.answered, 1)) })
	return st
}
