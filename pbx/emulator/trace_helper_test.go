package emulator_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// ---- trace loading and normalisation ----

// filteredTypes are left out of both sides of a comparison: ChannelVarset
// (RTPAUDIOQOS*, BRIDGEPEER, BRIDGEPVTCALLID, STASISSTATUS: the emulator
// sends RTPAUDIOQOS and STASISSTATUS but not the bridge peer variables,
// which Asterisk repeats on every native-RTP re-negotiation) and
// ChannelConnectedLine (sent once per bridge join by the emulator, once or
// twice by Asterisk).
var filteredTypes = map[string]bool{"ChannelVarset": true, "ChannelConnectedLine": true}

func readTrace(t *testing.T, name string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "traces", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, m)
	}
	return out
}

// normalize turns frames into comparable lines: ids become c1, c2… (channels),
// p1… (playbacks), b1… (bridges) in order of first appearance; the key fields
// kept are channel state, args, digit, cause, soft, dialstatus, playback
// state and bridge. The Dial(RINGING) / ChannelStateChange(Ringing) pair,
// whose order Asterisk does not fix, is put in one order.
func normalize(frames []map[string]any) []string {
	ids := map[string]string{}
	count := map[byte]int{}
	role := func(kind byte, id string) string {
		k := string(kind) + id
		if r, ok := ids[k]; ok {
			return r
		}
		count[kind]++
		r := fmt.Sprintf("%c%d", kind, count[kind])
		ids[k] = r
		return r
	}
	var out []string
	for _, f := range frames {
		typ, _ := f["type"].(string)
		if filteredTypes[typ] {
			continue
		}
		parts := []string{typ}
		for _, key := range []string{"channel", "peer"} {
			if ch, ok := f[key].(map[string]any); ok {
				parts = append(parts, role('c', ch["id"].(string))+"("+ch["state"].(string)+")")
			}
		}
		if pb, ok := f["playback"].(map[string]any); ok {
			parts = append(parts, role('p', pb["id"].(string))+"("+pb["state"].(string)+")")
		}
		if br, ok := f["bridge"].(map[string]any); ok {
			parts = append(parts, role('b', br["id"].(string)))
		}
		if a, ok := f["args"].([]any); ok {
			parts = append(parts, fmt.Sprintf("args=%v", a))
		}
		for _, k := range []string{"digit", "cause", "soft", "dialstatus"} {
			if v, ok := f[k]; ok {
				parts = append(parts, fmt.Sprintf("%s=%v", k, v))
			}
		}
		if _, ok := f["asterisk_id"]; !ok {
			parts = append(parts, "NO-asterisk_id")
		}
		if ts, _ := f["timestamp"].(string); !tsRE.MatchString(ts) {
			parts = append(parts, "BAD-timestamp="+ts)
		}
		out = append(out, strings.Join(parts, " "))
	}
	for i := 0; i+1 < len(out); i++ {
		a, b := out[i], out[i+1]
		if strings.HasPrefix(a, "ChannelStateChange ") && strings.HasSuffix(a, "(Ringing)") && strings.HasPrefix(b, "Dial ") && strings.Contains(b, "dialstatus=RINGING") {
			c := strings.Fields(a)[1]
			c = c[:strings.IndexByte(c, '(')]
			out[i], out[i+1] = "Dial "+c+"(Ringing) dialstatus=RINGING", a
		} else if strings.HasPrefix(a, "Dial ") && strings.Contains(a, "dialstatus=RINGING") {
			// Dial before the state change reports the peer still Down.
			out[i] = strings.Replace(a, "(Down)", "(Ringing)", 1)
		}
	}
	return out
}

var tsRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)

// restLine normalises a REST call: ids after channels/playbacks/bridges become *.
func restLine(method, path string, status int) string {
	seg := strings.Split(path, "/")
	for i := 1; i < len(seg); i++ {
		switch seg[i-1] {
		case "channels", "playbacks", "bridges":
			seg[i] = "*"
		}
	}
	return fmt.Sprintf("%s %s %d", method, strings.Join(seg, "/"), status)
}

func readREST(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "traces", name+".rest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m struct {
			Method, Path string
			Status       int
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m.Method != "" {
			out = append(out, restLine(m.Method, m.Path, m.Status))
		}
	}
	return out
}

func diff(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return
	}
	t.Errorf("%s differ\n--- recorded (%d)\n%s\n--- emulator (%d)\n%s", what, len(want), strings.Join(want, "\n"), len(got), strings.Join(got, "\n"))
}

// perEntity groups normalised lines by the first entity they name, for
// traces where two hangups raced in Asterisk and interleaved.
func perEntity(lines []string) []string {
	groups := map[string][]string{}
	var keys []string
	for _, l := range lines {
		f := strings.Fields(l)
		k := "-"
		if len(f) > 1 {
			k = f[1]
			if i := strings.IndexByte(k, '('); i > 0 {
				k = k[:i]
			}
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], l)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, "== "+k)
		out = append(out, groups[k]...)
	}
	return out
}

// ---- a raw ARI client: net/http + a plain WebSocket ----

type rig struct {
	t      *testing.T
	srv    *emulator.Server
	ws     *websocket.Conn
	frames chan map[string]any
	all    []map[string]any
	rest   []string
}

const testUser, testPass = "hotline", "secret"

func newServer(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	opts.App, opts.User, opts.Password = "hotline", testUser, testPass
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.2 // 1 s playback → 200 ms, timeout 5 s → 1 s
	}
	srv := emulator.New(opts)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func newRig(t *testing.T, opts emulator.Options) *rig {
	r := &rig{t: t, srv: newServer(t, opts)}
	r.connect()
	return r
}

func dialWS(t *testing.T, srv *emulator.Server, app string) (*websocket.Conn, chan map[string]any) {
	t.Helper()
	cfg, err := websocket.NewConfig(srv.WSURL()+"?app="+app, "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass)))
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan map[string]any, 1000)
	go func() {
		defer close(frames)
		for {
			var s string
			if err := websocket.Message.Receive(ws, &s); err != nil {
				return
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m = map[string]any{"type": "UNDECODABLE", "raw": s}
			}
			frames <- m
		}
	}()
	t.Cleanup(func() { ws.Close() })
	deadline := time.Now().Add(2 * time.Second)
	for !srv.Connected(app) {
		if time.Now().After(deadline) {
			t.Fatal("socket not registered")
		}
		time.Sleep(time.Millisecond)
	}
	return ws, frames
}

func (r *rig) connect() {
	r.ws, r.frames = dialWS(r.t, r.srv, "hotline")
}

// disconnect closes the client socket and waits until the server noticed.
func (r *rig) disconnect() {
	r.ws.Close()
	for range r.frames {
	}
	for r.srv.Connected() {
		time.Sleep(time.Millisecond)
	}
}

func (r *rig) do(method, path string, params url.Values) (int, map[string]any) {
	r.t.Helper()
	st, body := call(r.t, r.srv, method, path, params, "")
	r.rest = append(r.rest, restLine(method, "/ari"+path, st))
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return st, m
}

func call(t *testing.T, srv *emulator.Server, method, path string, params url.Values, jsonBody string) (int, []byte) {
	t.Helper()
	u := srv.URL() + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var body io.Reader
	if jsonBody != "" {
		body = strings.NewReader(jsonBody)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if jsonBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (r *rig) mustDo(method, path string, params url.Values, want int) map[string]any {
	r.t.Helper()
	st, body := r.do(method, path, params)
	if st != want {
		r.t.Fatalf("%s %s: status %d, want %d (%v)", method, path, st, want, body)
	}
	return body
}

// waitFor reads events (recording all) until one of type typ (and matching
// the optional predicate) arrives.
func (r *rig) waitFor(typ string, pred ...func(map[string]any) bool) map[string]any {
	r.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-r.frames:
			if !ok {
				r.t.Fatalf("socket closed while waiting for %s", typ)
			}
			r.all = append(r.all, f)
			if f["type"] == typ && (len(pred) == 0 || pred[0](f)) {
				return f
			}
		case <-timeout:
			r.t.Fatalf("timeout waiting for %s; got %v", typ, normalize(r.all))
		}
	}
}

// drain records the events that arrive until quiet for d.
func (r *rig) drain(d time.Duration) {
	for {
		select {
		case f, ok := <-r.frames:
			if !ok {
				return
			}
			r.all = append(r.all, f)
		case <-time.After(d):
			return
		}
	}
}

func chanID(f map[string]any) string {
	if c, ok := f["channel"].(map[string]any); ok {
		return c["id"].(string)
	}
	if c, ok := f["peer"].(map[string]any); ok {
		return c["id"].(string)
	}
	return ""
}

func v(kv ...string) url.Values {
	out := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}

// compare checks the event sequence (and REST statuses when recorded).
func (r *rig) compare(name string, withREST bool) {
	r.t.Helper()
	r.drain(150 * time.Millisecond)
	diff(r.t, name+" events", normalize(readTrace(r.t, name)), normalize(r.all))
	if withREST {
		diff(r.t, name+" REST", readREST(r.t, name), r.rest)
	}
}

// dialWSNoRead connects a socket that never reads (a slow consumer).
func dialWSNoRead(t *testing.T, srv *emulator.Server) (*websocket.Conn, error) {
	t.Helper()
	cfg, err := websocket.NewConfig(srv.WSURL()+"?app=hotline", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass)))
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for !srv.Connected() {
		time.Sleep(time.Millisecond)
	}
	return ws, nil
}
