package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

func TestConfigCheck(t *testing.T) {
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	// The check says whether the line is open at the clock's time.
	sundayNight := time.Date(2026, 12, 6, 22, 0, 0, 0, almaty)
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderr    string // exact, unless stderrHas is used
		stderrHas string
	}{
		{
			name: "good files",
			args: []string{"config", "check", "../../configs/hotline.yaml", "../../config/testdata/good.yaml"},
			code: 0,
			stdout: "../../configs/hotline.yaml: ok\n" +
				"  centre kz-1406: 4 languages (ru, kk, uk, en), 8 topics, 4 operators, 4 ivr nodes, 29 prompts\n" +
				"  business hours: closed now (Sun 22:00 Asia/Almaty); opens Mon 2026-12-07 08:00 (in 10h 0m)\n" +
				"../../config/testdata/good.yaml: ok\n" +
				"  centre test-122: 2 languages (ru, kk), 2 topics, 2 operators, 2 ivr nodes, 8 prompts\n" +
				"  business hours: closed now (Sun 22:00 Asia/Almaty); opens Mon 2026-12-07 08:00 (in 10h 0m)\n",
		},
		{
			// Every file is checked, and every problem printed, before failing.
			name: "bad file among good",
			args: []string{"config", "check", "../../config/testdata/bad_hours.yaml", "../../config/testdata/good.yaml"},
			code: 1,
			stdout: "../../config/testdata/good.yaml: ok\n" +
				"  centre test-122: 2 languages (ru, kk), 2 topics, 2 operators, 2 ivr nodes, 8 prompts\n" +
				"  business hours: closed now (Sun 22:00 Asia/Almaty); opens Mon 2026-12-07 08:00 (in 10h 0m)\n",
			stderr: `../../config/testdata/bad_hours.yaml:15: hours: weekly[0]: unknown day "monday" (use mon, tue, wed, thu, fri, sat, sun)
../../config/testdata/bad_hours.yaml:15: hours: weekly[0]: open "8:00" is not a time in HH:MM form (00:00 to 23:59)
../../config/testdata/bad_hours.yaml:16: hours: weekly[1]: open 15:00 is not before close 09:00 (split a range that runs past midnight in two)
../../config/testdata/bad_hours.yaml:17: hours: holiday "2026-02-30" is not a real date in YYYY-MM-DD form
../../config/testdata/bad_hours.yaml: 4 problems
`,
		},
		{
			name:   "missing file",
			args:   []string{"config", "check", "does-not-exist.yaml"},
			code:   1,
			stderr: "does-not-exist.yaml: config: open does-not-exist.yaml: no such file or directory\n",
		},
		{
			name:      "no files",
			args:      []string{"config", "check"},
			code:      2,
			stderrHas: "hotline config: no files to check\n",
		},
		{
			name:      "unknown config subcommand",
			args:      []string{"config", "chek", "x.yaml"},
			code:      2,
			stderrHas: `hotline config: unknown subcommand "chek" (want check)`,
		},
		{
			name:      "unknown command",
			args:      []string{"srve"},
			code:      2,
			stderrHas: `hotline: unknown command "srve"`,
		},
		{
			name:      "no command",
			args:      nil,
			code:      2,
			stderrHas: "usage: hotline COMMAND [ARGS]",
		},
		{
			name:      "help",
			args:      []string{"-h"},
			code:      0,
			stderrHas: "  config      check configuration files",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runAt(context.Background(), func() time.Time { return sundayNight }, tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tt.stdout)
			}
			switch {
			case tt.stderrHas != "":
				if !strings.Contains(stderr.String(), tt.stderrHas) {
					t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr.String(), tt.stderrHas)
				}
			case stderr.String() != tt.stderr:
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), tt.stderr)
			}
		})
	}
}

// `hotline prompts` renders every prompt of the example config, and every
// number sound the router plays, in every language as 8 kHz mono 16-bit
// WAV, and `config check --sounds` then finds nothing missing; before
// rendering it reports the missing files.
func TestPromptsRenderEveryPromptAndCheckFindsThem(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: `make deps` installs it", tool)
			}
			t.Skipf("%s is not installed (make deps installs it); skipping prompt rendering", tool)
		}
	}
	dir := t.TempDir()
	cfgPath := "../../configs/hotline.yaml"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", "--sounds", dir, cfgPath}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "sound files missing") ||
		!strings.Contains(errb.String(), filepath.Join(dir, "hotline", "kk", "wait_21.wav")) {
		t.Fatalf("check before rendering: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	start := time.Now()
	if code := run(context.Background(), []string{"prompts", "--config", cfgPath, "--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("prompts: exit %d: %s", code, errb.String())
	}
	t.Logf("rendered in %s: %s", time.Since(start).Round(100*time.Millisecond), out.String())
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := cfg.Sounds()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for name := range texts {
		for _, l := range cfg.Languages {
			files = append(files, filepath.Join(dir, "hotline", l.Code, name+".wav"))
		}
	}
	for _, name := range []string{"queue_position_intro", "position_1", "position_100", "position_over_100", "wait_1", "wait_60", "wait_over_60", "digit_0", "digit_9"} {
		if _, ok := texts[name]; !ok {
			t.Errorf("%s is not among the rendered sounds", name)
		}
	}
	// One soxi per property over all files: hundreds of files, one
	// process each would take longer than the rendering.
	for _, want := range []struct{ flag, value string }{{"-t", "wav"}, {"-r", "8000"}, {"-c", "1"}, {"-b", "16"}} {
		got := soxiAll(t, want.flag, files)
		for i, f := range files {
			if got[i] != want.value {
				t.Errorf("%s: soxi %s = %q, want %q", f, want.flag, got[i], want.value)
			}
		}
	}
	for i, d := range soxiAll(t, "-D", files) {
		if secs, err := strconv.ParseFloat(d, 64); err != nil || secs < 0.1 {
			t.Errorf("%s lasts %q seconds: nothing spoken", files[i], d)
		}
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"config", "check", "--sounds", dir, cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("check after rendering: exit %d, stderr %q", code, errb.String())
	}
}

// soxiAll runs soxi flag over files and returns its answer for each, in order.
func soxiAll(t *testing.T, flag string, files []string) []string {
	t.Helper()
	out, err := exec.Command("soxi", append([]string{flag}, files...)...).Output()
	if err != nil {
		t.Fatalf("soxi %s: %v", flag, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("soxi %s: %d answers for %d files", flag, len(lines), len(files))
	}
	return lines
}
