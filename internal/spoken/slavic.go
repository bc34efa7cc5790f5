package spoken

// slavic is how Russian and Ukrainian build numbers below a thousand:
// hundreds, tens (or a teen) and units, each a word of its own; only the
// units one and two change with gender.
type slavic struct {
	zero     string
	units    [10]string // masculine; units[0] unused
	fem      [3]string  // feminine one and two; fem[0] unused
	teens    [10]string // 10..19
	tens     [10]string // tens[2] = 20 ... tens[9] = 90
	hundreds [10]string // hundreds[1] = 100 ... hundreds[9] = 900
	minute   [3]string  // the noun by form: one, few, many
}

func (s *slavic) cardinal(n int, g gender) string {
	if n == 0 {
		return s.zero
	}
	h, t, u := n/100, n/10%10, n%10
	if t == 1 {
		return join(s.hundreds[h], s.teens[u])
	}
	unit := s.units[u]
	if g == feminine && (u == 1 || u == 2) {
		unit = s.fem[u]
	}
	return join(s.hundreds[h], s.tens[t], unit)
}

// minutes agrees both ways: минута and хвилина are feminine, so the
// numeral is too, and the noun takes the form the number asks for.
func (s *slavic) minutes(n int) string {
	return s.cardinal(n, feminine) + " " + s.minute[slavicForm(n)]
}

var ru = &slavic{
	zero:     "ноль",
	units:    [10]string{"", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"},
	fem:      [3]string{"", "одна", "две"},
	teens:    [10]string{"десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"},
	tens:     [10]string{"", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"},
	hundreds: [10]string{"", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"},
	minute:   [3]string{"минута", "минуты", "минут"},
}

// Ukrainian apostrophes are ASCII, as in the config's texts; espeak-ng's
// Ukrainian voice reads both.
var uk = &slavic{
	zero:     "нуль",
	units:    [10]string{"", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять"},
	fem:      [3]string{"", "одна", "дві"},
	teens:    [10]string{"десять", "одинадцять", "дванадцять", "тринадцять", "чотирнадцять", "п'ятнадцять", "шістнадцять", "сімнадцять", "вісімнадцять", "дев'ятнадцять"},
	tens:     [10]string{"", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят", "вісімдесят", "дев'яносто"},
	hundreds: [10]string{"", "сто", "двісті", "триста", "чотириста", "п'ятсот", "шістсот", "сімсот", "вісімсот", "дев'ятсот"},
	minute:   [3]string{"хвилина", "хвилини", "хвилин"},
}

var russian = words{
	cardinal:      ru.cardinal,
	minutes:       ru.minutes,
	morePositions: "больше ста",
	moreMinutes:   "больше часа",
}

var ukrainian = words{
	cardinal:      uk.cardinal,
	minutes:       uk.minutes,
	morePositions: "понад сто",
	moreMinutes:   "понад годину",
}
