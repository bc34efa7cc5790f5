package router

// Outcome is how a call ended, as written in its call record.
type Outcome string

const (
	OutcomeAnswered    Outcome = "answered"    // talked to an operator
	OutcomeAbandoned   Outcome = "abandoned"   // hung up in the IVR or while waiting
	OutcomeDropped     Outcome = "dropped"     // the conversation ended abnormally
	OutcomeTransferred Outcome = "transferred" // sent to an outside service
	OutcomeIVRHangup   Outcome = "ivr_hangup"  // the menu ended the call (e.g. emergency notice)
	OutcomeRejected    Outcome = "rejected"    // could not be served (queue full, closed, bad config)
	OutcomeLost        Outcome = "lost"        // the channel vanished while hotline was disconnected
	OutcomeFallback    Outcome = "fallback"    // handed to the PBX's fallback queue: Redis was unreachable
	// OutcomeCallbackLater: the caller took (or was given) a callback and
	// hung up; the callback keeps their original queue time.
	OutcomeCallbackLater Outcome = "callback_later"
)

// Q.850 causes hotline acts on. Asterisk reports them in ChannelDestroyed.
const (
	causeNormalClearing = 16
	causeUserBusy       = 17
	causeNoUserResponse = 18
	causeNoAnswer       = 19
	causeCallRejected   = 21
	causeUnallocated    = 1
)

// offerFailure names why an offer to an operator failed, from the cause of
// the operator leg's ChannelDestroyed; it goes into logs and metrics.
func offerFailure(cause int) string {
	switch cause {
	case causeNoAnswer, causeNoUserResponse:
		return "no_answer"
	case causeUserBusy:
		return "busy"
	case causeCallRejected:
		return "declined"
	case causeUnallocated:
		return "unallocated"
	case causeNormalClearing:
		return "cancelled"
	case 0:
		return "unknown"
	default:
		return "failed"
	}
}

// droppedCause reports whether a leg that ended with cause was dropped by the
// network rather than cleared by a person. Asterisk sends no cause when the
// remote side hangs up normally, so 0 counts as normal clearing.
func droppedCause(cause int) bool {
	switch cause {
	case 0, causeNormalClearing, 31, 32:
		return false
	}
	return true
}
