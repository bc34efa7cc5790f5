package cases_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/internal/redistest"
)

func (d *directory) webhook(id string) (string, bool) {
	s, ok := d.service(id)
	return s.Webhook, ok && s.Webhook != ""
}

func (f *fixture) forwarder(s *cases.Store, instance string) *cases.Forwarder {
	return cases.NewForwarder(s, cases.ForwarderOptions{
		Webhooks: f.dir.webhook, Now: f.clock.Now, Instance: instance, Timeout: 2 * time.Second,
		// The test clock may run far ahead of the requests' real time: a
		// lease it cannot outrun keeps a slow request from being re-sent.
		Lease:  time.Hour,
		Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receiver is a service's webhook: it answers each request with what
// answer says and remembers every request and every accepted delivery.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// answer returns the status for the n-th request (from 1) of a case.
	answer   func(number string, n int) int
	requests map[string]int // case number -> requests seen
	accepted map[string]int // case number -> 2xx answers given
	bodies   map[string]cases.Delivery
	headers  map[string]http.Header
}

func newReceiver(t *testing.T, answer func(number string, n int) int) *receiver {
	r := &receiver{t: t, answer: answer, requests: map[string]int{}, accepted: map[string]int{},
		bodies: map[string]cases.Delivery{}, headers: map[string]http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	var d cases.Delivery
	if err := json.NewDecoder(req.Body).Decode(&d); err != nil || req.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	r.requests[key]++
	n := r.requests[key]
	answer := r.answer
	r.mu.Unlock()
	code := http.StatusOK
	if answer != nil {
		code = answer(key, n)
	}
	r.mu.Lock()
	if code >= 200 && code < 300 {
		r.accepted[key]++
		r.bodies[key] = d
		r.headers[key] = req.Header.Clone()
	}
	r.mu.Unlock()
	w.WriteHeader(code)
	_, _ = w.Write([]byte("answer from the receiver"))
}

func (r *receiver) counts(number string) (requests, accepted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[number], r.accepted[number]
}

// run starts fw.Run and returns a stop that cancels it and waits for Run
// to return (failing the test if it does not, or returns an error).
func run(t *testing.T, fw *cases.Forwarder) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (f *fixture) round(fw *cases.Forwarder) int {
	f.t.Helper()
	n, err := fw.Round(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// A receiver that refuses the first delivery and accepts the second gets
// the case exactly once; the case ends forwarded, and is never sent again.
func TestRetryAfterRefusal(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(_ string, n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	f.dir.setWebhook("health_dept", rcv.srv.URL+"/cases?token=secret")
	c := f.open(complaint("a1", "call-1"))
	fw := f.forwarder(f.s, "i1")
	run(t, fw)
	fw.Kick()

	eventually(t, "the first attempt recorded", func() bool { return f.get(c.Number).Attempts == 1 })
	got := f.get(c.Number)
	if got.Status != cases.StatusRegistered || !strings.Contains(got.LastError, "500") ||
		!got.NextTry.Equal(t0.Add(time.Second)) {
		t.Fatalf("after a 500: status %s, last error %q, next %v (want registered, HTTP 500, now+1s)",
			got.Status, got.LastError, got.NextTry)
	}
	if strings.Contains(got.LastError, "secret") {
		t.Fatalf("the webhook's token leaked into LastError: %q", got.LastError)
	}
	f.clock.Add(time.Second)
	fw.Kick()
	eventually(t, "the case forwarded", func() bool { return f.get(c.Number).Status == cases.StatusForwarded })
	got = f.get(c.Number)
	if !got.ForwardedAt.Equal(t0.Add(time.Second)) || got.Attempts != 2 || got.LastError != "" || got.Pending() {
		t.Fatalf("forwarded case: %+v", got)
	}
	if n, _ := f.s.Outbox(f.ctx); n != 0 {
		t.Fatalf("outbox still holds %d", n)
	}

	// Long after, past any lease, rounds send nothing more.
	f.clock.Add(time.Hour)
	if n := f.round(fw); n != 0 {
		t.Fatalf("a round an hour later claimed %d", n)
	}
	if req, acc := rcv.counts(c.Number); req != 2 || acc != 1 {
		t.Fatalf("receiver saw %d requests and accepted %d, want 2 and exactly 1", req, acc)
	}
	rcv.mu.Lock()
	h, body := rcv.headers[c.Number], rcv.bodies[c.Number]
	rcv.mu.Unlock()
	if h.Get("Content-Type") != "application/json" || h.Get("Idempotency-Key") != c.Number {
		t.Fatalf("headers %v", h)
	}
	want := cases.Payload{Number: c.Number, Kind: cases.KindComplaint, Status: cases.StatusRegistered,
		OpenedAt: "2026-12-02T05:00:00Z", CallID: "call-1", Agent: "a1", CitizenNumber: "+77011234567",
		Topic: "complaints", Language: "ru", OrgService: "hospital_1", Organisation: "City Hospital No. 1",
		Category: "waiting_time", Text: "Waited six hours in the emergency room.\nNobody came.",
		Service: "health_dept", Attempt: 2}
	if body.Case != want {
		t.Fatalf("delivered\n%+v\nwant\n%+v", body.Case, want)
	}
}

// Failures back off 1 s, 2 s, 4 s … up to 5 minutes.
func TestBackoff(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
	f.dir.setWebhook("polyclinic_5", rcv.srv.URL)
	c := f.open(homeVisit("a1", "call-1"))
	fw := f.forwarder(f.s, "i1")
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range want {
		if n := f.round(fw); n != 1 {
			t.Fatalf("attempt %d: claimed %d", i+1, n)
		}
		got := f.get(c.Number)
		if d := got.NextTry.Sub(f.clock.Now()); got.Attempts != i+1 || d != w*time.Second {
			t.Fatalf("attempt %d: attempts %d, next in %v, want %v", i+1, got.Attempts, d, w*time.Second)
		}
		// Not due before its time.
		f.clock.Add(w*time.Second - time.Millisecond)
		if n := f.round(fw); n != 0 {
			t.Fatalf("attempt %d: retried %d early", i+1, n)
		}
		f.clock.Add(time.Millisecond)
	}
}

// A receiver that is down (connection refused) loses nothing: the case
// waits in the outbox and is delivered once the receiver is back.
func TestReceiverDownThenBack(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens: connection refused
	f.dir.setWebhook("polyclinic_5", "http://"+addr+"/visits")
	c := f.open(homeVisit("a1", "call-1"))
	fw := f.forwarder(f.s, "i1")
	for range 3 {
		f.round(fw)
		f.clock.Add(5 * time.Minute)
	}
	got := f.get(c.Number)
	if got.Attempts != 3 || got.Status != cases.StatusRegistered || !strings.Contains(got.LastError, "refused") {
		t.Fatalf("while down: %+v", got)
	}

	rcv := &receiver{t: t, requests: map[string]int{}, accepted: map[string]int{},
		bodies: map[string]cases.Delivery{}, headers: map[string]http.Header{}}
	rcv.srv = httptest.NewUnstartedServer(http.HandlerFunc(rcv.serve))
	var l2 net.Listener
	eventually(t, "the receiver's port free again", func() bool {
		l2, err = net.Listen("tcp", addr)
		return err == nil
	})
	rcv.srv.Listener = l2
	rcv.srv.Start()
	t.Cleanup(rcv.srv.Close)

	run(t, fw)
	fw.Kick()
	eventually(t, "the case forwarded", func() bool { return f.get(c.Number).Status == cases.StatusForwarded })
	if req, acc := rcv.counts(c.Number); req != 1 || acc != 1 {
		t.Fatalf("receiver got %d requests, accepted %d; want 1, 1", req, acc)
	}
}

// A config reload that gives the service a webhook delivers what waited.
func TestWebhookAddedByReload(t *testing.T) {
	f := newFixture(t)
	f.dir.setWebhook("health_dept", "http://127.0.0.1:1/")
	c := f.open(complaint("a1", "call-1"))
	f.dir.setWebhook("health_dept", "") // removed by a reload
	fw := f.forwarder(f.s, "i1")
	f.round(fw)
	if got := f.get(c.Number); got.Attempts != 1 || !strings.Contains(got.LastError, "no webhook") {
		t.Fatalf("without a webhook: %+v", got)
	}
	rcv := newReceiver(t, nil)
	f.dir.setWebhook("health_dept", rcv.srv.URL)
	f.clock.Add(time.Second)
	f.round(fw)
	if got := f.get(c.Number); got.Status != cases.StatusForwarded {
		t.Fatalf("after the reload: %+v", got)
	}
}

// A case closed before it could be delivered is still delivered, and stays
// closed.
func TestClosedCaseStillDelivered(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	f.dir.setWebhook("health_dept", rcv.srv.URL)
	c := f.open(complaint("a1", "call-1"))
	if _, err := f.s.SetStatus(f.ctx, c.Number, cases.StatusClosed, "a1", t0); err != nil {
		t.Fatal(err)
	}
	f.round(f.forwarder(f.s, "i1"))
	got := f.get(c.Number)
	if got.Status != cases.StatusClosed || got.ForwardedAt.IsZero() || got.Pending() {
		t.Fatalf("closed then delivered: %+v", got)
	}
	if _, acc := rcv.counts(c.Number); acc != 1 {
		t.Fatalf("accepted %d", acc)
	}
}

// Two hotline instances, each with its Redis client and forwarder, deliver
// every case once, though the receiver refuses some first attempts.
func TestTwoForwardersDeliverEachCaseOnce(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, func(number string, n int) int {
		if n == 1 && number[len(number)-1]%3 == 0 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	f.dir.setWebhook("health_dept", rcv.srv.URL)
	f.dir.setWebhook("polyclinic_5", rcv.srv.URL)
	other := f.store(redistest.Client(t, f.addr))
	const n = 40
	var opened []string
	for i := range n {
		s := f.s
		if i%2 == 1 {
			s = other
		}
		c := complaint("a1", "call-"+string(rune('a'+i%26)))
		if i%4 == 0 {
			c = homeVisit("a2", "call-x")
		}
		out, err := s.Open(f.ctx, c, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, out.Number)
	}
	fa, fb := f.forwarder(f.s, "instance-a"), f.forwarder(other, "instance-b")
	run(t, fa)
	run(t, fb)
	eventually(t, "every case forwarded", func() bool {
		f.clock.Add(time.Second) // past any backoff
		fa.Kick()
		fb.Kick()
		cs, err := f.s.List(f.ctx, time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Status != cases.StatusForwarded {
				return false
			}
		}
		return len(cs) == n
	})
	for _, num := range opened {
		req, acc := rcv.counts(num)
		want := 1
		if num[len(num)-1]%3 == 0 {
			want = 2
		}
		if acc != 1 || req != want {
			t.Errorf("%s: %d requests, %d accepted; want %d and exactly 1", num, req, acc, want)
		}
	}
}

// Cancelling Run's context stops it while a delivery hangs: the delivery
// is cut short and recorded as a failure to retry, Run returns nil, and no
// goroutine of it is left.
func TestForwarderStopsOnCancel(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then a client gone cancels r's context
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	f.dir.setWebhook("polyclinic_5", srv.URL)
	c := f.open(homeVisit("a1", "call-1"))
	base := runtime.NumGoroutine()

	fw := f.forwarder(f.s, "i1")
	stop := run(t, fw)
	fw.Kick()
	<-entered
	stop()
	got := f.get(c.Number)
	if got.Attempts != 1 || !strings.Contains(got.LastError, "shutdown") || got.Status != cases.StatusRegistered {
		t.Fatalf("after stopping mid-delivery: %+v", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if runtime.NumGoroutine() > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d > %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}

	// A Run whose context is already cancelled returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fw.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a cancelled context: %v", err)
	}
}

// A redirect is not an acceptance: the POST is not followed (it could turn
// into a GET), and the attempt counts as failed.
func TestRedirectIsAFailure(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(rcv.srv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	f.dir.setWebhook("polyclinic_5", redirect.URL)
	c := f.open(homeVisit("a1", "call-1"))
	f.round(f.forwarder(f.s, "i1"))
	got := f.get(c.Number)
	if got.Status != cases.StatusRegistered || !strings.Contains(got.LastError, "302") {
		t.Fatalf("after a redirect: %+v", got)
	}
	if req, _ := rcv.counts(c.Number); req != 0 {
		t.Fatalf("the redirect was followed (%d requests)", req)
	}
}

// A round claims only what it can start at once (Workers), so no claimed
// delivery waits for a worker while its lease runs out.
func TestRoundClaimsOnlyWhatItStarts(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, nil)
	f.dir.setWebhook("polyclinic_5", rcv.srv.URL)
	for range 5 {
		f.open(homeVisit("a1", "call-1"))
	}
	fw := cases.NewForwarder(f.s, cases.ForwarderOptions{Webhooks: f.dir.webhook, Now: f.clock.Now, Workers: 2})
	for i, want := range []int{2, 2, 1, 0} {
		if n := f.round(fw); n != want {
			t.Fatalf("round %d claimed %d, want %d", i+1, n, want)
		}
	}
	if n, _ := f.s.Outbox(f.ctx); n != 0 {
		t.Fatalf("outbox %d", n)
	}
}

// countingHook counts the commands a client sends, by name.
type countingHook struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countingHook) count(cmds ...redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cmds {
		h.n[c.Name()]++
	}
}

func (h *countingHook) get(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[name]
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.count(cmd); return next(ctx, cmd) }
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.count(cmds...); return next(ctx, cmds) }
}

// An idle forwarder only looks at the outbox: it runs the claim script
// once at start and then only when a delivery falls due or it is kicked (a
// script run a second was most of an idle hotline's CPU).
func TestIdleForwarderRunsNoClaims(t *testing.T) {
	f := newFixture(t)
	rdb := redistest.Client(t, f.addr)
	hook := &countingHook{n: map[string]int{}}
	rdb.AddHook(hook)
	fw := cases.NewForwarder(f.store(rdb), cases.ForwarderOptions{Webhooks: f.dir.webhook, Now: f.clock.Now, Poll: 5 * time.Millisecond})
	stop := run(t, fw)
	defer stop()
	eventually(t, "ten looks at the outbox", func() bool { return hook.get("zrange") >= 10 })
	if n := hook.get("evalsha"); n != 1 { // a first EVALSHA may be followed by its EVAL (script not loaded yet)
		t.Fatalf("an idle forwarder ran the claim script %d times over %d looks, want once (at start)", n, hook.get("zrange"))
	}
	// A case opened now is still delivered at once when kicked.
	rcv := newReceiver(t, func(string, int) int { return http.StatusOK })
	f.dir.setWebhook("polyclinic_5", rcv.srv.URL)
	c := f.open(homeVisit("a1", "call-1"))
	fw.Kick()
	eventually(t, "the case delivered", func() bool { _, acc := rcv.counts(c.Number); return acc == 1 })
}
