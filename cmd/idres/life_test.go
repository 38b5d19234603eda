package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// TestPatternAndTombstoneCommands runs `idres pattern`, `idres delete
// --tombstone` and `idres tombstone lift` against a real node, in the
// order the README shows them; each row depends on the ones before.
func TestPatternAndTombstoneCommands(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	steps := []struct {
		name    string
		args    []string
		code    int
		pattern string // regexp on stdout+stderr
	}{
		{"prefix", []string{"prefix", "create", "88.100"}, exitOK, ``},
		{"pattern set", []string{"pattern", "set", "88.100", "PUMP-{serial:000000-999999}", "URL=https://example.com/pumps/{serial}", "batch=B-2026-07"}, exitOK,
			`^set pattern PUMP-\{serial:000000-999999\} under 88\.100: 2 values\n$`},
		{"overlap refused", []string{"pattern", "set", "88.100", "PUMP-{x}", "URL={x}"}, exitNegative, `FailedPrecondition: .*may match the same identifiers as pattern "PUMP-\{serial:000000-999999\}"`},
		{"bad template", []string{"pattern", "set", "88.100", "VALVE-{n:0-99}", "URL={serial}"}, exitUsage, `no capture "serial"`},
		{"pattern list", []string{"pattern", "list", "88.100"}, exitOK, `(?s)^;; 88\.100/PUMP-\{serial:000000-999999\}: 2 values.*https://example\.com/pumps/\{serial\}`},
		{"resolve derived", []string{"resolve", "88.100/PUMP-000042"}, exitOK, `(?s)derived from pattern PUMP-\{serial:000000-999999\}.*https://example\.com/pumps/000042`},
		{"create", []string{"create", "88.100/Old", "URL=https://example.com/old"}, exitOK, ``},
		{"flags need --tombstone", []string{"delete", "88.100/Old", "--reason", "x"}, exitUsage, `need --tombstone`},
		{"delete with tombstone", []string{"delete", "88.100/Old", "--tombstone", "--reason", "replaced", "--successor", "88.100/New"}, exitOK,
			`^deleted 88\.100/Old, leaving a tombstone \(successor 88\.100/New\)\n$`},
		{"resolve gone", []string{"resolve", "88.100/old"}, exitNegative, `(?s)GONE.*withdrawn.*replaced; successor 88\.100/New`},
		{"re-register refused", []string{"create", "88.100/OLD", "URL=https://example.com/again"}, exitNegative, `FailedPrecondition: .*tombstone`},
		{"lift", []string{"tombstone", "lift", "88.100/old"}, exitOK, `^lifted the tombstone of 88\.100/Old; it may be registered again\n$`},
		{"re-register after lift", []string{"create", "88.100/OLD", "URL=https://example.com/again"}, exitOK, ``},
		{"pattern delete", []string{"pattern", "delete", "88.100", "PUMP-{serial:000000-999999}"}, exitOK, `^deleted pattern`},
		{"resolve after pattern delete", []string{"resolve", "88.100/PUMP-000042"}, exitNegative, `NOT_FOUND`},
	}
	for _, s := range steps {
		code, out, errs := runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", admin}, s.args...)...)
		if code != s.code || !regexp.MustCompile(s.pattern).MatchString(out+errs) {
			t.Fatalf("%s: idres %v = %d\nstdout:\n%s\nstderr:\n%s\nwant %d and /%s/", s.name, s.args, code, out, errs, s.code, s.pattern)
		}
	}
}
