package ivr

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// fuzzMenus are the menus a fuzz input picks from: a sane one and some the
// loader should have refused.
func fuzzMenus() []*config.IVR {
	loop := &config.IVR{Start: "a", Nodes: map[string]*config.Node{
		"a": {Prompts: []string{"pa"}, Digits: map[string]*config.Action{
			"1": {Type: config.ActionGoto, Next: "a"},
			"2": {Type: config.ActionInfo, Prompt: "i", Next: "b"},
			"3": {Type: config.ActionInfo, Next: "a"},
			"4": nil,
		}, Default: &config.Action{Type: config.ActionGoto, Next: "b"}, Retries: 1 << 20},
		"b": {Digits: map[string]*config.Action{
			"#":  {Type: config.ActionSetLanguage, Language: "kk", Next: "a"},
			"1*": {Type: config.ActionGoto, Next: "missing"},
			"11": {Type: "bogus"},
		}, Default: &config.Action{Type: config.ActionInfo, Next: "a"}, MaxDigits: 5, Retries: -1},
	}}
	broken := &config.IVR{Start: "x", Nodes: map[string]*config.Node{
		"x": {Digits: map[string]*config.Action{"1": {Type: config.ActionGoto, Next: "y"}}},
		"y": nil,
	}}
	return []*config.IVR{testMenu(), loop, broken, nil, {}}
}

var fuzzDigits = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "", "12", "x", "\x00", "١"}

// checker follows a machine's commands and checks they make sense: one
// playback and one timer at a time, stops and cancels only of what runs.
type checker struct {
	t       *testing.T
	playing int
	timer   int
	lastSeq int
	lastID  int
}

// ended and fired note inputs that end a playback or a timer without a
// command.
func (c *checker) ended(seq int) int {
	if seq != 0 && seq == c.playing {
		c.playing = 0
	}
	return seq
}

func (c *checker) fired(id int) int {
	if id != 0 && id == c.timer {
		c.timer = 0
	}
	return id
}

func (c *checker) see(m *Machine, cmds []Command) {
	c.t.Helper()
	for _, cmd := range cmds {
		switch cmd := cmd.(type) {
		case Play:
			if c.playing != 0 || cmd.Seq <= c.lastSeq || len(cmd.Prompts) == 0 {
				c.t.Fatalf("Play %+v while playing %d (last %d)", cmd, c.playing, c.lastSeq)
			}
			c.playing, c.lastSeq = cmd.Seq, cmd.Seq
		case StopPlayback:
			if cmd.Seq != c.playing {
				c.t.Fatalf("Stop %d while playing %d", cmd.Seq, c.playing)
			}
			c.playing = 0
		case StartTimer:
			if c.timer != 0 || cmd.ID <= c.lastID || cmd.After <= 0 {
				c.t.Fatalf("StartTimer %+v while timer %d", cmd, c.timer)
			}
			c.timer, c.lastID = cmd.ID, cmd.ID
		case CancelTimer:
			if cmd.ID != c.timer {
				c.t.Fatalf("Cancel %d while timer %d", cmd.ID, c.timer)
			}
			c.timer = 0
		}
	}
	if m.playing != c.playing || m.timer != c.timer {
		c.t.Fatalf("machine playing %d timer %d, commands say %d %d", m.playing, m.timer, c.playing, c.timer)
	}
	if m.Done() && (c.playing != 0 || c.timer != 0) {
		c.t.Fatalf("done with playback %d timer %d left running", c.playing, c.timer)
	}
	// A started machine always waits on something, or it would stall.
	if m.phase != phaseIdle && !m.Done() && c.playing == 0 && c.timer == 0 {
		c.t.Fatal("machine stalled: nothing playing, no timer, no outcome")
	}
}

// FuzzMachine feeds random event sequences. Each byte pair is an event;
// afterwards the caller goes silent and every prompt and timer runs out:
// an outcome must come within a bounded number of steps.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 3, 1, 1})
	f.Add([]byte{1, 0, 0, 1, 0, 1, 0, 1, 0, 2, 3, 0})
	f.Add([]byte{2, 0, 0, 1, 1, 1, 2, 7})
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 4, 0, 11, 2, 1, 2, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		menus := fuzzMenus()
		m := New(menus[int(data[0])%len(menus)], "ru")
		c := &checker{t: t}
		data = data[1:]
		for i := 0; i+1 < len(data); i += 2 {
			op, arg := data[i]%5, int(data[i+1])
			var cmds []Command
			switch op {
			case 0:
				cmds = m.Digit(fuzzDigits[arg%len(fuzzDigits)])
			case 1: // current playback ends, or a stale/unknown one
				if arg%2 == 0 {
					cmds = m.PromptDone(c.ended(c.playing))
				} else {
					cmds = m.PromptDone(c.ended(arg - 128))
				}
			case 2:
				if arg%2 == 0 {
					cmds = m.Timeout(c.fired(c.timer))
				} else {
					cmds = m.Timeout(c.fired(arg - 128))
				}
			case 3, 4:
				cmds = m.Start()
			}
			c.see(m, cmds)
		}
		c.see(m, m.Start())
		// Silent caller: bounded by MaxTransitions entries, each with at
		// most MaxRetries+1 attempts of (prompt, timeout) plus an info
		// prompt.
		limit := (MaxTransitions + 1) * (2*(MaxRetries+1) + 2)
		for steps := 0; !m.Done(); steps++ {
			if steps > limit {
				t.Fatalf("no outcome after %d steps", steps)
			}
			switch {
			case c.playing != 0:
				c.see(m, m.PromptDone(c.ended(c.playing)))
			case c.timer != 0:
				c.see(m, m.Timeout(c.fired(c.timer)))
			}
		}
		o := m.Outcome()
		switch o.Kind {
		case OutcomeQueue:
			if o.Topic == "" {
				t.Fatal("queue without topic")
			}
		case OutcomeTransfer:
			if o.Number == "" {
				t.Fatal("transfer without number")
			}
		case OutcomeHangup:
		default:
			t.Fatalf("outcome %+v", o)
		}
	})
}

// FuzzDriver runs the same kind of sequences through the Driver with a
// recording player and a fake clock: no panic, and a silent caller reaches
// an outcome.
func FuzzDriver(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 2, 2})
	f.Add([]byte{1, 3, 0, 3, 1, 2, 5, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		ctx := context.Background()
		menus := fuzzMenus()
		p := &recPlayer{}
		clk := &fakeClock{}
		d := NewDriver(New(menus[int(data[0])%len(menus)], "ru"), p, Options{CallID: "f", NewTimer: clk.NewTimer})
		d.Start(ctx)
		lastPlay := func() string {
			for i := len(p.calls) - 1; i >= 0; i-- {
				if s := p.calls[i]; len(s) > 5 && s[:5] == "play " {
					return s[5:]
				}
			}
			return ""
		}
		data = data[1:]
		for i := 0; i+1 < len(data); i += 2 {
			op, arg := data[i]%4, int(data[i+1])
			switch op {
			case 0:
				d.OnDigit(ctx, fuzzDigits[arg%len(fuzzDigits)])
			case 1:
				id := lastPlay()
				if j := indexByte(id, ' '); j >= 0 {
					id = id[:j]
				}
				if arg%2 == 1 {
					id = "f-ivr-" + string(rune('0'+arg%10))
				}
				d.OnPlaybackFinished(ctx, id, []string{"done", "failed", ""}[arg%3])
			case 2:
				clk.Advance(time.Duration(arg) * 100 * time.Millisecond)
				if timerReady(d) {
					d.OnTimer(ctx)
				}
			case 3:
				d.OnTimer(ctx) // spurious
			}
		}
		limit := (MaxTransitions + 1) * (2*(MaxRetries+1) + 2)
		for steps := 0; !d.Machine().Done(); steps++ {
			if steps > limit {
				t.Fatalf("no outcome after %d steps", steps)
			}
			if d.playbackID != "" {
				d.OnPlaybackFinished(ctx, d.playbackID, "done")
				continue
			}
			if d.TimerC() == nil {
				t.Fatal("driver stalled: no playback, no timer")
			}
			clk.Advance(time.Minute)
			if !timerReady(d) {
				t.Fatal("timer did not fire")
			}
			d.OnTimer(ctx)
		}
		if d.TimerC() != nil {
			t.Fatal("timer left after the end")
		}
	})
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}
