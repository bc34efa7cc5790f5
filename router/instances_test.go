package router

import "testing"

// An agent-first callback's queue entry has no channel behind it, so any
// instance may make its attempt; a callback's legs are channels, held by
// the instance that dialled them.
func TestIsCallbackTurn(t *testing.T) {
	for id, want := range map[string]bool{
		"cb-3a6726fdce4fa36e":            true,
		"cb-3a6726fdce4fa36e-anpukgt2":   false, // an attempt
		"cb-3a6726fdce4fa36e-cnpukgt3":   false, // the citizen's leg
		"cb-3a6726fdce4fa36e-op-npukgt4": false, // the operator's leg
		"1796292864.49":                  false,
	} {
		if got := isCallbackTurn(id); got != want {
			t.Errorf("isCallbackTurn(%q) = %v, want %v", id, got, want)
		}
	}
}

// An agent-first attempt's id (a card's call id) is told from the ids of
// the callback's queue entry and legs, whatever hex the callback's id is.
func TestIsAttemptID(t *testing.T) {
	for id, want := range map[string]bool{
		"cb-a1b2-aqwerty7":    true,
		"cb-0f9e-axyzabc12":   true,
		"cb-a1b2":             false, // the queue entry
		"cb-a1b2-cqwerty8":    false, // the citizen's leg (customer-first: a caller of its own)
		"cb-a1b2-op-aqwerty9": false, // the operator's leg
		"1796302433.4":        false, // an inbound caller
		"mon-aqwerty1":        false,
		"cb-":                 false,
		"":                    false,
	} {
		if got := isAttemptID(id); got != want {
			t.Errorf("isAttemptID(%q) = %v, want %v", id, got, want)
		}
	}
}
