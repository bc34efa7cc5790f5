package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Columns are the CSV header, in order; new columns go at the end.
var Columns = []string{
	"start", "topic", "offered", "answered", "abandoned", "short_abandoned", "answered_within",
	"target_within_s", "target_percent", "service_level", "service_level_with_short", "asa_s", "aht_s",
	"callbacks_scheduled", "callback_attempts_reached", "callback_attempts_unreached",
	"callback_attempts_interrupted", "abandoned_owed", "abandoned_reached", "abandoned_reached_share",
}

// WriteCSV writes rep as CSV with the Columns header: times in RFC 3339
// with the centre's offset, ratios 0..1 and seconds with up to 3
// decimals, an undefined ratio empty.
func WriteCSV(w io.Writer, rep Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	i := strconv.Itoa
	for _, r := range rep.Rows {
		if err := cw.Write([]string{
			r.Start.Format(time.RFC3339), r.Topic, i(r.Offered), i(r.Answered), i(r.Abandoned),
			i(r.ShortAbandoned), i(r.AnsweredWithin), num(r.TargetWithinSeconds), num(r.TargetPercent),
			opt(r.ServiceLevel), opt(r.ServiceLevelAll), opt(r.ASASeconds), opt(r.AHTSeconds),
			i(r.CallbacksScheduled), i(r.AttemptsReached), i(r.AttemptsUnreached), i(r.AttemptsInterrupted),
			i(r.AbandonedOwed), i(r.AbandonedReached), opt(r.AbandonedReachShare),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes rep as one JSON document.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(*v, 'f', 3, 64), 64)
	return num(f)
}
