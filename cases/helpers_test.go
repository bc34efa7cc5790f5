package cases_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
)

// almaty is the centre's zone. t0 is a fixed instant, so no test depends
// on when it runs: 10:00 on Wednesday 2 December 2026 in Almaty.
var almaty = func() *time.Location {
	l, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		panic(err)
	}
	return l
}()

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, almaty)

// clock is the injected clock, moved by the test only.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// directory is the services in force, changed by a test as a reload would.
type directory struct {
	mu   sync.Mutex
	svcs map[string]config.Service
}

func (d *directory) service(id string) (config.Service, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.svcs[id]
	return s, ok
}

func (d *directory) setWebhook(id, url string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.svcs[id]
	s.Webhook = url
	d.svcs[id] = s
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	addr   string
	rdb    *redis.Client
	centre string
	clock  *clock
	dir    *directory
	s      *cases.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	addr := redistest.Addr(t)
	f := &fixture{t: t, ctx: context.Background(), addr: addr, rdb: redistest.Client(t, addr),
		centre: redistest.Prefix(t), clock: &clock{now: t0}, dir: &directory{svcs: map[string]config.Service{
			"polyclinic_5": {ID: "polyclinic_5", Name: "Polyclinic No. 5", Cases: []string{config.CaseHomeVisit}},
			"health_dept":  {ID: "health_dept", Name: "City Health Department", Cases: []string{config.CaseComplaint}},
			"hospital_1":   {ID: "hospital_1", Name: "City Hospital No. 1"},
		}}}
	f.s = f.store(f.rdb)
	return f
}

// store is another instance's view of the same centre.
func (f *fixture) store(rdb *redis.Client) *cases.Store {
	return cases.New(rdb, f.centre, cases.Options{
		Categories: func() []string { return []string{"refused_care", "waiting_time", "rudeness", "other"} },
		Services:   f.dir.service,
	})
}

func complaint(agent, call string) cases.Case {
	return cases.Case{Kind: cases.KindComplaint, CallID: call, Agent: agent, CitizenNumber: "+77011234567",
		Topic: "complaints", Language: "ru", OrgService: "hospital_1", Category: "waiting_time",
		Text: "Waited six hours in the emergency room.\nNobody came.", Service: "health_dept"}
}

func homeVisit(agent, call string) cases.Case {
	return cases.Case{Kind: cases.KindHomeVisit, CallID: call, Agent: agent, CitizenNumber: "+77017654321",
		Topic: "home_visits", Language: "kk", Address: "Abay Ave 10, flat 5", Symptoms: "fever 39, cough",
		PreferredTime: "tomorrow morning", Service: "polyclinic_5"}
}

func (f *fixture) open(c cases.Case) cases.Case {
	f.t.Helper()
	out, err := f.s.Open(f.ctx, c, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) get(number string) cases.Case {
	f.t.Helper()
	c, err := f.s.Get(f.ctx, number)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func numbers(cs []cases.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	return out
}
