package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/internal/redistest"
)

const lease = 300 * time.Millisecond

// runs records which process runs which application's router, and the
// most that ever ran one application at once.
type runs struct {
	mu      sync.Mutex
	now     map[string][]string // app -> processes running it
	maxOnce map[string]int
	got     map[string][][]byte // forwarded payloads, by process
}

func newRuns() *runs {
	return &runs{now: map[string][]string{}, maxOnce: map[string]int{}, got: map[string][][]byte{}}
}

func (r *runs) runner(proc string, idle map[string]bool) Runner {
	return func(ctx context.Context, app string, fw <-chan Message) error {
		r.mu.Lock()
		r.now[app] = append(r.now[app], proc)
		r.maxOnce[app] = max(r.maxOnce[app], len(r.now[app]))
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			for i, p := range r.now[app] {
				if p == proc {
					r.now[app] = append(r.now[app][:i], r.now[app][i+1:]...)
					break
				}
			}
		}()
		if idle[app] {
			return nil
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case m, ok := <-fw:
				if !ok {
					return nil
				}
				if m.IsRequest() {
					// A request is answered by who ran it.
					_ = m.Reply(ctx, []byte(proc+"/"+app+":"+string(m.Body)))
					continue
				}
				r.mu.Lock()
				r.got[proc+"/"+app] = append(r.got[proc+"/"+app], m.Body)
				r.mu.Unlock()
			}
		}
	}
}

func (r *runs) running(app string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.now[app]...)
}

func (r *runs) received(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got[key])
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, f *Fleet) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// An instance that dies holding its lease (it never renews again) is taken
// over by the survivor once the lease runs out; when a new process of
// that instance starts, the survivor gives the application back before
// the owner runs it: never two routers for one application.
func TestTakeoverAndGiveBack(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	rs := newRuns()
	ctx := context.Background()

	dead := New(Options{Redis: rdb, Centre: centre, App: "hotline-a", Lease: lease, Run: rs.runner("a1", nil)})
	if ok, err := dead.acquire(ctx, "hotline-a", true); !ok || err != nil {
		t.Fatalf("first process of a: lease %v, %v", ok, err)
	}
	b := New(Options{Redis: rdb, Centre: centre, App: "hotline-b", Lease: lease, Run: rs.runner("b", nil)})
	run(t, b)
	eventually(t, "b running its own application", func() bool { return len(rs.running("hotline-b")) == 1 })
	eventually(t, "b taking hotline-a over", func() bool {
		p := rs.running("hotline-a")
		return len(p) == 1 && p[0] == "b"
	})
	if err := b.Forward(ctx, "hotline-a", []byte("offer-1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the forwarded offer reaching b's router for hotline-a", func() bool { return rs.received("b/hotline-a") == 1 })
	request(t, b, "hotline-a", "b/hotline-a:who")

	a2 := New(Options{Redis: rdb, Centre: centre, App: "hotline-a", Lease: lease, Run: rs.runner("a2", nil)})
	run(t, a2)
	eventually(t, "hotline-a given back to its instance", func() bool {
		p := rs.running("hotline-a")
		return len(p) == 1 && p[0] == "a2"
	})
	if err := b.Forward(ctx, "hotline-a", []byte("offer-2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the next offer reaching a2", func() bool { return rs.received("a2/hotline-a") == 1 })
	// A probe answers whether some process runs the application, and never
	// reaches its router: the offer sent after it arrives alone.
	if err := b.Probe(ctx, "hotline-a"); err != nil {
		t.Fatalf("probe of hotline-a: %v", err)
	}
	if err := b.Forward(ctx, "hotline-a", []byte("offer-3")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the offer after the probe reaching a2", func() bool { return rs.received("a2/hotline-a") >= 2 })
	if n := rs.received("a2/hotline-a"); n != 2 {
		t.Fatalf("a2's router for hotline-a received %d messages, want the 2 offers (no probe)", n)
	}
	if err := b.Probe(ctx, "hotline-nobody"); !errors.Is(err, ErrNoReceiver) {
		t.Fatalf("probe of an application nobody runs: %v, want ErrNoReceiver", err)
	}
	request(t, b, "hotline-a", "a2/hotline-a:who")
	request(t, a2, "hotline-b", "b/hotline-b:who")
	if _, err := b.Request(ctx, "hotline-nobody", []byte("who")); !errors.Is(err, ErrNoReceiver) {
		t.Fatalf("request to an application nobody runs: %v, want ErrNoReceiver", err)
	}
	if _, err := dead.Request(ctx, "hotline-b", []byte("who")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("request from a fleet member not running: %v, want ErrNotRunning", err)
	}
	if n := rs.maxOnce["hotline-a"]; n != 1 {
		t.Fatalf("hotline-a ran on %d processes at once", n)
	}
	if got := rs.running("hotline-b"); len(got) != 1 || got[0] != "b" {
		t.Fatalf("hotline-b runs on %v", got)
	}
}

// A newer process of the same instance replaces the older one at once (as
// Asterisk gives the application to the newest WebSocket); the older one
// finds its lease gone and stops.
func TestNewerProcessOfTheSameInstanceWins(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	rs := newRuns()
	old := New(Options{Redis: rdb, Centre: centre, App: "hotline", Lease: lease, Run: rs.runner("old", nil)})
	stopOld := run(t, old)
	eventually(t, "the old process running", func() bool { return len(rs.running("hotline")) == 1 })
	nu := New(Options{Redis: rdb, Centre: centre, App: "hotline", Lease: lease, Run: rs.runner("new", nil)})
	run(t, nu)
	eventually(t, "the old process stopping", func() bool {
		p := rs.running("hotline")
		return len(p) == 1 && p[0] == "new"
	})
	if err := stopOld(); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old process: %v, want ErrLeaseLost", err)
	}
}

// A taken-over application whose router returns (it holds no call) is
// forgotten: nobody takes it over again until its instance comes back.
func TestIdleTakenApplicationIsForgotten(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	rs := newRuns()
	ctx := context.Background()
	dead := New(Options{Redis: rdb, Centre: centre, App: "hotline-a", Lease: lease})
	if ok, err := dead.acquire(ctx, "hotline-a", true); !ok || err != nil {
		t.Fatalf("lease %v, %v", ok, err)
	}
	var started atomic.Int32
	idle := map[string]bool{"hotline-a": true}
	r := rs.runner("b", idle)
	b := New(Options{Redis: rdb, Centre: centre, App: "hotline-b", Lease: lease, Run: func(ctx context.Context, app string, fw <-chan Message) error {
		if app == "hotline-a" {
			started.Add(1)
		}
		return r(ctx, app, fw)
	}})
	run(t, b)
	eventually(t, "hotline-a forgotten", func() bool {
		ok, err := rdb.SIsMember(ctx, dead.prefix+sfxApps, "hotline-a").Result()
		return err == nil && !ok && started.Load() >= 1
	})
	// Several more ticks: it is not taken over again.
	n := started.Load()
	deadline := time.Now().Add(3 * lease)
	for time.Now().Before(deadline) {
		time.Sleep(lease / 3)
	}
	if started.Load() != n {
		t.Fatalf("forgotten application taken over again (%d → %d)", n, started.Load())
	}
}

// When every lease runs out at once (Redis was away longer than a lease,
// or a failover lost the keys), each holder takes its own again: nobody
// stops and no application runs twice.
func TestLeasesThatRanOutAreTakenAgainByTheirHolders(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	rs := newRuns()
	ctx := context.Background()
	a := New(Options{Redis: rdb, Centre: centre, App: "hotline-a", Lease: lease, Run: rs.runner("a", nil), Log: zaptest.NewLogger(t)})
	b := New(Options{Redis: rdb, Centre: centre, App: "hotline-b", Lease: lease, Run: rs.runner("b", nil), Log: zaptest.NewLogger(t)})
	stopA, stopB := run(t, a), run(t, b)
	eventually(t, "both running their own application", func() bool {
		return len(rs.running("hotline-a")) == 1 && len(rs.running("hotline-b")) == 1
	})
	if err := rdb.Del(ctx, a.prefix+sfxLease+"hotline-a", a.prefix+sfxLease+"hotline-b").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the leases taken again by their holders", func() bool {
		la, _ := rdb.Get(ctx, a.prefix+sfxLease+"hotline-a").Result()
		lb, _ := rdb.Get(ctx, a.prefix+sfxLease+"hotline-b").Result()
		return la == a.Holder() && lb == b.Holder()
	})
	// A lease's worth of checks more: nobody takes the other's over.
	for deadline := time.Now().Add(2 * lease); time.Now().Before(deadline); {
		time.Sleep(lease / 10)
	}
	if got := rs.running("hotline-a"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("hotline-a runs on %v, want a", got)
	}
	if got := rs.running("hotline-b"); len(got) != 1 || got[0] != "b" {
		t.Fatalf("hotline-b runs on %v, want b", got)
	}
	if rs.maxOnce["hotline-a"] != 1 || rs.maxOnce["hotline-b"] != 1 {
		t.Fatalf("an application ran twice at once: %v", rs.maxOnce)
	}
	if err := stopA(); err != nil {
		t.Fatalf("a: %v", err)
	}
	if err := stopB(); err != nil {
		t.Fatalf("b: %v", err)
	}
}

// On a Redis Cluster (two centres, three masters) each centre's fleet
// keys and offer channel live in the centre's slot: takeover and the
// forwarding of offers work per centre, and one centre's instances never
// see the other's.
func TestFleetOnClusterPerCentre(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	rs := newRuns()
	var members []*Fleet
	for _, centre := range []string{"almaty", "astana"} {
		for _, app := range []string{"hotline-a", "hotline-b"} {
			f := New(Options{Redis: rdb, Centre: centre, App: app, Lease: lease, Run: rs.runner(centre+"/"+app, nil)})
			members = append(members, f)
			run(t, f)
		}
	}
	eventually(t, "four instances running their applications", func() bool {
		return len(rs.running("hotline-a")) == 2 && len(rs.running("hotline-b")) == 2
	})
	// An offer for almaty's hotline-b reaches almaty's hotline-b only.
	eventually(t, "the offer delivered", func() bool {
		_ = members[0].Forward(ctx, "hotline-b", []byte("offer"))
		return rs.received("almaty/hotline-b/hotline-b") > 0
	})
	if n := rs.received("astana/hotline-b/hotline-b"); n != 0 {
		t.Fatalf("astana's instance got almaty's offer %d times", n)
	}
	// A request and its reply stay in the centre too.
	request(t, members[0], "hotline-b", "almaty/hotline-b/hotline-b:who")
	request(t, members[2], "hotline-b", "astana/hotline-b/hotline-b:who")
	// A dead application of one centre is taken over within that centre.
	if err := rdb.Del(ctx, LeaseKey("astana", "hotline-x")).Err(); err != nil {
		t.Fatal(err)
	}
	dead := New(Options{Redis: rdb, Centre: "astana", App: "hotline-x", Lease: lease})
	if ok, err := dead.acquire(ctx, "hotline-x", true); !ok || err != nil {
		t.Fatalf("lease %v, %v", ok, err)
	}
	eventually(t, "astana's hotline-x taken over by an astana instance", func() bool {
		p := rs.running("hotline-x")
		return len(p) == 1 && strings.HasPrefix(p[0], "astana/")
	})
	eventually(t, "an offer forwarded to the taken-over application", func() bool {
		return members[2].Forward(ctx, "hotline-x", []byte("offer")) == nil
	})
	if err := members[0].Forward(ctx, "hotline-x", []byte("offer")); !errors.Is(err, ErrNoReceiver) {
		t.Fatalf("almaty has no hotline-x: forward gave %v, want ErrNoReceiver", err)
	}
}

// request asks app's router "who" from f and wants the answer want: the
// process that runs it, whichever that is now.
func request(t *testing.T, f *Fleet, app, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := f.Request(ctx, app, []byte("who"))
	if err != nil || string(b) != want {
		t.Fatalf("request to %s: %q, %v; want %q", app, b, err, want)
	}
}
