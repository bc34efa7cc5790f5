package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/fleet"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
	"github.com/hotline-acd/hotline/router"
)

// peers forwards offers to the instance holding the caller (router.Peers).
type peers struct{ a *App }

func (p peers) Forward(ctx context.Context, app string, o router.Offer) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("app: offer for call %s: %w", o.CallID, err)
	}
	err = p.a.fleet.Forward(ctx, app, b)
	if errors.Is(err, fleet.ErrNoReceiver) {
		return fmt.Errorf("app: offer for call %s: %w (%w)", o.CallID, router.ErrNoPeer, err)
	}
	return err
}

// Runs reports (router.ErrNoPeer) whether no process runs app's router.
func (p peers) Runs(ctx context.Context, app string) error {
	err := p.a.fleet.Probe(ctx, app)
	if errors.Is(err, fleet.ErrNoReceiver) {
		return fmt.Errorf("app: %s: %w (%w)", app, router.ErrNoPeer, err)
	}
	return err
}

// takenIdleFor is how long the router of an application taken over from a
// dead instance runs with no call before the application is forgotten.
const takenIdleFor = 30 * time.Second

// runApp is the fleet's Runner: this instance's own application runs the
// PBX connection and router built by New; one taken over from an instance
// that died gets a connection and a router of its own, which adopt its
// calls as a restarted instance would.
func (a *App) runApp(ctx context.Context, app string, forwarded <-chan fleet.Message) error {
	if app == a.router.App() {
		err := a.serve(ctx, a.pbx, a.router, forwarded, a.replaced, false)
		if err == nil && ctx.Err() == nil {
			err = errors.New("the PBX connection or the router stopped")
		}
		return err
	}
	replaced := make(chan struct{})
	var once sync.Once
	opt := a.opt.ARI
	opt.App = app
	opt.OnReplaced = func() { once.Do(func() { close(replaced) }) }
	client := ariadapter.New(opt, a.log.Named("ari").With(zap.String("app", app)))
	defer client.Close()
	ropt := a.ropt
	ropt.PBX, ropt.App = client, app
	ropt.Log = a.ropt.Log.With(zap.String("app", app))
	ropt.OnHandover = nil // the demo's figures are this instance's own
	ropt.Adopter, ropt.HostApp = true, a.router.App()
	r, err := router.New(ropt)
	if err != nil {
		return fmt.Errorf("app: router for %s: %w", app, err)
	}
	a.addRouter(r)
	defer a.dropRouter(r)
	return a.serve(ctx, client, r, forwarded, replaced, true)
}

// serve runs one application's PBX connection and router until ctx ends,
// the application is taken by another WebSocket, or (idleEnds) the router
// has held no call for takenIdleFor.
func (a *App) serve(ctx context.Context, client *ariadapter.Client, r *router.Router, forwarded <-chan fleet.Message, replaced <-chan struct{}, idleEnds bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(3)
	go func() {
		defer wg.Done()
		defer cancel()
		if err := client.Run(ctx); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("pbx %s: %w", client.App(), err)
		}
	}()
	go func() {
		defer wg.Done()
		defer cancel()
		if err := r.Run(ctx, client.Events()); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("router %s: %w", client.App(), err)
		}
	}()
	go func() {
		defer wg.Done()
		var answers sync.WaitGroup
		defer answers.Wait()
		for {
			var m fleet.Message
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-forwarded:
				if !ok {
					return
				}
				m = msg
			}
			if m.IsRequest() {
				// A transfer waits for the call's answer: not in this loop.
				answers.Add(1)
				go func() {
					defer answers.Done()
					a.answer(ctx, r, m)
				}()
				continue
			}
			var o router.Offer
			if err := json.Unmarshal(m.Body, &o); err != nil || o.CallID == "" {
				a.log.Warn("fleet: undecodable forwarded offer", zap.String("app", client.App()), zap.Error(err))
				continue
			}
			r.Offer(o)
		}
	}()
	var idle <-chan time.Time
	if idleEnds {
		t := time.NewTicker(takenIdleFor / 6)
		defer t.Stop()
		idle = t.C
	}
	idleSince := time.Time{}
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-replaced:
			err = fmt.Errorf("app: %s: another WebSocket took the application", client.App())
			break loop
		case <-idle:
			if !r.Idle() || !client.Connected() {
				idleSince = time.Time{}
				continue
			}
			if now := a.opt.Now(); idleSince.IsZero() {
				idleSince = now
			} else if now.Sub(idleSince) >= takenIdleFor {
				break loop
			}
		}
	}
	cancel()
	wg.Wait()
	select {
	case e := <-errc:
		return e
	default:
	}
	return err
}
