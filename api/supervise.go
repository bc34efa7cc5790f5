package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Supervision is listening to and whispering into live calls, and the
// conversations' recordings: a supervisor's.
type Supervision interface {
	// Monitor rings the supervisor's phone (endpoint, e.g. PJSIP/1901)
	// into agent's conversation: mode listen or whisper.
	Monitor(ctx context.Context, endpoint, agent, mode string) (string, error)
	// StopMonitor ends monitor id (ErrNotFound: no such monitor); it
	// returns whose conversation it was and the phone rung, for the audit.
	StopMonitor(ctx context.Context, id string) (agent, endpoint string, err error)
	Recordings(ctx context.Context) (any, error)
	RecordingFile(ctx context.Context, name string) (io.ReadCloser, error)
}

// superviseRoutes adds the supervision routes; allow is the role check.
func superviseRoutes(mux *http.ServeMux, o Options, allow func(string, func(http.ResponseWriter, *http.Request, Actor)) http.HandlerFunc) {
	s := o.Supervision
	if s == nil {
		return
	}
	mux.HandleFunc("POST /api/v1/agents/{id}/monitor", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, a Actor) {
		id := r.PathValue("id")
		if !validID(w, id) {
			return
		}
		var body struct {
			Endpoint string `json:"endpoint"`
			Mode     string `json:"mode"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || !endpointPattern.MatchString(body.Endpoint) || (body.Mode != "listen" && body.Mode != "whisper") {
			writeJSON(w, http.StatusBadRequest, errBody(`body must be JSON like {"endpoint":"PJSIP/1901","mode":"listen"} (mode listen or whisper)`))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		mid, err := s.Monitor(ctx, body.Endpoint, id, body.Mode)
		if err != nil {
			writeJSON(w, http.StatusConflict, errBody(err.Error()))
			return
		}
		o.Log.Info("monitor", zap.String("agent", id), zap.String("mode", body.Mode), zap.String("actor", a.ID))
		if o.Audit != nil {
			o.Audit(a, "monitor_"+body.Mode, id, body.Endpoint)
		}
		writeJSON(w, http.StatusOK, map[string]string{"monitor": mid})
	}))
	mux.HandleFunc("POST /api/v1/monitors/{id}/stop", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, a Actor) {
		id := r.PathValue("id")
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		agent, endpoint, err := s.StopMonitor(ctx, id)
		if err != nil {
			status := http.StatusServiceUnavailable // e.g. its instance being taken over
			if errors.Is(err, ErrNotFound) {
				status = http.StatusNotFound
			}
			writeJSON(w, status, errBody(err.Error()))
			return
		}
		o.Log.Info("monitor stopped", zap.String("monitor", id), zap.String("agent", agent), zap.String("actor", a.ID))
		if agent == "" {
			agent = id // whose it was is unknown: the audit names the monitor
		}
		o.audit(a, "monitor_stop", agent, endpoint)
		writeJSON(w, http.StatusOK, map[string]string{"result": "stopped"})
	}))
	mux.HandleFunc("GET /api/v1/recordings", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, _ Actor) {
		v, err := s.Recordings(r.Context())
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, errBody(err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}))
	mux.HandleFunc("GET /api/v1/recordings/{name}", allow(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, a Actor) {
		name := r.PathValue("name")
		f, err := s.RecordingFile(r.Context(), name)
		if err != nil {
			status := http.StatusServiceUnavailable
			if errors.Is(err, ErrNotFound) {
				status = http.StatusNotFound
			}
			writeJSON(w, status, errBody(err.Error()))
			return
		}
		defer f.Close()
		if o.Audit != nil {
			o.Audit(a, "recording_fetch", name, "")
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".wav"))
		_, _ = io.Copy(w, f)
	}))
}

// ErrNotFound is what Supervision wraps for an unknown recording, and
// Callbacks for an unknown callback (404).
var ErrNotFound = errors.New("api: not found")

// ErrInvalid is what Callbacks wraps for a well-formed request naming
// something that does not exist, such as a topic not configured (422).
var ErrInvalid = errors.New("api: request cannot be applied")
