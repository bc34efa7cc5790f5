package asteriskconf

import (
	"os"
	"regexp"
	"testing"

	"github.com/hotline-acd/hotline/config"
)

// Every hotline prompt the dialplan plays itself (the fallback while
// hotline is down) exists in the example config, so `make prompts` renders
// it: a missing one would leave an outage caller in silence.
func TestDialplanPromptsAreInTheConfig(t *testing.T) {
	dialplan, err := os.ReadFile("../../deploy/asterisk/extensions.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("../../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	played := regexp.MustCompile(`Playback\(hotline/\$\{[A-Z_]+\}/([a-z0-9_]+)\)`).FindAllSubmatch(dialplan, -1)
	if len(played) == 0 {
		t.Fatal("the dialplan plays no hotline prompt: the pattern is out of date")
	}
	for _, m := range played {
		if _, ok := cfg.Prompts[string(m[1])]; !ok {
			t.Errorf("extensions.conf plays hotline/…/%s, which configs/hotline.yaml does not define", m[1])
		}
	}
}
