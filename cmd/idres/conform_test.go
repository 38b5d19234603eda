package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestConformSpawn is the conformance gate of `make test`: it builds the
// real idres and idresd, runs `idres conform --spawn --junit FILE` (a
// throwaway hierarchy of idresd processes), and fails on any failed case.
func TestConformSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and spawns nodes; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	build := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/idres/idres/cmd/idres", "github.com/idres/idres/cmd/idresd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	junit := filepath.Join(dir, "conform.xml")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(dir, "idres"), "conform", "--spawn", "--junit", junit)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := stdout.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fail") {
			t.Errorf("%s", line)
		}
	}
	if err != nil {
		t.Fatalf("idres conform --spawn: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in output:\n%s", out)
	}
	if m[1] == "0" || m[2] != "0" {
		t.Errorf("summary %q: want some passed and none failed", m[0])
	}
	t.Logf("%s", m[0])
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "skip") {
			t.Logf("%s", line)
		}
	}

	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("--junit file: %v", err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("--junit file is not XML: %v", err)
	}
	if doc.Tests == 0 || doc.Failures != 0 {
		t.Errorf("junit: %d tests, %d failures", doc.Tests, doc.Failures)
	}
}

// TestConformListAndCoverage checks the offline modes: --list names each
// case with its requirement ids, --coverage reports no MUST without a case.
func TestConformListAndCoverage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"conform", "--list"}, &out, &errb, nil); code != exitOK {
		t.Fatalf("--list: exit %d: %s", code, errb.String())
	}
	if !regexp.MustCompile(`(?m)^identifiers/ascii-case-folded\s+ID-005,ID-006\s`).MatchString(out.String()) {
		t.Errorf("--list output lacks identifiers/ascii-case-folded with its ids:\n%s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"conform", "--coverage"}, &out, &errb, nil); code != exitOK {
		t.Fatalf("--coverage: exit %d:\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), " 0 MUST without a case") {
		t.Errorf("--coverage summary:\n%s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"conform", "--run", "^values/", "--list"}, &out, &errb, nil); code != exitOK || strings.Contains(out.String(), "identifiers/") {
		t.Errorf("--run ^values/ --list: exit %d, output:\n%s", code, out.String())
	}
}
