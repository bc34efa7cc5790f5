package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// Options shape one simulated run.
type Options struct {
	Config   *config.Config
	Scenario *Scenario
	Seed     uint64
	Redis    redis.UniversalClient
	// Staff, if set, replaces the scenario's staffing with this many
	// operators per interval (every skill and language).
	Staff []int
	// Until ends the run after this many intervals (0: the whole day);
	// the staffing search simulates the day up to the interval it sizes.
	Until int
	// Centre is the Redis key prefix of this run (default "sim"); Flush
	// empties the Redis database first (a private redis-server only).
	Centre string
	Flush  bool
	// SweepEvery is how often the router's recovery sweep runs in virtual
	// time (leases, wrap-ups, callbacks due); default 5 s, the router's
	// RecoverEvery.
	SweepEvery time.Duration
}

// ErrRun is a run that could not be completed.
var ErrRun = errors.New("sim: run failed")

// Run simulates the scenario's day on the real router machines and Redis
// scripts and returns what happened per interval and topic.
func Run(ctx context.Context, o Options) (*Result, error) {
	sc := o.Scenario
	n := sc.Intervals()
	if o.Until <= 0 || o.Until > n {
		o.Until = n
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 5 * time.Second
	}
	if o.Centre == "" {
		o.Centre = "sim"
	}
	if o.Flush {
		if err := o.Redis.FlushDB(ctx).Err(); err != nil {
			return nil, fmt.Errorf("%w: flush: %w", ErrRun, err)
		}
	}
	cfg := *o.Config
	cfg.Centre.ID = o.Centre
	if sc.AlwaysOpen {
		// The demo's round-the-clock week (demo.Config).
		cfg.Hours = config.Hours{TimeZone: cfg.Hours.TimeZone, Location: cfg.Hours.Location, Weekly: []config.WeeklyOpen{
			{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"},
		}}
	}
	staff := o.Staff
	if len(staff) == 0 {
		staff = sc.Staff
	}
	roster, err := buildRoster(sc, &cfg, staff)
	if err != nil {
		return nil, err
	}
	cfg.Operators = roster.operators

	clk := newClock(sc.Start)
	ids := 0
	st := app.NewSimState(o.Redis, &cfg, clk.Now, func() string { ids++; return fmt.Sprintf("%06d", ids) })
	if err := st.Sync(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	var callbacks router.Callbacks
	if cfg.CallbacksEnabled() {
		callbacks = st.Callbacks
	}
	end := sc.Start.Add(time.Duration(o.Until) * sc.Interval.D())
	p := newPeople(sc, &cfg, o.Seed, clk)
	v := router.NewVirtual(router.VirtualOptions{
		ACD: st.ACD, Callbacks: callbacks, Policy: st.Policy, Config: &cfg, Clock: clk, People: p,
	})
	p.v = v
	p.res = newResult(sc, &cfg, o.Until)

	// Operators come and go on their schedules.
	for _, sh := range roster.spells {
		p.res.staffed(sh.from, sh.to)
		clk.At(sh.from, func() { p.login(st.Agents, sh.agent) })
		clk.At(sh.to, func() { p.logout(st.Agents, sh.agent, sh.last) })
	}
	// Callers arrive.
	p.scheduleArrivals(end)
	// The router's recovery sweep (leases, wrap-ups, callbacks due).
	var sweep func()
	sweep = func() {
		v.Sweep()
		clk.After(o.SweepEvery, sweep)
	}
	clk.After(0, sweep)
	// Waiting callers are counted at the end of each interval.
	for i := range o.Until {
		clk.At(sc.Start.Add(time.Duration(i+1)*sc.Interval.D()-time.Nanosecond), func() {
			p.res.sampleWaiting(i, p.waitingNow())
		})
	}
	clk.RunUntil(end)
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	if p.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, p.err)
	}
	p.res.status = statusFrom(ctx, st.CallbackStatus)
	if err := p.res.finish(end); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	p.res.Seed = o.Seed
	if len(o.Staff) > 0 {
		p.res.Staff = append([]int(nil), o.Staff...)
	}
	return p.res, nil
}

// roster is who works when.
type roster struct {
	operators []config.Operator
	spells    []spell
}

// spell is one operator's time at work without a break.
type spell struct {
	agent    string
	from, to time.Time
	last     bool // the shift ends here (log out), not a break (pause)
}

func buildRoster(sc *Scenario, cfg *config.Config, staff []int) (roster, error) {
	var r roster
	allSkills := map[string]int{}
	for _, t := range cfg.Topics {
		allSkills[t.Skill] = 5
	}
	var allLangs []string
	for _, l := range cfg.Languages {
		allLangs = append(allLangs, l.Code)
	}
	add := func(skills map[string]int, langs []string) string {
		id := strconv.Itoa(1001 + len(r.operators))
		r.operators = append(r.operators, config.Operator{ID: id, Name: "Operator " + id, Endpoint: "PJSIP/" + id, Skills: skills, Languages: langs})
		return id
	}
	iv := sc.Interval.D()
	if len(staff) > 0 {
		// Operator k works every interval that needs more than k.
		most := 0
		for i := range sc.Intervals() {
			most = max(most, at(staff, i))
		}
		for k := range most {
			id := add(allSkills, allLangs)
			var from time.Time
			working := false
			for i := 0; i <= sc.Intervals(); i++ {
				need := i < sc.Intervals() && at(staff, i) > k
				t := sc.Start.Add(time.Duration(i) * iv)
				switch {
				case need && !working:
					from, working = t, true
				case !need && working:
					r.spells = append(r.spells, spell{agent: id, from: from, to: t, last: true})
					working = false
				}
			}
		}
		return r, nil
	}
	// Shift times are times of day on the scenario's first day.
	y, mo, d := sc.Start.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, sc.Start.Location())
	for _, sh := range sc.Shifts {
		start, _ := clockTime(sh.Start)
		stop, _ := clockTime(sh.End)
		if stop <= start {
			stop += 24 * time.Hour
		}
		skills := allSkills
		if len(sh.Skills) > 0 {
			skills = map[string]int{}
			for _, k := range sh.Skills {
				skills[k] = 5
			}
		}
		if len(sh.Levels) > 0 {
			leveled := map[string]int{}
			for k, lvl := range skills {
				leveled[k] = lvl
				if l, ok := sh.Levels[k]; ok {
					leveled[k] = l
				}
			}
			skills = leveled
		}
		langs := allLangs
		if len(sh.Languages) > 0 {
			langs = sh.Languages
		}
		for k := range sh.Operators {
			id := add(skills, langs)
			from := midnight.Add(start)
			to := midnight.Add(stop)
			if stop > 24*time.Hour && start < 24*time.Hour {
				// A night shift (20:00–08:00) also works the first
				// morning of the day: the shift that began the evening
				// before.
				r.spells = append(r.spells, spell{agent: id, from: midnight, to: midnight.Add(stop - 24*time.Hour), last: true})
				to = midnight.Add(24 * time.Hour)
			}
			var pauses [][2]time.Time
			for _, b := range sh.Breaks {
				off := b.After.D()
				if sh.Operators > 1 {
					off += b.Spread.D() * time.Duration(k) / time.Duration(sh.Operators-1)
				}
				pauses = append(pauses, [2]time.Time{from.Add(off), from.Add(off + b.Length.D())})
			}
			sort.Slice(pauses, func(i, j int) bool { return pauses[i][0].Before(pauses[j][0]) })
			cur := from
			for _, ps := range pauses {
				if ps[0].After(cur) && ps[0].Before(to) {
					r.spells = append(r.spells, spell{agent: id, from: cur, to: ps[0]})
					cur = ps[1]
				}
			}
			if cur.Before(to) {
				r.spells = append(r.spells, spell{agent: id, from: cur, to: to, last: true})
			}
		}
	}
	return r, nil
}

// people are the simulated citizens and operators: they pick up, talk,
// lose patience and press 1, drawing from the scenario's distributions.
// Every call draws from its own random stream (the seed and the call's
// number), so two runs that differ in staff see the same callers.
type people struct {
	sc   *Scenario
	cfg  *config.Config
	seed uint64
	clk  *clock
	v    *router.Virtual
	res  *Result
	err  error

	calls   map[string]*caller // by call id, attempt id or called-back id
	number  map[string]*caller // by number: a called-back citizen is the same person
	n       int
	waiting map[string]time.Time
	// pauseNext: operators who will pause once their call is over.
	pauseNext map[string]bool
}

// caller is one person who called, with what they will do.
type caller struct {
	topic   string
	rnd     *rand.Rand
	accept  bool // takes a virtual-hold offer
	pressed bool
	pending func() // patience or the conversation's end
	ringing func() // the operator picking up
	citizen func() // a callback ringing them
}

func newPeople(sc *Scenario, cfg *config.Config, seed uint64, clk *clock) *people {
	return &people{sc: sc, cfg: cfg, seed: seed, clk: clk, calls: map[string]*caller{}, number: map[string]*caller{}, waiting: map[string]time.Time{}, pauseNext: map[string]bool{}}
}

var _ router.VirtualPeople = (*people)(nil)

func (p *people) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *people) login(a router.Agents, agent string) {
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A pause-after-call left by a break that began during a call is
	// taken back first.
	if p.pauseNext[agent] {
		delete(p.pauseNext, agent)
		// Refused when the pause already took effect (the call ended
		// during the break): nothing is left to take back.
		_ = a.PauseAfterCall(cctx, agent, "", p.clk.Now())
	}
	if err := p.v.OperatorReady(a, agent); err != nil && !errors.Is(err, router.ErrRefused) {
		p.fail(err)
	}
}

func (p *people) logout(a router.Agents, agent string, last bool) {
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := p.clk.Now()
	reason := "break"
	if last {
		reason = "shift_end"
	}
	// An operator on a call finishes it first, as people do.
	if err := a.Pause(cctx, agent, reason, now); err != nil {
		if err := a.PauseAfterCall(cctx, agent, reason, now); err != nil {
			p.fail(fmt.Errorf("operator %s off: %w", agent, err))
		}
		p.pauseNext[agent] = true
	}
}

// scheduleArrivals draws every inbound call of the day up front.
func (p *people) scheduleArrivals(end time.Time) {
	sc := p.sc
	iv := sc.Interval.D()
	type arrival struct {
		at    time.Time
		topic string
	}
	var all []arrival
	r := rand.New(rand.NewPCG(p.seed, 0x5ca1ab1e))
	for _, id := range sc.TopicIDs() {
		t := sc.Topics[id]
		var sum float64
		for i := range sc.Intervals() {
			sum += at(t.Profile, i)
		}
		for i := range sc.Intervals() {
			from := sc.Start.Add(time.Duration(i) * iv)
			if !from.Before(end) {
				break
			}
			switch {
			case len(t.Arrivals) > 0:
				for range at(t.Arrivals, i) {
					all = append(all, arrival{from.Add(time.Duration(r.Float64() * float64(iv))), id})
				}
			default:
				perHour := at(t.Rate, i)
				if t.Daily > 0 && sum > 0 {
					perHour = t.Daily * at(t.Profile, i) / sum / iv.Hours()
				}
				if perHour <= 0 {
					continue
				}
				// Poisson: exponential gaps at the interval's rate.
				mean := float64(time.Hour) / perHour
				for off := r.ExpFloat64() * mean; off < float64(iv); off += r.ExpFloat64() * mean {
					all = append(all, arrival{from.Add(time.Duration(off)), id})
				}
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, a := range all {
		p.clk.At(a.at, func() { p.arrive(a.topic) })
	}
}

func (p *people) arrive(topic string) {
	p.n++
	k := p.n
	t := p.sc.Topics[topic]
	c := &caller{topic: topic, rnd: rand.New(rand.NewPCG(p.seed, uint64(k)))}
	c.accept = c.rnd.Float64() < t.AcceptCallback
	lang := p.language(t, c.rnd)
	id := fmt.Sprintf("sim-%06d", k)
	number := fmt.Sprintf("+7701%07d", k)
	p.calls[id] = c
	p.number[number] = c
	p.v.Arrive(id, number, topic, lang)
}

func (p *people) language(t *TopicLoad, r *rand.Rand) string {
	if len(t.Languages) == 0 {
		return p.cfg.Languages[0].Code
	}
	codes := make([]string, 0, len(t.Languages))
	var sum float64
	for l, w := range t.Languages {
		codes = append(codes, l)
		sum += w
	}
	sort.Strings(codes)
	x := r.Float64() * sum
	for _, l := range codes {
		x -= t.Languages[l]
		if x < 0 {
			return l
		}
	}
	return codes[len(codes)-1]
}

// person finds who a call is; a callback's attempt or called-back call
// (cb-…) is a citizen of its own, drawn from the topic's distributions.
func (p *people) person(id, topic string) *caller {
	c := p.calls[id]
	if c == nil && strings.HasPrefix(id, "cb-") {
		p.n++
		c = &caller{rnd: rand.New(rand.NewPCG(p.seed, uint64(p.n)))}
		p.calls[id] = c
	}
	if c != nil && c.topic == "" {
		if _, ok := p.sc.Topics[topic]; ok {
			c.topic = topic
		}
	}
	return c
}

// load is the caller's topic's callers (the first topic's for a callback
// of a topic the scenario does not list).
func (p *people) load(c *caller) *TopicLoad {
	if t, ok := p.sc.Topics[c.topic]; ok {
		return t
	}
	return p.sc.Topics[p.sc.TopicIDs()[0]]
}

func (p *people) Waiting(callID, topic string, calledBack bool) {
	c := p.person(callID, topic)
	if c == nil {
		p.fail(fmt.Errorf("unknown caller %s waits", callID))
		return
	}
	p.waiting[callID] = p.clk.Now()
	t := p.load(c)
	patience := t.Patience.Draw(c.rnd)
	c.pending = p.clk.After(patience, func() {
		c.pending = nil
		p.v.CallerHangup(callID)
	})
}

func (p *people) OperatorRings(leg, agent string) {
	c := p.person(leg, "")
	if c == nil {
		p.fail(fmt.Errorf("operator %s rings for unknown %s", agent, leg))
		return
	}
	c.ringing = p.clk.After(p.sc.AnswerDelay.D(), func() {
		c.ringing = nil
		p.v.OperatorAnswers(leg)
	})
}

func (p *people) RingStopped(leg string) {
	if c := p.person(leg, ""); c != nil && c.ringing != nil {
		c.ringing()
		c.ringing = nil
	}
}

func (p *people) Talking(leg, agent, topic string) {
	c := p.person(leg, topic)
	if c == nil {
		p.fail(fmt.Errorf("unknown %s talks to %s", leg, agent))
		return
	}
	if c.pending != nil {
		c.pending()
	}
	delete(p.waiting, leg)
	t := p.load(c)
	talk := t.Talk.Draw(c.rnd)
	wrap := time.Duration(0)
	if tp, ok := p.cfg.Topic(topic); ok {
		wrap = tp.WrapUp.D()
	}
	now := p.clk.Now()
	p.res.busy(now, now.Add(talk+wrap))
	c.pending = p.clk.After(talk, func() {
		c.pending = nil
		p.v.Hangup(leg)
	})
}

func (p *people) CitizenRings(attempt, topic string) {
	c := p.person(attempt, topic)
	if c.rnd.Float64() < *p.load(c).AnswerCallback {
		c.citizen = p.clk.After(time.Duration(3+c.rnd.IntN(12))*time.Second, func() {
			c.citizen = nil
			p.v.CitizenAnswers(attempt)
		})
		return
	}
	// Nobody picks up before the router's ring timeout (30 s) ends it.
	c.citizen = p.clk.After(30*time.Second, func() {
		c.citizen = nil
		p.v.CitizenMissed(attempt)
	})
}

func (p *people) Announced(callID string, callbackOffered bool) {
	c := p.person(callID, "")
	if c == nil || !callbackOffered || !c.accept || c.pressed {
		return
	}
	c.pressed = true
	p.clk.After(2*time.Second, func() { p.v.Digit(callID, "1") })
}

func (p *people) HungUp(id string) {
	c := p.calls[id]
	if c == nil {
		return
	}
	for _, stop := range []func(){c.pending, c.ringing, c.citizen} {
		if stop != nil {
			stop()
		}
	}
	c.pending, c.ringing, c.citizen = nil, nil, nil
	delete(p.waiting, id)
}

func (p *people) Record(r records.Record) {
	delete(p.waiting, r.CallID)
	if c := p.calls[r.CallID]; c != nil && c.pending == nil && c.ringing == nil && c.citizen == nil {
		delete(p.calls, r.CallID)
	}
	p.res.add(r)
}

func (p *people) waitingNow() map[string]int {
	out := map[string]int{}
	for id := range p.waiting {
		if c := p.calls[id]; c != nil {
			out[c.topic]++
		}
	}
	return out
}
