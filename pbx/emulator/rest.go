package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// RESTCall is one REST request the emulator answered.
type RESTCall struct {
	Time   time.Time
	Method string
	Path   string // e.g. "/ari/channels/1795423827.3/answer"
	Query  string // raw query string
	Body   string // request body as sent (JSON for ari/v5)
	Status int
	User   string // the ARI user that made the call
}

// RESTLog returns every REST call answered so far, oldest first.
func (s *Server) RESTLog() []RESTCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RESTCall(nil), s.restLog...)
}

type request struct {
	method string
	path   string
	seg    []string
	q      url.Values     // query, form and JSON body scalars merged
	body   map[string]any // JSON body object, if any
	raw    []byte
}

func (rq *request) get(k string) string { return rq.q.Get(k) }

// list returns a repeatable / comma-separated parameter.
func (rq *request) list(k string) []string {
	var out []string
	for _, v := range rq.q[k] {
		out = append(out, splitList(v)...)
	}
	return out
}

type errBody = obj

func msg(m string) errBody { return obj{{"message", m}} }

func writeJSON(w http.ResponseWriter, status int, body any) {
	if rb, ok := body.(rawBody); ok {
		w.Header().Set("Content-Type", rb.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(rb.data)
		return
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.User == "" {
		return true
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	known := func(u, p string) bool {
		if eq(u, s.opts.User) && eq(p, s.opts.Password) {
			return true
		}
		want, ok := s.opts.Users[u]
		return ok && want != "" && eq(p, want)
	}
	if u, p, ok := r.BasicAuth(); ok && known(u, p) {
		return true
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		u, p, _ := strings.Cut(k, ":")
		return known(u, p)
	}
	return false
}

// restUser is the ARI user a request authenticated as ("" none).
func restUser(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	u, _, _ := strings.Cut(r.URL.Query().Get("api_key"), ":")
	return u
}

// logREST records a call. Callers record before they write the response,
// so that a test reading RESTLog right after the reply finds the call.
func (s *Server) logREST(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restLog = append(s.restLog, RESTCall{Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, User: restUser(r)})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/ari/") {
		writeJSON(w, http.StatusNotFound, msg("Resource not found"))
		return
	}
	if !s.authorized(r) {
		s.logREST(r, http.StatusUnauthorized)
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeJSON(w, http.StatusUnauthorized, msg("Authentication required"))
		return
	}
	if r.URL.Path == "/ari/events" {
		s.handleEvents(w, r)
		return
	}
	rq := &request{method: r.Method, path: r.URL.Path, q: url.Values{}}
	for k, v := range r.URL.Query() {
		rq.q[k] = append(rq.q[k], v...)
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rq.raw = raw
	ct := r.Header.Get("Content-Type")
	if len(strings.TrimSpace(string(raw))) > 0 {
		if strings.Contains(ct, "x-www-form-urlencoded") {
			if vals, err := url.ParseQuery(string(raw)); err == nil {
				for k, v := range vals {
					rq.q[k] = append(rq.q[k], v...)
				}
			}
		} else {
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				s.finish(w, r, rq, http.StatusBadRequest, msg("Failed to parse body"))
				return
			}
			rq.body = body
			for k, v := range body {
				switch t := v.(type) {
				case string:
					rq.q[k] = append(rq.q[k], t)
				case float64:
					rq.q[k] = append(rq.q[k], strconv.FormatFloat(t, 'f', -1, 64))
				case bool:
					rq.q[k] = append(rq.q[k], strconv.FormatBool(t))
				case []any:
					for _, e := range t {
						if es, ok := e.(string); ok {
							rq.q[k] = append(rq.q[k], es)
						}
					}
				}
			}
		}
	}
	rq.seg = strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/ari/"), "/"), "/")
	s.mu.Lock()
	status, body := s.route(rq)
	s.mu.Unlock()
	s.finish(w, r, rq, status, body)
}

// finish records the call in the REST log, then writes the response: a
// client that got its reply always finds the call in RESTLog.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rq *request, status int, body any) {
	s.mu.Lock()
	s.restLog = append(s.restLog, RESTCall{Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(rq.raw), Status: status, User: restUser(r)})
	s.mu.Unlock()
	writeJSON(w, status, body)
	s.log.Debug("rest", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("query", r.URL.RawQuery), zap.Int("status", status))
}

var (
	notFound      = msg("Resource not found")
	invalidMethod = msg("Invalid method")
)

// route dispatches a REST request; called with s.mu held.
func (s *Server) route(rq *request) (int, any) {
	seg := rq.seg
	m := rq.method
	n := len(seg)
	if s.closed {
		return http.StatusServiceUnavailable, msg("Shutting down")
	}
	switch seg[0] {
	case "asterisk":
		if n == 2 && seg[1] == "info" {
			if m != "GET" {
				return 405, invalidMethod
			}
			return 200, s.infoJSON(rq.get("only"))
		}
		if n == 2 && seg[1] == "ping" {
			if m != "GET" {
				return 405, invalidMethod
			}
			return 200, obj{{"asterisk_id", s.opts.EntityID}, {"ping", "pong"}, {"timestamp", ts(s.now())}}
		}
	case "applications":
		return s.routeApplications(rq)
	case "channels":
		return s.routeChannels(rq)
	case "playbacks":
		if n == 2 {
			pb := s.playbacks[seg[1]]
			switch m {
			case "GET":
				if pb == nil {
					return 404, msg("Playback not found")
				}
				return 200, pb.json()
			case "DELETE":
				if pb == nil {
					return 404, msg("Playback not found")
				}
				s.stopPlaybackLocked(pb)
				return 204, nil
			}
			return 405, invalidMethod
		}
		if n == 3 && seg[2] == "control" && m == "POST" {
			if s.playbacks[seg[1]] == nil {
				return 404, msg("Playback not found")
			}
			return 204, nil
		}
	case "bridges":
		return s.routeBridges(rq)
	case "recordings":
		return s.routeRecordings(rq)
	case "endpoints":
		return s.routeEndpoints(rq)
	case "events":
		if n == 2 && seg[1] == "claim" {
			if m != "POST" {
				return 405, invalidMethod
			}
			return s.claimLocked(rq)
		}
		if n == 3 && seg[1] == "user" {
			if m != "POST" {
				return 405, invalidMethod
			}
			return s.userEventLocked(rq, seg[2])
		}
	}
	return 404, notFound
}

func (s *Server) infoJSON(only string) obj {
	full := obj{
		{"build", obj{{"os", "Linux"}, {"kernel", "6.8.0"}, {"options", "BUILD_NATIVE, OPTIONAL_API"}, {"machine", "x86_64"}, {"date", "2026-11-01 00:00:00 UTC"}, {"user", "builder"}}},
		{"system", obj{{"version", "22.10.1"}, {"entity_id", s.opts.EntityID}}},
		{"config", obj{{"name", ""}, {"default_language", "en"}, {"setid", obj{{"user", "asterisk"}, {"group", "asterisk"}}}}},
		{"status", obj{{"startup_time", ts(s.startTime)}, {"last_reload_time", ts(s.startTime)}}},
	}
	if only == "" {
		return full
	}
	var out obj
	for _, part := range splitList(only) {
		if v := full.get(part); v != nil {
			out = append(out, kv{part, v})
		}
	}
	return out
}

// ---- applications ----

func (s *Server) routeApplications(rq *request) (int, any) {
	seg, m, n := rq.seg, rq.method, len(rq.seg)
	if n == 1 {
		if m != "GET" {
			return 405, invalidMethod
		}
		names := make([]string, 0, len(s.apps))
		for k := range s.apps {
			names = append(names, k)
		}
		sort.Strings(names)
		out := []obj{}
		for _, k := range names {
			out = append(out, s.apps[k].json())
		}
		return 200, out
	}
	a := s.apps[seg[1]]
	switch {
	case n == 2:
		if m != "GET" {
			return 405, invalidMethod
		}
		if a == nil {
			return 404, msg("Application not found")
		}
		return 200, a.json()
	case n == 3 && seg[2] == "subscription":
		if m != "POST" && m != "DELETE" {
			return 405, invalidMethod
		}
		srcs := rq.list("eventSource")
		if len(srcs) == 0 {
			return 400, msg("Missing parameter eventSource")
		}
		if a == nil {
			return 404, msg("Application not found")
		}
		var keys []string
		for _, src := range srcs {
			scheme, id, ok := strings.Cut(src, ":")
			if !ok {
				return 400, msg("Invalid event source URI scheme")
			}
			switch scheme {
			case "channel":
				if s.channels[id] == nil {
					return 422, msg("Unable to find event source " + src)
				}
			case "bridge":
				if s.bridges[id] == nil {
					return 422, msg("Unable to find event source " + src)
				}
			case "endpoint":
				if s.phones[id] == nil {
					return 422, msg("Unable to find event source " + src)
				}
			case "deviceState":
			default:
				return 400, msg("Invalid event source URI scheme")
			}
			keys = append(keys, scheme+":"+id)
		}
		for _, k := range keys {
			if m == "POST" {
				a.subs[k]++
			} else {
				if a.subs[k] <= 0 {
					return 409, msg("Application not subscribed to event source")
				}
				delete(a.subs, k)
			}
		}
		return 200, a.json()
	case n == 3 && seg[2] == "eventFilter":
		if m != "PUT" {
			return 405, invalidMethod
		}
		if a == nil {
			return 404, msg("Application not found")
		}
		allowed, disallowed, ok := parseFilter(rq.body)
		if !ok {
			return 400, msg("Invalid format definition")
		}
		a.allowed, a.disallowed = allowed, disallowed
		return 200, a.json()
	}
	return 404, notFound
}

func parseFilter(body map[string]any) (allowed, disallowed []map[string]any, ok bool) {
	if body == nil {
		return nil, nil, true // an empty body resets the filter
	}
	conv := func(v any) ([]map[string]any, bool) {
		if v == nil {
			return nil, true
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, false
		}
		var out []map[string]any
		for _, e := range arr {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	for k := range body {
		if k != "allowed" && k != "disallowed" {
			return nil, nil, false
		}
	}
	a, ok1 := conv(body["allowed"])
	d, ok2 := conv(body["disallowed"])
	return a, d, ok1 && ok2
}

// ---- channels ----

func (s *Server) channelList() []obj {
	cs := make([]*channel, 0, len(s.channels))
	for _, c := range s.channels {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	out := []obj{}
	for _, c := range cs {
		out = append(out, c.json())
	}
	return out
}

func (s *Server) routeChannels(rq *request) (int, any) {
	seg, m, n := rq.seg, rq.method, len(rq.seg)
	if n == 1 {
		switch m {
		case "GET":
			return 200, s.channelList()
		case "POST":
			return s.originateLocked(rq, rq.get("channelId"))
		}
		return 405, invalidMethod
	}
	if n == 2 && (seg[1] == "create" || seg[1] == "externalMedia") {
		return 501, msg("Not implemented by the emulator")
	}
	c := s.channels[seg[1]]
	if n == 2 {
		switch m {
		case "GET":
			if c == nil {
				return 404, msg("Channel not found")
			}
			return 200, c.json()
		case "POST":
			return s.originateLocked(rq, seg[1])
		case "DELETE":
			if c == nil {
				return 404, msg("Channel not found")
			}
			cause := 16
			if rc := rq.get("reason_code"); rc != "" {
				v, err := strconv.Atoi(rc)
				if err != nil {
					return 400, msg("Invalid reason for hangup provided")
				}
				cause = v
			} else if r := rq.get("reason"); r != "" {
				v, ok := hangupReasons[r]
				if !ok {
					return 400, msg("Invalid reason for hangup provided")
				}
				cause = v
			}
			s.appHangupLocked(c, cause)
			return 204, nil
		}
		return 405, invalidMethod
	}
	op := seg[2]
	known := map[string]bool{"answer": true, "ring": true, "moh": true, "play": true, "variable": true, "dtmf": true,
		"continue": true, "hold": true, "mute": true, "silence": true, "redirect": true, "snoop": true, "record": true, "dial": true, "move": true, "rtp_statistics": true}
	if !known[op] || (n > 3 && op != "play" && op != "snoop") || n > 4 {
		return 404, notFound
	}
	if op == "snoop" {
		id := rq.get("snoopId")
		if n == 4 {
			id = seg[3]
		}
		return s.snoopLocked(rq, seg[1], id)
	}
	if c == nil {
		return 404, msg("Channel not found")
	}
	inStasis := c.stasisApp != "" && !c.hangingUp
	switch op {
	case "variable":
		name := rq.get("variable")
		if m != "GET" && m != "POST" {
			return 405, invalidMethod
		}
		if name == "" {
			return 400, msg("Variable name is required")
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		if m == "GET" {
			return s.getVariableLocked(c, name)
		}
		s.setVariableLocked(c, name, rq.get("value"))
		return 204, nil
	case "answer":
		if m != "POST" {
			return 405, invalidMethod
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		s.answerLocked(c)
		return 204, nil
	case "ring", "moh", "hold", "silence", "mute":
		if m != "POST" && m != "DELETE" {
			return 405, invalidMethod
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		on := m == "POST"
		switch op {
		case "ring":
			c.ring = on
		case "moh":
			c.moh = on
		}
		s.touchLocked(c)
		return 204, nil
	case "dtmf":
		if m != "POST" {
			return 405, invalidMethod
		}
		if rq.get("dtmf") == "" {
			return 400, msg("DTMF is required")
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		if c.handle != nil {
			c.handle.heard = append(c.handle.heard, rq.get("dtmf"))
		}
		return 204, nil
	case "continue":
		if m != "POST" {
			return 405, invalidMethod
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		s.continueLocked(c, rq.get("context"), rq.get("extension"))
		return 204, nil
	case "play":
		if m != "POST" {
			return 405, invalidMethod
		}
		media := rq.list("media")
		if len(media) == 0 {
			return 400, msg("Missing parameter media")
		}
		if !inStasis {
			return 409, msg("Channel not in Stasis application")
		}
		id := rq.get("playbackId")
		if n == 4 {
			id = seg[3]
		}
		if id == "" {
			s.objSeq++
			id = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.now().UnixNano()&0xffffffff, s.objSeq&0xffff, s.objSeq&0xfff, c.seq&0xfff, s.objSeq)
		}
		if s.playbacks[id] != nil {
			return 409, msg("Playback with the same ID already exists")
		}
		lang := rq.get("lang")
		if lang == "" {
			lang = c.language
		}
		pb := s.playLocked(c, id, media, lang)
		return 201, pb.json()
	}
	return 501, msg("Not implemented by the emulator")
}

// getVariableLocked: GET /channels/{id}/variable. A function runs on the
// HTTP thread, which inhibits escalations: DB(), DB_DELETE() and the
// other dangerous functions fail as on Asterisk without live_dangerously.
func (s *Server) getVariableLocked(c *channel, name string) (int, any) {
	if f, isFunc := parseFunc(name); isFunc {
		v, ok := s.readFuncLocked(f, true)
		if !ok {
			return 500, msg("Unable to read provided function")
		}
		return 200, obj{{"value", v}}
	}
	v, ok := c.vars[name]
	if !ok {
		return 404, msg("Provided variable was not found")
	}
	return 200, obj{{"value", v}}
}

// setVariableLocked: POST /channels/{id}/variable. Asterisk 22.10 runs the
// set on the channel's own thread, blocking dangerous functions there
// first, and never unblocks them when it was not blocked before
// (res/stasis/control.c app_control_set_channel_var): from then on the
// channel's dialplan cannot run DB() or DB_DELETE() either.
func (s *Server) setVariableLocked(c *channel, name, value string) {
	c.escalationsInhibited = true
	if f, isFunc := parseFunc(name); isFunc && s.writeFuncLocked(f, value) {
		return
	}
	s.setVarLocked(c, name, value)
}

// ---- bridges ----

func (s *Server) routeBridges(rq *request) (int, any) {
	seg, m, n := rq.seg, rq.method, len(rq.seg)
	if n == 1 {
		switch m {
		case "GET":
			bs := make([]*bridge, 0, len(s.bridges))
			for _, b := range s.bridges {
				bs = append(bs, b)
			}
			sort.Slice(bs, func(i, j int) bool {
				return bs[i].created.Before(bs[j].created) || (bs[i].created.Equal(bs[j].created) && bs[i].id < bs[j].id)
			})
			out := []obj{}
			for _, b := range bs {
				out = append(out, b.json())
			}
			return 200, out
		case "POST":
			id := rq.get("bridgeId")
			if id != "" && s.bridges[id] != nil {
				return 409, msg("Bridge with the same bridgeId already exists")
			}
			return s.createBridgeLocked(id, rq.get("type"), rq.get("name"))
		}
		return 405, invalidMethod
	}
	b := s.bridges[seg[1]]
	if n == 2 {
		switch m {
		case "GET":
			if b == nil {
				return 404, msg("Bridge not found")
			}
			return 200, b.json()
		case "POST":
			if b != nil {
				if nm := rq.get("name"); nm != "" && nm != b.name {
					return 500, msg("Changing bridge name is not implemented")
				}
				if rq.get("type") != "" {
					return 500, msg("Supplying a bridge type when updating a bridge is not allowed.")
				}
				return 200, b.json()
			}
			return s.createBridgeLocked(seg[1], rq.get("type"), rq.get("name"))
		case "DELETE":
			if b == nil {
				return 404, msg("Bridge not found")
			}
			s.destroyBridgeLocked(b)
			return 204, nil
		}
		return 405, invalidMethod
	}
	if n != 3 {
		return 404, notFound
	}
	switch seg[2] {
	case "addChannel", "removeChannel":
		if m != "POST" {
			return 405, invalidMethod
		}
		ids := rq.list("channel")
		if len(ids) == 0 {
			return 400, msg("Missing parameter channel")
		}
		var cs []*channel
		for _, id := range ids {
			c := s.channels[id]
			if c == nil || c.hangingUp {
				return 400, msg("Channel not found")
			}
			cs = append(cs, c)
		}
		if b == nil {
			return 404, msg("Bridge not found")
		}
		for _, c := range cs {
			if c.stasisApp == "" {
				return 422, msg("Channel not in Stasis application")
			}
			if seg[2] == "removeChannel" && c.bridge != b {
				return 422, msg("Channel not in this bridge")
			}
		}
		for _, c := range cs {
			if seg[2] == "addChannel" {
				s.bridgeAddLocked(b, c)
			} else {
				s.bridgeLeaveLocked(c)
			}
		}
		return 204, nil
	case "moh":
		if m != "POST" && m != "DELETE" {
			return 405, invalidMethod
		}
		if b == nil {
			return 404, msg("Bridge not found")
		}
		b.moh = m == "POST"
		for _, c := range b.channels {
			s.touchLocked(c)
		}
		return 204, nil
	case "record":
		return s.recordBridgeLocked(rq, b)
	case "play", "videoSource":
		if b == nil {
			return 404, msg("Bridge not found")
		}
		return 501, msg("Not implemented by the emulator")
	}
	return 404, notFound
}

func (s *Server) createBridgeLocked(id, typ, name string) (int, any) {
	b := &bridge{id: id, name: name, bridgeType: "mixing", created: s.now()}
	for _, t := range splitList(typ) {
		switch t {
		case "mixing":
			b.bridgeType = "mixing"
		case "holding":
			b.bridgeType = "holding"
		case "dtmf_events":
			b.dtmfEvents = true
		case "proxy_media":
			b.proxyMedia = true
		case "video_sfu", "video_single", "sdp_label":
		default:
			return 400, msg("Invalid bridge type")
		}
	}
	if b.id == "" {
		s.objSeq++
		b.id = fmt.Sprintf("%08x-%04x-4000-8000-%012x", s.now().UnixNano()&0xffffffff, s.objSeq&0xffff, s.objSeq)
	}
	s.bridges[b.id] = b
	// The creating app hears about the bridge (BridgeDestroyed arrives);
	// no BridgeCreated is sent for a bridge created over REST.
	s.subscribeLocked(s.opts.App, "bridge:"+b.id)
	return 200, b.json()
}

// ---- endpoints ----

func (s *Server) routeEndpoints(rq *request) (int, any) {
	seg, m, n := rq.seg, rq.method, len(rq.seg)
	if m != "GET" {
		if n == 2 && seg[1] == "sendMessage" {
			return 501, msg("Not implemented by the emulator")
		}
		return 405, invalidMethod
	}
	switch n {
	case 1, 2:
		keys := make([]string, 0, len(s.phones))
		for k := range s.phones {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := []obj{}
		for _, k := range keys {
			p := s.phones[k]
			if n == 2 && !strings.EqualFold(p.tech, seg[1]) {
				continue
			}
			out = append(out, s.endpointJSON(p))
		}
		if n == 2 && len(out) == 0 {
			return 404, msg("No Endpoints found - invalid tech " + seg[1])
		}
		return 200, out
	case 3:
		p := s.phones[seg[1]+"/"+seg[2]]
		if p == nil {
			return 404, msg("Endpoint not found")
		}
		return 200, s.endpointJSON(p)
	}
	return 404, notFound
}
