package ariadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/pbx"
)

// Compile-time checks.
var (
	_ pbx.Client = (*Client)(nil)
	_ pbx.Source = (*Client)(nil)
)

// Options configures the adapter. Zero values take the defaults noted.
type Options struct {
	URL            string        // ARI REST root; default http://127.0.0.1:8088/ari
	WSURL          string        // ARI events URL; default URL with ws(s):// and /events
	User           string        // ARI user
	Password       string        // ARI password
	App            string        // Stasis application name; default "hotline"
	CommandTimeout time.Duration // deadline of every REST command; default 3 s
	DialTimeout    time.Duration // deadline of one WebSocket dial + handshake; default 5 s
	ReconnectMin   time.Duration // first reconnect delay; default 200 ms
	ReconnectMax   time.Duration // reconnect delay cap (exponential backoff, jittered); default 10 s
	// Events, when set, are the only event types the consumer needs: the
	// application's event filter then lets nothing else through, so
	// neither Asterisk nor hotline spends a write, a read and a decode on
	// them (half of a call's events are progress the router ignores).
	// nil: every type the adapter translates.
	Events []pbx.EventType
	// ObserveREST, when set, is told every REST command's operation name
	// (a fixed word such as "answer" or "add to bridge", never an id), how
	// long it took and its error (nil: success), for metrics.
	ObserveREST func(op string, took time.Duration, err error)
	// OnReplaced, if set, is called (on the reader's goroutine: it must not
	// block) when another WebSocket took the application: Asterisk sends
	// this one nothing more.
	OnReplaced func()
}

func (o *Options) setDefaults() {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:8088/ari"
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if o.WSURL == "" {
		o.WSURL = o.URL + "/events"
		if strings.HasPrefix(o.WSURL, "https://") {
			o.WSURL = "wss://" + strings.TrimPrefix(o.WSURL, "https://")
		} else {
			o.WSURL = "ws://" + strings.TrimPrefix(o.WSURL, "http://")
		}
	}
	if o.App == "" {
		o.App = "hotline"
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 3 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 200 * time.Millisecond
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = 10 * time.Second
		if o.ReconnectMax < o.ReconnectMin {
			o.ReconnectMax = o.ReconnectMin
		}
	}
}

// Client is the ARI adapter: pbx.Client (commands over ari/v5's native REST
// client, each under a deadline) and pbx.Source (events from our own
// WebSocket reader through an unbounded queue). Create it with New, start
// it with Run.
type Client struct {
	opts Options
	log  *zap.Logger
	nc   *native.Client // REST only; its Connect/bus are never used
	http *http.Client   // for raw REST calls; also installed into nc

	httpInstalled bool

	out   chan pbx.Event
	queue *eventQueue
	// startup is Asterisk's startup time at the last connect (restarted);
	// the session goroutine's only.
	startup string

	connected  atomic.Bool
	reconnects atomic.Uint64
	unknown    atomic.Uint64 // events of types we do not forward
	ready      chan struct{} // closed on the first successful connect + resync
	readyOnce  sync.Once
	stateMu    sync.Mutex
	stateCh    chan struct{} // closed and replaced on every connected change

	// lifecycle
	mu       sync.Mutex
	closed   bool
	running  bool
	cancel   context.CancelFunc // cancels Run
	runDone  chan struct{}      // closed when Run returns
	inflight sync.WaitGroup     // commands and their library goroutines

	barrierMu   sync.Mutex
	barrierName string        // user event the current connect waits for
	barrierCh   chan struct{} // closed when it arrives
	barriers    atomic.Uint64 // barriers passed (tests)

	subsMu sync.Mutex
	subs   map[string]struct{} // explicit event sources, re-applied on reconnect

	lists *playlists // several-media plays, item by item (playlist.go)
}

// New builds a Client. It does not connect: call Run.
func New(opts Options, log *zap.Logger) *Client {
	opts.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	hc := newHTTPClient(opts.CommandTimeout)
	nc := native.New(&native.Options{
		Application:  opts.App,
		URL:          opts.URL,
		WebsocketURL: opts.WSURL,
		Username:     opts.User,
		Password:     opts.Password,
	})
	c := &Client{
		opts:    opts,
		log:     log.With(zap.String("component", "pbx/ariadapter"), zap.String("app", opts.App)),
		nc:      nc,
		http:    hc,
		out:     make(chan pbx.Event),
		queue:   newEventQueue(),
		ready:   make(chan struct{}),
		stateCh: make(chan struct{}),
		runDone: make(chan struct{}),
		subs:    map[string]struct{}{},
		lists:   newPlaylists(),
	}
	c.httpInstalled = installHTTPClient(nc, hc)
	if !c.httpInstalled {
		c.log.Warn("could not give ari/v5 a bounded http.Client; abandoned commands may linger")
	}
	return c
}

// Events delivers translated events in Asterisk's order. It never blocks
// the WebSocket: events queue without bound until read. It is closed when
// Run returns.
func (c *Client) Events() <-chan pbx.Event { return c.out }

// Connected reports whether the event WebSocket is up and re-synced now.
func (c *Client) Connected() bool { return c.connected.Load() }

// Ready is closed once the first connection is up and re-synced (for a
// readiness probe use Connected, which also goes false during a reconnect).
func (c *Client) Ready() <-chan struct{} { return c.ready }

// WaitConnected blocks until the event WebSocket is connected or ctx ends.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		c.stateMu.Lock()
		ch := c.stateCh
		c.stateMu.Unlock()
		if c.connected.Load() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Reconnects counts successful connections after the first.
func (c *Client) Reconnects() uint64 { return c.reconnects.Load() }

// QueueLen is the number of events read from Asterisk and not yet taken
// from Events (for a metric: a growing value means the router lags).
func (c *Client) QueueLen() int { return c.queue.len() }

func (c *Client) setConnected(v bool) {
	if c.connected.Swap(v) == v {
		return
	}
	c.stateMu.Lock()
	close(c.stateCh)
	c.stateCh = make(chan struct{})
	c.stateMu.Unlock()
}

// enter registers one in-flight command; false after Close.
func (c *Client) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.inflight.Add(1)
	return true
}

// Close stops Run (if running), waits for it and for in-flight commands,
// and makes every later command fail with ErrClosed. Safe to call twice.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	cancel, running := c.cancel, c.running
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if running {
		<-c.runDone
	}
	c.inflight.Wait()
	c.http.CloseIdleConnections()
}

// ---- commands --------------------------------------------------------------

func (c *Client) key(kind, id string) *ari.Key { return ari.NewKey(kind, id) }

// validID rejects ids that ari/v5 would paste into a URL path unescaped.
func validID(what, id string) error {
	if id == "" {
		return fmt.Errorf("ari: empty %s id", what)
	}
	if len(id) > 128 || strings.ContainsAny(id, "/?#%& \t\r\n") {
		return fmt.Errorf("ari: invalid %s id %q", what, id)
	}
	return nil
}

// Answer answers a channel.
func (c *Client) Answer(ctx context.Context, channelID string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.call(ctx, opChannel, "answer", channelID, func() error {
		return c.nc.Channel().Answer(c.key(ari.ChannelKey, channelID))
	})
}

var hangupReasons = map[string]bool{
	"normal": true, "busy": true, "congestion": true, "no_answer": true, "timeout": true,
	"rejected": true, "unallocated": true, "normal_unspecified": true,
	"number_incomplete": true, "codec_mismatch": true, "interworking": true,
	"failure": true, "answered_elsewhere": true,
}

// Hangup hangs a channel up; reason is an ARI reason ("normal", "busy"...),
// empty meaning "normal".
func (c *Client) Hangup(ctx context.Context, channelID string, reason string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	if reason == "" {
		reason = "normal"
	}
	if !hangupReasons[reason] {
		return fmt.Errorf("ari: invalid hangup reason %q", reason)
	}
	return c.call(ctx, opChannel, "hangup", channelID, func() error {
		return c.nc.Channel().Hangup(c.key(ari.ChannelKey, channelID), reason)
	})
}

// Ring sends ringing to a channel (no ARI event follows).
func (c *Client) Ring(ctx context.Context, channelID string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.call(ctx, opChannel, "ring", channelID, func() error {
		return c.nc.Channel().Ring(c.key(ari.ChannelKey, channelID))
	})
}

// Play starts media on a channel as playback playbackID (generated when
// empty). Several media URIs play in sequence under the one playback, item
// by item (playlist.go), so that stopping it stops them all.
func (c *Client) Play(ctx context.Context, channelID, playbackID string, media ...string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	if playbackID == "" {
		playbackID = newID("pb-")
	}
	if err := validID("playback", playbackID); err != nil {
		return err
	}
	if len(media) == 0 {
		return errors.New("ari: play without media")
	}
	if len(media) == 1 {
		return c.playOne(ctx, channelID, playbackID, media[0])
	}
	return c.playList(ctx, channelID, playbackID, media)
}

// StopPlayback stops a playback; a second stop gives ErrNotFound.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	if err := validID("playback", playbackID); err != nil {
		return err
	}
	if ok, err := c.stopList(ctx, playbackID); ok {
		return err
	}
	return c.stopOne(ctx, playbackID)
}

// StartMOH starts music on hold (class empty: default) on a channel.
func (c *Client) StartMOH(ctx context.Context, channelID, class string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.call(ctx, opChannel, "start moh", channelID, func() error {
		return c.nc.Channel().MOH(c.key(ari.ChannelKey, channelID), class)
	})
}

// StopMOH stops music on hold on a channel.
func (c *Client) StopMOH(ctx context.Context, channelID string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.call(ctx, opChannel, "stop moh", channelID, func() error {
		return c.nc.Channel().StopMOH(c.key(ari.ChannelKey, channelID))
	})
}

// SetVariable sets a channel variable.
func (c *Client) SetVariable(ctx context.Context, channelID, name, value string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	if name == "" {
		return errors.New("ari: empty variable name")
	}
	return c.call(ctx, opChannel, "set variable", channelID, func() error {
		return c.nc.Channel().SetVariable(c.key(ari.ChannelKey, channelID), name, value)
	})
}

// GetVariable reads a channel variable; ErrNotFound if the channel or the
// variable does not exist (Asterisk answers 404 to both).
func (c *Client) GetVariable(ctx context.Context, channelID, name string) (string, error) {
	if err := validID("channel", channelID); err != nil {
		return "", err
	}
	if name == "" {
		return "", errors.New("ari: empty variable name")
	}
	var v string
	err := c.call(ctx, opChannel, "get variable", channelID, func() error {
		var err error
		// ari/v5 pastes the name into the query string unescaped.
		v, err = c.nc.Channel().GetVariable(c.key(ari.ChannelKey, channelID), url.QueryEscape(name))
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

// Originate dials req.Endpoint into the application, or into the dialplan
// at req.Context/req.Extension priority 1 when req.Extension is set. The
// channel id is req.ChannelID (generated when empty) so that events can be
// matched before the reply. Unknown or unregistered endpoints give
// ErrUnavailable.
func (c *Client) Originate(ctx context.Context, req pbx.OriginateRequest) (pbx.Channel, error) {
	if req.ChannelID == "" {
		req.ChannelID = newID("out-")
	}
	if err := validateOriginate(req); err != nil {
		return pbx.Channel{}, err
	}
	secs := 0 // omitted: Asterisk's default 30 s
	if req.Timeout > 0 {
		secs = int((req.Timeout + time.Second - 1) / time.Second) // round up
	}
	ar := ari.OriginateRequest{
		Endpoint:  req.Endpoint,
		Timeout:   secs,
		CallerID:  req.CallerID,
		ChannelID: req.ChannelID,
		Variables: req.Variables,
	}
	if req.Extension != "" {
		// Asterisk takes app before extension: send no app at all, so the
		// channel runs the dialplan (and is not subscribed to the app).
		ar.Context, ar.Extension, ar.Priority = req.Context, req.Extension, 1
		// A dialplan that hands the channel back to hotline
		// (Stasis(${HOTLINE_APP},...), [hotline-dbsync]) must reach this
		// instance's application, not whichever holds the name "hotline".
		if _, set := req.Variables[appVariable]; !set {
			vars := make(map[string]string, len(req.Variables)+1)
			for k, v := range req.Variables {
				vars[k] = v
			}
			vars[appVariable] = c.opts.App
			ar.Variables = vars
		}
	} else {
		ar.App, ar.AppArgs = c.opts.App, strings.Join(req.Args, ",")
		if req.App != "" {
			ar.App = req.App
		}
	}
	// The id names the call in errors and logs: a citizen's number in a
	// trunk dial string is masked there (internal/logmask).
	err := c.call(ctx, opOriginate, "originate", logmask.Endpoint(req.Endpoint)+" as "+req.ChannelID, func() error {
		_, err := c.nc.Channel().Originate(nil, ar)
		return err
	})
	if err != nil {
		return pbx.Channel{}, err
	}
	return pbx.Channel{ID: req.ChannelID, State: "Down"}, nil
}

// validateOriginate refuses requests Asterisk would misread.
func validateOriginate(req pbx.OriginateRequest) error {
	if err := validID("channel", req.ChannelID); err != nil {
		return err
	}
	if req.Endpoint == "" {
		return errors.New("ari: originate without endpoint")
	}
	if req.Timeout < 0 {
		return fmt.Errorf("ari: negative originate timeout %v", req.Timeout)
	}
	for _, a := range req.Args {
		if strings.Contains(a, ",") {
			// Asterisk splits appArgs on commas.
			return fmt.Errorf("ari: originate arg %q contains a comma", a)
		}
	}
	if (req.Context == "") != (req.Extension == "") {
		// Asterisk would put a lone extension in [default].
		return fmt.Errorf("ari: originate %s: dialplan target needs both context and extension (%q, %q)",
			req.ChannelID, req.Context, req.Extension)
	}
	if req.Extension != "" && (len(req.Args) > 0 || req.App != "") {
		return fmt.Errorf("ari: originate %s: an application or its arguments with a dialplan target", req.ChannelID)
	}
	if req.App != "" {
		if err := validID("application", req.App); err != nil || strings.Contains(req.App, ",") {
			return fmt.Errorf("ari: originate %s: invalid application %q", req.ChannelID, req.App)
		}
	}
	return nil
}

// EndpointState reports "online", "offline" or "unknown" for an endpoint
// such as "PJSIP/1001". A missing endpoint gives "unknown" and ErrNotFound.
func (c *Client) EndpointState(ctx context.Context, endpoint string) (string, error) {
	tech, res, ok := strings.Cut(endpoint, "/")
	if !ok || validID("endpoint", tech) != nil || validID("endpoint", res) != nil {
		return "unknown", fmt.Errorf("ari: invalid endpoint %q", endpoint)
	}
	var ep struct {
		State string `json:"state"`
	}
	// Raw GET: ari/v5's Endpoint().Data loses the HTTP status.
	err := c.raw(ctx, opOther, "endpoint state", endpoint, http.MethodGet,
		"/endpoints/"+url.PathEscape(tech)+"/"+url.PathEscape(res), nil, nil, &ep)
	if err != nil {
		return "unknown", err
	}
	if ep.State == "" {
		ep.State = "unknown"
	}
	return ep.State, nil
}

// CreateBridge creates bridge bridgeID of bridgeType (e.g.
// "mixing,dtmf_events"), named after its id.
func (c *Client) CreateBridge(ctx context.Context, bridgeID, bridgeType string) error {
	if err := validID("bridge", bridgeID); err != nil {
		return err
	}
	if bridgeType == "" {
		bridgeType = "mixing"
	}
	return c.call(ctx, opOther, "create bridge", bridgeID, func() error {
		_, err := c.nc.Bridge().Create(c.key(ari.BridgeKey, bridgeID), bridgeType, bridgeID)
		return err
	})
}

// AddToBridge adds channels to a bridge in one request: ari/v5 sends one
// channel as a JSON string, which Asterisk does not split, so the list goes
// as the query parameter Asterisk does split (a call's two legs cost one
// REST request, not two). Asterisk checks every channel before it adds any.
// A missing channel gives ErrNotFound, a channel not in the application
// ErrConflict.
func (c *Client) AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error {
	if err := validID("bridge", bridgeID); err != nil {
		return err
	}
	if len(channelIDs) == 0 {
		return fmt.Errorf("ari: add to bridge %s: no channel", bridgeID)
	}
	for _, ch := range channelIDs {
		if err := validID("channel", ch); err != nil {
			return err
		}
		if strings.Contains(ch, ",") { // the list separator
			return fmt.Errorf("ari: invalid channel id %q", ch)
		}
	}
	ids := strings.Join(channelIDs, ",")
	return c.raw(ctx, opBridgeMember, "add to bridge "+bridgeID, ids, http.MethodPost,
		"/bridges/"+url.PathEscape(bridgeID)+"/addChannel", url.Values{"channel": {ids}}, nil, nil)
}

// RemoveFromBridge removes a channel from a bridge (ErrConflict if it is not
// in it).
func (c *Client) RemoveFromBridge(ctx context.Context, bridgeID, channelID string) error {
	if err := validID("bridge", bridgeID); err != nil {
		return err
	}
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.call(ctx, opBridgeMember, "remove from bridge "+bridgeID, channelID, func() error {
		return c.nc.Bridge().RemoveChannel(c.key(ari.BridgeKey, bridgeID), channelID)
	})
}

// DestroyBridge destroys a bridge (its channels stay up).
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	if err := validID("bridge", bridgeID); err != nil {
		return err
	}
	return c.call(ctx, opOther, "destroy bridge", bridgeID, func() error {
		return c.nc.Bridge().Delete(c.key(ari.BridgeKey, bridgeID))
	})
}

// Continue sends a channel back to the dialplan at dialplanContext/exten,
// priority 1 (it leaves the application: StasisEnd follows).
func (c *Client) Continue(ctx context.Context, channelID, dialplanContext, exten string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	if dialplanContext == "" || exten == "" {
		return errors.New("ari: continue needs a context and an extension")
	}
	return c.call(ctx, opChannel, "continue", channelID, func() error {
		return c.nc.Channel().Continue(c.key(ari.ChannelKey, channelID), dialplanContext, exten, 1)
	})
}

// Subscribe subscribes the application to an event source such as
// "channel:ID" (e.g. to get ChannelDestroyed with its cause after StasisEnd
// of a dialplan-entered channel). Asterisk keeps subscriptions across a
// WebSocket reconnect; the adapter re-applies them anyway after every
// reconnect, until Unsubscribe.
func (c *Client) Subscribe(ctx context.Context, eventSource string) error {
	if eventSource == "" {
		return errors.New("ari: empty event source")
	}
	c.subsMu.Lock()
	c.subs[eventSource] = struct{}{}
	c.subsMu.Unlock()
	return c.subscribe(ctx, eventSource)
}

func (c *Client) subscribe(ctx context.Context, eventSource string) error {
	return c.raw(ctx, opOther, "subscribe", eventSource, http.MethodPost,
		"/applications/"+url.PathEscape(c.opts.App)+"/subscription",
		url.Values{"eventSource": {eventSource}}, nil, nil)
}

// Unsubscribe drops an event source added with Subscribe.
func (c *Client) Unsubscribe(ctx context.Context, eventSource string) error {
	c.subsMu.Lock()
	delete(c.subs, eventSource)
	c.subsMu.Unlock()
	return c.raw(ctx, opOther, "unsubscribe", eventSource, http.MethodDelete,
		"/applications/"+url.PathEscape(c.opts.App)+"/subscription",
		url.Values{"eventSource": {eventSource}}, nil, nil)
}

// Channels lists the channels the application holds: those in
// Stasis(App...) plus those it is subscribed to (e.g. originated legs still
// ringing), as GET /channels describes them.
func (c *Client) Channels(ctx context.Context) ([]pbx.Channel, error) {
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
	}
	if err := c.raw(ctx, opOther, "get application", c.opts.App, http.MethodGet,
		"/applications/"+url.PathEscape(c.opts.App), nil, nil, &app); err != nil {
		return nil, err
	}
	var all []wireChannel
	if err := c.raw(ctx, opOther, "list channels", "", http.MethodGet, "/channels", nil, nil, &all); err != nil {
		return nil, err
	}
	subscribed := make(map[string]bool, len(app.ChannelIDs))
	for _, id := range app.ChannelIDs {
		subscribed[id] = true
	}
	out := make([]pbx.Channel, 0, len(all))
	for i := range all {
		if subscribed[all[i].ID] || all[i].inStasisOf(c.opts.App) {
			out = append(out, all[i].toPBX())
		}
	}
	return out, nil
}

// appVariable is the channel variable an originate into the dialplan
// carries with the application's name.
const appVariable = "HOTLINE_APP"

// Claim takes a channel StasisBroadcast() offers (a CallBroadcast event)
// for this application: nil when won, then its StasisStart follows;
// pbx.ErrConflict when another application won it, pbx.ErrNotFound when
// the broadcast is over (timed out, hung up).
func (c *Client) Claim(ctx context.Context, channelID string) error {
	if err := validID("channel", channelID); err != nil {
		return err
	}
	return c.raw(ctx, opChannel, "claim", channelID, http.MethodPost, "/events/claim",
		url.Values{"channelId": {channelID}, "application": {c.opts.App}}, nil, nil)
}

// ChannelExists asks Asterisk whether a channel is up, in any
// application or none (GET /channels/{id}).
func (c *Client) ChannelExists(ctx context.Context, channelID string) (bool, error) {
	if err := validID("channel", channelID); err != nil {
		return false, err
	}
	err := c.raw(ctx, opChannel, "get channel", channelID, http.MethodGet, "/channels/"+url.PathEscape(channelID), nil, nil, nil)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, pbx.ErrNotFound):
		return false, nil
	}
	return false, err
}

// App is the Stasis application this client serves.
func (c *Client) App() string { return c.opts.App }

func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func zapOp(op, id string) []zap.Field {
	return []zap.Field{zap.String("op", op), zap.String("id", id)}
}
