// Package app wires hotline's concrete parts together — Redis state, the
// ARI adapter, the router and the HTTP API — and owns their start and stop
// order. It is the only package that knows every concrete type.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/api"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/cardboard"
	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/fleet"
	"github.com/hotline-acd/hotline/internal/redisopt"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
	"github.com/hotline-acd/hotline/wallboard"
)

// Options configure one hotline instance.
type Options struct {
	Config    *config.Config
	RedisAddr string                // a redis:// or rediss:// URL, or host:port (internal/redisopt)
	Redis     redis.UniversalClient // optional; overrides RedisAddr (tests)
	ARI       ariadapter.Options
	HTTPAddr  string // "" disables the HTTP API
	APIToken  string
	Log       *zap.Logger
	Registry  *prometheus.Registry // optional; a fresh one when nil

	// RedisPassword is the Redis password when RedisAddr carries none;
	// RedisCA a PEM file of the CA that signs a rediss:// server's
	// certificate (system roots when empty).
	RedisPassword string
	RedisCA       string

	// Router hooks (the demo uses them for its summary).
	OnHandover func(time.Duration)
	OnRecord   func(records.Record)
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// Trunk is the PJSIP endpoint callbacks dial citizens through
	// (PJSIP/<number>@<trunk>); default "carrier" as in deploy/asterisk.
	Trunk string
	// CallbackAttemptLease is how long a callback attempt holds its
	// callback without renewal before another instance may retry it
	// (callbacks.Options.AttemptLease); default 3m. Tests shorten it.
	CallbackAttemptLease time.Duration
	// HTTPTimeouts bound the HTTP API's connections; zero fields take the
	// defaults of DefaultHTTPTimeouts. Tests shorten them.
	HTTPTimeouts HTTPTimeouts
	// Env reads the environment (operators' HOTLINE_SECRET_<ID>);
	// os.Getenv when nil.
	Env func(string) string
	// Reload reloads the config file as SIGHUP does (hotline serve sets
	// it) for the admins' POST /api/v1/config/reload; nil: no such route.
	Reload func(ctx context.Context) (string, error)
	// FleetLease is how long this instance's lease on its Stasis
	// application (ARI.App) lasts unrenewed: how soon a survivor takes its
	// calls over after it dies (fleet.Options.Lease); default 3 s.
	FleetLease time.Duration
}

// HTTPTimeouts are the HTTP server's connection limits (net/http.Server's
// fields of the same names).
type HTTPTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultHTTPTimeouts: the API's requests and answers are small JSON and
// metrics, served in milliseconds on a LAN, while every connection is a file
// descriptor of the process that also holds the PBX and Redis connections
// (5,000 idle keep-alives once took 5,000 of them). So:
//   - ReadHeader 5 s, Read 30 s: a client that trickles its request (a
//     slow-loris) is cut off instead of holding a descriptor;
//   - Write 30 s: a response not taken within it is dropped. A streaming
//     handler (server-sent events) must lift it for its own request with
//     http.NewResponseController(w).SetWriteDeadline(time.Time{}) (or push
//     it forward before each write); the server-wide limit stays for the rest;
//   - Idle 30 s: a keep-alive connection still serves a 15 s Prometheus
//     scrape or a dashboard's polling, and an abandoned one is closed.
var DefaultHTTPTimeouts = HTTPTimeouts{
	ReadHeader: 5 * time.Second,
	Read:       30 * time.Second,
	Write:      30 * time.Second,
	Idle:       30 * time.Second,
}

// withDefaults fills the zero fields from DefaultHTTPTimeouts.
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	d := DefaultHTTPTimeouts
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write}, {&t.Idle, &d.Idle},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// App is one running hotline.
type App struct {
	opt Options
	log *zap.Logger
	rdb redis.UniversalClient
	// rdbView names where rdb connects, for errors (never the password).
	rdbView *redis.Options
	ownRDB  bool
	pbx     *ariadapter.Client
	router  *router.Router
	// ropt is the router's options, for the routers of applications this
	// instance takes over from one that died (fleet.go).
	ropt  router.Options
	fleet *fleet.Fleet
	// board shares the operators' cards and the monitors between
	// instances; routers are the ones this process runs (deskroute.go).
	board    *cardboard.Board
	routers  localRouters
	replaced chan struct{} // closed when another WebSocket took our application
	replOnce sync.Once
	state    *redisState
	cbs      *callbackState
	reg      *prometheus.Registry
	// metrics are the router's series, given the topics of each reload.
	metrics   *router.Metrics
	http      *http.Server
	ln        net.Listener
	lnReady   chan struct{} // closed once ln is set
	desk      deskParts
	wallboard *wallboard.Wallboard
	// cases opened from the desktop, and their delivery to the services.
	cases     *cases.Store
	forwarder *cases.Forwarder

	mu       sync.Mutex
	draining bool
}

// New connects nothing yet; it validates options and builds the parts.
func New(opt Options) (*App, error) {
	if opt.Config == nil {
		return nil, errors.New("app: a config is required")
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	a := &App{opt: opt, log: opt.Log, reg: opt.Registry, lnReady: make(chan struct{}), replaced: make(chan struct{})}
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
		a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a.rdb = opt.Redis
	a.rdbView = &redis.Options{Addr: "(given)"}
	if c, ok := opt.Redis.(*redis.Client); ok {
		a.rdbView = c.Options()
	}
	if a.rdb == nil {
		conn, err := redisopt.Settings{URL: opt.RedisAddr, Password: opt.RedisPassword, CAFile: opt.RedisCA}.Conn()
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		short := newShortWaits(a.reg)
		conn.OnShortWait = func(acked int) { short.Inc() }
		a.rdb = conn.NewClient()
		a.rdbView = conn.View()
		a.ownRDB = true
	}
	a.rdb.AddHook(newRedisMetrics(a.reg))
	a.state = newRedisState(a.rdb, opt.Config)
	a.state.now = opt.Now
	if opt.ARI.Events == nil {
		opt.ARI.Events = router.Events
	}
	ari := newARIMetrics(a.reg, func() bool { return a.pbx != nil && a.pbx.Connected() })
	opt.ARI.ObserveREST = ari.observe
	a.opt.ARI = opt.ARI // the template of taken-over applications' adapters
	own := opt.ARI
	own.OnReplaced = func() { a.replOnce.Do(func() { close(a.replaced) }) }
	a.pbx = ariadapter.New(own, opt.Log.Named("ari"))
	rm := router.NewMetrics(a.reg)
	rm.Init(opt.Config)
	a.metrics = rm
	ropt := router.Options{
		PBX:        a.pbx,
		ACD:        a.state,
		Agents:     a.state,
		Records:    a.state,
		Config:     opt.Config,
		Log:        opt.Log.Named("router"),
		Metrics:    rm,
		Now:        opt.Now,
		OnHandover: opt.OnHandover,
		OnRecord:   opt.OnRecord,
		Trunk:      opt.Trunk,
		OnCard: func(agent string) {
			if d := a.desk.desk.Load(); d != nil {
				d.Notify(agent)
			}
		},
		App:   a.pbx.App(),
		Peers: peers{a},
	}
	a.board = cardboard.New(a.rdb, opt.Config.Centre.ID, opt.Log.Named("cards"))
	ropt.Cards = a.board
	a.routers.taken = map[string]*router.Router{}
	// The store is always wired: whether a topic owes callbacks is read from
	// the config in force, so a reload can turn them on or off.
	a.cbs = newCallbackState(a.rdb, &a.state.cfg, a.state.records, opt.CallbackAttemptLease)
	a.cbs.now = opt.Now
	ropt.Callbacks, ropt.Policy = a.cbs, a.cbs.policy
	ropt.OutageTopic = outageTopic(opt.Config)
	if opt.CallbackAttemptLease > 0 {
		// Renew well before the lease ends, or a live attempt would be
		// taken for a crashed one and dialled again.
		ropt.CallbackRenewEvery = opt.CallbackAttemptLease / 3
	}
	r, err := router.New(ropt)
	if err != nil {
		return nil, err
	}
	a.router = r
	a.ropt = ropt
	a.fleet = fleet.New(fleet.Options{Redis: a.rdb, Centre: opt.Config.Centre.ID, App: ropt.App,
		Run: a.runApp, Lease: opt.FleetLease, Log: opt.Log.Named("fleet")})
	a.cbs.router = r
	a.cases = cases.New(a.rdb, opt.Config.Centre.ID, cases.OptionsFrom(a.router.Config))
	a.forwarder = cases.NewForwarder(a.cases, cases.ForwarderOptions{
		Webhooks: cases.WebhooksFrom(a.router.Config), Now: opt.Now, Logger: opt.Log.Named("cases"),
	})
	if err := a.loadDesk(opt.Config); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	d, err := a.newDesk()
	if err != nil {
		return nil, fmt.Errorf("app: desk: %w", err)
	}
	a.desk.desk.Store(d)
	if a.wallboard, err = a.newWallboard(); err != nil {
		return nil, fmt.Errorf("app: wallboard: %w", err)
	}
	a.reg.MustRegister(newStateCollector(a))
	return a, nil
}

func (a *App) callbackAPI() api.Callbacks { return callbackAPI{a.cbs, calls{a.router, a}} }

// CallbackCounts are the centre's callback numbers.
func (a *App) CallbackCounts(ctx context.Context) (callbacks.Counts, error) {
	return a.cbs.Counts(ctx)
}

// outageTopic is where callbacks for callers missed during an outage
// queue: the topic the menu's silent callers default to ("general" in the
// example), else the first topic by name.
func outageTopic(cfg *config.Config) string {
	if _, ok := cfg.Topic("general"); ok {
		return "general"
	}
	first := ""
	for id := range cfg.Topics {
		if first == "" || id < first {
			first = id
		}
	}
	return first
}

// HTTPAddr is the address the API listens on, once Run has started it.
func (a *App) HTTPAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// WaitHTTP waits until Run listens on Options.HTTPAddr and returns the
// address: Run connects to the PBX and listens concurrently, so either
// may come first.
func (a *App) WaitHTTP(ctx context.Context) (string, error) {
	select {
	case <-a.lnReady:
		return a.HTTPAddr(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Reload swaps in a new, already validated configuration: operators are
// synced into Redis first, so a failed sync keeps the running config.
func (a *App) Reload(ctx context.Context, cfg *config.Config) error {
	applyDesk, err := a.prepareDesk(cfg)
	if err != nil {
		return fmt.Errorf("app: reload: %w", err)
	}
	if err := a.state.sync(ctx, cfg); err != nil {
		return fmt.Errorf("app: reload: %w", err)
	}
	applyDesk()
	a.router.SetConfig(cfg)
	a.metrics.Init(cfg)
	a.log.Info("configuration reloaded", zap.Int("topics", len(cfg.Topics)), zap.Int("operators", len(cfg.Operators)))
	return nil
}

// Drain stops taking new calls and makes /readyz say so; calls in progress
// go on. Run still returns only when its context ends.
func (a *App) Drain() {
	a.mu.Lock()
	a.draining = true
	a.mu.Unlock()
	a.router.Drain()
}

// ActiveCalls is how many calls are still in progress (for draining).
func (a *App) ActiveCalls() int { return a.router.ActiveCalls() }

// Router is the running router, for the operators' desktop (transfers).
func (a *App) Router() *router.Router { return a.router }

func (a *App) ready() error {
	a.mu.Lock()
	draining := a.draining
	a.mu.Unlock()
	switch {
	case draining:
		return errors.New("draining")
	case !a.pbx.Connected():
		return errors.New("not connected to the PBX")
	}
	// Redis holds the queues: without it new callers go to the PBX's
	// fallback, and a load balancer should know.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis unreachable: %w", err)
	}
	return nil
}

// Run starts every part and blocks until ctx ends, then stops them in
// reverse order. It returns the first error that made a part stop early.
func (a *App) Run(ctx context.Context) error {
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		// Named by address, TLS and user, never the password; a refused
		// password or certificate says which setting to fix.
		return fmt.Errorf("app: %w", redisopt.Explain(a.rdbView, err))
	}
	if err := a.state.sync(ctx, a.opt.Config); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(3)
	go func() {
		defer wg.Done()
		// A card another instance shows reaches this one's desktops.
		a.board.Watch(ctx, func(agent string) {
			if d := a.desk.desk.Load(); d != nil {
				d.Notify(agent)
			}
		})
	}()
	go func() {
		defer wg.Done()
		// Cases wait in Redis's outbox while a service is down: nothing
		// here must stop hotline.
		if err := a.forwarder.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("case forwarding stopped", zap.Error(err))
		}
	}()
	go func() {
		defer wg.Done()
		// The PBX connection and the router start once this instance
		// holds its application's lease (fleet.go).
		if err := a.fleet.Run(ctx); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("app: %w", err)
		}
		cancel()
	}()
	if a.opt.HTTPAddr != "" {
		ln, err := net.Listen("tcp", a.opt.HTTPAddr)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("app: listen %s: %w", a.opt.HTTPAddr, err)
		}
		to := a.opt.HTTPTimeouts.withDefaults()
		a.mu.Lock()
		a.ln = ln
		close(a.lnReady)
		a.http = &http.Server{
			Handler: withPages(api.Handler(api.Options{
				Token:        a.opt.APIToken,
				Reports:      api.RecordReports{Stream: a.state.records, Config: a.state.cfg.Load},
				Supervision:  supervision{a},
				Authenticate: a.apiActor,
				Audit:        a.audit,
				Control:      a.router,
				Snapshot:     a.state,
				Callbacks:    a.callbackAPI(),
				Reload:       a.opt.Reload,
				Cases:        caseExport{a},
				Now:          a.opt.Now,
				Gatherer:     a.reg,
				Ready:        a.ready,
				Log:          a.log.Named("api"),
				NotFound:     func(err error) bool { return errors.Is(err, router.ErrUnknownAgent) },
			}), a.desk.desk.Load(), a.wallboard),
			ReadHeaderTimeout: to.ReadHeader,
			ReadTimeout:       to.Read,
			WriteTimeout:      to.Write,
			IdleTimeout:       to.Idle,
		}
		srv := a.http
		a.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("app: http: %w", err)
				cancel()
			}
		}()
		a.log.Info("http api listening", zap.String("addr", ln.Addr().String()))
	}
	<-ctx.Done()
	if a.http != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = a.http.Shutdown(sctx)
		scancel()
	}
	wg.Wait()
	a.pbx.Close()
	if a.ownRDB {
		_ = a.rdb.Close()
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
