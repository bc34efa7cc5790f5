package ariadapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hotline-acd/hotline/pbx"
)

// Snoop creates a snoop channel on req.ChannelID under req.SnoopID in the
// application (POST /channels/{id}/snoop/{snoopId}). A missing channel
// gives ErrNotFound.
func (c *Client) Snoop(ctx context.Context, req pbx.SnoopRequest) (pbx.Channel, error) {
	if err := validID("channel", req.ChannelID); err != nil {
		return pbx.Channel{}, err
	}
	if err := validID("snoop channel", req.SnoopID); err != nil {
		return pbx.Channel{}, err
	}
	dir := func(d string) (string, error) {
		switch d {
		case "":
			return pbx.SnoopNone, nil
		case pbx.SnoopNone, pbx.SnoopIn, pbx.SnoopOut, pbx.SnoopBoth:
			return d, nil
		}
		return "", fmt.Errorf("ari: snoop %s: invalid direction %q", req.SnoopID, d)
	}
	spy, err := dir(req.Spy)
	if err != nil {
		return pbx.Channel{}, err
	}
	whisper, err := dir(req.Whisper)
	if err != nil {
		return pbx.Channel{}, err
	}
	if spy == pbx.SnoopNone && whisper == pbx.SnoopNone {
		return pbx.Channel{}, fmt.Errorf("ari: snoop %s: neither spy nor whisper", req.SnoopID)
	}
	for _, a := range req.Args {
		if strings.Contains(a, ",") {
			return pbx.Channel{}, fmt.Errorf("ari: snoop arg %q contains a comma", a)
		}
	}
	q := url.Values{"spy": {spy}, "whisper": {whisper}, "app": {c.opts.App}}
	if len(req.Args) > 0 {
		q.Set("appArgs", strings.Join(req.Args, ","))
	}
	var ch wireChannel
	err = c.raw(ctx, opChannel, "snoop "+req.SnoopID, req.ChannelID, http.MethodPost,
		"/channels/"+url.PathEscape(req.ChannelID)+"/snoop/"+url.PathEscape(req.SnoopID), q, nil, &ch)
	if err != nil {
		return pbx.Channel{}, err
	}
	out := ch.toPBX()
	if out.ID == "" {
		out.ID = req.SnoopID
	}
	return out, nil
}

// validName refuses recording names Asterisk would take as a path.
func validName(name string) error {
	if err := validID("recording", name); err != nil {
		return err
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return fmt.Errorf("ari: invalid recording name %q", name)
	}
	return nil
}

// RecordBridge starts recording bridgeID's mix as name (POST
// /bridges/{id}/record, ifExists=fail, no beep, no DTMF termination).
func (c *Client) RecordBridge(ctx context.Context, bridgeID, name, format string) error {
	if err := validID("bridge", bridgeID); err != nil {
		return err
	}
	if err := validName(name); err != nil {
		return err
	}
	if format == "" {
		return errors.New("ari: bridge recording without format")
	}
	q := url.Values{"name": {name}, "format": {format}, "ifExists": {"fail"},
		"beep": {"false"}, "terminateOn": {"none"}}
	return c.raw(ctx, opOther, "record bridge "+bridgeID, name, http.MethodPost,
		"/bridges/"+url.PathEscape(bridgeID)+"/record", q, nil, nil)
}

// StopRecording stops live recording name (POST /recordings/live/{name}/stop).
func (c *Client) StopRecording(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	return c.raw(ctx, opOther, "stop recording", name, http.MethodPost,
		"/recordings/live/"+url.PathEscape(name)+"/stop", nil, nil, nil)
}

// StoredRecordings lists the stored recordings (GET /recordings/stored).
func (c *Client) StoredRecordings(ctx context.Context) ([]pbx.StoredRecording, error) {
	var list []struct {
		Name   string `json:"name"`
		Format string `json:"format"`
	}
	if err := c.raw(ctx, opOther, "stored recordings", "", http.MethodGet, "/recordings/stored", nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]pbx.StoredRecording, 0, len(list))
	for _, r := range list {
		out = append(out, pbx.StoredRecording{Name: r.Name, Format: r.Format})
	}
	return out, nil
}

// DeleteRecording deletes stored recording name.
func (c *Client) DeleteRecording(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	return c.raw(ctx, opOther, "delete recording", name, http.MethodDelete,
		"/recordings/stored/"+url.PathEscape(name), nil, nil, nil)
}

// RecordingFile opens stored recording name's audio (GET
// /recordings/stored/{name}/file). The headers must come within the
// command timeout; the body is streamed under ctx alone (an hour of wav
// is 57 MB), so the caller bounds the copy and closes the reader.
func (c *Client) RecordingFile(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if !c.enter() {
		return nil, &HTTPError{Op: "recording file", ID: name, cause: ErrClosed}
	}
	defer c.inflight.Done()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.opts.URL+"/recordings/stored/"+url.PathEscape(name)+"/file", nil)
	if err != nil {
		return nil, &HTTPError{Op: "recording file", ID: name, cause: err}
	}
	req.SetBasicAuth(c.opts.User, c.opts.Password)
	hc := &http.Client{Transport: c.http.Transport} // no overall timeout: the body streams
	resp, err := hc.Do(req)
	if err != nil {
		return nil, mapErr(opOther, "recording file", name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, &HTTPError{Op: "recording file", ID: name, Status: resp.StatusCode,
			sentinel: mapStatus(opOther, resp.StatusCode)}
	}
	return resp.Body, nil
}
