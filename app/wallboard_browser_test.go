package app_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hotline-acd/hotline/pbx/emulator"
)

// After a scripted burst of calls, every number on the wallboard equals
// what the API and the records say; the supervisor moves a callback to
// another topic with the keyboard, cancels it and force-pauses an operator
// from the page; an operator gets 403 there.
func TestWallboardInABrowser(t *testing.T) {
	cfg := callbackConfig(t, time.Hour)
	withStaff(cfg)
	h := newHarnessTweaked(t, cfg, emulator.Options{}, nil, withDeskSecrets)
	h.withSupervisor()
	// One caller waits past the minimum and gives up (a callback owed),
	// then 1001 logs in and answers two.
	_, abandoned := h.abandonAfterMinimum(emulator.Caller{Number: "79007770001"})
	h.login("PJSIP/1001")
	for i := range 2 {
		c := h.emu.Call(emulator.Caller{Number: fmt.Sprintf("7900777001%d", i), Script: choose("2", "3"), HangupAfterBridged: 100 * time.Millisecond})
		h.waitClosed(c.Ended(), "an answered call")
		h.record(c.ID())
	}
	recs := h.records()
	var offered, answered, gaveUp int
	for _, r := range recs {
		if r.Topic != "testing" || r.EnqueuedAt.IsZero() || strings.HasPrefix(r.CallID, "cb-") {
			continue
		}
		offered++
		switch r.Outcome {
		case "answered":
			answered++
		case "abandoned":
			gaveUp++
		}
	}
	if offered != 3 || answered != 2 || gaveUp != 1 || abandoned.Callback == "" {
		t.Fatalf("records: offered %d answered %d abandoned %d (callback %q), want 3, 2, 1 with a callback", offered, answered, gaveUp, abandoned.Callback)
	}
	h.eventually("1001 ready", func() bool { return h.state("1001") == "ready" })

	op := h.browser()
	op.signIn("1001", "secret-of-1001")
	if code, _ := op.get("/wallboard"); code != 403 {
		t.Errorf("an operator's session on the wallboard: %d, want 403", code)
	}

	ctx := chromium(t)
	base := "http://" + h.app.HTTPAddr()
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login?lang=en"),
		chromedp.WaitVisible(`input[name=id]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=id]`, "sup1", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=secret]`, "secret-of-sup1", chromedp.ByQuery),
		chromedp.Submit(`input[name=secret]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#topics`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("supervisor signing in: %v", err)
	}
	row := `#topics tr[data-topic=testing] `
	for sel, want := range map[string]int{row + ".offered": offered, row + ".answered": answered, row + ".abandoned": gaveUp} {
		if got := textOf(t, ctx, sel, strconv.Itoa(want)); strings.TrimSpace(got) != strconv.Itoa(want) {
			t.Errorf("%s shows %q, the records say %d", sel, got, want)
		}
	}
	// The same numbers as the API's report of the day.
	day := h.now().UTC().Format("2006-01-02")
	next := h.now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	code, rbody := h.api("GET", "/api/v1/report?by=day&topic=testing&format=json&from="+day+"&to="+next, "")
	var rep struct {
		Rows []struct {
			Topic                        string
			Offered, Answered, Abandoned int
		}
	}
	if err := json.Unmarshal([]byte(rbody), &rep); code != 200 || err != nil {
		t.Fatalf("report: %d %v %s", code, err, rbody)
	}
	found := false
	for _, r := range rep.Rows {
		if r.Topic == "testing" {
			found = true
			if r.Offered != offered || r.Answered != answered || r.Abandoned != gaveUp {
				t.Errorf("the API's report says %+v, the wallboard and records %d/%d/%d", r, offered, answered, gaveUp)
			}
		}
	}
	if !found {
		t.Errorf("no testing row in the report: %s", rbody)
	}
	// Waiting and callbacks as the API says.
	_, qbody := h.api("GET", "/api/v1/queues", "")
	var queues []struct {
		Topic   string
		Waiting int
	}
	if err := json.Unmarshal([]byte(qbody), &queues); err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if got := textOf(t, ctx, fmt.Sprintf(`#topics tr[data-topic=%s] .waiting`, q.Topic), strconv.Itoa(q.Waiting)); strings.TrimSpace(got) != strconv.Itoa(q.Waiting) {
			t.Errorf("waiting in %s: page %q, API %d", q.Topic, got, q.Waiting)
		}
	}
	open := h.openCallbacks()
	if got := textOf(t, ctx, "#cb-pending", strconv.Itoa(len(open))); strings.TrimSpace(got) != strconv.Itoa(len(open)) || len(open) != 1 {
		t.Errorf("pending callbacks: page %q, store %d (want 1)", got, len(open))
	}
	textOf(t, ctx, `#operators tr[data-agent="1001"] .state`, "Ready")
	// The history chart: the abandoned caller waited within the last
	// hours, so the waiting line is not flat at zero.
	var points string
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`#history polyline.w`, "points", &points, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if pts := strings.Fields(points); len(pts) != 25 || !strings.Contains(points, ",10 ") && !strings.HasSuffix(points, ",10") {
		t.Errorf("waiting history %q: want 25 steps reaching the top for the one caller who waited", points)
	}
	screenshot(t, ctx, "wallboard")

	// Move the callback to general with the keyboard: type-ahead of its
	// name's first letter in the row's topic list, then Enter on its button.
	general, _ := h.cfg.Topic("general")
	move := fmt.Sprintf(`#cb-move-%s`, open[0].ID)
	err = chromedp.Run(ctx,
		chromedp.Focus(move, chromedp.ByQuery),
		chromedp.KeyEvent(string([]rune(general.Name)[:1])),
		chromedp.Focus(`#cb-move-go-`+open[0].ID, chromedp.ByQuery),
		chromedp.KeyEvent("\r"),
	)
	if err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, fmt.Sprintf(`tr[data-callback=%q] .topic`, open[0].ID), general.Name) // the row names the topic
	if cb := h.callback(open[0].ID); cb.Topic != "general" || cb.Status != "scheduled" {
		t.Errorf("callback after the page's move: %s in %s", cb.Status, cb.Topic)
	}

	// Cancel the callback and force-pause 1001 from the page.
	err = chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`tr[data-callback=%q] .cb-cancel`, open[0].ID), chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#cb-pending", "0")
	if cb := h.callback(open[0].ID); cb.Status != "cancelled" {
		t.Errorf("callback after the page's cancel: %s", cb.Status)
	}
	if err := chromedp.Run(ctx, chromedp.Click(`tr[data-agent="1001"] .force-pause`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, `#operators tr[data-agent="1001"] .state`, "Paused · Set by a supervisor")
	if st := h.state("1001"); st != "paused" {
		t.Errorf("1001 after the page's pause: %s", st)
	}
	audit := false
	for _, r := range h.records() {
		if r.CallID == "audit-1001" && r.Outcome == "audit_pause" && strings.Contains(r.Note, "sup1") {
			audit = true
		}
	}
	if !audit {
		t.Error("the force-pause is not in the audit under the supervisor's id")
	}

	// The language switch: the page comes back in Russian, numbers and
	// states with it (SetValue fires the select's change event).
	err = chromedp.Run(ctx,
		chromedp.SetValue(`header select[name=lang]`, "ru", chromedp.ByQuery),
		chromedp.WaitVisible(`body[data-lang=ru] #topics`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("switching to Russian: %v", err)
	}
	textOf(t, ctx, "#topics caption", "Очереди сегодня")
	textOf(t, ctx, "#operators caption", "Операторы")
	textOf(t, ctx, `#operators tr[data-agent="1001"] .state`, "Пауза · Поставил супервизор")
	textOf(t, ctx, "#callbacks caption", "Обратные звонки: 0 ожидают")

	// Listening from the keyboard: 1003 takes a call, Listen appears
	// beside them; the focus stays on it while the board refreshes (1002
	// signs in meanwhile); Enter on it rings the supervisor's phone, the
	// status line says so and the row shows the monitor with Stop.
	h.login("PJSIP/1003")
	c, opLeg := h.talking("79007770021", "PJSIP/1003")
	listen := `#operators tr[data-agent="1003"] button.mon-listen`
	other := `#operators tr[data-agent="1002"] .state`
	var before string
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(listen, chromedp.ByQuery),
		chromedp.Focus(listen, chromedp.ByQuery),
		chromedp.Text(other, &before, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("focusing Listen: %v", err)
	}
	h.login("PJSIP/1002")
	var refreshed, focused bool
	q, _ := json.Marshal(other)
	b, _ := json.Marshal(before)
	err = chromedp.Run(ctx,
		chromedp.Poll(fmt.Sprintf(`document.querySelector(%s).innerText !== %s`, q, b), &refreshed, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, listen), &focused),
	)
	if err != nil || !refreshed {
		t.Fatalf("the board did not show 1002 signing in: %v", err)
	}
	if !focused {
		t.Fatal("the board's refresh took the keyboard focus off Listen")
	}
	if err := chromedp.Run(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("listening from the page: %v", err)
	}
	textOf(t, ctx, "#wb-msg", "Звоним на ваш телефон "+supervisor)
	h.monitoring(opLeg, h.supervisorLeg())
	textOf(t, ctx, `#operators tr[data-agent="1003"] .state`, "Разговор · слушает Supervisor")
	var picked bool // the board's next refresh says the supervisor picked up
	if err := chromedp.Run(ctx, chromedp.Poll(`!document.querySelector('#operators tr[data-agent="1003"] .state').innerText.includes("звоним")`,
		&picked, chromedp.WithPollingTimeout(10*time.Second))); err != nil || !picked {
		t.Errorf("the board still says the supervisor's phone rings: %v", err)
	}
	screenshot(t, ctx, "wallboard-ru")
	if err := chromedp.Run(ctx, chromedp.Click(`#operators tr[data-agent="1003"] button.mon-stop`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	textOf(t, ctx, "#wb-msg", "Прослушивание остановлено.")
	h.eventually("the monitor over", func() bool { return len(h.app.Router().ActiveMonitors()) == 0 })
	c.Hangup()
}
