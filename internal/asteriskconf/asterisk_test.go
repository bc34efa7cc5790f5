package asteriskconf

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRealAsterisk starts the asterisk binary (if one is on PATH) on a
// temporary copy of deploy/asterisk, with its own run/log/db directories and
// free ports, and checks the loaded state over `asterisk -rx`. It skips when
// no asterisk binary is installed (Debian 12 ships none; see
// deploy/asterisk/README.md for a source build).
func TestRealAsterisk(t *testing.T) {
	bin, err := exec.LookPath("asterisk")
	if err != nil {
		t.Skip("asterisk is not on PATH: real-Asterisk config checks skipped (the static checks in this package still ran)")
	}
	if testing.Short() {
		t.Skip("-short: not starting Asterisk")
	}
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "log", "spool", "lib", "db", "keys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := copyDeploy(t)
	httpPort, sipPort := freePort(t, "tcp"), freePort(t, "udp")
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		switch e.Name() {
		case "http.conf":
			s = strings.Replace(s, "bindport=8088", fmt.Sprintf("bindport=%d", httpPort), 1)
		case "pjsip.conf":
			s = strings.ReplaceAll(s, "bind=0.0.0.0:5060", fmt.Sprintf("bind=127.0.0.1:%d", sipPort))
		case "ari_secret.conf.example":
			if err := os.WriteFile(filepath.Join(etc, "ari_secret.conf"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(etc, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(etc, "asterisk.conf")
	astConf := fmt.Sprintf(`[directories]
astetcdir => %[1]s/etc
astrundir => %[1]s/run
astlogdir => %[1]s/log
astspooldir => %[1]s/spool
astvarlibdir => %[1]s/lib
astdbdir => %[1]s/db
astkeydir => %[1]s/keys
[options]
verbose = 3
`, root)
	if err := os.WriteFile(conf, []byte(astConf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	server := exec.CommandContext(ctx, bin, "-C", conf, "-f", "-n", "-q")
	var out strings.Builder
	server.Stdout, server.Stderr = &out, &out
	if err := server.Start(); err != nil {
		t.Fatalf("start asterisk: %v", err)
	}
	rx := func(cmd string) string {
		c := exec.CommandContext(ctx, bin, "-C", conf, "-rx", cmd)
		b, err := c.CombinedOutput()
		if err != nil {
			t.Errorf("asterisk -rx %q: %v\n%s", cmd, err, b)
		}
		return string(b)
	}
	defer func() {
		_ = exec.Command(bin, "-C", conf, "-rx", "core stop now").Run()
		done := make(chan struct{})
		go func() { _ = server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = server.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("asterisk output:\n%s", out.String())
			if b, err := os.ReadFile(filepath.Join(root, "log", "messages.log")); err == nil {
				t.Logf("messages.log:\n%s", b)
			}
		}
	}()
	ctl := filepath.Join(root, "run", "asterisk.ctl")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(ctl); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("asterisk did not create %s", ctl)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rx("core waitfullybooted")

	expect := func(cmd string, res ...string) {
		got := rx(cmd)
		for _, r := range res {
			if !regexp.MustCompile(r).MatchString(got) {
				t.Errorf("asterisk -rx %q: no match for %s in:\n%s", cmd, r, got)
			}
		}
	}
	expect("dialplan show 122@from-citizens", `Stasis\(hotline,inbound\)`, `STASISSTATUS`)
	expect("dialplan show 8000000122@from-citizens", `Goto\(122,1\)`)
	expect("dialplan show from-operators", `\*11`, `Stasis\(hotline,agent-login\)`, `Stasis\(hotline,agent-logout\)`,
		`Stasis\(hotline,agent-pause\)`, `Stasis\(hotline,agent-ready\)`)
	expect("dialplan show hotline-fallback", `Queue\(hotline-fallback`, `DB\(hotline_missed/`)
	expect("pjsip show endpoints", `1001`, `1010`, `carrier`)
	expect("pjsip show identifies", `carrier`)
	expect("pjsip show transports", `transport-udp`, `transport-tcp`)
	expect("queue show hotline-fallback", `PJSIP/1001`, `PJSIP/1010`)
	expect("http show status", `127\.0\.0\.1`, `/ari/`)
	expect("ari show users", `hotline`)
	expect("moh show classes", `default`)
	for _, m := range []string{"res_ari.so", "app_stasis.so", "chan_pjsip.so", "app_queue.so", "res_http_websocket.so", "func_db.so"} {
		expect("module show like "+m, regexp.QuoteMeta(m))
	}
	if b, err := os.ReadFile(filepath.Join(root, "log", "messages.log")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "ERROR") {
				t.Errorf("messages.log: %s", l)
			}
		}
	}
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
