package contract

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/pbx/ariadapter"
)

// The real-Asterisk target is driven over ARI alone; the dialplan it needs
// is deploy/asterisk/extensions_contract.conf (context hotline-contract).
const (
	envURL      = "HOTLINE_TEST_ARI_URL"
	envUser     = "HOTLINE_TEST_ARI_USER"
	envPassword = "HOTLINE_TEST_ARI_PASSWORD"

	driverApp       = "hotline-contract-driver" // holds the citizens' ;1 halves
	contractContext = "hotline-contract"
	unknownEndpoint = "PJSIP/hotline-contract-nobody"
)

const skipMessage = "real Asterisk not configured: set " + envURL + " (e.g. http://127.0.0.1:8088/ari), " +
	envUser + " and " + envPassword + " (an ari.conf user). That Asterisk 22 must #include " +
	"deploy/asterisk/extensions_contract.conf (context [hotline-contract]: extensions citizen, answer, busy, " +
	"noanswer), load core_local, app_stasis, res_ari_* (channels, bridges, playbacks, endpoints, events, " +
	"applications) and have the English core sounds hello-world and demo-congrats; no other application may " +
	"use the Stasis app names hotline-contract and hotline-contract-driver. See deploy/asterisk/README.md."

// astShared is set up once (TestMain) when the variables are set.
var astShared *asterisk

func TestMain(m *testing.M) {
	code := func() int {
		u, user, pw := os.Getenv(envURL), os.Getenv(envUser), os.Getenv(envPassword)
		if u == "" || user == "" || pw == "" {
			// No Asterisk named: boot a private one from deploy/asterisk
			// when the bundle is installed (CI installs it).
			ast, ok, err := pbxtest.Boot(pbxtest.Options{DeployDir: "../../deploy/asterisk", Include: []string{"extensions_contract.conf"}})
			switch {
			case !ok:
				return m.Run()
			case err != nil:
				fmt.Fprintf(os.Stderr, "contract: private Asterisk: %v\n", err)
				astSetupErr = err
				return m.Run()
			}
			defer ast.Stop()
			u, user, pw = ast.ARIURL(), ast.ARIUser, ast.ARIPassword
		}
		a, err := startAsterisk(u, user, pw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "contract: real Asterisk at %s: %v\n", u, err)
			astSetupErr = err
		} else {
			astShared = a
			defer a.close()
		}
		return m.Run()
	}()
	os.Exit(code)
}

var astSetupErr error

// asterisk holds what all tests share: the REST client, the driver
// application's socket and the WebSocket relay.
type asterisk struct {
	url, wsURL string // REST root; events URL (direct)
	user, pw   string
	hc         *http.Client
	driver     *websocket.Conn
	relay      *relay // nil for https (the relay cannot cut TLS without breaking it)
	done       chan struct{}
}

func startAsterisk(rawURL, user, pw string) (*asterisk, error) {
	rawURL = strings.TrimRight(rawURL, "/")
	pu, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	a := &asterisk{url: rawURL, user: user, pw: pw, hc: &http.Client{Timeout: 10 * time.Second}, done: make(chan struct{})}
	ws := *pu
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[pu.Scheme]
	ws.Path = pu.Path + "/events"
	a.wsURL = ws.String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, body, err := a.do(ctx, "GET", "/asterisk/info", nil); err != nil || st != 200 {
		return nil, fmt.Errorf("GET /asterisk/info: %d %s %v", st, body, err)
	}
	// The driver application must be connected, or Stasis() of the ;1
	// halves fails when the app under test answers a citizen.
	cfg, err := websocket.NewConfig(a.wsURL+"?app="+driverApp, "http://localhost/")
	if err != nil {
		return nil, err
	}
	cfg.Header = http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}}
	if a.driver, err = cfg.DialContext(ctx); err != nil {
		return nil, fmt.Errorf("driver WebSocket: %w", err)
	}
	go func() { // read and discard: Asterisk drops a socket that does not read
		defer close(a.done)
		for {
			var b []byte
			if websocket.Message.Receive(a.driver, &b) != nil {
				return
			}
		}
	}()
	// Asterisk answers the upgrade before it registers the application:
	// wait until it exists.
	for st := 0; st != 200; {
		if ctx.Err() != nil {
			a.close()
			return nil, fmt.Errorf("driver application %s not registered: %w", driverApp, ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
		st, _, _ = a.do(ctx, "GET", "/applications/"+driverApp, nil)
	}
	if pu.Scheme == "http" {
		if a.relay, err = newRelay(pu.Host); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

func (a *asterisk) close() {
	if a.driver != nil {
		_ = a.driver.Close()
		<-a.done
	}
	if a.relay != nil {
		a.relay.close()
	}
}

// do sends one REST call.
func (a *asterisk) do(ctx context.Context, method, path string, q url.Values) (int, []byte, error) {
	u := a.url + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(a.user, a.pw)
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, nil
}

// asteriskTarget is the per-test view of the shared Asterisk.
type asteriskTarget struct {
	a *asterisk
}

func newAsteriskTarget(t *testing.T) *asteriskTarget {
	t.Helper()
	if astSetupErr != nil {
		t.Fatalf("real Asterisk configured but unusable: %v", astSetupErr)
	}
	if astShared == nil {
		var missing []string
		for _, v := range []string{envURL, envUser, envPassword} {
			if os.Getenv(v) == "" {
				missing = append(missing, v)
			}
		}
		t.Skipf("%s (missing: %s), or install the bundle: %s", skipMessage, strings.Join(missing, ", "), pbxtest.SkipMessage)
	}
	return &asteriskTarget{a: astShared}
}

func (r *asteriskTarget) Name() string { return "asterisk" }

func (r *asteriskTarget) Options() ariadapter.Options {
	o := ariadapter.Options{URL: r.a.url, User: r.a.user, Password: r.a.pw, App: contractApp,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second}
	if r.a.relay != nil {
		u, _ := url.Parse(r.a.wsURL)
		u.Host = r.a.relay.addr()
		o.WSURL = u.String()
	}
	return o
}

func (r *asteriskTarget) EventTimeout() time.Duration { return 10 * time.Second }
func (r *asteriskTarget) Quiet() time.Duration        { return time.Second }

func (r *asteriskTarget) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Call originates Local/citizen@hotline-contract/n: the ;2 half (id
// otherChannelId) runs the extension citizen, Stasis(hotline-contract,
// inbound), in state Ring as a SIP caller does; the ;1 half (channelId)
// enters the driver application once the app under test answers ;2.
// "/n": no Local optimisation, so the pair stays when ;2 is bridged.
func (r *asteriskTarget) Call(t *testing.T) Call {
	t.Helper()
	c := &astCall{a: r.a, id1: newID("hc-cit-"), id2: ""}
	c.id2 = c.id1 + "-2"
	q := url.Values{
		"endpoint": {"Local/citizen@" + contractContext + "/n"}, "app": {driverApp}, "appArgs": {"citizen"},
		"callerId": {`"Citizen" <79001234567>`}, "timeout": {"120"},
		"channelId": {c.id1}, "otherChannelId": {c.id2},
	}
	st, body, err := r.a.do(r.ctx(t), "POST", "/channels", q)
	if err != nil || st != 200 {
		t.Fatalf("originate Local/citizen@%s: %d %s %v (is extensions_contract.conf included and the dialplan reloaded?)",
			contractContext, st, body, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, _ = r.a.do(ctx, "DELETE", "/channels/"+c.id1, nil)
	})
	return c
}

func (r *asteriskTarget) InboundDialplan() (string, string) { return contractContext, "citizen" }

// CallerNumber: the ;2 half's caller id is copied from ;1's connected line;
// not asserted.
func (r *asteriskTarget) CallerNumber() string { return "" }

func (r *asteriskTarget) Endpoint(t *testing.T, b Behaviour) string {
	switch b {
	case Answers:
		return "Local/answer@" + contractContext + "/n"
	case Busy:
		return "Local/busy@" + contractContext + "/n"
	case NeverAnswers:
		return "Local/noanswer@" + contractContext + "/n"
	}
	// Unregistered: a PJSIP endpoint that is offline, else an unknown one
	// (the same 500 "Allocation failed", trace originate_unknown_endpoint).
	if ep := r.endpointIn(t, "offline"); ep != "" {
		return ep
	}
	return unknownEndpoint
}

func (r *asteriskTarget) OnlineEndpoint(t *testing.T) string { return r.endpointIn(t, "online") }

func (r *asteriskTarget) endpointIn(t *testing.T, state string) string {
	st, body, err := r.a.do(r.ctx(t), "GET", "/endpoints/PJSIP", nil)
	if err != nil || st != 200 {
		return ""
	}
	var eps []struct{ Technology, Resource, State string }
	if json.Unmarshal(body, &eps) != nil {
		return ""
	}
	for _, e := range eps {
		if e.State == state {
			return e.Technology + "/" + e.Resource
		}
	}
	return ""
}

// HangupFarEnd hangs up the ;2 half of the Local pair whose ;1 half is the
// application's channel: what the operator's phone hanging up would do.
func (r *asteriskTarget) HangupFarEnd(t *testing.T, endpoint, channelID string) {
	t.Helper()
	st, body, err := r.a.do(r.ctx(t), "GET", "/channels", nil)
	if err != nil || st != 200 {
		t.Fatalf("GET /channels: %d %v", st, err)
	}
	var chans []struct{ ID, Name string }
	if err := json.Unmarshal(body, &chans); err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, c := range chans {
		if c.ID == channelID {
			name = c.Name
		}
	}
	if !strings.HasSuffix(name, ";1") {
		t.Fatalf("channel %s is not the ;1 half of a Local pair (name %q)", channelID, name)
	}
	peer := strings.TrimSuffix(name, ";1") + ";2"
	for _, c := range chans {
		if c.Name == peer {
			if st, body, err := r.a.do(r.ctx(t), "DELETE", "/channels/"+c.ID, nil); err != nil || st != 204 {
				t.Fatalf("DELETE %s: %d %s %v", peer, st, body, err)
			}
			return
		}
	}
	t.Fatalf("no channel %s", peer)
}

// RemoteHangupCause: unknown. A Local half hung up by its peer gets
// ast_queue_hangup_with_cause(peer's cause) (core_unreal.c), so its
// ChannelHangupRequest carries the peer's cause (16 here), unlike a SIP BYE
// (no cause field, trace caller_hangup).
func (r *asteriskTarget) RemoteHangupCause() (int, bool) { return 0, false }

func (r *asteriskTarget) DropWebSocket(t *testing.T) {
	if r.a.relay == nil {
		t.Skip("asterisk: the WebSocket relay only works over plain http (a TLS relay would break the certificate check)")
	}
	r.a.relay.drop()
}

func (r *asteriskTarget) Sounds() (string, string, string) {
	return "sound:hello-world", "sound:demo-congrats", "sound:does-not-exist"
}

type astCall struct {
	a        *asterisk
	id1, id2 string
}

func (c *astCall) ChannelID() string { return c.id2 }

// SendDTMF: POST /channels/{;1}/dtmf — ;1 plays the digits towards ;2, which
// reads them as the caller's. ;1 is in the driver application only once the
// app under test answered ;2 (409 until then): retried briefly.
func (c *astCall) SendDTMF(t *testing.T, digits string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, body, err := c.a.do(ctx, "POST", "/channels/"+c.id1+"/dtmf", url.Values{"dtmf": {digits}, "duration": {"120"}})
		cancel()
		if err == nil && st == 204 {
			return
		}
		if st != 409 || time.Now().After(deadline) {
			t.Fatalf("DTMF %q from %s: %d %s %v", digits, c.id1, st, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Hangup: DELETE of the ;1 half; ;2 (in the app) gets the hang-up from its
// peer.
func (c *astCall) Hangup(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, body, err := c.a.do(ctx, "DELETE", "/channels/"+c.id1, nil); err != nil || st != 204 {
		t.Fatalf("DELETE %s: %d %s %v", c.id1, st, body, err)
	}
}

// ---- WebSocket relay --------------------------------------------------------

// relay forwards TCP connections from a loopback port to Asterisk's HTTP
// port; drop cuts every connection it carries (Asterisk sees the
// application's socket close, as on a network failure).
type relay struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

func newRelay(upstream string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		down, err := r.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", r.upstream, 5*time.Second)
		if err != nil {
			_ = down.Close()
			continue
		}
		r.mu.Lock()
		r.conns[down], r.conns[up] = struct{}{}, struct{}{}
		r.mu.Unlock()
		r.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer r.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			r.mu.Lock()
			delete(r.conns, dst)
			delete(r.conns, src)
			r.mu.Unlock()
		}
		go pipe(up, down)
		go pipe(down, up)
	}
}

func (r *relay) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		_ = c.Close()
	}
}

func (r *relay) close() {
	_ = r.ln.Close()
	r.drop()
	r.wg.Wait()
}
