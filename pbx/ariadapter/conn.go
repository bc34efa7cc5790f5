package ariadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"
	"golang.org/x/net/websocket"

	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/pbx"
)

// ErrAlreadyRunning is returned by a second concurrent Run.
var ErrAlreadyRunning = errors.New("ari: Run already running")

// ErrUnauthorized: Asterisk refused the ARI user or password (HTTP 401 or
// 403). Retrying does not help until someone fixes the secret.
var ErrUnauthorized = errors.New("ari: Asterisk refused the ARI user or password")

// Run owns the event connection: it dials the ARI WebSocket, applies the
// event filter, re-syncs, reads events into the queue behind Events(), and
// reconnects with jittered exponential backoff whenever the socket drops.
// It returns ctx.Err() (or nil after Close) once every goroutine it started
// has stopped; Events() is closed then. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return ErrAlreadyRunning
	}
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	c.running, c.cancel = true, cancel
	c.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.queue.pump(ctx, c.out)
	}()

	defer func() {
		cancel()
		wg.Wait()
		c.setConnected(false)
		close(c.out)
		close(c.runDone)
	}()

	backoff := c.opts.ReconnectMin
	first := true
	for ctx.Err() == nil {
		start := time.Now()
		err := c.session(ctx, first)
		if ctx.Err() != nil {
			break
		}
		if err == nil { // session ran and ended with a read error, logged
			first = false
		}
		// A connection that was up for a while resets the backoff, so that
		// a plain drop costs as few lost events as possible.
		if err == nil && time.Since(start) > time.Second {
			backoff = c.opts.ReconnectMin
		}
		d := backoff/2 + rand.N(backoff/2+1) // jitter: [backoff/2, backoff]
		switch {
		case errors.Is(err, ErrUnauthorized):
			c.log.Error("ari refused hotline's credentials: the ARI user and password (HOTLINE_ARI_USER, "+
				"HOTLINE_ARI_PASSWORD) must match ari.conf and ari_secret.conf", zap.String("user", c.opts.User),
				zap.Duration("retry_in", d), zap.Error(err))
		case err != nil:
			c.log.Warn("ari cannot connect; retrying", zap.Duration("in", d), zap.Error(err))
		default:
			c.log.Info("ari reconnecting", zap.Duration("in", d))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(backoff*2, c.opts.ReconnectMax)
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	return nil // stopped by Close
}

// session runs one WebSocket connection to its end. It returns an error if
// the connection could not be set up, nil if it was up and later dropped.
func (c *Client) session(ctx context.Context, first bool) error {
	ws, err := c.dial(ctx)
	if err != nil {
		if badStatus(err) {
			// The WebSocket library keeps no status code: ask the REST
			// interface, which answers the same credentials the same way.
			err = c.explainRefusal(ctx, err)
		}
		return fmt.Errorf("dial %s: %w", c.opts.WSURL, err)
	}
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()

	// Events read from now on are parked until the Resynced snapshot is
	// queued in front of them.
	c.queue.hold()
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		readErr <- c.readLoop(ws)
	}()
	go func() { // closing the socket is what unblocks the reader
		defer wg.Done()
		<-sctx.Done()
		_ = ws.Close()
	}()
	defer wg.Wait()
	defer scancel()

	c.applyFilter(sctx)
	c.barrier(sctx)
	c.reapplySubscriptions(sctx)
	resynced := c.resync(sctx)
	// Connected (and counted) before the Resynced snapshot is released: a
	// reader that sees it must also see the connection it came from.
	if sctx.Err() == nil {
		if !first {
			c.reconnects.Add(1)
		}
		c.setConnected(true)
	}
	c.queue.release(resynced)
	if sctx.Err() != nil {
		return nil
	}
	c.readyOnce.Do(func() { close(c.ready) })
	c.log.Info("ari connected", zap.Bool("first", first), zap.Bool("resynced", resynced != nil))

	select {
	case err := <-readErr:
		c.setConnected(false)
		c.log.Warn("ari websocket dropped", zap.Error(err))
	case <-sctx.Done():
		c.setConnected(false)
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(c.opts.WSURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("app", c.opts.App)
	// Never subscribeAll: system-wide traffic and more unknown event types.
	u.RawQuery = q.Encode()
	origin := "http://localhost/"
	cfg, err := websocket.NewConfig(u.String(), origin)
	if err != nil {
		return nil, err
	}
	cfg.Header = http.Header{}
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	req.SetBasicAuth(c.opts.User, c.opts.Password)
	cfg.Header.Set("Authorization", req.Header.Get("Authorization"))
	// TCP keepalive finds a dead peer (Asterisk sends no pings) in ~25 s.
	cfg.Dialer = &net.Dialer{
		Timeout:         c.opts.DialTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3},
	}
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	return cfg.DialContext(dctx)
}

// badStatus: the upgrade got an HTTP answer other than 101 (x/net's
// DialError does not unwrap to ErrBadStatus).
func badStatus(err error) bool {
	var de *websocket.DialError
	return errors.Is(err, websocket.ErrBadStatus) || errors.As(err, &de) && de.Err == websocket.ErrBadStatus
}

// explainRefusal turns the WebSocket library's "bad status" into the HTTP
// status Asterisk gave, read from GET /asterisk/info with the same user.
func (c *Client) explainRefusal(ctx context.Context, dialErr error) error {
	rctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.opts.URL+"/asterisk/info", nil)
	if err != nil {
		return dialErr
	}
	req.SetBasicAuth(c.opts.User, c.opts.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return dialErr
	}
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d)", ErrUnauthorized, resp.StatusCode)
	}
	return fmt.Errorf("%w (REST answers HTTP %d)", dialErr, resp.StatusCode)
}

// readLoop reads frames until the socket fails. It never blocks on the
// consumer (queue.push does not block) and recovers from any panic while
// translating a frame, so one bad frame costs one event, not the process.
func (c *Client) readLoop(ws *websocket.Conn) error {
	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			return err
		}
		c.handleFrame(data)
	}
}

func (c *Client) handleFrame(data []byte) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("ari event translation panicked", zap.Any("panic", r), zap.ByteString("frame", truncate(data)))
		}
	}()
	ev, typ, err := translate(data)
	if typ == "ChannelUserevent" {
		c.checkBarrier(data)
		return
	}
	switch {
	case err == nil:
		if ev, ok := c.filterPlayback(ev); ok {
			c.queue.push(ev)
		}
	case errors.Is(err, errIgnored):
		if typ == "ApplicationReplaced" {
			// Another WebSocket took the app; Asterisk sends us nothing
			// more. Reconnecting would take it back and flap, so only say
			// so loudly and report not connected (readiness fails).
			c.log.Error("ari application replaced by another connection; no more events will arrive", zap.String("app", c.opts.App))
			c.setConnected(false)
			if c.opts.OnReplaced != nil {
				c.opts.OnReplaced()
			}
			return
		}
		c.unknown.Add(1)
		c.log.Debug("ari event ignored", zap.String("type", typ))
	default:
		c.log.Warn("ari event undecodable", zap.Error(err), zap.ByteString("frame", truncate(data)))
	}
}

// truncate is what a log line shows of an event frame: its start, with
// citizens' numbers masked (caller and connected party).
func truncate(b []byte) []byte {
	if len(b) > 512 {
		b = b[:512]
	}
	return logmask.JSON(b)
}

// wants reports whether event type t passes the filter: every type when
// Options.Events is unset; else those listed, and always the two the adapter
// itself needs (ApplicationReplaced, its connect barrier's user event).
func (c *Client) wants(t string) bool {
	if c.opts.Events == nil || t == ari.Events.ApplicationReplaced || t == ari.Events.ChannelUserevent {
		return true
	}
	return slices.Contains(c.opts.Events, pbx.EventType(t))
}

// applyFilter sets the application event filter (see filteredEventTypes).
// It lives with the application object in Asterisk, so it is applied after
// every connect. Asterisk answers the WebSocket upgrade before it registers
// the application, so right after the dial the application may not exist
// yet (404): retry briefly. A final failure is logged, not fatal: our
// reader survives any event type, the filter only trims traffic.
func (c *Client) applyFilter(ctx context.Context) {
	allowed := make([]map[string]string, 0, len(filteredEventTypes))
	for _, t := range filteredEventTypes {
		if c.wants(t) {
			allowed = append(allowed, map[string]string{"type": t})
		}
	}
	body := map[string]any{"allowed": allowed}
	delay := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := c.raw(ctx, opOther, "event filter", c.opts.App, http.MethodPut,
			"/applications/"+url.PathEscape(c.opts.App)+"/eventFilter", nil, body, nil)
		if err == nil {
			return
		}
		if attempt == 8 || ctx.Err() != nil || !(errors.Is(err, pbx.ErrNotFound) || errors.Is(err, pbx.ErrTimeout)) {
			c.log.Warn("ari event filter not applied", zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// barrier waits until the new socket demonstrably receives the
// application's events: Asterisk answers the WebSocket upgrade before it
// activates the application, and a re-sync snapshot taken before the
// activation could miss a change that happens in between. It posts a user
// event to the application (POST /events/user/{name}?application=APP) and
// waits for it to come back on the socket, retrying while Asterisk says
// "Application not found". If the PBX does not support user events the
// barrier is skipped.
func (c *Client) barrier(ctx context.Context) {
	name := newID("hotline-barrier-")
	ch := make(chan struct{})
	c.barrierMu.Lock()
	c.barrierName, c.barrierCh = name, ch
	c.barrierMu.Unlock()
	defer func() {
		c.barrierMu.Lock()
		c.barrierName, c.barrierCh = "", nil
		c.barrierMu.Unlock()
	}()
	deadline := time.Now().Add(c.opts.CommandTimeout)
	for {
		err := c.raw(ctx, opOther, "barrier", name, http.MethodPost, "/events/user/"+name,
			url.Values{"application": {c.opts.App}}, nil, nil)
		var he *HTTPError
		if err != nil && !(errors.As(err, &he) && he.Message == "Application not found") {
			c.log.Debug("ari connect barrier skipped", zap.Error(err))
			return
		}
		if err == nil {
			select {
			case <-ch:
				return
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
				// posted while the app was inactive: dropped; post again
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		if time.Now().After(deadline) {
			c.log.Warn("ari connect barrier timed out")
			return
		}
	}
}

func (c *Client) checkBarrier(data []byte) {
	var ue struct {
		EventName string `json:"eventname"`
	}
	if json.Unmarshal(data, &ue) != nil {
		return
	}
	c.barrierMu.Lock()
	defer c.barrierMu.Unlock()
	if c.barrierCh != nil && ue.EventName == c.barrierName {
		c.barriers.Add(1)
		close(c.barrierCh)
		c.barrierCh = nil
	}
}

func (c *Client) reapplySubscriptions(ctx context.Context) {
	c.subsMu.Lock()
	srcs := make([]string, 0, len(c.subs))
	for s := range c.subs {
		srcs = append(srcs, s)
	}
	c.subsMu.Unlock()
	for _, s := range srcs {
		if err := c.subscribe(ctx, s); err != nil {
			c.log.Info("ari re-subscribe failed", zap.String("source", s), zap.Error(err))
		}
	}
}

// restarted reports whether Asterisk's startup time changed since the
// last connect: the calls it held then were cut by the restart. Only the
// session goroutine calls it. An unreadable startup time counts as no
// restart (the calls missing from the re-sync are then taken as hung up).
func (c *Client) restarted(ctx context.Context) bool {
	var info struct {
		Status struct {
			StartupTime string `json:"startup_time"`
		} `json:"status"`
	}
	if err := c.raw(ctx, opOther, "asterisk info", "", http.MethodGet, "/asterisk/info",
		url.Values{"only": {"status"}}, nil, &info); err != nil || info.Status.StartupTime == "" {
		return false
	}
	prev := c.startup
	c.startup = info.Status.StartupTime
	if prev != "" && prev != c.startup {
		c.log.Warn("asterisk restarted since the last connect", zap.String("was_up_since", prev), zap.String("up_since", c.startup))
		return true
	}
	return false
}

// resync lists the application's channels, retrying a few times; nil if it
// could not (the router then just misses this snapshot).
func (c *Client) resync(ctx context.Context) *pbx.Event {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		restarted := c.restarted(ctx)
		chans, err := c.Channels(ctx)
		if err == nil {
			return &pbx.Event{Type: pbx.Resynced, Time: time.Now(), Channels: chans, Restarted: restarted}
		}
		c.log.Warn("ari re-sync failed", zap.Int("attempt", attempt), zap.Error(err))
		if attempt == 3 || ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay *= 2
	}
}
