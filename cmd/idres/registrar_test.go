package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// TestRegistrarCommands walks the README's registrars story: the node
// administrator gives a company a credential for 88.100.1; the company
// registers parts there, is refused on 88.100.2, and a template and the
// audit log do their work.
func TestRegistrarCommands(t *testing.T) {
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
	as := func(tok string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", tok}, args...)...)
	}
	dir := t.TempDir()
	tplFile := filepath.Join(dir, "parts.yaml")
	if err := os.WriteFile(tplFile, []byte("fields:\n  - {type: gtin, kind: gs1-gtin, required: true}\n  - {type: colour, kind: enum, choices: [red, green]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badTpl := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badTpl, []byte(`{"fields":[{"type":"x","kind":"string","maxLen":3}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"88.100", "88.100.1", "88.100.2"} {
		if code, _, errs := as(admin, "prefix", "create", p); code != exitOK {
			t.Fatalf("prefix create %s: %s", p, errs)
		}
	}
	code, out, _ := as(admin, "cred", "issue", "88.100.1", "--role", "admin", "--expires", "720h", "--note", "ACME parts")
	if code != exitOK {
		t.Fatalf("cred issue: %d %s", code, out)
	}
	m := regexp.MustCompile(`(?m)^token: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in %q", out)
	}
	acme := m[1]
	id, _, _ := strings.Cut(acme, ".")

	steps := []struct {
		name    string
		tok     string
		args    []string
		code    int
		pattern string // regexp on stdout+stderr
	}{
		{"registrar creates a part", acme, []string{"create", "88.100.1/part-1", "URL=https://acme.example/p/1"}, exitOK, ``},
		{"registrar refused on a sibling", acme, []string{"create", "88.100.2/part-1", "URL=https://acme.example/p/1"}, exitServer, `PermissionDenied: .*covers prefix "88.100.1", not prefix "88.100.2"`},
		{"registrar refused a broader credential", acme, []string{"cred", "issue", "88.100", "--role", "read"}, exitServer, `PermissionDenied`},
		{"registrar issues a sub-credential", acme, []string{"cred", "issue", "88.100.1", "--role", "write"}, exitOK, `issued credential [0-9a-f]{16}: role write on 88\.100\.1`},
		{"template set from YAML", acme, []string{"template", "set", "88.100.1", tplFile}, exitOK, `set template of 88\.100\.1: 2 fields`},
		{"template with an unknown key", acme, []string{"template", "set", "88.100.1", badTpl}, exitUsage, `maxLen`},
		{"template get", acme, []string{"template", "get", "88.100.1"}, exitOK, `gtin\s+gs1-gtin\s+required`},
		{"template violation", acme, []string{"create", "88.100.1/part-2", "gtin=4006381333932"}, exitUsage, `InvalidArgument: .*field "gtin".*rule gs1-gtin.*"4006381333932"`},
		{"template satisfied", acme, []string{"create", "88.100.1/part-2", "gtin=4006381333931", "colour=red"}, exitOK, ``},
		{"audit of the subtree", acme, []string{"audit"}, exitOK, `(?s)CreatePrefix\s+88\.100\.1.*CreateIdentifier\s+88\.100\.1/part-1.*SetTemplate.*CreateIdentifier\s+88\.100\.1/part-2`},
		{"audit outside the subtree", acme, []string{"audit", "--prefix", "88.100"}, exitServer, `PermissionDenied`},
		{"audit since the future", admin, []string{"audit", "--since", "2999-01-01T00:00:00Z"}, exitOK, `^;; seq`},
		{"audit json", admin, []string{"audit", "--limit", "1", "--json"}, exitOK, `(?s)"call": "FirstStart".*"nextPageToken"`},
		{"token to a file", admin, []string{"cred", "issue", "88.100.2", "--role", "read", "--token-out", filepath.Join(dir, "r.token")}, exitOK, `token written to .*r\.token \(mode 0600\)`},
		{"token file never overwritten", admin, []string{"cred", "issue", "88.100.2", "--role", "read", "--token-out", filepath.Join(dir, "r.token")}, exitServer, `file exists; revoke the unusable credential with: idres cred revoke [0-9a-f]{16}`},
		{"cred list", admin, []string{"cred", "list", "--prefix", "88.100.1"}, exitOK, id + `\s+88\.100\.1\s+admin.*active.*ACME parts`},
		{"revoke", admin, []string{"cred", "revoke", acme}, exitOK, `revoked credential ` + id},
		{"revoked token refused", acme, []string{"create", "88.100.1/part-3", "URL=https://x"}, exitServer, `Unauthenticated`},
		{"issue needs a role", admin, []string{"cred", "issue", "88.100.1"}, exitUsage, `--role is required`},
		{"bad expiry", admin, []string{"cred", "issue", "88.100.1", "--role", "read", "--expires", "soon"}, exitUsage, `neither a duration`},
		{"--cert without --key", admin, []string{"--cert", tplFile, "prefix", "list"}, exitUsage, `needs both --cert and --key`},
		{"--ca not PEM", admin, []string{"--ca", tplFile, "prefix", "list"}, exitUsage, `no PEM certificate`},
	}
	for _, s := range steps {
		code, out, errs := as(s.tok, s.args...)
		if code != s.code || !regexp.MustCompile(s.pattern).MatchString(out+errs) {
			t.Errorf("%s: idres %s: exit %d, want %d matching %q\nstdout: %s\nstderr: %s", s.name, strings.Join(s.args, " "), code, s.code, s.pattern, out, errs)
		}
	}
	// The token file works and is private.
	raw, err = os.ReadFile(filepath.Join(dir, "r.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "r.token")); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if code, _, errs := runCLI(t, nil, "--server", n.GRPCAddr(), "--token-file", filepath.Join(dir, "r.token"), "prefix", "get", "88.100.2"); code != exitOK {
		t.Errorf("token from --token-out: exit %d: %s", code, errs)
	}
}
