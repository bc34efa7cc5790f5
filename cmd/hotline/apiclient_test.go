package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tokenServer answers like hotline's API: 401 with its JSON reason unless
// the bearer token is "tok", else 200 with body.
func tokenServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or wrong bearer token"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Every staff command says what is wrong with its token or address in one
// line: a wrong token names the status, the API's reason and the setting
// to fix; no token, or the example's placeholder, is refused before any
// request (exit 2); an address where nothing listens asks whether hotline
// is serving there; a refusal that is not the API's JSON is shown as text.
func TestAPIClientErrors(t *testing.T) {
	srv := tokenServer(t, `[]`)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream gone", http.StatusBadGateway)
	}))
	defer plain.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("HOTLINE_API_TOKEN", "")
	t.Setenv("HOTLINE_API", "")
	for _, cmd := range [][]string{{"report", "--from", "2026-12-01", "--to", "2026-12-02"}, {"callbacks", "list"}, {"status"}, {"operators", "list"}, {"reload"}} {
		for _, tc := range []struct {
			name, api, token string
			code             int
			inErr            string
		}{
			{"wrong token", srv.URL, "nope", 1, "the API answered 401 Unauthorized: missing or wrong bearer token (check HOTLINE_API_TOKEN or --api-token)"},
			{"no token", srv.URL, "", 2, "no API token: set HOTLINE_API_TOKEN (or --api-token)"},
			{"placeholder", srv.URL, "CHANGE_ME_api_token", 2, "still holds the CHANGE_ME placeholder"},
			{"nothing listening", closed, "tok", 1, "is hotline serving its API at " + closed + "?"},
			{"not the API", plain.URL, "tok", 1, "the API answered 502 Bad Gateway: upstream gone"},
		} {
			var out, errb bytes.Buffer
			args := append(append([]string{}, cmd...), "--api", tc.api, "--api-token", tc.token)
			code := run(context.Background(), args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.inErr) || out.Len() != 0 {
				t.Errorf("%s, %s: exit %d, out %q, err %q; want %d and %q", cmd[0], tc.name, code, out.String(), errb.String(), tc.code, tc.inErr)
			}
		}
	}
}
