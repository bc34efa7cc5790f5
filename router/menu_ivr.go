package router

import (
	"context"
	"errors"
	"time"

	"github.com/hotline-acd/hotline/ivr"
	"github.com/hotline-acd/hotline/pbx"
)

// ivrMenu adapts the ivr package's driver to the call loop.
type ivrMenu struct{ d *ivr.Driver }

func (r *Router) newMenu(c *call) menuDriver {
	m := ivr.New(&c.cfg.IVR, c.lang)
	return ivrMenu{d: ivr.NewDriver(m, ivr.BindChannel(r.opt.PBX, c.id), ivr.Options{
		CallID:      c.id,
		SoundPrefix: r.opt.SoundPrefix,
		IsNotFound:  func(err error) bool { return errors.Is(err, pbx.ErrNotFound) },
	})}
}

func convert(o *ivr.Outcome, done bool, err error) (*menuOutcome, bool, error) {
	if !done || o == nil {
		return nil, done, err
	}
	out := &menuOutcome{Topic: o.Topic, Priority: o.Priority, Number: o.Number, Language: o.Language, Path: o.Path}
	switch o.Kind {
	case ivr.OutcomeQueue:
		out.Kind = menuQueue
	case ivr.OutcomeTransfer:
		out.Kind = menuTransfer
	default:
		out.Kind = menuHangup
	}
	return out, true, err
}

func (m ivrMenu) Start(ctx context.Context) (*menuOutcome, bool, error) {
	return convert(m.d.Start(ctx))
}

func (m ivrMenu) OnDigit(ctx context.Context, d string) (*menuOutcome, bool, error) {
	return convert(m.d.OnDigit(ctx, d))
}

func (m ivrMenu) OnPlaybackFinished(ctx context.Context, id, state string) (*menuOutcome, bool, error) {
	return convert(m.d.OnPlaybackFinished(ctx, id, state))
}

func (m ivrMenu) TimerC() <-chan time.Time { return m.d.TimerC() }

func (m ivrMenu) OnTimer(ctx context.Context) (*menuOutcome, bool, error) {
	return convert(m.d.OnTimer(ctx))
}

func (m ivrMenu) Stop(ctx context.Context) error { return m.d.Stop(ctx) }
