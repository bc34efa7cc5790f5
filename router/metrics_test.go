package router

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-acd/hotline/config"
)

// counterValue is the value of counter name{labels} in reg (pairs of label
// name and value), and whether it exists.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// seriesCount is how many series of name reg holds.
func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func metricsConfig() *config.Config {
	cfg := &config.Config{
		Topics: map[string]*config.Topic{
			"testing": {ID: "testing", ServiceLevel: config.ServiceLevel{Percent: 80, Within: config.Duration(30 * time.Second)}},
		},
		IVR: config.IVR{Start: "language", Nodes: map[string]*config.Node{
			"language": {Name: "language", Digits: map[string]*config.Action{"1": {}, "2": {}}, Default: &config.Action{}},
			"main":     {Name: "main", Digits: map[string]*config.Action{"3": {}}},
		}},
	}
	cfg.Callbacks.MinAbandonWait = config.Duration(10 * time.Second)
	return cfg
}

// The end-of-call counters, one call at a time: what counts as offered,
// answered within the target, and a short or a long abandon.
func TestMetricsEnded(t *testing.T) {
	cfg := metricsConfig()
	tp := cfg.Topics["testing"]
	for _, tc := range []struct {
		name                                   string
		met                                    callMetrics
		outcome                                Outcome
		wait                                   time.Duration
		offered, answered, within, short, long float64
	}{
		{name: "never queued (IVR hang-up)", outcome: OutcomeAbandoned},
		{name: "answered in time", met: callMetrics{queued: true, answered: true, wait: 30 * time.Second}, outcome: OutcomeAnswered,
			offered: 1, answered: 1, within: 1},
		{name: "answered late", met: callMetrics{queued: true, answered: true, wait: 31 * time.Second}, outcome: OutcomeAnswered,
			offered: 1, answered: 1},
		{name: "short abandon", met: callMetrics{queued: true}, outcome: OutcomeAbandoned, wait: 9 * time.Second,
			offered: 1, short: 1},
		{name: "long abandon", met: callMetrics{queued: true}, outcome: OutcomeAbandoned, wait: 10 * time.Second,
			offered: 1, long: 1},
		{name: "took a callback", met: callMetrics{queued: true}, outcome: OutcomeCallbackLater, wait: time.Minute,
			offered: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			c := &call{cfg: cfg, topic: tp, met: tc.met}
			c.rec.Wait = tc.wait
			m.ended(c, tc.outcome)
			for _, x := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"hotline_calls_offered_total", []string{"topic", "testing"}, tc.offered},
				{"hotline_calls_answered_total", []string{"topic", "testing"}, tc.answered},
				{"hotline_answered_within_target_total", []string{"topic", "testing"}, tc.within},
				{"hotline_calls_abandoned_total", []string{"topic", "testing", "kind", AbandonShort}, tc.short},
				{"hotline_calls_abandoned_total", []string{"topic", "testing", "kind", AbandonLong}, tc.long},
			} {
				if got, _ := counterValue(t, reg, x.name, x.labels...); got != x.want {
					t.Errorf("%s%v = %v, want %v", x.name, x.labels, got, x.want)
				}
			}
		})
	}
}

// The first answer's wait is the one the service level judges.
func TestCallMetricsFirstAnswerCounts(t *testing.T) {
	var cm callMetrics
	cm.answer(5 * time.Second)
	cm.answer(50 * time.Second)
	if cm.wait != 5*time.Second {
		t.Fatalf("wait %v, want the first answer's 5s", cm.wait)
	}
}

// IVR choices and attempt results stay within the config's menu and the
// known results, whatever the path or result says.
func TestMetricsLabelsBounded(t *testing.T) {
	cfg := metricsConfig()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Init(cfg)
	count := func() int {
		return seriesCount(t, reg, "hotline_ivr_choices_total") + seriesCount(t, reg, "hotline_callback_attempts_total")
	}
	before := count()
	c := &call{cfg: cfg}
	m.menuChoices(c, "language:2>main:3")
	m.menuChoices(c, "language:default>main:7>nowhere:1>garbage")
	m.attempt("reached")
	m.attempt("+77010000000")
	// 4 menu series and the known results exist from Init; only "other" is new.
	if after := count(); before != 4+len(attemptResults) || after != before+1 {
		t.Fatalf("series before %d, after %d", before, after)
	}
	for _, x := range []struct {
		node, choice string
		want         float64
	}{{"language", "2", 1}, {"main", "3", 1}, {"language", "default", 1}, {"language", "1", 0}} {
		if got, ok := counterValue(t, reg, "hotline_ivr_choices_total", "node", x.node, "choice", x.choice); !ok || got != x.want {
			t.Errorf("%s:%s = %v (exported %v), want %v", x.node, x.choice, got, ok, x.want)
		}
	}
	if got, _ := counterValue(t, reg, "hotline_callback_attempts_total", "result", "other"); got != 1 {
		t.Errorf("other results %v, want 1", got)
	}
}
