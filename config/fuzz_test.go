package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input may panic Parse, and every outcome is either a config
// or an Errors naming the file. `go test` runs the seeds (every fixture and
// the example); `go test -fuzz FuzzParse ./config/` searches further.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "../configs/hotline.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("centre: &a [*a]\n"))
	f.Add([]byte("ivr: {nodes: {a: ~, b: {digits: {'1': ~}}}}\ntopics: {t: ~}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v; want exactly one of them", cfg, err)
		}
		if err == nil {
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("err = %v; want a non-empty config.Errors", err)
		}
		for _, e := range errs {
			if e.File != "f.yaml" || e.Line < 0 || e.Msg == "" || strings.Contains(e.Msg, "\n") {
				t.Fatalf("malformed error %#v", e)
			}
		}
	})
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	for i := range 150 {
		b.WriteString("k" + strings.Repeat("x", i) + ": 1\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != maxErrors+1 {
		t.Fatalf("got %d errors; want %d and a note", len(errs), maxErrors+1)
	}
	if got, want := errs[maxErrors].Error(), "many.yaml: too many problems (150); showing the first 100"; got != want {
		t.Errorf("last = %q, want %q", got, want)
	}
}
