package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient is a running hotline's HTTP API as the staff commands (report,
// callbacks, status, operators, reload) call it: one place for the --api
// and --api-token flags, the bearer header, the time limit and the reading
// of a refusal.
type apiClient struct {
	base, token string
	timeout     time.Duration
}

// maxAnswer bounds a JSON answer read into memory (a callbacks list of a
// busy centre is far below it); streamed answers (report) are not bounded.
const maxAnswer = 8 << 20

// newAPIClient registers --api and --api-token on fs; each request may
// take up to timeout.
func newAPIClient(fs *flag.FlagSet, timeout time.Duration) *apiClient {
	c := &apiClient{timeout: timeout}
	fs.StringVar(&c.base, "api", envOr("HOTLINE_API", "http://127.0.0.1:8080"), "a running hotline's HTTP API (HOTLINE_API)")
	fs.StringVar(&c.token, "api-token", envOr("HOTLINE_API_TOKEN", ""), "bearer token (HOTLINE_API_TOKEN)")
	return c
}

// check refuses a token that cannot work, before any request: none at all
// (every answer would be 401) or the example's CHANGE_ME placeholder.
func (c *apiClient) check() error {
	switch {
	case strings.TrimSpace(c.token) == "":
		return usagef("no API token: set HOTLINE_API_TOKEN (or --api-token) to the token hotline serve was started with")
	case isPlaceholder(c.token):
		return usagef("the API token, HOTLINE_API_TOKEN (or --api-token), still holds the CHANGE_ME placeholder of the example")
	}
	return nil
}

// apiError is an answer other than 2xx: its status and what the API said
// (its {"error": ...}, and the config's problems for a refused reload).
type apiError struct {
	Code     int
	Status   string // "403 Forbidden"
	Message  string
	Problems []string
}

func (e *apiError) Error() string {
	msg := "the API answered " + e.Status
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Code == http.StatusUnauthorized {
		msg += " (check HOTLINE_API_TOKEN or --api-token)"
	}
	for _, p := range e.Problems {
		msg += "\n  " + p
	}
	return msg
}

// readAPIError reads a refusal's body: the API's JSON {"error", "problems"}
// or, from something else on that address, its text.
func readAPIError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &apiError{Code: resp.StatusCode, Status: resp.Status}
	var v struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error != "" {
		e.Message, e.Problems = v.Error, v.Problems
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}

// send makes one request (body, when not nil, as JSON) and returns the
// answer when it is 2xx; closing its body ends the request's time limit.
func (c *apiClient) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("--api %q: %w", c.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("is hotline serving its API at %s? %w", c.base, err)
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// cancelOnClose is an answer's body that ends its request's context when
// closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

// call makes one request and returns the whole answer's body.
func (c *apiClient) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read the API's answer: %w", err)
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("the API's answer to %s %s is over %d MiB", method, path, maxAnswer>>20)
	}
	return b, nil
}

// getJSON reads GET path's JSON answer into v.
func (c *apiClient) getJSON(ctx context.Context, path string, v any) error {
	b, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the API's answer to GET %s is not what this hotline expects: %w", path, err)
	}
	return nil
}

// copyTo streams GET path's answer into w as it comes (a long report).
func (c *apiClient) copyTo(ctx context.Context, path string, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("read the API's answer: %w", err)
	}
	return nil
}

// printJSON writes a JSON answer indented for a person; anything else as
// it came.
func printJSON(w io.Writer, body []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, bytes.TrimSpace(body), "", "  ") == nil {
		buf.WriteByte('\n')
		body = buf.Bytes()
	}
	_, err := w.Write(body)
	return err
}
