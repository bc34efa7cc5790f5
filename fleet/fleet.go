// Package fleet lets several hotline instances serve one Asterisk. Each
// instance owns a Stasis application and holds a lease on it in Redis;
// when an instance dies its lease runs out and a survivor takes the
// application over (Asterisk gives an application to its newest
// WebSocket), runs a router for it that adopts its calls, and gives it
// back when the instance returns. Offers for a caller held by another
// application travel over Redis pub/sub to whichever process runs it.
package fleet

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

//go:embed lua/*.lua
var luaFS embed.FS

// The fleet's keys, in the centre's hash slot.
const (
	sfxLease    = "fleet:lease:"    // STRING holder, PX lease: who runs the application's router
	sfxGiveback = "fleet:giveback:" // STRING owner's holder, PX: the owner wants it back
	sfxApps     = "fleet:apps"      // SET applications that have had an instance
	sfxOffers   = "fleet:offers:"   // sharded pub/sub channel (in the centre's slot): messages for the application's router
	sfxReplies  = "fleet:replies:"  // sharded pub/sub channel: replies to one process's requests, by holder
)

var luaKeys = strings.Join([]string{
	fmt.Sprintf("local function k_lease(a) return P .. %q .. a end", sfxLease),
	fmt.Sprintf("local function k_giveback(a) return P .. %q .. a end", sfxGiveback),
	fmt.Sprintf("local function k_apps() return P .. %q end", sfxApps),
	"",
}, "\n")

func script(name string) *redis.Script { return rkeys.ScriptWith(luaFS, luaKeys, name) }

var (
	acquireScript = script("acquire.lua")
	renewScript   = script("renew.lua")
	releaseScript = script("release.lua")
)

// ErrLeaseLost: another process holds this instance's own lease: a newer
// process of the same instance started, or this one stalled past its
// lease and a survivor took its application over. It must stop acting at
// once (its process manager starts it again, and it asks for its
// application back). A lease that merely ran out while Redis was away is
// taken again by its holder, not lost.
var ErrLeaseLost = errors.New("fleet: this instance's application lease was lost")

// Runner runs a router for app until ctx ends; offers and requests other
// instances send to app arrive on in. A taken-over application's runner
// may return nil once it holds no call: the application is then forgotten
// until its instance comes back.
type Runner func(ctx context.Context, app string, in <-chan Message) error

// Message is what another process sent an application's router: an offer
// (Forward) or a request (Request), which wants one Reply.
type Message struct {
	Body []byte
	id   string // "" for an offer
	to   string // the requester's reply channel
	f    *Fleet
}

// IsRequest reports whether the sender waits for a Reply.
func (m Message) IsRequest() bool { return m.id != "" }

// Reply answers a request; a no-op for an offer. A reply that does not
// reach the requester (it gave up, or died) is lost: the requester's
// context bounds its wait.
func (m Message) Reply(ctx context.Context, body []byte) error {
	if m.id == "" {
		return nil
	}
	b, err := json.Marshal(envelope{ID: m.id, Body: body})
	if err != nil {
		return fmt.Errorf("fleet: reply %s: %w", m.id, err)
	}
	if err := m.f.opt.Redis.SPublish(ctx, m.to, b).Err(); err != nil {
		return fmt.Errorf("fleet: reply %s: %w", m.id, err)
	}
	return nil
}

// envelope is a message on the wire.
type envelope struct {
	ID    string `json:"id,omitempty"`    // a request's or its reply's id
	Reply string `json:"reply,omitempty"` // a request's reply channel
	Body  []byte `json:"body"`
	// Probe asks only whether some process runs the application: it
	// never reaches a router.
	Probe bool `json:"probe,omitempty"`
}

// Options configure a Fleet.
type Options struct {
	Redis  redis.UniversalClient
	Centre string
	App    string // this instance's own application
	Run    Runner
	// Lease is how long a lease lasts without renewal: how soon a dead
	// instance's calls are taken over. Default 3 s; renewed every Lease/3.
	Lease time.Duration
	Log   *zap.Logger
}

// Fleet is this process's part in the fleet. Create with New, run with Run.
type Fleet struct {
	opt    Options
	holder string
	prefix string

	mu      sync.Mutex
	running map[string]*runner
	// absent holds, per application nobody here runs, when the checks
	// that found its lease missing every time began; touched by Run's
	// goroutine only.
	absent map[string]time.Time
	// pending are the requests waiting for a reply, by id; nil while Run
	// does not listen for replies.
	pending map[string]chan []byte
	seq     uint64
}

type runner struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// New returns a fleet member; nothing happens until Run.
func New(opt Options) *Fleet {
	if opt.Lease <= 0 {
		opt.Lease = 3 * time.Second
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Fleet{opt: opt, holder: opt.App + "|" + hex.EncodeToString(b[:]),
		prefix: rkeys.Prefix(opt.Centre), running: map[string]*runner{}, absent: map[string]time.Time{}}
}

// LeaseKey is the Redis key of app's lease in centre: its value is the
// holder, "<application of the process>|<token>".
func LeaseKey(centre, app string) string { return rkeys.Prefix(centre) + sfxLease + app }

// Holder is this process's lease value: its application and a token.
func (f *Fleet) Holder() string { return f.holder }

// Running lists the applications this process runs a router for now.
func (f *Fleet) Running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.running))
	for app := range f.running {
		out = append(out, app)
	}
	sort.Strings(out)
	return out
}

// ErrNoReceiver: no process runs the application (it died and its lease
// has not been taken over yet).
var ErrNoReceiver = errors.New("fleet: no process runs the application")

// Forward publishes an offer's payload to the process running app.
func (f *Fleet) Forward(ctx context.Context, app string, payload []byte) error {
	return f.publish(ctx, app, envelope{Body: payload})
}

// Probe reports (ErrNoReceiver) whether no process runs app's router now,
// through the path a forwarded message takes.
func (f *Fleet) Probe(ctx context.Context, app string) error {
	return f.publish(ctx, app, envelope{Probe: true})
}

func (f *Fleet) publish(ctx context.Context, app string, e envelope) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("fleet: to %s: %w", app, err)
	}
	n, err := f.opt.Redis.SPublish(ctx, f.prefix+sfxOffers+app, b).Result()
	if err != nil {
		return fmt.Errorf("fleet: to %s: %w", app, err)
	}
	if n == 0 {
		return fmt.Errorf("fleet: to %s: %w", app, ErrNoReceiver)
	}
	return nil
}

// ErrNotRunning: Request needs Run, which listens for the replies.
var ErrNotRunning = errors.New("fleet: not running")

// Request sends body to the router of app, in whichever process runs it,
// and waits (until ctx ends) for its reply.
func (f *Fleet) Request(ctx context.Context, app string, body []byte) ([]byte, error) {
	f.mu.Lock()
	if f.pending == nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("fleet: request to %s: %w", app, ErrNotRunning)
	}
	f.seq++
	id := fmt.Sprintf("%s#%d", f.holder, f.seq)
	ch := make(chan []byte, 1)
	f.pending[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.pending, id)
		f.mu.Unlock()
	}()
	if err := f.publish(ctx, app, envelope{ID: id, Reply: f.prefix + sfxReplies + f.holder, Body: body}); err != nil {
		return nil, err
	}
	select {
	case b := <-ch:
		return b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("fleet: request %s to %s: no reply: %w", id, app, ctx.Err())
	}
}

// listenReplies delivers the replies to this process's requests until
// ctx ends. Requests are taken once Redis confirmed the subscription, so
// that no reply is published before anyone listens.
func (f *Fleet) listenReplies(ctx context.Context) {
	ps := f.opt.Redis.SSubscribe(ctx, f.prefix+sfxReplies+f.holder)
	defer func() { _ = ps.Close() }()
	for {
		if _, err := ps.Receive(ctx); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.opt.Lease / 10):
		}
	}
	f.mu.Lock()
	f.pending = map[string]chan []byte{}
	f.mu.Unlock()
	f.receive(ctx, ps, "replies", func(e envelope) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if c, ok := f.pending[e.ID]; ok {
			select {
			case c <- e.Body:
			default:
			}
		}
	})
}

// receive hands each envelope arriving on ps to got until ctx ends or ps
// is closed.
func (f *Fleet) receive(ctx context.Context, ps *redis.PubSub, what string, got func(envelope)) {
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var e envelope
			if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
				f.opt.Log.Warn("fleet: undecodable message", zap.String("channel", what), zap.Error(err))
				continue
			}
			if e.Probe {
				continue
			}
			got(e)
		}
	}
}

// Run takes this instance's own lease (asking a survivor that took the
// application over to give it back), runs its router, and every Lease/3
// renews what it holds and takes over applications whose lease ran out.
// It returns nil when ctx ends, ErrLeaseLost (or the own runner's error)
// when this instance must stop.
func (f *Fleet) Run(ctx context.Context) error {
	every := f.opt.Lease / 3
	log := f.opt.Log.With(zap.String("app", f.opt.App))
	t := time.NewTicker(every)
	defer t.Stop()
	rctx, stopReplies := context.WithCancel(ctx)
	var replies sync.WaitGroup
	replies.Add(1)
	go func() {
		defer replies.Done()
		f.listenReplies(rctx)
	}()
	defer func() {
		stopReplies()
		replies.Wait()
		f.mu.Lock()
		f.pending = nil
		f.mu.Unlock()
	}()
	defer f.stopAll()
	for waited := false; ; waited = true {
		ok, err := f.acquire(ctx, f.opt.App, true)
		if ok {
			break
		}
		if err != nil {
			log.Warn("fleet: cannot take this instance's lease; retrying", zap.Error(err))
		} else if !waited {
			log.Info("fleet: another instance runs this application; asked it to give it back")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	log.Info("fleet: lease taken; starting the router", zap.String("holder", f.holder))
	f.start(ctx, f.opt.App)
	for {
		if err := f.tick(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick renews the leases held, gives back or drops applications, and
// takes over those without a live lease.
func (f *Fleet) tick(ctx context.Context) error {
	healthy := true
	for _, app := range f.Running() {
		r := f.get(app)
		select {
		case <-r.done:
			if app == f.opt.App {
				if r.err != nil {
					return r.err
				}
				return fmt.Errorf("fleet: the router of %s stopped", app)
			}
			// A taken-over application with no call left.
			f.forget(app)
			f.release(app, true)
			f.opt.Log.Info("fleet: taken-over application holds no call; forgotten", zap.String("app", app))
			continue
		default:
		}
		res, err := f.renew(ctx, app)
		switch {
		case err != nil:
			// Redis away: the lease may run out meanwhile; the next
			// renewal says so.
			f.opt.Log.Warn("fleet: lease renewal failed", zap.String("app", app), zap.Error(err))
			healthy = false
		case res == 0 && app == f.opt.App:
			return ErrLeaseLost
		case res == 0:
			f.opt.Log.Warn("fleet: lease of a taken-over application lost; stopping its router", zap.String("app", app))
			f.stop(app)
		case res == 2 && app != f.opt.App:
			f.opt.Log.Info("fleet: giving a taken-over application back to its instance", zap.String("app", app))
			f.stop(app)
			f.release(app, false)
		}
	}
	f.takeOver(ctx, healthy)
	return nil
}

// takeOver takes the applications whose lease has been missing at every
// check for half a lease (three checks). One check is not enough: after
// Redis was away longer than a lease every lease has run out, and each
// holder takes its own again at its next renewal; the span leaves it
// that time, twice over. A check that met a Redis error starts again.
func (f *Fleet) takeOver(ctx context.Context, healthy bool) {
	if !healthy {
		clear(f.absent)
		return
	}
	apps, err := f.opt.Redis.SMembers(ctx, f.prefix+sfxApps).Result()
	if err != nil {
		clear(f.absent)
		return
	}
	var idle []string
	for _, app := range apps {
		if f.get(app) == nil {
			idle = append(idle, app)
		}
	}
	seen := map[string]time.Time{}
	now := time.Now()
	if len(idle) > 0 {
		keys := make([]string, len(idle))
		for i, app := range idle {
			keys[i] = f.prefix + sfxLease + app
		}
		vals, err := f.opt.Redis.MGet(ctx, keys...).Result()
		if err != nil {
			clear(f.absent)
			return
		}
		for i, app := range idle {
			if vals[i] == nil {
				since, ok := f.absent[app]
				if !ok {
					since = now
				}
				seen[app] = since
			}
		}
	}
	f.absent = seen
	for app, since := range seen {
		if now.Sub(since) < f.opt.Lease/2 {
			continue
		}
		if ok, err := f.acquire(ctx, app, false); err == nil && ok {
			delete(f.absent, app)
			f.opt.Log.Warn("fleet: an instance's lease ran out; taking its application over", zap.String("app", app))
			f.start(ctx, app)
		}
	}
}

func (f *Fleet) acquire(ctx context.Context, app string, own bool) (bool, error) {
	flag := "0"
	if own {
		flag = "1"
	}
	n, err := acquireScript.Run(ctx, f.opt.Redis, []string{f.prefix}, app, f.holder, f.opt.Lease.Milliseconds(), flag).Int()
	return n == 1, err
}

func (f *Fleet) renew(ctx context.Context, app string) (int, error) {
	return renewScript.Run(ctx, f.opt.Redis, []string{f.prefix}, app, f.holder, f.opt.Lease.Milliseconds()).Int()
}

// release gives a lease up at once, so that the owner (or, at shutdown, a
// survivor) need not wait for it to run out.
func (f *Fleet) release(app string, forget bool) {
	ctx, cancel := context.WithTimeout(context.Background(), f.opt.Lease)
	defer cancel()
	flag := "0"
	if forget {
		flag = "1"
	}
	if err := releaseScript.Run(ctx, f.opt.Redis, []string{f.prefix}, app, f.holder, flag).Err(); err != nil {
		f.opt.Log.Warn("fleet: lease release failed; it runs out instead", zap.String("app", app), zap.Error(err))
	}
}

func (f *Fleet) get(app string) *runner {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[app]
}

func (f *Fleet) forget(app string) {
	f.mu.Lock()
	delete(f.running, app)
	f.mu.Unlock()
}

// start runs app's router and its forwarded-offer subscription.
func (f *Fleet) start(ctx context.Context, app string) {
	rctx, cancel := context.WithCancel(ctx)
	r := &runner{cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	f.running[app] = r
	f.mu.Unlock()
	offers := make(chan Message, 64)
	ps := f.opt.Redis.SSubscribe(rctx, f.prefix+sfxOffers+app)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(offers)
		f.receive(rctx, ps, app, func(e envelope) {
			select {
			case offers <- Message{Body: e.Body, id: e.ID, to: e.Reply, f: f}:
			default:
				// The router is not taking them: an offer's lease is the
				// net, a request's sender times out.
				f.opt.Log.Warn("fleet: forwarded message dropped (router busy)", zap.String("app", app))
			}
		})
	}()
	go func() {
		defer close(r.done)
		r.err = f.opt.Run(rctx, app, offers)
		cancel()
		_ = ps.Close()
		wg.Wait()
	}()
}

// stop ends app's router and waits for it.
func (f *Fleet) stop(app string) {
	r := f.get(app)
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	f.forget(app)
}

// stopAll ends every router and gives the leases up, so that a survivor
// takes this instance's calls over at its next tick.
func (f *Fleet) stopAll() {
	for _, app := range f.Running() {
		f.stop(app)
		f.release(app, false)
	}
}
