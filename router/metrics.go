package router

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the router's Prometheus series; register them on the
// registry the application passes in (no globals).
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
	// topic: service level ("80 % within 20 s") is the share of the 20 s
	// bucket, e.g. rate(..._bucket{le="20"}) / rate(..._count).
	Wait *prometheus.HistogramVec
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
	}
	if reg != nil {
		reg.MustRegister(m.Calls, m.ActiveCalls, m.Handover, m.OffersFailed, m.Announcements, m.Degraded, m.Wait)
	}
	return m
}
