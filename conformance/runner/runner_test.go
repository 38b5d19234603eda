package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
)

// startNode starts a real node on loopback and returns its address and
// administrator token.
func startNode(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0"})
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
	return n.GRPCAddr(), strings.TrimSpace(string(tok))
}

func loadSuite(t *testing.T) []*runner.Case {
	t.Helper()
	cases, err := runner.LoadFS(conformance.Files, conformance.CasesDir)
	if err != nil {
		t.Fatalf("load cases: %v", err)
	}
	return cases
}

// TestSuiteAgainstSingleNode runs every case against one in-process node:
// cases that need more (a recursive node, DNS, HTTP) must skip, all
// others must pass.
func TestSuiteAgainstSingleNode(t *testing.T) {
	addr, tok := startNode(t)
	cases := loadSuite(t)
	target := runner.Target{Nodes: map[string]runner.Node{runner.RoleServer: {GRPC: addr, Token: tok}}}
	sum, err := runner.Run(context.Background(), target, cases, func(r runner.Result) {
		if r.Status == runner.Fail {
			t.Errorf("%s", runner.Line(r))
		} else {
			t.Logf("%s", runner.Line(r))
		}
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("%s", sum)
	if sum.Passed == 0 {
		t.Errorf("no case passed")
	}
}
