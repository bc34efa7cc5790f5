package main

import (
	"strings"

	"github.com/hotline-acd/hotline/internal/redisopt"
)

// placeholderPrefix starts every secret the templates in deploy/ ship
// (CHANGE_ME_ari_password, CHANGE_ME_api_token, requirepass CHANGE_ME).
const placeholderPrefix = "change_me"

// isPlaceholder reports whether v is still a template's placeholder.
func isPlaceholder(v string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), placeholderPrefix)
}

// secret is one secret setting, named as a person sets it.
type secret struct {
	name     string // e.g. "HOTLINE_ARI_PASSWORD (--ari-password)"
	value    string
	required bool
}

// checkSecrets refuses secrets left empty where required, or still holding
// a CHANGE_ME placeholder: hotline would otherwise run with a password
// published in its own repository. Errors name the setting, never its
// value, and list every problem at once.
func checkSecrets(ss ...secret) error {
	var problems []string
	for _, s := range ss {
		switch {
		case s.required && strings.TrimSpace(s.value) == "":
			problems = append(problems, s.name+" is empty")
		case isPlaceholder(s.value):
			problems = append(problems, s.name+" still holds the CHANGE_ME placeholder of the example: set a real secret")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return usagef("refusing to start: %s", strings.Join(problems, "; "))
}

// checkSecrets checks every secret `hotline serve` reads.
func (f *serveFlags) checkSecrets() error {
	ss := []secret{
		{name: "the ARI password, HOTLINE_ARI_PASSWORD (or --ari-password)", value: f.ariPassword, required: true},
		{name: "the API token, HOTLINE_API_TOKEN (or --api-token)", value: f.apiToken},
		{name: "the Redis password, HOTLINE_REDIS_PASSWORD", value: f.redisPassword},
	}
	// A password written into the URL (redis://user:CHANGE_ME@...). A
	// malformed URL is left to app.New, which says what is wrong with it.
	if c, err := (redisopt.Settings{URL: f.redis}).Conn(); err == nil {
		pw := ""
		switch c.Mode {
		case redisopt.Sentinel:
			pw = c.Failover.SentinelPassword
		case redisopt.Cluster:
			pw = c.Cluster.Password
		default:
			pw = c.Simple.Password
		}
		ss = append(ss, secret{name: "the password in the Redis URL, HOTLINE_REDIS_URL (or --redis)", value: pw})
	}
	return checkSecrets(ss...)
}
