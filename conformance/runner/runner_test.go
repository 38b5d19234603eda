package runner_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
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
		Logger: slog.New(slog.DiscardHandler),
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
	return runner.Node{GRPC: n.GRPCAddr(), DNS: n.DNSAddr(), HTTP: "http://" + n.HTTPAddr(), Token: strings.TrimSpace(string(tok))}
}

func loadSuite(t *testing.T) []*runner.Case {
	t.Helper()
	cases, err := runner.LoadFS(conformance.Files, conformance.CasesDir)
	if err != nil {
		t.Fatalf("load cases: %v", err)
	}
	return cases
}

// TestSuiteAgainstSingleNode runs every case against one in-process node,
// as a tester with one node would: cases that need more (a recursive node,
// a second node) must skip, all others must pass.
func TestSuiteAgainstSingleNode(t *testing.T) {
	srv := startNode(t)
	cases := loadSuite(t)
	target := runner.Target{Nodes: map[string]runner.Node{runner.RoleServer: srv}, DNSZone: "id.example."}
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
	if sum.Passed == 0 || sum.Skipped == 0 {
		t.Errorf("%s: want passes, and skips for the recursive and child cases", sum)
	}
}
