package pbxtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Softphone is an operator's SIP phone: a baresip registered as one of the
// deploy's PJSIP accounts (1001...), sending a 440 Hz tone as its voice,
// driven over baresip's ctrl_tcp (netstring-framed JSON). With
// PhoneOptions.Record it keeps what it hears, for Heard.
type Softphone struct {
	Ext string

	tb   testing.TB
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	ctrl net.Conn

	mu     sync.Mutex
	events []PhoneEvent
	notify chan struct{}
	seq    int
}

// PhoneEvent is one baresip event (CALL_INCOMING, CALL_ESTABLISHED,
// CALL_CLOSED, REGISTER_OK ...).
type PhoneEvent struct {
	Type  string `json:"type"`
	Class string `json:"class"`
	Peer  string `json:"peeruri"`
	Param string `json:"param"`
	ID    string `json:"id"`
	At    time.Time
}

// PhoneOptions shape a softphone.
type PhoneOptions struct {
	// Manual: ring and wait for Answer instead of answering at once.
	Manual bool
	// Tone is the frequency (Hz) of the sine the phone sends as its
	// voice; default 440.
	Tone int
	// Record keeps the audio the phone receives, decoded, in a wav per
	// call (baresip's sndfile module), for Heard.
	Record bool
}

// Softphone starts baresip registered as ext and waits until Asterisk
// sees the registration. It is stopped on cleanup.
func (a *Asterisk) Softphone(tb testing.TB, ext string, opt PhoneOptions) *Softphone {
	tb.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		tb.Fatalf("pbxtest: baresip not installed (Debian's baresip-core; .ci/install-pbx installs it): %v", err)
	}
	pw := a.Passwords[ext]
	if pw == "" {
		tb.Fatalf("pbxtest: no SIP account %s in pjsip.conf", ext)
	}
	sipPort, err := freePorts("127.0.0.1", 2) // SIP on UDP and TCP, TLS on the next port
	if err != nil {
		tb.Fatal(err)
	}
	ctrlPort, err := freeUDPTCPPort("127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	answer := "auto"
	if opt.Manual {
		answer = "manual"
	}
	tone := opt.Tone
	if tone == 0 {
		tone = 440
	}
	record := ""
	if opt.Record {
		record = "module sndfile.so\nsnd_path " + dir + "\n"
	}
	rtp := phoneRTPLow + (sipPort%((phoneRTPHigh-phoneRTPLow)/100))*100 // a range of its own
	account := fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_user=%s;auth_pass=%s;answermode=%s;regint=300;audio_codecs=pcma,pcmu\n",
		ext, a.SIPAddr(), ext, pw, answer)
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_source ausine,%d
ausrc_srate 48000
ausrc_channels 2
auplay_srate 48000
audio_player aubridge,null
audio_alert aubridge,null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aubridge.so
module account.so
module menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
%s`, sipPort, tone, rtp, rtp+98, ctrlPort, record)
	for name, text := range map[string]string{"accounts": account, "config": config, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	p := &Softphone{Ext: ext, tb: tb, dir: dir, done: make(chan struct{}), notify: make(chan struct{})}
	p.cmd = exec.Command("baresip", "-f", dir)
	logf, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start baresip: %v", err)
	}
	go func() { _ = p.cmd.Wait(); _ = logf.Close(); close(p.done) }()
	tb.Cleanup(p.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort))
		if err == nil {
			p.ctrl = c
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("baresip %s: ctrl_tcp never listened: %v\n%s", ext, err, p.Log())
		}
		select {
		case <-p.done:
			tb.Fatalf("baresip %s exited:\n%s", ext, p.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	go p.read()
	if err := a.WaitContact(ext, 10*time.Second); err != nil {
		tb.Fatalf("baresip %s: %v\n%s", ext, err, p.Log())
	}
	return p
}

// WaitContact waits until endpoint ext has a registered, reachable contact.
func (a *Asterisk) WaitContact(ext string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		out, _ := a.CLI("pjsip show contacts")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "Contact:") && strings.Contains(line, " "+ext+"/sip:") &&
				(strings.Contains(line, "Avail") || strings.Contains(line, "NonQual")) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("endpoint %s has no reachable contact after %s:\n%s", ext, within, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// read parses ctrl_tcp's netstrings into events.
func (p *Softphone) read() {
	r := bufio.NewReader(p.ctrl)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		buf := make([]byte, n+1) // payload and the trailing ','
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var ev PhoneEvent
		if json.Unmarshal(buf[:n], &ev) != nil {
			continue
		}
		ev.At = time.Now()
		p.mu.Lock()
		p.events = append(p.events, ev)
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
}

// Command sends one ctrl_tcp command ("dial", "hangup", "accept" ...).
func (p *Softphone) Command(command, params string) error {
	p.mu.Lock()
	p.seq++
	tok := fmt.Sprintf("t%d", p.seq)
	p.mu.Unlock()
	b, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": tok})
	_, err := fmt.Fprintf(p.ctrl, "%d:%s,", len(b), b)
	return err
}

// Dial calls an extension of the operator's context (*11, 122 ...).
func (p *Softphone) Dial(tb testing.TB, exten string) {
	tb.Helper()
	if err := p.Command("dial", "sip:"+exten+"@"+strings.Split(p.accountHost(), ";")[0]); err != nil {
		tb.Fatalf("%s dial %s: %v", p.Ext, exten, err)
	}
}

// Transfer blind-transfers the phone's current call to an extension (a
// SIP REFER from the phone).
func (p *Softphone) Transfer(tb testing.TB, exten string) {
	tb.Helper()
	if err := p.Command("transfer", "sip:"+exten+"@"+strings.Split(p.accountHost(), ";")[0]); err != nil {
		tb.Fatalf("%s transfer to %s: %v", p.Ext, exten, err)
	}
}

func (p *Softphone) accountHost() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "accounts"))
	s := string(b)
	at := strings.Index(s, "@")
	end := strings.Index(s, ";")
	if at < 0 || end < at {
		return ""
	}
	return s[at+1 : end]
}

// Hangup ends the phone's current call.
func (p *Softphone) Hangup(tb testing.TB) {
	tb.Helper()
	if err := p.Command("hangup", ""); err != nil {
		tb.Fatalf("%s hangup: %v", p.Ext, err)
	}
}

// WaitEvent waits for the n-th (1-based) event of type typ and returns it.
func (p *Softphone) WaitEvent(ctx context.Context, typ string, n int) (PhoneEvent, error) {
	for {
		p.mu.Lock()
		seen := 0
		for _, ev := range p.events {
			if ev.Type == typ {
				seen++
				if seen == n {
					p.mu.Unlock()
					return ev, nil
				}
			}
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.done:
			return PhoneEvent{}, errors.New("baresip exited")
		case <-ctx.Done():
			return PhoneEvent{}, fmt.Errorf("%s: no %s #%d: %w (events: %s)", p.Ext, typ, n, ctx.Err(), p.EventTypes())
		}
	}
}

// Count is how many events of type typ have arrived.
func (p *Softphone) Count(typ string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range p.events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// EventTypes lists the events so far, for failure messages.
func (p *Softphone) EventTypes() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []string
	for _, ev := range p.events {
		s = append(s, ev.Type)
	}
	return strings.Join(s, ",")
}

// Log is baresip's output.
func (p *Softphone) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "baresip.log"))
	return string(b)
}

func (p *Softphone) stop() {
	if p.ctrl != nil {
		_ = p.Command("quit", "")
		_ = p.ctrl.Close()
	}
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if p.tb.Failed() {
		p.tb.Logf("baresip %s log:\n%s", p.Ext, p.Log())
	}
}

// Heard is what the phone received in its latest call (PhoneOptions.Record),
// decoded: baresip's sndfile writes dump-<peer>-dec.wav per call.
func (p *Softphone) Heard() (Audio, error) {
	files, err := filepath.Glob(filepath.Join(p.dir, "dump-*-dec.wav"))
	if err != nil || len(files) == 0 {
		return Audio{}, fmt.Errorf("pbxtest: softphone %s recorded nothing (PhoneOptions.Record set?): %v", p.Ext, err)
	}
	newest, at := "", time.Time{}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(at) {
			newest, at = f, st.ModTime()
		}
	}
	return ReadWAV(newest)
}
