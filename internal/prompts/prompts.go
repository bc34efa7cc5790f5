// Package prompts turns the prompt texts of hotline's configuration into
// sound files Asterisk can play: espeak-ng speaks each text, sox converts it
// to 8 kHz mono 16-bit WAV, and the file lands in Asterisk's sound layout as
// <outDir>/hotline/<lang>/<name>.wav, which hotline plays as
// sound:hotline/<lang>/<name> (router SoundPrefix "sound:hotline/").
//
// The prompt map is plain maps (name -> language -> text) so this package
// does not depend on the config package; config.Config.Prompts
// (map[string]config.PromptSet, PromptSet = map[string]string) converts
// with a loop or is assignable element by element.
package prompts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// DefaultVoices are the espeak-ng voices per Asterisk language code.
// espeak-ng 1.51 (Debian 12) has all four: ru, kk (Kazakh, trk/kk), uk, en-us.
var DefaultVoices = map[string]string{
	"ru": "ru",
	"kk": "kk",
	"uk": "uk",
	"en": "en-us",
}

// FallbackVoices are tried, in order, when a language's voice is not
// installed in the local espeak-ng. Kazakh falls back to Russian: hotline's
// Kazakh texts are written in Cyrillic, which the Russian voice reads
// intelligibly (with a Russian accent) — better than silence, and Render
// logs the substitution. Ukrainian falls back to Russian for the same reason.
var FallbackVoices = map[string][]string{
	"kk": {"ru"},
	"uk": {"ru"},
	"en": {"en", "en-gb"},
}

// Options tune Render.
type Options struct {
	// Voices overrides DefaultVoices for some languages (lang -> voice).
	Voices map[string]string
	// Espeak and Sox are the binaries; default "espeak-ng" and "sox" on PATH.
	Espeak, Sox string
	// Speed is espeak-ng's words per minute; 0 means 150 (a little slower
	// than espeak's 175, easier on the phone).
	Speed int
	// Jobs is how many prompts render at once; 0 means 4.
	Jobs int
	// Logf receives progress and fallback notes (one call at a time); nil
	// discards them.
	Logf func(format string, args ...any)
}

// SampleRate is the rate Asterisk's .wav format (format_wav) expects.
const SampleRate = 8000

// Dir is the sound sub-directory hotline's prompts live in.
const Dir = "hotline"

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
var safeLang = regexp.MustCompile(`^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$`)

// Path returns where the prompt name in language lang lives under soundsDir.
func Path(soundsDir, lang, name string) string {
	return filepath.Join(soundsDir, Dir, lang, name+".wav")
}

// validate rejects names that would escape outDir or confuse Asterisk
// (sound names may not contain dots: Asterisk would take them as an
// extension).
func validate(name, lang string) error {
	if !safeName.MatchString(name) {
		return fmt.Errorf("prompts: bad prompt name %q (letters, digits, '-' and '_' only)", name)
	}
	if !safeLang.MatchString(lang) {
		return fmt.Errorf("prompts: bad language code %q for prompt %q", lang, name)
	}
	return nil
}

type job struct{ name, lang, text, voice string }

// Render speaks every prompt in every language it has a text for into
// <outDir>/hotline/<lang>/<name>.wav (8 kHz, mono, 16-bit signed PCM),
// replacing existing files atomically. It fails before rendering anything
// if a name or language is unsafe, a text is empty, a tool is missing or a
// language has no usable voice; otherwise it renders all it can and returns
// the errors joined.
func Render(ctx context.Context, prompts map[string]map[string]string, outDir string, opts Options) error {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		if opts.Logf != nil {
			logMu.Lock() // Logf is never called concurrently
			defer logMu.Unlock()
			opts.Logf(format, args...)
		}
	}
	espeak, err := lookTool(opts.Espeak, "espeak-ng")
	if err != nil {
		return err
	}
	sox, err := lookTool(opts.Sox, "sox")
	if err != nil {
		return err
	}
	if outDir == "" {
		return errors.New("prompts: empty output directory")
	}
	installed, err := Voices(ctx, espeak)
	if err != nil {
		return err
	}
	voiceFor := map[string]string{}
	var jobs []job
	for _, name := range sortedKeys(prompts) {
		for _, lang := range sortedKeys(prompts[name]) {
			if err := validate(name, lang); err != nil {
				return err
			}
			text := strings.TrimSpace(prompts[name][lang])
			if text == "" {
				return fmt.Errorf("prompts: prompt %q has an empty %s text", name, lang)
			}
			v, ok := voiceFor[lang]
			if !ok {
				v, err = chooseVoice(lang, opts.Voices, installed)
				if err != nil {
					return err
				}
				if want := wantedVoice(lang, opts.Voices); v != want {
					logf("prompts: espeak-ng has no voice %q for %s; using %q instead", want, lang, v)
				}
				voiceFor[lang] = v
			}
			jobs = append(jobs, job{name: name, lang: lang, text: text, voice: v})
		}
	}
	speed := opts.Speed
	if speed <= 0 {
		speed = 150
	}
	n := opts.Jobs
	if n <= 0 {
		n = 4
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, n)
	)
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(j job) {
			defer wg.Done()
			defer func() { <-sem }()
			dst := Path(outDir, j.lang, j.name)
			if err := renderOne(ctx, espeak, sox, j, speed, dst); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("prompts: %s/%s: %w", j.lang, j.name, err))
				mu.Unlock()
				return
			}
			logf("prompts: wrote %s (voice %s)", dst, j.voice)
		}(j)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func renderOne(ctx context.Context, espeak, sox string, j job, speed int, dst string) error {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := os.CreateTemp(dir, "."+j.name+".*.espeak.wav")
	if err != nil {
		return err
	}
	rawPath := raw.Name()
	raw.Close()
	defer os.Remove(rawPath)
	// The text goes in on stdin, so a text starting with '-' is not taken
	// for an option and nothing is limited by the argument length.
	es := exec.CommandContext(ctx, espeak, "-v", j.voice, "-s", fmt.Sprint(speed), "-w", rawPath, "--stdin")
	es.Stdin = strings.NewReader(j.text + "\n")
	if out, err := es.CombinedOutput(); err != nil {
		return fmt.Errorf("espeak-ng -v %s: %v: %s", j.voice, err, bytes.TrimSpace(out))
	}
	tmpF, err := os.CreateTemp(dir, "."+j.name+".*.wav")
	if err != nil {
		return err
	}
	tmp := tmpF.Name()
	tmpF.Close()
	defer os.Remove(tmp)
	// espeak-ng writes 22.05 kHz mono; sox resamples (with its anti-alias
	// filter), keeps one channel, 16-bit signed PCM, and normalises to
	// -3 dBFS so all prompts play at the same loudness.
	sx := exec.CommandContext(ctx, sox, rawPath,
		"-r", fmt.Sprint(SampleRate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", tmp,
		"norm", "-3")
	if out, err := sx.CombinedOutput(); err != nil {
		return fmt.Errorf("sox: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func lookTool(given, def string) (string, error) {
	name := given
	if name == "" {
		name = def
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("prompts: %s not found (Debian: apt-get install espeak-ng sox): %w", name, err)
	}
	return p, nil
}

// Voices lists the voice names espeak-ng knows: both the language column
// (e.g. "kk", "en-us") and the file column (e.g. "trk/kk") of
// `espeak-ng --voices`, lower-cased.
func Voices(ctx context.Context, espeak string) (map[string]bool, error) {
	out, err := exec.CommandContext(ctx, espeak, "--voices").Output()
	if err != nil {
		return nil, fmt.Errorf("prompts: %s --voices: %w", espeak, err)
	}
	v := map[string]bool{}
	for i, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 5 { // header: Pty Language Age/Gender VoiceName File Other Languages
			continue
		}
		v[strings.ToLower(f[1])] = true
		v[strings.ToLower(f[4])] = true
	}
	return v, nil
}

func wantedVoice(lang string, override map[string]string) string {
	if v, ok := override[lang]; ok {
		return v
	}
	if v, ok := DefaultVoices[lang]; ok {
		return v
	}
	return lang
}

func chooseVoice(lang string, override map[string]string, installed map[string]bool) (string, error) {
	want := wantedVoice(lang, override)
	cands := append([]string{want}, FallbackVoices[lang]...)
	for _, v := range cands {
		if installed[strings.ToLower(v)] {
			return v, nil
		}
	}
	return "", fmt.Errorf("prompts: no espeak-ng voice for language %q (tried %v; see `espeak-ng --voices`, or set Options.Voices)", lang, cands)
}

// soundExts are the file formats Asterisk can play a prompt from; a centre
// may replace a rendered .wav by a studio recording in another format.
var soundExts = []string{".wav", ".WAV", ".sln", ".sln16", ".ulaw", ".alaw", ".gsm", ".g722", ".g729", ".ogg"}

// Check returns, sorted, the prompt files missing under soundsDir: for
// every prompt name and every language in langs, hotline/<lang>/<name> in
// any format Asterisk plays (an empty file counts as missing). It is for
// `hotline config check --sounds DIR`.
func Check(prompts map[string]map[string]string, langs []string, soundsDir string) []string {
	var missing []string
	for _, name := range sortedKeys(prompts) {
		for _, lang := range langs {
			base := filepath.Join(soundsDir, Dir, lang, name)
			found := false
			for _, ext := range soundExts {
				if fi, err := os.Stat(base + ext); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, base+".wav")
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
