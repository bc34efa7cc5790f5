package ariadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/CyCoreSystems/ari/v5/client/native"

	"github.com/hotline-acd/hotline/pbx"
)

// ErrClosed is returned by every command after Close.
var ErrClosed = errors.New("ari: client closed")

// HTTPError is an ARI REST answer outside 2xx. It wraps the pbx sentinel the
// status maps to (if any), so errors.Is(err, pbx.ErrNotFound) works.
type HTTPError struct {
	Op       string // e.g. "answer"
	ID       string // channel, bridge, playback or endpoint id
	Status   int    // HTTP status; 0 when the library lost it
	Message  string // Asterisk's message, when we read the body ourselves
	sentinel error
	cause    error
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ari %s %s", e.Op, e.ID)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, " %q", e.Message)
	}
	if e.sentinel != nil {
		fmt.Fprintf(&b, ": %v", e.sentinel)
	} else if e.cause != nil {
		fmt.Fprintf(&b, ": %v", e.cause)
	}
	return b.String()
}

// Unwrap exposes the sentinel and the underlying error.
func (e *HTTPError) Unwrap() []error {
	var out []error
	if e.sentinel != nil {
		out = append(out, e.sentinel)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// opKind tells mapStatus which ARI resource an operation addresses, because
// the same status means different things on different paths.
type opKind int

const (
	opChannel      opKind = iota // /channels/{id}/...
	opOriginate                  // POST /channels
	opBridgeMember               // /bridges/{id}/addChannel|removeChannel
	opOther
)

// mapStatus maps an ARI status code to a pbx sentinel (nil: none).
//
//	404                      → ErrNotFound (channel, bridge, playback, endpoint, variable gone)
//	400 on add/removeChannel → ErrNotFound (Asterisk: "channel not found")
//	409, 412, 422            → ErrConflict (not in Stasis, wrong state, not in bridge)
//	500 on originate         → ErrUnavailable ("Allocation failed": unknown or unregistered endpoint)
func mapStatus(kind opKind, status int) error {
	switch {
	case status == http.StatusNotFound:
		return pbx.ErrNotFound
	case status == http.StatusBadRequest && kind == opBridgeMember:
		return pbx.ErrNotFound
	case status == http.StatusConflict, status == http.StatusPreconditionFailed,
		status == http.StatusUnprocessableEntity:
		return pbx.ErrConflict
	case status == http.StatusInternalServerError && kind == opOriginate:
		return pbx.ErrUnavailable
	}
	return nil
}

// statusOf digs the HTTP status out of an ari/v5 error. The library wraps
// with eris, and errors from its Data() methods hide the status behind a
// Cause() chain that errors.As does not follow, so walk both.
func statusOf(err error) int {
	for depth := 0; err != nil && depth < 32; depth++ {
		if re, ok := err.(native.RequestError); ok {
			return re.Code()
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			if u := x.Unwrap(); u != nil {
				err = u
				continue
			}
		}
		if c, ok := err.(interface{ Cause() error }); ok && c.Cause() != nil && c.Cause() != err {
			err = c.Cause()
			continue
		}
		return 0
	}
	return 0
}

// mapErr turns a library or transport error into the adapter's error.
func mapErr(kind opKind, op, id string, err error) error {
	if err == nil {
		return nil
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return err
	}
	status := statusOf(err)
	if status == 0 {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return &HTTPError{Op: op, ID: id, sentinel: pbx.ErrTimeout, cause: err}
		}
		return &HTTPError{Op: op, ID: id, cause: err}
	}
	return &HTTPError{Op: op, ID: id, Status: status, sentinel: mapStatus(kind, status), cause: err}
}

// timeoutErr is returned when a command's deadline passes or ctx ends.
func timeoutErr(op, id string, ctxErr error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return &HTTPError{Op: op, ID: id, sentinel: pbx.ErrTimeout, cause: ctxErr}
	}
	return &HTTPError{Op: op, ID: id, cause: ctxErr}
}

// call runs one blocking ari/v5 call under ctx and CommandTimeout. ari/v5
// takes no context, so the call runs in its own goroutine; if the deadline
// passes first the caller gets ErrTimeout at once, and the goroutine ends
// when the HTTP client's own timeout (installed by installHTTPClient) fires,
// so no goroutine outlives CommandTimeout by much. Close waits for them.
func (c *Client) call(ctx context.Context, kind opKind, op, id string, fn func() error) (err error) {
	defer c.observe(op, time.Now(), &err)
	if !c.enter() {
		return &HTTPError{Op: op, ID: id, cause: ErrClosed}
	}
	defer c.inflight.Done()

	ctx, cancel := context.WithTimeout(ctx, c.opts.CommandTimeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return timeoutErr(op, id, err)
	}

	done := make(chan error, 1)
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("ari/v5 panicked: %v", r)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return mapErr(kind, op, id, err)
	case <-ctx.Done():
		c.log.Warn("ari command abandoned", zapOp(op, id)...)
		return timeoutErr(op, id, ctx.Err())
	}
}

// raw performs one REST request with our own http.Client (for what ari/v5
// lacks or loses: eventFilter, dialplan app fields of GET /channels, status
// codes of Data()). path is relative to Options.URL. out may be nil.
func (c *Client) raw(ctx context.Context, kind opKind, op, id, method, path string, q url.Values, body, out any) (err error) {
	defer c.observe(op, time.Now(), &err)
	if !c.enter() {
		return &HTTPError{Op: op, ID: id, cause: ErrClosed}
	}
	defer c.inflight.Done()

	ctx, cancel := context.WithTimeout(ctx, c.opts.CommandTimeout)
	defer cancel()

	u := c.opts.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &HTTPError{Op: op, ID: id, cause: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &HTTPError{Op: op, ID: id, cause: err}
	}
	req.SetBasicAuth(c.opts.User, c.opts.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return timeoutErr(op, id, ctx.Err())
		}
		return mapErr(kind, op, id, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return timeoutErr(op, id, ctx.Err())
		}
		return &HTTPError{Op: op, ID: id, Status: resp.StatusCode, cause: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var m struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		_ = json.Unmarshal(data, &m)
		msg := m.Message
		if msg == "" {
			msg = m.Error
		}
		return &HTTPError{Op: op, ID: id, Status: resp.StatusCode, Message: msg,
			sentinel: mapStatus(kind, resp.StatusCode)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return &HTTPError{Op: op, ID: id, Status: resp.StatusCode, cause: fmt.Errorf("decode: %w", err)}
		}
	}
	return nil
}

// newHTTPClient builds the HTTP client for REST: bounded in time at every
// stage, so that no call can hang for ever on a stuck Asterisk.
func newHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	tr.ResponseHeaderTimeout = timeout
	tr.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 15 * time.Second}).DialContext
	return &http.Client{Transport: tr, Timeout: timeout}
}

// installHTTPClient gives the ari/v5 native client our bounded http.Client.
// ari/v5 v5.3.1 keeps its client in the unexported value field
// Client.httpClient (zero value: no timeout at all) and offers no option to
// set it, so it is set by reflection. The field is checked by name and type
// first; if a future library version changes it, nothing is written, false
// is returned, and the per-call deadline in call() still bounds every
// command for the caller (only the abandoned goroutine would live longer).
func installHTTPClient(nc *native.Client, hc *http.Client) bool {
	if nc == nil || hc == nil {
		return false
	}
	f := reflect.ValueOf(nc).Elem().FieldByName("httpClient")
	if !f.IsValid() || f.Type() != reflect.TypeOf(http.Client{}) || !f.CanAddr() {
		return false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(*hc))
	return true
}

// installedHTTPClient reads the field back (tests).
func installedHTTPClient(nc *native.Client) (http.Client, bool) {
	f := reflect.ValueOf(nc).Elem().FieldByName("httpClient")
	if !f.IsValid() || f.Type() != reflect.TypeOf(http.Client{}) {
		return http.Client{}, false
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(http.Client), true
}

// observe reports a REST command to Options.ObserveREST, its operation
// name stripped of the bridge id some carry ("add to bridge <id>").
func (c *Client) observe(op string, start time.Time, err *error) {
	if c.opts.ObserveREST == nil {
		return
	}
	if before, _, ok := strings.Cut(op, " bridge "); ok {
		op = before + " bridge"
	}
	c.opts.ObserveREST(op, time.Since(start), *err)
}
