// Package testclock sets where the injected clocks of tests start. Every
// component takes its clock from outside; tests run theirs at a constant
// offset from the wall clock (durations still pass in real time, as the
// emulator and Redis need), starting at HOTLINE_TEST_NOW when set. So
// the suite can be run "on a Sunday night" whenever it runs, which proves
// no test depends on the hour or the weekday:
//
//	HOTLINE_TEST_NOW=2026-12-06T23:30:00+05:00 go test ./app/
package testclock

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Env names the variable holding the instant tests' clocks start at
// (RFC 3339).
const Env = "HOTLINE_TEST_NOW"

// envOffset carries the offset to child processes a test starts (a
// hotline to SIGKILL), so that parent and child run one clock.
const envOffset = "HOTLINE_TEST_CLOCK_OFFSET"

var (
	once   sync.Once
	offset time.Duration
	bad    error
)

// Offset is what to add to the wall clock to get a test's now: zero unless
// HOTLINE_TEST_NOW is set. Fixed for the whole test binary, so every
// clock of one run agrees.
func Offset() (time.Duration, error) {
	once.Do(func() {
		if v := os.Getenv(envOffset); v != "" {
			offset, bad = time.ParseDuration(v)
			return
		}
		v := os.Getenv(Env)
		if v == "" {
			return
		}
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad = fmt.Errorf("testclock: %s=%q: %w", Env, v, err)
			return
		}
		offset = time.Until(at)
		bad = os.Setenv(envOffset, offset.String())
	})
	return offset, bad
}

// Now is the wall clock moved by Offset; a malformed HOTLINE_TEST_NOW
// panics, so a run meant for Sunday night never silently runs today.
func Now() time.Time {
	d, err := Offset()
	if err != nil {
		panic(err)
	}
	return time.Now().Add(d)
}
