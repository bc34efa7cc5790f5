package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/auth"
)

func TestHashSecret(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := hashSecret(strings.NewReader("a long enough secret\n"), &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if h := strings.TrimSpace(out.String()); !auth.Verify(h, "a long enough secret") {
		t.Errorf("printed %q, which does not verify", h)
	}
	out.Reset()
	if err := hashSecret(strings.NewReader("CHANGE_ME_secret\n"), &out, &errOut); err == nil || out.Len() != 0 {
		t.Errorf("placeholder hashed: %q", out.String())
	}
}
