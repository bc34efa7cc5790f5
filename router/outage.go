package router

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
)

// While hotline is not connected, Asterisk's fallback dialplan
// (deploy/asterisk/extensions.conf, [hotline-fallback]) queues callers for
// the operators directly and keeps each caller's number in AstDB under
// hotline_missed/<uniqueid> = "<number>|<epoch>". ARI cannot read AstDB
// without a channel, so after every connect hotline originates a Local
// channel into [hotline-dbsync], reads the family through it and schedules
// a callback for every caller the outage left unserved.
const (
	outageFamily  = "hotline_missed"
	dbsyncContext = "hotline-dbsync"
	argDBSync     = "db-sync"
	ReasonOutage  = "outage"
)

// outageSync is one read-back of the missed callers.
type outageSync struct {
	r     *Router
	id    string
	inbox *mailbox[msg]
	log   *zap.Logger
}

// syncOutage starts a read-back unless one is running.
func (r *Router) syncOutage(ctx context.Context) {
	if r.opt.Callbacks == nil || r.opt.OutageTopic == "" || !r.Config().CallbacksEnabled() ||
		!r.syncing.CompareAndSwap(false, true) {
		return
	}
	s := &outageSync{r: r, id: r.nextID("dbsync"), inbox: newMailbox[msg]()}
	s.log = r.log.With(zap.String("call_id", s.id))
	r.addLeg(s.id, s.inbox)
	r.spawn(func() {
		defer r.syncing.Store(false)
		defer r.dropLeg(s.id)
		s.run(ctx)
	})
}

func (s *outageSync) run(ctx context.Context) {
	r := s.r
	cctx, cancel := r.cmdCtx()
	_, err := r.opt.PBX.Originate(cctx, pbx.OriginateRequest{
		ChannelID: s.id, Endpoint: "Local/s@" + dbsyncContext, Args: []string{argDBSync},
	})
	cancel()
	if err != nil {
		s.log.Warn("cannot read the callers missed during an outage (is [hotline-dbsync] in the dialplan?)", zap.Error(err))
		return
	}
	defer r.hangupQuietly(ctx, s.id, "normal")
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			s.log.Warn("the dbsync channel never entered the application")
			return
		case <-s.inbox.C():
			for _, m := range s.inbox.take() {
				switch m.ev.Type {
				case pbx.StasisStart:
					s.read()
					return
				case pbx.ChannelDestroyed, pbx.StasisEnd:
					return
				}
			}
		}
	}
}

// read schedules a callback for each missed caller, deleting the AstDB
// entry only once the callback is safely in Redis.
func (s *outageSync) read() {
	r := s.r
	cctx, cancel := r.cmdCtx()
	defer cancel()
	keys, err := r.opt.PBX.GetVariable(cctx, s.id, "DB_KEYS("+outageFamily+")")
	if err != nil {
		s.log.Warn("reading missed callers", zap.Error(err))
		return
	}
	n := 0
	for _, key := range strings.Split(keys, ",") {
		key = strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, "/()") {
			continue
		}
		entry := outageFamily + "/" + key
		val, err := r.opt.PBX.GetVariable(cctx, s.id, "DB("+entry+")")
		if err != nil {
			s.log.Warn("reading a missed caller", zap.String("key", key), zap.Error(err))
			continue
		}
		number, at := parseMissed(val, r.now())
		_, err = r.opt.Callbacks.Schedule(cctx, CallbackRequest{
			Number: number, Topic: r.opt.OutageTopic, Language: defaultLanguage(r.Config()),
			Reason: ReasonOutage, QueueTime: at, SourceCallID: key, Note: "caller reached the fallback while hotline was down",
		}, r.now())
		if err != nil {
			// A refused number is recorded by the store; either way the entry
			// has been dealt with and must not be read again and again.
			s.log.Info("missed caller not scheduled", zap.String("key", key), zap.Error(err))
		} else {
			n++
		}
		if _, err := r.opt.PBX.GetVariable(cctx, s.id, "DB_DELETE("+entry+")"); err != nil {
			s.log.Warn("deleting a missed caller", zap.String("key", key), zap.Error(err))
		}
	}
	if n > 0 {
		s.log.Info("callbacks scheduled for callers missed during an outage", zap.Int("callbacks", n))
		r.kickPromotion()
	}
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
