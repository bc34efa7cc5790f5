package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
)

// outbox is a record outbox that a written record leaves, as
// records.Stream's does (AppendOnce empties it).
type outbox struct {
	owed    []records.Record // oldest first
	written map[string]int
}

func (o *outbox) Owed(_ context.Context, _ time.Time, offset, n int64) ([]records.Record, error) {
	if offset >= int64(len(o.owed)) {
		return nil, nil
	}
	return append([]records.Record(nil), o.owed[offset:min(offset+n, int64(len(o.owed)))]...), nil
}

func (o *outbox) Append(_ context.Context, rec records.Record) (string, error) {
	o.written[rec.CallID]++
	for i, r := range o.owed {
		if r.CallID == rec.CallID {
			o.owed = append(o.owed[:i], o.owed[i+1:]...)
			break
		}
	}
	return "1-0", nil
}

// unknownCalls is an ACD that knows no call, so none is held elsewhere.
type unknownCalls struct{ ACD }

func (unknownCalls) Lookup(context.Context, string) (CallerState, error) { return CallerState{}, nil }

// noChannels is a PBX that holds none of the outbox's calls.
type noChannels struct{ PBX }

func (noChannels) ChannelExists(context.Context, string) (bool, error) { return false, nil }

// At peak more live calls than one read takes come before the vanished
// ones in the outbox: one pass still writes every vanished call's record,
// and none of a live call.
func TestWriteOwedReadsPastTheLiveCalls(t *testing.T) {
	now := time.Unix(1795423000, 0)
	box := &outbox{written: map[string]int{}}
	live := map[string]bool{}
	for i := range 2*owedBatch + 500 {
		id := fmt.Sprintf("call-%05d", i)
		if i < owedBatch+500 {
			live[id] = true // waiting or talking on some instance
		}
		box.owed = append(box.owed, records.Record{CallID: id, EndedAt: now.Add(-time.Hour)})
	}
	r, err := New(Options{PBX: noChannels{}, ACD: unknownCalls{}, Agents: nopAgents{}, Records: box, Config: &config.Config{},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r.writeOwed(live)
	if len(box.written) != owedBatch {
		t.Fatalf("%d records written, want the %d vanished calls'", len(box.written), owedBatch)
	}
	for id, n := range box.written {
		if live[id] || n != 1 {
			t.Fatalf("%s written %d times (live %v)", id, n, live[id])
		}
	}
	if len(box.owed) != owedBatch+500 {
		t.Fatalf("%d left owed, want the %d live calls", len(box.owed), owedBatch+500)
	}
}
