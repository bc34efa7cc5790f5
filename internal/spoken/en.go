package spoken

var (
	enSmall = [20]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens = [10]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// enCardinal says "one hundred and twenty-one": the "and" is how both
// British and American callers say it aloud.
func enCardinal(n int, _ gender) string {
	h, rest := n/100, n%100
	var below string
	switch {
	case rest < 20:
		below = enSmall[rest]
	case rest%10 == 0:
		below = enTens[rest/10]
	default:
		below = enTens[rest/10] + "-" + enSmall[rest%10]
	}
	switch {
	case h == 0:
		return below
	case rest == 0:
		return enSmall[h] + " hundred"
	default:
		return enSmall[h] + " hundred and " + below
	}
}

func enMinutes(n int) string {
	if n == 1 {
		return "one minute"
	}
	return enCardinal(n, masculine) + " minutes"
}

var english = words{
	cardinal:      enCardinal,
	minutes:       enMinutes,
	morePositions: "more than one hundred",
	moreMinutes:   "more than an hour",
}
