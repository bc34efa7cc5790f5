package sim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hotline-acd/hotline/records"
)

// A distribution with dist: records is drawn from hotline's own call
// records of the topic (a file of what GET /api/v1/records answers):
//
//	talk      the answered calls' conversations (answered to ended),
//	          drawn with equal weight;
//	patience  Kaplan–Meier over the offered calls' waits: an abandon is a
//	          caller's patience running out, an answered call only says
//	          the patience was longer than its wait. Beyond the longest
//	          wait seen the records say nothing, and such a caller never
//	          gives up.
//
// Abandons alone would make callers too impatient: the patient ones were
// answered before their patience showed.

// neverGivesUp is the patience of a caller the records cannot bound: longer
// than any simulated day.
const neverGivesUp = 30 * 24 * time.Hour

// survival is a Kaplan–Meier estimate: after at[i] the share still
// waiting is left[i] (non-increasing).
type survival struct {
	at   []time.Duration
	left []float64
}

// kaplanMeier estimates patience from waits that ended in an abandon
// (gaveUp) or were cut short by an answer (!gaveUp).
func kaplanMeier(waits []time.Duration, gaveUp []bool) survival {
	idx := make([]int, len(waits))
	for i := range idx {
		idx[i] = i
	}
	// At equal times the abandons come first: an answer at t says the
	// patience was at least t.
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(waits[a], waits[b]); c != 0 {
			return c
		}
		switch {
		case gaveUp[a] == gaveUp[b]:
			return 0
		case gaveUp[a]:
			return -1
		}
		return 1
	})
	var s survival
	left, atRisk := 1.0, len(waits)
	for i := 0; i < len(idx); {
		t := waits[idx[i]]
		events, n := 0, 0
		for ; i < len(idx) && waits[idx[i]] == t; i++ {
			n++
			if gaveUp[idx[i]] {
				events++
			}
		}
		if events > 0 {
			left *= 1 - float64(events)/float64(atRisk)
			s.at = append(s.at, t)
			s.left = append(s.left, left)
		}
		atRisk -= n
	}
	return s
}

// draw inverts the estimate: the first time the share still waiting falls
// to a uniform draw.
func (s survival) draw(r *rand.Rand) time.Duration {
	u := r.Float64()
	i, _ := slices.BinarySearchFunc(s.left, u, func(left, u float64) int {
		if left > u {
			return -1
		}
		return 1
	})
	if i == len(s.left) {
		return neverGivesUp
	}
	return s.at[i]
}

// recordFiles caches the files a scenario names (relative to the scenario).
type recordFiles map[string][]records.Record

func (f recordFiles) load(scenarioFile, name string) ([]records.Record, error) {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(scenarioFile), name)
	}
	if recs, ok := f[path]; ok {
		return recs, nil
	}
	recs, err := readRecords(path)
	if err != nil {
		return nil, err
	}
	f[path] = recs
	return recs, nil
}

// readRecords reads a file of JSON values, each a page of GET
// /api/v1/records ({"records": [...]}), an array of records or one record:
// pages fetched one after the other can be appended to one file.
func readRecords(path string) ([]records.Record, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	dec := json.NewDecoder(fh)
	var out []records.Record
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		bad := fmt.Errorf("%s: a value at offset %d is neither a page of /api/v1/records, a list of records nor a record", path, dec.InputOffset())
		// One parse per value: the decoder left no space before it, and an
		// object is a page when it holds "records", else one record.
		switch raw[0] {
		case '[':
			var list []records.Record
			if json.Unmarshal(raw, &list) != nil {
				return nil, bad
			}
			out = append(out, list...)
		case '{':
			var v struct {
				Records *[]records.Record `json:"records"`
				records.Record
			}
			switch {
			case json.Unmarshal(raw, &v) != nil:
				return nil, bad
			case v.Records != nil:
				out = append(out, *v.Records...)
			case v.CallID != "":
				out = append(out, v.Record)
			default:
				return nil, bad
			}
		default:
			return nil, bad
		}
	}
}

// fromRecords fills d (dist: records) from topic's records; talk says
// which of the two it is. It returns what is wrong, or "".
func (d *Dist) fromRecords(recs []records.Record, topic string, talk bool) string {
	var waits, talks []time.Duration
	var gaveUp []bool
	for _, r := range recs {
		c := r.Count(0)
		if r.Topic != topic || !c.Offered {
			continue
		}
		switch {
		case c.Answered && !r.EndedAt.IsZero() && r.EndedAt.After(r.AnsweredAt):
			talks = append(talks, r.EndedAt.Sub(r.AnsweredAt))
			waits, gaveUp = append(waits, r.Wait), append(gaveUp, false)
		case c.Abandoned:
			waits, gaveUp = append(waits, r.Wait), append(gaveUp, true)
		}
	}
	if talk {
		if len(talks) == 0 {
			return fmt.Sprintf("%s holds no answered call of topic %q", d.Records, topic)
		}
		d.sample = talks
		return ""
	}
	if len(waits) == 0 {
		return fmt.Sprintf("%s holds no answered or abandoned call of topic %q", d.Records, topic)
	}
	d.patience = kaplanMeier(waits, gaveUp)
	return ""
}
