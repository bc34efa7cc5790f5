// Package demo runs a whole hotline on one machine with no Asterisk: a
// redis-server, the ARI emulator, virtual operator phones that log in with
// *11, and a stream of virtual citizens who choose a language and a topic,
// wait, talk or give up. It logs each call and summarises the run.
package demo

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/configs"
	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// Options shape one demo run.
type Options struct {
	Duration         time.Duration // how long callers keep arriving
	CallersPerMinute float64
	Operators        int
	RedisAddr        string // a Redis URL or host:port; "" starts a redis-server from PATH
	HTTPAddr         string // "" disables the HTTP API
	APIToken         string
	Seed             uint64 // 0: random
	// Talk is the range of conversation lengths; Patience the range of how
	// long a caller waits in the queue before hanging up.
	TalkMin, TalkMax         time.Duration
	PatienceMin, PatienceMax time.Duration
	WrapUp                   time.Duration
	// TimeScale shrinks the emulated PBX's prompts and ring timeouts.
	TimeScale float64
	// Callbacks: abandons after MinAbandonWait owe a callback, first tried
	// CallbackDelay later (retries follow the example config). Settle keeps
	// the demo running after arrivals stop, up to this long, until every
	// caller is done and no callback is pending.
	MinAbandonWait time.Duration
	CallbackDelay  time.Duration
	Settle         time.Duration
	Log            *zap.Logger
	// Banner, if set, is told at start where the desktop is and how each
	// demo operator signs in (secrets made up for this run).
	Banner io.Writer
	// Instances is how many hotline instances serve the emulated Asterisk
	// (default 1). With two or more each has its own Stasis application
	// (hotline-1, hotline-2, ...), the dialplan offers every call to all of
	// them (StasisBroadcast) and every FailoverEvery the last instance
	// stops for FailoverFor, so that a survivor takes its calls over and
	// gives them back when it returns. Instance i>1 serves HTTP on the
	// port after instance i-1's (or any free port).
	Instances     int
	FailoverEvery time.Duration
	FailoverFor   time.Duration
}

func (o *Options) defaults() {
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.CallersPerMinute <= 0 {
		o.CallersPerMinute = 60
	}
	if o.Operators <= 0 {
		o.Operators = 4
	}
	if o.TalkMin <= 0 {
		o.TalkMin = 2 * time.Second
	}
	if o.TalkMax < o.TalkMin {
		o.TalkMax = 3 * o.TalkMin
	}
	if o.PatienceMin <= 0 {
		o.PatienceMin = 10 * time.Second
	}
	if o.PatienceMax < o.PatienceMin {
		o.PatienceMax = 6 * o.PatienceMin
	}
	if o.WrapUp < 0 {
		o.WrapUp = 0
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 0.1
	}
	if o.MinAbandonWait <= 0 {
		o.MinAbandonWait = 10 * time.Second
	}
	if o.CallbackDelay <= 0 {
		o.CallbackDelay = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.FailoverFor <= 0 {
		o.FailoverFor = 20 * time.Second
	}
}

// supervisorPhone is the demo supervisor's softphone: the emulator picks
// up when the wallboard's Listen or Whisper rings it.
const supervisorPhone = "PJSIP/1901"

// Config builds the demo's configuration from the embedded example: n
// operators who each take every topic in every language, and a centre id
// of its own so a shared Redis keeps runs apart.
func Config(n int, wrapUp, minAbandon, cbDelay time.Duration) (*config.Config, error) {
	cfg, err := config.Parse(configs.ExampleName, configs.Example)
	if err != nil {
		return nil, err
	}
	cfg.Centre.ID = fmt.Sprintf("demo-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	// The demo answers at any hour it is run; the example's office hours
	// would send night-time runs straight to "we are closed".
	cfg.Hours = config.Hours{TimeZone: "UTC", Weekly: []config.WeeklyOpen{
		{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"},
	}}
	skills := map[string]int{}
	for _, t := range cfg.Topics {
		skills[t.Skill] = 5
	}
	var langs []string
	for _, l := range cfg.Languages {
		langs = append(langs, l.Code)
	}
	// The demo supervisor listens on the example's supervisor phone
	// (PJSIP/1901), which the emulator answers.
	cfg.Staff = []config.StaffMember{{ID: "supervisor", Name: "Demo supervisor", Role: config.RoleSupervisor, Phone: supervisorPhone}}
	cfg.Operators = nil
	for i := 0; i < n; i++ {
		id := strconv.Itoa(1001 + i)
		if "PJSIP/"+id == supervisorPhone {
			cfg.Staff[0].Phone = "" // 901 operators or more: the phone is an operator's
		}
		cfg.Operators = append(cfg.Operators, config.Operator{
			ID: id, Name: "Operator " + id, Endpoint: "PJSIP/" + id, Skills: skills, Languages: langs,
		})
	}
	for _, t := range cfg.Topics {
		t.WrapUp = config.Duration(wrapUp)
		t.AnnounceEvery = config.Duration(20 * time.Second)
		t.MaxQueue = 0
	}
	// Callbacks on a demo's time scale: seconds, not minutes.
	for _, r := range append([]*config.CallbackRules{&cfg.Callbacks}, topicRules(cfg)...) {
		r.Enabled = true
		r.MinAbandonWait = config.Duration(minAbandon)
		r.DropWindow = config.Duration(time.Second) // demo conversations last seconds
		r.Delays = []config.Duration{config.Duration(cbDelay), config.Duration(2 * cbDelay), config.Duration(4 * cbDelay)}
	}
	return cfg, nil
}

func topicRules(cfg *config.Config) []*config.CallbackRules {
	var out []*config.CallbackRules
	for _, t := range cfg.Topics {
		if t.Callbacks != nil {
			out = append(out, t.Callbacks)
		}
	}
	return out
}

// Run runs the demo until the duration has passed (or ctx ends) and returns
// the summary, taken the moment arrivals stop.
func Run(ctx context.Context, o Options) (Summary, error) {
	o.defaults()
	log := o.Log
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))

	redisAddr := o.RedisAddr
	if redisAddr == "" {
		addr, stop, err := redisproc.StartServer(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("demo: %w (install redis-server, or pass --redis)", err)
		}
		defer stop()
		redisAddr = addr
		log.Info("started redis-server", zap.String("addr", addr))
	}
	cfg, err := Config(o.Operators, o.WrapUp, o.MinAbandonWait, o.CallbackDelay)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: config: %w", err)
	}

	eo := emulator.Options{App: "hotline", User: "hotline", Password: "demo", TimeScale: o.TimeScale}
	if o.Instances > 1 {
		// The dialplan's StasisBroadcast(1000,^hotline,...); the emulator
		// scales Asterisk-side durations.
		eo.Broadcast = &emulator.Broadcast{Filter: "^hotline", Timeout: time.Duration(float64(time.Second) / o.TimeScale)}
	}
	emu := emulator.New(eo)
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return Summary{}, fmt.Errorf("demo: emulator: %w", err)
	}
	defer emu.Close()
	log.Info("ARI emulator listening", zap.String("url", emu.URL()))
	// Citizens are called back through the carrier trunk; virtual callers
	// answer their callbacks (AnswerCallbacks), anyone else does not exist.
	emu.AddTrunk("carrier", emulator.Trunk{})

	t := &tally{cfg: cfg}
	secrets, err := demoSecrets(cfg)
	if err != nil {
		return Summary{}, err
	}
	fleet := &instances{o: o, emu: emu, cfg: cfg, redisAddr: redisAddr, secrets: secrets, t: t, log: log}
	defer fleet.stopAll()
	var addrs []string
	for i := 1; i <= o.Instances; i++ {
		addr, err := fleet.start(ctx, i)
		if err != nil {
			return Summary{}, err
		}
		if addr != "" {
			addrs = append(addrs, addr)
		}
	}
	a := fleet.first()
	if len(addrs) > 0 && o.Banner != nil {
		printBanner(o.Banner, addrs, cfg, secrets)
	}
	if o.Instances > 1 && o.FailoverEvery > 0 {
		stopFailovers := fleet.failovers(ctx)
		defer stopFailovers()
	}

	// The supervisors' phones pick up a second after Listen rings them.
	for _, st := range cfg.Staff {
		if st.Phone != "" {
			emu.AddPhone(st.Phone, emulator.Phone{Registered: true, AnswerAfter: time.Second})
		}
	}
	// Operators pick up after 0.3–1.5 s and log in from their phones.
	for _, op := range cfg.Operators {
		emu.AddPhone(op.Endpoint, emulator.Phone{Registered: true, AnswerAfter: between(rng, 300*time.Millisecond, 1500*time.Millisecond)})
		emu.DialFromPhone(op.Endpoint, "*11", nil)
	}

	var calls []placed
	gap := time.Duration(float64(time.Minute) / o.CallersPerMinute)
	deadline := time.NewTimer(o.Duration)
	defer deadline.Stop()
	next := time.NewTimer(0)
	defer next.Stop()
arrivals:
	for {
		select {
		case <-ctx.Done():
			break arrivals
		case <-deadline.C:
			break arrivals
		case <-next.C:
			h := emu.Call(virtualCaller(rng, o))
			if h.Rejected() {
				log.Warn("virtual caller refused: hotline not connected")
				continue
			}
			t.arrived()
			calls = append(calls, placed{h, time.Now()})
			// Poisson arrivals: exponential gaps around the mean rate.
			next.Reset(time.Duration(rng.ExpFloat64() * float64(gap)))
		}
	}
	if o.Settle > 0 {
		settle(ctx, a, t, calls, o.Settle, log)
	}
	// Ctrl-C ends the run early; the summary of what happened still counts.
	s := t.final(calls)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if c, err := a.CallbackCounts(cctx); err == nil {
		s.CallbacksScheduled, s.CallbacksReached = int(c.Scheduled), int(c.Reached+c.ReachedInbound)
		s.CallbacksPending, s.CallbacksUnreached = int(c.Pending), int(c.Unreached)
	} else {
		log.Warn("callback counts", zap.Error(err))
	}
	return s, nil
}

// settle waits, up to limit, until every virtual caller's call is over
// and no callback is pending: the promise is that every caller is reached.
func settle(ctx context.Context, a *app.App, t *tally, calls []placed, limit time.Duration, log *zap.Logger) {
	log.Info("arrivals stopped; waiting for calls and callbacks to finish", zap.Duration("limit", limit))
	deadline := time.After(limit)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		live := 0
		for _, c := range calls {
			select {
			case <-c.h.Ended():
			default:
				live++
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		counts, err := a.CallbackCounts(cctx)
		cancel()
		// A call that ended while no instance watched it (in the menu
		// during a takeover) is recorded by a reconciler a little later.
		if live == 0 && err == nil && counts.Pending == 0 && t.unrecorded(calls) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			log.Warn("settle limit reached", zap.Int("calls_live", live), zap.Int64("callbacks_pending", counts.Pending))
			return
		case <-tick.C:
		}
	}
}

// placed is one virtual call and when it was placed.
type placed struct {
	h  *emulator.CallHandle
	at time.Time
}

// virtualCaller scripts one citizen: a language (mostly Russian and
// Kazakh), a topic, a talk length, a patience; one in ten gives up in the
// menu.
func virtualCaller(rng *rand.Rand, o Options) emulator.Caller {
	lang := []string{"1", "1", "1", "2", "2", "3", "4"}[rng.IntN(7)]
	topic := []string{"1", "3", "3", "5", "6", "7"}[rng.IntN(6)]
	c := emulator.Caller{
		Number: fmt.Sprintf("770%08d", rng.IntN(1e8)),
		Script: []emulator.Step{
			{OnMedia: "/choose_language", Delay: between(rng, 100*time.Millisecond, 800*time.Millisecond), Digits: lang},
			{OnMedia: "/topic_menu", Delay: between(rng, 100*time.Millisecond, 800*time.Millisecond), Digits: topic},
		},
		HangupAfterBridged: between(rng, o.TalkMin, o.TalkMax),
		// Called back, the citizen picks up after a ring or two and talks.
		AnswerCallbacks: &emulator.Phone{AnswerAfter: between(rng, 500*time.Millisecond, 2*time.Second),
			HangupAfterBridged: between(rng, o.TalkMin, o.TalkMax)},
	}
	if rng.IntN(10) == 0 {
		c.Script = c.Script[:1]
		c.Script[0] = emulator.Step{OnMedia: "/choose_language", Delay: between(rng, 0, 500*time.Millisecond), Hangup: true}
	} else {
		c.HangupAt = between(rng, o.PatienceMin, o.PatienceMax)
	}
	return c
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// recorded are the ids of the calls with a record.
func (t *tally) recorded() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make(map[string]bool, len(t.records))
	for _, r := range t.records {
		ids[r.CallID] = true
	}
	return ids
}

// unrecorded counts the calls that reached hotline and have no record yet.
func (t *tally) unrecorded(calls []placed) int {
	recorded := t.recorded()
	n := 0
	for _, c := range calls {
		if !recorded[c.h.ID()] && !c.h.Rejected() {
			n++
		}
	}
	return n
}

// final is the summary the moment arrivals stop: calls with a record count
// by their outcome; calls still talking count as answered; the rest are
// waiting (in the menu or the queue).
func (t *tally) final(calls []placed) Summary {
	now := time.Now()
	recorded := t.recorded()
	var waitingSince []time.Time
	talking := 0
	refused := 0
	for _, c := range calls {
		if recorded[c.h.ID()] {
			continue
		}
		if c.h.Rejected() {
			// Offered by the PBX to no instance in time (StasisBroadcast
			// timed out): it never reached hotline.
			refused++
			continue
		}
		select {
		case <-c.h.Bridged():
			talking++
		default:
			waitingSince = append(waitingSince, c.at)
		}
	}
	s := t.summary(now, waitingSince)
	s.Answered += talking
	s.Waiting -= talking
	s.Offered -= refused
	s.Waiting -= refused
	return s
}

func logCall(log *zap.Logger, r records.Record) {
	fields := []zap.Field{
		zap.String("call_id", r.CallID), logmask.Number("caller", r.CallerNumber), zap.String("language", r.Language),
		zap.String("queue", r.Topic), zap.String("outcome", r.Outcome), zap.Duration("waited", r.Wait.Round(time.Millisecond)),
	}
	if r.Agent != "" {
		fields = append(fields, zap.String("agent", r.Agent), zap.Duration("talked", r.EndedAt.Sub(r.AnsweredAt).Round(time.Millisecond)))
	}
	log.Info("call", fields...)
}

// demoSecrets makes up a sign-in secret for each demo operator, given to
// hotline as HOTLINE_SECRET_<ID> would be.
func demoSecrets(cfg *config.Config) (map[string]string, error) {
	out := map[string]string{}
	ids := []string{}
	for _, op := range cfg.Operators {
		ids = append(ids, op.ID)
	}
	for _, st := range cfg.Staff {
		ids = append(ids, st.ID)
	}
	for _, id := range ids {
		b := make([]byte, 9)
		if _, err := crand.Read(b); err != nil {
			return nil, fmt.Errorf("demo: secret: %w", err)
		}
		out[auth.SecretEnv(id)] = "demo-" + base64.RawURLEncoding.EncodeToString(b)
	}
	return out, nil
}

func printBanner(w io.Writer, addrs []string, cfg *config.Config, secrets map[string]string) {
	addr := addrs[0]
	fmt.Fprintf(w, "\n  Operator desktop: http://%s/\n", addr)
	for i, other := range addrs[1:] {
		fmt.Fprintf(w, "  Instance hotline-%d serves the same centre and every call at http://%s/ (the same sign-ins)\n", i+2, other)
	}
	fmt.Fprintf(w, "  Sign in (this run only):\n")
	for _, op := range cfg.Operators {
		fmt.Fprintf(w, "    operator %s  secret %s\n", op.ID, secrets[auth.SecretEnv(op.ID)])
	}
	for _, st := range cfg.Staff {
		fmt.Fprintf(w, "  Wallboard: http://%s/wallboard  %s %s  secret %s", addr, st.Role, st.ID, secrets[auth.SecretEnv(st.ID)])
		if st.Phone != "" {
			fmt.Fprintf(w, "  (Listen rings the virtual phone %s)", st.Phone)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  Virtual citizens call until Ctrl-C (or --duration).\n\n")
}
