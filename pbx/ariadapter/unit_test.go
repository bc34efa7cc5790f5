package ariadapter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotisserie/eris"

	"github.com/hotline-acd/hotline/pbx"
)

// tracesDir holds the frames recorded on a real Asterisk 22 (shared/ari).
func tracesDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"../emulator/testdata/traces", "../../../shared/ari/traces", "/work/shared/ari/traces"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("shared/ari/traces not found")
	return ""
}

func readTrace(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(tracesDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

// Every frame of every recorded trace translates without error or is a
// type we deliberately drop.
func TestTranslateAllTraces(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(tracesDir(t), "*.jsonl"))
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".rest.jsonl") {
			continue
		}
		for _, fr := range readTrace(t, filepath.Base(f)) {
			ev, typ, err := translate(fr)
			if errors.Is(err, errIgnored) {
				if typ != "ChannelVarset" && typ != "BridgeDestroyed" && typ != "ChannelConnectedLine" {
					t.Errorf("%s: unexpected ignored type %s", filepath.Base(f), typ)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v: %s", filepath.Base(f), err, fr)
			}
			if ev.ChannelID == "" || ev.Time.IsZero() || ev.Time.Year() != 2026 {
				t.Errorf("%s: bad event %+v", filepath.Base(f), ev)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d events translated", n)
	}
}

func TestTranslateIVRTrace(t *testing.T) {
	var got []pbx.Event
	for _, fr := range readTrace(t, "ivr_call.jsonl") {
		if ev, _, err := translate(fr); err == nil {
			got = append(got, ev)
		}
	}
	if got[0].Type != pbx.StasisStart || got[0].Channel.CallerNumber != "79001234567" ||
		got[0].Channel.State != "Ring" || got[0].Args == nil || got[0].Channel.Exten != "122" ||
		got[0].Channel.Context != "from-citizens" {
		t.Fatalf("first event %+v", got[0])
	}
	var digits string
	var pb []pbx.Event
	var hangup *pbx.Event
	for i, e := range got {
		switch e.Type {
		case pbx.DTMF:
			digits += e.Digit
			if e.DurationMs == 0 {
				t.Errorf("dtmf without duration")
			}
		case pbx.PlaybackStarted, pbx.PlaybackFinished:
			pb = append(pb, e)
		case pbx.ChannelHangupRequest:
			hangup = &got[i]
		}
	}
	if digits != "12#" {
		t.Errorf("digits %q", digits)
	}
	if len(pb) < 2 || pb[0].PlaybackID == "" || pb[0].ChannelID != got[0].ChannelID ||
		pb[len(pb)-1].PlaybackState != "done" {
		t.Errorf("playback events %+v", pb)
	}
	if hangup == nil || hangup.Cause != 32 || !hangup.Soft {
		t.Errorf("app hangup %+v", hangup)
	}
}

func TestTranslateRemoteHangupHasNoCause(t *testing.T) {
	for _, fr := range readTrace(t, "caller_hangup.jsonl") {
		if ev, _, err := translate(fr); err == nil && ev.Type == pbx.ChannelHangupRequest {
			if ev.Cause != 0 || ev.Soft {
				t.Fatalf("remote hangup %+v", ev)
			}
			return
		}
	}
	t.Fatal("no hangup request in trace")
}

func TestTranslateOriginateBusy(t *testing.T) {
	var dial []string
	var destroyed *pbx.Event
	for _, fr := range readTrace(t, "originate_busy.jsonl") {
		ev, _, err := translate(fr)
		if err != nil {
			continue
		}
		switch ev.Type {
		case pbx.Dial:
			dial = append(dial, ev.DialStatus)
			if ev.ChannelID == "" || ev.Channel.Name == "" {
				t.Errorf("dial without peer %+v", ev)
			}
		case pbx.ChannelDestroyed:
			destroyed = &ev
		}
	}
	if strings.Join(dial, ",") != ",BUSY" {
		t.Errorf("dial statuses %q", dial)
	}
	if destroyed == nil || destroyed.Cause != 17 || destroyed.CauseText == "" {
		t.Errorf("destroyed %+v", destroyed)
	}
}

func TestTranslateBridgeTrace(t *testing.T) {
	var entered, left int
	for _, fr := range readTrace(t, "bridge_citizen_operator_dtmf_events.jsonl") {
		ev, _, err := translate(fr)
		if err != nil {
			continue
		}
		switch ev.Type {
		case pbx.ChannelEnteredBridge:
			entered++
			if ev.BridgeID == "" {
				t.Errorf("no bridge id %+v", ev)
			}
		case pbx.ChannelLeftBridge:
			left++
		case pbx.StasisStart:
			if ev.Channel.State == "Up" && (len(ev.Args) == 0) {
				t.Errorf("originated leg without args %+v", ev)
			}
		}
	}
	if entered != 2 || left != 2 {
		t.Errorf("entered %d left %d", entered, left)
	}
}

func TestTranslateJunkNeverPanics(t *testing.T) {
	frames := []string{
		``, `null`, `[]`, `{}`, `"x"`, `{"type":""}`, `{"type":123}`,
		`{"type":"ChannelToneDetected","channel":{"id":"1"}}`,
		`{"type":"RESTResponse"}`,
		`{"type":"StasisStart"}`,
		`{"type":"StasisStart","channel":null}`,
		`{"type":"PlaybackFinished"}`,
		`{"type":"PlaybackFinished","playback":{"id":"p","target_uri":"nocolon"}}`,
		`{"type":"Dial"}`,
		`{"type":"Dial","peer":{"id":"x"},"caller":null}`,
		`{"type":"ChannelDtmfReceived","channel":{"id":"1"},"digit":5}`,
		`{"type":"StasisStart","timestamp":"garbage","channel":{"id":"1"},"args":["a"]}`,
		`{"type":"StasisStart","timestamp":"2026-11-23T07:56:44Z","channel":{"id":"1"}}`,
	}
	for _, f := range frames {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic on %q: %v", f, r)
				}
			}()
			_, _, _ = translate([]byte(f))
		}()
	}
	ev, _, err := translate([]byte(`{"type":"StasisStart","timestamp":"2026-11-23T07:56:44.5Z","channel":{"id":"1"}}`))
	if err != nil || ev.Time.Year() != 2026 || ev.Args == nil {
		t.Fatalf("rfc3339 timestamp: %+v %v", ev, err)
	}
	ev, _, err = translate([]byte(`{"type":"PlaybackFinished","playback":{"id":"p","state":"done","target_uri":"bridge:b1"}}`))
	if err != nil || ev.BridgeID != "b1" || ev.ChannelID != "" || ev.PlaybackState != "done" {
		t.Fatalf("bridge playback: %+v %v", ev, err)
	}
}

type fakeReqErr struct{ code int }

func (e fakeReqErr) Error() string { return fmt.Sprintf("Non-2XX response: %d", e.code) }
func (e fakeReqErr) Code() int     { return e.code }

type causeErr struct{ c error }

func (e *causeErr) Error() string { return "data get: " + e.c.Error() }
func (e *causeErr) Cause() error  { return e.c }

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		kind   opKind
		status int
		want   error
	}{
		{opChannel, 404, pbx.ErrNotFound},
		{opChannel, 409, pbx.ErrConflict},
		{opChannel, 412, pbx.ErrConflict},
		{opBridgeMember, 422, pbx.ErrConflict},
		{opBridgeMember, 400, pbx.ErrNotFound},
		{opChannel, 400, nil},
		{opOriginate, 500, pbx.ErrUnavailable},
		{opChannel, 500, nil},
	}
	for _, tc := range cases {
		// As the library returns them: eris-wrapped, sometimes behind a
		// Cause() chain (Data()).
		for _, raw := range []error{
			fakeReqErr{tc.status},
			eris.Wrap(fakeReqErr{tc.status}, "failed"),
			eris.Wrap(&causeErr{eris.Wrap(fakeReqErr{tc.status}, "x")}, "failed to get data"),
		} {
			err := mapErr(tc.kind, "op", "chan-1", raw)
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tc.status || he.ID != "chan-1" {
				t.Errorf("%d: %v", tc.status, err)
			}
			for _, s := range []error{pbx.ErrNotFound, pbx.ErrConflict, pbx.ErrUnavailable, pbx.ErrTimeout} {
				if errors.Is(err, s) != (s == tc.want) {
					t.Errorf("kind %d status %d: errors.Is(%v)=%v", tc.kind, tc.status, s, errors.Is(err, s))
				}
			}
			if !strings.Contains(err.Error(), "chan-1") {
				t.Errorf("error does not name the id: %v", err)
			}
		}
	}
	if err := timeoutErr("answer", "c", context.DeadlineExceeded); !errors.Is(err, pbx.ErrTimeout) {
		t.Errorf("deadline: %v", err)
	}
	if err := timeoutErr("answer", "c", context.Canceled); errors.Is(err, pbx.ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestHTTPClientInstalled(t *testing.T) {
	c := New(Options{User: "u", Password: "p", CommandTimeout: 1500 * time.Millisecond}, nil)
	defer c.Close()
	if !c.httpInstalled {
		t.Fatal("bounded http.Client not installed into ari/v5")
	}
	hc, ok := installedHTTPClient(c.nc)
	if !ok || hc.Timeout != 1500*time.Millisecond || hc.Transport == nil {
		t.Fatalf("installed client %+v", hc)
	}
}

func TestQueueOrderHoldRelease(t *testing.T) {
	q := newEventQueue()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan pbx.Event)
	done := make(chan struct{})
	go func() { q.pump(ctx, out); close(done) }()

	q.push(pbx.Event{Digit: "a"})
	q.hold()
	q.push(pbx.Event{Digit: "c"})
	q.push(pbx.Event{Digit: "d"})
	q.release(&pbx.Event{Digit: "b"})
	for i := 0; i < 10000; i++ {
		q.push(pbx.Event{Digit: fmt.Sprint(i)})
	}
	var got []string
	for i := 0; i < 10004; i++ {
		got = append(got, (<-out).Digit)
	}
	if strings.Join(got[:5], "") != "abcd0" || got[10003] != "9999" {
		t.Fatalf("order %v...%v", got[:5], got[10003])
	}
	cancel()
	<-done
}

func TestValidation(t *testing.T) {
	c := New(Options{User: "u", Password: "p"}, nil)
	defer c.Close()
	ctx := context.Background()
	if err := c.Answer(ctx, "a/b"); err == nil {
		t.Error("id with slash accepted")
	}
	if err := c.Hangup(ctx, "x", "bogus&x=1"); err == nil {
		t.Error("bad reason accepted")
	}
	if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/1", Timeout: -time.Second}); err == nil {
		t.Error("negative timeout accepted")
	}
	if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/1", Args: []string{"a,b"}}); err == nil {
		t.Error("arg with comma accepted")
	}
	if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "Local/s@x", Extension: "read"}); err == nil {
		t.Error("dialplan target without context accepted (Asterisk would use [default])")
	}
	if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "Local/s@x", Context: "x", Extension: "read", Args: []string{"a"}}); err == nil {
		t.Error("application arguments with a dialplan target accepted")
	}
	if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "Local/s@x", Context: "x", Extension: "read", App: "hotline-2"}); err == nil {
		t.Error("an application with a dialplan target accepted")
	}
	for _, app := range []string{"hotline,2", "hotline 2", "a/b"} {
		if _, err := c.Originate(ctx, pbx.OriginateRequest{Endpoint: "PJSIP/1", App: app}); err == nil {
			t.Errorf("application %q accepted", app)
		}
	}
	// The legs go as one comma-separated list: a comma in an id would
	// name other channels.
	if err := c.AddToBridge(ctx, "br", "a,b"); err == nil {
		t.Error("channel id with comma accepted")
	}
	if err := c.AddToBridge(ctx, "br"); err == nil {
		t.Error("add to bridge without a channel accepted")
	}
}

// A command against an address that never answers returns ErrTimeout at
// its deadline.
func TestCommandTimeout(t *testing.T) {
	ln, err := listenSilent(t)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{URL: "http://" + ln + "/ari", User: "u", Password: "p", CommandTimeout: 300 * time.Millisecond}, nil)
	start := time.Now()
	err = c.Answer(context.Background(), "chan-1")
	if !errors.Is(err, pbx.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	// ctx shorter than CommandTimeout wins.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := c.Ring(ctx, "chan-1"); !errors.Is(err, pbx.ErrTimeout) || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("ctx deadline: %v after %v", err, time.Since(start))
	}
	c.Close() // waits for the abandoned library goroutines (bounded by the installed http timeout)
	if err := c.Answer(context.Background(), "chan-1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// CallBroadcast carries the caller's number as a string in "caller" (the
// Dial event's "caller" is a Channel): it translates, with the channel.
func TestTranslateCallBroadcast(t *testing.T) {
	fr := []byte(`{"type":"CallBroadcast","timestamp":"2026-12-03T10:04:18.920+0000","channel":{"id":"1796292258.1","name":"PJSIP/carrier-00000000","state":"Ring","caller":{"name":"","number":"79001234567"},"dialplan":{"context":"from-citizens","exten":"122","priority":4,"app_name":"StasisBroadcast","app_data":"1000,^hotline,inbound"},"language":"en"},"caller":"79001234567","called":"122","asterisk_id":"02:fc:00:00:00:01","application":"hotline-2"}`)
	ev, _, err := translate(fr)
	if err != nil || ev.Type != pbx.CallBroadcast || ev.ChannelID != "1796292258.1" || ev.Channel.CallerNumber != "79001234567" {
		t.Fatalf("CallBroadcast: %+v, %v", ev, err)
	}
}
