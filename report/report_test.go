package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Almaty on any machine

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/report"
)

var almaty = func() *time.Location {
	l, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		panic(err)
	}
	return l
}()

// at is a time on the centre's clock (Asia/Almaty, UTC+5 in December).
func at(day, h, m, s int) time.Time { return time.Date(2026, 12, day, h, m, s, 0, almaty) }

var rules = report.Rules{Location: almaty, Topics: map[string]report.TopicRules{
	"covid": {Within: 20 * time.Second, Percent: 80, MinAbandonWait: 10 * time.Second},
	"vacc":  {Within: 30 * time.Second, Percent: 90, MinAbandonWait: 10 * time.Second},
}}

// answered is an inbound call queued at q, answered after wait, talking for talk.
func answered(id, topic string, q time.Time, wait, talk time.Duration, outcome string) records.Record {
	return records.Record{CallID: id, Topic: topic, Arrival: q.Add(-20 * time.Second), EnqueuedAt: q,
		AnsweredAt: q.Add(wait), EndedAt: q.Add(wait + talk), Wait: wait, Outcome: outcome, Agent: "1001"}
}

func abandoned(id, topic string, q time.Time, wait time.Duration, callback string) records.Record {
	return records.Record{CallID: id, Topic: topic, Arrival: q, EnqueuedAt: q, EndedAt: q.Add(wait), Wait: wait,
		Outcome: records.OutcomeAbandoned, Callback: callback}
}

// fixed is the hand-written day the expected figures below are computed from.
var fixed = []records.Record{
	// covid, 1 December.
	answered("c1", "covid", at(1, 10, 0, 20), 15*time.Second, 300*time.Second, "answered"),                     // within 20 s
	answered("c2", "covid", at(1, 10, 1, 0), 30*time.Second, 120*time.Second, "answered"),                      // not within
	abandoned("c3", "covid", at(1, 10, 2, 0), 5*time.Second, ""),                                               // short abandon
	abandoned("c4", "covid", at(1, 10, 3, 0), 40*time.Second, "K1"),                                            // owed; reached on the 2nd
	abandoned("c5", "covid", at(1, 10, 4, 0), 25*time.Second, "K2"),                                            // owed; never reached
	{CallID: "c6", Topic: "covid", Arrival: at(1, 10, 5, 0), EnqueuedAt: at(1, 10, 5, 0), Outcome: "rejected"}, // closed: not offered
	{CallID: "c7", Arrival: at(1, 10, 6, 0), EndedAt: at(1, 10, 6, 30), Outcome: "abandoned"},                  // left in the menu: not offered
	answered("c8", "covid", at(1, 10, 7, 0), 10*time.Second, 60*time.Second, "transferred"),                    // answered, within
	// The callbacks' audit entry for K1: not a call.
	{CallID: "cb-K1", Callback: "K1", Topic: "covid", Outcome: "callback_scheduled", EndedAt: at(1, 10, 3, 40)},
	// K1's attempts: no answer on the 1st, answered on the 2nd; K2's interrupted.
	{CallID: "cb-K1-aqwerty1", Callback: "K1", Topic: "covid", Arrival: at(1, 11, 0, 0), EnqueuedAt: at(1, 10, 3, 0), Outcome: "callback_no_answer"},
	{CallID: "cb-K1-aqwerty2", Callback: "K1", Topic: "covid", Arrival: at(2, 9, 0, 0), EnqueuedAt: at(1, 10, 3, 0), Outcome: "callback_answered",
		AnsweredAt: at(2, 9, 0, 30), EndedAt: at(2, 9, 3, 0), Wait: 23 * time.Hour},
	{CallID: "cb-K2-aqwerty3", Callback: "K2", Topic: "covid", Arrival: at(1, 12, 0, 0), Outcome: "callback_interrupted"},
	// vacc across midnight on the centre's clock (both are 1 December in UTC).
	answered("v1", "vacc", at(1, 23, 59, 50), 30*time.Second, 600*time.Second, "answered"), // arrived 23:59:30, within 30 s
	abandoned("v2", "vacc", at(2, 0, 0, 10), 12*time.Second, ""),                           // owed, number refused: not reached
	// A customer-first callback the citizen answered: a reached attempt, not an offered call.
	{CallID: "cb-K3-cqwerty4", Topic: "vacc", Arrival: at(2, 10, 0, 0), EnqueuedAt: at(1, 8, 0, 0), AnsweredAt: at(2, 10, 1, 0),
		EndedAt: at(2, 10, 5, 0), Outcome: "answered", Wait: 26 * time.Hour},
	// Outside [1 Dec, 3 Dec) on the centre's clock.
	answered("early", "covid", at(1, 0, 0, 0).Add(-time.Hour), time.Second, time.Minute, "answered"),
	abandoned("late", "covid", at(3, 0, 0, 0), time.Minute, ""),
}

func f(v float64) *float64 { return &v }

func show(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%.4f", *p)
}

type want struct {
	offered, answered, abandoned, short, within int
	sl, slAll, asa, aht                         *float64
	scheduled, reached, unreached, interrupted  int
	owed, abReached                             int
	share                                       *float64
}

func check(t *testing.T, r report.Row, w want) {
	t.Helper()
	got := fmt.Sprint(r.Offered, r.Answered, r.Abandoned, r.ShortAbandoned, r.AnsweredWithin,
		show(r.ServiceLevel), show(r.ServiceLevelAll), show(r.ASASeconds), show(r.AHTSeconds),
		r.CallbacksScheduled, r.AttemptsReached, r.AttemptsUnreached, r.AttemptsInterrupted,
		r.AbandonedOwed, r.AbandonedReached, show(r.AbandonedReachShare))
	exp := fmt.Sprint(w.offered, w.answered, w.abandoned, w.short, w.within, show(w.sl), show(w.slAll),
		show(w.asa), show(w.aht), w.scheduled, w.reached, w.unreached, w.interrupted, w.owed, w.abReached, show(w.share))
	if got != exp {
		t.Errorf("%s %s:\n got %s\nwant %s", r.Start.Format(time.RFC3339), r.Topic, got, exp)
	}
}

func TestDailyReport(t *testing.T) {
	rep, err := report.Compute(report.Request{From: at(1, 0, 0, 0), To: at(3, 0, 0, 0), By: report.Day}, rules, fixed)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]report.Row{}
	var order []string
	for _, r := range rep.Rows {
		k := r.Start.Format("2006-01-02T15:04Z07:00") + " " + r.Topic
		rows[k] = r
		order = append(order, k)
	}
	wantOrder := "2026-12-01T00:00+05:00 covid,2026-12-01T00:00+05:00 vacc,2026-12-01T00:00+05:00 *," +
		"2026-12-02T00:00+05:00 covid,2026-12-02T00:00+05:00 vacc,2026-12-02T00:00+05:00 *"
	if strings.Join(order, ",") != wantOrder {
		t.Fatalf("rows %v, want %s", order, wantOrder)
	}
	// covid, 1 Dec: offered c1 c2 c3 c4 c5 c8 = 6 (c6 rejected, c7 never
	// queued); answered c1 c2 c8 = 3; abandoned c3 c4 c5 = 3, c3 short;
	// within 20 s: c1 (15 s), c8 (10 s) = 2.
	// SL = 2 / (6 − 1) = 0.4; with short abandons 2 / 6 = 0.3333.
	// ASA = (15 + 30 + 10) / 3 = 18.3333 s; AHT = (300 + 120 + 60) / 3 = 160 s.
	// Callbacks scheduled c4, c5 = 2; attempts that day: K1 no answer
	// (unreached), K2 interrupted. Owed: c4, c5 = 2; K1 reached on the 2nd,
	// so 1 reached: 1 / 2 = 0.5.
	check(t, rows["2026-12-01T00:00+05:00 covid"], want{6, 3, 3, 1, 2, f(0.4), f(2.0 / 6), f(55.0 / 3), f(160), 2, 0, 1, 1, 2, 1, f(0.5)})
	// vacc, 1 Dec: v1 only (arrived 23:59:30 local, 18:59:30 UTC): within
	// 30 s. SL 1 / 1; ASA 30 s; AHT 600 s.
	check(t, rows["2026-12-01T00:00+05:00 vacc"], want{1, 1, 0, 0, 1, f(1), f(1), f(30), f(600), 0, 0, 0, 0, 0, 0, nil})
	// All, 1 Dec: offered 7, answered 4, within 3 (c1, c8, v1), abandoned 3,
	// short 1. SL = 3 / (7 − 1) = 0.5; 3 / 7 = 0.4286.
	// ASA = (15 + 30 + 10 + 30) / 4 = 21.25 s; AHT = (300 + 120 + 60 + 600) / 4 = 270 s.
	check(t, rows["2026-12-01T00:00+05:00 *"], want{7, 4, 3, 1, 3, f(0.5), f(3.0 / 7), f(21.25), f(270), 2, 0, 1, 1, 2, 1, f(0.5)})
	// covid, 2 Dec: only K1's answered attempt; nothing offered: ratios null.
	check(t, rows["2026-12-02T00:00+05:00 covid"], want{0, 0, 0, 0, 0, nil, nil, nil, nil, 0, 1, 0, 0, 0, 0, nil})
	// vacc, 2 Dec: v2 (00:00:10 local, still 1 Dec in UTC) abandoned after
	// 12 s ≥ 10 s: owed, not reached (0 / 1); SL = 0 / (1 − 0) = 0; the
	// customer-first callback K3 reached.
	check(t, rows["2026-12-02T00:00+05:00 vacc"], want{1, 0, 1, 0, 0, f(0), f(0), nil, nil, 0, 1, 0, 0, 1, 0, f(0)})
	check(t, rows["2026-12-02T00:00+05:00 *"], want{1, 0, 1, 0, 0, f(0), f(0), nil, nil, 0, 2, 0, 0, 1, 0, f(0)})
	if r := rows["2026-12-01T00:00+05:00 covid"]; r.TargetWithinSeconds != 20 || r.TargetPercent != 80 {
		t.Errorf("covid target %v s %v %%", r.TargetWithinSeconds, r.TargetPercent)
	}
}

// Hours are the centre's: 23:00 and 00:00 in Almaty are two buckets (one
// UTC day), and a topic filter keeps only that topic's rows, with no All.
func TestHourlyAcrossMidnight(t *testing.T) {
	rep, err := report.Compute(report.Request{From: at(1, 23, 0, 0), To: at(2, 1, 0, 0), By: report.Hour, Topic: "vacc"}, rules, fixed)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(report.Columns, ",") + "\n" +
		"2026-12-01T23:00:00+05:00,vacc,1,1,0,0,1,30,90,1,1,30,600,0,0,0,0,0,0,\n" +
		"2026-12-02T00:00:00+05:00,vacc,1,0,1,0,0,30,90,0,0,,,0,0,0,0,1,0,0\n"
	if b.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Nothing to count divides by nothing: every ratio is null, every bucket
// is still there.
func TestEmptyReport(t *testing.T) {
	rep, err := report.Compute(report.Request{From: at(1, 0, 0, 0), To: at(1, 3, 0, 0), By: report.Hour}, report.Rules{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 || rep.Rows[0].Topic != report.All || rep.TimeZone != "UTC" {
		t.Fatalf("rows %+v zone %s", rep.Rows, rep.TimeZone)
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"service_level", "service_level_with_short", "asa_s", "aht_s", "abandoned_reached_share"} {
		if v, ok := back.Rows[0][k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
}

func TestBadRequests(t *testing.T) {
	for _, q := range []report.Request{
		{From: at(1, 0, 0, 0), To: at(2, 0, 0, 0), By: "week"},
		{From: at(2, 0, 0, 0), To: at(1, 0, 0, 0), By: report.Day},
		{To: at(1, 0, 0, 0), By: report.Day},
		{From: at(1, 0, 0, 0), To: at(1, 0, 0, 0).AddDate(0, 3, 0), By: report.Hour},
	} {
		if _, err := report.Compute(q, rules, nil); !errors.Is(err, report.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", q, err)
		}
	}
}

// The rules come from the config: each topic's target, its (or the
// centre's) min_abandon_wait, the centre's time zone.
func TestFromConfig(t *testing.T) {
	cfg := &config.Config{
		Hours:     config.Hours{TimeZone: "Asia/Almaty", Location: almaty},
		Callbacks: config.CallbackRules{MinAbandonWait: config.Duration(10 * time.Second)},
		Topics: map[string]*config.Topic{
			"covid": {ServiceLevel: config.ServiceLevel{Percent: 80, Within: config.Duration(20 * time.Second)}},
			"vacc": {ServiceLevel: config.ServiceLevel{Percent: 90, Within: config.Duration(30 * time.Second)},
				Callbacks: &config.CallbackRules{MinAbandonWait: config.Duration(3 * time.Second)}},
		},
	}
	r := report.FromConfig(cfg)
	if r.Location != almaty || r.Topics["covid"] != (report.TopicRules{Within: 20 * time.Second, Percent: 80, MinAbandonWait: 10 * time.Second}) ||
		r.Topics["vacc"].MinAbandonWait != 3*time.Second || r.Default.MinAbandonWait != 10*time.Second {
		t.Fatalf("rules %+v", r)
	}
}

// Hours follow the local clock whatever the offset: a half-hour zone's
// hours start at :00 local, and the hour a DST change repeats is two
// buckets (Berlin, 25 October 2026: 02:00–03:00 twice).
func TestHourBucketsInOtherZones(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	call := func(id string, at time.Time) records.Record {
		return abandoned(id, "covid", at, time.Minute, "")
	}
	from := time.Date(2026, 12, 1, 10, 0, 0, 0, kolkata)
	rep, err := report.Compute(report.Request{From: from, To: from.Add(2 * time.Hour), By: report.Hour, Topic: "covid"},
		report.Rules{Location: kolkata}, []records.Record{call("k1", from.Add(59*time.Minute)), call("k2", from.Add(61*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Start.Format("15:04") != "10:00" || rep.Rows[0].Offered != 1 || rep.Rows[1].Offered != 1 {
		t.Fatalf("Kolkata rows %+v", rep.Rows)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC) // 02:00 CEST
	rep, err = report.Compute(report.Request{From: first, To: first.Add(2 * time.Hour), By: report.Hour, Topic: "covid"},
		report.Rules{Location: berlin}, []records.Record{call("b1", first.Add(10*time.Minute)), call("b2", first.Add(70*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%s=%d", r.Start.Format("15:04Z07:00"), r.Offered))
	}
	if strings.Join(got, " ") != "02:00+02:00=1 02:00+01:00=1" {
		t.Fatalf("Berlin's repeated hour: %v", got)
	}
	// Days are the local calendar's: the day of the change is 25 hours.
	rep, err = report.Compute(report.Request{From: time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), To: time.Date(2026, 10, 27, 0, 0, 0, 0, berlin), By: report.Day, Topic: "covid"},
		report.Rules{Location: berlin}, []records.Record{call("d1", time.Date(2026, 10, 25, 23, 30, 0, 0, berlin))})
	if err != nil || len(rep.Rows) != 2 || rep.Rows[0].Offered != 1 || rep.Rows[1].Start.Format(time.RFC3339) != "2026-10-26T00:00:00+01:00" {
		t.Fatalf("Berlin days %+v %v", rep.Rows, err)
	}
}
