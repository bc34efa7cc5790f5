package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// TestNativeClient drives the real ari/v5 native client against the emulator.
func TestNativeClient(t *testing.T) {
	srv := emulator.New(emulator.Options{App: "hotline", User: "hotline", Password: "secret", TimeScale: 0.05})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	cl, err := native.Connect(&native.Options{Application: "hotline", URL: srv.URL(), WebsocketURL: srv.WSURL(), Username: "hotline", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	// cl.Close() is not called: ari/v5 v5.3.1 writes c.connected without a
	// lock in Close and in its listen loop, which the race detector reports.
	// The client goroutine retries the (closed) emulator until the test
	// binary exits.
	info, err := cl.Asterisk().Info(nil)
	if err != nil || info.SystemInfo.EntityID != emulator.DefaultEntityID {
		t.Fatalf("info %+v %v", info, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart)
	defer sub.Cancel()

	h := srv.Call(emulator.Caller{Number: "79001234567"})
	if h.Rejected() {
		t.Fatal("rejected")
	}
	var ss *ari.StasisStart
	select {
	case e := <-sub.Events():
		ss = e.(*ari.StasisStart)
	case <-ctx.Done():
		t.Fatal("no StasisStart")
	}
	if ss.Channel.ID != h.ID() || ss.Channel.State != "Ring" || len(ss.Args) != 1 || ss.Args[0] != "inbound" || ss.Channel.Caller.Number != "79001234567" {
		t.Fatalf("StasisStart %+v", ss)
	}
	ch := cl.Channel().Get(ss.Key(ari.ChannelKey, ss.Channel.ID))
	fin := cl.Bus().Subscribe(nil, ari.Events.PlaybackFinished)
	defer fin.Cancel()
	end := ch.Subscribe(ari.Events.StasisEnd)
	defer end.Cancel()
	if err := ch.Answer(); err != nil {
		t.Fatal(err)
	}
	<-h.Answered()
	pb, err := ch.Play("pb-1", "sound:hello-world")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-fin.Events():
		if f := e.(*ari.PlaybackFinished); f.Playback.ID != pb.ID() || f.Playback.State != "done" {
			t.Fatalf("finished %+v", f.Playback)
		}
	case <-ctx.Done():
		t.Fatal("no PlaybackFinished")
	}
	if got := h.Played(); len(got) != 1 || got[0] != "sound:hello-world" {
		t.Fatalf("played %v", got)
	}
	if err := ch.Hangup(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-end.Events():
	case <-ctx.Done():
		t.Fatal("no StasisEnd")
	}
	<-h.Ended()
	if h.EndedBy() != "app" {
		t.Fatalf("ended by %q", h.EndedBy())
	}
	// Originate (JSON body) to an operator phone, bridge both legs.
	srv.AddPhone("PJSIP/1001", emulator.Phone{Registered: true, AnswerAfter: 10 * time.Millisecond})
	h2 := srv.Call(emulator.Caller{Number: "79001234568"})
	var callerKey *ari.Key
	select {
	case e := <-sub.Events():
		callerKey = e.(*ari.StasisStart).Key(ari.ChannelKey, h2.ID())
	case <-ctx.Done():
		t.Fatal("no StasisStart for the second call")
	}
	op, err := cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/1001", App: "hotline", AppArgs: "operator-leg", CallerID: "Hotline <122>", Timeout: 15})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.Events():
		st := e.(*ari.StasisStart)
		if st.Channel.ID != op.ID() || len(st.Args) != 1 || st.Args[0] != "operator-leg" || st.Channel.State != "Up" {
			t.Fatalf("operator StasisStart %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("no operator StasisStart")
	}
	br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "acd-1"), "mixing,dtmf_events", "acd-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := br.AddChannel(callerKey.ID); err != nil {
		t.Fatal(err)
	}
	if err := br.AddChannel(op.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h2.Bridged():
	case <-ctx.Done():
		t.Fatal("not bridged")
	}
	if bd, err := br.Data(); err != nil || len(bd.ChannelIDs) != 2 {
		t.Fatalf("bridge data %+v %v", bd, err)
	}
	if err := br.Delete(); err != nil {
		t.Fatal(err)
	}
	if bs := srv.Bridges(); len(bs) != 0 {
		t.Fatalf("bridges %+v", bs)
	}

	// A missing channel is a 404 through the client too.
	if err := cl.Channel().Get(ari.NewKey(ari.ChannelKey, "nope")).Answer(); native.CodeFromError(err) != 404 {
		t.Fatalf("answer missing: %v", err)
	}
}
