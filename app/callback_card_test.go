package app_test

import (
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Customer first, the operator a callback's turn reserved sees whom
// hotline is calling back for them while the citizen's phone rings: the
// card names the callback, with the masked number and the citizen's
// earlier call, and offers no forms (nobody to talk to yet); their own
// phone does not ring. A citizen who does not answer takes the card away.
func TestCustomerFirstCardWhileTheCitizenRings(t *testing.T) {
	cfg := customerFirstConfig(t)
	h := newHarnessTweaked(t, cfg, emulator.Options{}, zaptest.NewLogger(t, zaptest.Level(testLogLevel)), withDeskSecrets)
	h.withTrunk()
	first := h.owedCustomerFirst(emulator.Phone{NeverAnswer: true}, "79006000031")[0]
	op := h.browser()
	op.signIn("1001", "secret-of-1001")
	if code, body := op.post("/desk/state", url.Values{"action": {"login"}}, false); code != 200 {
		t.Fatalf("login from the desktop: %d %s", code, body)
	}
	var card string
	h.eventually("the calling-back card on 1001's desktop while the citizen's phone rings", func() bool {
		_, card = op.get("/desk/card")
		d := h.emu.Dialled("+79006000031")
		return strings.Contains(card, `class="card live calling_back"`) && len(d) == 1 && d[0].Outcome == "ringing"
	})
	for _, want := range []string{"Calling the citizen back for you", "*** ***-00-31", `id="card-callback"`, `id="card-history"`} {
		if !strings.Contains(card, want) {
			t.Errorf("calling-back card without %q:\n%s", want, card)
		}
	}
	for _, not := range []string{"79006000031", `id="disposition"`, `id="case-complaint"`} {
		if strings.Contains(card, not) {
			t.Errorf("calling-back card with %q:\n%s", not, card)
		}
	}
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 0 {
		t.Fatalf("1001's phone rang %d times before the citizen answered", n)
	}
	h.eventually("the card gone once the citizen did not answer", func() bool {
		_, card = op.get("/desk/card")
		return !strings.Contains(card, "calling_back")
	})
	if cb := h.callback(first.Callback); cb.Status != callbacks.StatusScheduled || len(cb.Attempts) != 1 || cb.Attempts[0].Result != "no_answer" {
		t.Fatalf("callback %s with attempts %+v, want scheduled again after one unanswered attempt", cb.Status, cb.Attempts)
	}
	if n := h.emu.PhoneRang("PJSIP/1001"); n != 0 {
		t.Fatalf("1001's phone rang %d times for a citizen who did not answer", n)
	}
}
