package runner_test

import (
	"io/fs"
	"testing"

	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
)

// FuzzParse feeds arbitrary bytes to the case parser: it must return
// cases or an error, never panic, and every error must name the file.
func FuzzParse(f *testing.F) {
	names, _ := fs.Glob(conformance.Files, conformance.CasesDir+"/*.yaml")
	for _, n := range names {
		raw, _ := fs.ReadFile(conformance.Files, n)
		f.Add(raw)
	}
	f.Add([]byte("cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        expect: {outcome: {$len: {$ge: 1}}}\n"))
	f.Add([]byte("cases: [[[["))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := runner.Parse("f.yaml", data)
		if err != nil {
			if len(err.Error()) < len("f.yaml:") || err.Error()[:7] != "f.yaml:" {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, c := range cases {
			if c.Name == "" || len(c.Requirements) == 0 {
				t.Fatalf("accepted a case without name or requirements: %+v", c)
			}
		}
	})
}

// FuzzParseSpec: the SPEC.md parser never panics.
func FuzzParseSpec(f *testing.F) {
	spec, _ := conformance.Files.ReadFile(conformance.SpecFile)
	f.Add(spec)
	f.Add([]byte("- **A-001** MUST\n- **A-001** again\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := runner.ParseSpec(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range reqs {
			if seen[r.ID] {
				t.Fatalf("duplicate id %s accepted", r.ID)
			}
			seen[r.ID] = true
		}
	})
}
