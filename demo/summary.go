package demo

import (
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// Summary is the one JSON line `hotline demo` prints at the end.
// Offered = Answered + Abandoned + Waiting + Other, where Other counts calls
// the menu ended without a queue (transfers, notices, rejections).
type Summary struct {
	Offered       int     `json:"offered"`
	Answered      int     `json:"answered"`
	Abandoned     int     `json:"abandoned"`
	Waiting       int     `json:"waiting"`
	Other         int     `json:"other"`
	Dropped       int     `json:"dropped"` // answered calls that ended abnormally (counted in answered)
	MaxWaitS      float64 `json:"max_wait_s"`
	AvgWaitS      float64 `json:"avg_wait_s"` // average time to answer of answered calls
	HandoverMsP50 float64 `json:"handover_ms_p50"`
	HandoverMsMax float64 `json:"handover_ms_max"`
	Handovers     int     `json:"handovers"`

	// Callbacks owed to callers who abandoned or dropped, at the end.
	CallbacksScheduled int `json:"callbacks_scheduled"` // ever scheduled (merges count once)
	CallbacksReached   int `json:"callbacks_reached"`   // the citizen was called back and talked
	CallbacksPending   int `json:"callbacks_pending"`   // still owed
	CallbacksUnreached int `json:"callbacks_unreached"` // attempts or time ran out
	CallbackAttempts   int `json:"callback_attempts"`   // attempts whose call had ended at the summary

	// ServiceLevel is each topic's SL against its target, as the report
	// counts it (answered within service_level.within ÷ (offered − short
	// abandons)), for the topics that had calls.
	ServiceLevel []TopicSL `json:"service_level"`
}

// TopicSL is one topic's service level in the run.
type TopicSL struct {
	Topic          string   `json:"topic"`
	Offered        int      `json:"offered"`
	AnsweredWithin int      `json:"answered_within"`
	SL             *float64 `json:"sl"` // 0..1; null with nothing to divide by
	TargetPercent  float64  `json:"target_percent"`
	TargetWithinS  float64  `json:"target_within_s"`
	MeetsTarget    bool     `json:"meets_target"`
}

// tally collects what the router reports during a run. Safe for
// concurrent use: router hooks run on call goroutines.
type tally struct {
	cfg       *config.Config // the topics' service-level targets
	mu        sync.Mutex
	offered   int
	records   []records.Record
	attempts  int
	handovers []time.Duration
}

func (t *tally) arrived() {
	t.mu.Lock()
	t.offered++
	t.mu.Unlock()
}

func (t *tally) record(r records.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if router.IsCallbackAttempt(r.CallID) {
		t.attempts++ // an outbound attempt, not one of the callers offered
		return
	}
	t.records = append(t.records, r)
}

func (t *tally) handover(d time.Duration) {
	t.mu.Lock()
	t.handovers = append(t.handovers, d)
	t.mu.Unlock()
}

// summary computes the totals at time now; waiting callers' waits so far
// count towards max_wait_s.
func (t *tally) summary(now time.Time, stillWaitingSince []time.Time) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Summary{Offered: t.offered}
	var answeredWait time.Duration
	var maxWait time.Duration
	for _, r := range t.records {
		switch router.Outcome(r.Outcome) {
		case router.OutcomeAnswered, router.OutcomeDropped:
			s.Answered++
			if router.Outcome(r.Outcome) == router.OutcomeDropped {
				s.Dropped++
			}
			answeredWait += r.Wait
		case router.OutcomeAbandoned, router.OutcomeLost:
			s.Abandoned++
		default:
			s.Other++
		}
		if r.Wait > maxWait {
			maxWait = r.Wait
		}
	}
	for _, since := range stillWaitingSince {
		if w := now.Sub(since); w > maxWait {
			maxWait = w
		}
	}
	s.Waiting = s.Offered - s.Answered - s.Abandoned - s.Other
	s.MaxWaitS = round(maxWait.Seconds(), 3)
	if s.Answered > 0 {
		s.AvgWaitS = round(answeredWait.Seconds()/float64(s.Answered), 3)
	}
	s.ServiceLevel = t.serviceLevels()
	s.Handovers = len(t.handovers)
	s.CallbackAttempts = t.attempts
	if len(t.handovers) > 0 {
		hs := append([]time.Duration(nil), t.handovers...)
		sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
		s.HandoverMsP50 = round(ms(hs[(len(hs)-1)/2]), 3)
		s.HandoverMsMax = round(ms(hs[len(hs)-1]), 3)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// serviceLevels is each topic's SL of the records so far (t.mu held).
func (t *tally) serviceLevels() []TopicSL {
	if t.cfg == nil {
		return nil
	}
	by := map[string]*TopicSL{}
	short := map[string]int{}
	for _, r := range t.records {
		tp, ok := t.cfg.Topic(r.Topic)
		if !ok || r.EnqueuedAt.IsZero() {
			continue
		}
		sl := by[tp.ID]
		if sl == nil {
			sl = &TopicSL{Topic: tp.ID, TargetPercent: tp.ServiceLevel.Percent, TargetWithinS: tp.ServiceLevel.Within.D().Seconds()}
			by[tp.ID] = sl
		}
		sl.Offered++
		switch {
		case !r.AnsweredAt.IsZero() && r.Wait <= tp.ServiceLevel.Within.D():
			sl.AnsweredWithin++
		case r.AnsweredAt.IsZero() && router.Outcome(r.Outcome) == router.OutcomeAbandoned && r.Wait < t.cfg.CallbackRules(tp.ID).MinAbandonWait.D():
			short[tp.ID]++
		}
	}
	out := make([]TopicSL, 0, len(by))
	for _, id := range slices.Sorted(maps.Keys(by)) {
		sl := by[id]
		if d := sl.Offered - short[id]; d > 0 {
			v := round(float64(sl.AnsweredWithin)/float64(d), 3)
			sl.SL = &v
			sl.MeetsTarget = v*100 >= sl.TargetPercent
		}
		out = append(out, *sl)
	}
	return out
}
