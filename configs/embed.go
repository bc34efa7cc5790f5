// Package configs carries the example configuration, embedded so that
// `hotline demo` runs from a bare binary with no files beside it.
package configs

import "embed"

// Example is configs/hotline.yaml.
//
//go:embed hotline.yaml
var Example []byte

// ExampleName is the name errors in Example are reported under.
const ExampleName = "configs/hotline.yaml (embedded)"

// KB is the example's knowledge base (kb_dir: kb).
//
//go:embed kb
var KB embed.FS
