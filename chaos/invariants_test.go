package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// allStatuses lists open and closed callbacks alike: a callback owed and
// already closed (reached, cancelled) was owed all the same.
var allStatuses = []callbacks.Status{
	callbacks.StatusScheduled, callbacks.StatusPromoting, callbacks.StatusQueued, callbacks.StatusInFlight,
	callbacks.StatusReached, callbacks.StatusReachedInbound, callbacks.StatusUnreached, callbacks.StatusCancelled,
}

// checkSettled stops the stream, then polls every invariant until all
// hold (hotline has settled) or settleWithin has passed, and reports
// every violation of the last look as a test error. The PBX watch's
// sightings (two operators for a caller, two callers for an operator)
// are reported too: they cannot heal.
func (r *rig) checkSettled() {
	r.t.Helper()
	r.traffic.stopStream()
	start := time.Now()
	deadline := start.Add(settleWithin)
	var v []string
	for {
		v = r.violations()
		if len(v) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // a poll period, not a wait for a condition
	}
	r.logSummary()
	if len(v) == 0 {
		r.t.Logf("settled %v after traffic stopped: every invariant holds", time.Since(start).Round(time.Millisecond))
	} else {
		r.t.Errorf("%d invariant violations %v after traffic stopped:\n  %s", len(v), settleWithin, strings.Join(v, "\n  "))
	}
	if w := r.watch.violations(); len(w) > 0 {
		r.t.Errorf("%d violations seen by the PBX watch during the test:\n  %s", len(w), strings.Join(w, "\n  "))
	}
}

// violations is one look at every invariant, from Redis and the PBX.
func (r *rig) violations() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	for i, h := range r.hotlines {
		select {
		case <-h.exited:
			if !h.killed.Load() {
				add("hotline process %d exited by itself (log %s)", i+1, h.logPath)
			}
		default:
		}
	}

	channels := r.emu.Channels()
	live := map[string]emulator.ChannelInfo{}
	for _, ch := range channels {
		live[ch.ID] = ch
	}
	recs, err := r.stream.Range(ctx, "-", "+", 100000)
	if err != nil {
		return append(out, fmt.Sprintf("cannot read the call records: %v", err))
	}
	byCall := map[string][]records.Record{}
	for _, rec := range recs {
		byCall[rec.CallID] = append(byCall[rec.CallID], rec)
	}
	cbs, err := r.cbs.List(ctx, callbacks.Filter{Status: allStatuses}, 100000)
	if err != nil {
		return append(out, fmt.Sprintf("cannot read the callbacks: %v", err))
	}
	owed := map[string][]string{} // number → callback ids
	for _, cb := range cbs {
		owed[cb.Number] = append(owed[cb.Number], cb.ID)
	}

	// Citizens: each ended, with exactly one record; a callback for each
	// who waited past the minimum and hung up unserved.
	for _, c := range r.traffic.citizens() {
		if c.h.Rejected() || c.h.ID() == "" {
			continue // refused by the PBX (no hotline connected): never reached hotline
		}
		if c.h.App() == "" && c.h.EndedBy() == "restart" {
			continue // vanished in an Asterisk restart while being offered (StasisBroadcast): no hotline ever had it
		}
		if c.snapshotEnded().IsZero() {
			add("call %s still up after traffic stopped: %s", c, describeChannel(live[c.h.ID()]))
			continue
		}
		if rs := byCall[c.h.ID()]; len(rs) != 1 {
			add("call %s has %d records, want exactly one%s", c, len(rs), fmtRecords(rs))
		}
		if waited, ok := c.owedCallback(); ok && len(owed["+"+c.number]) == 0 {
			add("call %s waited %v in a queue and hung up unserved: no callback for +%s%s",
				c, waited.Round(time.Millisecond), c.number, fmtRecords(byCall[c.h.ID()]))
		}
	}

	// Operators: resting, and as the PBX sees them.
	ags, err := r.agents.List(ctx)
	if err != nil {
		return append(out, fmt.Sprintf("cannot read the operators: %v", err))
	}
	byAgentCall := map[string][]string{}
	for _, a := range ags {
		var legs []string
		for _, ch := range channels {
			if ch.Originated && ch.Endpoint == a.Endpoint {
				legs = append(legs, ch.ID+"("+ch.State+")")
			}
		}
		switch a.State {
		case agents.Ready, agents.Paused, agents.Offline:
			if len(legs) > 0 {
				add("operator %s is %s in Redis but its phone %s has legs on the PBX: %s", a.ID, a.State, a.Endpoint, strings.Join(legs, ", "))
			}
		case agents.WrapUp:
			add("operator %s still in wrap_up (ends %s)%s", a.ID, a.WrapUpUntil.Format("15:04:05.000"), legNote(legs))
		case agents.Reserved, agents.OnCall:
			byAgentCall[a.CallID] = append(byAgentCall[a.CallID], a.ID)
			call := "gone from the PBX"
			if ch, ok := live[a.CallID]; ok {
				call = "up: " + describeChannel(ch)
			}
			extra := ""
			if a.State == agents.Reserved {
				extra = " (lease until " + a.LeaseUntil.Format("15:04:05.000") + ")"
			}
			add("operator %s stuck %s%s with call %s (call %s; record%s)%s", a.ID, a.State, extra, a.CallID, call,
				fmtRecords(byCall[a.CallID]), legNote(legs))
		default:
			add("operator %s in unknown state %q", a.ID, a.State)
		}
	}
	for call, ids := range byAgentCall {
		if len(ids) > 1 {
			sort.Strings(ids)
			add("call %s held by %d operators at once in Redis: %s", call, len(ids), strings.Join(ids, ", "))
		}
	}

	// Dispatch state: every caller, queue entry and lease belongs to a
	// citizen whose channel is up.
	p := rkeys.Prefix(r.centre)
	queues, err := r.scan(ctx, p+"queue:*")
	if err != nil {
		return append(out, err.Error())
	}
	for _, q := range queues {
		ids, err := r.rdb.ZRange(ctx, q, 0, -1).Result()
		if err != nil {
			return append(out, fmt.Sprintf("cannot read %s: %v", q, err))
		}
		for _, id := range ids {
			if _, up := live[id]; !up && !strings.HasPrefix(id, callbacks.CallIDPrefix) {
				add("ghost queue entry: %s holds call %s, whose channel is gone%s", strings.TrimPrefix(q, p), id, fmtRecords(byCall[id]))
			}
		}
	}
	callers, err := r.scan(ctx, p+"caller:*")
	if err != nil {
		return append(out, err.Error())
	}
	perAgent := map[string][]string{}
	for _, k := range callers {
		id := strings.TrimPrefix(k, p+"caller:")
		f, err := r.rdb.HGetAll(ctx, k).Result()
		if err != nil {
			return append(out, fmt.Sprintf("cannot read %s: %v", k, err))
		}
		if f["agent"] != "" && (f["state"] == "offered" || f["state"] == "connected") {
			perAgent[f["agent"]] = append(perAgent[f["agent"]], id)
		}
		if _, up := live[id]; !up && !strings.HasPrefix(id, callbacks.CallIDPrefix) {
			add("ghost caller entry: %s state=%s topic=%s agent=%s, whose channel is gone%s",
				id, f["state"], f["topic"], f["agent"], fmtRecords(byCall[id]))
		}
	}
	for agent, ids := range perAgent {
		if len(ids) > 1 {
			sort.Strings(ids)
			add("operator %s has %d callers at once in Redis: %s", agent, len(ids), strings.Join(ids, ", "))
		}
	}
	leases, err := r.rdb.ZRangeWithScores(ctx, rkeys.Leases(r.centre), 0, -1).Result()
	if err != nil {
		return append(out, fmt.Sprintf("cannot read the leases: %v", err))
	}
	for _, z := range leases {
		id, _ := z.Member.(string)
		if _, up := live[id]; !up && !strings.HasPrefix(id, callbacks.CallIDPrefix) {
			add("ghost reservation lease: call %s, whose channel is gone (lease until %s)",
				id, rkeys.FromMs(int64(z.Score)).Format("15:04:05.000"))
		}
	}
	return out
}

// owedCallback reports whether the citizen, with a number, heard hold
// music or its position, hung up itself unserved, and had waited past
// the minimum by then (with 100 ms to spare for the test's polling).
func (c *citizen) owedCallback() (time.Duration, bool) {
	waitingAt, bridged, endedAt := c.snapshot()
	if c.number == "" || bridged || waitingAt.IsZero() || endedAt.IsZero() || c.h.EndedBy() != "remote" {
		return 0, false
	}
	waited := endedAt.Sub(waitingAt)
	return waited, waited >= minAbandonWait+100*time.Millisecond
}

func (r *rig) scan(ctx context.Context, match string) ([]string, error) {
	var keys []string
	iter := r.rdb.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("cannot scan %s: %w", match, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func describeChannel(ch emulator.ChannelInfo) string {
	if ch.ID == "" {
		return "no channel"
	}
	s := ch.State
	switch {
	case ch.BridgeID != "":
		s += ", in bridge " + ch.BridgeID
	case ch.MOH:
		s += ", on hold music"
	case ch.Playing != "":
		s += ", hearing " + ch.Playing
	case ch.App == "":
		s += ", out of the application"
	default:
		s += ", silent"
	}
	return s
}

func legNote(legs []string) string {
	if len(legs) == 0 {
		return "; no leg on its phone"
	}
	return "; legs on its phone: " + strings.Join(legs, ", ")
}

func fmtRecords(rs []records.Record) string {
	if len(rs) == 0 {
		return ": no record"
	}
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s topic=%s agent=%s by=%s wait=%v", r.Outcome, r.Topic, r.Agent, r.EndedBy, r.Wait.Round(time.Millisecond)))
	}
	return ": records [" + strings.Join(parts, "; ") + "]"
}

// logSummary logs what the traffic was, for the report.
func (r *rig) logSummary() {
	kinds := map[string]int{}
	endedBy := map[string]int{}
	rejected, owed := 0, 0
	for _, c := range r.traffic.citizens() {
		kinds[c.kind]++
		if c.h.Rejected() {
			rejected++
		}
		endedBy[c.h.EndedBy()]++
		if _, ok := c.owedCallback(); ok {
			owed++
		}
	}
	r.t.Logf("traffic: %d citizens %v; refused by the PBX (no hotline connected): %d; ended by %v; owed a callback: %d",
		len(r.traffic.citizens()), kinds, rejected, endedBy, owed)
}
