package emulator_test

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// (This file sorts first so that no ari/v5 client of another test is
// retrying in the background while goroutines are counted.)

// TestCloseStopsEverything: Close leaves no goroutine behind, even with
// calls, timers, scripts and sockets in flight.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := emulator.New(emulator.Options{User: testUser, Password: testPass})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ws, _ := dialWS(t, srv, "hotline")
	srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, NeverAnswer: true})
	srv.Call(emulator.Caller{Number: "1", HangupAt: time.Hour, Script: []emulator.Step{{At: time.Hour, Digits: "1"}}})
	call(t, srv, "POST", "/channels", v("endpoint", "PJSIP/1001", "app", "hotline"), "")
	srv.Close()
	ws.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
