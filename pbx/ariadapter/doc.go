// Package ariadapter implements pbx.Client and pbx.Source for Asterisk ARI.
// It is the only importer of github.com/CyCoreSystems/ari/v5 in the project.
//
// # What comes from ari/v5 and what does not
//
// Commands go through ari/v5's native REST client (native.New, never
// native.Connect). The event WebSocket is read by this package itself,
// with the same transport ari/v5 uses (golang.org/x/net/websocket) and the
// same handshake (GET {WSURL}?app=APP, basic auth, no subscribeAll). The
// library's own event machinery — Client.Connect, its listen/wsRead
// goroutines and stdbus — is not used, because it cannot be made safe from
// the outside:
//
//   - Unknown event types panic the process. ari.DecodeEvent returns a nil
//     event (and an error) for a type it does not know; wsRead queues the
//     error and then calls bus.Send(nil), which calls e.Keys() on a nil
//     interface inside the library's goroutine. A recover() can only catch
//     a panic in its own goroutine, so nothing outside the library can
//     shield that goroutine. With the library's reader the only shield
//     would be the application event filter, which leaves a window after
//     every reconnect until the filter is applied again. Our reader decodes
//     into its own union struct, ignores types it does not forward, and
//     recovers around each frame. The event filter
//     (PUT /applications/{app}/eventFilter, see filteredEventTypes) is still
//     applied after every connect, to trim traffic (ChannelVarset, and the
//     Asterisk 22 types ari/v5 does not know).
//   - The same wsRead goroutine leaks: after a decode error its 1-slot error
//     channel is full and nobody reads it after the reconnect, so the next
//     error blocks it for ever.
//   - Strict timestamps: ari/v5 fails to decode an event whose timestamp is
//     not exactly 2006-01-02T15:04:05.000-0700 (and reconnects); we accept
//     RFC 3339 too and never drop an event for its timestamp.
//   - The bus drops silently: stdbus gives each subscriber a 100-slot
//     buffer and discards on overflow. Our reader pushes into an unbounded
//     queue (queue.go) that feeds Events() at the consumer's pace, so
//     neither the socket (Asterisk drops a socket whose write blocks for
//     100 ms) nor the events suffer from a slow router.
//   - Connect blocks without a context until the first connection, retries
//     every 1 s for ever without backoff, and does not tell anyone about a
//     reconnect. Run(ctx) dials with a deadline, backs off exponentially
//     with jitter (ReconnectMin..ReconnectMax), applies the filter and
//     re-subscriptions, and emits a pbx.Resynced event after every connect.
//   - Client.connected is read and written without synchronisation (the
//     race detector reports it around Close). We never call the library's
//     Connect, Close or Connected, so that field is never touched.
//   - Handles are stamped with /asterisk/info's entity_id and per-handle
//     bus subscriptions miss events with another asterisk_id. Irrelevant
//     here: there is no bus; every event of the socket is translated.
//
// # Commands
//
// ari/v5 REST calls take no context and, with the zero http.Client it
// holds, have no timeout. Every command runs the library call in a
// goroutine and waits for it, ctx, or Options.CommandTimeout, whichever is
// first (timeouts wrap pbx.ErrTimeout). A bounded http.Client is installed
// into the library by reflection (it has no option for one; see
// installHTTPClient) so an abandoned call ends by itself too. Close waits
// for in-flight calls. A few calls bypass the library with our own
// http.Client and ctx: the event filter and subscriptions (no library
// method), GET /channels (the library's model lacks dialplan app_name and
// app_data), GET /endpoints and GET /applications (the library's Data()
// errors lose the HTTP status), and Play with several media (the library
// sends one).
//
// Errors: HTTP 404 → pbx.ErrNotFound; 400 on a bridge add/remove (channel
// missing) → pbx.ErrNotFound; 409, 412, 422 → pbx.ErrConflict; 500 on
// originate ("Allocation failed": endpoint unknown or not registered) →
// pbx.ErrUnavailable; always as an *HTTPError naming the operation and the
// channel, bridge, playback or endpoint id.
//
// # Re-sync
//
// While the socket is down Asterisk drops the application's events and
// replays nothing. Asterisk also answers the WebSocket upgrade before it
// activates the application, so right after the dial the event filter PUT
// may get 404 (retried briefly) and events may still be dropped. Before the
// snapshot the adapter therefore waits for a barrier: a user event it posts
// to its own application (POST /events/user/{name}?application=APP) coming
// back on the new socket (skipped if the PBX does not support user events).
// After every (re)connect the adapter then lists the channels
// the application holds (GET /applications/{app} channel_ids, plus every
// channel of GET /channels in Stasis(app[,…])) and emits pbx.Resynced with
// them, before any event read on the new socket: a call whose channel is
// missing ended during the gap. A channel listed there that the router has
// not seen yet entered the application during the re-sync; its StasisStart
// follows the Resynced event.
//
// # Several instances
//
// Two sockets for one app name: Asterisk keeps the newest and sends the
// older ApplicationReplaced. The adapter logs that as an error and reports
// Connected() false; it does not reconnect by itself (that would take the
// app back and flap). Run one instance per app name.
package ariadapter
