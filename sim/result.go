package sim

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
)

// All is the Topic of the rows over every topic (as in package report).
const All = "*"

// Row is one interval of one topic (or All). Counts follow the
// supervisors' report (package report): a call counts in the interval it
// arrived in; SL = answered within the target ÷ (offered − short
// abandons); ASA over answered calls.
type Row struct {
	Start          time.Time `json:"start"`
	Topic          string    `json:"topic"`
	Offered        int       `json:"offered"`
	Answered       int       `json:"answered"`
	Abandoned      int       `json:"abandoned"`
	ShortAbandoned int       `json:"short_abandoned"`
	AnsweredWithin int       `json:"answered_within"`
	// TargetPercent and TargetWithin are the topic's service_level.
	TargetPercent float64  `json:"target_percent,omitempty"`
	TargetWithin  float64  `json:"target_within_s,omitempty"`
	SL            *float64 `json:"service_level"`            // 0..1
	SLAll         *float64 `json:"service_level_with_short"` // within ÷ offered
	MeetsTarget   *bool    `json:"meets_target,omitempty"`
	ASA           *float64 `json:"asa_s"`
	MaxWait       float64  `json:"max_wait_s"`
	// Occupancy (All rows): operators' talk and wrap-up ÷ their time at work.
	Occupancy *float64 `json:"occupancy,omitempty"`
	Staffed   float64  `json:"staffed_operators,omitempty"` // mean operators at work
	Waiting   int      `json:"waiting"`                     // callers waiting at the interval's end
	// Callbacks owed to this interval's callers, and what became of them
	// by the end of the run; TimeToCallback is owed → reached, mean.
	CallbacksOwed      int      `json:"callbacks_owed"`
	CallbacksReached   int      `json:"callbacks_reached"`
	CallbacksUnreached int      `json:"callbacks_unreached"`
	CallbacksOpen      int      `json:"callbacks_open"`
	TimeToCallback     *float64 `json:"time_to_callback_s"`

	waitSum, ttcSum time.Duration
	busy, staff     time.Duration
}

// Result is a simulated day.
type Result struct {
	Scenario string    `json:"scenario"`
	Seed     uint64    `json:"seed"`
	Start    time.Time `json:"start"`
	Interval string    `json:"interval"`
	Rows     []Row     `json:"rows"`
	// Staff is the operators per interval, when the run was staffed by
	// interval (--find-staff).
	Staff []int `json:"staff,omitempty"`
	// Records are every record the router wrote, in order (not printed).
	Records []records.Record `json:"-"`

	sc     *Scenario
	cfg    *config.Config
	n      int
	topics []string
	idx    map[string]int // topic → column
	owed   map[string]*owed
	order  []string
	status func(id string) (string, error)
}

type owed struct {
	row     int // interval
	topic   string
	at      time.Time
	reached time.Time
}

func newResult(sc *Scenario, cfg *config.Config, n int) *Result {
	r := &Result{Scenario: sc.Name, Start: sc.Start, Interval: sc.Interval.String(), sc: sc, cfg: cfg, n: n,
		idx: map[string]int{}, owed: map[string]*owed{}}
	r.topics = append(sc.TopicIDs(), All)
	for i, t := range r.topics {
		r.idx[t] = i
	}
	for i := range n {
		for _, t := range r.topics {
			row := Row{Start: sc.Start.Add(time.Duration(i) * sc.Interval.D()), Topic: t}
			if tp, ok := cfg.Topic(t); ok {
				row.TargetPercent, row.TargetWithin = tp.ServiceLevel.Percent, tp.ServiceLevel.Within.D().Seconds()
			}
			r.Rows = append(r.Rows, row)
		}
	}
	return r
}

// interval is the row index of t, or -1 outside the run.
func (r *Result) interval(t time.Time) int {
	if t.Before(r.sc.Start) {
		return -1
	}
	i := int(t.Sub(r.sc.Start) / r.sc.Interval.D())
	if i >= r.n {
		return -1
	}
	return i
}

func (r *Result) row(i int, topic string) *Row {
	c, ok := r.idx[topic]
	if !ok || i < 0 {
		return nil
	}
	return &r.Rows[i*len(r.topics)+c]
}

// rows are topic's row and All's in interval i.
func (r *Result) rows(i int, topic string) []*Row {
	var out []*Row
	if row := r.row(i, topic); row != nil {
		out = append(out, row)
	}
	if row := r.row(i, All); row != nil {
		out = append(out, row)
	}
	return out
}

// add counts one record the router wrote.
func (r *Result) add(rec records.Record) {
	r.Records = append(r.Records, rec)
	rest, isCB := strings.CutPrefix(rec.CallID, "cb-")
	if isCB {
		// An attempt that reached the citizen, or a customer-first
		// citizen who answered (cb-<id>-c<n>), reaches the callback.
		id := rec.Callback
		if i := strings.LastIndex(rest, "-c"); i > 0 && id == "" {
			id = rest[:i]
		}
		reached := rec.Outcome == "callback_answered" || strings.Contains(rest, "-c")
		if o := r.owed[id]; o != nil && reached && o.reached.IsZero() {
			o.reached = rec.Arrival
			if !rec.AnsweredAt.IsZero() {
				o.reached = rec.AnsweredAt
			}
		}
		return
	}
	i := r.interval(rec.Arrival)
	if i < 0 {
		return
	}
	tp, _ := r.cfg.Topic(rec.Topic)
	var minAbandon time.Duration // a topic gone from the config: no abandon is short
	if tp != nil {
		minAbandon = r.cfg.CallbackRules(tp.ID).MinAbandonWait.D()
	}
	n := rec.Count(minAbandon)
	offered, answered, abandoned, short := n.Offered, n.Answered, n.Abandoned, n.Short
	for _, row := range r.rows(i, rec.Topic) {
		if !offered {
			continue
		}
		row.Offered++
		if answered {
			row.Answered++
			row.waitSum += rec.Wait
			if tp != nil && rec.Wait <= tp.ServiceLevel.Within.D() {
				row.AnsweredWithin++
			}
		}
		if abandoned {
			row.Abandoned++
			if short {
				row.ShortAbandoned++
			}
		}
		row.MaxWait = max(row.MaxWait, rec.Wait.Seconds())
	}
	if rec.Callback != "" && r.owed[rec.Callback] == nil {
		r.owed[rec.Callback] = &owed{row: i, topic: rec.Topic, at: rec.EndedAt}
		r.order = append(r.order, rec.Callback)
	}
}

// staffed counts an operator at work in [from, to).
func (r *Result) staffed(from, to time.Time) {
	r.spread(from, to, func(row *Row, d time.Duration) { row.staff += d })
}

// busy counts an operator talking or wrapping up in [from, to).
func (r *Result) busy(from, to time.Time) {
	r.spread(from, to, func(row *Row, d time.Duration) { row.busy += d })
}

func (r *Result) spread(from, to time.Time, f func(*Row, time.Duration)) {
	iv := r.sc.Interval.D()
	for i := max(r.interval(from), 0); i < r.n; i++ {
		s := r.sc.Start.Add(time.Duration(i) * iv)
		e := s.Add(iv)
		if !to.After(s) {
			break
		}
		lo, hi := from, to
		if lo.Before(s) {
			lo = s
		}
		if hi.After(e) {
			hi = e
		}
		if hi.After(lo) {
			f(r.row(i, All), hi.Sub(lo))
		}
	}
}

func (r *Result) sampleWaiting(i int, byTopic map[string]int) {
	for t, n := range byTopic {
		for _, row := range r.rows(i, t) {
			row.Waiting += n
		}
	}
}

func ratio(n, d int) *float64 {
	if d <= 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

// finish computes the ratios and what became of each callback owed.
func (r *Result) finish(end time.Time) error {
	for _, id := range r.order {
		o := r.owed[id]
		rows := r.rows(o.row, o.topic)
		status := ""
		if o.reached.IsZero() && r.status != nil {
			s, err := r.status(id)
			if err != nil {
				return err
			}
			status = s
		}
		for _, row := range rows {
			row.CallbacksOwed++
			switch {
			case !o.reached.IsZero():
				row.CallbacksReached++
				row.ttcSum += o.reached.Sub(o.at)
			case status == "reached_inbound" || status == "reached":
				row.CallbacksReached++
			case status == "unreached" || status == "refused" || status == "cancelled":
				row.CallbacksUnreached++
			default:
				row.CallbacksOpen++
			}
		}
	}
	iv := r.sc.Interval.D()
	for k := range r.Rows {
		row := &r.Rows[k]
		row.SL = ratio(row.AnsweredWithin, row.Offered-row.ShortAbandoned)
		row.SLAll = ratio(row.AnsweredWithin, row.Offered)
		if row.Answered > 0 {
			v := row.waitSum.Seconds() / float64(row.Answered)
			row.ASA = &v
		}
		if row.CallbacksReached > 0 && row.ttcSum > 0 {
			v := row.ttcSum.Seconds() / float64(row.CallbacksReached)
			row.TimeToCallback = &v
		}
		if row.Topic == All {
			row.Staffed = float64(row.staff) / float64(iv)
			if row.staff > 0 {
				v := min(float64(row.busy)/float64(row.staff), 1)
				row.Occupancy = &v
			}
		}
		if row.SL != nil && row.TargetPercent > 0 {
			ok := *row.SL*100 >= row.TargetPercent
			row.MeetsTarget = &ok
		}
	}
	_ = end
	return nil
}

// Total is the whole day's row of topic (All for every topic).
func (r *Result) Total(topic string) Row {
	t := Row{Topic: topic, Start: r.Start}
	var waitSum, ttc time.Duration
	var busy, staff time.Duration
	for _, row := range r.Rows {
		if row.Topic != topic {
			continue
		}
		t.Offered += row.Offered
		t.Answered += row.Answered
		t.Abandoned += row.Abandoned
		t.ShortAbandoned += row.ShortAbandoned
		t.AnsweredWithin += row.AnsweredWithin
		t.TargetPercent, t.TargetWithin = row.TargetPercent, row.TargetWithin
		t.MaxWait = max(t.MaxWait, row.MaxWait)
		t.CallbacksOwed += row.CallbacksOwed
		t.CallbacksReached += row.CallbacksReached
		t.CallbacksUnreached += row.CallbacksUnreached
		t.CallbacksOpen += row.CallbacksOpen
		waitSum += row.waitSum
		ttc += row.ttcSum
		busy += row.busy
		staff += row.staff
	}
	t.SL = ratio(t.AnsweredWithin, t.Offered-t.ShortAbandoned)
	t.SLAll = ratio(t.AnsweredWithin, t.Offered)
	if t.Answered > 0 {
		v := waitSum.Seconds() / float64(t.Answered)
		t.ASA = &v
	}
	if t.CallbacksReached > 0 && ttc > 0 {
		v := ttc.Seconds() / float64(t.CallbacksReached)
		t.TimeToCallback = &v
	}
	if staff > 0 {
		v := min(float64(busy)/float64(staff), 1)
		t.Occupancy = &v
	}
	if t.SL != nil && t.TargetPercent > 0 {
		ok := *t.SL*100 >= t.TargetPercent
		t.MeetsTarget = &ok
	}
	return t
}

// Topics are the result's topics, All last.
func (r *Result) Topics() []string { return r.topics }

// ---- output ----

var columns = []string{"start", "topic", "offered", "answered", "abandoned", "sl_%", "target_%", "asa_s", "max_wait_s",
	"occupancy_%", "staffed", "waiting", "cb_owed", "cb_reached", "cb_unreached", "cb_open", "time_to_cb_s"}

func (r *Result) cells(row Row, loc *time.Location) []string {
	pct := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v*100, 'f', 1, 64)
	}
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 1, 64)
	}
	target := ""
	if row.TargetPercent > 0 {
		target = fmt.Sprintf("%g/%gs", row.TargetPercent, row.TargetWithin)
	}
	staffed := ""
	if row.Topic == All {
		staffed = strconv.FormatFloat(row.Staffed, 'f', 1, 64)
	}
	return []string{row.Start.In(loc).Format("2006-01-02 15:04"), row.Topic, strconv.Itoa(row.Offered), strconv.Itoa(row.Answered),
		strconv.Itoa(row.Abandoned), pct(row.SL), target, num(row.ASA), strconv.FormatFloat(row.MaxWait, 'f', 0, 64),
		pct(row.Occupancy), staffed, strconv.Itoa(row.Waiting), strconv.Itoa(row.CallbacksOwed), strconv.Itoa(row.CallbacksReached),
		strconv.Itoa(row.CallbacksUnreached), strconv.Itoa(row.CallbacksOpen), num(row.TimeToCallback)}
}

// WriteTable writes the rows and the day's totals as an aligned table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(columns, "\t")+"\t")
	loc := r.Start.Location()
	for _, row := range r.Rows {
		if row.Offered == 0 && row.Topic != All && row.CallbacksOwed == 0 {
			continue
		}
		fmt.Fprintln(tw, strings.Join(r.cells(row, loc), "\t")+"\t")
	}
	for _, t := range r.topics {
		c := r.cells(r.Total(t), loc)
		c[0] = "day"
		c[10] = ""
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	if len(r.Staff) > 0 {
		fmt.Fprintf(tw, "staff per interval: %v\t\n", r.Staff)
	}
	return tw.Flush()
}

// WriteCSV writes one line per row, then the day's totals (start "day").
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(columns)
	loc := r.Start.Location()
	for _, row := range r.Rows {
		_ = cw.Write(r.cells(row, loc))
	}
	for _, t := range r.topics {
		c := r.cells(r.Total(t), loc)
		c[0] = "day"
		_ = cw.Write(c)
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the result with the day's totals.
func (r *Result) WriteJSON(w io.Writer) error {
	out := struct {
		*Result
		Day []Row `json:"day"`
	}{Result: r}
	for _, t := range r.topics {
		out.Day = append(out.Day, r.Total(t))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// statusFrom reads callback statuses from the store once the day is over.
func statusFrom(ctx context.Context, get func(context.Context, string) (string, error)) func(string) (string, error) {
	return func(id string) (string, error) { return get(ctx, id) }
}
