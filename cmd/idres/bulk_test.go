package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// bulkNode starts a real node holding prefix 88.100 and returns a runner
// of idres commands against it.
func bulkNode(t *testing.T) (*node.Node, func(args ...string) (int, string, string)) {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	at := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", strings.TrimSpace(string(tok))}, args...)...)
	}
	if code, _, errs := at("prefix", "create", "88.100"); code != 0 {
		t.Fatalf("prefix create: %d %s", code, errs)
	}
	return n, at
}

func TestImportExportRoundTrip(t *testing.T) {
	_, at := bulkNode(t)
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("identifier,index,type,data,ttl\n")
	for i := range 40 {
		id := fmt.Sprintf("88.100/part-%03d", (i*17)%40) // unsorted
		fmt.Fprintf(&csv, "%s,1,URL,https://example.com/%d,\n", id, i)
		if i%3 == 0 {
			fmt.Fprintf(&csv, "%s,2,batch,\"B-%d, line\nsecond\",600\n", id, i)
		}
	}
	csv.WriteString("88.100/broken,one,URL,x,\n")      // bad index: fails alone
	csv.WriteString("88.100/reserved,1,HS_ADMIN,x,\n") // the node refuses it
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errs := at("import", in, "--batch", "7")
	if code != exitNegative {
		t.Fatalf("import with 2 bad items: exit %d, want %d; stderr %s", code, exitNegative, errs)
	}
	brokenLine := strings.Count(csv.String()[:strings.Index(csv.String(), "88.100/broken")], "\n") + 1
	for _, want := range []string{
		fmt.Sprintf("line %d: 88.100/broken: InvalidArgument: index", brokenLine),
		fmt.Sprintf("line %d: 88.100/reserved: InvalidArgument:", brokenLine+1),
		"40 created, 0 replaced, 2 failed of 42 read",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if out != "" {
		t.Errorf("import wrote to stdout: %q", out)
	}

	exported := filepath.Join(dir, "out.jsonl")
	if code, _, errs := at("export", "88.100", "-o", exported); code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	first, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(first), "\n"); n != 40 {
		t.Fatalf("export wrote %d lines, want 40", n)
	}

	// Into a fresh node and back out: the same bytes.
	_, at2 := bulkNode(t)
	if code, _, errs := at2("import", exported, "--quiet"); code != 0 || errs != "" {
		t.Fatalf("re-import: exit %d, stderr %q (want 0 and nothing with --quiet)", code, errs)
	}
	code, second, errs := at2("export", "88.100")
	if code != 0 {
		t.Fatalf("export 2: %d %s", code, errs)
	}
	if second != string(first) {
		t.Fatalf("round trip changed the export:\n%s\nvs\n%s", first, second)
	}

	// Create mode again: every item AlreadyExists; replace mode: idempotent.
	if code, _, errs := at2("import", exported); code != exitNegative || !strings.Contains(errs, "0 created, 0 replaced, 40 failed") {
		t.Errorf("create again: exit %d, stderr %s", code, errs)
	}
	if code, _, errs := at2("import", exported, "--replace"); code != 0 || !strings.Contains(errs, "0 created, 40 replaced, 0 failed") {
		t.Errorf("replace: exit %d, stderr %s", code, errs)
	}
}

func TestImportUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,type\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no file", []string{"import"}, "want one FILE"},
		{"missing file", []string{"import", filepath.Join(dir, "nope.csv")}, "no such file"},
		{"bad header", []string{"import", bad}, "line 1: header"},
		{"batch out of range", []string{"import", bad, "--batch", "0"}, "--batch"},
		{"export without prefix", []string{"export"}, "want at least one PREFIX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, tc.args...)
			if code != exitUsage || !strings.Contains(errs, tc.wantErr) {
				t.Errorf("exit %d stderr %q; want %d and %q", code, errs, exitUsage, tc.wantErr)
			}
		})
	}
}
