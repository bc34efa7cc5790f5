// Package webpage holds what hotline's pages (the operators' desktop and
// the supervisors' wallboard) share at the HTTP level: the security
// headers every page answer carries, and the framing of a server-sent
// event.
package webpage

import (
	"net/http"
	"strings"
)

// SecureHeaders sets the headers every page answer carries: the page
// needs only its own scripts and styles, nothing may frame it, and no
// referrer leaves the site (no-referrer would make the browser send
// "Origin: null", which the CSRF check refuses).
func SecureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// Event is one server-sent event carrying html: each of its lines gets
// its own data: prefix.
func Event(event, html string) []byte {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	for _, line := range strings.Split(html, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return []byte(b.String())
}
