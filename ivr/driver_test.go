package ivr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock hands out timers that fire only when Advance passes them.
type fakeClock struct {
	now    time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Duration
	stopped bool
	fired   bool
}

func (f *fakeTimer) C() <-chan time.Time { return f.c }
func (f *fakeTimer) Stop() bool {
	active := !f.stopped && !f.fired
	f.stopped = true
	return active
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now + d}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.now += d
	for _, t := range c.timers {
		if !t.stopped && !t.fired && t.at <= c.now {
			t.fired = true
			t.c <- time.Unix(0, 0).Add(t.at)
		}
	}
}

// recPlayer records calls as "play id media..." / "stop id"; the optional
// funcs return errors.
type recPlayer struct {
	calls   []string
	playErr func(id string) error
	stopErr func(id string) error
}

func (p *recPlayer) Play(_ context.Context, id string, media ...string) error {
	p.calls = append(p.calls, "play "+id+" "+strings.Join(media, " "))
	if p.playErr != nil {
		return p.playErr(id)
	}
	return nil
}

func (p *recPlayer) StopPlayback(_ context.Context, id string) error {
	p.calls = append(p.calls, "stop "+id)
	if p.stopErr != nil {
		return p.stopErr(id)
	}
	return nil
}

func (p *recPlayer) take() string {
	s := strings.Join(p.calls, "; ")
	p.calls = nil
	return s
}

var errGone = errors.New("gone")

func newTestDriver() (*Driver, *recPlayer, *fakeClock) {
	p := &recPlayer{}
	clk := &fakeClock{}
	d := NewDriver(New(testMenu(), "ru"), p, Options{
		CallID:     "c1",
		NewTimer:   clk.NewTimer,
		IsNotFound: func(err error) bool { return errors.Is(err, errGone) },
	})
	return d, p, clk
}

// fire receives from TimerC if ready and calls OnTimer, as the router's
// select does.
func fire(t *testing.T, d *Driver) (*Outcome, bool, error) {
	t.Helper()
	select {
	case <-d.TimerC():
		return d.OnTimer(context.Background())
	default:
		t.Fatal("timer not ready")
		return nil, false, nil
	}
}

func timerReady(d *Driver) bool {
	select {
	case <-d.TimerC():
		return true
	default:
		return false
	}
}

// none returns a check that a driver call neither failed nor ended the menu:
// none(t)(d.OnDigit(ctx, "1")).
func none(t *testing.T) func(*Outcome, bool, error) {
	t.Helper()
	return func(o *Outcome, done bool, err error) {
		t.Helper()
		if err != nil || done || o != nil {
			t.Fatalf("unexpected: outcome %+v done %v err %v", o, done, err)
		}
	}
}

func TestDriverHappyPath(t *testing.T) {
	ctx := context.Background()
	d, p, clk := newTestDriver()

	none(t)(d.Start(ctx))
	if got, want := p.take(), "play c1-ivr-1 sound:hotline/ru/welcome sound:hotline/ru/choose_language"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if d.TimerC() != nil {
		t.Fatal("timer runs while prompts play")
	}
	clk.Advance(time.Minute)
	none(t)(d.OnPlaybackFinished(ctx, "other-call-ivr-1", "done")) // not ours
	none(t)(d.OnPlaybackFinished(ctx, "c1-ivr-1", "done"))
	clk.Advance(4900 * time.Millisecond)
	if timerReady(d) {
		t.Fatal("first-digit timer fired early")
	}
	none(t)(d.OnDigit(ctx, "2"))
	if got, want := p.take(), "play c1-ivr-2 sound:hotline/kk/choose_topic"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if d.TimerC() != nil {
		t.Fatal("old timer still selected")
	}
	clk.Advance(time.Second)
	if timerReady(d) {
		t.Fatal("cancelled timer fired")
	}

	// Barge-in: the prompt is stopped; the PlaybackFinished "done" that
	// Asterisk sends after the DELETE is ignored.
	o, done, err := d.OnDigit(ctx, "3")
	if err != nil || !done || o == nil {
		t.Fatalf("outcome %+v done %v err %v", o, done, err)
	}
	if got, want := p.take(), "stop c1-ivr-2"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if o.Kind != OutcomeQueue || o.Topic != "vaccination" || o.Language != "kk" || o.Path != "language:2>topics:3" {
		t.Fatalf("outcome %+v", o)
	}
	o2, done, err := d.OnPlaybackFinished(ctx, "c1-ivr-2", "done")
	if o2 != o || !done || err != nil {
		t.Fatal("after the end the driver must keep returning the outcome")
	}
	if p.take() != "" || d.TimerC() != nil {
		t.Fatal("driver acted after the end")
	}
}

func TestDriverSilenceAndFailedPlayback(t *testing.T) {
	ctx := context.Background()
	d, p, clk := newTestDriver()
	none(t)(d.Start(ctx))
	p.take()
	// A missing file: PlaybackStarted then PlaybackFinished "failed".
	none(t)(d.OnPlaybackFinished(ctx, "c1-ivr-1", "failed"))
	clk.Advance(5 * time.Second)
	none(t)(fire(t, d))
	if got, want := p.take(), "play c1-ivr-2 sound:hotline/ru/no_input sound:hotline/ru/welcome sound:hotline/ru/choose_language"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	// OnTimer without a timer, or twice, does nothing.
	none(t)(d.OnTimer(ctx))
	if p.take() != "" {
		t.Fatal("spurious OnTimer acted")
	}
}

func TestDriverRetriesToDefault(t *testing.T) {
	ctx := context.Background()
	d, p, clk := newTestDriver()
	none(t)(d.Start(ctx))
	var o *Outcome
	var done bool
	for i := 0; i < 100 && !done; i++ {
		if len(p.calls) > 0 {
			last := p.calls[len(p.calls)-1]
			p.take()
			id := strings.Fields(last)[1]
			if o, done, _ = d.OnPlaybackFinished(ctx, id, "done"); done {
				break
			}
			continue
		}
		clk.Advance(10 * time.Second)
		o, done, _ = fire(t, d)
	}
	if !done || o.Kind != OutcomeQueue || o.Topic != "general" || o.Reason != ReasonDefault {
		t.Fatalf("outcome %+v", o)
	}
	if o.Path != "language:default>topics:default" || o.Language != "ru" {
		t.Fatalf("outcome %+v", o)
	}
}

func TestDriverPlayerErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("Play error counts as a finished prompt", func(t *testing.T) {
		d, p, clk := newTestDriver()
		p.playErr = func(string) error { return errors.New("boom") }
		o, done, err := d.Start(ctx)
		if !errors.Is(err, ErrPlayer) || done || o != nil {
			t.Fatalf("outcome %+v done %v err %v", o, done, err)
		}
		if !strings.Contains(err.Error(), "c1-ivr-1") || !strings.Contains(err.Error(), "boom") {
			t.Errorf("err %v", err)
		}
		clk.Advance(5 * time.Second)
		if _, _, err := fire(t, d); err == nil {
			t.Fatal("want the re-prompt's Play error")
		}
	})

	t.Run("Stop not-found ignored, other stop errors reported", func(t *testing.T) {
		d, p, _ := newTestDriver()
		p.stopErr = func(string) error { return fmt.Errorf("delete: %w", errGone) }
		none(t)(d.Start(ctx))
		none(t)(d.OnDigit(ctx, "1"))
		p.stopErr = func(string) error { return errors.New("timeout") }
		o, done, err := d.OnDigit(ctx, "9")
		if !errors.Is(err, ErrPlayer) || !done || o.Kind != OutcomeTransfer || o.Number != "103" {
			t.Fatalf("outcome %+v done %v err %v", o, done, err)
		}
		if got, want := p.take(), "play c1-ivr-1 sound:hotline/ru/welcome sound:hotline/ru/choose_language; stop c1-ivr-1; play c1-ivr-2 sound:hotline/ru/choose_topic; stop c1-ivr-2"; got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}

func TestDriverHangupPromptAndStop(t *testing.T) {
	ctx := context.Background()
	d, p, _ := newTestDriver()
	none(t)(d.Start(ctx))
	none(t)(d.OnDigit(ctx, "1"))
	none(t)(d.OnDigit(ctx, "0"))
	if got, want := p.take(), "play c1-ivr-1 sound:hotline/ru/welcome sound:hotline/ru/choose_language; stop c1-ivr-1; play c1-ivr-2 sound:hotline/ru/choose_topic; stop c1-ivr-2; play c1-ivr-3 sound:hotline/ru/goodbye"; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	none(t)(d.OnDigit(ctx, "5")) // ignored during goodbye
	o, done, err := d.OnPlaybackFinished(ctx, "c1-ivr-3", "done")
	if err != nil || !done || o.Kind != OutcomeHangup || o.Prompt != "goodbye" {
		t.Fatalf("outcome %+v done %v err %v", o, done, err)
	}

	// Stop mid-prompt (caller hung up): stops the playback once.
	d, p, clk := newTestDriver()
	none(t)(d.Start(ctx))
	none(t)(d.OnPlaybackFinished(ctx, "c1-ivr-1", "done"))
	p.take()
	if d.TimerC() == nil {
		t.Fatal("no timer")
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d.TimerC() != nil {
		t.Fatal("timer survives Stop")
	}
	clk.Advance(time.Hour)
	none(t)(d.OnDigit(ctx, "1"))
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.take(); got != "" {
		t.Fatalf("acted after Stop: %q", got)
	}

	d, p, _ = newTestDriver()
	none(t)(d.Start(ctx))
	p.take()
	p.stopErr = func(string) error { return errGone }
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.take(); got != "stop c1-ivr-1" {
		t.Fatalf("got %q", got)
	}
}

func TestDriverSoundURIs(t *testing.T) {
	ctx := context.Background()
	menu := testMenu()
	menu.Nodes["language"].Prompts = []string{"../../etc/passwd", "ok_1", "/abs", "a b", "dir/x.v2"}
	p := &recPlayer{}
	d := NewDriver(New(menu, ""), p, Options{CallID: "c9", SoundPrefix: "sound:x/", NewTimer: (&fakeClock{}).NewTimer})
	_, _, err := d.Start(ctx)
	if !errors.Is(err, ErrPlayer) {
		t.Fatalf("err %v", err)
	}
	if got, want := p.take(), "play c9-ivr-1 sound:x/ok_1 sound:x/dir/x.v2"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}

	// All prompts unsafe: nothing to play, straight to collecting.
	menu = testMenu()
	menu.Nodes["language"].Prompts = []string{".."}
	clk := &fakeClock{}
	d = NewDriver(New(menu, "ru"), p, Options{CallID: "c9", NewTimer: clk.NewTimer})
	d.Start(ctx)
	if got := p.take(); got != "" {
		t.Fatalf("got %q", got)
	}
	clk.Advance(5 * time.Second)
	fire(t, d)
	if got, want := p.take(), "play c9-ivr-2 sound:hotline/ru/no_input"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}

	if got := SoundURI(DefaultSoundPrefix, "kk", "welcome"); got != "sound:hotline/kk/welcome" {
		t.Fatal(got)
	}
}

type chanPlayer struct{ got []string }

func (c *chanPlayer) Play(_ context.Context, ch, id string, media ...string) error {
	c.got = append(c.got, ch+" "+id+" "+strings.Join(media, ","))
	return nil
}
func (c *chanPlayer) StopPlayback(_ context.Context, id string) error {
	c.got = append(c.got, "stop "+id)
	return nil
}

func TestBindChannel(t *testing.T) {
	cp := &chanPlayer{}
	p := BindChannel(cp, "chan-1")
	p.Play(context.Background(), "pb", "a", "b")
	p.StopPlayback(context.Background(), "pb")
	if got := strings.Join(cp.got, ";"); got != "chan-1 pb a,b;stop pb" {
		t.Fatal(got)
	}
}

func TestRealTimer(t *testing.T) {
	tm := RealTimer(time.Millisecond)
	<-tm.C()
	if tm.Stop() {
		t.Fatal("Stop after fire reports active")
	}
}
