package ivr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrPlayer marks an error from the Player that the driver already worked
// around (a Play that failed is treated as a finished prompt, a
// StopPlayback that failed is forgotten). The router should log it and
// carry on: if the channel is gone, its own StasisEnd handling ends the call.
var ErrPlayer = errors.New("ivr: player")

// Player is what the driver needs from the PBX: media on this call's
// channel. The router binds its channel id (see BindChannel).
type Player interface {
	// Play starts the media URIs one after another as one playback with
	// the given id; a PlaybackFinished for that id must follow.
	Play(ctx context.Context, playbackID string, media ...string) error
	// StopPlayback stops a playback early.
	StopPlayback(ctx context.Context, playbackID string) error
}

// ChannelPlayer is the channel-addressed form of Player; pbx.Client has
// these two methods.
type ChannelPlayer interface {
	Play(ctx context.Context, channelID, playbackID string, media ...string) error
	StopPlayback(ctx context.Context, playbackID string) error
}

// BindChannel returns a Player that plays on channelID through p.
func BindChannel(p ChannelPlayer, channelID string) Player {
	return boundPlayer{p: p, channelID: channelID}
}

type boundPlayer struct {
	p         ChannelPlayer
	channelID string
}

func (b boundPlayer) Play(ctx context.Context, playbackID string, media ...string) error {
	return b.p.Play(ctx, b.channelID, playbackID, media...)
}

func (b boundPlayer) StopPlayback(ctx context.Context, playbackID string) error {
	return b.p.StopPlayback(ctx, playbackID)
}

var _ Player = boundPlayer{}

// Timer is a one-shot timer; *time.Timer adapted by RealTimer satisfies it.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// RealTimer is the default timer factory: a time.Timer.
func RealTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// DefaultSoundPrefix is where hotline's prompts live among Asterisk sounds.
const DefaultSoundPrefix = "sound:hotline/"

// Options configure a Driver.
type Options struct {
	// CallID makes playback ids unique: "<CallID>-ivr-<seq>". Playback ids
	// are global in Asterisk, so it must be unique across calls.
	CallID string
	// SoundPrefix is prepended to "<lang>/<prompt>"; default
	// DefaultSoundPrefix.
	SoundPrefix string
	// NewTimer makes timers; default RealTimer. Tests pass a fake clock.
	NewTimer func(time.Duration) Timer
	// IsNotFound tells a "playback already gone" error from StopPlayback,
	// which is expected (the prompt ended as the digit came) and not
	// reported. The router passes errors.Is(err, pbx.ErrNotFound).
	IsNotFound func(error) bool
}

// Driver runs one call's Machine against a Player and real (or fake)
// timers. It has no goroutine of its own: the router's per-call loop calls
// Start once, then OnDigit, OnPlaybackFinished and OnTimer as events come,
// and selects on TimerC. Each returns the outcome once the menu has ended
// (done true); after that every call is a no-op returning the same outcome.
// Not safe for concurrent use.
type Driver struct {
	m    *Machine
	p    Player
	opts Options

	playbackID string // playback in progress, "" if none
	playSeq    int
	timer      Timer
	timerID    int
	stopped    bool
}

// NewDriver returns a driver for m playing through p.
func NewDriver(m *Machine, p Player, opts Options) *Driver {
	if opts.SoundPrefix == "" {
		opts.SoundPrefix = DefaultSoundPrefix
	}
	if opts.NewTimer == nil {
		opts.NewTimer = RealTimer
	}
	if opts.IsNotFound == nil {
		opts.IsNotFound = func(error) bool { return false }
	}
	return &Driver{m: m, p: p, opts: opts}
}

// Machine returns the driven machine (for Language, Node, Path).
func (d *Driver) Machine() *Machine { return d.m }

// Start enters the menu's start node.
func (d *Driver) Start(ctx context.Context) (*Outcome, bool, error) {
	return d.run(ctx, d.m.Start())
}

// OnDigit feeds one DTMF digit (ChannelDtmfReceived). A digit during a
// prompt stops it (barge-in).
func (d *Driver) OnDigit(ctx context.Context, digit string) (*Outcome, bool, error) {
	if d.stopped {
		return d.result(nil)
	}
	return d.run(ctx, d.m.Digit(digit))
}

// OnPlaybackFinished feeds PlaybackFinished. Any state counts as finished
// ("done" after a natural end or a stop, "failed" for a missing file), so
// a bad prompt never stalls the call. Ids that are not this driver's
// current playback are ignored.
func (d *Driver) OnPlaybackFinished(ctx context.Context, playbackID, state string) (*Outcome, bool, error) {
	if d.stopped || playbackID == "" || playbackID != d.playbackID {
		return d.result(nil)
	}
	seq := d.playSeq
	d.playbackID, d.playSeq = "", 0
	return d.run(ctx, d.m.PromptDone(seq))
}

// TimerC is the channel to select on for the menu's timer; nil (never
// ready) when no timer runs. Call it afresh in every select: the channel
// changes when the timer is replaced.
func (d *Driver) TimerC() <-chan time.Time {
	if d.timer == nil {
		return nil
	}
	return d.timer.C()
}

// OnTimer is called after a receive from TimerC.
func (d *Driver) OnTimer(ctx context.Context) (*Outcome, bool, error) {
	if d.stopped || d.timer == nil {
		return d.result(nil)
	}
	id := d.timerID
	d.timer, d.timerID = nil, 0
	return d.run(ctx, d.m.Timeout(id))
}

// Stop ends the driver early (the caller hung up, the call is being torn
// down): it stops the timer and any playback. Idempotent; the outcome, if
// the menu had not ended, stays nil. Pass a context the caller's hang-up
// cannot cancel.
func (d *Driver) Stop(ctx context.Context) error {
	if d.stopped {
		return nil
	}
	d.stopped = true
	d.stopTimer()
	if d.playbackID != "" {
		id := d.playbackID
		d.playbackID, d.playSeq = "", 0
		if err := d.p.StopPlayback(ctx, id); err != nil && !d.opts.IsNotFound(err) {
			return fmt.Errorf("%w: stop %s: %w", ErrPlayer, id, err)
		}
	}
	return nil
}

// SoundURI returns the media URI for prompt name in language lang:
// "<prefix><lang>/<name>". The language is in the path rather than left to
// the channel's language so that a set_language choice takes effect at once
// without touching the channel, and so that a missing translation fails
// visibly (PlaybackFinished "failed", logged) instead of silently falling
// back to another language's file. With lang empty the URI is
// "<prefix><name>" and Asterisk's own language lookup applies.
func SoundURI(prefix, lang, name string) string {
	if lang == "" {
		return prefix + name
	}
	return prefix + lang + "/" + name
}

// safeName reports whether s may go into a sound URI: letters, digits,
// '_', '-', '.', '/' and no "..", no leading '/'. Names come from config,
// but a slip there must not reach other parts of the sounds directory.
func safeName(s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == '.', c == '/':
		default:
			return false
		}
	}
	return true
}

func (d *Driver) playbackIDFor(seq int) string {
	return d.opts.CallID + "-ivr-" + strconv.Itoa(seq)
}

// run carries out commands, feeding the machine back where a command
// completes at once (nothing to play, Play failed). The machine bounds how
// many commands that can produce.
func (d *Driver) run(ctx context.Context, cmds []Command) (*Outcome, bool, error) {
	var errs []error
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = cmds[1:]
		switch c := c.(type) {
		case Play:
			lang := d.m.Language()
			if !safeName(lang) {
				lang = ""
			}
			media := make([]string, 0, len(c.Prompts))
			for _, name := range c.Prompts {
				if safeName(name) {
					media = append(media, SoundURI(d.opts.SoundPrefix, lang, name))
				} else {
					errs = append(errs, fmt.Errorf("%w: call %s: prompt %q skipped: unsafe name", ErrPlayer, d.opts.CallID, name))
				}
			}
			id := d.playbackIDFor(c.Seq)
			var err error
			if len(media) > 0 {
				err = d.p.Play(ctx, id, media...)
			}
			if len(media) == 0 || err != nil {
				if err != nil {
					errs = append(errs, fmt.Errorf("%w: play %s: %w", ErrPlayer, id, err))
				}
				cmds = append(cmds, d.m.PromptDone(c.Seq)...)
				continue
			}
			d.playbackID, d.playSeq = id, c.Seq
		case StopPlayback:
			id := d.playbackIDFor(c.Seq)
			if id == d.playbackID {
				d.playbackID, d.playSeq = "", 0
			}
			if err := d.p.StopPlayback(ctx, id); err != nil && !d.opts.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("%w: stop %s: %w", ErrPlayer, id, err))
			}
		case StartTimer:
			d.stopTimer()
			d.timer, d.timerID = d.opts.NewTimer(c.After), c.ID
		case CancelTimer:
			if c.ID == d.timerID {
				d.stopTimer()
			}
		}
	}
	return d.result(errors.Join(errs...))
}

func (d *Driver) stopTimer() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer, d.timerID = nil, 0
	}
}

func (d *Driver) result(err error) (*Outcome, bool, error) {
	if o := d.m.Outcome(); o != nil {
		d.stopTimer()
		return o, true, err
	}
	return nil, false, err
}
