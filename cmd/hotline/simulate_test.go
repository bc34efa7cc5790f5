package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinyScenario = `
name: tiny
start: 2026-12-01T08:00:00+05:00
duration: 2h
always_open: true
topics:
  general:
    arrivals: [40, 20]
    talk: {dist: exponential, mean: 2m}
    patience: {dist: exponential, mean: 1m}
shifts:
  - {name: morning, start: "08:00", end: "10:00", operators: 2}
`

// hotline simulate prints the day as CSV, the same twice for one seed,
// draws the SVG, and names the line of a bad scenario key.
func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(sc, []byte(tinyScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "day.svg")
	var outs [2]string
	for i := range outs {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"simulate", "--config", "../../configs/hotline.yaml", "--scenario", sc, "--seed", "3", "--format", "csv", "--svg", svg}, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		outs[i] = out.String()
	}
	if outs[0] != outs[1] || !strings.HasPrefix(outs[0], "start,topic,offered") {
		t.Fatalf("two runs:\n%s\n---\n%s", outs[0], outs[1])
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Fatalf("svg: %v %.80s", err, b)
	}
	bad := strings.Replace(tinyScenario, "    patience:", "    patiense:", 1)
	if err := os.WriteFile(sc, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"simulate", "--config", "../../configs/hotline.yaml", "--scenario", sc}, &out, &errb); code != 1 {
		t.Fatalf("bad scenario: exit %d", code)
	}
	if want := sc + ":10: field patiense not found"; !strings.Contains(errb.String(), want) {
		t.Fatalf("error %q, want it to contain %q", errb.String(), want)
	}
}
