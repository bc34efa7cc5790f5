package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
)

// While hotline is not connected, Asterisk's fallback dialplan
// (deploy/asterisk/extensions.conf, [hotline-fallback]) queues callers for
// the operators directly and keeps each caller's number in AstDB under
// hotline_missed/<uniqueid> = "<number>|<epoch>". After every connect
// hotline reads them back and schedules a callback for each.
//
// ARI cannot read AstDB itself: Asterisk refuses DB() and DB_DELETE() to ARI
// unless live_dangerously is on, and it must stay off. So the dialplan
// ([hotline-dbsync]) does the AstDB work, a batch at a time, and hotline
// reads only plain channel variables:
//
//	originate Local/s@hotline-dbsync into extension read (no app)
//	read       up to outageBatch entries into HOTLINE_MISSED_COUNT,
//	           HOTLINE_MISSED_KEY_<i>, HOTLINE_MISSED_VAL_<i>; Stasis(hotline,db-sync)
//	hotline    GET the slots, schedule the callbacks in Redis, then
//	           continue to delete<n>: slots 1..n are dealt with
//	delete<n>  DB_DELETE the keys of slots 1..n; back to read
//	hotline    HOTLINE_MISSED_COUNT 0: hang up
//
// An entry leaves AstDB only once its callback is in Redis (or its number
// was refused and recorded as refused). hotline never sets a variable on
// the channel: after an ARI set, Asterisk 22.10 blocks dangerous functions
// on the channel's thread for good, and the dialplan's own DB() and
// DB_DELETE() would fail. Nothing hotline sends reaches an AstDB path: the
// dialplan deletes the keys it copied itself.
const (
	dbsyncContext = "hotline-dbsync"
	dbsyncRead    = "read"
	dbsyncDelete  = "delete" // + the number of slots dealt with, e.g. delete50
	argDBSync     = "db-sync"
	ReasonOutage  = "outage"

	// outageBatch is the most slots one read fills (extensions.conf).
	outageBatch = 50
	// outageBatchWait bounds the wait for each batch: the dialplan needs
	// milliseconds; the ;2 half's Wait(600) bounds the whole read-back.
	outageBatchWait = 30 * time.Second

	varMissedCount = "HOTLINE_MISSED_COUNT"
	varMissedKey   = "HOTLINE_MISSED_KEY_" // + slot 1..count
	varMissedVal   = "HOTLINE_MISSED_VAL_" // + slot 1..count

	// maxMissedKey is Asterisk's AST_MAX_PUBLIC_UNIQUEID.
	maxMissedKey = 150
)

// outageSync is one read-back of the missed callers.
type outageSync struct {
	r       *Router
	id      string
	inbox   *mailbox[msg]
	pending []msg
	log     *zap.Logger

	// seen holds every key met so far: one that comes back in a later
	// batch could not be deleted, and is not scheduled twice.
	seen map[string]bool
	// continued: a continue is out, so one StasisEnd is expected.
	continued bool

	batches, scheduled, refused, dropped int
}

// missedEntry is one slot of a batch as the dialplan copied it.
type missedEntry struct {
	slot     int
	key, val string
}

// syncOutage starts a read-back unless one is running.
func (r *Router) syncOutage(ctx context.Context) {
	if r.opt.Callbacks == nil || r.opt.OutageTopic == "" || !r.Config().CallbacksEnabled() ||
		!r.syncing.CompareAndSwap(false, true) {
		return
	}
	s := &outageSync{r: r, id: r.nextID("dbsync"), inbox: newMailbox[msg](), seen: map[string]bool{}}
	s.log = r.log.With(zap.String("call_id", s.id))
	r.addLeg(s.id, s.inbox)
	r.spawn(func() {
		defer r.syncing.Store(false)
		defer r.dropLeg(s.id)
		s.run(ctx)
	})
}

func (s *outageSync) run(ctx context.Context) {
	if err := s.originate(); err != nil {
		s.log.Warn("cannot read the callers missed during an outage (is [hotline-dbsync] in the dialplan?)", zap.Error(err))
		return
	}
	defer s.r.hangupQuietly(ctx, s.id, "normal")
	defer s.report()
	for s.awaitBatch(ctx) {
		batch, err := s.readBatch()
		if err != nil {
			s.log.Warn("reading missed callers; the rest stay in AstDB for the next connect", zap.Error(err))
			return
		}
		if len(batch) == 0 {
			return // AstDB holds no more
		}
		done, more := s.settle(batch)
		if done > 0 {
			if err := s.deleteSlots(done); err != nil {
				s.log.Warn("deleting missed callers; they stay in AstDB for the next connect", zap.Error(err))
				return
			}
		}
		if !more {
			if done > 0 {
				// Back in the application, the dialplan has finished its
				// deletes: only now may the channel go.
				s.awaitBatch(ctx)
			}
			return
		}
	}
}

// originate starts the Local channel whose ;1 half runs [hotline-dbsync]
// read; it enters the application by itself.
func (s *outageSync) originate() error {
	// Its events reach s.inbox for the whole read-back (syncOutage).
	err := s.r.dialLeg(nil, pbx.OriginateRequest{
		ChannelID: s.id, Endpoint: "Local/s@" + dbsyncContext, Context: dbsyncContext, Extension: dbsyncRead,
	})
	if err != nil {
		return fmt.Errorf("dbsync: %w", err)
	}
	return nil
}

// awaitBatch waits until the dialplan has copied a batch and entered the
// application; false when the channel ended, ctx ended or it took too long.
// Events a re-sync made up are ignored: one may describe the channel before
// the last continue, while the dialplan is still copying.
func (s *outageSync) awaitBatch(ctx context.Context) bool {
	deadline := time.NewTimer(outageBatchWait)
	defer deadline.Stop()
	for {
		m, ok := s.next(ctx, deadline.C)
		if !ok {
			return false
		}
		if m.resynced {
			continue
		}
		switch m.ev.Type {
		case pbx.StasisStart:
			if len(m.ev.Args) == 0 || m.ev.Args[0] != argDBSync {
				s.log.Warn("the dbsync channel entered the application with other arguments", zap.Strings("args", m.ev.Args))
				return false
			}
			s.continued = false
			s.batches++
			return true
		case pbx.StasisEnd:
			if s.continued {
				s.continued = false // ours: the dialplan deletes, then reads again
				continue
			}
			s.log.Warn("the dbsync channel left the application before the read-back was done")
			return false
		case pbx.ChannelDestroyed:
			s.log.Warn("the dbsync channel is gone before the read-back was done")
			return false
		}
	}
}

// next returns the sync's next event; false when ctx ends or the deadline
// passes first.
func (s *outageSync) next(ctx context.Context, deadline <-chan time.Time) (msg, bool) {
	for len(s.pending) == 0 {
		select {
		case <-ctx.Done():
			return msg{}, false
		case <-deadline:
			s.log.Warn("the dbsync channel did not come back to the application", zap.Int("batch", s.batches+1))
			return msg{}, false
		case <-s.inbox.C():
			s.pending = s.inbox.take()
		}
	}
	m := s.pending[0]
	s.pending = s.pending[1:]
	return m, true
}

// readBatch reads the slots the dialplan filled, all of them before
// anything is scheduled, so that a read error leaves AstDB as it was.
func (s *outageSync) readBatch() ([]missedEntry, error) {
	raw, err := s.getVar(varMissedCount)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > outageBatch {
		return nil, fmt.Errorf("dbsync %s: %s=%q: not 0..%d, is the dialplan hotline's?", s.id, varMissedCount, raw, outageBatch)
	}
	batch := make([]missedEntry, 0, n)
	for i := 1; i <= n; i++ {
		e := missedEntry{slot: i}
		if e.key, err = s.getVar(varMissedKey + strconv.Itoa(i)); err != nil {
			return nil, err
		}
		if e.val, err = s.getVar(varMissedVal + strconv.Itoa(i)); err != nil {
			return nil, err
		}
		batch = append(batch, e)
	}
	return batch, nil
}

func (s *outageSync) getVar(name string) (string, error) {
	cctx, cancel := s.r.cmdCtx()
	defer cancel()
	v, err := s.r.opt.PBX.GetVariable(cctx, s.id, name)
	if err != nil {
		return "", fmt.Errorf("dbsync %s: reading %s: %w", s.id, name, err)
	}
	return v, nil
}

// settle schedules the batch's callbacks in slot order. done is how many
// leading slots may be deleted; more is false when the read-back should
// stop: the store failed (the rest stay for the next connect), or every
// entry came back from an earlier batch (the dialplan cannot delete them).
func (s *outageSync) settle(batch []missedEntry) (done int, more bool) {
	fresh := 0
	for i, e := range batch {
		if s.seen[e.key] {
			continue // dealt with in an earlier batch
		}
		s.seen[e.key] = true
		fresh++
		if err := s.settleOne(e); err != nil {
			s.log.Warn("missed caller not scheduled; it and the rest stay in AstDB for the next connect",
				zap.Int("slot", e.slot), zap.Error(err))
			return i, false
		}
	}
	if fresh == 0 {
		s.log.Warn("AstDB entries the dialplan cannot delete; stopping the read-back", zap.Int("entries", len(batch)))
		return 0, false
	}
	return len(batch), true
}

// settleOne deals with one entry: a callback scheduled, a refused number
// (recorded by the store), or an entry not worth keeping. Only an error
// (the store failed) keeps the entry in AstDB.
func (s *outageSync) settleOne(e missedEntry) error {
	if !validMissedKey(e.key) {
		s.dropped++
		s.log.Warn("malformed AstDB entry dropped", zap.Int("slot", e.slot), zap.String("key", strconv.Quote(clip(e.key, 64))))
		return nil
	}
	if strings.TrimSpace(e.val) == "" {
		// Gone between the dialplan's DB_KEYS and DB() (the fallback queue
		// put the caller through after all), or a key cut in half by the
		// dialplan's 4 KB limit: nothing to schedule.
		return nil
	}
	now := s.r.now()
	number, at := parseMissed(e.val, now)
	cctx, cancel := s.r.cmdCtx()
	defer cancel()
	_, err := s.r.opt.Callbacks.Schedule(cctx, CallbackRequest{
		Number: number, Topic: s.r.opt.OutageTopic, Language: defaultLanguage(s.r.Config()),
		Reason: ReasonOutage, QueueTime: at, SourceCallID: e.key, Note: "caller reached the fallback while hotline was down",
	}, now)
	switch {
	case err == nil:
		s.scheduled++
		return nil
	case errors.Is(err, ErrNumberRefused):
		s.refused++
		s.log.Info("missed caller's number refused", zap.String("key", e.key), zap.Error(err))
		return nil
	}
	return fmt.Errorf("dbsync %s: callback for %s: %w", s.id, e.key, err)
}

// deleteSlots sends the channel to delete<done>, which deletes the keys of
// slots 1..done and reads the next batch.
func (s *outageSync) deleteSlots(done int) error {
	s.continued = true
	cctx, cancel := s.r.cmdCtx()
	defer cancel()
	if err := s.r.opt.PBX.Continue(cctx, s.id, dbsyncContext, dbsyncDelete+strconv.Itoa(done)); err != nil {
		s.continued = false
		return fmt.Errorf("dbsync %s: continue to %s%d: %w", s.id, dbsyncDelete, done, err)
	}
	return nil
}

func (s *outageSync) report() {
	s.log.Info("outage read-back finished", zap.Int("batches", s.batches), zap.Int("callbacks", s.scheduled),
		zap.Int("refused", s.refused), zap.Int("dropped", s.dropped))
	if s.scheduled > 0 {
		s.r.kickPromotion()
	}
}

// validMissedKey accepts what the fallback writes as a key, an Asterisk
// uniqueid ("1795419909.12", or "<systemname>-1795419909.12"): nothing
// that could mean something else in a log line, a record or a dialplan
// function argument.
func validMissedKey(k string) bool {
	if k == "" || len(k) > maxMissedKey {
		return false
	}
	for _, c := range k {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseMissed splits "<number>|<epoch>"; a missing or bad time is now.
func parseMissed(val string, now time.Time) (string, time.Time) {
	number, epoch, _ := strings.Cut(val, "|")
	at := now
	if sec, err := strconv.ParseInt(strings.TrimSpace(epoch), 10, 64); err == nil && sec > 0 && sec <= now.Unix() {
		at = time.Unix(sec, 0)
	}
	return strings.TrimSpace(number), at
}
