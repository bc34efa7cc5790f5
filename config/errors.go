package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a configuration file, located so that an editor
// can jump to it: "configs/hotline.yaml:42: ivr node ...".
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem has no single place (e.g. an I/O error)
	Column int // 1-based; 0 when unknown. Kept for tools, not printed.
	Msg    string
}

func (e Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found in one file, in line order. Parse and Load
// return it (and only it) when a configuration is invalid, so callers can
// errors.As it and show all problems at once instead of one per run.
type Errors []Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find an individual Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders problems by position and then text: validation walks Go
// maps, whose order is random, and output must be stable for people and tests.
func sortErrors(es Errors) Errors {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), strings.Compare(a.Msg, b.Msg))
	})
	// The same problem can be reached twice (e.g. a node entered from two
	// places); say it once.
	return slices.Compact(es)
}
