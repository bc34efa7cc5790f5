package pbxtest

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The pcap holds 20 ms RTP packets 20 ms apart whose A-law payload decodes
// to the tone: it is found at its frequency and not at the others'.
func TestTonePCAPCarriesTheTone(t *testing.T) {
	var buf bytes.Buffer
	if err := writeTonePCAP(&buf, 1000, time.Second); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	le := binary.LittleEndian
	if le.Uint32(data) != 0xa1b2c3d4 || le.Uint32(data[20:]) != 1 {
		t.Fatalf("pcap header % x", data[:24])
	}
	var a Audio
	a.Rate = 8000
	packets := 0
	var lastAt uint32
	for off := 24; off < len(data); packets++ {
		at := le.Uint32(data[off:])*1e6 + le.Uint32(data[off+4:])
		n := int(le.Uint32(data[off+8:]))
		frame := data[off+16 : off+16+n]
		if packets > 0 && at-lastAt != 20000 {
			t.Fatalf("packet %d %d µs after the last", packets, at-lastAt)
		}
		lastAt = at
		rtp := frame[42:]
		if rtp[1] != 8 || binary.BigEndian.Uint16(rtp[2:]) != uint16(packets) || len(rtp) != 172 {
			t.Fatalf("packet %d: rtp header % x, %d bytes", packets, rtp[:12], len(rtp))
		}
		for _, b := range rtp[12:] {
			a.Samples = append(a.Samples, float64(unalaw(b)))
		}
		off += 16 + n
	}
	if packets != 50 {
		t.Fatalf("%d packets, want 50", packets)
	}
	if s := a.ToneShare(1000); s < 0.95 {
		t.Errorf("1000 Hz heard in %.2f of the windows", s)
	}
	for _, hz := range []float64{440, 1800} {
		if s := a.ToneShare(hz); s != 0 {
			t.Errorf("%v Hz heard in %.2f of the windows of a 1000 Hz tone", hz, s)
		}
	}
}

func TestALawRoundTrip(t *testing.T) {
	for _, v := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32767, -32768} {
		got := unalaw(alaw(v))
		if d := math.Abs(float64(got) - float64(v)); d > math.Abs(float64(v))/16+16 {
			t.Errorf("alaw(%d) decodes to %d", v, got)
		}
	}
}

// A stereo 48 kHz wav (what a softphone records) of two voices at once:
// both are heard, a third is not, and silence hears nothing.
func TestReadWAVAndToneShare(t *testing.T) {
	const rate = 48000
	var pcm bytes.Buffer
	for n := range rate { // 1 s
		tones := 0.0
		if n < rate/2 {
			tones = 6000*math.Sin(2*math.Pi*440*float64(n)/rate) + 6000*math.Sin(2*math.Pi*1000*float64(n)/rate)
		}
		_ = binary.Write(&pcm, binary.LittleEndian, [2]int16{int16(tones), 0})
	}
	var wav bytes.Buffer
	le := binary.LittleEndian
	wav.WriteString("RIFF")
	_ = binary.Write(&wav, le, uint32(36+pcm.Len()))
	wav.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(2), uint32(rate), uint32(rate * 4), uint16(4), uint16(16)} {
		_ = binary.Write(&wav, le, v)
	}
	wav.WriteString("data")
	_ = binary.Write(&wav, le, uint32(0)) // sizes not filled in yet: read to the end
	wav.Write(pcm.Bytes())
	path := filepath.Join(t.TempDir(), "heard.wav")
	if err := os.WriteFile(path, wav.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rate != rate || len(a.Samples) != rate {
		t.Fatalf("read %d Hz, %d samples", a.Rate, len(a.Samples))
	}
	for hz, want := range map[float64]float64{440: 0.5, 1000: 0.5, 1800: 0} {
		if got := a.ToneShare(hz); math.Abs(got-want) > 0.05 {
			t.Errorf("%v Hz heard in %.2f of the windows, want %.2f", hz, got, want)
		}
	}
	if _, err := ReadWAV(filepath.Join(t.TempDir(), "none.wav")); err == nil {
		t.Error("a missing file read without error")
	}
}
