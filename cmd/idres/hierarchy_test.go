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

// hierNode starts a real node on loopback and returns it with its
// administrator token.
func hierNode(t *testing.T) (*node.Node, string) {
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
	return n, strings.TrimSpace(string(tok))
}

// TestDelegateCommandsAndTrace drives delegate, delegations, undelegate
// and resolve --trace against a root node and a leaf node.
func TestDelegateCommandsAndTrace(t *testing.T) {
	root, rootTok := hierNode(t)
	leaf, leafTok := hierNode(t)
	at := func(n *node.Node, tok string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", tok}, args...)...)
	}
	must := func(code int, out, errOut string) string {
		t.Helper()
		if code != exitOK {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		return out
	}
	must(at(root, rootTok, "prefix", "create", ""))
	must(at(leaf, leafTok, "prefix", "create", "88"))
	must(at(leaf, leafTok, "create", "88/part-1", "1:URL=https://example.com/1"))

	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // regexp
	}{
		{"delegate", []string{"delegate", "88", "--grpc", "127.0.0.1:1," + leaf.GRPCAddr(), "--dns", "127.0.0.12", "--ttl", "600"}, exitOK, `delegated 88 to 127\.0\.0\.1:1, 127\.0\.0\.1:\d+ \(ttl 600\)`},
		{"delegate without --grpc", []string{"delegate", "86"}, exitUsage, ``},
		{"delegate under no zone of the node", []string{"delegate", "88.1", "--grpc", "127.0.0.1:1"}, exitNegative, ``},
		{"delegations", []string{"delegations"}, exitOK, `(?m)^88\s+600\s+127\.0\.0\.1:1,127\.0\.0\.1:\d+\s+127\.0\.0\.12\s+-\s+-$`},
		{"delegations of another zone", []string{"delegations", "86"}, exitOK, `^;; prefix\s+ttl\s+grpc\s+dns\s+http\s+handle\n$`},
		{"resolve at the root refers", []string{"resolve", "88/part-1"}, exitOK, `REFERRAL`},
		// The first endpoint is a closed port: the trace shows the failure
		// and the failover.
		{"trace", []string{"resolve", "--trace", "88/part-1"}, exitOK,
			`(?s)1\. zone \.: asked 127\.0\.0\.1:\d+: REFERRAL to 88 .*2\. zone 88: 127\.0\.0\.1:1 gave no answer.*3\. zone 88: asked 127\.0\.0\.1:\d+: OK \(authoritative\).*https://example\.com/1`},
		{"trace of a missing prefix", []string{"resolve", "--trace", "86/x"}, exitNegative, `PREFIX_NOT_FOUND`},
		{"undelegate", []string{"undelegate", "88"}, exitOK, `removed the delegation of 88`},
		{"undelegate again", []string{"undelegate", "88"}, exitNegative, ``},
	}
	for _, s := range steps {
		code, out, errOut := at(root, rootTok, s.args...)
		if code != s.wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s%s", s.name, code, s.wantCode, out, errOut)
		}
		if !regexp.MustCompile(s.wantOut).MatchString(out) {
			t.Fatalf("%s: output does not match %q:\n%s", s.name, s.wantOut, out)
		}
	}
}

// TestResolveThroughRecursiveNodeAndFlush resolves through a real
// recursive node and flushes its cache with idres flush-cache.
func TestResolveThroughRecursiveNodeAndFlush(t *testing.T) {
	root, rootTok := hierNode(t)
	leaf, leafTok := hierNode(t)
	for _, c := range [][]string{
		{"--server", root.GRPCAddr(), "--token", rootTok, "prefix", "create", ""},
		{"--server", leaf.GRPCAddr(), "--token", leafTok, "prefix", "create", "88"},
		{"--server", leaf.GRPCAddr(), "--token", leafTok, "create", "88/part-1", "1:URL=https://example.com/1"},
		{"--server", root.GRPCAddr(), "--token", rootTok, "delegate", "88", "--grpc", leaf.GRPCAddr()},
	} {
		if code, out, errOut := runCLI(t, nil, c...); code != exitOK {
			t.Fatalf("%v: exit %d: %s%s", c, code, out, errOut)
		}
	}
	rec, err := node.Start(node.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Recursive: node.RecursiveConfig{Roots: []string{root.GRPCAddr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(context.Background()) })
	recTok, err := os.ReadFile(rec.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"resolve", "88/part-1"}, exitOK, `OK, not authoritative, ttl 86400, zone 88`},
		{[]string{"resolve", "88/part-2"}, exitNegative, `NOT_FOUND, not authoritative`},
		{[]string{"flush-cache", "86"}, exitOK, `flushed 0 cache entries`},
		{[]string{"flush-cache"}, exitOK, `flushed 3 cache entries`}, // the referral and two answers
		{[]string{"flush-cache", "--token", "", "--token-file", os.DevNull}, exitServer, ``},
	}
	for _, s := range steps {
		args := append([]string{"--server", rec.GRPCAddr(), "--token", strings.TrimSpace(string(recTok))}, s.args...)
		code, out, errOut := runCLI(t, nil, args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Fatalf("%v: exit %d, output %q %q; want exit %d and %q", s.args, code, out, errOut, s.wantCode, s.wantOut)
		}
	}
}
