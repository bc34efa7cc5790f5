package emulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/websocket"
)

// app is a Stasis application as Asterisk keeps it: it exists from the
// first WebSocket connect on and survives disconnects (deactivated), with
// its subscriptions and event filter.
type app struct {
	name       string
	sock       *wsConn        // active socket; nil while deactivated
	subs       map[string]int // "channel:ID" / "bridge:ID" / "endpoint:T/R" → refcount
	allowed    []map[string]any
	disallowed []map[string]any
}

func (a *app) json() obj {
	var chans, bridges, eps []string
	for k, n := range a.subs {
		if n <= 0 {
			continue
		}
		switch {
		case strings.HasPrefix(k, "channel:"):
			chans = append(chans, k[len("channel:"):])
		case strings.HasPrefix(k, "bridge:"):
			bridges = append(bridges, k[len("bridge:"):])
		case strings.HasPrefix(k, "endpoint:"):
			eps = append(eps, k[len("endpoint:"):])
		}
	}
	sort.Strings(chans)
	sort.Strings(bridges)
	sort.Strings(eps)
	nz := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	filt := func(v []map[string]any) []map[string]any {
		if v == nil {
			return []map[string]any{}
		}
		return v
	}
	return obj{
		{"name", a.name},
		{"channel_ids", nz(chans)},
		{"bridge_ids", nz(bridges)},
		{"endpoint_ids", nz(eps)},
		{"device_names", []string{}},
		{"events_allowed", filt(a.allowed)},
		{"events_disallowed", filt(a.disallowed)},
	}
}

// allows applies the application event filter (by type, as Asterisk does for
// hotline's use: every key of a filter entry must equal the event's field).
func (a *app) allows(ev map[string]any) bool {
	match := func(list []map[string]any) bool {
		for _, f := range list {
			ok := true
			for k, v := range f {
				vs, isStr := v.(string)
				if !isStr || ev[k] != vs {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	if len(a.allowed) > 0 && !match(a.allowed) {
		return false
	}
	return !match(a.disallowed)
}

func (a *app) subscribed(key string) bool { return a.subs[key] > 0 }

func (s *Server) appLocked(name string) *app {
	a := s.apps[name]
	if a == nil {
		a = &app{name: name, subs: map[string]int{}}
		s.apps[name] = a
	}
	return a
}

// activeLocked reports whether the app has a connected WebSocket.
func (s *Server) activeLocked(name string) bool {
	a := s.apps[name]
	return a != nil && a.sock != nil
}

func (s *Server) subscribeLocked(appName, key string) {
	a := s.appLocked(appName)
	a.subs[key]++
}

func (s *Server) unsubscribeLocked(appName, key string) {
	if a := s.apps[appName]; a != nil {
		if a.subs[key]--; a.subs[key] <= 0 {
			delete(a.subs, key)
		}
	}
}

// dropSubsLocked forgets every subscription to a vanished object.
func (s *Server) dropSubsLocked(key string) {
	for _, a := range s.apps {
		delete(a.subs, key)
	}
}

// emitLocked sends event ev (without asterisk_id/application) to every app
// with a connected socket that is subscribed to one of the channels or
// bridges it concerns and whose event filter allows it.
func (s *Server) emitLocked(ev obj, chans []*channel, bridges []*bridge) {
	typ, _ := ev.get("type").(string)
	var filterView map[string]any
	names := make([]string, 0, len(s.apps))
	for n := range s.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := s.apps[n]
		if a.sock == nil {
			continue
		}
		hit := false
		for _, c := range chans {
			if c != nil && a.subscribed("channel:"+c.id) {
				hit = true
			}
		}
		for _, b := range bridges {
			if b != nil && a.subscribed("bridge:"+b.id) {
				hit = true
			}
		}
		if !hit {
			continue
		}
		if filterView == nil {
			filterView = map[string]any{"type": typ}
		}
		if !a.allows(filterView) {
			continue
		}
		s.sendLocked(a, ev)
	}
}

// sendLocked sends ev to a's socket, stamped with asterisk_id and the
// application's name.
func (s *Server) sendLocked(a *app, ev obj) {
	frame := make(obj, 0, len(ev)+2)
	frame = append(frame, ev...)
	frame = append(frame, kv{"asterisk_id", s.opts.EntityID}, kv{"application", a.name})
	data, err := json.Marshal(frame)
	if err != nil {
		s.log.Error("marshal event", zap.Error(err))
		return
	}
	a.sock.enqueue(data)
}

// event starts an event object with type and timestamp.
func (s *Server) event(typ string, fields ...kv) obj {
	o := obj{{"type", typ}, {"timestamp", ts(s.now())}}
	return append(o, fields...)
}

// ---- WebSocket connections ----

type wsConn struct {
	apps     []string
	remote   string
	out      chan []byte
	kill     chan struct{}
	killOnce sync.Once
}

func (w *wsConn) enqueue(data []byte) {
	select {
	case w.out <- data:
	default:
		// The writer is stuck: Asterisk drops slow consumers.
		w.close()
	}
}

func (w *wsConn) close() { w.killOnce.Do(func() { close(w.kill) }) }

// handleEvents serves GET /ari/events?app=a[,b]: the event WebSocket.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	appParam := r.URL.Query().Get("app")
	apps := splitList(appParam)
	if len(apps) == 0 {
		s.logREST(r, http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, obj{{"message", "Missing param 'app'"}})
		return
	}
	s.mu.Lock()
	refused := s.refuseWS
	s.mu.Unlock()
	if refused {
		s.logREST(r, http.StatusServiceUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, obj{{"message", "Service Unavailable"}})
		return
	}
	ws := websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler: func(conn *websocket.Conn) {
			s.serveSocket(conn, apps, r.RemoteAddr)
		},
	}
	ws.ServeHTTP(w, r)
}

func (s *Server) serveSocket(conn *websocket.Conn, apps []string, remote string) {
	sc := &wsConn{apps: apps, remote: remote, out: make(chan []byte, 1024), kill: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.wg.Add(1)
	s.socks[sc] = struct{}{}
	for _, n := range apps {
		a := s.appLocked(n)
		if old := a.sock; old != nil {
			// Newest socket wins; the older one hears ApplicationReplaced, then nothing.
			frame := append(s.event("ApplicationReplaced"), kv{"asterisk_id", s.opts.EntityID}, kv{"application", n})
			if data, err := json.Marshal(frame); err == nil {
				old.enqueue(data)
			}
		}
		a.sock = sc
	}
	s.mu.Unlock()
	defer s.wg.Done()
	s.log.Debug("websocket connected", zap.Strings("apps", apps), zap.String("remote", remote))

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			var msg []byte
			if err := websocket.Message.Receive(conn, &msg); err != nil {
				return
			}
		}
	}()
	reason := "closed"
loop:
	for {
		select {
		case data := <-sc.out:
			_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			if err := websocket.Message.Send(conn, string(data)); err != nil {
				reason = "write failed: " + err.Error()
				break loop
			}
		case <-sc.kill:
			reason = "dropped by server"
			break loop
		case <-readDone:
			reason = "closed by client"
			break loop
		case <-s.closing:
			reason = "server closing"
			break loop
		}
	}
	s.mu.Lock()
	delete(s.socks, sc)
	for _, n := range apps {
		if a := s.apps[n]; a != nil && a.sock == sc {
			a.sock = nil // deactivated: events are dropped, channels stay
		}
	}
	s.mu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	_ = conn.Close()
	<-readDone
	s.log.Debug("websocket gone", zap.Strings("apps", apps), zap.String("reason", reason))
}

// DropWebSocket closes every event WebSocket from the server side (test
// hook for a network failure). The apps stay, deactivated, until the client
// reconnects; events meanwhile are dropped.
func (s *Server) DropWebSocket() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.socks {
		sc.close()
		for _, n := range sc.apps {
			if a := s.apps[n]; a != nil && a.sock == sc {
				a.sock = nil
			}
		}
	}
}

// RefuseWebSockets, while on, answers every event WebSocket request with
// 503 (test hook): with DropWebSocket it keeps the event connection down
// for as long as a test needs, while REST goes on working.
func (s *Server) RefuseWebSockets(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseWS = on
}

// InjectRaw sends an arbitrary JSON frame to the connected socket of every
// app whose event filter allows the frame's type (test hook, e.g. for an
// event type ari/v5 does not know). It returns how many sockets got it.
func (s *Server) InjectRaw(raw string) int {
	var view map[string]any
	_ = json.Unmarshal([]byte(raw), &view)
	typ, _ := view["type"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.apps {
		if a.sock == nil || !a.allows(map[string]any{"type": typ}) {
			continue
		}
		a.sock.enqueue([]byte(raw))
		n++
	}
	return n
}

// Connected reports whether app (default Options.App) has a WebSocket.
func (s *Server) Connected(appName ...string) bool {
	n := s.opts.App
	if len(appName) > 0 {
		n = appName[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.activeLocked(n)
}
