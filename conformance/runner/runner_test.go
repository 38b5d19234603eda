package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
)

// startNode starts a real node on loopback (gRPC, DNS bridge and HTTP
// gateway) and returns its endpoints with the administrator token.
func startNode(t *testing.T) runner.Node {
	t.Helper()
	dir := t.TempDir()
	n, err := node.Start(node.Config{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0", DNSZone: "id.example.", HTTPAddr: "127.0.0.1:0",
		HandleAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatalf("read admin token: %v", err)
	}
	return runner.Node{GRPC: n.GRPCAddr(), DNS: n.DNSAddr(), HTTP: "http://" + n.HTTPAddr(), Handle: n.Endpoints()["handle"], Token: strings.TrimSpace(string(tok))}
}

func loadSuite(t *testing.T) []*runner.Case {
	t.Helper()
	cases, err := runner.LoadFS(conformance.Files, conformance.CasesDir)
	if err != nil {
		t.Fatalf("load cases: %v", err)
	}
	return cases
}

// needsAnotherNode says, from the case alone, whether it involves a node
// besides the server: one it names in its needs, sends a step to, or
// names in a placeholder ("{GRPC:child}"). Written apart from the
// runner's skipReason, so the two can disagree.
func needsAnotherNode(c *runner.Case) bool {
	others := []string{runner.RoleChild, runner.RoleRecursive, runner.RoleRoot}
	for _, n := range c.Needs {
		if slices.Contains(others, n) {
			return true
		}
	}
	for _, s := range append(append([]*runner.Step{}, c.Setup...), c.Steps...) {
		if slices.Contains(others, s.Node) {
			return true
		}
		text := fmt.Sprint(s.Request, s.Expect)
		for _, o := range others {
			if strings.Contains(text, ":"+o+"}") {
				return true
			}
		}
	}
	return false
}

// TestSuiteAgainstSingleNode runs every case against one in-process node
// with its DNS bridge, HTTP gateway and Handle server, as a tester with one node would:
// exactly the cases that involve another node (child, recursive, root)
// skip, and every other case passes.
func TestSuiteAgainstSingleNode(t *testing.T) {
	srv := startNode(t)
	cases := loadSuite(t)
	wantSkipped := 0
	for _, c := range cases {
		if needsAnotherNode(c) {
			wantSkipped++
		}
	}
	if wantSkipped == 0 || wantSkipped == len(cases) {
		t.Fatalf("%d of %d cases involve another node; the suite is meant to have both kinds", wantSkipped, len(cases))
	}
	target := runner.Target{Nodes: map[string]runner.Node{runner.RoleServer: srv}, DNSZone: "id.example."}
	sum, err := runner.Run(context.Background(), target, cases, func(r runner.Result) {
		switch other := needsAnotherNode(r.Case); {
		case r.Status == runner.Fail:
			t.Errorf("%s", runner.Line(r))
		case other && r.Status != runner.Skip:
			t.Errorf("%s: involves another node, want skip", runner.Line(r))
		case !other && r.Status != runner.Pass:
			t.Errorf("%s: needs only the server, want pass", runner.Line(r))
		default:
			t.Logf("%s", runner.Line(r))
		}
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("%s", sum)
	if want := (runner.Summary{Passed: len(cases) - wantSkipped, Skipped: wantSkipped}); sum != want {
		t.Errorf("%s, want %s", sum, want)
	}
}
