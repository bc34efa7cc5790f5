package records

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// IndexTTL is how long the by-number and by-operator indexes keep a
// record after its call (the stream itself is bounded by MAXLEN).
const IndexTTL = 90 * 24 * time.Hour

// Disposition is what the operator said about a call: a disposition from
// the configured list, a free-text note, and the cases opened from it.
// It may be given during the call, before the record exists.
type Disposition struct {
	Code  string    `json:"code,omitempty"`
	Note  string    `json:"note,omitempty"`
	Agent string    `json:"agent,omitempty"`
	At    time.Time `json:"at,omitzero"`
	Cases []string  `json:"cases,omitempty"`
}

// NumberKey is the form a number is indexed under: its digits, with a
// national 8 prefix of an 11-digit number read as 7 (8 777 … and +7 777 …
// are one citizen). "" for a number with fewer than 5 digits (withheld,
// internal).
func NumberKey(number string) string {
	var b strings.Builder
	for _, r := range number {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) < 5 || len(d) > 15 {
		return ""
	}
	if len(d) == 11 && d[0] == '8' {
		d = "7" + d[1:]
	}
	return d
}

func (s *Stream) noteKey(callID string) string { return s.prefix + "recnote:" + callID }

// Annotate sets the disposition and note of call callID (a later one
// replaces them) and adds caseIDs to its cases.
func (s *Stream) Annotate(ctx context.Context, callID string, d Disposition) error {
	if callID == "" {
		return ErrInvalid
	}
	key := s.noteKey(callID)
	pipe := s.rdb.TxPipeline()
	if d.Code != "" || d.Note != "" {
		pipe.HSet(ctx, key, "code", d.Code, "note", d.Note, "agent", d.Agent, "at", ms(d.At))
	}
	for _, c := range d.Cases {
		pipe.HSet(ctx, key, "case:"+c, 1)
	}
	pipe.PExpire(ctx, key, IndexTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("records: annotate %s: %w", callID, err)
	}
	return nil
}

// Annotation returns what Annotate stored for callID.
func (s *Stream) Annotation(ctx context.Context, callID string) (Disposition, error) {
	m, err := s.rdb.HGetAll(ctx, s.noteKey(callID)).Result()
	if err != nil {
		return Disposition{}, fmt.Errorf("records: annotation of %s: %w", callID, err)
	}
	return decodeNote(m), nil
}

func decodeNote(m map[string]string) Disposition {
	d := Disposition{Code: m["code"], Note: m["note"], Agent: m["agent"]}
	if at, _ := strconv.ParseInt(m["at"], 10, 64); at > 0 {
		d.At = time.UnixMilli(at)
	}
	for k := range m {
		if c, ok := strings.CutPrefix(k, "case:"); ok {
			d.Cases = append(d.Cases, c)
		}
	}
	slices.Sort(d.Cases)
	return d
}

// ByNumber returns the last n records of calls from number, newest first,
// with their dispositions.
func (s *Stream) ByNumber(ctx context.Context, number string, n int64) ([]Record, error) {
	k := NumberKey(number)
	if k == "" {
		return nil, nil
	}
	return s.indexed(ctx, s.prefix+"recnum:"+k, "+inf", "-inf", n)
}

// ByAgent returns operator agent's records of calls in [from, to], newest
// first, with their dispositions.
func (s *Stream) ByAgent(ctx context.Context, agent string, from, to time.Time, n int64) ([]Record, error) {
	return s.indexed(ctx, s.prefix+"recagent:"+agent, fmt.Sprint(ms(to)), fmt.Sprint(ms(from)), n)
}

func (s *Stream) indexed(ctx context.Context, key, max, min string, n int64) ([]Record, error) {
	ids, err := s.rdb.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{Max: max, Min: min, Count: n}).Result()
	if err != nil {
		return nil, fmt.Errorf("records: index %s: %w", key, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, s.key, id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("records: read %s: %w", key, err)
	}
	out := make([]Record, 0, len(ids))
	for _, c := range cmds {
		if msgs := c.Val(); len(msgs) == 1 { // trimmed from the stream: gone
			out = append(out, decode(msgs[0]))
		}
	}
	return out, s.withNotes(ctx, out)
}

// withNotes reads the dispositions of recs.
func (s *Stream) withNotes(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(recs))
	for i, r := range recs {
		cmds[i] = pipe.HGetAll(ctx, s.noteKey(r.CallID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("records: read dispositions: %w", err)
	}
	for i := range recs {
		recs[i].Disposition = decodeNote(cmds[i].Val())
	}
	return nil
}
