package runner_test

import (
	"testing"

	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
)

func BenchmarkLoadSuite(b *testing.B) {
	for b.Loop() {
		if _, err := runner.LoadFS(conformance.Files, conformance.CasesDir); err != nil {
			b.Fatal(err)
		}
	}
}
