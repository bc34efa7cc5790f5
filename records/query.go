package records

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Page sizes of Query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// scanFactor bounds one Query: it reads at most scanFactor × Limit
	// stream entries, then returns what matched with a cursor.
	scanFactor = 10
)

// callbackPrefix starts every callback's call id (callbacks.CallIDPrefix):
// its audit entries are "cb-<id>", its attempts "cb-<id>-a<n>".
const callbackPrefix = "cb-"

// IsCallbackAudit reports whether r is an entry of the callbacks' audit
// (an action on callback r.Callback: scheduled, cancelled, reached, …,
// appended with call id "cb-<id>" and outcome "callback_<action>") rather
// than a call or a callback attempt.
func (r Record) IsCallbackAudit() bool {
	return r.Callback != "" && r.CallID == callbackPrefix+r.Callback
}

// Filter selects records for Query. Empty fields select everything.
type Filter struct {
	// From and To bound the time the record was written (its stream id:
	// the end of the call), From included, To excluded; zero: open.
	From, To time.Time
	Topic    string
	Agent    string // the operator who answered
	Outcome  string
	Number   string // the citizen's number in any form NumberKey reads
	// After is the cursor: the id of the last entry the previous page
	// covered (Query's next).
	After string
	// Limit is the page size: DefaultLimit when <= 0, at most MaxLimit.
	Limit int
	// Audit includes the callbacks' audit entries, which are left out by
	// default: they are actions on callbacks, not calls.
	Audit bool
}

var idPattern = regexp.MustCompile(`^[0-9]{1,19}-[0-9]{1,19}$`)

// ValidCursor reports whether s may be a Filter.After (a stream id).
func ValidCursor(s string) bool { return idPattern.MatchString(s) }

// Query returns up to f.Limit records matching f, oldest first, with
// their dispositions, and the cursor of the next page ("" when the range
// is exhausted). The range is read with XRANGE between ids made from
// From and To and filtered here; one call reads at most 10 × Limit
// entries, so a page may come back short (even empty) with a cursor when
// few entries match: keep calling with After = next until next is "".
func (s *Stream) Query(ctx context.Context, f Filter) ([]Record, string, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	number := ""
	if f.Number != "" {
		if number = NumberKey(f.Number); number == "" {
			return nil, "", fmt.Errorf("%w: number %q has too few or too many digits", ErrInvalid, f.Number)
		}
	}
	start, end := "-", "+"
	if !f.From.IsZero() {
		start = strconv.FormatInt(f.From.UnixMilli(), 10) + "-0"
	}
	if !f.To.IsZero() {
		end = "(" + strconv.FormatInt(f.To.UnixMilli(), 10) + "-0"
	}
	if f.After != "" {
		if !ValidCursor(f.After) {
			return nil, "", fmt.Errorf("%w: cursor %q is not a stream id", ErrInvalid, f.After)
		}
		if start == "-" || idLess(start, f.After) || start == f.After {
			start = "(" + f.After
		}
	}
	budget := scanFactor * f.Limit
	chunk := int64(min(budget, 2*f.Limit))
	var out []Record
	last := ""
	for budget > 0 {
		n := min(chunk, int64(budget))
		msgs, err := s.rdb.XRangeN(ctx, s.key, start, end, n).Result()
		if err != nil {
			return nil, "", fmt.Errorf("records: query: %w", err)
		}
		for _, m := range msgs {
			budget--
			last = m.ID
			r := decode(m)
			if !f.match(r, number) {
				continue
			}
			out = append(out, r)
			if len(out) == f.Limit {
				return out, last, s.withNotes(ctx, out)
			}
		}
		if int64(len(msgs)) < n {
			return out, "", s.withNotes(ctx, out) // the range is exhausted
		}
		start = "(" + last
	}
	return out, last, s.withNotes(ctx, out)
}

func (f Filter) match(r Record, number string) bool {
	switch {
	case !f.Audit && r.IsCallbackAudit():
		return false
	case f.Topic != "" && r.Topic != f.Topic,
		f.Agent != "" && r.Agent != f.Agent,
		f.Outcome != "" && r.Outcome != f.Outcome,
		number != "" && NumberKey(r.CallerNumber) != number:
		return false
	}
	return true
}

// idLess compares stream ids "<ms>-<seq>" (both valid).
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (uint64, uint64) {
	for i := range len(id) {
		if id[i] == '-' {
			ms, _ := strconv.ParseUint(id[:i], 10, 64)
			seq, _ := strconv.ParseUint(id[i+1:], 10, 64)
			return ms, seq
		}
	}
	return 0, 0
}
