package logmask

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+77011234567", "+7••••••••67"},
		{"77011234567", "•••••••••67"},
		{"8 (701) 123-45-67", "• (•••) •••-••-67"},
		{"+442079460000", "+4•••••••••00"},
		{"+1234567", "+•••••67"}, // 7 digits: no leading digit shown
		{"anonymous", "anonymous"},
		{"", ""},
		{"5", "5"},
		{"abc123def456", "abc•••def•56"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"PJSIP/+77011234567@carrier", "PJSIP/+7••••••••67@carrier"},
		{"PJSIP/1001", "PJSIP/1001"},
		{"Local/1001@default", "Local/••01@default"},
		{"garbage", "garbage"},
	}
	for _, tt := range tests {
		if got := Endpoint(tt.in); got != tt.want {
			t.Errorf("Endpoint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := `{"type":"StasisStart","channel":{"id":"1795419909.12","caller":{"name":"","number":"+77011234567"},"connected":{"number" : "79001234567`
	got := string(JSON([]byte(in)))
	want := `{"type":"StasisStart","channel":{"id":"1795419909.12","caller":{"name":"","number":"+7••••••••67"},"connected":{"number" : "•••••••••67`
	if got != want {
		t.Fatalf("JSON:\n got %s\nwant %s", got, want)
	}
}

// A Number field is masked by default, in a line's own fields and in a
// logger's With fields alike; a Reveal core writes it in full.
func TestNumberFieldMaskedUnlessRevealed(t *testing.T) {
	for _, tt := range []struct {
		reveal bool
		want   string
	}{{false, "+7••••••••67"}, {true, "+77011234567"}} {
		var buf bytes.Buffer
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zapcore.DebugLevel)
		if tt.reveal {
			core = Reveal(core)
		}
		log := zap.New(core)
		log.With(Number("caller", "+77011234567")).Info("call arrived", Number("number", "+77011234567"), zap.String("call_id", "c1"))
		out := buf.String()
		if strings.Count(out, `"`+tt.want+`"`) != 2 || !strings.Contains(out, `"call_id":"c1"`) {
			t.Errorf("reveal=%v: %s; want caller and number %q", tt.reveal, out, tt.want)
		}
		if !tt.reveal && strings.Contains(out, "7011234567") {
			t.Errorf("masked log carries the number: %s", out)
		}
	}
}
