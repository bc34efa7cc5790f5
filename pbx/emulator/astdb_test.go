package emulator_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

func TestFallbackRecordsMissedCaller(t *testing.T) {
	srv := newServer(t, emulator.Options{Fallback: true})
	before := time.Now().Unix()
	h := srv.Call(emulator.Caller{Number: "79001234567", HangupAt: 50 * time.Millisecond})
	after := time.Now().Unix()
	if h.Rejected() || !h.InFallback() || h.ID() == "" || h.State() != "fallback" {
		t.Fatalf("rejected=%v fallback=%v id=%q state=%s", h.Rejected(), h.InFallback(), h.ID(), h.State())
	}
	val, ok := srv.DB(emulator.MissedFamily, h.ID())
	num, epoch, _ := strings.Cut(val, "|")
	at, err := strconv.ParseInt(epoch, 10, 64)
	if !ok || num != "79001234567" || err != nil || at < before || at > after {
		t.Fatalf("hotline_missed/%s = %q (%v)", h.ID(), val, ok)
	}
	if keys := srv.DBKeys(emulator.MissedFamily); len(keys) != 1 || keys[0] != h.ID() {
		t.Fatal(keys)
	}
	chs := srv.Channels()
	if len(chs) != 1 || chs[0].App != "" || chs[0].State != "Up" {
		t.Fatalf("%+v", chs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.WaitState(ctx, emulator.StateInStasis); err == nil {
		t.Fatal("a fallback call is not in Stasis")
	}
	if err := h.WaitState(ctx, emulator.StateEnded); err != nil || h.EndedBy() != "remote" || !h.InFallback() {
		t.Fatal(err, h.EndedBy())
	}
	if len(srv.Channels()) != 0 {
		t.Fatalf("%+v", srv.Channels())
	}
	if _, ok := srv.DB(emulator.MissedFamily, h.ID()); !ok {
		t.Fatal("the record went with the caller")
	}

	// Anonymous callers go to the queue too, unrecorded.
	for _, n := range []string{"", "anonymous", "Anonymous"} {
		h := srv.Call(emulator.Caller{Number: n})
		if !h.InFallback() {
			t.Fatalf("%q not in fallback", n)
		}
		if _, ok := srv.DB(emulator.MissedFamily, h.ID()); ok {
			t.Fatalf("%q recorded", n)
		}
		h.Hangup()
	}
	if keys := srv.DBKeys(emulator.MissedFamily); len(keys) != 1 {
		t.Fatal(keys)
	}
}

func TestFallbackCallerHeardByNobody(t *testing.T) {
	srv := newServer(t, emulator.Options{Fallback: true})
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	// A socket that connects while the caller waits in the fallback queue
	// hears nothing of it, even when the caller hangs up.
	_, frames := dialWS(t, srv, "hotline")
	h.Hangup()
	select {
	case f := <-frames:
		t.Fatalf("unexpected %v", f)
	case <-time.After(100 * time.Millisecond):
	}
	if h.EndedBy() != "remote" || h.Cause() != 16 {
		t.Fatal(h.EndedBy(), h.Cause())
	}
}

func TestNoFallbackStillRefuses(t *testing.T) {
	srv := newServer(t, emulator.Options{})
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	if !h.Rejected() || h.InFallback() || h.EndedBy() != "rejected" || len(srv.DBKeys(emulator.MissedFamily)) != 0 {
		t.Fatalf("rejected=%v fallback=%v by=%s", h.Rejected(), h.InFallback(), h.EndedBy())
	}
}

// getVar reads a variable (or function) on channel id over the real API.
func (r *rig) getVar(id, name string, want int) string {
	r.t.Helper()
	body := r.mustDo("GET", "/channels/"+id+"/variable", v("variable", name), want)
	s, _ := body["value"].(string)
	return s
}

// Over ARI, DB() and DB_DELETE() are refused as a stock Asterisk 22
// refuses them (live_dangerously off): HTTP 500 with the body
// res/ari/resource_channels.c sends; DB_KEYS and DB_EXISTS, which are not
// dangerous, still read the AstDB.
func TestDangerousFunctionsRefusedOverARI(t *testing.T) {
	var deleted []string
	r := newRig(t, emulator.Options{OnDBDelete: func(path, value string) { deleted = append(deleted, path+"="+value) }})
	r.srv.SetDB(emulator.MissedFamily, "1795423827.7", "79001112233|1795423900")
	r.srv.SetDB(emulator.MissedFamily, "1795423827.3", "79004445566|1795423830")
	r.srv.SetDB(emulator.MissedFamily, "odd,key", "1|2")
	r.srv.SetDB("other", "x", "y")

	// A channel in the application: a Local channel originated into it.
	ch := r.mustDo("POST", "/channels", v("endpoint", "Local/s@hotline-dbsync", "app", "hotline",
		"appArgs", "db-sync", "channelId", "dbsync-1"), 200)
	if ch["id"] != "dbsync-1" || !strings.HasPrefix(ch["name"].(string), "Local/s@hotline-dbsync-") {
		t.Fatal(ch)
	}
	ss := r.waitFor("StasisStart")
	c := ss["channel"].(map[string]any)
	if args := ss["args"].([]any); len(args) != 1 || args[0] != "db-sync" || c["id"] != "dbsync-1" || c["state"] != "Up" {
		t.Fatal(ss)
	}

	for _, fn := range []string{"DB(hotline_missed/1795423827.3)", "DB_DELETE(hotline_missed/1795423827.3)",
		"DB(hotline_missed)", "SHELL(id)", "FILE(/etc/passwd)", "STAT(e,/etc/passwd)", "LOCK(x)", "NOSUCH(x)"} {
		st, body := call(t, r.srv, "GET", "/channels/dbsync-1/variable", v("variable", fn), "")
		if st != 500 || strings.TrimSpace(string(body)) != `{"message":"Unable to read provided function"}` {
			t.Errorf("GET %s: %d %s, want 500 and Asterisk's message", fn, st, body)
		}
	}
	if got, ok := r.srv.DB(emulator.MissedFamily, "1795423827.3"); !ok || got != "79004445566|1795423830" || len(deleted) != 0 {
		t.Fatalf("a refused DB_DELETE deleted: %q %v %v", got, ok, deleted)
	}
	if keys := r.getVar("dbsync-1", "DB_KEYS(hotline_missed)", 200); keys != `1795423827.3,1795423827.7,odd\,key` {
		t.Fatal(keys)
	}
	if got := r.getVar("dbsync-1", "DB_EXISTS(hotline_missed/1795423827.3)", 200); got != "1" {
		t.Fatal(got)
	}
	if got := r.getVar("dbsync-1", "DB_EXISTS(hotline_missed/nothing)", 200); got != "0" {
		t.Fatal(got)
	}
	if got := r.getVar("dbsync-1", "DB_KEYCOUNT(hotline_missed)", 200); got != "3" {
		t.Fatal(got)
	}
	if keys := r.getVar("dbsync-1", "DB_KEYS(nothing)", 200); keys != "" {
		t.Fatal(keys)
	}
	r.getVar("dbsync-1", "NOSUCH", 404) // a plain variable

	// Writes: DB() is blocked yet answers 204 (Asterisk ignores the
	// function's result); DB_DELETE's write form is allowed.
	r.mustDo("POST", "/channels/dbsync-1/variable", v("variable", "DB(hotline_missed/k)", "value", "1|2"), 204)
	if got, ok := r.srv.DB(emulator.MissedFamily, "k"); ok {
		t.Fatalf("DB() written over ARI: %q", got)
	}
	r.mustDo("POST", "/channels/dbsync-1/variable", v("variable", "DB_DELETE(hotline_missed/1795423827.3)", "value", ""), 204)
	if _, ok := r.srv.DB(emulator.MissedFamily, "1795423827.3"); ok || len(deleted) != 1 ||
		deleted[0] != "hotline_missed/1795423827.3=79004445566|1795423830" {
		t.Fatalf("DB_DELETE write: still there %v, deleted %v", ok, deleted)
	}

	r.mustDo("DELETE", "/channels/dbsync-1", nil, 204)
	hr := r.waitFor("ChannelHangupRequest")
	if hr["cause"] != float64(32) || hr["soft"] != true {
		t.Fatal(hr)
	}
	r.waitFor("StasisEnd")
	r.waitFor("ChannelDestroyed")
	for _, f := range r.all {
		if f["type"] == "ChannelVarset" && strings.HasPrefix(f["variable"].(string), "RTPAUDIOQOS") {
			t.Fatal("a Local channel has no RTP")
		}
		if f["type"] == "ChannelVarset" && strings.HasPrefix(f["variable"].(string), "DB") {
			t.Fatal("a function write sent ChannelVarset")
		}
	}
	if len(r.srv.Channels()) != 0 {
		t.Fatalf("%+v", r.srv.Channels())
	}

	// Other Local destinations cannot be allocated.
	for _, ep := range []string{"Local/s@default", "Local/1001@hotline-dbsync", "Local/s@from-citizens"} {
		r.mustDo("POST", "/channels", v("endpoint", ep, "app", "hotline"), 500)
	}
}
