package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
)

// Conversations of a topic with record: true are recorded by Asterisk: a
// bridge recording starts once the citizen and the operator are both in
// the conversation's bridge, and stops when the conversation ends (its
// bridge goes). The recording is named recPrefix<unix start>-<call id>
// (dots as "_": Asterisk takes what follows a dot for the format), so
// that its age is known from the PBX's listing alone; the call's record
// names it. Stored recordings older than recordings.retention are deleted
// by the router's sweep.

const (
	recPrefix = "hotline-"
	// RecordingFormat is the format conversations are recorded in.
	RecordingFormat = "wav"
)

// ErrNoRecording: no such stored recording of hotline's.
var ErrNoRecording = errors.New("router: no such recording")

// Recording is one stored conversation recording.
type Recording struct {
	Name    string
	Format  string
	Started time.Time // when the conversation's recording began
}

// recordingName names a conversation's recording.
func recordingName(callID string, started time.Time) string {
	return recPrefix + strconv.FormatInt(started.Unix(), 10) + "-" + strings.ReplaceAll(callID, ".", "_")
}

// parseRecording reads the start time out of a name recordingName made.
func parseRecording(name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, recPrefix)
	if !ok {
		return time.Time{}, false
	}
	secs, callID, ok := strings.Cut(rest, "-")
	if !ok || callID == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// startRecording starts the conversation's recording when its topic
// records; a failure is logged, the conversation goes on.
func (c *call) startRecording() {
	if c.topic == nil || !c.topic.Record || c.bridgeID == "" || c.recName != "" {
		return
	}
	if name := c.r.recordBridge(c.log, c.bridgeID, c.id, &c.rec.Recording); name != "" {
		c.recName = name
	}
}

// recordBridge starts recording bridgeID, the conversation of call
// callID, under a name of its own, added to *names (the record's list);
// it returns the name, or "" when Asterisk refused (logged: the
// conversation goes on unrecorded).
func (r *Router) recordBridge(log *zap.Logger, bridgeID, callID string, names *string) string {
	name := recordingName(callID, r.now())
	for strings.Contains(","+*names+",", ","+name+",") {
		name += "x" // a second conversation within the same second
	}
	cctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.PBX.RecordBridge(cctx, bridgeID, name, RecordingFormat); err != nil {
		log.Error("recording the conversation", zap.String("recording", name), zap.Error(err))
		return ""
	}
	if *names == "" {
		*names = name
	} else {
		*names += "," + name
	}
	log.Info("recording the conversation", zap.String("recording", name))
	return name
}

// stopRecording stops the conversation's recording, if any, before its
// bridge goes (destroying the bridge would store it too).
func (c *call) stopRecording() {
	if c.recName == "" {
		return
	}
	name := c.recName
	c.recName = ""
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.StopRecording(cctx, name); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.log.Warn("stopping the recording", zap.String("recording", name), zap.Error(err))
	}
}

// playRecordingNotice tells a caller of a recording topic, once per call,
// that the conversation may be recorded, as they join the queue. It is
// stopped before the caller is bridged (bridge): on Asterisk an addChannel
// waits for the channel's playback to end and would outlast the command
// timeout; a caller answered within the notice hears it again, whole,
// once in the conversation (replayCutNotice).
func (c *call) playRecordingNotice() {
	if c.topic == nil || !c.topic.Record || c.noticePlayed {
		return
	}
	c.noticePlayed = true
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	c.noticeID = c.r.nextID("notice-" + c.id)
	if err := c.r.opt.PBX.Play(cctx, c.id, c.noticeID, c.sound(promptRecordingNotice)); err != nil {
		c.log.Warn("recording notice", zap.Error(err))
		c.noticeID = ""
	}
}

// replayCutNotice plays the recording notice again to a caller bridged
// before it ended: to their leg alone (Asterisk holds their audio from the
// bridge while it plays), so nobody is recorded without being told.
func (c *call) replayCutNotice() {
	if !c.noticeCut {
		return
	}
	c.noticeCut = false
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Play(cctx, c.id, c.r.nextID("notice-"+c.id), c.sound(promptRecordingNotice)); err != nil {
		c.log.Warn("recording notice, again in the conversation", zap.Error(err))
	}
}

// Recordings lists hotline's stored conversation recordings, newest first.
func (r *Router) Recordings(ctx context.Context) ([]Recording, error) {
	list, err := r.opt.PBX.StoredRecordings(ctx)
	if err != nil {
		return nil, fmt.Errorf("router: listing recordings: %w", err)
	}
	var out []Recording
	for _, s := range list {
		if at, ok := parseRecording(s.Name); ok {
			out = append(out, Recording{Name: s.Name, Format: s.Format, Started: at})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// RecordingFile opens a stored recording's audio; the caller closes it.
// Only names hotline gives its recordings are served.
func (r *Router) RecordingFile(ctx context.Context, name string) (io.ReadCloser, error) {
	if _, ok := parseRecording(name); !ok || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("router: recording %q: %w", name, ErrNoRecording)
	}
	rc, err := r.opt.PBX.RecordingFile(ctx, name)
	if errors.Is(err, pbx.ErrNotFound) {
		return nil, fmt.Errorf("router: recording %q: %w: %w", name, ErrNoRecording, err)
	}
	if err != nil {
		return nil, fmt.Errorf("router: recording %q: %w", name, err)
	}
	return rc, nil
}

// SweepRecordings deletes the stored recordings older than the config's
// retention by the router's clock; it returns how many went.
func (r *Router) SweepRecordings(ctx context.Context) (int, error) {
	keep := r.Config().Recordings.Retention.D()
	if keep <= 0 {
		return 0, nil
	}
	recs, err := r.Recordings(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := r.now().Add(-keep)
	n := 0
	var errs []error
	for _, rec := range recs {
		if !rec.Started.Before(cutoff) {
			continue
		}
		cctx, cancel := r.cmdCtx()
		err := r.opt.PBX.DeleteRecording(cctx, rec.Name)
		cancel()
		if err != nil && !errors.Is(err, pbx.ErrNotFound) {
			errs = append(errs, fmt.Errorf("router: deleting recording %s: %w", rec.Name, err))
			continue
		}
		n++
		r.log.Info("recording past its retention deleted", zap.String("recording", rec.Name), zap.Time("started", rec.Started))
	}
	return n, errors.Join(errs...)
}

// recordingSweepLoop runs SweepRecordings at start and every every.
func (r *Router) recordingSweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.SweepRecordings(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("recording retention sweep", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
