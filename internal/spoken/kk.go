package spoken

// Kazakh numerals are built like the Slavic ones but never change: no
// gender, and a noun after a numeral stays singular ("бес минут", not a
// plural "минуттар").
var (
	kkUnits = [10]string{"", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз"}
	kkTens  = [10]string{"", "он", "жиырма", "отыз", "қырық", "елу", "алпыс", "жетпіс", "сексен", "тоқсан"}
)

func kkCardinal(n int, _ gender) string {
	if n == 0 {
		return "нөл"
	}
	h, t, u := n/100, n/10%10, n%10
	hundreds := ""
	switch {
	case h == 1:
		hundreds = "жүз" // a hundred is "жүз", not "бір жүз"
	case h > 1:
		hundreds = kkUnits[h] + " жүз"
	}
	return join(hundreds, kkTens[t], kkUnits[u])
}

var kazakh = words{
	cardinal:      kkCardinal,
	minutes:       func(n int) string { return kkCardinal(n, masculine) + " минут" },
	morePositions: "жүзден астам",
	moreMinutes:   "бір сағаттан астам",
}
