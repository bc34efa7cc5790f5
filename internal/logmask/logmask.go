// Package logmask keeps citizens' phone numbers out of logs. A caller's
// number to a health hotline is health data: logs are kept, shipped and
// read far more widely than call records, so a log line shows only the
// last two digits ("+7••••••••67"), enough to tell calls apart. Records
// and the API keep full numbers. For debugging, a logger built with Reveal
// writes the fields of Number in full; nothing else is ever revealed.
package logmask

import (
	"regexp"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// keep is how many trailing digits a masked number shows.
const keep = 2

// Mask hides the digits of the phone number s but its last two and, for an
// international number of 8 digits or more, the first (the country code's
// first digit tells a local caller from a foreign one). Every other
// character stays, so a caller id's formatting (or junk) is still seen:
// "8 (701) 123-45-67" becomes "• (•••) •••-••-67". Text without digits
// ("anonymous", "") is returned as is.
func Mask(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits == 0 {
		return s
	}
	first := -1 // the one leading digit shown, if any
	if t := strings.TrimLeft(s, " ("); strings.HasPrefix(t, "+") && digits >= 8 {
		first = strings.IndexFunc(t, func(r rune) bool { return r >= '0' && r <= '9' }) + len(s) - len(t)
	}
	var b strings.Builder
	b.Grow(len(s) + 2*digits)
	seen := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			b.WriteByte(c)
			continue
		}
		seen++
		if i == first || seen > digits-keep {
			b.WriteByte(c)
		} else {
			b.WriteString("•")
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Endpoint masks the number of a dial string to the outside world,
// "PJSIP/+77011234567@carrier" → "PJSIP/+7••••••••67@carrier". An endpoint
// without a trunk ("PJSIP/1001", an operator's phone) is not a citizen's
// and stays as it is.
func Endpoint(ep string) string {
	slash := strings.IndexByte(ep, '/')
	at := strings.LastIndexByte(ep, '@')
	if slash < 0 || at < slash {
		return ep
	}
	return ep[:slash+1] + Mask(ep[slash+1:at]) + ep[at:]
}

// jsonNumber matches a "number" member of JSON text (ARI's caller and
// connected party), also one cut short by truncation.
var jsonNumber = regexp.MustCompile(`("number"\s*:\s*")([^"]*)`)

// JSON masks the values of "number" members in raw JSON, such as an ARI
// event frame logged because it could not be decoded.
func JSON(b []byte) []byte {
	return jsonNumber.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := jsonNumber.FindSubmatch(m)
		return append(append([]byte(nil), sub[1]...), Mask(string(sub[2]))...)
	})
}

// number is a citizen's number in a log field: it encodes masked, unless a
// Reveal core swaps it for the full string.
type number string

func (n number) String() string { return Mask(string(n)) }

// Number is the zap field for a citizen's phone number: use it for every
// log field that holds one (caller, callback number, keyed-in number).
func Number(key, n string) zap.Field { return zap.Stringer(key, number(n)) }

// Reveal wraps core so that Number fields are written in full: a debugging
// switch (hotline serve --log-full-numbers), off by default.
func Reveal(core zapcore.Core) zapcore.Core { return revealCore{core} }

type revealCore struct{ zapcore.Core }

func (c revealCore) With(fs []zapcore.Field) zapcore.Core {
	return revealCore{c.Core.With(reveal(fs))}
}

func (c revealCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c revealCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	return c.Core.Write(e, reveal(fs))
}

// reveal returns fs with every Number field in full (a copy when any is).
func reveal(fs []zapcore.Field) []zapcore.Field {
	var out []zapcore.Field
	for i, f := range fs {
		n, ok := f.Interface.(number)
		if !ok || f.Type != zapcore.StringerType {
			continue
		}
		if out == nil {
			out = append([]zapcore.Field(nil), fs...)
		}
		out[i] = zap.String(f.Key, string(n))
	}
	if out == nil {
		return fs
	}
	return out
}
