package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
)

// ConfigRefused is a Reload error that is the new config's fault (it
// fails validation, or cannot be read): the running config is kept and
// the API answers 422 with Err's problems. Any other Reload error is 500.
type ConfigRefused struct{ Err error }

func (e ConfigRefused) Error() string { return "config refused: " + e.Err.Error() }
func (e ConfigRefused) Unwrap() error { return e.Err }

// problems are the refused config's problems, one a line (config.Errors
// has one per problem, with its file and line).
func (e ConfigRefused) problems() []string {
	var errs config.Errors
	if !errors.As(e.Err, &errs) {
		return []string{e.Err.Error()}
	}
	out := make([]string, len(errs))
	for i, p := range errs {
		out[i] = p.Error()
	}
	return out
}

// CaseExport is every case opened from the desktops, for the admins'
// export (an operator's desktop exports only their own).
type CaseExport interface {
	// WriteCasesCSV writes the cases opened in [from, to) as CSV and
	// says how many it wrote.
	WriteCasesCSV(ctx context.Context, w io.Writer, from, to time.Time) (int, error)
	// Location is the centre's time zone, in which a bare date is read.
	Location() *time.Location
}

// adminRoutes adds what only an admin may do: POST /api/v1/config/reload
// when o.Reload is set, GET /api/v1/cases.csv when o.Cases is; allow is
// the role check.
func adminRoutes(mux *http.ServeMux, o Options, allow func(string, func(http.ResponseWriter, *http.Request, Actor)) http.HandlerFunc) {
	if o.Reload != nil {
		mux.HandleFunc("POST /api/v1/config/reload", allow(RoleAdmin, o.reloadConfig))
	}
	if o.Cases != nil {
		mux.HandleFunc("GET /api/v1/cases.csv", allow(RoleAdmin, o.exportCases))
	}
}

func (o Options) reloadConfig(w http.ResponseWriter, r *http.Request, a Actor) {
	// A reload stopped halfway by a client that gave up would leave the
	// parts of the config it reached: it runs to its end (Reload bounds it).
	summary, err := o.Reload(context.WithoutCancel(r.Context()))
	var refused ConfigRefused
	switch {
	case errors.As(err, &refused):
		ps := refused.problems()
		o.Log.Warn("config reload over the API refused", zap.String("actor", a.ID), zap.Int("problems", len(ps)))
		o.audit(a, "config_reload_refused", "config", fmt.Sprintf("%d problems", len(ps)))
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": "the config file is refused; the running config is kept", "problems": ps,
		})
	case err != nil:
		o.Log.Error("config reload over the API failed", zap.String("actor", a.ID), zap.Error(err))
		o.audit(a, "config_reload_failed", "config", "")
		writeJSON(w, http.StatusInternalServerError, errBody("config reload failed; the running config is kept: "+err.Error()))
	default:
		o.Log.Info("config reloaded over the API", zap.String("actor", a.ID))
		o.audit(a, "config_reload", "config", summary)
		writeJSON(w, http.StatusOK, map[string]string{"result": "reloaded", "summary": summary})
	}
}

func (o Options) exportCases(w http.ResponseWriter, r *http.Request, a Actor) {
	loc := o.Cases.Location()
	from, to, err := casesPeriod(r.URL.Query(), loc, o.now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	// Written whole before the status, so a failure halfway is a 503 and
	// not a truncated file that looks complete.
	var buf bytes.Buffer
	n, err := o.Cases.WriteCasesCSV(ctx, &buf, from, to)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errBody(err.Error()))
		return
	}
	o.Log.Info("cases exported", zap.String("actor", a.ID), zap.Int("cases", n), zap.Time("from", from), zap.Time("to", to))
	o.audit(a, "cases_export", "cases", fmt.Sprintf("%d cases %s..%s", n, from.Format(time.RFC3339), to.Format(time.RFC3339)))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hotline-cases-%s-%s.csv"`,
		from.In(loc).Format("20060102"), to.In(loc).Format("20060102")))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// casesPeriod reads the export's from and to like the report's (a date is
// midnight in loc; to is excluded). By default to is the end of today and
// from 31 days before to: today and the 30 days before it.
func casesPeriod(v url.Values, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	if from, err = parseTime("from", v.Get("from"), loc); err != nil {
		return from, to, err
	}
	if to, err = parseTime("to", v.Get("to"), loc); err != nil {
		return from, to, err
	}
	if to.IsZero() {
		n := now.In(loc)
		to = time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -31)
	}
	if !to.After(from) {
		return from, to, errors.New("from must be before to")
	}
	return from, to, nil
}

// audit records an actor's action when the app keeps an audit.
func (o Options) audit(a Actor, action, target, detail string) {
	if o.Audit != nil {
		o.Audit(a, action, target, detail)
	}
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}
