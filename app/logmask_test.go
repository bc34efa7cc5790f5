package app_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Citizens' numbers are health data: a call served, an abandon called
// back and a refused (foreign) number leave no full number in hotline's
// log, at every level, while the records keep them in full.
func TestLogsMaskCitizensNumbers(t *testing.T) {
	var out syncBuffer // kill_test.go
	all := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(&out), zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(all, zaptest.NewLogger(t, zaptest.Level(testLogLevel)).Core()))
	h := newHarnessTweaked(t, callbackConfig(t, 0), emulator.Options{}, log, nil)
	h.withTrunk()

	const served, calledBack, foreign = "79004000001", "79004000002", "+442079460000"
	_, refused := h.abandonAfterMinimum(emulator.Caller{Number: foreign})
	if refused.Callback != "" {
		t.Fatalf("foreign caller got callback %s; want the number refused", refused.Callback)
	}
	answer := emulator.Phone{AnswerAfter: 30 * time.Millisecond, HangupAfterBridged: 100 * time.Millisecond}
	_, abandoned := h.abandonAfterMinimum(emulator.Caller{Number: calledBack, AnswerCallbacks: &answer})
	if abandoned.Callback == "" {
		t.Fatalf("abandoned caller owed no callback: %s", fmtRecord(abandoned))
	}
	h.login("PJSIP/1001")
	h.eventually("the callback reached the citizen", func() bool {
		return h.callback(abandoned.Callback).Status == callbacks.StatusReached
	})
	h.eventually("operator 1001 ready again", func() bool { return h.state("1001") == "ready" })
	c := h.emu.Call(emulator.Caller{Number: served, Script: choose("2", "3"), HangupAfterBridged: 100 * time.Millisecond})
	h.waitClosed(c.Ended(), "the served call to end")
	if r := h.record(c.ID()); r.CallerNumber != served || r.Agent != "1001" {
		t.Fatalf("record %s, number %q: want the full number, served by 1001", fmtRecord(r), r.CallerNumber)
	}
	h.stop()

	logged := out.String()
	for _, n := range []string{served, calledBack, foreign} {
		// The national significant digits: neither the raw nor the E.164
		// form, nor any error quoting it, may appear.
		if nsn := n[len(n)-10:]; strings.Contains(logged, nsn) {
			t.Errorf("the log carries %s in full:\n%s", n, grepLines(logged, nsn))
		}
	}
	// The lines that name the citizen are there, masked.
	for _, want := range []string{
		`"caller":"` + logmask.Mask(served) + `"`,
		`"number":"` + logmask.Mask("+"+calledBack) + `"`,
		logmask.Mask(foreign),
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
