package wallboard

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/internal/i18n"
)

// Every string of the wallboard is there in all four languages, and
// translated.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	for _, p := range texts.Problems() {
		t.Error(p)
	}
	for _, lang := range i18n.Languages {
		if same := texts.SameAsEnglish(lang); len(same) > 0 {
			t.Errorf("%s has the English text for %q", lang, same)
		}
	}
}

// sampleBoard has something in every part of the page: a topic below its
// target and one with nothing offered, operators in every state (paused
// for each kind of reason), three in conversations (one listened to by
// sup1's phone, one whispered to by another's and still ringing), open
// callbacks of every reason, the history.
func sampleBoard() Board {
	at := time.Date(2026, 12, 7, 14, 30, 0, 0, time.UTC)
	b := Board{
		At: at,
		Topics: []Topic{
			{ID: "testing", Name: "Тестирование", Waiting: 3, OldestWait: 95 * time.Second, Offered: 12345, Answered: 12000,
				Abandoned: 345, AnsweredInTarget: 9000, TargetPercent: 80, TargetWithin: 20 * time.Second, ASA: 14 * time.Second, AHT: 4 * time.Minute},
			{ID: "general", Name: "Общие вопросы", TargetPercent: 80, TargetWithin: time.Minute},
		},
		Callbacks: Callbacks{Pending: 6, Due: 2, Unreached: 1},
	}
	for i, st := range []string{"offline", "ready", "reserved", "on_call", "wrap_up", "paused", "paused", "paused", "paused", "paused", "paused"} {
		reason := ""
		if st == "paused" {
			reason = []string{"", "", "", "", "", "break", "lunch", "training", "paperwork", "no_answer", "supervisor"}[i]
		}
		b.Operators = append(b.Operators, Operator{ID: "10" + string(rune('0'+i/10)) + string(rune('0'+i%10)), Name: "Айгерим", State: st, Reason: reason, Since: at.Add(-time.Duration(i) * time.Minute)})
	}
	for i, id := range []string{"1101", "1102", "1103"} {
		b.Operators = append(b.Operators, Operator{ID: id, Name: "Данияр", State: "on_call", Since: at.Add(-time.Duration(i) * time.Second)})
	}
	b.Monitors = []Monitor{
		{ID: "mon-1", Agent: "1101", Mode: ModeListen, Phone: "PJSIP/1901", By: "Гульнара", Answered: true},
		{ID: "mon-2", Agent: "1102", Mode: ModeWhisper, Phone: "PJSIP/1902", By: "Ерлан"},
	}
	for i, r := range []string{"abandoned", "dropped", "operator_marked", "virtual_hold", "no_service", "outage"} {
		b.Pending = append(b.Pending, Callback{ID: "cb-" + string(rune('a'+i)), Topic: "testing", TopicName: "Тестирование", Status: "scheduled",
			Number: "+7 *** ***-12-34", Due: at.Add(time.Duration(i) * time.Minute), Attempts: i, Reasons: []string{r}})
	}
	for i := range 25 {
		b.History = append(b.History, Point{At: at.Add(time.Duration(i-24) * 10 * time.Minute), Waiting: i % 4, ServiceLevel: float64(60 + i)})
	}
	return b
}

func tf(lang, key string, args ...any) string { return fmt.Sprintf(tr(lang, key), args...) }

func render(t *testing.T, name string, v view) string {
	t.Helper()
	w, err := New(Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The page rendered in each language carries that language and none of
// the English texts it translates: headings, columns, buttons and their
// labels, states, reasons, the chart's; numbers are written as the
// language writes them.
func TestPageInEachLanguage(t *testing.T) {
	me := auth.Person{ID: "sup1", Name: "Гульнара", Role: auth.RoleSupervisor, Phone: "PJSIP/1901"}
	for _, lang := range i18n.Languages {
		page := render(t, "page", view{Lang: lang, Me: me, CSRF: "x", Board: sampleBoard(), BoardError: "redis: i/o timeout"})
		// Without a phone: the buttons are disabled, and say why.
		noPhone := render(t, "page", view{Lang: lang, Me: auth.Person{ID: "adm1", Name: "Ерлан", Role: auth.RoleAdmin}, Board: sampleBoard()})
		for _, key := range []string{"mon_listening", "mon_whispering", "mon_ringing", "mon_stop", "mon_phone_busy"} {
			if !strings.Contains(page, strings.Split(tr(lang, key), "%s")[0]) {
				t.Errorf("%s: %s is not on the page", lang, key)
			}
		}
		// With one: Stop on their own monitor only; while it runs, the
		// other conversation's buttons wait for it.
		if !strings.Contains(page, `hx-post="/wallboard/monitors/mon-1/stop"`) || strings.Contains(page, `monitors/mon-2/stop`) ||
			!strings.Contains(page, `hx-post="/wallboard/operators/1103/whisper" hx-target="#board" aria-label="`+strings.ReplaceAll(tf(lang, "mon_whisper_aria", "Данияр"), "'", "&#39;")+`" disabled aria-describedby="mon-busy"`) ||
			strings.Contains(page, "/wallboard/operators/1102/listen") {
			t.Errorf("%s: the monitors' buttons: %s", lang, page)
		}
		if !strings.Contains(noPhone, tr(lang, "mon_no_phone")) || !strings.Contains(noPhone, `disabled aria-describedby="mon-no-phone"`) ||
			!strings.Contains(noPhone, tr(lang, "role_admin")) || strings.Contains(noPhone, "mon-stop") {
			t.Errorf("%s: the page of an admin without a phone %s", lang, noPhone)
		}
		for _, l := range texts.Leftovers(lang, noPhone) {
			t.Errorf("English left on the page without a phone: %s", l)
		}
		if !strings.Contains(page, `<html lang="`+lang+`">`) {
			t.Errorf("%s: no <html lang>", lang)
		}
		for _, key := range []string{"queues", "operators", "cb_title", "op_pause", "op_logout", "cb_now", "state_paused", "reason_no_answer", "role_supervisor"} {
			if !strings.Contains(page, tr(lang, key)) {
				t.Errorf("%s: %q (%s) is not on the page", lang, tr(lang, key), key)
			}
		}
		for _, l := range texts.Leftovers(lang, page) {
			t.Errorf("English left on the page: %s", l)
		}
		want := map[string]string{"en": "12,345", "ru": "12\u00a0345", "kk": "12\u00a0345", "uk": "12\u00a0345"}[lang]
		if !strings.Contains(page, `<td class="offered">`+want+`</td>`) {
			t.Errorf("%s: offered is not written %q", lang, want)
		}
		if sl := map[string]string{"en": "73%", "ru": "73\u00a0%", "kk": "73%", "uk": "73%"}[lang]; !strings.Contains(page, `title="`+tr(lang, "sl_below")+`">`+sl+`</td>`) {
			t.Errorf("%s: the service level below target is not %q with its title", lang, sl)
		}
	}
	// A refusal, alone, as htmx puts it in the status line.
	if msg := render(t, "msg", view{Lang: "kk", Error: tr("kk", "err_session")}); !strings.Contains(msg, `role="alert"`) || !strings.Contains(msg, "Бет ескірді") {
		t.Errorf("msg %q", msg)
	}
}

// The notes explaining disabled buttons show only beside such buttons:
// not when the one conversation is the supervisor's own monitor, nor
// when nobody talks.
func TestNotesOnlyBesideDisabledButtons(t *testing.T) {
	b := sampleBoard()
	b.Operators = []Operator{{ID: "1101", Name: "Данияр", State: "on_call"}, {ID: "1001", Name: "Айгерим", State: "ready"}}
	b.Monitors = b.Monitors[:1]
	mine := render(t, "board", view{Lang: "ru", Me: auth.Person{Role: auth.RoleSupervisor, Phone: "PJSIP/1901"}, Board: b})
	if strings.Contains(mine, `id="mon-busy"`) || strings.Contains(mine, "disabled") || !strings.Contains(mine, "mon-1/stop") {
		t.Errorf("the supervisor's own monitor alone: %s", mine)
	}
	b.Operators, b.Monitors = b.Operators[1:], nil
	if idle := render(t, "board", view{Lang: "ru", Me: auth.Person{Role: auth.RoleAdmin}, Board: b}); strings.Contains(idle, `id="mon-no-phone"`) {
		t.Errorf("nobody talking, no phone: %s", idle)
	}
}
