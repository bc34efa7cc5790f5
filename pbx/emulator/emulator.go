// Package emulator is a wire-level virtual Asterisk 22: it serves the subset
// of ARI (REST + WebSocket events) that hotline uses over real HTTP on
// loopback, emitting the same JSON as a real Asterisk 22.10.1 (see
// testdata/traces), so that the real ari/v5 native client can be exercised
// end to end in tests and in `hotline demo` without an Asterisk.
//
// Besides the ARI server it scripts the outside world: virtual callers
// (Server.Call) that enter Stasis from the dialplan, and virtual operator
// phones (Server.AddPhone) that ring, answer, refuse or hang up when the
// application originates to them, and carrier trunks (Server.AddTrunk)
// through which the application calls citizens back.
//
// Everything the emulator knows is guarded by one mutex; events are built
// and queued to the WebSocket writers under that mutex, so their order is the
// order in which the state changed.
//
// Known divergences from Asterisk 22 (see the fidelity tests in
// trace_test.go for what is checked against the recordings):
//   - ChannelVarset: only RTPAUDIOQOS* (×5 at the hangup of an answered
//     channel), STASISSTATUS and variables the app sets are sent; the
//     BRIDGEPEER / BRIDGEPVTCALLID updates are not. ChannelConnectedLine is
//     sent once, for the channel already in a two-party bridge (Asterisk
//     sends it for both parties when both are SIP, as in the trace
//     operator_hangs_up_first). Whether Asterisk would also re-INVITE the
//     far end (pjsip send_connected_line) is not modelled: the real-PBX
//     suite (realpbx, SIPp) checks that the citizens' trunk gets none.
//   - Playback, as on Asterisk 22.10.1: a several-media playback stopped
//     with DELETE ends (PlaybackFinished "done"), yet its next item starts
//     anyway with no event, and a bridge join of the channel waits until
//     that item has played (CallHandle.Orphans counts them). A hang-up
//     during a playback cuts it off; CallHandle.Completed lists only media
//     that played to its end.
//   - The Dial(RINGING) / ChannelStateChange(Ringing) pair always comes in
//     that order (Asterisk varies it).
//   - Bridge technology is simple_bridge / softmix / holding_bridge, never
//     native_rtp, though a plain "mixing" bridge of two channels does
//     swallow DTMF as native RTP bridging does.
//   - Two hangups issued back to back produce their events one channel
//     after the other; Asterisk may interleave them.
//   - Bridge play/record, snoop, external media, channels/create, dial,
//     redirect, recordings, sounds, device states, mailboxes: 501 or 404.
//   - Originate only reaches phones added with AddPhone, numbers behind
//     trunks added with AddTrunk (PJSIP/<number>@<trunk>) and the Local
//     destinations of the hotline dialplan (only Local/s@hotline-dbsync);
//     any other endpoint (other Local/, unknown PJSIP or trunk) gives 500
//     "Allocation failed". A 404 from behind a trunk (cause 1) is modelled
//     on the recorded 603, not recorded itself.
//   - Dialplan: only [hotline-dbsync] is modelled (dbsync.go), for an
//     originate with context/extension and no app (extension read) and for
//     POST /continue (read, delete<n>); each extension runs as one step.
//     An originate to any other extension without app answers and hangs
//     up shortly; a continue anywhere else ends the call.
//   - A Local channel is only its ;1 half (name "Local/s@hotline-dbsync-
//     0000000N;1"), dialled like a phone that answers at once (its Dial
//     events include a RINGING); the ;2 half is not modelled, except that
//     the dialplan's Wait(600) hangs the channel up 600 s (scaled) after the
//     answer. It has no RTP: no RTPAUDIOQOS* at its hangup.
//   - Dialplan functions: a variable name ending in ')' is a function, as on
//     Asterisk. GET evaluates it as an ARI thread does, with escalations
//     inhibited: DB(), DB_DELETE() and the other functions Asterisk 22.10
//     registers as dangerous (SHELL, FILE, STAT, LOCK, ...) answer 500
//     {"message":"Unable to read provided function"} (Asterisk logs
//     "Dangerous function DB read blocked"); DB_KEYS, DB_EXISTS and
//     DB_KEYCOUNT read the emulator's AstDB (Server.DB, SetDB, DBKeys); any
//     other function is not registered here (also 500, where Asterisk may
//     know it). POST of a dangerous function (DB, FILE, CURL, ...) is
//     blocked and still answers 204; DB_DELETE deletes (Asterisk allows its
//     write form); other functions (CHANNEL(language)...) are stored as
//     plain variables with a ChannelVarset, which Asterisk does not do.
//     Every POST variable leaves the channel unable to run DB()/DB_DELETE()
//     in the dialplan afterwards, as Asterisk 22.10's
//     app_control_set_channel_var does. DB_RESULT is not set. GET variable
//     needs the channel in Stasis (409); Asterisk reads any channel.
//   - Without Options.Fallback a caller whose app is not connected is
//     refused (603). With it the caller goes through [hotline-fallback]:
//     the hotline_missed AstDB record (not for an empty or "anonymous"
//     number; the presentation is not modelled), then the queue, where no
//     fallback operator ever answers (the record is never dropped by the
//     dialplan) and the caller stays until it hangs up. The channel is
//     listed by GET /channels (Up, app Queue) but sends no events.
//   - POST /continue ends the call, except into [hotline-dbsync] (above).
//   - POST /events/user/{name} answers 204 for every application it has
//     seen; Asterisk answers 404 for a deactivated one holding nothing.
//   - Bridges created over REST are subscribed to Options.App (REST calls
//     carry no app name), and to the application of each Stasis channel
//     added to them, as Asterisk's control_add_channel_to_bridge does.
//   - With Options.Broadcast the dialplan runs StasisBroadcast() (see
//     Broadcast): the emulator waits the whole claim timeout even when no
//     application matches, and CallClaimed (notify_claimed) is not sent.
//   - Restart drops every channel and bridge with no event, as a crashed
//     Asterisk does; the AstDB and the phones' registrations stay.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultEntityID is the asterisk_id / system.entity_id of the recorded Asterisk.
const DefaultEntityID = "02:fc:00:00:00:01"

// Clock supplies time to the emulator. The default is the real clock.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a stoppable scheduled function (as *time.Timer).
type Timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Options configure a Server. Zero values give the defaults noted.
type Options struct {
	// App is the default Stasis application name: virtual callers enter it.
	// Default "hotline". WebSockets for other app names are accepted too.
	App string
	// User and Password for HTTP basic auth or ?api_key=user:pass. Empty User
	// disables authentication.
	User, Password string
	// Users are more ARI users (ari.conf has a section per user), by
	// name: the password. The REST log names the user of each call.
	Users map[string]string
	// EntityID is sent as asterisk_id and system.entity_id. Default DefaultEntityID.
	EntityID string
	// Logger (optional) receives REST calls and socket changes at Debug level.
	Logger *zap.Logger
	// Clock (optional) for timestamps and timers. Default: real time.
	Clock Clock
	// TimeScale multiplies the Asterisk-side durations: originate timeouts
	// and playback lengths. Default 1. Script durations (Caller, Phone) are
	// never scaled: tests give them directly.
	TimeScale float64
	// PlaybackDuration is the length of one media item. Default 1s (scaled).
	PlaybackDuration time.Duration
	// SoundDurations overrides PlaybackDuration per media URI, e.g.
	// "sound:hello-world" (scaled too).
	SoundDurations map[string]time.Duration
	// SoundExists decides whether a media URI can be played; a missing one
	// gives PlaybackStarted then PlaybackFinished "failed" (as Asterisk).
	// Default: every media exists unless its name (after "sound:") starts
	// with "does-not-exist".
	SoundExists func(media string) bool
	// WriteTimeout is how long one WebSocket write may block before the
	// socket is closed (Asterisk's websocket_write_timeout). Default 100ms.
	WriteTimeout time.Duration
	// RingDelay is the time between the originate and the phone's 180
	// Ringing. Default 2ms (not scaled).
	RingDelay time.Duration
	// DigitGap separates the digits of a scripted multi-digit step. Default 50ms.
	DigitGap time.Duration
	// Fallback: a Caller whose app has no WebSocket is not refused (603)
	// but goes through the dialplan's [hotline-fallback]: unless its
	// number is empty or "anonymous" the AstDB gets
	// hotline_missed/<channel id> = "<number>|<epoch seconds>", then it
	// waits in the fallback queue (CallHandle.InFallback) until it hangs
	// up. No fallback operator answers, so the record stays.
	Fallback bool
	// OnDBDelete, if set, is called with the "family/key" and the value of
	// every AstDB entry deleted (by DB_DELETE in the emulated dialplan or
	// over ARI), under the server's lock: it must not call the Server. Tests
	// use it to see what the application had done by then.
	OnDBDelete func(path, value string)
	// Broadcast (optional): the dialplan offers calls with
	// StasisBroadcast() to every matching application instead of
	// Stasis(App); see Broadcast.
	Broadcast *Broadcast
}

// Server is the virtual Asterisk. Create it with New, then Start it.
type Server struct {
	opts  Options
	log   *zap.Logger
	clock Clock

	mu        sync.Mutex
	closed    bool
	closing   chan struct{}
	started   bool
	ln        net.Listener
	httpSrv   *http.Server
	baseURL   string
	startTime time.Time

	apps      map[string]*app
	socks     map[*wsConn]struct{}
	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string]*playback
	phones    map[string]*phone
	handles   []*CallHandle
	restLog   []RESTCall
	db        map[string]string // AstDB: "family/key" → value
	refuseWS  bool              // RefuseWebSockets: event sockets are refused
	bcastRE   *regexp.Regexp    // Options.Broadcast.Filter, compiled

	liveRecs   map[string]*liveRecording   // bridge recordings in progress
	storedRecs map[string]*storedRecording // finished recordings

	chanSeq  int // unique id suffix
	nameSeq  int // channel name suffix
	objSeq   int // playback / bridge ids
	timers   map[*timer]struct{}
	timerWG  sync.WaitGroup
	wg       sync.WaitGroup // sockets, scripts
	httpDone chan struct{}
}

// New creates a Server; nothing listens until Start.
func New(opts Options) *Server {
	if opts.App == "" {
		opts.App = "hotline"
	}
	if opts.EntityID == "" {
		opts.EntityID = DefaultEntityID
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.PlaybackDuration <= 0 {
		opts.PlaybackDuration = time.Second
	}
	if opts.SoundExists == nil {
		opts.SoundExists = defaultSoundExists
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 100 * time.Millisecond
	}
	if opts.RingDelay <= 0 {
		opts.RingDelay = 2 * time.Millisecond
	}
	if opts.DigitGap <= 0 {
		opts.DigitGap = 50 * time.Millisecond
	}
	var bcastRE *regexp.Regexp
	if b := opts.Broadcast; b != nil && b.Filter != "" {
		re, err := regexp.Compile(b.Filter)
		if err != nil {
			// Asterisk logs the bad regex and broadcasts to nobody.
			opts.Logger.Error("emulator: bad StasisBroadcast filter; no application will hear calls", zap.Error(err))
			re = regexp.MustCompile(`^\b\B$`)
		}
		bcastRE = re
	}
	return &Server{
		bcastRE:    bcastRE,
		opts:       opts,
		log:        opts.Logger.Named("ari-emulator"),
		clock:      opts.Clock,
		closing:    make(chan struct{}),
		apps:       map[string]*app{},
		socks:      map[*wsConn]struct{}{},
		channels:   map[string]*channel{},
		bridges:    map[string]*bridge{},
		playbacks:  map[string]*playback{},
		phones:     map[string]*phone{},
		timers:     map[*timer]struct{}{},
		db:         map[string]string{},
		liveRecs:   map[string]*liveRecording{},
		storedRecs: map[string]*storedRecording{},
		startTime:  opts.Clock.Now(),
	}
}

func defaultSoundExists(media string) bool {
	name := media
	if i := indexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return !hasPrefix(name, "does-not-exist")
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves ARI under /ari.
func (s *Server) Start(addr string) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("emulator: already started or closed")
	}
	s.started = true
	s.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.ln = ln
	s.httpSrv = srv
	s.baseURL = "http://" + ln.Addr().String()
	s.httpDone = make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.httpDone)
		_ = srv.Serve(ln)
	}()
	s.log.Debug("listening", zap.String("url", s.URL()))
	return nil
}

// URL is the ARI base URL, e.g. "http://127.0.0.1:PORT/ari".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL + "/ari"
}

// WSURL is the events WebSocket URL, e.g. "ws://127.0.0.1:PORT/ari/events".
func (s *Server) WSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL == "" {
		return ""
	}
	return "ws" + s.baseURL[len("http"):] + "/ari/events"
}

// Close stops the server: closes all sockets, cancels every pending timer
// and script and waits for all goroutines the emulator started.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	for t := range s.timers {
		s.cancelTimerLocked(t)
	}
	for _, h := range s.handles {
		h.finishLocked(false)
	}
	srv := s.httpSrv
	done := s.httpDone
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
		<-done
	}
	s.wg.Wait()
	s.timerWG.Wait()
}

// ---- timers ----

type timer struct {
	t         Timer
	cancelled bool
}

// afterLocked runs fn under s.mu after d, unless cancelled or the server closed.
func (s *Server) afterLocked(d time.Duration, fn func()) *timer {
	t := &timer{}
	if s.closed {
		t.cancelled = true
		return t
	}
	s.timers[t] = struct{}{}
	s.timerWG.Add(1)
	t.t = s.clock.AfterFunc(d, func() {
		defer s.timerWG.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if t.cancelled || s.closed {
			return
		}
		t.cancelled = true
		delete(s.timers, t)
		fn()
	})
	return t
}

func (s *Server) cancelTimerLocked(t *timer) {
	if t == nil || t.cancelled {
		return
	}
	t.cancelled = true
	delete(s.timers, t)
	if t.t != nil && t.t.Stop() {
		s.timerWG.Done()
	}
}

func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.opts.TimeScale)
}

func (s *Server) now() time.Time { return s.clock.Now() }

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
