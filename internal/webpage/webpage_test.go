package webpage

import (
	"net/http"
	"testing"
)

func TestEventFramesEveryLine(t *testing.T) {
	if got, want := string(Event("card", "<p>a</p>\n<p>b</p>")), "event: card\ndata: <p>a</p>\ndata: <p>b</p>\n\n"; got != want {
		t.Errorf("Event = %q, want %q", got, want)
	}
}

func TestSecureHeaders(t *testing.T) {
	h := http.Header{}
	SecureHeaders(h)
	if h.Get("Referrer-Policy") != "same-origin" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") == "" {
		t.Errorf("headers %v", h)
	}
}
