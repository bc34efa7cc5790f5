package emulator

import (
	"sort"
	"strings"
)

// userEventLocked: POST /events/user/{eventName}?application=APP[&source=…]
// (api-docs/events.json "userEvent"). It sends a ChannelUserevent event
// (model ChannelUserevent: eventname, userevent object, optional channel /
// bridge / endpoint snapshots of the sources) to the application's socket
// and answers 204. An unknown application answers 404 "Application not
// found"; a known one without a connected socket (deactivated) answers 204
// and the event is dropped, as Asterisk drops messages to an inactive app.
// Asterisk also forgets a deactivated application that holds no channel or
// bridge, answering 404 then; the emulator keeps every application it saw.
func (s *Server) userEventLocked(rq *request, eventName string) (int, any) {
	appName := rq.get("application")
	if appName == "" {
		return 400, msg("Missing parameter application")
	}
	a := s.apps[appName]
	if a == nil {
		return 404, msg("Application not found")
	}
	ev := s.event("ChannelUserevent", kv{"eventname", eventName})
	vars := obj{}
	if v, ok := rq.body["variables"]; ok {
		m, isObj := v.(map[string]any)
		if !isObj {
			return 400, msg("Invalid userevent data")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vars = append(vars, kv{k, m[k]})
		}
	}
	ev = append(ev, kv{"userevent", vars})
	for _, src := range rq.list("source") {
		scheme, id, ok := strings.Cut(src, ":")
		if !ok {
			return 400, msg("Invalid event source URI scheme: " + src)
		}
		switch scheme {
		case "channel":
			c := s.channels[id]
			if c == nil {
				return 422, msg("Event source not found: " + src)
			}
			ev = append(ev, kv{"channel", c.json()})
		case "bridge":
			b := s.bridges[id]
			if b == nil {
				return 422, msg("Event source not found: " + src)
			}
			ev = append(ev, kv{"bridge", b.json()})
		case "endpoint":
			p := s.phones[id]
			if p == nil {
				return 422, msg("Event source not found: " + src)
			}
			ev = append(ev, kv{"endpoint", s.endpointJSON(p)})
		default:
			return 400, msg("Invalid event source URI scheme: " + src)
		}
	}
	s.sendToAppLocked(a, ev)
	return 204, nil
}

// sendToAppLocked sends ev to one application's socket, if connected and
// its event filter allows the type (no subscription needed: the event is
// addressed to the application).
func (s *Server) sendToAppLocked(a *app, ev obj) {
	if a.sock == nil {
		return
	}
	typ, _ := ev.get("type").(string)
	if !a.allows(map[string]any{"type": typ}) {
		return
	}
	frame := make(obj, 0, len(ev)+2)
	frame = append(frame, ev...)
	frame = append(frame, kv{"asterisk_id", s.opts.EntityID}, kv{"application", a.name})
	data, err := frame.MarshalJSON()
	if err != nil {
		return
	}
	a.sock.enqueue(data)
}
