package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A secret left empty where required, or still holding the examples'
// CHANGE_ME placeholder (in any case), stops `hotline serve` before it
// connects anywhere, with every such setting named and no value shown.
func TestServeRefusesPlaceholderSecrets(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // settings named
	}{
		{"empty ARI password", map[string]string{}, nil, []string{"HOTLINE_ARI_PASSWORD (or --ari-password) is empty"}},
		{"ARI password of the example", map[string]string{"HOTLINE_ARI_PASSWORD": "CHANGE_ME_ari_password"}, nil,
			[]string{"HOTLINE_ARI_PASSWORD (or --ari-password) still holds the CHANGE_ME placeholder"}},
		{"every placeholder at once, any case", map[string]string{
			"HOTLINE_ARI_PASSWORD": "change_me_now", "HOTLINE_API_TOKEN": "Change_Me_api_token", "HOTLINE_REDIS_PASSWORD": "CHANGE_ME_redis",
		}, nil, []string{"HOTLINE_ARI_PASSWORD", "HOTLINE_API_TOKEN", "HOTLINE_REDIS_PASSWORD"}},
		{"placeholder in the Redis URL", map[string]string{
			"HOTLINE_ARI_PASSWORD": "real-secret", "HOTLINE_REDIS_URL": "redis://hotline:CHANGE_ME_redis@127.0.0.1:6379",
		}, nil, []string{"the password in the Redis URL, HOTLINE_REDIS_URL (or --redis)"}},
		{"placeholder given as a flag", map[string]string{"HOTLINE_ARI_PASSWORD": "real-secret"},
			[]string{"--api-token", "CHANGE_ME_api_token"}, []string{"HOTLINE_API_TOKEN (or --api-token)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearServeEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"serve", "--config", "/nonexistent.yaml"}, tt.args...), &out, &errb)
			msg := errb.String()
			if code != 2 || !strings.Contains(msg, "refusing to start") {
				t.Fatalf("exit %d: %s; want 2, refusing to start", code, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not name %q", msg, w)
				}
			}
			for _, v := range append(mapValues(tt.env), tt.args...) {
				if strings.HasPrefix(strings.ToLower(v), "change_me") && strings.Contains(msg, v) {
					t.Errorf("the error shows the value %q: %s", v, msg)
				}
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// `hotline callbacks` with the example's token says so instead of a 401.
func TestCallbacksRefusesPlaceholderToken(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"callbacks", "list", "--api", "http://127.0.0.1:1", "--api-token", "CHANGE_ME_api_token"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "HOTLINE_API_TOKEN (or --api-token), still holds the CHANGE_ME placeholder") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
