package sim

import (
	"context"
	"fmt"
)

// FindStaff returns the fewest operators per interval (every skill and
// language) with which every topic meets its service_level target in
// every interval, and the callbacks owed over the day are reached at the
// scenario's reach_target, by running the simulator: interval by interval
// (the day up to it simulated with the counts already found), the least
// count that meets the targets is searched by doubling then bisection;
// then intervals whose callbacks fall short of the reach target get one
// operator more until the day's reach holds (at most 20 rounds). progress,
// if set, hears each interval's count.
func FindStaff(ctx context.Context, o Options, progress func(interval, staff int)) (*Result, error) {
	sc := o.Scenario
	n := sc.Intervals()
	staff := make([]int, n)
	// Each run needs a Redis of its own: flushed (a private server), or
	// else its own centre (a shared one, as tests use).
	base := o.Centre
	if base == "" {
		base = "sim"
	}
	runs := 0
	simulate := func(p Options) (*Result, error) {
		if !p.Flush {
			runs++
			p.Centre = fmt.Sprintf("%s-fs%d", base, runs)
		}
		return Run(ctx, p)
	}
	meets := func(i, k int) (bool, error) {
		try := append([]int(nil), staff[:i]...)
		for range n - i {
			try = append(try, k)
		}
		p := o
		p.Staff, p.Until = try, i+1
		res, err := simulate(p)
		if err != nil {
			return false, err
		}
		for _, t := range res.Topics() {
			row := res.row(i, t)
			if t == All || row.Offered == 0 {
				continue
			}
			if row.SL == nil || *row.SL*100 < row.TargetPercent {
				return false, nil
			}
		}
		return true, nil
	}
	prev := 1
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ok0, err := meets(i, 0)
		if err != nil {
			return nil, err
		}
		if ok0 {
			staff[i] = 0
			if progress != nil {
				progress(i, 0)
			}
			continue
		}
		// Doubling from the last interval's count, then bisection.
		lo, hi := 0, max(prev, 1)
		for {
			ok, err := meets(i, hi)
			if err != nil {
				return nil, err
			}
			if ok {
				break
			}
			lo = hi
			hi *= 2
			if hi > 5000 {
				return nil, fmt.Errorf("%w: interval %d: no staff up to 5000 meets the targets", ErrRun, i)
			}
		}
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			ok, err := meets(i, mid)
			if err != nil {
				return nil, err
			}
			if ok {
				hi = mid
			} else {
				lo = mid
			}
		}
		staff[i], prev = hi, hi
		if progress != nil {
			progress(i, hi)
		}
	}
	var res *Result
	for round := 0; ; round++ {
		p := o
		p.Staff = append([]int(nil), staff...)
		var err error
		res, err = simulate(p)
		if err != nil {
			return nil, err
		}
		day := res.Total(All)
		if day.CallbacksOwed == 0 || float64(day.CallbacksReached) >= *sc.ReachTarget*float64(day.CallbacksOwed) || round == 20 {
			break
		}
		for i := range n {
			row := res.row(i, All)
			if row.CallbacksOwed > 0 && float64(row.CallbacksReached) < *sc.ReachTarget*float64(row.CallbacksOwed) {
				staff[i]++
			}
		}
	}
	return res, nil
}
