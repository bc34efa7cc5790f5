package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx"
)

// dbsyncPBX fakes the PBX side of the read-back: [hotline-dbsync] as
// extensions.conf has it (batches of outageBatch copied into the slot
// variables, delete<n> deleting the first n slots' keys), over a sorted
// AstDB family. Calls are recorded; getErr, if set, fails a variable read;
// stuck makes every delete a no-op.
type dbsyncPBX struct {
	PBX // anything else the sync must not call: a nil-interface panic
	r   *Router

	db     map[string]string
	getErr func(name string) error
	stuck  bool

	mu      sync.Mutex
	slots   []string // the keys of the current batch
	vars    map[string]string
	calls   []string
	deleted []string
}

func (p *dbsyncPBX) log(format string, a ...any) {
	p.calls = append(p.calls, fmt.Sprintf(format, a...))
}

// read is extension read, then Stasis(hotline,db-sync).
func (p *dbsyncPBX) read(id string) {
	keys := make([]string, 0, len(p.db))
	for k := range p.db {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	p.slots = keys[:min(len(keys), outageBatch)]
	p.vars = map[string]string{varMissedCount: strconv.Itoa(len(p.slots))}
	for i, k := range p.slots {
		p.vars[varMissedKey+strconv.Itoa(i+1)] = k
		p.vars[varMissedVal+strconv.Itoa(i+1)] = p.db[k]
	}
	p.r.route(context.Background(), pbx.Event{Type: pbx.StasisStart, ChannelID: id, Args: []string{argDBSync}})
}

func (p *dbsyncPBX) Originate(_ context.Context, req pbx.OriginateRequest) (pbx.Channel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log("originate %s %s,%s args=%v", req.Endpoint, req.Context, req.Extension, req.Args)
	p.read(req.ChannelID)
	return pbx.Channel{ID: req.ChannelID}, nil
}

func (p *dbsyncPBX) GetVariable(_ context.Context, id, name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if strings.ContainsAny(name, "()") {
		return "", fmt.Errorf("HTTP 500 %q: a function over ARI", name)
	}
	if p.getErr != nil {
		if err := p.getErr(name); err != nil {
			return "", err
		}
	}
	v, ok := p.vars[name]
	if !ok {
		return "", pbx.ErrNotFound
	}
	return v, nil
}

func (p *dbsyncPBX) SetVariable(_ context.Context, id, name, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log("set %s", name) // it would break the dialplan's DB functions
	return nil
}

func (p *dbsyncPBX) Continue(_ context.Context, id, dpContext, exten string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log("continue %s,%s", dpContext, exten)
	n, err := strconv.Atoi(strings.TrimPrefix(exten, dbsyncDelete))
	if dpContext != dbsyncContext || err != nil {
		return fmt.Errorf("no such extension %s,%s", dpContext, exten)
	}
	p.r.route(context.Background(), pbx.Event{Type: pbx.StasisEnd, ChannelID: id})
	for _, k := range p.slots[:min(n, len(p.slots))] {
		if !p.stuck {
			delete(p.db, k)
			p.deleted = append(p.deleted, k)
		}
	}
	p.read(id)
	return nil
}

func (p *dbsyncPBX) Hangup(_ context.Context, id, reason string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log("hangup")
	return nil
}

// fakeCallbacks schedules into a map; schedule, if set, may refuse or fail.
type fakeCallbacks struct {
	Callbacks
	mu       sync.Mutex
	schedule func(req CallbackRequest) error
	owed     map[string]CallbackRequest // by SourceCallID
}

func (f *fakeCallbacks) Schedule(_ context.Context, req CallbackRequest, _ time.Time) (CallbackTicket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.schedule != nil {
		if err := f.schedule(req); err != nil {
			return CallbackTicket{}, err
		}
	}
	f.owed[req.SourceCallID] = req
	return CallbackTicket{ID: "cb-" + req.SourceCallID, Created: true}, nil
}

type nopACD struct{ ACD }
type nopAgents struct{ Agents }
type nopRecorder struct{ Recorder }

// runSync runs one read-back against p and cb (nil: one that schedules
// everything) to its end.
func runSync(t *testing.T, p *dbsyncPBX, cb *fakeCallbacks) *fakeCallbacks {
	t.Helper()
	if cb == nil {
		cb = &fakeCallbacks{}
	}
	cb.owed = map[string]CallbackRequest{}
	cfg := &config.Config{}
	cfg.Callbacks.Enabled = true
	now := time.Unix(1795423000, 0)
	r, err := New(Options{PBX: p, ACD: nopACD{}, Agents: nopAgents{}, Records: nopRecorder{}, Config: cfg,
		Callbacks: cb, OutageTopic: "general", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	p.r = r
	r.syncOutage(context.Background())
	r.wg.Wait()
	return cb
}

func missedDB(n int) map[string]string {
	db := map[string]string{}
	for i := 0; i < n; i++ {
		db[fmt.Sprintf("1795419909.%03d", i)] = fmt.Sprintf("7900500%04d|1795419909", i)
	}
	return db
}

// The read-back steps the dialplan batch by batch and hangs up once a
// batch is empty; every deleted key was scheduled first, and nothing but
// plain variables is read.
func TestOutageSyncBatches(t *testing.T) {
	p := &dbsyncPBX{db: missedDB(120)}
	cb := runSync(t, p, nil)
	want := []string{
		"originate Local/s@hotline-dbsync hotline-dbsync,read args=[]",
		"continue hotline-dbsync,delete50", "continue hotline-dbsync,delete50", "continue hotline-dbsync,delete20",
		"hangup",
	}
	if !slices.Equal(p.calls, want) {
		t.Fatalf("calls %q, want %q", p.calls, want)
	}
	if len(p.db) != 0 || len(p.deleted) != 120 || len(cb.owed) != 120 {
		t.Fatalf("left %d, deleted %d, owed %d", len(p.db), len(p.deleted), len(cb.owed))
	}
	req := cb.owed["1795419909.007"]
	if req.Number != "79005000007" || req.Reason != ReasonOutage || req.Topic != "general" || req.QueueTime.Unix() != 1795419909 {
		t.Fatalf("request %+v", req)
	}
}

// When the store fails, only the slots before the failure are deleted and
// the read-back stops once the dialplan has deleted them; the rest stay in
// AstDB for the next connect.
func TestOutageSyncStoreFailureKeepsTheRest(t *testing.T) {
	var tried int
	cb := &fakeCallbacks{schedule: func(req CallbackRequest) error {
		tried++
		if req.SourceCallID == "1795419909.062" {
			return errors.New("redis: connection refused")
		}
		return nil
	}}
	p := &dbsyncPBX{db: missedDB(120)}
	runSync(t, p, cb)
	want := []string{
		"originate Local/s@hotline-dbsync hotline-dbsync,read args=[]",
		"continue hotline-dbsync,delete50", "continue hotline-dbsync,delete12", "hangup",
	}
	if !slices.Equal(p.calls, want) {
		t.Fatalf("calls %q, want %q", p.calls, want)
	}
	if len(p.db) != 58 || tried != 63 {
		t.Fatalf("%d left in AstDB (want 58), %d schedules tried (want 63)", len(p.db), tried)
	}
	if _, ok := p.db["1795419909.062"]; !ok {
		t.Fatal("the entry whose callback failed was deleted")
	}
}

// A refused number is dealt with (the store recorded it); a malformed key
// or an empty value is dropped without asking the store; a read error
// leaves the batch alone.
func TestOutageSyncMalformedEntries(t *testing.T) {
	db := missedDB(3)
	db["1795419909.500"] = "anonymous|1795419909"
	db["1795419909.501"] = ""
	db["1795419909.502"] = "garbage without a bar"
	db["bad key(1)"] = "79005009999|1795419909"
	db["x;Hangup()"] = "79005009998|1795419909"
	cb := &fakeCallbacks{schedule: func(req CallbackRequest) error {
		if !strings.HasPrefix(req.Number, "7900500") {
			return fmt.Errorf("%w: %q", ErrNumberRefused, req.Number)
		}
		return nil
	}}
	p := &dbsyncPBX{db: db}
	runSync(t, p, cb)
	if len(p.db) != 0 || len(cb.owed) != 3 {
		t.Fatalf("left %v, owed %v", p.db, cb.owed)
	}
	for _, c := range p.calls {
		if strings.HasPrefix(c, "set ") {
			t.Fatalf("a variable was set on the dbsync channel: %s", c)
		}
	}

	p = &dbsyncPBX{db: missedDB(10), getErr: func(name string) error {
		if name == varMissedVal+"7" {
			return pbx.ErrNotFound
		}
		return nil
	}}
	cb = runSync(t, p, nil)
	if len(p.db) != 10 || len(cb.owed) != 0 || !slices.Equal(p.calls[1:], []string{"hangup"}) {
		t.Fatalf("after a read error: left %d, owed %d, calls %q", len(p.db), len(cb.owed), p.calls)
	}
}

// Entries the dialplan cannot delete come back in every batch: the
// read-back schedules them once and stops instead of looping.
func TestOutageSyncStopsWhenNothingIsDeleted(t *testing.T) {
	var scheduled int
	cb := &fakeCallbacks{schedule: func(CallbackRequest) error { scheduled++; return nil }}
	// A dialplan whose deletes do nothing, as on a channel ARI has set a
	// variable on.
	p := &dbsyncPBX{db: missedDB(2), stuck: true}
	runSync(t, p, cb)
	want := []string{"originate Local/s@hotline-dbsync hotline-dbsync,read args=[]", "continue hotline-dbsync,delete2", "hangup"}
	if scheduled != 2 || !slices.Equal(p.calls, want) {
		t.Fatalf("%d scheduled, calls %q", scheduled, p.calls)
	}
}

func TestValidMissedKey(t *testing.T) {
	for k, want := range map[string]bool{
		"1795419909.12": true, "pbx-1-1795419909.12": true, "a_b.c": true,
		"": false, "a/b": false, "a(b": false, "a)": false, "a,b": false, "a;b": false, "a b": false,
		`a\`: false, "a\n": false, "${X}": false, strings.Repeat("1", 151): false,
	} {
		if got := validMissedKey(k); got != want {
			t.Errorf("validMissedKey(%q) = %v", k, got)
		}
	}
}
