package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads a Go duration string such as "20s" or "1m30s". A bare
// number is refused: "20" could mean seconds or milliseconds, and guessing
// wrong would make a ring timeout a thousand times too short. Negative
// durations are refused because every duration here is a wait.
//
// The error is a *yaml.TypeError so that yaml.v3 keeps decoding and reports
// every bad duration, not only the first.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, msg := parseDuration(n)
	if msg != "" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration back in the form UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats d as time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration returns the duration in n, or a plain-sentence reason why n
// is not one.
func parseDuration(n *yaml.Node) (Duration, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, "expected a duration such as \"20s\", found " + kindName(n)
	}
	if n.ShortTag() == "!!null" {
		return 0, ""
	}
	if n.ShortTag() == "!!int" || n.ShortTag() == "!!float" {
		if n.Value == "0" {
			return 0, ""
		}
		return 0, fmt.Sprintf("duration %s has no unit (write e.g. \"%ss\")", n.Value, n.Value)
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration (write e.g. \"20s\" or \"1m30s\")", n.Value)
	}
	if d < 0 {
		return 0, fmt.Sprintf("duration %q is negative; it must be zero or more", n.Value)
	}
	return Duration(d), ""
}
