package pbxtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// A tone is how a test tells voices apart: each party sends a sine of its
// own frequency, and what a party hears is checked for the others'
// frequencies (Goertzel), so "the supervisor hears the citizen" and "the
// citizen does not hear the whisper" are facts about audio, not about
// bridges.

// WriteTonePCAP writes a pcap of G.711 A-law RTP (payload type 8, 20 ms
// packets, 8 kHz) carrying a sine of hz for dur, for SIPp's
// play_pcap_audio, which sends each UDP payload at its capture time.
func WriteTonePCAP(path string, hz float64, dur time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeTonePCAP(f, hz, dur); err != nil {
		_ = f.Close()
		return fmt.Errorf("pbxtest: tone pcap %s: %w", path, err)
	}
	return f.Close()
}

func writeTonePCAP(w io.Writer, hz float64, dur time.Duration) error {
	le := binary.LittleEndian
	head := make([]byte, 24)
	le.PutUint32(head[0:], 0xa1b2c3d4)
	le.PutUint16(head[4:], 2)
	le.PutUint16(head[6:], 4)
	le.PutUint32(head[16:], 65535)
	le.PutUint32(head[20:], 1) // Ethernet
	if _, err := w.Write(head); err != nil {
		return err
	}
	const samples = 160 // 20 ms at 8 kHz
	packets := int(dur / (20 * time.Millisecond))
	for p := range packets {
		rtp := make([]byte, 12+samples)
		rtp[0], rtp[1] = 0x80, 8
		binary.BigEndian.PutUint16(rtp[2:], uint16(p))
		binary.BigEndian.PutUint32(rtp[4:], uint32(p*samples))
		binary.BigEndian.PutUint32(rtp[8:], 0x70e5)
		for i := range samples {
			n := p*samples + i
			rtp[12+i] = alaw(int16(8000 * math.Sin(2*math.Pi*hz*float64(n)/8000)))
		}
		frame := udpFrame(rtp)
		rec := make([]byte, 16)
		at := time.Duration(p) * 20 * time.Millisecond
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32(at%time.Second/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		if _, err := w.Write(append(rec, frame...)); err != nil {
			return err
		}
	}
	return nil
}

// udpFrame wraps payload in Ethernet, IPv4 and UDP headers (SIPp takes the
// UDP payload and sends it to the negotiated media address itself).
func udpFrame(payload []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, 14+20+8, 14+20+8+len(payload))
	be.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	be.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(be.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	be.PutUint16(ip[10:], ^uint16(sum))
	udp := b[34:42]
	be.PutUint16(udp[0:], 6000)
	be.PutUint16(udp[2:], 6000)
	be.PutUint16(udp[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// alaw is ITU-T G.711 A-law encoding of a 16-bit linear sample.
func alaw(s int16) byte {
	v := int(s) >> 3 // 13 bits
	mask := byte(0xd5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := 0
	for end := 0x1f; seg < 8 && v > end; end = end<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7f ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0f
	} else {
		a |= byte(v>>seg) & 0x0f
	}
	return a ^ mask
}

// unalaw decodes one A-law byte (the inverse of alaw, for tests).
func unalaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 == 0 {
		return int16(-t)
	}
	return int16(t)
}

// Audio is mono samples at Rate, as read from a wav file.
type Audio struct {
	Rate    int
	Samples []float64
}

// Seconds is how long the audio lasts.
func (a Audio) Seconds() float64 {
	if a.Rate == 0 {
		return 0
	}
	return float64(len(a.Samples)) / float64(a.Rate)
}

// ReadWAV reads a 16-bit PCM wav (first channel). A file still being
// written (its sizes not yet filled in) is read to its end.
func ReadWAV(path string) (Audio, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Audio{}, err
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return Audio{}, fmt.Errorf("pbxtest: %s is not a wav file", path)
	}
	le := binary.LittleEndian
	var channels, bits, rate int
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int(le.Uint32(data[off+4:]))
		body := data[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return Audio{}, fmt.Errorf("pbxtest: %s: short fmt chunk", path)
			}
			if tag := le.Uint16(body[0:]); tag != 1 && tag != 0xfffe {
				return Audio{}, fmt.Errorf("pbxtest: %s: format %d is not PCM", path, tag)
			}
			channels, rate, bits = int(le.Uint16(body[2:])), int(le.Uint32(body[4:])), int(le.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return Audio{}, fmt.Errorf("pbxtest: %s: %d-bit, %d channels: want 16-bit PCM", path, bits, channels)
			}
			if size <= 0 || size > len(body) {
				size = len(body)
			}
			step := 2 * channels
			a := Audio{Rate: rate, Samples: make([]float64, 0, size/step)}
			for i := 0; i+2 <= size; i += step {
				a.Samples = append(a.Samples, float64(int16(le.Uint16(body[i:]))))
			}
			return a, nil
		}
		off += 8 + size + size&1
	}
	return Audio{}, errors.New("pbxtest: " + path + ": no data chunk")
}

// ToneShare is the share of the audio's 100 ms windows in which hz carries
// at least a tenth of the window's power: about 1 where that voice is
// heard throughout, 0 where it is never heard. Silent windows count as
// not hearing it.
func (a Audio) ToneShare(hz float64) float64 {
	n := a.Rate / 10
	if n == 0 || len(a.Samples) < n {
		return 0
	}
	heard, windows := 0, 0
	for off := 0; off+n <= len(a.Samples); off += n {
		windows++
		if tonePower(a.Samples[off:off+n], float64(a.Rate), hz) >= 0.1 {
			heard++
		}
	}
	return float64(heard) / float64(windows)
}

// tonePower is the share of x's power at hz (Goertzel): 1 for a pure sine
// at hz, near 0 for a sine elsewhere or silence.
func tonePower(x []float64, rate, hz float64) float64 {
	var energy, s1, s2 float64
	c := 2 * math.Cos(2*math.Pi*hz/rate)
	for _, v := range x {
		energy += v * v
		s1, s2 = v+c*s1-s2, s1
	}
	if energy < float64(len(x))*100 { // quieter than about -50 dBFS: silence
		return 0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return p / (float64(len(x)) / 2 * energy)
}
