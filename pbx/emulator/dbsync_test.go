package emulator_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// startDBSync originates the read-back as hotline does (into the dialplan,
// no app) and returns the first batch's StasisStart.
func (r *rig) startDBSync(id string) map[string]any {
	r.t.Helper()
	r.mustDo("POST", "/channels", v("endpoint", "Local/s@hotline-dbsync", "context", "hotline-dbsync",
		"extension", "read", "channelId", id), 200)
	return r.waitFor("StasisStart")
}

// batch reads the slots of the batch the dialplan copied, as key=value.
func (r *rig) batch(id string) []string {
	r.t.Helper()
	n, err := strconv.Atoi(r.getVar(id, emulator.VarMissedCount, 200))
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.getVar(id, emulator.VarMissedKey+strconv.Itoa(i), 200)+"="+
			r.getVar(id, emulator.VarMissedVal+strconv.Itoa(i), 200))
	}
	return out
}

// next continues the read-back to delete<done> and returns the next
// batch's StasisStart, after the StasisEnd the continue causes.
func (r *rig) next(id string, done int) map[string]any {
	r.t.Helper()
	r.mustDo("POST", "/channels/"+id+"/continue", v("context", "hotline-dbsync", "extension", fmt.Sprintf("delete%d", done)), 204)
	r.waitFor("StasisEnd")
	return r.waitFor("StasisStart")
}

func missed(i int) (key, val string) {
	return fmt.Sprintf("1795419909.%03d", i), fmt.Sprintf("7900500%04d|1795419909", i)
}

// The [hotline-dbsync] dialplan as extensions.conf has it: batches of 50
// copied into plain variables, Stasis(hotline,db-sync), and on continue to
// delete<n> exactly the first n slots deleted before the next batch.
func TestDBSyncDialplanBatches(t *testing.T) {
	r := newRig(t, emulator.Options{})
	for i := 0; i < 120; i++ {
		k, val := missed(i)
		r.srv.SetDB(emulator.MissedFamily, k, val)
	}
	ss := r.startDBSync("dbsync-1")
	c := ss["channel"].(map[string]any)
	dp := c["dialplan"].(map[string]any)
	if args := ss["args"].([]any); len(args) != 1 || args[0] != "db-sync" || c["state"] != "Up" ||
		dp["context"] != "hotline-dbsync" || dp["exten"] != "read" || dp["app_name"] != "Stasis" || dp["app_data"] != "hotline,db-sync" {
		t.Fatal(ss)
	}
	for _, f := range r.all[:len(r.all)-1] {
		if chanID(f) == "dbsync-1" {
			t.Fatalf("%s before the dialplan's Stasis(): an originate without app subscribes nobody", f["type"])
		}
	}
	b := r.batch("dbsync-1")
	k0, v0 := missed(0)
	k49, v49 := missed(49)
	if len(b) != emulator.DBSyncBatch || b[0] != k0+"="+v0 || b[49] != k49+"="+v49 {
		t.Fatalf("first batch %d: %v ... %v", len(b), b[0], b[len(b)-1])
	}
	// Only 20 of the 50 were dealt with: the other 30 come again.
	r.next("dbsync-1", 20)
	if n := len(r.srv.DBKeys(emulator.MissedFamily)); n != 100 {
		t.Fatalf("%d entries left after delete20, want 100", n)
	}
	k20, _ := missed(20)
	if b := r.batch("dbsync-1"); len(b) != 50 || !strings.HasPrefix(b[0], k20+"=") {
		t.Fatalf("second batch %d from %v", len(b), b[0])
	}
	r.next("dbsync-1", 50)
	r.next("dbsync-1", 50)
	if b := r.batch("dbsync-1"); len(b) != 0 || len(r.srv.DBKeys(emulator.MissedFamily)) != 0 {
		t.Fatalf("after the last batch: %v, AstDB %v", b, r.srv.DBKeys(emulator.MissedFamily))
	}
	// A count beyond the batch touches nothing else.
	r.srv.SetDB(emulator.MissedFamily, "1795419999.1", "1|2")
	r.next("dbsync-1", 0)
	r.next("dbsync-1", 99)
	if n := len(r.srv.DBKeys(emulator.MissedFamily)); n != 0 {
		t.Fatalf("%d left", n)
	}
	r.mustDo("DELETE", "/channels/dbsync-1", nil, 204)
	r.waitFor("StasisEnd")
	if len(r.srv.Channels()) != 0 {
		t.Fatalf("%+v", r.srv.Channels())
	}
}

// Inside ${} a function's value is cut at 4095 characters, so DB_KEYS of a
// large family ends in a partial key, which reads as empty; the next batch
// reads the list afresh and gets it whole.
func TestDBSyncKeysCutAt4K(t *testing.T) {
	r := newRig(t, emulator.Options{})
	long := strings.Repeat("9", 95)
	for i := 0; i < 60; i++ {
		r.srv.SetDB(emulator.MissedFamily, fmt.Sprintf("%s.%02d", long, i), fmt.Sprintf("7900500%04d|1", i))
	}
	r.startDBSync("dbsync-1")
	b := r.batch("dbsync-1")
	// 41 keys of 98 characters and a comma each: 4059 characters, then 36
	// characters of the 42nd.
	if len(b) != 42 || !strings.HasSuffix(b[40], "|1") || !strings.HasSuffix(b[41], "=") || len(b[41]) != 37 {
		t.Fatalf("%d slots, last %q", len(b), b[len(b)-1])
	}
	r.next("dbsync-1", 42)
	if b := r.batch("dbsync-1"); len(b) != 19 || b[0] != fmt.Sprintf("%s.41=79005000041|1", long) {
		t.Fatalf("%d slots from %q", len(b), b[0])
	}
}

// Asterisk 22.10 leaves a channel unable to run DB() and DB_DELETE() in
// the dialplan once ARI has set a variable on it
// (app_control_set_channel_var): so hotline never sets one on the dbsync
// channel, and the emulator models the trap.
func TestDBSyncAfterSetVariableCannotTouchAstDB(t *testing.T) {
	r := newRig(t, emulator.Options{})
	k, val := missed(1)
	r.srv.SetDB(emulator.MissedFamily, k, val)
	r.startDBSync("dbsync-1")
	if b := r.batch("dbsync-1"); len(b) != 1 || b[0] != k+"="+val {
		t.Fatal(b)
	}
	r.mustDo("POST", "/channels/dbsync-1/variable", v("variable", "HOTLINE_MISSED_DONE", "value", "1"), 204)
	r.next("dbsync-1", 1)
	if got, ok := r.srv.DB(emulator.MissedFamily, k); !ok || got != val {
		t.Fatal("DB_DELETE ran on a channel ARI had set a variable on")
	}
	if b := r.batch("dbsync-1"); len(b) != 1 || b[0] != k+"=" {
		t.Fatalf("DB() read on a channel ARI had set a variable on: %v", b)
	}
}

// The fallback and the read-back end to end: callers missed while the app
// was down are read back (and deleted) once it connects.
func TestFallbackThenDBSync(t *testing.T) {
	var deleted []string
	srv := newServer(t, emulator.Options{Fallback: true, OnDBDelete: func(path, _ string) { deleted = append(deleted, path) }})
	h := srv.Call(emulator.Caller{Number: "79001234567"})
	h.Hangup()
	r := &rig{t: t, srv: srv}
	r.connect()
	r.startDBSync("dbsync-2")
	b := r.batch("dbsync-2")
	if len(b) != 1 || !strings.HasPrefix(b[0], h.ID()+"=79001234567|") {
		t.Fatal(b, h.ID())
	}
	r.next("dbsync-2", 1)
	if len(srv.DBKeys(emulator.MissedFamily)) != 0 || len(deleted) != 1 || deleted[0] != emulator.MissedFamily+"/"+h.ID() {
		t.Fatal(srv.DBKeys(emulator.MissedFamily), deleted)
	}
}
