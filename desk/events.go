package desk

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/internal/webpage"
	"github.com/hotline-acd/hotline/router"
)

// events streams the operator's state and card as server-sent events of
// HTML fragments (htmx's sse extension swaps them in). Level-triggered:
// the stream re-reads both on every wake-up (Notify) and every Poll, and
// sends a fragment only when it changed. The browser's EventSource
// reconnects by itself when hotline restarts.
func (d *Desk) events(w http.ResponseWriter, r *http.Request, s auth.Session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	// The stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	agent := s.Person.ID
	wake := make(chan struct{}, 1)
	d.mu.Lock()
	d.waiters[agent] = append(d.waiters[agent], wake)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		ws := d.waiters[agent]
		for i, ch := range ws {
			if ch == wake {
				d.waiters[agent] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(d.waiters[agent]) == 0 {
			delete(d.waiters, agent)
		}
		d.mu.Unlock()
	}()
	tick := time.NewTicker(d.opt.Poll)
	defer tick.Stop()
	var lastState, lastCard string
	for {
		v := d.base(s)
		st, err := d.state(r.Context(), s)
		if err == nil {
			v.State = st
			if frag := d.fragment("state", v); frag != lastState {
				send(w, "state", frag)
				lastState = frag
			}
		}
		// The card is sent again only when the call changes (another call,
		// ringing → talking, live → last): a fragment re-sent for a saved
		// disposition would wipe the forms the operator is typing in.
		c, live, ok := d.currentCard(agent)
		if key := cardKey(c, live, ok); key != lastCard {
			if ok {
				v.Card = d.cardView(r.Context(), c, live)
			}
			send(w, "card", d.fragment("card", v))
			lastCard = key
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

func (d *Desk) fragment(name string, v view) string {
	var buf bytes.Buffer
	if err := d.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Sprintf("<p class=error>%s</p>", err)
	}
	return buf.String()
}

// send writes one event of html.
func send(w http.ResponseWriter, event, html string) { _, _ = w.Write(webpage.Event(event, html)) }

func cardKey(c router.Card, live, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%s|%s|%v", c.CallID, c.State, live)
}
