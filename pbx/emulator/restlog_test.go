package emulator_test

import (
	"testing"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

func TestRESTLogRecordedBeforeReply(t *testing.T) {
	srv := newServer(t, emulator.Options{})
	for i := 0; i < 50; i++ {
		if st, _ := call(t, srv, "GET", "/channels/nope", nil, ""); st != 404 {
			t.Fatal(st)
		}
		log := srv.RESTLog()
		if len(log) != i+1 || log[i].Path != "/ari/channels/nope" || log[i].Status != 404 {
			t.Fatalf("after reply %d: log has %d entries", i, len(log))
		}
	}
}
