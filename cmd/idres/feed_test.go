package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
)

// TestSearchAndWatchCommands runs `idres search` and `idres watch` against
// a real node, as the README shows them.
func TestSearchAndWatchCommands(t *testing.T) {
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
	as := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", admin}, args...)...)
	}
	for _, args := range [][]string{
		{"prefix", "create", "88.100"},
		{"prefix", "create", "88.100.1"},
		{"create", "88.100.1/PUMP-1", "batch=B-2026-07", "URL=https://acme.example/p/1"},
		{"create", "88.100.1/PUMP-2", "batch=B-2026-07"},
		{"create", "88.100/VALVE-1", "batch=B-2026-08"},
	} {
		if code, _, errs := as(args...); code != exitOK {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	rev, err := n.Store().Revision()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"set", "88.100.1/PUMP-2", "2:URL=https://acme.example/p/2"},
		{"delete", "88.100.1/PUMP-1"},
	} {
		if code, _, errs := as(args...); code != exitOK {
			t.Fatalf("%v: %s", args, errs)
		}
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		pattern string // regexp on stdout+stderr
	}{
		{"search exact", []string{"search", "88.100", "batch=B-2026-07"}, exitOK, `(?s)^;; identifier\s+index\s+type\s+data\n88\.100\.1/PUMP-2\s+1\s+batch\s+B-2026-07\n;; 1 hit\n$`},
		{"search value prefix", []string{"search", "88.100", "batch=B-2026", "--prefix-match"}, exitOK, `(?s)VALVE-1.*PUMP-2.*;; 2 hits`},
		{"search pages", []string{"search", "88.100", "batch=B", "--prefix-match", "--limit", "1"}, exitOK, `;; more: --page-token \S+`},
		{"search all pages", []string{"search", "88.100", "batch=B", "--prefix-match", "--limit", "1", "--all"}, exitOK, `(?s)VALVE-1.*PUMP-2.*;; 2 hits\n$`},
		{"search json", []string{"search", "88.100", "batch=B-2026-08", "--json"}, exitOK, `"identifier": "88.100/VALVE-1"`},
		{"search nothing", []string{"search", "88.100", "batch=none"}, exitOK, `;; 0 hits`},
		{"search needs TYPE=VALUE", []string{"search", "88.100", "batch"}, exitUsage, `TYPE=DATA`},
		{"search has no index", []string{"search", "88.100", "1:batch=x"}, exitUsage, `no index`},
		{"watch from a revision", []string{"watch", "88.100", "--from", strconv.FormatUint(rev, 10), "--count", "2"}, exitOK,
			`(?s)^;; watching "88.100" after sequence 3, node at revision \d+\n4\s+\d+\s+\S+\s+updated\s+88\.100\.1/PUMP-2\n5\s+\d+\s+\S+\s+deleted\s+88\.100\.1/PUMP-1\n$`},
		{"watch resumes after a sequence", []string{"watch", "88.100", "--after-seq", "4", "--count", "1"}, exitOK, `5\s+\d+\s+\S+\s+deleted`},
		{"watch json", []string{"watch", "88.100.1", "--from", "0", "--count", "1", "--json"}, exitOK, `^\{.*"kind":\s*"CREATED".*"identifier":\s*"88.100.1/PUMP-1"`},
		{"watch too old", []string{"watch", "88.100", "--after-seq", "99"}, exitUsage, `OutOfRange: .*newer than this node's last change 5`},
		{"watch bad revision", []string{"watch", "88.100", "--from", "x"}, exitUsage, `not a revision`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := as(tt.args...)
			if code != tt.code || !regexp.MustCompile(tt.pattern).MatchString(out+errs) {
				t.Errorf("idres %v = %d\nstdout:\n%s\nstderr:\n%s\nwant %d and /%s/", tt.args, code, out, errs, tt.code, tt.pattern)
			}
		})
	}
}

// TestWatchReconnects: `idres watch` outlives a node restart, resuming
// after the last sequence it printed, so it prints every change once.
func TestWatchReconnects(t *testing.T) {
	old := reconnectDelay
	reconnectDelay = 20 * time.Millisecond
	t.Cleanup(func() { reconnectDelay = old })
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	running := n
	t.Cleanup(func() { running.Stop(context.Background()) })
	addr := n.GRPCAddr()
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	as := func(args ...string) (int, string, string) {
		return runCLI(t, nil, append([]string{"--server", addr, "--token", strings.TrimSpace(string(raw))}, args...)...)
	}
	if code, _, errs := as("prefix", "create", "88"); code != exitOK {
		t.Fatal(errs)
	}
	rev, err := n.Store().Revision()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := as("watch", "88", "--from", strconv.FormatUint(rev, 10), "--count", "3")
		done <- result{code, out, errs}
	}()
	if code, _, errs := as("create", "88/a", "t=1"); code != exitOK {
		t.Fatal(errs)
	}
	if err := running.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if running, err = node.Start(node.Config{DataDir: dir, GRPCAddr: addr, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"create", "88/b", "t=1"}, {"delete", "88/a"}} {
		if code, _, errs := as(args...); code != exitOK {
			t.Fatal(errs)
		}
	}
	r := <-done
	want := `(?s)^;; watching[^\n]*\n1\s[^\n]*created\s+88/a\n(;; watching[^\n]*\n)?2\s[^\n]*created\s+88/b\n3\s[^\n]*deleted\s+88/a\n$`
	if r.code != exitOK || !regexp.MustCompile(want).MatchString(r.out) {
		t.Errorf("idres watch = %d\nstdout:\n%s\nstderr:\n%s\nwant /%s/", r.code, r.out, r.errs, want)
	}
}
