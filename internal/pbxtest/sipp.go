package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SIPpBinary is the SIPp of the bundle (built with PCAP play for RTP and
// RFC 4733 DTMF).
const SIPpBinary = "/opt/sipp/sipp"

// Step is one thing a scripted citizen does once the call is answered.
type Step struct {
	Wait  time.Duration // stay on the line this long (a BYE from Asterisk ends the call cleanly)
	Digit string        // send one RFC 4733 digit: 0-9, *, #
	Audio bool          // start 7 s of G.711 A-law speech towards Asterisk
	// Tone: start a sine of this frequency (Hz) towards Asterisk, lasting
	// ToneFor (default 30 s): a voice a test can recognise in what others
	// hear (Audio.ToneShare).
	Tone    float64
	ToneFor time.Duration
}

// Citizen describes one SIPp caller through the carrier trunk.
type Citizen struct {
	Number string // caller id (From user); the carrier is trusted for it
	Dialed string // Request-URI user; default 122
	Steps  []Step
	// HangUp: after the last step the citizen sends BYE. Otherwise the
	// citizen waits (up to MaxWait) for Asterisk to hang up.
	HangUp  bool
	MaxWait time.Duration // default 60 s
}

// byeAnswered is the label a script jumps to when the other side hangs
// up, and the 200 OK that answers its BYE.
const byeAnswered = `  <label id="bye"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
  ]]></send>
`

// inDialog is a citizen's request within the call SIPp placed (ACK, BYE).
func inDialog(number, method string, cseq int) string {
	return fmt.Sprintf(`<![CDATA[
      %[2]s sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Citizen" <sip:%[1]s@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %[3]d %[2]s
      Contact: sip:%[1]s@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
  ]]>`, number, method, cseq)
}

// sdpAudio is the SDP both SIPp ends offer or answer: G.711 A-law, as
// carriers outside North America send, and RFC 4733 digits.
func sdpAudio(origin string) string {
	return `      v=0
      o=` + origin + ` 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
`
}

// SIPpRun is one SIPp process (a citizen, or the carrier's far end).
type SIPpRun struct {
	Name string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Call places a citizen's call through the carrier trunk: SIPp sends from
// CarrierIP, which pjsip.conf's identify recognises as the carrier, to the
// short number. SIPp treats any message its script does not expect — a
// connected-line re-INVITE or UPDATE, say — as a failure of the call.
func (a *Asterisk) Call(tb testing.TB, c Citizen) *SIPpRun {
	tb.Helper()
	if c.Dialed == "" {
		c.Dialed = "122"
	}
	if c.MaxWait == 0 {
		c.MaxWait = 60 * time.Second
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline citizen">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Citizen" <sip:` + c.Number + `@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:` + c.Number + `@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

` + sdpAudio("citizen") + `  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>` + inDialog(c.Number, "ACK", 1) + `</send>
`)
	for i, s := range c.Steps {
		switch {
		case s.Digit != "":
			name := map[string]string{"*": "star", "#": "pound"}[s.Digit]
			if name == "" {
				name = s.Digit
			}
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=\"/opt/sipp/pcap/dtmf_2833_%s.pcap\"/></action></nop>\n", name)
			// A digit's pcap lasts about 100 ms; let it finish before the next.
			fmt.Fprintf(&b, "  <recv request=\"BYE\" timeout=\"250\" ontimeout=\"s%d\" next=\"bye\"/>\n  <label id=\"s%d\"/>\n", i, i)
		case s.Audio:
			b.WriteString("  <nop><action><exec play_pcap_audio=\"/opt/sipp/pcap/g711a.pcap\"/></action></nop>\n")
		case s.Tone > 0:
			if s.ToneFor == 0 {
				s.ToneFor = 30 * time.Second
			}
			pcap := filepath.Join(tb.TempDir(), fmt.Sprintf("tone-%v.pcap", s.Tone))
			if err := WriteTonePCAP(pcap, s.Tone, s.ToneFor); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=%q/></action></nop>\n", pcap)
		case s.Wait > 0:
			// Waiting is a BYE with a timeout: Asterisk may hang up at any time.
			fmt.Fprintf(&b, "  <recv request=\"BYE\" timeout=\"%d\" ontimeout=\"s%d\" next=\"bye\"/>\n  <label id=\"s%d\"/>\n", s.Wait.Milliseconds(), i, i)
		}
	}
	if c.HangUp {
		b.WriteString(`  <send retrans="500">` + inDialog(c.Number, "BYE", 2) + `</send>
  <recv response="200" crlf="true" next="end"/>
`)
	} else {
		fmt.Fprintf(&b, "  <recv request=\"BYE\" timeout=\"%d\" next=\"bye\"/>\n", c.MaxWait.Milliseconds())
	}
	b.WriteString(byeAnswered + `  <label id="end"/>
</scenario>
`)
	return a.runSIPp(tb, "citizen-"+c.Number, b.String(), []string{"-s", c.Dialed, "-m", "1", a.SIPAddr()})
}

// Carrier is the far end of the carrier trunk: a SIPp UAS on CarrierIP
// that answers calls hotline places through it (callbacks, transfers).
type Carrier struct {
	Calls int           // how many calls to take before exiting
	Ring  time.Duration // ring this long before answering
	Talk  time.Duration // then hang up after this long, unless Asterisk does first
}

// Carrier starts the trunk's far end; its messages log shows what hotline
// sent the citizen (From, connected-line updates).
func (a *Asterisk) Carrier(tb testing.TB, c Carrier) *SIPpRun {
	tb.Helper()
	if c.Calls == 0 {
		c.Calls = 1
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier far end">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="&lt;([^&gt;]*)&gt;" search_in="hdr" header="Contact:" assign_to="c0,rcontact"/>
      <ereg regexp="^ *(.*)$" search_in="hdr" header="From:" assign_to="f0,rfrom"/>
      <ereg regexp="^ *(.*)$" search_in="hdr" header="To:" assign_to="t0,lto"/>
    </action>
  </recv>
  <Reference variables="c0,f0,t0"/>
  <send><![CDATA[
      SIP/2.0 100 Trying
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
`)
	fmt.Fprintf(&b, `  <send><![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
  ]]></send>
  <pause milliseconds="%d"/>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

`+sdpAudio("carrier")+`  ]]></send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec play_pcap_audio="/opt/sipp/pcap/g711a.pcap"/></action></nop>
  <recv request="BYE" timeout="%d" ontimeout="hangup" next="bye"/>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
      BYE [$rcontact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$lto];tag=[pid]SIPpTag01[call_number]
      To: [$rfrom]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200" next="end"/>
`+byeAnswered, c.Ring.Milliseconds(), max(c.Talk, time.Second).Milliseconds())
	b.WriteString("  <label id=\"end\"/>\n</scenario>\n")
	return a.runSIPpAt(tb, "carrier", b.String(), a.CarrierPort, []string{"-m", fmt.Sprint(c.Calls), "-rsa", a.SIPAddr()})
}

func (a *Asterisk) runSIPp(tb testing.TB, name, scenario string, args []string) *SIPpRun {
	tb.Helper()
	port, err := freeUDPTCPPort(CarrierIP)
	if err != nil {
		tb.Fatal(err)
	}
	return a.runSIPpAt(tb, name, scenario, port, args)
}

func (a *Asterisk) runSIPpAt(tb testing.TB, name, scenario string, port int, args []string) *SIPpRun {
	tb.Helper()
	if _, err := os.Stat(SIPpBinary); err != nil {
		tb.Fatalf("pbxtest: %s missing (%s)", SIPpBinary, SkipMessage)
	}
	dir := tb.TempDir()
	xml := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(xml, []byte(scenario), 0o644); err != nil {
		tb.Fatal(err)
	}
	media, err := freeMediaPort()
	if err != nil {
		tb.Fatal(err)
	}
	full := append([]string{"-sf", xml, "-i", CarrierIP, "-p", fmt.Sprint(port), "-mp", fmt.Sprint(media),
		"-nostdin", "-timeout", "180s", "-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	r := &SIPpRun{Name: name, dir: dir, done: make(chan struct{})}
	r.cmd = exec.Command(SIPpBinary, full...)
	r.cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		tb.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start sipp: %v", err)
	}
	go func() { r.err = r.cmd.Wait(); _ = out.Close(); close(r.done) }()
	tb.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if tb.Failed() {
			tb.Logf("sipp %s: %s\nmessages:\n%s\nerrors:\n%s", name, r.err, r.Messages(), r.read("errors.log"))
		}
	})
	return r
}

// freeMediaPort finds an even UDP port with the next three free (RTP and
// RTCP of audio; SIPp also reserves video's pair).
func freeMediaPort() (int, error) {
	for range 100 {
		pc, err := net.ListenPacket("udp", CarrierIP+":0")
		if err != nil {
			return 0, err
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port &^ 1
		_ = pc.Close()
		ok := true
		for i := range 4 {
			c, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", CarrierIP, p+i))
			if err != nil {
				ok = false
				break
			}
			_ = c.Close()
		}
		if ok && p > 1024 {
			return p, nil
		}
	}
	return 0, errors.New("no free media ports")
}

// Wait waits for SIPp to end and returns nil when every call succeeded
// (exit status 0: each message came as the script expected).
func (r *SIPpRun) Wait(ctx context.Context) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("sipp %s still running: %w", r.Name, ctx.Err())
	}
	if r.err != nil {
		return fmt.Errorf("sipp %s: %w\n%s\n%s", r.Name, r.err, r.read("errors.log"), r.read("stdout.log"))
	}
	return nil
}

// Messages is every SIP message SIPp sent and received.
func (r *SIPpRun) Messages() string { return r.read("messages.log") }

// Received lists the first lines of the messages SIPp received.
func (r *SIPpRun) Received() []string {
	var got []string
	blocks := strings.Split(r.Messages(), "----------------------------------------------- ")
	for _, blk := range blocks {
		lines := strings.Split(blk, "\n")
		if len(lines) < 2 || !strings.Contains(lines[0], "message received") {
			continue
		}
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(l); l != "" {
				got = append(got, l)
				break
			}
		}
	}
	return got
}

func (r *SIPpRun) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(r.dir, name))
	return string(b)
}
