package contract

import (
	"testing"

	"github.com/hotline-acd/hotline/pbx"
)

// TestAsteriskTargetPlumbing runs the real target's own machinery (REST
// helper, driver socket, WebSocket relay, endpoint discovery) against the
// emulator, so that it is exercised in CI although no Asterisk is there.
// The Local-channel parts need a real Asterisk.
func TestAsteriskTargetPlumbing(t *testing.T) {
	emu := newEmulatorTarget(t)
	a, err := startAsterisk(emu.srv.URL(), emuUser, emuPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close) // after the session's cleanup (LIFO)
	if !emu.srv.Connected(driverApp) {
		t.Fatal("driver application not connected")
	}
	tg := &asteriskTarget{a: a}
	if ep := tg.OnlineEndpoint(t); ep != "PJSIP/1001" {
		t.Fatalf("online endpoint %q", ep)
	}
	if ep := tg.Endpoint(t, Unregistered); ep != "PJSIP/1004" {
		t.Fatalf("unregistered endpoint %q", ep)
	}
	s := connect(t, tg)
	h := emu.Call(t)
	s.track(h.ChannelID())
	s.wait("StasisStart through the relay", is(pbx.StasisStart, h.ChannelID()))
	tg.DropWebSocket(t)
	rs := s.wait("Resynced after the relay cut the socket", is(pbx.Resynced, ""))
	if len(rs.Channels) != 1 || rs.Channels[0].ID != h.ChannelID() {
		t.Fatalf("resync %+v", rs.Channels)
	}
	waitReconnects(t, s, 1)
	if !emu.srv.Connected(driverApp) {
		t.Fatal("the relay cut the driver's socket too")
	}
	h.Hangup(t)
	s.wait("StasisEnd", is(pbx.StasisEnd, h.ChannelID()))
}
