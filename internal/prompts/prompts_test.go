package prompts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var sample = map[string]map[string]string{
	"greeting": {
		"ru": "Здравствуйте! Вы позвонили на горячую линию сто двадцать два.",
		"kk": "Сәлеметсіз бе! Сіз жүз жиырма екі жедел желісіне қоңырау шалдыңыз.",
		"uk": "Доброго дня! Ви зателефонували на гарячу лінію.",
		"en": "Hello! You have reached hotline one two two.",
	},
	"fallback_sorry": {
		"ru": "Извините, сейчас все операторы заняты.",
		"en": "-- Sorry, all operators are busy.", // leading dashes must not become an option
	},
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install espeak-ng sox): prompt rendering not tested", tool)
		}
	}
}

func soxi(t *testing.T, flag, path string) string {
	t.Helper()
	out, err := exec.Command("soxi", flag, path).Output()
	if err != nil {
		t.Fatalf("soxi %s %s: %v", flag, path, err)
	}
	return strings.TrimSpace(string(out))
}

func TestRenderAndCheck(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs []string
	err := Render(ctx, sample, dir, Options{Logf: func(f string, a ...any) { logs = append(logs, f) }})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, set := range sample {
		for lang := range set {
			n++
			p := filepath.Join(dir, "hotline", lang, name+".wav")
			if got := soxi(t, "-r", p); got != "8000" {
				t.Errorf("%s: rate %s, want 8000", p, got)
			}
			if got := soxi(t, "-c", p); got != "1" {
				t.Errorf("%s: channels %s, want 1", p, got)
			}
			if got := soxi(t, "-b", p); got != "16" {
				t.Errorf("%s: bits %s, want 16", p, got)
			}
			if got := soxi(t, "-t", p); got != "wav" {
				t.Errorf("%s: type %s, want wav", p, got)
			}
			if got := soxi(t, "-e", p); !strings.Contains(got, "Signed Integer") {
				t.Errorf("%s: encoding %q, want signed integer PCM", p, got)
			}
			if got := soxi(t, "-D", p); got == "0.000000" || strings.HasPrefix(got, "0.0") {
				t.Errorf("%s: duration %s: nothing spoken", p, got)
			}
		}
	}
	// No temporary files left behind.
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".") {
			t.Errorf("leftover temp file %s", p)
		}
		return nil
	})
	langs := []string{"ru", "kk", "uk", "en"}
	// fallback_sorry has no kk/uk text: Check reports those two files.
	missing := Check(sample, langs, dir)
	want := []string{
		filepath.Join(dir, "hotline", "kk", "fallback_sorry.wav"),
		filepath.Join(dir, "hotline", "uk", "fallback_sorry.wav"),
	}
	if strings.Join(missing, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check: %q, want %q", missing, want)
	}
	if err := os.Remove(filepath.Join(dir, "hotline", "ru", "greeting.wav")); err != nil {
		t.Fatal(err)
	}
	if m := Check(sample, []string{"ru"}, dir); len(m) != 1 || !strings.HasSuffix(m[0], filepath.Join("ru", "greeting.wav")) {
		t.Errorf("Check after removal: %q", m)
	}
	t.Logf("rendered %d files; log: %v", n, logs)
}

func TestRenderVoiceFallback(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	var logs []string
	err := Render(context.Background(), map[string]map[string]string{"x": {"kk": "Сәлем"}}, dir,
		Options{Voices: map[string]string{"kk": "no-such-voice"}, Logf: func(f string, a ...any) { logs = append(logs, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 || !strings.Contains(logs[0], "instead") {
		t.Errorf("fallback not logged: %v", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "hotline", "kk", "x.wav")); err != nil {
		t.Error(err)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	needTools(t)
	for _, p := range []map[string]map[string]string{
		{"../evil": {"ru": "x"}},
		{"a.b": {"ru": "x"}},
		{"ok": {"../ru": "x"}},
		{"ok": {"ru": "  "}},
		{"ok": {"zz": "x"}}, // no voice for zz
	} {
		if err := Render(context.Background(), p, t.TempDir(), Options{}); err == nil {
			t.Errorf("Render(%v) accepted", p)
		}
	}
}

func TestCheckAcceptsOtherFormats(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hotline", "ru")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "a.sln16"), []byte{1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "b.wav"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := Check(map[string]map[string]string{"a": {}, "b": {}}, []string{"ru"}, dir)
	if len(m) != 1 || !strings.HasSuffix(m[0], "b.wav") {
		t.Errorf("Check: %q (empty b.wav must count as missing)", m)
	}
}
