package emulator_test

import (
	"slices"
	"testing"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// A snoop channel is refused as Asterisk refuses it (bad directions, no
// app: 400; unknown channel: 404; an id in use: 500), enters the
// application with its arguments, up, and is hung up when the snooped
// channel goes.
func TestSnoopChannel(t *testing.T) {
	r := newRig(t, emulator.Options{})
	h := r.srv.Call(emulator.Caller{Number: "1"})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)

	for _, tc := range []struct {
		path   string
		params []string
		want   int
	}{
		{"/channels/" + id + "/snoop/s1", []string{"spy", "sideways", "app", "hotline"}, 400},
		{"/channels/" + id + "/snoop/s1", []string{"spy", "both", "whisper", "up", "app", "hotline"}, 400},
		{"/channels/" + id + "/snoop/s1", []string{"app", "hotline"}, 400}, // both none
		{"/channels/" + id + "/snoop/s1", []string{"spy", "both"}, 400},    // no app
		{"/channels/nope/snoop/s1", []string{"spy", "both", "app", "hotline"}, 404},
		{"/channels/" + id + "/snoop/" + id, []string{"spy", "both", "app", "hotline"}, 500},
	} {
		if st, body := r.do("POST", tc.path, v(tc.params...)); st != tc.want {
			t.Errorf("POST %s %v: %d %v, want %d", tc.path, tc.params, st, body, tc.want)
		}
	}
	if len(r.srv.Snoops()) != 0 {
		t.Fatalf("refused snoops exist: %v", r.srv.Snoops())
	}
	got := r.mustDo("POST", "/channels/"+id+"/snoop/s1", v("spy", "both", "whisper", "out", "app", "hotline", "appArgs", "monitor,m1"), 200)
	if got["id"] != "s1" || got["state"] != "Up" {
		t.Fatalf("snoop channel %v", got)
	}
	st := r.waitFor("StasisStart", func(f map[string]any) bool { return chanID(f) == "s1" })
	if args, _ := st["args"].([]any); len(args) != 2 || args[0] != "monitor" || args[1] != "m1" {
		t.Fatalf("snoop StasisStart args %v", st["args"])
	}
	if s := r.srv.Snoops(); len(s) != 1 || s[0].Of != id || s[0].Spy != "both" || s[0].Whisper != "out" {
		t.Fatalf("snoops %+v", s)
	}
	h.Hangup()
	r.waitFor("StasisEnd", func(f map[string]any) bool { return chanID(f) == "s1" })
	if len(r.srv.Snoops()) != 0 {
		t.Fatalf("snoop outlived its channel: %v", r.srv.Snoops())
	}
}

// A bridge recording: refused for a missing bridge (404), missing name or
// bad options (400), an unknown format (422), a name in use (409); a
// Recorder channel enters the bridge; stopping stores it (listed,
// fetched as a wav, deleted), and destroying the bridge stores the other.
func TestBridgeRecording(t *testing.T) {
	r := newRig(t, emulator.Options{})
	r.srv.Call(emulator.Caller{Number: "1"})
	id := chanID(r.waitFor("StasisStart"))
	r.mustDo("POST", "/channels/"+id+"/answer", nil, 204)
	r.mustDo("POST", "/bridges/b1", v("type", "mixing"), 200)
	r.mustDo("POST", "/bridges/b1/addChannel", v("channel", id), 204)

	for _, tc := range []struct {
		path   string
		params []string
		want   int
	}{
		{"/bridges/nope/record", []string{"name", "x", "format", "wav"}, 404},
		{"/bridges/b1/record", []string{"format", "wav"}, 400},
		{"/bridges/b1/record", []string{"name", "x"}, 400},
		{"/bridges/b1/record", []string{"name", "x", "format", "wav", "ifExists", "maybe"}, 400},
		{"/bridges/b1/record", []string{"name", "x", "format", "wav", "terminateOn", "5"}, 400},
		{"/bridges/b1/record", []string{"name", "x", "format", "mp3"}, 422},
	} {
		if st, body := r.do("POST", tc.path, v(tc.params...)); st != tc.want {
			t.Errorf("POST %s %v: %d %v, want %d", tc.path, tc.params, st, body, tc.want)
		}
	}
	r.mustDo("POST", "/bridges/b1/record", v("name", "rec1", "format", "wav", "ifExists", "fail"), 201)
	r.waitFor("ChannelEnteredBridge", func(f map[string]any) bool {
		c, _ := f["channel"].(map[string]any)
		n, _ := c["name"].(string)
		return len(n) > 9 && n[:9] == "Recorder/"
	})
	r.mustDo("POST", "/bridges/b1/record", v("name", "rec1", "format", "wav"), 409)
	if got := r.srv.LiveRecordingNames(); !slices.Equal(got, []string{"rec1"}) {
		t.Fatalf("live %v", got)
	}
	r.mustDo("POST", "/recordings/live/rec1/stop", nil, 204)
	r.mustDo("POST", "/recordings/live/rec1/stop", nil, 404)
	r.mustDo("GET", "/recordings/stored/rec1", nil, 200)
	st, data := call(t, r.srv, "GET", "/recordings/stored/rec1/file", nil, "")
	if st != 200 || len(data) < 44 || string(data[:4]) != "RIFF" {
		t.Fatalf("file: %d %d bytes", st, len(data))
	}
	// A stored name is refused with ifExists=fail.
	r.mustDo("POST", "/bridges/b1/record", v("name", "rec1", "format", "wav"), 409)
	r.mustDo("POST", "/bridges/b1/record", v("name", "rec2", "format", "wav"), 201)
	r.mustDo("DELETE", "/bridges/b1", nil, 204)
	if got := r.srv.StoredRecordingNames(); !slices.Equal(got, []string{"rec1", "rec2"}) {
		t.Fatalf("stored %v", got)
	}
	r.mustDo("DELETE", "/recordings/stored/rec1", nil, 204)
	r.mustDo("DELETE", "/recordings/stored/rec1", nil, 404)
	r.mustDo("GET", "/recordings/stored/rec1/file", nil, 404)
	if got := r.srv.StoredRecordingNames(); !slices.Equal(got, []string{"rec2"}) {
		t.Fatalf("stored %v", got)
	}
}
