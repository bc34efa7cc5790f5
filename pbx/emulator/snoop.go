package emulator

import (
	"encoding/binary"
	"fmt"

	"sort"
	"strings"
	"time"
)

// Snoop channels and bridge recordings, as Asterisk 22 answers them.
//
// POST /channels/{id}/snoop[/{snoopId}] (res/ari/resource_channels.c
// ast_ari_channels_snoop_channel) checks spy and whisper (400 "Invalid
// direction specified for spy|whisper"), that one of them is not none
// (400 "Direction must be specified for at least spy or whisper"), that
// app is given (400 "Application name is required"), then the channel
// (404 "Channel not found"); the snooped channel need not be in Stasis.
// The snoop channel (Snoop/<id>-<n>) is up at once and enters app with
// appArgs (StasisStart); it is hung up when the snooped channel goes.
//
// POST /bridges/{id}/record: 404 for a missing bridge, 400 for a missing
// name or format or an invalid ifExists or terminateOn, 422 for an
// unknown format, 409 when a recording of that name exists (live, or
// stored and ifExists=fail). A Recorder channel enters the bridge
// (ChannelEnteredBridge to the bridge's subscribers; it is never in an
// application: no StasisStart) and RecordingStarted follows; stopping
// (POST /recordings/live/{name}/stop) or destroying the bridge finishes it
// (the recorder leaves, RecordingFinished) and it is stored.

// SnoopInfo describes a live snoop channel (tests).
type SnoopInfo struct {
	ID, Of       string // the snoop channel and the snooped one
	Spy, Whisper string
	Bridge       string // the bridge the snoop channel is in, if any
}

// Snoops lists the live snoop channels.
func (s *Server) Snoops() []SnoopInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SnoopInfo
	for _, c := range s.channels {
		if c.snoopOf == nil || c.dead {
			continue
		}
		si := SnoopInfo{ID: c.id, Of: c.snoopOf.id, Spy: c.spy, Whisper: c.whisper}
		if c.bridge != nil {
			si.Bridge = c.bridge.id
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var snoopDirs = map[string]bool{"none": true, "both": true, "out": true, "in": true}

// snoopLocked: POST /channels/{id}/snoop[/{snoopId}].
func (s *Server) snoopLocked(rq *request, targetID, snoopID string) (int, any) {
	if rq.method != "POST" {
		return 405, invalidMethod
	}
	spy, whisper := rq.get("spy"), rq.get("whisper")
	if spy == "" {
		spy = "none"
	}
	if whisper == "" {
		whisper = "none"
	}
	if !snoopDirs[spy] {
		return 400, msg("Invalid direction specified for spy")
	}
	if !snoopDirs[whisper] {
		return 400, msg("Invalid direction specified for whisper")
	}
	if spy == "none" && whisper == "none" {
		return 400, msg("Direction must be specified for at least spy or whisper")
	}
	app := rq.get("app")
	if app == "" {
		return 400, msg("Application name is required")
	}
	t := s.channels[targetID]
	if t == nil || t.dead || t.hangingUp {
		return 404, msg("Channel not found")
	}
	if snoopID != "" && s.channels[snoopID] != nil {
		// ast_channel_alloc refuses a unique id in use: no snoop channel.
		return 500, msg("Snoop channel could not be created")
	}
	sn := s.newChannelLocked(snoopID, fmt.Sprintf("Snoop/%s-%08x", t.id, s.nameSeq), "Up")
	s.nameSeq++
	sn.answered = true
	sn.snoopOf, sn.spy, sn.whisper = t, spy, whisper
	sn.language = t.language
	t.snoops = append(t.snoops, sn)
	var args []string
	if a := rq.get("appArgs"); a != "" {
		args = strings.Split(a, ",")
	}
	s.enterStasisLocked(sn, app, args)
	return 200, sn.json()
}

// endSnoopsLocked hangs up the snoop channels on c (c is going).
func (s *Server) endSnoopsLocked(c *channel) {
	snoops := c.snoops
	c.snoops = nil
	for _, sn := range snoops {
		if !sn.dead && !sn.hangingUp {
			s.terminateLocked(sn, 0, false, 16, endRemote)
		}
	}
}

// ---- recordings ----

type liveRecording struct {
	name, format string
	bridge       *bridge
	recorder     *channel
	started      time.Time
	state        string
}

type storedRecording struct {
	name, format string
	data         []byte
}

func (r *liveRecording) json() obj {
	o := obj{{"name", r.name}, {"format", r.format}, {"state", r.state}, {"target_uri", "bridge:" + r.bridge.id}}
	return o
}

// rawBody is a non-JSON REST answer (a recording's audio).
type rawBody struct {
	contentType string
	data        []byte
}

var recordFormats = map[string]bool{"wav": true, "wav16": true, "gsm": true, "ulaw": true, "alaw": true, "sln": true, "g722": true}

// recordBridgeLocked: POST /bridges/{id}/record.
func (s *Server) recordBridgeLocked(rq *request, b *bridge) (int, any) {
	if rq.method != "POST" {
		return 405, invalidMethod
	}
	if b == nil {
		return 404, msg("Bridge not found")
	}
	name, format := rq.get("name"), rq.get("format")
	if name == "" {
		return 400, msg("Missing parameter name")
	}
	if format == "" {
		return 400, msg("Missing parameter format")
	}
	switch rq.get("terminateOn") {
	case "", "none", "any", "*", "#":
	default:
		return 400, msg("terminateOn invalid")
	}
	ifExists := rq.get("ifExists")
	switch ifExists {
	case "":
		ifExists = "fail"
	case "fail", "overwrite", "append":
	default:
		return 400, msg("ifExists invalid")
	}
	if !recordFormats[format] {
		return 422, msg("specified format is unknown on this system")
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return 400, msg("Recording name invalid")
	}
	if s.liveRecs[name] != nil || (s.storedRecs[name] != nil && ifExists == "fail") {
		return 409, msg("Recording '" + name + "' already exists and can not be overwritten")
	}
	rec := &liveRecording{name: name, format: format, bridge: b, started: s.now(), state: "recording"}
	rec.recorder = &channel{id: fmt.Sprintf("%d.%d", s.startTime.Unix(), s.chanSeq+1), name: s.nextName("Recorder/" + b.id),
		state: "Up", created: s.now(), language: "en", vars: map[string]string{}, priority: 1}
	s.chanSeq++
	s.liveRecs[name] = rec
	b.channels = append([]*channel{rec.recorder}, b.channels...)
	rec.recorder.bridge = b
	s.emitLocked(s.event("ChannelEnteredBridge", kv{"bridge", b.json()}, kv{"channel", rec.recorder.json()}), nil, []*bridge{b})
	s.emitLocked(s.event("RecordingStarted", kv{"recording", rec.json()}), nil, []*bridge{b})
	return 201, rec.json()
}

// finishRecordingLocked ends a live recording: the recorder leaves the
// bridge and the audio is stored (unless canceled).
func (s *Server) finishRecordingLocked(rec *liveRecording, store bool) {
	delete(s.liveRecs, rec.name)
	if rec.recorder.bridge != nil {
		s.bridgeLeaveLocked(rec.recorder)
	}
	if !store {
		rec.state = "canceled"
		return
	}
	rec.state = "done"
	secs := s.now().Sub(rec.started).Seconds()
	s.storedRecs[rec.name] = &storedRecording{name: rec.name, format: rec.format, data: wavOf(secs)}
	s.emitLocked(s.event("RecordingFinished", kv{"recording", rec.json()}), nil, []*bridge{rec.bridge})
}

// endBridgeRecordingsLocked finishes the recordings of b (it is going).
func (s *Server) endBridgeRecordingsLocked(b *bridge) {
	names := make([]string, 0)
	for n, r := range s.liveRecs {
		if r.bridge == b {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s.finishRecordingLocked(s.liveRecs[n], true)
	}
}

// wavOf is secs of 8 kHz 16-bit mono silence as a wav file (at most 10 s
// of samples are kept: the emulator's clock may run fast).
func wavOf(secs float64) []byte {
	n := int(min(secs, 10) * 8000 * 2)
	n &^= 1
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	return b
}

// StoredRecordingNames lists the stored recordings (tests).
func (s *Server) StoredRecordingNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.storedRecs))
	for n := range s.storedRecs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LiveRecordingNames lists the recordings in progress (tests).
func (s *Server) LiveRecordingNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.liveRecs))
	for n := range s.liveRecs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// routeRecordings: /recordings/stored..., /recordings/live...
func (s *Server) routeRecordings(rq *request) (int, any) {
	seg, m, n := rq.seg, rq.method, len(rq.seg)
	if n < 2 {
		return 404, notFound
	}
	switch seg[1] {
	case "stored":
		if n == 2 {
			if m != "GET" {
				return 405, invalidMethod
			}
			names := make([]string, 0, len(s.storedRecs))
			for nm := range s.storedRecs {
				names = append(names, nm)
			}
			sort.Strings(names)
			out := []obj{}
			for _, nm := range names {
				r := s.storedRecs[nm]
				out = append(out, obj{{"name", r.name}, {"format", r.format}})
			}
			return 200, out
		}
		r := s.storedRecs[seg[2]]
		switch {
		case n == 3 && m == "GET":
			if r == nil {
				return 404, msg("Recording not found")
			}
			return 200, obj{{"name", r.name}, {"format", r.format}}
		case n == 3 && m == "DELETE":
			if r == nil {
				return 404, msg("Recording not found")
			}
			delete(s.storedRecs, r.name)
			return 204, nil
		case n == 4 && seg[3] == "file" && m == "GET":
			if r == nil {
				return 404, msg("Recording not found")
			}
			return 200, rawBody{contentType: "audio/wav", data: append([]byte(nil), r.data...)}
		case n == 4 && seg[3] == "copy" && m == "POST":
			return 501, msg("Not implemented by the emulator")
		case n == 3 || (n == 4 && (seg[3] == "file" || seg[3] == "copy")):
			return 405, invalidMethod
		}
	case "live":
		if n < 3 {
			return 404, notFound
		}
		r := s.liveRecs[seg[2]]
		switch {
		case n == 3 && m == "GET":
			if r == nil {
				return 404, msg("Recording not found")
			}
			return 200, r.json()
		case n == 3 && m == "DELETE":
			if r == nil {
				return 404, msg("Recording not found")
			}
			s.finishRecordingLocked(r, false)
			return 204, nil
		case n == 4 && seg[3] == "stop" && m == "POST":
			if r == nil {
				return 404, msg("Recording not found")
			}
			s.finishRecordingLocked(r, true)
			return 204, nil
		case n == 4 && (seg[3] == "pause" || seg[3] == "mute"):
			return 501, msg("Not implemented by the emulator")
		}
	}
	return 404, notFound
}
