package wallboard

import "github.com/hotline-acd/hotline/internal/i18n"

// The wallboard's strings in the operators' four languages, one row per
// key: {ru, kk, uk, en}. Rows are grouped by the part of the page they
// belong to and named after it (col_ for the queues' columns, op_ for the
// operators' table, cb_ for the callbacks' list, mon_ for listening); a
// new string goes in its group as one more row, and
// TestEveryKeyInEveryLanguage refuses a row with a language left out.
// Operators' states and pause reasons are the desktop's too
// (i18n.Operators).
var texts = i18n.Merge(i18n.Rows(map[string][4]string{
	// The page and its header.
	"title":           {"Табло супервизора", "Супервизор таблосы", "Табло супервізора", "Supervisor wallboard"},
	"signout":         {"Выйти", "Шығу", "Вийти", "Sign out"},
	"language":        {"Язык", "Тіл", "Мова", "Language"},
	"role_supervisor": {"супервизор", "супервизор", "супервізор", "supervisor"},
	"role_admin":      {"администратор", "әкімші", "адміністратор", "admin"},
	"as_of":           {"Данные на %s", "%s жағдайы бойынша", "Дані на %s", "As of %s"},

	// Messages and refusals.
	"board_error":   {"Табло не удалось обновить: %s", "Таблоны жаңарту мүмкін болмады: %s", "Табло не вдалося оновити: %s", "The board could not be read: %s"},
	"refused":       {"Не выполнено: %s", "Орындалмады: %s", "Не виконано: %s", "Not done: %s"},
	"err_session":   {"Страница устарела или сеанс закончился: обновите страницу.", "Бет ескірді немесе сеанс аяқталды: бетті жаңартыңыз.", "Сторінка застаріла або сеанс завершився: оновіть сторінку.", "The page is out of date or the session ended: reload the page."},
	"err_role":      {"Табло — для супервизоров и администраторов.", "Табло супервизорлар мен әкімшілерге арналған.", "Табло — для супервізорів і адміністраторів.", "The wallboard is for supervisors and admins."},
	"err_language":  {"Неизвестный язык.", "Белгісіз тіл.", "Невідома мова.", "Unknown language."},
	"err_action":    {"Неизвестное действие.", "Белгісіз әрекет.", "Невідома дія.", "Unknown action."},
	"err_gone":      {"Не выполнено: его уже нет.", "Орындалмады: ол енді жоқ.", "Не виконано: його вже немає.", "Not done: it is gone."},
	"err_cb_busy":   {"Не выполнено: этот обратный звонок сейчас набирается или передаётся оператору; попробуйте чуть позже.", "Орындалмады: бұл кері қоңырау қазір терілуде немесе операторға берілуде; сәлден соң қайталаңыз.", "Не виконано: цей зворотний дзвінок зараз набирається або передається оператору; спробуйте трохи пізніше.", "Not done: this callback is being dialled or put through; try again shortly."},
	"err_cb_closed": {"Не выполнено: этот обратный звонок уже закрыт.", "Орындалмады: бұл кері қоңырау жабылған.", "Не виконано: цей зворотний дзвінок уже закрито.", "Not done: this callback is closed already."},
	"err_cb_dup":    {"Не выполнено: у этого номера уже есть обратный звонок в этой теме.", "Орындалмады: бұл нөмірдің осы тақырыпта кері қоңырауы бар.", "Не виконано: цей номер уже має зворотний дзвінок у цій темі.", "Not done: this number has a callback in that topic already."},
	"err_op_state":  {"Не выполнено: статус оператора этого не позволяет.", "Орындалмады: оператордың күйі бұған мүмкіндік бермейді.", "Не виконано: стан оператора цього не дозволяє.", "Not done: the operator's state does not allow it."},

	// The queues' table.
	"queues":        {"Очереди сегодня", "Бүгінгі кезектер", "Черги сьогодні", "Queues today"},
	"col_topic":     {"Тема", "Тақырып", "Тема", "Topic"},
	"col_waiting":   {"Ждут", "Күтуде", "Чекають", "Waiting"},
	"col_longest":   {"Дольше всех ждёт", "Ең ұзақ күту", "Найдовше чекає", "Longest wait"},
	"col_offered":   {"Поступило", "Түсті", "Надійшло", "Offered"},
	"col_answered":  {"Отвечено", "Жауап берілді", "Відповіли", "Answered"},
	"col_abandoned": {"Не дождались", "Күтпей кетті", "Не дочекались", "Abandoned"},
	"col_sl":        {"Уровень сервиса", "Қызмет деңгейі", "Рівень сервісу", "Service level"},
	"col_target":    {"Цель", "Мақсат", "Ціль", "Target"},
	"col_asa":       {"Ср. до ответа", "Жауапқа дейін, орт.", "Сер. до відповіді", "ASA"},
	"col_aht":       {"Ср. обработка", "Өңдеу, орт.", "Сер. обробка", "AHT"},
	"asa_long":      {"Среднее время до ответа оператора", "Оператор жауап бергенге дейінгі орташа уақыт", "Середній час до відповіді оператора", "Average speed of answer"},
	"aht_long":      {"Среднее время разговора и обработки", "Сөйлесу мен өңдеудің орташа уақыты", "Середній час розмови та обробки", "Average handle time"},
	"target":        {"%s за %s", "%[2]s ішінде %[1]s", "%s за %s", "%s in %s"},
	"sl_below":      {"ниже цели", "мақсаттан төмен", "нижче цілі", "below target"},

	// The history chart.
	"chart_title":   {"Последние часы, %s–%s", "Соңғы сағаттар, %s–%s", "Останні години, %s–%s", "Last hours, %s–%s"},
	"chart_waiting": {"ждущие звонящие (до %s)", "күтіп тұрған қоңырау шалушылар (%s дейін)", "абоненти в очікуванні (до %s)", "callers waiting (up to %s)"},
	"chart_level":   {"уровень сервиса (0–100\u00a0%)", "қызмет деңгейі (0–100%)", "рівень сервісу (0–100%)", "service level (0–100%)"},
	"chart_aria":    {"График ждущих звонящих и уровня сервиса за последние часы", "Соңғы сағаттардағы күтушілер мен қызмет деңгейінің графигі", "Графік абонентів в очікуванні та рівня сервісу за останні години", "Chart of callers waiting and the service level over the last hours"},

	// The operators' table.
	"operators":      {"Операторы", "Операторлар", "Оператори", "Operators"},
	"op_col_name":    {"Оператор", "Оператор", "Оператор", "Operator"},
	"op_col_state":   {"Статус", "Күйі", "Стан", "State"},
	"op_col_since":   {"С какого времени", "Қашаннан бері", "З якого часу", "Since"},
	"op_col_actions": {"Действия", "Әрекеттер", "Дії", "Actions"},
	"op_pause":       {"Пауза", "Үзіліс", "Пауза", "Pause"},
	"op_pause_aria":  {"Поставить на паузу: %s", "Үзіліске қою: %s", "Поставити на паузу: %s", "Pause %s"},
	"op_logout":      {"Вывести из очереди", "Кезектен шығару", "Вивести з черги", "Log out"},
	"op_logout_aria": {"Вывести из очереди: %s", "Кезектен шығару: %s", "Вивести з черги: %s", "Log %s out"},

	// Listening and whispering from the operators' table.
	"mon_listen":       {"Слушать", "Тыңдау", "Слухати", "Listen"},
	"mon_whisper":      {"Подсказать", "Сыбырлау", "Підказати", "Whisper"},
	"mon_listen_aria":  {"Слушать разговор оператора %s на своём телефоне", "%s операторының сөйлесуін өз телефоныңыздан тыңдау", "Слухати розмову оператора %s на своєму телефоні", "Listen to %s's conversation on your phone"},
	"mon_whisper_aria": {"Подсказывать оператору %s со своего телефона: слышит только оператор", "%s операторына өз телефоныңыздан сыбырлау: тек оператор естиді", "Підказувати оператору %s зі свого телефону: чує лише оператор", "Whisper to %s from your phone: only the operator hears you"},
	"mon_stop":         {"Стоп", "Тоқтату", "Стоп", "Stop"},
	"mon_stop_aria":    {"Перестать слушать разговор оператора %s", "%s операторының сөйлесуін тыңдауды тоқтату", "Припинити слухати розмову оператора %s", "Stop monitoring %s's conversation"},
	"mon_listening":    {"слушает %s", "%s тыңдап отыр", "слухає %s", "listened to by %s"},
	"mon_whispering":   {"подсказывает %s", "%s сыбырлап отыр", "підказує %s", "whispered to by %s"},
	"mon_ringing":      {"звоним на телефон", "телефонға қоңырау шалынуда", "дзвонимо на телефон", "ringing the phone"},
	"mon_no_phone":     {"Чтобы слушать разговоры, укажите свой телефон (phone:) в своей записи staff в настройках.", "Сөйлесулерді тыңдау үшін баптаулардағы өз staff жазбаңызда телефоныңызды (phone:) көрсетіңіз.", "Щоб слухати розмови, вкажіть свій телефон (phone:) у своєму записі staff у налаштуваннях.", "To listen to conversations, give your own phone (phone:) in your staff entry in the config."},
	"mon_phone_busy":   {"Ваш телефон уже слушает другой разговор: сначала остановите его.", "Телефоныңыз басқа сөйлесуді тыңдап тұр: алдымен оны тоқтатыңыз.", "Ваш телефон уже слухає іншу розмову: спершу зупиніть її.", "Your phone is in another conversation already: stop that first."},
	"mon_taken":        {"Этот разговор уже слушает другой супервизор: разговор слушают по одному.", "Бұл сөйлесуді басқа супервизор тыңдап отыр: бір уақытта тек біреу тыңдай алады.", "Цю розмову вже слухає інший супервізор: розмову слухають по одному.", "Another supervisor is on this conversation already: one at a time."},
	"mon_not_talking":  {"Оператор %s сейчас не разговаривает.", "%s операторы қазір сөйлесіп отырған жоқ.", "Оператор %s зараз не розмовляє.", "%s is not in a conversation now."},
	"mon_failed":       {"Не удалось позвонить на ваш телефон: %s", "Телефоныңызға қоңырау шалу мүмкін болмады: %s", "Не вдалося зателефонувати на ваш телефон: %s", "Could not ring your phone: %s"},
	"mon_rung_listen":  {"Звоним на ваш телефон %s: снимите трубку, чтобы слушать разговор оператора %s.", "%s телефоныңызға қоңырау шалынуда: %s операторының сөйлесуін тыңдау үшін тұтқаны көтеріңіз.", "Дзвонимо на ваш телефон %s: зніміть слухавку, щоб слухати розмову оператора %s.", "Ringing your phone %s: pick up to listen to %s's conversation."},
	"mon_rung_whisper": {"Звоним на ваш телефон %s: снимите трубку, чтобы подсказывать оператору %s.", "%s телефоныңызға қоңырау шалынуда: %s операторына сыбырлау үшін тұтқаны көтеріңіз.", "Дзвонимо на ваш телефон %s: зніміть слухавку, щоб підказувати оператору %s.", "Ringing your phone %s: pick up to whisper to %s."},
	"mon_stopped":      {"Прослушивание остановлено.", "Тыңдау тоқтатылды.", "Прослуховування зупинено.", "Monitoring stopped."},
	"mon_not_yours":    {"Это прослушивание ведёт другой супервизор.", "Бұл тыңдауды басқа супервизор жүргізуде.", "Це прослуховування веде інший супервізор.", "Another supervisor's phone is on this monitor."},
	"mon_gone":         {"Прослушивание уже закончилось.", "Тыңдау аяқталып қойған.", "Прослуховування вже завершилося.", "This monitor has ended already."},

	// The callbacks' list.
	"cb_title":        {"Обратные звонки", "Кері қоңыраулар", "Зворотні дзвінки", "Callbacks"},
	"cb_pending":      {"ожидают", "күтуде", "очікують", "pending"},
	"cb_due":          {"к набору", "теруге дайын", "до набору", "due"},
	"cb_unreached":    {"не дозвонились", "хабарласа алмадық", "не додзвонились", "unreached"},
	"cb_col_id":       {"Заявка", "Өтінім", "Заявка", "Callback"},
	"cb_col_number":   {"Номер", "Нөмір", "Номер", "Number"},
	"cb_col_due":      {"Срок", "Мерзімі", "Термін", "Due"},
	"cb_col_attempts": {"Попыток", "Әрекет", "Спроб", "Attempts"},
	"cb_col_reasons":  {"Причины", "Себептер", "Причини", "Reasons"},
	"cb_col_actions":  {"Действия", "Әрекеттер", "Дії", "Actions"},
	"cb_now":          {"Позвонить сейчас", "Қазір қоңырау шалу", "Зателефонувати зараз", "Call now"},
	"cb_now_aria":     {"Позвонить сейчас по заявке %s", "%s өтінімі бойынша қазір қоңырау шалу", "Зателефонувати зараз за заявкою %s", "Call back %s now"},
	"cb_cancel":       {"Отменить", "Болдырмау", "Скасувати", "Cancel"},
	"cb_cancel_aria":  {"Отменить заявку %s", "%s өтінімін болдырмау", "Скасувати заявку %s", "Cancel callback %s"},
	"cb_move_to":      {"Перенести в", "Тақырыпқа ауыстыру", "Перенести до", "Move to"},
	"cb_move":         {"Перенести", "Ауыстыру", "Перенести", "Move"},
	"cb_move_aria":    {"Перенести заявку %s в выбранную тему", "%s өтінімін таңдалған тақырыпқа ауыстыру", "Перенести заявку %s до вибраної теми", "Move callback %s to the chosen topic"},
	"cb_move_choose":  {"Выберите тему, в которую перенести заявку.", "Өтінімді ауыстыратын тақырыпты таңдаңыз.", "Виберіть тему, до якої перенести заявку.", "Choose the topic to move the callback to."},
	"cb_none":         {"Обратных звонков нет.", "Кері қоңыраулар жоқ.", "Зворотних дзвінків немає.", "No callbacks owed."},
	// Why a callback is owed (callbacks.Reason*).
	"cb_reason_abandoned":       {"не дождался", "күтпей кетті", "не дочекався", "abandoned"},
	"cb_reason_dropped":         {"разговор прервался", "сөйлесу үзілді", "розмова обірвалася", "dropped"},
	"cb_reason_operator_marked": {"отметил оператор", "оператор белгіледі", "позначив оператор", "marked by the operator"},
	"cb_reason_virtual_hold":    {"ждёт, сохранив место", "кезегін сақтап күтуде", "чекає, зберігши місце", "virtual hold"},
	"cb_reason_no_service":      {"не обслужен", "қызмет көрсетілмеді", "не обслуговано", "not served"},
	"cb_reason_outage":          {"сбой линии", "жүйе ақауы", "збій лінії", "outage"},
}), i18n.Operators)

// tr is key in lang.
func tr(lang, key string) string { return texts.Text(lang, key) }

// named is the text of kind_id in lang, or id itself when it has none (a
// pause reason or a callback reason only the config or a newer hotline
// knows).
func named(lang, kind, id string) string {
	if s, ok := texts.Lookup(lang, kind+"_"+id); ok {
		return s
	}
	if s, ok := texts.Lookup("en", kind+"_"+id); ok {
		return s
	}
	return id
}
