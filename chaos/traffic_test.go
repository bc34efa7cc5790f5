package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Kinds of scripted citizens.
const (
	// kindTalker waits to be served and talks 300 ms; gives up after 3 s.
	kindTalker = "talker"
	// kindAbandoner hangs up 900 ms (three minimum waits) after hearing
	// its position, unless served first: owed a callback.
	kindAbandoner = "abandoner"
	// kindQuick hangs up 50 ms after hearing its position: under the
	// minimum, owed nothing.
	kindQuick = "quick_abandon"
	// kindMenu hangs up during the welcome, in the menu.
	kindMenu = "menu_hangup"
	// kindWithheld has no caller id, waits in the unstaffed topic, takes
	// "press 1 for a callback" and hangs up while keying its number in.
	kindWithheld = "withheld_number_entry"
	// kindPatient waits as long as it takes and talks 300 ms once served
	// (the callers of TestRouterKillEveryPhase that must be served after
	// the restart).
	kindPatient = "patient"
	// kindSilent keys nothing: it hears the menus until their default
	// queues it (general), then talks 300 ms once served.
	kindSilent = "silent_menu"
	// kindKeying is kindWithheld that stops after two digits of its
	// number and stays on the line until the test hangs it up.
	kindKeying = "keying_number"
	// kindScripted ends only when the test hangs it up.
	kindScripted = "scripted"
)

// streamKinds is the steady stream's cycle: one caller every interval.
var streamKinds = []string{
	kindTalker, kindAbandoner, kindTalker, kindQuick,
	kindTalker, kindMenu, kindAbandoner, kindWithheld,
}

// Menu digits: language 1 (ru), then a topic.
var (
	topicTesting = []string{"3"}      // operators 1001, 1003
	topicSocial  = []string{"1"}      // operator 1002 (1004 is offline)
	topicSymptom = []string{"7"}      // operator 1003 only (doctor)
	topicElderly = []string{"4", "2"} // elderly_delivery: nobody (1004 is offline)
)

// choose scripts the menus: language, then the topic digits, each as its
// menu starts playing (barge-in).
func choose(topic []string) []emulator.Step {
	steps := []emulator.Step{
		{OnMedia: "/choose_language", Digits: "1"},
		{OnMedia: "/topic_menu", Digits: topic[0]},
	}
	if len(topic) > 1 {
		steps = append(steps, emulator.Step{OnMedia: "/elderly_menu", Digits: topic[1]})
	}
	return steps
}

// citizen is one scripted caller and what the test saw of it.
type citizen struct {
	kind   string
	number string // "" when withheld
	h      *emulator.CallHandle

	mu        sync.Mutex
	placed    time.Time
	waitingAt time.Time // first heard hold music or its position
	bridged   bool
	bridgedAt time.Time // first seen bridged
	endedAt   time.Time
}

func (c *citizen) String() string {
	n := c.number
	if n == "" {
		n = "withheld"
	}
	return fmt.Sprintf("%s (%s, %s)", c.h.ID(), c.kind, n)
}

// snapshot returns what was observed, under the lock.
func (c *citizen) snapshot() (waitingAt time.Time, bridged bool, endedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitingAt, c.bridged, c.endedAt
}

// bridgedFirstAt is when the citizen was first seen bridged (zero if never).
func (c *citizen) bridgedFirstAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bridgedAt
}

// snapshotEnded is when the citizen was seen to end (zero while up).
func (c *citizen) snapshotEnded() time.Time {
	_, _, e := c.snapshot()
	return e
}

// traffic places citizens and observes each of them until it ends.
type traffic struct {
	r   *rig
	ctx context.Context
	end context.CancelFunc
	wg  sync.WaitGroup // observers and the stream

	mu       sync.Mutex
	all      []*citizen
	seq      int
	stopping context.CancelFunc // the stream running, if any
	streamWG sync.WaitGroup
}

func newTraffic(r *rig) *traffic {
	ctx, end := context.WithCancel(context.Background())
	return &traffic{r: r, ctx: ctx, end: end}
}

// place calls the hotline as one citizen of kind, choosing topic.
func (tr *traffic) place(kind string, topic []string) *citizen { return tr.placeOn("", kind, topic) }

// placeOn is place with the call sent straight to application app
// (Stasis(app)) instead of offered to every instance; "" offers it.
func (tr *traffic) placeOn(app, kind string, topic []string) *citizen {
	tr.mu.Lock()
	tr.seq++
	number := fmt.Sprintf("7900%07d", tr.seq)
	tr.mu.Unlock()
	cl := emulator.Caller{Number: number}
	var steps []emulator.Step
	if topic != nil {
		steps = choose(topic)
	}
	switch kind {
	case kindTalker:
		cl.HangupAfterBridged, cl.HangupAt = 300*time.Millisecond, 3*time.Second
	case kindAbandoner:
		cl.HangupAfterBridged, cl.HangupAt = 300*time.Millisecond, 3*time.Second
		steps = append(steps, emulator.Step{OnMedia: "/position_", Delay: 3 * minAbandonWait, Hangup: true})
	case kindQuick:
		cl.HangupAfterBridged, cl.HangupAt = 300*time.Millisecond, 3*time.Second
		steps = append(steps, emulator.Step{OnMedia: "/position_", Delay: 50 * time.Millisecond, Hangup: true})
	case kindMenu:
		cl.HangupAt = 30 * time.Millisecond
		steps = nil
	case kindWithheld:
		number = ""
		cl.Number, cl.Name = "", "Anonymous"
		cl.HangupAfterBridged, cl.HangupAt = 300*time.Millisecond, 4*time.Second
		steps = append(choose(topicElderly),
			emulator.Step{OnMedia: "/callback_offer", Digits: "1"},
			emulator.Step{OnMedia: "/enter_number", Digits: "8701"},
			emulator.Step{Delay: 50 * time.Millisecond, Hangup: true})
	case kindPatient:
		cl.HangupAfterBridged = 300 * time.Millisecond
	case kindSilent:
		cl.HangupAfterBridged = 300 * time.Millisecond
		steps = nil
	case kindKeying:
		number = ""
		cl.Number, cl.Name = "", "Anonymous"
		steps = append(choose(topicElderly),
			emulator.Step{OnMedia: "/callback_offer", Digits: "1"},
			emulator.Step{OnMedia: "/enter_number", Digits: "87"})
	case kindScripted:
	default:
		panic("unknown kind " + kind)
	}
	cl.Script = steps
	cl.App = app
	c := &citizen{kind: kind, number: number, placed: time.Now()}
	c.h = tr.r.emu.Call(cl)
	tr.mu.Lock()
	tr.all = append(tr.all, c)
	tr.mu.Unlock()
	tr.wg.Add(1)
	go tr.observe(c)
	return c
}

// observe notes when the citizen started waiting (hold music or its
// position heard), whether it was ever bridged, and when it ended. The
// router measures the wait from its enqueue, just before the music
// starts, so the test's measure is never the longer one by more than
// its 5 ms poll.
func (tr *traffic) observe(c *citizen) {
	defer tr.wg.Done()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	check := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-c.h.Bridged():
			if !c.bridged {
				c.bridgedAt = time.Now()
			}
			c.bridged = true
		default:
		}
		if c.waitingAt.IsZero() && !c.bridged && (c.h.OnMOH() || heard(c.h, "/position_")) {
			c.waitingAt = time.Now()
		}
	}
	for {
		select {
		case <-c.h.Ended():
			c.mu.Lock()
			c.endedAt = time.Now()
			c.mu.Unlock()
			check()
			return
		case <-tick.C:
			check()
		case <-tr.ctx.Done():
			return
		}
	}
}

func heard(h *emulator.CallHandle, media string) bool {
	for _, m := range h.Played() {
		if strings.Contains(m, media) {
			return true
		}
	}
	return false
}

// startStream places one citizen every interval, cycling through
// streamKinds and alternating the testing and social_benefits topics
// (withheld callers go to the unstaffed one), until stopStream.
func (tr *traffic) startStream(interval time.Duration) {
	ctx, stop := context.WithCancel(tr.ctx)
	tr.mu.Lock()
	tr.stopping = stop
	tr.mu.Unlock()
	tr.streamWG.Add(1)
	go func() {
		defer tr.streamWG.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			topic := topicTesting
			if i%2 == 1 {
				topic = topicSocial
			}
			tr.place(streamKinds[i%len(streamKinds)], topic)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopStream stops placing citizens; those placed go on to their end.
func (tr *traffic) stopStream() {
	tr.mu.Lock()
	stop := tr.stopping
	tr.stopping = nil
	tr.mu.Unlock()
	if stop != nil {
		stop()
	}
	tr.streamWG.Wait()
}

// citizens returns every citizen placed so far.
func (tr *traffic) citizens() []*citizen {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]*citizen(nil), tr.all...)
}

// close stops the stream, hangs up every citizen still up and waits for
// every observer.
func (tr *traffic) close() {
	tr.stopStream()
	for _, c := range tr.citizens() {
		c.h.Hangup()
	}
	tr.end()
	tr.wg.Wait()
}
