package desk

import "github.com/hotline-acd/hotline/internal/i18n"

// The desktop's strings in the operators' four languages (i18n.Languages),
// with the operators' states and pause reasons the wallboard shows too
// (i18n.Operators). A key missing in a language falls back to English,
// then to the key itself, so a new string shows up untranslated rather
// than as nothing.
var texts = i18n.Merge(deskTexts, i18n.Operators, refusalTexts)

// refusalTexts say why an action was not done, {ru, kk, uk, en}.
var refusalTexts = i18n.Rows(map[string][4]string{
	"refused":        {"Не выполнено: %s", "Орындалмады: %s", "Не виконано: %s", "Not done: %s"},
	"refused_state":  {"Не выполнено: ваш статус этого не позволяет.", "Орындалмады: күйіңіз бұған мүмкіндік бермейді.", "Не виконано: ваш стан цього не дозволяє.", "Not done: your state does not allow it."},
	"refused_nocall": {"Не выполнено: разговора нет (или он как раз передаётся другому серверу; повторите через несколько секунд).", "Орындалмады: сөйлесу жоқ (немесе ол басқа серверге берілуде; бірнеше секундтан соң қайталаңыз).", "Не виконано: розмови немає (або її саме передають іншому серверу; повторіть за кілька секунд).", "Not done: there is no conversation (or it is being handed to another server; try again in a few seconds)."},
	"refused_target": {"Не выполнено: такой службы или темы нет.", "Орындалмады: мұндай қызмет немесе тақырып жоқ.", "Не виконано: такої служби чи теми немає.", "Not done: there is no such service or topic."},
	"refused_xfer":   {"Перевод не выполнен: %s", "Ауыстыру орындалмады: %s", "Переведення не виконано: %s", "Transfer not done: %s"},
})

var deskTexts = i18n.Table{
	"en": {
		"title": "Operator desktop", "signin": "Sign in", "operator_id": "Operator ID", "secret": "Secret",
		"language": "Language", "signout": "Sign out", "bad_signin": "Wrong operator ID or secret.",
		"too_many": "Too many attempts. Wait a few minutes.",
		"state":    "State", "login": "Log in to the queues", "ready": "Ready", "pause": "Pause", "logout": "Log out of the queues",
		"pause_after": "Pause after this call", "pause_after_set": "Pausing after this call", "cancel": "Cancel",
		"wrapup_left": "Wrap-up ends in", "done": "Done", "extend": "+1 min", "over_by": "over the limit by",
		"no_call": "No call. Waiting for the next citizen.", "ringing": "Incoming call", "calling_back": "Calling the citizen back for you", "talking": "On the call",
		"last_call": "Last call", "number": "Number", "topic": "Topic", "ivr_path": "Menu path", "waited": "Waited",
		"callback": "Callback", "attempts": "attempts so far", "reasons": "reasons", "history": "Previous contacts",
		"no_history": "First contact from this number.", "when": "When", "outcome": "Outcome", "by": "Operator",
		"disposition": "Disposition", "note": "Note", "save": "Save", "saved": "Saved.",
		"kb": "Knowledge base", "search": "Search", "no_results": "Nothing found.", "articles": "Articles for this topic",
		"directory": "Services", "hours": "Hours", "transfer": "Transfer", "consult": "Consult",
		"to_queue": "To another queue", "complete": "Complete transfer", "return": "Return to the citizen",
		"transferred": "Transfer started.", "cases": "Cases", "complaint": "Complaint", "home_visit": "Home visit",
		"organisation": "Medical organisation", "category": "Category", "text": "What happened", "address": "Address",
		"symptoms": "Symptoms", "preferred_time": "Preferred time", "open_case": "Register",
		"case_opened": "Registered. Read the number to the citizen:", "my_day": "My day", "calls": "Calls",
		"close_case": "Close", "open_cases": "Open cases", "export_csv": "Export CSV", "status": "Status", "keys": "Keys",
		"shortcuts": "Alt+R ready · Alt+P pause · Alt+D wrap-up done", "reconnecting": "Reconnecting…",
		"lang_ru": "Russian", "lang_kk": "Kazakh", "lang_uk": "Ukrainian", "lang_en": "English",
	},
	"ru": {
		"title": "Рабочее место оператора", "signin": "Войти", "operator_id": "Номер оператора", "secret": "Пароль",
		"language": "Язык", "signout": "Выйти", "bad_signin": "Неверный номер оператора или пароль.",
		"too_many": "Слишком много попыток. Подождите несколько минут.",
		"state":    "Статус", "login": "Встать в очередь", "ready": "Готов", "pause": "Пауза", "logout": "Выйти из очереди",
		"pause_after": "Пауза после звонка", "pause_after_set": "Пауза после этого звонка", "cancel": "Отменить",
		"wrapup_left": "Обработка закончится через", "done": "Готово", "extend": "+1 мин", "over_by": "сверх лимита на",
		"no_call": "Звонка нет. Ждём следующего гражданина.", "ringing": "Входящий звонок", "calling_back": "Перезваниваем гражданину для вас", "talking": "Разговор",
		"last_call": "Последний звонок", "number": "Номер", "topic": "Тема", "ivr_path": "Путь в меню", "waited": "Ожидание",
		"callback": "Обратный звонок", "attempts": "попыток было", "reasons": "причины", "history": "Прошлые обращения",
		"no_history": "С этого номера обращаются впервые.", "when": "Когда", "outcome": "Итог", "by": "Оператор",
		"disposition": "Результат", "note": "Заметка", "save": "Сохранить", "saved": "Сохранено.",
		"kb": "База знаний", "search": "Поиск", "no_results": "Ничего не найдено.", "articles": "Статьи по теме",
		"directory": "Службы", "hours": "Часы работы", "transfer": "Перевести", "consult": "Консультация",
		"to_queue": "В другую очередь", "complete": "Соединить", "return": "Вернуться к гражданину",
		"transferred": "Перевод начат.", "cases": "Обращения", "complaint": "Жалоба", "home_visit": "Вызов на дом",
		"organisation": "Медицинская организация", "category": "Категория", "text": "Что случилось", "address": "Адрес",
		"symptoms": "Симптомы", "preferred_time": "Удобное время", "open_case": "Зарегистрировать",
		"case_opened": "Зарегистрировано. Продиктуйте номер гражданину:", "my_day": "Мой день", "calls": "Звонки",
		"close_case": "Закрыть", "open_cases": "Открытые обращения", "export_csv": "Выгрузить CSV", "status": "Статус", "keys": "Клавиши",
		"shortcuts": "Alt+R готов · Alt+P пауза · Alt+D обработка закончена", "reconnecting": "Переподключение…",
		"lang_ru": "русский", "lang_kk": "казахский", "lang_uk": "украинский", "lang_en": "английский",
	},
	"kk": {
		"title": "Оператордың жұмыс орны", "signin": "Кіру", "operator_id": "Оператор нөмірі", "secret": "Құпиясөз",
		"language": "Тіл", "signout": "Шығу", "bad_signin": "Оператор нөмірі немесе құпиясөз қате.",
		"too_many": "Тым көп әрекет. Бірнеше минут күтіңіз.",
		"state":    "Күйі", "login": "Кезекке тұру", "ready": "Дайын", "pause": "Үзіліс", "logout": "Кезектен шығу",
		"pause_after": "Қоңыраудан кейін үзіліс", "pause_after_set": "Осы қоңыраудан кейін үзіліс", "cancel": "Болдырмау",
		"wrapup_left": "Өңдеу аяқталады", "done": "Дайын", "extend": "+1 мин", "over_by": "шектен асты",
		"no_call": "Қоңырау жоқ. Келесі азаматты күтеміз.", "ringing": "Кіріс қоңырау", "calling_back": "Азаматқа сіз үшін кері қоңырау шалып жатырмыз", "talking": "Сөйлесу",
		"last_call": "Соңғы қоңырау", "number": "Нөмір", "topic": "Тақырып", "ivr_path": "Мәзір жолы", "waited": "Күтті",
		"callback": "Кері қоңырау", "attempts": "әрекет болды", "reasons": "себептер", "history": "Бұрынғы өтініштер",
		"no_history": "Бұл нөмірден алғаш рет хабарласуда.", "when": "Қашан", "outcome": "Нәтиже", "by": "Оператор",
		"disposition": "Нәтиже", "note": "Ескертпе", "save": "Сақтау", "saved": "Сақталды.",
		"kb": "Білім қоры", "search": "Іздеу", "no_results": "Ештеңе табылмады.", "articles": "Тақырып бойынша мақалалар",
		"directory": "Қызметтер", "hours": "Жұмыс уақыты", "transfer": "Аудару", "consult": "Кеңесу",
		"to_queue": "Басқа кезекке", "complete": "Қосу", "return": "Азаматқа оралу",
		"transferred": "Аудару басталды.", "cases": "Өтініштер", "complaint": "Шағым", "home_visit": "Үйге шақыру",
		"organisation": "Медициналық ұйым", "category": "Санат", "text": "Не болды", "address": "Мекенжай",
		"symptoms": "Белгілері", "preferred_time": "Ыңғайлы уақыт", "open_case": "Тіркеу",
		"case_opened": "Тіркелді. Нөмірді азаматқа айтыңыз:", "my_day": "Менің күнім", "calls": "Қоңыраулар",
		"close_case": "Жабу", "open_cases": "Ашық өтініштер", "export_csv": "CSV жүктеу", "status": "Күйі", "keys": "Пернелер",
		"shortcuts": "Alt+R дайын · Alt+P үзіліс · Alt+D өңдеу аяқталды", "reconnecting": "Қайта қосылу…",
		"lang_ru": "орыс", "lang_kk": "қазақ", "lang_uk": "украин", "lang_en": "ағылшын",
	},
	"uk": {
		"title": "Робоче місце оператора", "signin": "Увійти", "operator_id": "Номер оператора", "secret": "Пароль",
		"language": "Мова", "signout": "Вийти", "bad_signin": "Невірний номер оператора або пароль.",
		"too_many": "Забагато спроб. Зачекайте кілька хвилин.",
		"state":    "Стан", "login": "Стати в чергу", "ready": "Готовий", "pause": "Пауза", "logout": "Вийти з черги",
		"pause_after": "Пауза після дзвінка", "pause_after_set": "Пауза після цього дзвінка", "cancel": "Скасувати",
		"wrapup_left": "Обробка закінчиться через", "done": "Готово", "extend": "+1 хв", "over_by": "понад ліміт на",
		"no_call": "Дзвінка немає. Чекаємо наступного громадянина.", "ringing": "Вхідний дзвінок", "calling_back": "Передзвонюємо громадянину для вас", "talking": "Розмова",
		"last_call": "Останній дзвінок", "number": "Номер", "topic": "Тема", "ivr_path": "Шлях у меню", "waited": "Очікування",
		"callback": "Зворотний дзвінок", "attempts": "спроб було", "reasons": "причини", "history": "Попередні звернення",
		"no_history": "З цього номера звертаються вперше.", "when": "Коли", "outcome": "Підсумок", "by": "Оператор",
		"disposition": "Результат", "note": "Нотатка", "save": "Зберегти", "saved": "Збережено.",
		"kb": "База знань", "search": "Пошук", "no_results": "Нічого не знайдено.", "articles": "Статті за темою",
		"directory": "Служби", "hours": "Години роботи", "transfer": "Перевести", "consult": "Консультація",
		"to_queue": "В іншу чергу", "complete": "З'єднати", "return": "Повернутися до громадянина",
		"transferred": "Переведення розпочато.", "cases": "Звернення", "complaint": "Скарга", "home_visit": "Виклик додому",
		"organisation": "Медичний заклад", "category": "Категорія", "text": "Що сталося", "address": "Адреса",
		"symptoms": "Симптоми", "preferred_time": "Зручний час", "open_case": "Зареєструвати",
		"case_opened": "Зареєстровано. Продиктуйте номер громадянину:", "my_day": "Мій день", "calls": "Дзвінки",
		"close_case": "Закрити", "open_cases": "Відкриті звернення", "export_csv": "Вивантажити CSV", "status": "Стан", "keys": "Клавіші",
		"shortcuts": "Alt+R готовий · Alt+P пауза · Alt+D обробку завершено", "reconnecting": "Перепідключення…",
		"lang_ru": "російська", "lang_kk": "казахська", "lang_uk": "українська", "lang_en": "англійська",
	},
}

// labels are the names of the configured ids (dispositions, complaint
// categories, outcomes, case statuses) per language; an id with none shows
// as itself.
var labels = i18n.Table{
	"en": {
		"disp_consulted": "Consulted", "disp_referred": "Referred", "disp_complaint_registered": "Complaint registered",
		"disp_home_visit_booked": "Home visit booked", "disp_transferred": "Transferred", "disp_wrong_number": "Wrong number", "disp_silent": "Silent call",
		"cat_refused_care": "Refused care", "cat_waiting_time": "Waiting time", "cat_rudeness": "Rudeness", "cat_medicines": "Medicines", "cat_other": "Other",
		"out_answered": "answered", "out_abandoned": "abandoned", "out_dropped": "dropped", "out_transferred": "transferred",
		"out_ivr_hangup": "hung up in the menu", "out_fallback": "fallback queue", "out_lost": "lost",
		"st_registered": "registered", "st_forwarded": "forwarded", "st_closed": "closed",
	},
	"ru": {
		"disp_consulted": "Консультация", "disp_referred": "Направлен", "disp_complaint_registered": "Жалоба зарегистрирована",
		"disp_home_visit_booked": "Вызов врача на дом", "disp_transferred": "Переведён", "disp_wrong_number": "Ошибся номером", "disp_silent": "Молчание",
		"cat_refused_care": "Отказ в помощи", "cat_waiting_time": "Очереди", "cat_rudeness": "Грубость", "cat_medicines": "Лекарства", "cat_other": "Другое",
		"out_answered": "отвечен", "out_abandoned": "не дождался", "out_dropped": "прервался", "out_transferred": "переведён",
		"out_ivr_hangup": "положил трубку в меню", "out_fallback": "резервная очередь", "out_lost": "потерян",
		"st_registered": "зарегистрировано", "st_forwarded": "передано", "st_closed": "закрыто",
	},
	"kk": {
		"disp_consulted": "Кеңес берілді", "disp_referred": "Жолданды", "disp_complaint_registered": "Шағым тіркелді",
		"disp_home_visit_booked": "Дәрігер үйге шақырылды", "disp_transferred": "Ауыстырылды", "disp_wrong_number": "Қате нөмір", "disp_silent": "Үнсіз қоңырау",
		"cat_refused_care": "Көмектен бас тарту", "cat_waiting_time": "Кезектер", "cat_rudeness": "Дөрекілік", "cat_medicines": "Дәрі-дәрмек", "cat_other": "Басқа",
		"out_answered": "жауап берілді", "out_abandoned": "күтпеді", "out_dropped": "үзілді", "out_transferred": "ауыстырылды",
		"out_ivr_hangup": "мәзірде тастады", "out_fallback": "резервтік кезек", "out_lost": "жоғалды",
		"st_registered": "тіркелді", "st_forwarded": "жіберілді", "st_closed": "жабылды",
	},
	"uk": {
		"disp_consulted": "Консультація", "disp_referred": "Направлено", "disp_complaint_registered": "Скаргу зареєстровано",
		"disp_home_visit_booked": "Виклик лікаря додому", "disp_transferred": "Переведено", "disp_wrong_number": "Помилився номером", "disp_silent": "Мовчання",
		"cat_refused_care": "Відмова в допомозі", "cat_waiting_time": "Черги", "cat_rudeness": "Грубість", "cat_medicines": "Ліки", "cat_other": "Інше",
		"out_answered": "відповіли", "out_abandoned": "не дочекався", "out_dropped": "перервався", "out_transferred": "переведено",
		"out_ivr_hangup": "поклав слухавку в меню", "out_fallback": "резервна черга", "out_lost": "втрачено",
		"st_registered": "зареєстровано", "st_forwarded": "передано", "st_closed": "закрито",
	},
}

// label is the name of id (of kind disp, cat, out or st) in lang.
func label(lang, kind, id string) string {
	if s, ok := labels.Lookup(lang, kind+"_"+id); ok {
		return s
	}
	if s, ok := labels.Lookup("en", kind+"_"+id); ok {
		return s
	}
	return id
}

// tr is key in lang.
func tr(lang, key string) string { return texts.Text(lang, key) }
