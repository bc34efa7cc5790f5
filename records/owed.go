package records

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Owed returns up to n calls whose operator's turn ended in Redis at or
// before before (dispatch's ended.lua puts them in the outbox) and whose
// record is still not written, oldest first from the offset-th, as records
// built from what Redis knew of them: outcome answered, ended when the
// turn ended. A router that died between the end of a conversation and its
// record leaves them to the reconciler, which writes them (AppendOnce
// empties the outbox).
func (s *Stream) Owed(ctx context.Context, before time.Time, offset, n int64) ([]Record, error) {
	centre := s.centre
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: rkeys.Owed(centre), Start: "-inf", Stop: strconv.FormatInt(ms(before), 10), ByScore: true, Offset: offset, Count: n,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("records: owed: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, rkeys.OwedCall(centre, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("records: owed: %w", err)
	}
	out := make([]Record, 0, len(ids))
	for i, id := range ids {
		m := cmds[i].Val()
		at := func(f string) time.Time {
			v, _ := strconv.ParseInt(m[f], 10, 64)
			return rkeys.FromMs(v)
		}
		r := Record{
			CallID: id, CallerNumber: m["number"], Topic: m["topic"], Language: m["lang"], IVRPath: m["ivr"],
			Arrival: at("arrival"), EnqueuedAt: at("arrival"), AnsweredAt: at("answered"), EndedAt: at("ended"),
			Agent: m["agent"], Outcome: OutcomeAnswered, EndedBy: "unknown", Offers: 1,
			Note: "written from Redis: hotline stopped before the call's record",
		}
		if m["outcome"] == OutcomeAbandoned {
			// Only the arrival is known (Arrived): the caller left the menu
			// while no hotline watched the call.
			r.Outcome, r.EnqueuedAt, r.AnsweredAt, r.Offers = OutcomeAbandoned, time.Time{}, time.Time{}, 0
			r.Note = "written from Redis: the caller left while no hotline watched the call"
		}
		if !r.AnsweredAt.IsZero() && !r.EnqueuedAt.IsZero() {
			r.Wait = r.AnsweredAt.Sub(r.EnqueuedAt)
		}
		out = append(out, r)
	}
	return out, nil
}

// Arrived puts a call that has just arrived in the outbox, with what is
// known of it: the number and the arrival. Its record, written by the
// router that holds it, empties the outbox; if the call ends while no
// router watches it (in the menu during a restart or a takeover, before
// Redis knew anything else of it), the reconciler writes it from here as
// abandoned. The end of an operator's turn (dispatch's ended.lua)
// overwrites it with the conversation. Idempotent.
func (s *Stream) Arrived(ctx context.Context, callID, number string, at time.Time) error {
	centre := s.centre
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		k := rkeys.OwedCall(centre, callID)
		p.HSetNX(ctx, k, "number", number)
		p.HSetNX(ctx, k, "arrival", ms(at))
		p.HSetNX(ctx, k, "ended", ms(at))
		p.HSetNX(ctx, k, "outcome", OutcomeAbandoned)
		p.PExpire(ctx, k, 48*time.Hour)
		p.ZAddNX(ctx, rkeys.Owed(centre), redis.Z{Score: float64(ms(at)), Member: callID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("records: arrived %s: %w", callID, err)
	}
	return nil
}
