package dispatch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/dispatch"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// rttHook counts round trips to Redis: one per command, one per pipeline.
type rttHook struct{ n *atomic.Int64 }

func (h rttHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}
func (h rttHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h rttHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

const (
	benchTopics  = 20
	benchAgents  = 1000
	benchWaiting = 10000
)

// routeFixture is a centre in steady state: benchWaiting callers waiting
// across benchTopics topics and benchAgents operators all on calls.
type routeFixture struct {
	rdb     *redis.Client
	d       *dispatch.Dispatcher
	rtt     atomic.Int64
	onCall  chan string // operators on a call, ready to end it
	nextID  atomic.Int64
	started time.Time
}

func newRouteFixture(b *testing.B, rules map[string]dispatch.Rule) *routeFixture {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(b), PoolSize: 64})
	b.Cleanup(func() { rdb.Close() })
	centre := redistest.Prefix(b)
	f := &routeFixture{rdb: rdb, d: dispatch.New(rdb, centre, 30*time.Second), onCall: make(chan string, benchAgents), started: time.Now()}
	rdb.AddHook(rttHook{&f.rtt})
	ctx := context.Background()
	now := time.Now()

	ops := make([]agents.Operator, benchAgents)
	for i := range ops {
		ops[i] = agents.Operator{ID: fmt.Sprintf("op%04d", i), Endpoint: fmt.Sprintf("PJSIP/%d", 1000+i),
			Skills:    map[string]int{fmt.Sprint("t", i%benchTopics): 5, fmt.Sprint("t", (i*7+3)%benchTopics): 3},
			Languages: []string{[]string{"ru", "kk"}[i%2]}}
	}
	if err := agents.New(rdb, centre).Sync(ctx, ops, now); err != nil {
		b.Fatal(err)
	}
	if err := f.d.SetRules(ctx, rules); err != nil {
		b.Fatal(err)
	}
	// Enough callers that, after every operator has taken one, benchWaiting wait.
	parallel(b, benchWaiting+benchAgents, func(i int) {
		if _, err := f.d.EnqueueAndClaim(ctx, f.caller(now), now); err != nil {
			b.Fatal(err)
		}
	})
	parallel(b, benchAgents, func(i int) {
		rs, err := f.d.Ready(ctx, ops[i].ID, now)
		if err != nil || len(rs) != 1 {
			b.Fatalf("ready %s: %v %v", ops[i].ID, rs, err)
		}
		if err := f.d.Answered(ctx, rs[0], now); err != nil {
			b.Fatal(err)
		}
		f.onCall <- rs[0].AgentID
	})
	return f
}

func (f *routeFixture) caller(now time.Time) dispatch.Caller {
	n := f.nextID.Add(1)
	return dispatch.Caller{CallID: "c" + strconv.FormatInt(n, 10), Topic: fmt.Sprint("t", rand.IntN(benchTopics)),
		Priority: rand.IntN(3), Arrival: now, Language: []string{"ru", "kk"}[n%2], CallerNumber: "+77010000000"}
}

func parallel(b *testing.B, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// route is one routing decision on the real path: a new caller arrives
// (EnqueueAndClaim: nobody is free, it waits); an operator's call ends
// (Ended with no wrap-up: ready, and in the same script offered the best
// waiting caller); the operator answers (Answered).
func (f *routeFixture) route(b *testing.B, ctx context.Context) {
	now := time.Now()
	e, err := f.d.EnqueueAndClaim(ctx, f.caller(now), now)
	if err != nil {
		b.Fatal(err)
	}
	rs := e.Reservations
	agent := <-f.onCall
	more, err := f.d.Ended(ctx, agent, 0, now)
	if err != nil {
		b.Fatal(err)
	}
	rs = append(rs, more...)
	for _, r := range rs {
		if err := f.d.Answered(ctx, r, now); err != nil {
			b.Fatal(err)
		}
		f.onCall <- r.AgentID
	}
}

// BenchmarkRouteDecision measures routing decisions per second and Redis
// round trips per routed call with 10,000 callers waiting over 20 topics
// and 1,000 operators. One op = one call routed (enqueue, claim on an
// operator freed, answered).
func BenchmarkRouteDecision(b *testing.B) { benchRoute(b, nil) }

// BenchmarkRouteDecisionRules is BenchmarkRouteDecision with every topic
// weighted and ageing, the most work a match does: each queue holds three
// priority bands to compare and each ready index two levels.
func BenchmarkRouteDecisionRules(b *testing.B) {
	rules := map[string]dispatch.Rule{}
	for i := range benchTopics {
		rules[fmt.Sprint("t", i)] = dispatch.Rule{Selection: dispatch.Weighted, LevelWeight: time.Minute, Ageing: 30 * time.Second}
	}
	benchRoute(b, rules)
}

func benchRoute(b *testing.B, rules map[string]dispatch.Rule) {
	f := newRouteFixture(b, rules)
	ctx := context.Background()
	// serial: one router goroutine; parallel: 8×GOMAXPROCS goroutines.
	for _, par := range []int{1, 8} {
		b.Run(map[int]string{1: "serial", 8: "parallel"}[par], func(b *testing.B) {
			f.rtt.Store(0)
			usec := scriptMicros(b, f.rdb)
			start := time.Now()
			b.ResetTimer()
			if par == 1 {
				for range b.N {
					f.route(b, ctx)
				}
			} else {
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						f.route(b, ctx)
					}
				})
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "decisions/s")
			b.ReportMetric(float64(f.rtt.Load())/float64(b.N), "rtt/call")
			// Redis's own time in the scripts: the cost of the decision
			// itself, apart from a shared machine's scheduling noise.
			b.ReportMetric(float64(scriptMicros(b, f.rdb)-usec)/float64(b.N), "redis-µs/call")
		})
	}
}

// BenchmarkMemoryPerWaitingCaller enqueues b.N callers (no operator
// ready) and reports Redis used_memory growth per waiting caller.
func BenchmarkMemoryPerWaitingCaller(b *testing.B) {
	rdb := redistest.Start(b)
	d := dispatch.New(rdb, redistest.Prefix(b), 30*time.Second)
	f := &routeFixture{d: d}
	ctx := context.Background()
	before := usedMemory(b, rdb)
	b.ResetTimer()
	for range b.N {
		now := time.Now()
		if _, err := d.EnqueueAndClaim(ctx, f.caller(now), now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(usedMemory(b, rdb)-before)/float64(b.N), "bytes/caller")
}

// scriptMicros is the time Redis has spent running EVALSHA, in µs
// (INFO commandstats).
func scriptMicros(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "cmdstat_evalsha:"); ok {
			for _, kv := range strings.Split(v, ",") {
				if n, ok := strings.CutPrefix(kv, "usec="); ok {
					us, _ := strconv.ParseInt(n, 10, 64)
					return us
				}
			}
		}
	}
	return 0
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}
