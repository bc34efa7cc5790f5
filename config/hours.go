package config

import (
	"fmt"
	"slices"
	"time"
	// The centre's time zone must resolve even on hosts and containers
	// without /usr/share/zoneinfo; a wrong zone would open the centre at the
	// wrong hour without any error.
	_ "time/tzdata"
)

// span is one opening range in minutes since local midnight, [open, close).
type span struct{ open, close int }

// schedule is Hours parsed once.
type schedule struct {
	days     [7][]span       // by time.Weekday, sorted by open
	holidays map[string]bool // "2006-01-02", a date in the centre's zone
}

var weekdays = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// parseClock reads a strict "HH:MM". "24:00" (end of day) only when allow24.
func parseClock(s string, allow24 bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if allow24 && h == 24 && m == 0 {
		return 24 * 60, true
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// parseDate reads a strict, real "YYYY-MM-DD" (no 2025-02-30).
func parseDate(s string) bool {
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Format(time.DateOnly) == s
}

// buildSchedule parses h. report, if not nil, hears about every entry that
// does not parse, with the path to it; such entries are left out.
func buildSchedule(h Hours, report func(path []any, msg string)) *schedule {
	if report == nil {
		report = func([]any, string) {}
	}
	s := &schedule{holidays: map[string]bool{}}
	for i, w := range h.Weekly {
		at := []any{"hours", "weekly", i}
		open, okOpen := parseClock(w.Open, false)
		if !okOpen {
			report(append(at, "open"), fmt.Sprintf("hours: weekly[%d]: open %q is not a time in HH:MM form (00:00 to 23:59)", i, w.Open))
		}
		cl, okClose := parseClock(w.Close, true)
		if !okClose {
			report(append(at, "close"), fmt.Sprintf("hours: weekly[%d]: close %q is not a time in HH:MM form (00:00 to 24:00)", i, w.Close))
		}
		if okOpen && okClose && open >= cl {
			report(append(at, "close"), fmt.Sprintf("hours: weekly[%d]: open %s is not before close %s (split a range that runs past midnight in two)", i, w.Open, w.Close))
			okOpen = false
		}
		if len(w.Days) == 0 {
			report(at, fmt.Sprintf("hours: weekly[%d]: days is empty (use mon, tue, wed, thu, fri, sat, sun)", i))
		}
		seen := map[time.Weekday]bool{}
		for j, d := range w.Days {
			wd, ok := weekdays[d]
			if !ok {
				report(append(at, "days", j), fmt.Sprintf("hours: weekly[%d]: unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", i, d))
				continue
			}
			if seen[wd] {
				report(append(at, "days", j), fmt.Sprintf("hours: weekly[%d]: day %q is listed twice", i, d))
				continue
			}
			seen[wd] = true
			if okOpen && okClose {
				s.days[wd] = append(s.days[wd], span{open, cl})
			}
		}
	}
	for wd := range s.days {
		slices.SortFunc(s.days[wd], func(a, b span) int { return a.open - b.open })
	}
	for i, d := range h.Holidays {
		if !parseDate(d) {
			report([]any{"hours", "holidays", i}, fmt.Sprintf("hours: holiday %q is not a real date in YYYY-MM-DD form", d))
			continue
		}
		if s.holidays[d] {
			report([]any{"hours", "holidays", i}, fmt.Sprintf("hours: holiday %s is listed twice", d))
		}
		s.holidays[d] = true
	}
	return s
}

func (h Hours) compiled() *schedule {
	if h.sched != nil {
		return h.sched
	}
	return buildSchedule(h, nil)
}

func (h Hours) location() *time.Location {
	if h.Location != nil {
		return h.Location
	}
	if loc, err := time.LoadLocation(h.TimeZone); err == nil && h.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// IsOpen reports whether the centre is open at t: t falls in a weekly range
// of its weekday, in the centre's time zone, and that date is no holiday.
func (h Hours) IsOpen(t time.Time) bool {
	return isOpen(h.compiled(), t.In(h.location()))
}

func isOpen(s *schedule, lt time.Time) bool {
	if s.holidays[lt.Format(time.DateOnly)] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, sp := range s.days[lt.Weekday()] {
		if m >= sp.open && m < sp.close {
			return true
		}
	}
	return false
}

// searchDays bounds NextOpen: a year and a bit covers every weekly pattern
// and any run of holidays a real centre would list.
const searchDays = 400

// NextOpen returns the first moment at or after t when the centre is open: t
// itself when open, else the start of the next weekly range on a day that is
// no holiday. It returns the zero Time when the centre never opens within
// about a year (no weekly ranges, or every day a holiday).
func (h Hours) NextOpen(t time.Time) time.Time {
	s, loc := h.compiled(), h.location()
	lt := t.In(loc)
	if isOpen(s, lt) {
		return t
	}
	y, mo, d := lt.Date()
	for i := range searchDays {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, loc) // noon: clear of DST changes
		if s.holidays[day.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range s.days[day.Weekday()] {
			dy, dm, dd := day.Date()
			start := time.Date(dy, dm, dd, sp.open/60, sp.open%60, 0, 0, loc)
			if !start.Before(t) {
				return start
			}
		}
	}
	return time.Time{}
}

// Describe says, for a person starting hotline or checking its config, whether
// the line is open at t and, if not, when it opens: a newcomer trying the
// example config in the evening in another time zone should learn at once why
// every test call hears "closed".
func (h Hours) Describe(t time.Time) string {
	loc := h.location()
	lt := t.In(loc)
	if h.IsOpen(t) {
		return fmt.Sprintf("open now (%s %s)", lt.Format("Mon 15:04"), loc)
	}
	next := h.NextOpen(t)
	if next.IsZero() {
		return fmt.Sprintf("closed now (%s %s) and never opens: hours has no open range on a working day", lt.Format("Mon 15:04"), loc)
	}
	in := next.Sub(t).Round(time.Minute)
	return fmt.Sprintf("closed now (%s %s); opens %s (in %s)", lt.Format("Mon 15:04"), loc, next.In(loc).Format("Mon 2006-01-02 15:04"), fmtHM(in))
}

// fmtHM writes a duration as "2d 3h 5m", the way a person reads an opening time.
func fmtHM(d time.Duration) string {
	m := int(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}
