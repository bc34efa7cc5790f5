package router

import (
	"context"
	"time"
)

// menuKind is what the caller's menu choice asks of the router.
type menuKind int

const (
	menuHangup   menuKind = iota // the menu ended the call (after its message)
	menuQueue                    // wait for an operator of Topic
	menuTransfer                 // hand over to an outside Number
)

// menuOutcome is the end of the IVR for one call.
type menuOutcome struct {
	Kind     menuKind
	Topic    string
	Priority int
	Number   string
	Language string
	Path     string // e.g. "language:2>topics:3", for the call record
}

// menuDriver runs the IVR on the call's own goroutine: the call feeds it
// events and selects on TimerC; it never starts goroutines of its own.
type menuDriver interface {
	Start(ctx context.Context) (*menuOutcome, bool, error)
	OnDigit(ctx context.Context, digit string) (*menuOutcome, bool, error)
	OnPlaybackFinished(ctx context.Context, playbackID, state string) (*menuOutcome, bool, error)
	TimerC() <-chan time.Time
	OnTimer(ctx context.Context) (*menuOutcome, bool, error)
	// Stop cancels the menu's timer and any prompt still playing.
	Stop(ctx context.Context) error
}
