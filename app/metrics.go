package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx"
)

// scrapeTimeout bounds the Redis reads of one scrape: a stalled Redis
// makes the state gauges disappear and hotline_state_up 0, not a hung scrape.
const scrapeTimeout = 2 * time.Second

// oldestScan is how many callers per topic the oldest-wait gauge looks at
// (the queue is in serving order, which a priority can make differ from
// arrival order; 1000 is the queue package's own cap).
const oldestScan = 1000

// Redis error kinds (hotline_redis_errors_total's kind label): a closed set.
const (
	redisErrTimeout    = "timeout"    // a deadline passed (context or socket)
	redisErrConnection = "connection" // dialling or the connection failed
	redisErrServer     = "server"     // Redis answered with an error reply
	redisErrCanceled   = "canceled"   // the caller gave up
	redisErrOther      = "other"
)

// redisMetrics is a go-redis hook counting the app client's commands.
type redisMetrics struct {
	latency prometheus.Histogram
	errors  *prometheus.CounterVec
}

var _ redis.Hook = (*redisMetrics)(nil)

// newShortWaits counts the writes fewer replicas acknowledged than the
// Redis URL's wait_replicas asks (redisopt.Conn): each is on the master
// only, and a failover in that moment would lose it.
func newShortWaits(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_redis_wait_short_total",
		Help: "Redis writes that fewer replicas than wait_replicas acknowledged within wait_timeout.",
	})
	reg.MustRegister(c)
	return c
}

func newRedisMetrics(reg prometheus.Registerer) *redisMetrics {
	m := &redisMetrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_redis_command_duration_seconds",
			Help:    "Redis round trips of hotline's client (a pipeline counts once).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 2.5},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_redis_errors_total", Help: "Redis commands of hotline's client that failed, by kind.",
		}, []string{"kind"}),
	}
	for _, k := range []string{redisErrTimeout, redisErrConnection, redisErrServer, redisErrCanceled, redisErrOther} {
		m.errors.WithLabelValues(k) // every kind exported from the start, at 0
	}
	reg.MustRegister(m.latency, m.errors)
	return m
}

// DialHook counts nothing itself: a command that could not get a
// connection fails and is counted once, as "connection".
func (m *redisMetrics) DialHook(next redis.DialHook) redis.DialHook { return next }

func (m *redisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		m.latency.Observe(time.Since(start).Seconds())
		m.count(cmd, err)
		return err
	}
}

func (m *redisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.latency.Observe(time.Since(start).Seconds())
		for _, c := range cmds {
			m.count(c, c.Err())
		}
		return err
	}
}

// count counts a failed command, but not the failures go-redis expects
// and handles itself: a script run by EVALSHA that must first be loaded
// (NOSCRIPT), and the connection handshake's HELLO and CLIENT SETINFO,
// which an older Redis refuses.
func (m *redisMetrics) count(cmd redis.Cmder, err error) {
	if err == nil || errors.Is(err, redis.Nil) || strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return
	}
	switch name := strings.ToLower(cmd.Name()); {
	case name == "hello":
		return
	case name == "client" && len(cmd.Args()) > 1 && strings.EqualFold(fmt.Sprint(cmd.Args()[1]), "setinfo"):
		return
	}
	m.errors.WithLabelValues(redisErrKind(err)).Inc()
}

// redisErrKind sorts a go-redis error into the closed set of kinds.
func redisErrKind(err error) string {
	var ne net.Error
	var re redis.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return redisErrTimeout
	case errors.Is(err, context.Canceled):
		return redisErrCanceled
	case errors.As(err, &ne) && ne.Timeout():
		return redisErrTimeout
	case errors.As(err, &re):
		return redisErrServer
	case errors.As(err, &ne), errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return redisErrConnection
	}
	return redisErrOther
}

// ariMetrics are the PBX connection's series.
type ariMetrics struct {
	latency *prometheus.HistogramVec
}

func newARIMetrics(reg prometheus.Registerer, connected func() bool) *ariMetrics {
	m := &ariMetrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_ari_request_duration_seconds",
		Help:    "ARI REST commands, by operation and result (ok, error, timeout).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
	}, []string{"op", "result"})}
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotline_ari_up", Help: "1 while the ARI event WebSocket is connected, else 0.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	})
	reg.MustRegister(m.latency, up)
	return m
}

// observe is ariadapter.Options.ObserveREST.
func (m *ariMetrics) observe(op string, took time.Duration, err error) {
	result := "ok"
	switch {
	case errors.Is(err, pbx.ErrTimeout):
		result = "timeout"
	case err != nil:
		result = "error"
	}
	m.latency.WithLabelValues(op, result).Observe(took.Seconds())
}

// stateCollector reads the centre's state from Redis at scrape time:
// callers waiting and the oldest wait per topic, operators by state,
// callbacks by status, and the topics' service-level targets from the
// config in force. It never fails a scrape: when Redis does not answer
// within scrapeTimeout, hotline_state_up is 0 and the Redis gauges are
// left out.
type stateCollector struct {
	a *App

	up, waiting, oldest, operators, cbs, slRatio, slSeconds *prometheus.Desc
}

var _ prometheus.Collector = (*stateCollector)(nil)

func newStateCollector(a *App) *stateCollector {
	return &stateCollector{
		a:         a,
		up:        prometheus.NewDesc("hotline_state_up", "1 if the last scrape read the state from Redis, 0 if Redis failed it.", nil, nil),
		waiting:   prometheus.NewDesc("hotline_waiting_calls", "Callers waiting in a topic queue now.", []string{"topic"}, nil),
		oldest:    prometheus.NewDesc("hotline_oldest_wait_seconds", "How long the longest-waiting caller of a topic has waited (0 when none).", []string{"topic"}, nil),
		operators: prometheus.NewDesc("hotline_operators", "Operators by state.", []string{"state"}, nil),
		cbs:       prometheus.NewDesc("hotline_callbacks", "Callbacks by status (open statuses now; final ones since the centre began).", []string{"status"}, nil),
		slRatio:   prometheus.NewDesc("hotline_service_level_target_ratio", "The topic's service-level target share (service_level.percent / 100).", []string{"topic"}, nil),
		slSeconds: prometheus.NewDesc("hotline_service_level_target_seconds", "The topic's service-level answer time (service_level.within).", []string{"topic"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.waiting, c.oldest, c.operators, c.cbs, c.slRatio, c.slSeconds} {
		ch <- d
	}
}

// operatorStates are hotline_operators' state label values, all exported.
var operatorStates = []agents.State{agents.Offline, agents.Ready, agents.Reserved, agents.OnCall, agents.WrapUp, agents.Paused}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.a.router.Config()
	topics := sortedTopics(cfg)
	for _, t := range topics {
		tp := cfg.Topics[t]
		ch <- prometheus.MustNewConstMetric(c.slRatio, prometheus.GaugeValue, tp.ServiceLevel.Percent/100, t)
		ch <- prometheus.MustNewConstMetric(c.slSeconds, prometheus.GaugeValue, tp.ServiceLevel.Within.D().Seconds(), t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var out []prometheus.Metric
	err := c.read(ctx, topics, func(m prometheus.Metric) { out = append(out, m) })
	up := 1.0
	if err != nil {
		// Half a picture is worse than none: a dashboard shows the gap.
		up, out = 0, nil
		c.a.log.Debug("metrics: state not read from Redis")
	}
	for _, m := range out {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}

func (c *stateCollector) read(ctx context.Context, topics []string, emit func(prometheus.Metric)) error {
	now := c.a.opt.Now()
	q := c.a.state.queue
	for _, t := range topics {
		ws, err := q.List(ctx, t, oldestScan)
		if err != nil {
			return err
		}
		n, err := q.Len(ctx, t)
		if err != nil {
			return err
		}
		var oldest time.Duration
		for _, w := range ws {
			at := w.EnqueuedAt
			if !w.Arrival.IsZero() && (at.IsZero() || w.Arrival.Before(at)) {
				at = w.Arrival // a callback's citizen keeps their first queue time
			}
			if !at.IsZero() {
				oldest = max(oldest, now.Sub(at))
			}
		}
		emit(prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(n), t))
		emit(prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds(), t))
	}
	ags, err := c.a.state.agents.List(ctx)
	if err != nil {
		return err
	}
	by := map[agents.State]int{}
	for _, ag := range ags {
		by[ag.State]++
	}
	for _, s := range operatorStates {
		emit(prometheus.MustNewConstMetric(c.operators, prometheus.GaugeValue, float64(by[s]), string(s)))
	}
	cn, err := c.a.cbs.Counts(ctx)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		status string
		n      int64
	}{
		{"scheduled", cn.Waiting}, {"promoting", cn.Promoting}, {"queued", cn.Queued}, {"in_flight", cn.InFlight},
		{"reached", cn.Reached}, {"reached_inbound", cn.ReachedInbound}, {"unreached", cn.Unreached},
		{"cancelled", cn.Cancelled}, {"refused", cn.Refused},
	} {
		emit(prometheus.MustNewConstMetric(c.cbs, prometheus.GaugeValue, float64(s.n), s.status))
	}
	return nil
}

func sortedTopics(cfg *config.Config) []string { return slices.Sorted(maps.Keys(cfg.Topics)) }
