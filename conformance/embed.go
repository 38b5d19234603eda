// Package conformance holds the normative specification (SPEC.md) and the
// conformance cases (cases/*.yaml) as data, embedded so that the idres
// binary carries the suite that matches its own version. The runner lives
// in conformance/runner; this package owns only the files.
package conformance

import "embed"

// Files holds SPEC.md and cases/*.yaml.
//
//go:embed SPEC.md cases/*.yaml
var Files embed.FS

// SpecFile and CasesDir are the paths of the spec and the cases in Files.
const (
	SpecFile = "SPEC.md"
	CasesDir = "cases"
)
