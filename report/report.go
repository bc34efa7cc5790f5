// Package report turns call records into the supervisors' report: per hour
// or day in the centre's time zone and per topic, the calls offered,
// answered and abandoned, the service level, ASA, AHT and how callbacks
// went. It is pure: records and rules in, rows out (CSV or JSON); reading
// the records is the caller's job.
//
// Definitions (a record is one stream entry of package records):
//
//   - inbound call: a record whose call id does not start with "cb-"
//     (callback attempts are "cb-<id>-a<n>", customer-first callback calls
//     "cb-<id>-c<n>", and the callbacks' audit entries "cb-<id>").
//   - bucket: the hour or day, in the centre's time zone, of the record's
//     Arrival (its EndedAt when it has none). Only records whose bucket time
//     is in [From, To) are counted; later records still tell whether an
//     abandoned caller was reached.
//   - offered: an inbound call that reached a topic queue: EnqueuedAt set,
//     outcome neither rejected (closed, queue full, bad topic) nor fallback
//     (handed to the PBX's own queue while Redis was away). A caller who
//     took a callback (callback_later) was offered.
//   - answered: an offered call an operator answered (AnsweredAt set;
//     outcome answered, transferred or a dropped conversation).
//   - abandoned: an offered call with outcome abandoned that no operator
//     answered; short abandon: one that waited less than the topic's
//     callbacks.min_abandon_wait (a misdial; no callback is owed), counted
//     apart and also inside abandoned.
//   - within: answered with Wait <= the topic's service_level.within.
//   - SL = within / (offered − short abandons); SLWithShort = within /
//     offered. ASA = mean Wait of the answered; AHT = mean EndedAt −
//     AnsweredAt of the answered: talk time only, since wrap-up is not in
//     the records. A ratio with nothing to divide by is null (JSON) or
//     empty (CSV).
//   - callbacks scheduled: inbound calls whose record names a callback.
//   - attempts reached: callback attempts with outcome callback_answered,
//     and customer-first calls "cb-<id>-c<n>" (the citizen answered);
//     unreached: attempts with any other callback_* outcome except
//     callback_interrupted (the operator was gone before the citizen was
//     dialled: no attempt counted), which is counted apart. A
//     customer-first attempt the citizen did not answer writes no record
//     and is not counted.
//   - abandoned reached: of the abandoned calls that were not short (a
//     callback was owed), those whose callback (the record's Callback) has
//     a reached attempt among the records given; the share is over the
//     abandoned calls that were not short, so a refused number counts as
//     not reached.
package report

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
)

// By is the size of a bucket.
type By string

// Bucket sizes.
const (
	Hour By = "hour"
	Day  By = "day"
)

// All is the Topic of the rows over every topic.
const All = "*"

// ErrInvalid: a request the report cannot be made for.
var ErrInvalid = errors.New("report: invalid request")

// TopicRules are the targets a topic's calls are measured against.
type TopicRules struct {
	Within         time.Duration // service_level.within
	Percent        float64       // service_level.percent (shown, not used in counts)
	MinAbandonWait time.Duration // shorter abandons are counted apart
}

// Rules are the centre's targets.
type Rules struct {
	Location *time.Location
	Topics   map[string]TopicRules
	// Default applies to a topic the config no longer has.
	Default TopicRules
}

// FromConfig takes the rules from the config in force.
func FromConfig(cfg *config.Config) Rules {
	r := Rules{Location: cfg.Hours.Location, Topics: map[string]TopicRules{},
		Default: TopicRules{MinAbandonWait: cfg.Callbacks.MinAbandonWait.D()}}
	if r.Location == nil {
		r.Location = time.UTC
	}
	for id, t := range cfg.Topics {
		if t == nil {
			continue
		}
		r.Topics[id] = TopicRules{Within: t.ServiceLevel.Within.D(), Percent: t.ServiceLevel.Percent,
			MinAbandonWait: cfg.CallbackRules(id).MinAbandonWait.D()}
	}
	return r
}

func (r Rules) topic(id string) TopicRules {
	if t, ok := r.Topics[id]; ok {
		return t
	}
	return r.Default
}

// Request says which report to make.
type Request struct {
	From, To time.Time // bucket times in [From, To)
	By       By
	Topic    string // "": every topic, each in its own rows, and All
}

// MaxBuckets bounds a report's length (a year of days, 62 days of hours).
const MaxBuckets = 1500

// Check validates q.
func (q Request) Check() error {
	switch {
	case q.By != Hour && q.By != Day:
		return fmt.Errorf("%w: by must be hour or day, not %q", ErrInvalid, q.By)
	case q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From):
		return fmt.Errorf("%w: from must be before to", ErrInvalid)
	}
	size := time.Hour
	if q.By == Day {
		size = 24 * time.Hour
	}
	if q.To.Sub(q.From)/size > MaxBuckets {
		return fmt.Errorf("%w: at most %d buckets of a %s", ErrInvalid, MaxBuckets, q.By)
	}
	return nil
}

// Row is one bucket of one topic (or All).
type Row struct {
	Start               time.Time `json:"start"` // in the centre's time zone
	Topic               string    `json:"topic"`
	Offered             int       `json:"offered"`
	Answered            int       `json:"answered"`
	Abandoned           int       `json:"abandoned"`
	ShortAbandoned      int       `json:"short_abandoned"`
	AnsweredWithin      int       `json:"answered_within"`
	TargetWithinSeconds float64   `json:"target_within_s,omitempty"`
	TargetPercent       float64   `json:"target_percent,omitempty"`
	ServiceLevel        *float64  `json:"service_level"`            // within / (offered − short), 0..1
	ServiceLevelAll     *float64  `json:"service_level_with_short"` // within / offered
	ASASeconds          *float64  `json:"asa_s"`
	AHTSeconds          *float64  `json:"aht_s"` // talk only: wrap-up is not recorded
	CallbacksScheduled  int       `json:"callbacks_scheduled"`
	AttemptsReached     int       `json:"callback_attempts_reached"`
	AttemptsUnreached   int       `json:"callback_attempts_unreached"`
	AttemptsInterrupted int       `json:"callback_attempts_interrupted"`
	AbandonedOwed       int       `json:"abandoned_owed"` // abandoned − short
	AbandonedReached    int       `json:"abandoned_reached"`
	AbandonedReachShare *float64  `json:"abandoned_reached_share"`

	waitSum, talkSum time.Duration
}

// Report is the rows of a request, by bucket then topic (All last).
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	By       By        `json:"by"`
	TimeZone string    `json:"time_zone"`
	Rows     []Row     `json:"rows"`
}

type key struct {
	start time.Time
	topic string
}

type pending struct {
	k        key
	callback string
}

// Builder adds records one at a time, so a caller may page through a
// stream without holding it.
type Builder struct {
	q       Request
	rules   Rules
	rows    map[key]*Row
	topics  map[string]bool
	reached map[string]bool // callback ids with a reached attempt
	owed    []pending       // abandoned calls whose callback may be reached
}

// NewBuilder starts a report; q must pass Check.
func NewBuilder(q Request, rules Rules) (*Builder, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if rules.Location == nil {
		rules.Location = time.UTC
	}
	b := &Builder{q: q, rules: rules, rows: map[key]*Row{}, topics: map[string]bool{}, reached: map[string]bool{}}
	if q.Topic != "" {
		b.topics[q.Topic] = true
	} else {
		for id := range rules.Topics {
			b.topics[id] = true
		}
	}
	return b, nil
}

// Compute is a Builder fed recs.
func Compute(q Request, rules Rules, recs []records.Record) (Report, error) {
	b, err := NewBuilder(q, rules)
	if err != nil {
		return Report{}, err
	}
	for _, r := range recs {
		b.Add(r)
	}
	return b.Report(), nil
}

// start is the bucket t falls in.
func (b *Builder) start(t time.Time) time.Time {
	t = t.In(b.rules.Location)
	if b.q.By == Day {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, b.rules.Location)
	}
	// Truncate the local clock reading, by the offset in force at t: a
	// half-hour zone gets its own hours, and an hour a DST change repeats
	// stays two buckets.
	_, off := t.Zone()
	d := time.Duration(off) * time.Second
	return t.Add(d).Truncate(time.Hour).Add(-d).In(b.rules.Location)
}

// next is the bucket after s.
func (b *Builder) next(s time.Time) time.Time {
	if b.q.By == Day {
		return time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, b.rules.Location)
	}
	return s.Add(time.Hour)
}

func (b *Builder) row(start time.Time, topic string) *Row {
	k := key{start, topic}
	r := b.rows[k]
	if r == nil {
		r = &Row{Start: start, Topic: topic}
		b.rows[k] = r
	}
	return r
}

// kind of a record, from its call id.
type kind int

const (
	inbound kind = iota
	audit
	attempt
	calledBack // customer first: the citizen answered and queued
)

func kindOf(r records.Record) (kind, string) {
	rest, ok := strings.CutPrefix(r.CallID, "cb-")
	if !ok {
		return inbound, ""
	}
	if r.IsCallbackAudit() {
		return audit, r.Callback
	}
	if r.Callback != "" && strings.HasPrefix(rest, r.Callback+"-a") {
		return attempt, r.Callback
	}
	if i := strings.LastIndex(rest, "-c"); i > 0 {
		return calledBack, rest[:i]
	}
	if i := strings.LastIndex(rest, "-a"); i > 0 {
		return attempt, rest[:i]
	}
	return audit, rest
}

// Add counts r.
func (b *Builder) Add(r records.Record) {
	k, cb := kindOf(r)
	reached := (k == attempt && r.Outcome == "callback_answered") || k == calledBack
	if reached && cb != "" {
		b.reached[cb] = true
	}
	if k == audit {
		return
	}
	at := r.Arrival
	if at.IsZero() {
		at = r.EndedAt
	}
	if at.Before(b.q.From) || !at.Before(b.q.To) || (b.q.Topic != "" && r.Topic != b.q.Topic) {
		return
	}
	start := b.start(at)
	if r.Topic != "" {
		b.topics[r.Topic] = true
	}
	rows := []*Row{b.row(start, r.Topic)}
	if b.q.Topic == "" {
		rows = append(rows, b.row(start, All))
	}
	switch k {
	case attempt, calledBack:
		for _, row := range rows {
			switch {
			case reached:
				row.AttemptsReached++
			case r.Outcome == "callback_interrupted":
				row.AttemptsInterrupted++
			default:
				row.AttemptsUnreached++
			}
		}
		return
	}
	rules := b.rules.topic(r.Topic)
	n := r.Count(rules.MinAbandonWait)
	offered, answered, abandoned, short := n.Offered, n.Answered, n.Abandoned, n.Short
	for _, row := range rows {
		if r.Callback != "" {
			row.CallbacksScheduled++
		}
		if !offered {
			continue
		}
		row.Offered++
		if answered {
			row.Answered++
			row.waitSum += r.Wait
			if r.EndedAt.After(r.AnsweredAt) {
				row.talkSum += r.EndedAt.Sub(r.AnsweredAt)
			}
			if r.Wait <= rules.Within {
				row.AnsweredWithin++
			}
		}
		if abandoned {
			row.Abandoned++
			if short {
				row.ShortAbandoned++
			} else {
				row.AbandonedOwed++
			}
		}
	}
	if abandoned && !short && r.Callback != "" {
		for _, row := range rows {
			b.owed = append(b.owed, pending{key{row.Start, row.Topic}, r.Callback})
		}
	}
}

func ratio(n int, d int) *float64 {
	if d <= 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

func mean(sum time.Duration, n int) *float64 {
	if n <= 0 {
		return nil
	}
	v := sum.Seconds() / float64(n)
	return &v
}

// Report returns the rows: every bucket of [From, To) for every topic of
// the rules (or the one asked for) and any other topic the records name,
// then All; empty buckets are rows of zeros.
func (b *Builder) Report() Report {
	for _, p := range b.owed {
		if b.reached[p.callback] {
			b.rows[p.k].AbandonedReached++
		}
	}
	b.owed = nil
	topics := make([]string, 0, len(b.topics)+1)
	for t := range b.topics {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	if b.q.Topic == "" {
		topics = append(topics, All)
	}
	out := Report{From: b.q.From, To: b.q.To, By: b.q.By, TimeZone: b.rules.Location.String()}
	for s := b.start(b.q.From); s.Before(b.q.To); s = b.next(s) {
		for _, t := range topics {
			r := *b.row(s, t)
			if t != All {
				tr := b.rules.topic(t)
				r.TargetWithinSeconds, r.TargetPercent = tr.Within.Seconds(), tr.Percent
			}
			r.ServiceLevel = ratio(r.AnsweredWithin, r.Offered-r.ShortAbandoned)
			r.ServiceLevelAll = ratio(r.AnsweredWithin, r.Offered)
			r.ASASeconds = mean(r.waitSum, r.Answered)
			r.AHTSeconds = mean(r.talkSum, r.Answered)
			r.AbandonedReachShare = ratio(r.AbandonedReached, r.AbandonedOwed)
			out.Rows = append(out.Rows, r)
		}
	}
	return out
}
