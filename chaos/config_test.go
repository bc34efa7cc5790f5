package chaos

import (
	"path/filepath"
	"runtime"
	"time"

	"github.com/hotline-acd/hotline/config"
)

const (
	// timeScale shrinks the emulated Asterisk's playbacks (1 s each → 20 ms)
	// and originate timeouts; scripted callers' and phones' own durations
	// are real time.
	timeScale = 0.02
	// minAbandonWait is callbacks.min_abandon_wait: a caller who waited
	// longer and hung up unserved is owed a callback.
	minAbandonWait = 300 * time.Millisecond
	// ringTimeout is every topic's ring_timeout: 2 s on the emulator
	// (scaled), longer than any scripted phone takes to answer, so no
	// offer fails by timing out.
	ringTimeout = 100 * time.Second
	// wrapUp is every topic's wrap-up.
	wrapUp = 200 * time.Millisecond
	// settleWithin bounds how long the checker waits for hotline to reach
	// a state where every invariant holds. It is well below the 30 s
	// reservation lease of the example config (kept as in production),
	// so an operator or a caller left waiting for a lease to run out
	// shows as a violation instead of healing unseen.
	settleWithin = 10 * time.Second
	// fleetLease is each instance's lease on its application (1 s, not
	// the default 3 s, to keep the runs short): how soon a survivor takes
	// a killed instance's calls over.
	fleetLease = time.Second
)

// Operators logged in for every test. 1004, the only one with the
// elderly_delivery skill, stays offline: that topic is unstaffed, so a
// ghost entry left in its queue is never claimed (and so cleaned up) by
// a free operator, and cannot hide.
var loggedIn = []string{"1001", "1002", "1003"}

var allDay = config.Hours{TimeZone: "UTC", Weekly: []config.WeeklyOpen{
	{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Open: "00:00", Close: "24:00"},
}}

// exampleConfig is configs/hotline.yaml, found from this file so that the
// re-executed child finds it from any working directory.
func exampleConfig() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "configs", "hotline.yaml")
}

// chaosConfig is the example config with timers fit for a quick suite;
// the parent and the hotline child build it alike.
func chaosConfig(centre string) (*config.Config, error) {
	cfg, err := config.Load(exampleConfig())
	if err != nil {
		return nil, err
	}
	cfg.Centre.ID = centre
	cfg.Hours = allDay // the suite must not depend on the hour it runs at
	for _, n := range cfg.IVR.Nodes {
		n.FirstDigitTimeout = config.Duration(300 * time.Millisecond)
		n.InterDigitTimeout = config.Duration(150 * time.Millisecond)
	}
	setCallbacks(cfg, func(r *config.CallbackRules) {
		r.Enabled = true
		r.MinAbandonWait = config.Duration(minAbandonWait)
		// Due in an hour: callbacks stay scheduled (and countable) for
		// the whole test instead of dialling citizens back.
		r.Delays = []config.Duration{config.Duration(time.Hour)}
		r.DropWindow = 0 // scripted conversations are short, not dropped
		// Every position announcement ends with "press 1 for a callback",
		// which the withheld caller takes.
		r.VirtualHold = config.VirtualHold{Enabled: true, MinWait: config.Duration(time.Millisecond)}
	})
	for _, tp := range cfg.Topics {
		tp.RingTimeout = config.Duration(ringTimeout)
		tp.WrapUp = config.Duration(wrapUp)
		// The first announcement plays on entry; no second one within a
		// scripted caller's life.
		tp.AnnounceEvery = config.Duration(10 * time.Second)
	}
	return cfg, nil
}

// setCallbacks changes the callback rules of the centre and of every
// topic that overrides them (Load merges the centre's rules into those).
func setCallbacks(cfg *config.Config, f func(*config.CallbackRules)) {
	f(&cfg.Callbacks)
	for _, tp := range cfg.Topics {
		if tp.Callbacks != nil {
			f(tp.Callbacks)
		}
	}
}
