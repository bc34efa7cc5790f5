package router

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-acd/hotline/config"
)

// Metrics are the router's Prometheus series; register them on the
// registry the application passes in (no globals). Labels are low
// cardinality only: topic ids, outcomes, results and the IVR's nodes and
// keys as the config defines them — never numbers or call ids.
type Metrics struct {
	Calls         *prometheus.CounterVec
	ActiveCalls   prometheus.Gauge
	Handover      prometheus.Histogram
	OffersFailed  prometheus.Counter
	Announcements prometheus.Counter
	// Degraded counts callers handed to the PBX fallback because Redis
	// could not queue them.
	Degraded prometheus.Counter
	// Wait is the time from joining a queue to an operator answering, per
	// topic (every answer, a re-queued caller's second one included).
	Wait *prometheus.HistogramVec

	// Offered, Answered, Abandoned and WithinTarget count queued calls
	// once each, when the call ends, by the topic it ended in: so
	// within / offered is the service level with abandons (and callbacks
	// taken, overflows, drops) counted against it, and every call in the
	// numerator is in the denominator of the same window.
	Offered      *prometheus.CounterVec // topic
	Answered     *prometheus.CounterVec // topic
	Abandoned    *prometheus.CounterVec // topic, kind: short|long (min_abandon_wait)
	WithinTarget *prometheus.CounterVec // topic: first answer within service_level.within
	// CallbackAttempts counts callback attempts by result.
	CallbackAttempts *prometheus.CounterVec // result
	// IVRChoices counts the choices of completed menus, by node and key
	// (only keys the config's node defines, or "default").
	IVRChoices *prometheus.CounterVec // node, choice
}

// NewMetrics creates the router's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_total", Help: "Calls ended, by outcome.",
		}, []string{"outcome"}),
		ActiveCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_active_calls", Help: "Calls the router currently owns.",
		}),
		Handover: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_handover_seconds",
			Help:    "From an operator becoming free to the originate for the next waiting caller.",
			Buckets: []float64{.001, .0025, .005, .01, .015, .025, .04, .1, .25, 1},
		}),
		OffersFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_offers_failed_total", Help: "Offers to operators that were not answered.",
		}),
		Announcements: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_announcements_total", Help: "Queue position announcements played.",
		}),
		Degraded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_degraded_fallbacks_total", Help: "Callers handed to the PBX fallback because Redis could not queue them.",
		}),
		Wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_queue_wait_seconds",
			Help:    "From joining a topic queue to an operator answering, by topic.",
			Buckets: []float64{5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"queue"}),
		Offered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_offered_total", Help: "Calls that joined a topic queue, counted when they end, by the topic they ended in.",
		}, []string{"topic"}),
		Answered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_answered_total", Help: "Offered calls an operator answered, counted when they end.",
		}, []string{"topic"}),
		Abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_abandoned_total", Help: "Offered calls the caller hung up while waiting; kind=long after the topic's callbacks.min_abandon_wait, short before.",
		}, []string{"topic", "kind"}),
		WithinTarget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_answered_within_target_total", Help: "Offered calls first answered within the topic's service_level.within.",
		}, []string{"topic"}),
		CallbackAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_callback_attempts_total", Help: "Callback attempts, by result.",
		}, []string{"result"}),
		IVRChoices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ivr_choices_total", Help: "Choices made in completed IVR menus, by node and key.",
		}, []string{"node", "choice"}),
	}
	if reg != nil {
		reg.MustRegister(m.Calls, m.ActiveCalls, m.Handover, m.OffersFailed, m.Announcements, m.Degraded, m.Wait,
			m.Offered, m.Answered, m.Abandoned, m.WithinTarget, m.CallbackAttempts, m.IVRChoices)
	}
	return m
}

// Init creates the series of cfg's topics, IVR choices and the known
// callback results at zero, so that a rate over them exists (and is 0)
// before the first call, and a dashboard or alert names no series that
// is absent. Calling it again after a reload adds the new ones.
func (m *Metrics) Init(cfg *config.Config) {
	for id := range cfg.Topics {
		m.Offered.WithLabelValues(id)
		m.Answered.WithLabelValues(id)
		m.WithinTarget.WithLabelValues(id)
		m.Abandoned.WithLabelValues(id, AbandonShort)
		m.Abandoned.WithLabelValues(id, AbandonLong)
	}
	for name, n := range cfg.IVR.Nodes {
		for key := range n.Digits {
			m.IVRChoices.WithLabelValues(name, key)
		}
		if n.Default != nil {
			m.IVRChoices.WithLabelValues(name, "default")
		}
	}
	for r := range attemptResults {
		m.CallbackAttempts.WithLabelValues(r)
	}
}

// callMetrics is what a call remembers for its end-of-call counters.
type callMetrics struct {
	queued   bool          // joined a topic queue (is offered)
	answered bool          // an operator answered (the first answer counts)
	wait     time.Duration // the wait up to that first answer
}

// Abandon kinds (hotline_calls_abandoned_total's kind label).
const (
	AbandonShort = "short" // before the topic's min_abandon_wait: not a lost caller
	AbandonLong  = "long"  // at or after it
)

// answer notes a call's first answer.
func (cm *callMetrics) answer(wait time.Duration) {
	if !cm.answered {
		cm.answered, cm.wait = true, wait
	}
}

// ended counts an ending call in the per-topic counters.
func (m *Metrics) ended(c *call, outcome Outcome) {
	if c.topic == nil {
		return
	}
	cm := c.met
	if c.adopted != nil && !c.rec.EnqueuedAt.IsZero() {
		// A call taken over after a restart was queued by the router
		// before, which died before counting it.
		cm.queued = true
		if !cm.answered && !c.rec.AnsweredAt.IsZero() {
			cm.answer(c.rec.AnsweredAt.Sub(c.rec.EnqueuedAt))
		}
	}
	if !cm.queued {
		return
	}
	t := c.topic.ID
	m.Offered.WithLabelValues(t).Inc()
	if cm.answered {
		m.Answered.WithLabelValues(t).Inc()
		if cm.wait <= c.topic.ServiceLevel.Within.D() {
			m.WithinTarget.WithLabelValues(t).Inc()
		}
	}
	if outcome == OutcomeAbandoned {
		kind := AbandonShort
		if c.rec.Wait >= c.cfg.CallbackRules(t).MinAbandonWait.D() {
			kind = AbandonLong
		}
		m.Abandoned.WithLabelValues(t, kind).Inc()
	}
}

// attemptResults bound hotline_callback_attempts_total's result label.
var attemptResults = map[string]bool{
	"reached": true, "no_answer": true, "busy": true, "declined": true, "rejected": true,
	"failed": true, "unallocated": true, "invalid_number": true, "interrupted": true, "cancelled": true, "unknown": true,
}

// attempt counts a callback attempt's result ("other" outside the known set).
func (m *Metrics) attempt(result string) {
	if !attemptResults[result] {
		result = "other"
	}
	m.CallbackAttempts.WithLabelValues(result).Inc()
}

// menuChoices counts the choices of a completed menu's path
// ("language:2>topics:3"), keeping only nodes and keys the config has.
func (m *Metrics) menuChoices(c *call, path string) {
	if path == "" {
		return
	}
	for step := range strings.SplitSeq(path, ">") {
		node, key, ok := strings.Cut(step, ":")
		n := c.cfg.IVR.Nodes[node]
		if !ok || n == nil {
			continue
		}
		if _, known := n.Digits[key]; known || key == "default" {
			m.IVRChoices.WithLabelValues(node, key).Inc()
		}
	}
}
