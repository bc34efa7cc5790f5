package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx/emulator"
	"github.com/hotline-acd/hotline/records"
)

// chromium starts a headless Chromium (Debian's chromium package, which
// `make test` installs when absent) at the laptop size operators have.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need Debian's chromium (make test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1366, 768),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page as name.png in HOTLINE_SCREENSHOTS (default
// build/screenshots) for people to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HOTLINE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "build", "screenshots")
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signInDesk signs operator id in on the desktop at base, in English, and
// waits until the page's deferred scripts ran: its buttons and shortcuts
// work once they did.
func signInDesk(t *testing.T, ctx context.Context, base, id, secret string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`input[name=id]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=id]`, id, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=secret]`, secret, chromedp.ByQuery),
		chromedp.SetValue(`select[name=lang]`, "en", chromedp.ByQuery),
		chromedp.Submit(`input[name=secret]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#btn-ready`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("signing in: %v", err)
	}
	pageScriptsRan(t, ctx)
}

// pageScriptsRan waits until the page's deferred scripts (htmx) ran.
func pageScriptsRan(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Poll(`!!window.htmx && document.readyState === "complete"`, nil, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the page's scripts: %v", err)
	}
}

// textOf waits until sel's text contains want and returns it.
func textOf(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	cond := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.innerText.includes(%s); })()`, q, w)
	var ok bool
	var got string
	err := chromedp.Run(ctx, chromedp.Poll(cond, &ok, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	_ = chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : "(no such element)"; })()`, q), &got))
	if err != nil || !ok {
		t.Fatalf("%s says %q, want it to contain %q (%v)", sel, got, want, err)
	}
	return got
}

// An operator signs in in a real browser and goes ready; a citizen who
// called before calls again; the card arrives by itself with the topic,
// language, menu path and the previous contact with its disposition, and
// the topic's article; the operator gives this call a disposition and a
// note, which the record holds.
func TestDeskInABrowser(t *testing.T) {
	// The insurer's webhook refuses the first delivery and takes the next.
	var mu sync.Mutex
	var got []string
	insurer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Idempotency-Key")+" "+string(body))
		if len(got) == 1 {
			http.Error(w, "not today", http.StatusInternalServerError)
		}
	}))
	defer insurer.Close()
	deliveries := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	cfg := testConfig(t)
	for i := range cfg.Services {
		if cfg.Services[i].ID == "insurer" {
			cfg.Services[i].Webhook = insurer.URL + "/cases"
		}
	}
	cfg.Topics["testing"].WrapUp = config.Duration(time.Minute) // ended by Alt+D
	h := newHarnessTweaked(t, cfg, emulator.Options{}, nil, withDeskSecrets)
	h.withServices(emulator.Phone{AnswerAfter: 30 * time.Millisecond})
	const number = "79005550001"

	// The citizen's first call, answered by 1001 and given a disposition.
	h.login("PJSIP/1001")
	first := h.emu.Call(emulator.Caller{Number: number, Script: choose("2", "3"), HangupAfterBridged: 200 * time.Millisecond})
	h.waitClosed(first.Ended(), "the first call")
	h.record(first.ID())
	if err := h.stream.Annotate(t.Context(), first.ID(), recordsDisposition("consulted", "results not ready yet", "1001")); err != nil {
		t.Fatal(err)
	}
	h.eventually("1001 in wrap-up after the first call", func() bool { return h.state("1001") == "wrap_up" })
	if code, _ := h.api("POST", "/api/v1/agents/1001/logout", ""); code != 200 {
		t.Fatalf("logout: %d", code)
	}

	ctx := chromium(t)
	signInDesk(t, ctx, "http://"+h.app.HTTPAddr(), "1001", "secret-of-1001")
	textOf(t, ctx, "#state-name", "Logged out")
	// Alt+R is "ready" (here: log in to the queues).
	if err := chromedp.Run(ctx, chromedp.KeyEvent("r", chromedp.KeyModifiers(input.ModifierAlt))); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#state-name", "Ready")
	if h.state("1001") != "ready" {
		t.Fatalf("Redis says 1001 is %s after the desktop's ready", h.state("1001"))
	}

	again := h.emu.Call(emulator.Caller{Number: number, Script: choose("2", "3")})
	textOf(t, ctx, "#card-topic", "Тестирование")
	textOf(t, ctx, "#card-language", "Kazakh")
	textOf(t, ctx, "#card-ivr", "language:2>main:3")
	hist := textOf(t, ctx, "#card-history", "Consulted")
	if !strings.Contains(hist, "results not ready yet") || !strings.Contains(hist, "1001") {
		t.Errorf("previous contact: %q, want the disposition, the note and the operator", hist)
	}
	textOf(t, ctx, "#card-articles", "ПЦР-тест: сроки и результаты")
	textOf(t, ctx, "#topic-article", "Бесплатно")
	h.eventually("1001 talking", func() bool { return h.state("1001") == "on_call" })
	screenshot(t, ctx, "desktop-call")

	// The citizen needs the volunteers: one click in the directory, and the
	// emulator sees the outside leg bridged with the citizen.
	if err := chromedp.Run(ctx, chromedp.Click(`button.xfer[data-service=volunteers]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#result", "Transfer started")
	h.eventually("citizen bridged with the volunteers", func() bool {
		leg := h.serviceLeg(volunteers)
		return leg != nil && peerOf(again) == leg.ID()
	})
	again.Hangup()
	checkTransfer(t, h.record(again.ID()), records.Transfer{Kind: "blind", To: "volunteers", Number: volunteers, Agent: "1001", Outcome: "connected"})
	// Wrap-up: Alt+D ends it.
	textOf(t, ctx, "#state-name", "Wrap-up")
	if err := chromedp.Run(ctx, chromedp.KeyEvent("d", chromedp.KeyModifiers(input.ModifierAlt))); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#state-name", "Ready")

	// Another citizen: a disposition, a note and a complaint case.
	const other = "79005550002"
	third := h.emu.Call(emulator.Caller{Number: other, Script: choose("2", "3")})
	// Forms are filled once the call is answered: the card is drawn again
	// when ringing turns into talking.
	h.eventually("1001 talking to the third citizen", func() bool { return h.state("1001") == "on_call" })
	textOf(t, ctx, ".card.live.talking", "First contact")
	err := chromedp.Run(ctx,
		chromedp.SetValue(`#disposition select[name=code]`, "referred", chromedp.ByQuery),
		chromedp.SendKeys(`#disposition textarea[name=note]`, "sent to the polyclinic", chromedp.ByQuery),
		chromedp.Click(`#disposition button`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#result", "Saved")

	// A complaint registered from the card gets a number to read out and
	// reaches the insurer exactly once, although it refused the first try.
	err = chromedp.Run(ctx,
		chromedp.Click(`#case-complaint-open`, chromedp.ByQuery),
		chromedp.WaitVisible(`#case-complaint input[name=organisation]`, chromedp.ByQuery),
		chromedp.SendKeys(`#case-complaint input[name=organisation]`, "Поликлиника №3", chromedp.ByQuery),
		chromedp.SetValue(`#case-complaint select[name=category]`, "refused_care", chromedp.ByQuery),
		chromedp.SendKeys(`#case-complaint textarea[name=text]`, "Отказали в записи к терапевту", chromedp.ByQuery),
		chromedp.Click(`#case-complaint button`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	caseNumber := textOf(t, ctx, "#case-number", "K-")
	screenshot(t, ctx, "desktop-case")
	h.eventually("the insurer took the complaint", func() bool { return len(deliveries()) >= 2 })
	ds := deliveries()
	if len(ds) != 2 || !strings.HasPrefix(ds[1], caseNumber+" ") || !strings.Contains(ds[1], "Поликлиника №3") || !strings.Contains(ds[1], "refused_care") {
		t.Fatalf("deliveries to the insurer: %q, want case %s refused once then taken", ds, caseNumber)
	}
	third.Hangup()
	h.record(third.ID())
	recs, err := h.stream.ByNumber(t.Context(), other, 5)
	if err != nil || len(recs) != 1 || recs[0].CallID != third.ID() || recs[0].Disposition.Code != "referred" ||
		recs[0].Disposition.Note != "sent to the polyclinic" || len(recs[0].Disposition.Cases) != 1 || recs[0].Disposition.Cases[0] != caseNumber {
		t.Fatalf("records of %s: %+v %v, want the call referred with the note and the case", other, recs, err)
	}
	screenshot(t, ctx, "desktop-after-call")
	// A later delivery round sends nothing again.
	h.app.KickCases()
	if ds := deliveries(); len(ds) != 2 {
		t.Errorf("the insurer got the case again: %q", ds)
	}
}
