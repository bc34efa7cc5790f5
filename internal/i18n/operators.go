package i18n

import "fmt"

// Operators names an operator's state (state_<state>) and pause reason
// (reason_<id>) as the desktop and the wallboard both show them, so an
// operator and their supervisor read the same word.
var Operators = Rows(map[string][4]string{
	// key: {ru, kk, uk, en}
	"state_offline":    {"Не в очереди", "Кезекте емес", "Не в черзі", "Logged out"},
	"state_ready":      {"Готов", "Дайын", "Готовий", "Ready"},
	"state_reserved":   {"Звонит телефон", "Телефон шырылдап тұр", "Дзвонить телефон", "Phone ringing"},
	"state_on_call":    {"Разговор", "Сөйлесу", "Розмова", "On a call"},
	"state_wrap_up":    {"Обработка", "Өңдеу", "Обробка", "Wrap-up"},
	"state_paused":     {"Пауза", "Үзіліс", "Пауза", "Paused"},
	"reason_break":     {"Перерыв", "Үзіліс", "Перерва", "Break"},
	"reason_lunch":     {"Обед", "Түскі ас", "Обід", "Lunch"},
	"reason_training":  {"Обучение", "Оқу", "Навчання", "Training"},
	"reason_paperwork": {"Документы", "Құжаттар", "Документи", "Paperwork"},
	// Set by hotline, not picked by the operator: missed calls in a row,
	// and a supervisor's pause from the wallboard.
	"reason_no_answer":  {"Не отвечал на звонки", "Қоңырауларға жауап бермеді", "Не відповідав на дзвінки", "Missed calls"},
	"reason_supervisor": {"Поставил супервизор", "Супервизор қойды", "Поставив супервізор", "Set by a supervisor"},
})

// Merge is the tables' keys together in one table; a key two of them
// define in one language is a mistake, and panics (at start, in every
// test).
func Merge(ts ...Table) Table {
	out := Table{}
	for _, t := range ts {
		for lang, m := range t {
			if out[lang] == nil {
				out[lang] = map[string]string{}
			}
			for k, v := range m {
				if _, dup := out[lang][k]; dup {
					panic(fmt.Sprintf("i18n: %s %q is defined twice", lang, k))
				}
				out[lang][k] = v
			}
		}
	}
	return out
}
