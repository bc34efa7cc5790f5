package chaos

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// rig is one fault scenario: a durable redis-server, the ARI emulator in
// this process, hotline as a child process, scripted operator phones.
type rig struct {
	t      *testing.T
	tmp    string
	centre string
	cfg    *config.Config
	redis  *redisproc.Durable
	// sentinel, when set, is the replicated Redis the rig runs on instead
	// (newRigOn); redisURL is what hotline is given either way.
	sentinel *redistest.Sentinel
	redisURL string
	rdb      *redis.Client
	emu      *emulator.Server
	agents   *agents.Registry
	stream   *records.Stream
	cbs      *callbacks.Store

	hotlines []*hotline
	nHotline int
	traffic  *traffic
	watch    *pbxWatch
}

// newRig starts Redis, the emulator (with one phone per configured
// operator, scripted by phone, default: answers after 50 ms) and hotline,
// and logs in the operators of loggedIn from their phones with *11.
func newRig(t *testing.T, phone func(endpoint string) emulator.Phone) *rig {
	t.Helper()
	return newRigOn(t, phone, nil)
}

// newRigOn is newRig on a replicated Redis watched by sentinels when
// sentinel is set (hotline connects through them, writes waiting for the
// replica); r.redis is nil then.
func newRigOn(t *testing.T, phone func(endpoint string) emulator.Phone, sentinel *redistest.Sentinel) *rig {
	t.Helper()
	return newRigWith(t, rigOptions{phone: phone, sentinel: sentinel})
}

// rigOptions shape a rig: newRig's phones and newRigOn's sentinels, and
// instances: the Stasis applications of an active-active fleet (one
// hotline child each) to which the emulated dialplan offers every call
// with StasisBroadcast(); none: one hotline on Stasis(hotline).
type rigOptions struct {
	phone     func(endpoint string) emulator.Phone
	sentinel  *redistest.Sentinel
	instances []string
}

// claimWithin is the dialplan's StasisBroadcast() timeout
// (deploy/asterisk/extensions.conf), in real time.
const claimWithin = time.Second

func newRigWith(t *testing.T, o rigOptions) *rig {
	t.Helper()
	phone, sentinel := o.phone, o.sentinel
	r := &rig{t: t, tmp: t.TempDir(), centre: redistest.Prefix(t), sentinel: sentinel}
	cfg, err := chaosConfig(r.centre)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	r.cfg = cfg
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if sentinel != nil {
		r.redisURL = sentinel.URL("wait_replicas=1&wait_timeout=200ms")
		r.rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: sentinel.Sentinels, MaxRetries: -1})
	} else {
		dir := r.tmp + "/redis"
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		r.redis, err = redisproc.StartDurable(ctx, dir)
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		t.Cleanup(r.redis.Close)
		r.redisURL = r.redis.Addr()
		// The checker's own client: no retries, so a read never silently
		// waits out an outage the test did not expect.
		r.rdb = redis.NewClient(&redis.Options{Addr: r.redis.Addr(), MaxRetries: -1})
	}
	t.Cleanup(func() { _ = r.rdb.Close() })
	r.agents = agents.New(r.rdb, r.centre)
	r.stream = records.New(r.rdb, r.centre, 0)
	r.cbs = callbacks.New(r.rdb, r.centre, callbacks.Options{CountryCode: cfg.Centre.CountryCode})

	eo := emulator.Options{App: "hotline", User: ariUser, Password: ariPassword, TimeScale: timeScale}
	if len(o.instances) > 0 {
		// The emulator scales Asterisk-side durations; the claim timeout is one.
		eo.Broadcast = &emulator.Broadcast{Filter: "^hotline", Timeout: time.Duration(float64(claimWithin) / timeScale)}
	}
	r.emu = emulator.New(eo)
	if err := r.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.emu.Close)
	for _, op := range cfg.Operators {
		p := emulator.Phone{Registered: true, AnswerAfter: 50 * time.Millisecond}
		if phone != nil {
			p = phone(op.Endpoint)
		}
		r.emu.AddPhone(op.Endpoint, p)
	}
	r.watch = watchPBX(r.emu)
	t.Cleanup(r.watch.stop)
	r.traffic = newTraffic(r)
	// Runs before the emulator closes (cleanups run last first): every
	// citizen still up hangs up and every observer goroutine ends.
	t.Cleanup(r.traffic.close)
	t.Cleanup(r.showLogs)

	if len(o.instances) == 0 {
		r.startHotline()
	}
	for _, app := range o.instances {
		r.startInstance(app)
	}
	for _, id := range loggedIn {
		r.login(id)
	}
	return r
}

// login logs operator id in with *11 from their phone, as a person would,
// and waits until they are ready.
func (r *rig) login(id string) {
	r.t.Helper()
	r.loginUntil(id, "ready", func(s agents.State) bool { return s == agents.Ready })
}

// loginUntil dials *11 from operator id's phone and waits until their
// state satisfies done (named what).
func (r *rig) loginUntil(id, what string, done func(agents.State) bool) {
	r.t.Helper()
	op, _ := r.cfg.OperatorByID(id)
	fc := r.emu.DialFromPhone(op.Endpoint, "*11", nil)
	select {
	case <-fc.Ended():
	case <-time.After(10 * time.Second):
		r.t.Fatalf("*11 from %s did not end", op.Endpoint)
	}
	r.eventually("operator "+id+" "+what, 10*time.Second, func() bool {
		a, err := r.agents.Get(context.Background(), id)
		return err == nil && done(a.State)
	})
}

// eventually polls cond until it holds or d has passed.
func (r *rig) eventually(what string, d time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// showLogs prints, on failure, the warnings and errors of every hotline
// process and where the full logs are.
func (r *rig) showLogs() {
	if !r.t.Failed() {
		return
	}
	for i, h := range r.hotlines {
		f, err := os.Open(h.logPath)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "\tWARN\t") || strings.Contains(l, "\tERROR\t") ||
				strings.Contains(l, "hotline child") || strings.Contains(l, "panic") {
				lines = append(lines, l)
			}
		}
		_ = f.Close()
		const max = 150
		if len(lines) > max {
			lines = append(lines[:max], fmt.Sprintf("... %d more", len(lines)-max))
		}
		r.t.Logf("hotline process %d (full log %s; keep logs with %s=DIR): warnings and errors:\n%s",
			i+1, h.logPath, envLogs, strings.Join(lines, "\n"))
	}
	// redis-server's own warnings (its start-up banner left out).
	if r.redis == nil {
		return
	}
	var rl []string
	for _, l := range strings.Split(r.redis.Output(), "\n") {
		if strings.Contains(l, " # ") && !strings.Contains(l, "oO0OoO0OoO0Oo") && !strings.Contains(l, "Redis version=") &&
			!strings.Contains(l, "Configuration loaded") && !strings.Contains(l, "Server initialized") && !strings.Contains(l, "overcommit") {
			rl = append(rl, l)
		}
	}
	if len(rl) > 0 {
		r.t.Logf("redis-server warnings:\n%s", strings.Join(rl, "\n"))
	}
}

// pbxWatch samples the PBX's channels throughout a test for what must
// never be seen even for a moment: a caller's phone legs ringing or up at
// two operators, or an operator's phone with two callers' legs.
type pbxWatch struct {
	emu  *emulator.Server
	done chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	seen map[string]bool
	list []string
}

func watchPBX(emu *emulator.Server) *pbxWatch {
	w := &pbxWatch{emu: emu, done: make(chan struct{}), seen: map[string]bool{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *pbxWatch) sample() {
	byCall := map[string][]string{}
	byEndpoint := map[string][]string{}
	for _, ch := range w.emu.Channels() {
		call, ok := legOwner(ch)
		if !ok {
			continue
		}
		byCall[call] = append(byCall[call], ch.ID+"@"+ch.Endpoint)
		byEndpoint[ch.Endpoint] = append(byEndpoint[ch.Endpoint], call)
	}
	for call, legs := range byCall {
		if len(legs) > 1 {
			sort.Strings(legs)
			w.note(fmt.Sprintf("call %s offered to two operators at once: legs %s", call, strings.Join(legs, ", ")))
		}
	}
	for ep, calls := range byEndpoint {
		if len(calls) > 1 {
			sort.Strings(calls)
			w.note(fmt.Sprintf("operator phone %s had two callers at once: %s", ep, strings.Join(calls, ", ")))
		}
	}
}

func (w *pbxWatch) note(v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen[v] {
		w.seen[v] = true
		w.list = append(w.list, v)
	}
}

func (w *pbxWatch) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

func (w *pbxWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

// legOwner returns the citizen call an operator leg was originated for:
// hotline names legs "<call id>-op-<n>".
func legOwner(ch emulator.ChannelInfo) (string, bool) {
	if !ch.Originated {
		return "", false
	}
	i := strings.LastIndex(ch.ID, "-op-")
	if i <= 0 {
		return "", false
	}
	return ch.ID[:i], true
}
