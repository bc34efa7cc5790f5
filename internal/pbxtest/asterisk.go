// Package pbxtest starts a real, isolated Asterisk for tests: the project's
// own deploy/asterisk files with only ports, passwords and the carrier's
// address substituted, its state in a temporary directory, its code from
// the prebuilt bundle (../shared/pbx, unpacked to /opt/asterisk) or from
// HOTLINE_ASTERISK_PREFIX. Softphones (baresip) and SIP callers (SIPp) that
// talk to it are in softphone.go and sipp.go.
//
// Tests that need it call Start, which skips with instructions when no
// Asterisk is installed; CI installs the bundle, so there it always runs.
package pbxtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvPrefix names the variable that points at an Asterisk installation
// other than /opt/asterisk (its sbin/asterisk and lib/asterisk/modules).
const EnvPrefix = "HOTLINE_ASTERISK_PREFIX"

// EnvRequire, set to 1, turns a missing Asterisk from a skip into a
// failure: CI sets it when the bundle is beside the repository, so a real-PBX
// suite can never pass by not running.
const EnvRequire = "HOTLINE_REQUIRE_PBX"

// CarrierIP is the carrier's signalling address: a loopback address of its
// own, so that the carrier (identified by IP in pjsip.conf) is told apart
// from operators' softphones on 127.0.0.1.
const CarrierIP = "127.0.0.2"

// SkipMessage tells a developer how to get the real-PBX tests to run.
const SkipMessage = "real Asterisk not installed: unpack ../shared/pbx/asterisk-22.10.1-debian12-amd64.tar.xz " +
	"and sipp-3.7.7-pcap-debian12-amd64.tar.xz as its README says (`.ci/install-pbx` does it), " +
	"or set " + EnvPrefix + " to an Asterisk 22 prefix"

// Installed returns the Asterisk prefix to use, if one is installed.
func Installed() (string, bool) {
	prefix := os.Getenv(EnvPrefix)
	if prefix == "" {
		prefix = "/opt/asterisk"
	}
	if _, err := os.Stat(filepath.Join(prefix, "sbin", "asterisk")); err != nil {
		return prefix, false
	}
	return prefix, true
}

// Options shape one Asterisk.
type Options struct {
	// DeployDir holds the project's Asterisk configuration (deploy/asterisk).
	DeployDir string
	// Include are files of DeployDir #included at the end of
	// extensions.conf, as deploy/asterisk/README.md tells a user to do
	// (extensions_contract.conf for the contract suite).
	Include []string
	// Sounds is a directory holding hotline/<lang>/<name>.wav (rendered
	// prompts); empty: none, hotline's playbacks fail and move on.
	Sounds string
	// Verbose is the console verbosity written to full.log (0: 3).
	Verbose int
	// Observe are modules loaded beside the deploy's own for a test to
	// watch calls with (app_mixmonitor: what a channel hears, from the
	// CLI); never to change how calls are handled.
	Observe []string
}

// Asterisk is one running instance.
type Asterisk struct {
	Dir         string // state: etc, log, lib, run, spool
	Prefix      string
	SIPPort     int    // UDP and TCP on 127.0.0.1
	HTTPAddr    string // 127.0.0.1:port
	ARIUser     string
	ARIPassword string
	// CarrierPort is where the carrier trunk's far end (a SIPp UAS) must
	// listen, on CarrierIP.
	CarrierPort int
	// Passwords of the operators' SIP accounts, by endpoint (1001...).
	Passwords map[string]string
	RTPStart  int

	tb   testing.TB
	opt  Options
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// ARIURL is the REST root hotline connects to.
func (a *Asterisk) ARIURL() string { return "http://" + a.HTTPAddr + "/ari" }

// SIPAddr is where softphones and the carrier send SIP.
func (a *Asterisk) SIPAddr() string { return fmt.Sprintf("127.0.0.1:%d", a.SIPPort) }

// Start boots an Asterisk for tb and stops it on cleanup. It skips tb when
// none is installed.
func Start(tb testing.TB, opt Options) *Asterisk {
	tb.Helper()
	prefix, ok := Installed()
	if !ok {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%s=1 but %s", EnvRequire, SkipMessage)
		}
		tb.Skip(SkipMessage)
	}
	if runtime.GOOS != "linux" {
		tb.Skip("pbxtest: the bundle is built for Linux")
	}
	a, err := start(tb, prefix, opt)
	if err != nil {
		tb.Fatalf("pbxtest: %v", err)
	}
	tb.Cleanup(a.Stop)
	return a
}

// Boot starts an Asterisk outside a test (TestMain of a suite that shares
// one); the caller stops it with Stop. ok is false when none is installed.
func Boot(opt Options) (a *Asterisk, ok bool, err error) {
	prefix, ok := Installed()
	if !ok {
		if os.Getenv(EnvRequire) == "1" {
			return nil, true, fmt.Errorf("%s=1 but %s", EnvRequire, SkipMessage)
		}
		return nil, false, nil
	}
	a, err = start(nil, prefix, opt)
	return a, true, err
}

func start(tb testing.TB, prefix string, opt Options) (*Asterisk, error) {
	dir, err := os.MkdirTemp("", "hotline-asterisk-")
	if err != nil {
		return nil, err
	}
	a := &Asterisk{Dir: dir, Prefix: prefix, tb: tb, opt: opt, ARIUser: "hotline", ARIPassword: secret(), Passwords: map[string]string{}, done: make(chan struct{})}
	if a.SIPPort, err = freeUDPTCPPort("127.0.0.1"); err != nil {
		return nil, err
	}
	if a.CarrierPort, err = freeUDPTCPPort(CarrierIP); err != nil {
		return nil, fmt.Errorf("carrier port on %s (is the loopback range routed?): %w", CarrierIP, err)
	}
	httpPort, err := freeUDPTCPPort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	a.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	// RTP: a range of its own per instance, picked at random so that
	// parallel test binaries rarely share one (Asterisk skips a port in
	// use anyway).
	a.RTPStart = rtpLow + mrand.IntN((rtpHigh-rtpLow)/200-1)*200
	if err := a.writeConfig(opt); err != nil {
		return nil, err
	}
	if err := a.boot(opt); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

func (a *Asterisk) writeConfig(opt Options) error {
	for _, d := range []string{"etc", "run", "log", "spool", "spool/recording", "lib", "cache", "data/sounds"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(opt.DeployDir)
	if err != nil {
		return fmt.Errorf("deploy dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(opt.DeployDir, e.Name()))
		if err != nil {
			return err
		}
		text, err := a.substitute(e.Name(), string(b), opt)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(a.Dir, "etc", e.Name()), []byte(text), 0o600); err != nil {
			return err
		}
	}
	// What a user writes by hand (deploy/asterisk/README.md step 3) and the
	// directories a packaged asterisk.conf would hold.
	files := map[string]string{
		"ari_secret.conf": "password=" + a.ARIPassword + "\n",
		"asterisk.conf": fmt.Sprintf(`[directories]
astetcdir => %[1]s/etc
astrundir => %[1]s/run
astlogdir => %[1]s/log
astspooldir => %[1]s/spool
astvarlibdir => %[1]s/lib
astdbdir => %[1]s/lib
astkeydir => %[1]s/lib
astcachedir => %[1]s/cache
astdatadir => %[1]s/data
astmoddir => %[2]s/lib/asterisk/modules
astagidir => %[2]s/var/lib/asterisk/agi-bin
astsbindir => %[2]s/sbin
[options]
nocolor = yes
verbose = %[3]d
`, a.Dir, a.Prefix, max(opt.Verbose, 3)),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(a.Dir, "etc", name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	// astdatadir: the bundle's data with sounds of our own (core sounds,
	// hold music and hotline's prompts side by side).
	data := filepath.Join(a.Prefix, "var", "lib", "asterisk")
	for _, name := range []string{"documentation", "rest-api", "keys", "scripts", "third-party", "moh"} {
		if _, err := os.Stat(filepath.Join(data, name)); err == nil {
			if err := os.Symlink(filepath.Join(data, name), filepath.Join(a.Dir, "data", name)); err != nil {
				return err
			}
		}
	}
	if _, err := os.Stat(filepath.Join(a.Dir, "data", "moh")); err != nil {
		_ = os.Symlink("/usr/share/asterisk/moh", filepath.Join(a.Dir, "data", "moh"))
	}
	sounds, _ := os.ReadDir(filepath.Join(data, "sounds"))
	for _, s := range sounds {
		target, err := filepath.EvalSymlinks(filepath.Join(data, "sounds", s.Name()))
		if err == nil {
			_ = os.Symlink(target, filepath.Join(a.Dir, "data", "sounds", s.Name()))
		}
	}
	if opt.Sounds != "" {
		if err := os.Symlink(filepath.Join(opt.Sounds, "hotline"), filepath.Join(a.Dir, "data", "sounds", "hotline")); err != nil {
			return err
		}
	}
	return nil
}

var (
	reBind     = regexp.MustCompile(`(?m)^bind=0\.0\.0\.0:5060$`)
	rePassword = regexp.MustCompile(`CHANGE_ME_(\d+)`)
	reCarrier  = regexp.MustCompile(`203\.0\.113\.10(:5060)?`)
)

// substitute changes exactly what differs per test run: ports, secrets and
// the carrier's address. Anything else stays as the user would deploy it.
func (a *Asterisk) substitute(name, text string, opt Options) (string, error) {
	must := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s: %s not found (did the file change? update pbxtest)", name, what)
		}
		return nil
	}
	switch name {
	case "pjsip.conf":
		if err := must(reBind.MatchString(text), "bind=0.0.0.0:5060"); err != nil {
			return "", err
		}
		text = reBind.ReplaceAllString(text, fmt.Sprintf("bind=127.0.0.1:%d", a.SIPPort))
		text = rePassword.ReplaceAllStringFunc(text, func(m string) string {
			ext := rePassword.FindStringSubmatch(m)[1]
			if a.Passwords[ext] == "" {
				a.Passwords[ext] = secret()
			}
			return a.Passwords[ext]
		})
		if err := must(reCarrier.MatchString(text), "the carrier address 203.0.113.10"); err != nil {
			return "", err
		}
		text = reCarrier.ReplaceAllStringFunc(text, func(m string) string {
			if strings.HasSuffix(m, ":5060") {
				return fmt.Sprintf("%s:%d", CarrierIP, a.CarrierPort)
			}
			return CarrierIP
		})
	case "http.conf":
		if err := must(strings.Contains(text, "bindport=8088"), "bindport=8088"); err != nil {
			return "", err
		}
		text = strings.Replace(text, "bindport=8088", "bindport="+strings.Split(a.HTTPAddr, ":")[1], 1)
	case "rtp.conf":
		re := regexp.MustCompile(`(?m)^rtpstart=\d+\nrtpend=\d+$`)
		if err := must(re.MatchString(text), "rtpstart/rtpend"); err != nil {
			return "", err
		}
		text = re.ReplaceAllString(text, fmt.Sprintf("rtpstart=%d\nrtpend=%d", a.RTPStart, a.RTPStart+198))
	case "modules.conf":
		for _, m := range opt.Observe {
			text += "\nload = " + m + ".so ; a test's observer\n"
		}
	case "extensions.conf":
		for _, inc := range opt.Include {
			text += "\n#include " + inc + "\n"
		}
	}
	return text, nil
}

func (a *Asterisk) boot(opt Options) error {
	a.cmd = exec.Command(filepath.Join(a.Prefix, "sbin", "asterisk"), "-f", "-C", a.conf())
	a.cmd.Dir = a.Dir
	out, err := os.Create(filepath.Join(a.Dir, "log", "stdout.log"))
	if err != nil {
		return err
	}
	a.cmd.Stdout, a.cmd.Stderr = out, out
	if err := a.cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("start asterisk: %w", err)
	}
	go func() {
		err := a.cmd.Wait()
		_ = out.Close()
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
		close(a.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := a.CLI("core waitfullybooted"); err == nil {
			break
		}
		select {
		case <-a.done:
			return fmt.Errorf("asterisk exited during boot: %v\n%s", a.err, a.readLog("stdout.log"))
		case <-ctx.Done():
			return fmt.Errorf("asterisk did not boot in 30 s\n%s", a.readLog("stdout.log"))
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Everything at verbose level with millisecond stamps, for tests that
	// read timings (hand-over) from Asterisk's own log; the deployed
	// logger.conf stays as a user has it.
	if _, err := a.CLI("logger add channel full.log notice,warning,error,verbose,dtmf"); err != nil {
		return err
	}
	return nil
}

func (a *Asterisk) conf() string { return filepath.Join(a.Dir, "etc", "asterisk.conf") }

// CLI runs one Asterisk CLI command (asterisk -rx) on this instance.
func (a *Asterisk) CLI(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(a.Prefix, "sbin", "asterisk"), "-C", a.conf(), "-rx", command).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("asterisk -rx %q: %w: %s", command, err, out)
	}
	return string(out), nil
}

// MustCLI is CLI that fails tb on error.
func (a *Asterisk) MustCLI(tb testing.TB, command string) string {
	tb.Helper()
	out, err := a.CLI(command)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Log is Asterisk's messages.log (the deployed logger.conf's file).
func (a *Asterisk) Log() string { return a.readLog("messages.log") }

// FullLog is every verbose line with millisecond timestamps.
func (a *Asterisk) FullLog() string { return a.readLog("full.log") }

func (a *Asterisk) readLog(name string) string {
	b, _ := os.ReadFile(filepath.Join(a.Dir, "log", name))
	return string(b)
}

// Errors lists the ERROR lines of messages.log.
func (a *Asterisk) Errors() []string {
	var errs []string
	sc := bufio.NewScanner(strings.NewReader(a.Log()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "ERROR[") {
			errs = append(errs, sc.Text())
		}
	}
	return errs
}

// Restart is Asterisk crashing and coming back: SIGKILL (no channel is
// hung up, no event is sent) and a new process on the same configuration,
// ports and state directory (its AstDB, with the registered contacts).
func (a *Asterisk) Restart() error {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	a.done = make(chan struct{})
	return a.boot(a.opt)
}

// Stop ends Asterisk and removes its state unless the test failed (then
// the directory is kept and named, for the logs).
func (a *Asterisk) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.done:
	default:
		_, _ = a.CLI("core stop now")
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.done
		}
	}
	if a.tb != nil && a.tb.Failed() {
		a.tb.Logf("pbxtest: Asterisk state and logs kept in %s", a.Dir)
		return
	}
	_ = os.RemoveAll(a.Dir)
}

func secret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Ports are taken below Linux's ephemeral range (32768 and up), so that no
// outgoing connection of another process can take one between the check and
// the bind, and from regions of their own: signalling (SIP, HTTP, control)
// in [20000, 32000), Asterisk's RTP in [10000, 15000), softphones' RTP in
// [15000, 20000). A random start keeps parallel test binaries apart.
const (
	portsLow, portsHigh = 20000, 32000
	rtpLow, rtpHigh     = 10000, 15000
	phoneRTPLow         = 15000
	phoneRTPHigh        = 20000
)

// freeUDPTCPPort finds a port free for both UDP and TCP on ip (SIP binds
// both; HTTP only TCP, which costs nothing extra).
func freeUDPTCPPort(ip string) (int, error) { return freePorts(ip, 1) }

// freePorts finds n consecutive ports, each free for UDP and TCP on ip
// (baresip binds its SIP port for UDP and TCP and the next one for TLS).
func freePorts(ip string, n int) (int, error) {
	for range 200 {
		p := portsLow + mrand.IntN(portsHigh-portsLow-n)
		if portsFree(ip, p, n) {
			return p, nil
		}
	}
	return 0, errors.New("no free port")
}

func portsFree(ip string, p, n int) bool {
	for i := range n {
		addr := fmt.Sprintf("%s:%d", ip, p+i)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		_ = ln.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		_ = pc.Close()
	}
	return true
}
