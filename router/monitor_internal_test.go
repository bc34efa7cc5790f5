package router

import (
	"testing"
	"time"

	"github.com/hotline-acd/hotline/pbx"
)

// listen spies both ways and whispers nothing; whisper adds the
// supervisor to what the operator's channel is sent ("out": the operator
// hears it), never to what it sends ("in": the citizen would).
func TestSnoopDirections(t *testing.T) {
	for _, tc := range []struct{ mode, spy, whisper string }{
		{MonitorListen, pbx.SnoopBoth, pbx.SnoopNone},
		{MonitorWhisper, pbx.SnoopBoth, pbx.SnoopOut},
	} {
		spy, whisper, ok := snoopDirections(tc.mode)
		if !ok || spy != tc.spy || whisper != tc.whisper {
			t.Errorf("%s: spy %q whisper %q ok %v", tc.mode, spy, whisper, ok)
		}
	}
	if _, _, ok := snoopDirections("barge"); ok {
		t.Error("barge accepted")
	}
}

// A recording's name carries its start (the retention sweep's only
// clock) and the call id without dots; other names are not hotline's.
func TestRecordingName(t *testing.T) {
	at := time.Unix(1796186108, 0)
	name := recordingName("1796186105.2", at)
	if name != "hotline-1796186108-1796186105_2" {
		t.Fatalf("name %q", name)
	}
	if got, ok := parseRecording(name); !ok || !got.Equal(at) {
		t.Fatalf("parse %q: %v %v", name, got, ok)
	}
	for _, bad := range []string{"", "hotline-", "hotline-x-1.2", "hotline-123", "other-123-1_2", "hotline--1_2"} {
		if _, ok := parseRecording(bad); ok {
			t.Errorf("%q taken for a recording of hotline's", bad)
		}
	}
}
