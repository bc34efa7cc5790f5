package router

import "testing"

// An agent-first callback's queue entry has no channel behind it, so any
// instance may make its attempt; a callback's legs are channels, held by
// the instance that dialled them.
func TestIsCallbackTurn(t *testing.T) {
	for id, want := range map[string]bool{
		"cb-3a6726fdce4fa36e":             true,
		"cb-3a6726fdce4fa36e-anpukgt2":    false, // the citizen's leg
		"cb-3a6726fdce4fa36e-anpukgt2-op": false,
		"1796292864.49":                   false,
	} {
		if got := isCallbackTurn(id); got != want {
			t.Errorf("isCallbackTurn(%q) = %v, want %v", id, got, want)
		}
	}
}
