package node_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/httpgw"
)

// TestRecursiveNodeHidesUpstreamErrors: a delegation names endpoints the
// recursive node cannot reach (a closed port, a listener that never
// answers). An anonymous caller, over gRPC or HTTP, learns SERVER_FAILURE
// and nothing of what the dial met ("connection refused", the address, an
// HTTP status from whatever listens there): that would make the node a
// port scanner for anyone. The detail goes to the node's log. A referral
// loop is still explained: it names zones only (REC-003).
func TestRecursiveNodeHidesUpstreamErrors(t *testing.T) {
	root := httpStartNode(t, node.Config{Logger: quietLog})
	closed := deadPort(t)
	silent := silentListener(t)
	err := root.Store().Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "", NegativeTtl: proto.Uint32(300)}); err != nil {
			return err
		}
		for p, addr := range map[string]string{"88": closed, "89": silent, "90": root.GRPCAddr()} {
			if err := tx.PutDelegation(&idresv1.Delegation{Prefix: p, Grpc: []string{addr}, Ttl: proto.Uint32(3600)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	rec := httpStartNode(t, node.Config{HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Recursive: node.RecursiveConfig{Roots: []string{root.GRPCAddr()}, UpstreamTimeout: 200e6}})
	c, err := client.Dial(rec.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	leaks := func(s string) string {
		for _, bad := range []string{closed, silent, "refused", "dial", "deadline", "127.0.0.1", "endpoint"} {
			if strings.Contains(s, bad) {
				return bad
			}
		}
		return ""
	}
	loop, err := c.Resolve(context.Background(), &idresv1.ResolveRequest{Identifier: "90/x"})
	if err != nil || loop.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE || !strings.HasPrefix(loop.Message, "referral loop:") {
		t.Errorf("referral loop: %v %v, want SERVER_FAILURE explaining the loop", loop, err)
	}
	for id, addr := range map[string]string{"88/x": closed, "89/x": silent} {
		resp, err := c.Resolve(context.Background(), &idresv1.ResolveRequest{Identifier: id})
		if err != nil {
			t.Fatalf("gRPC %s: %v", id, err)
		}
		if resp.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
			t.Fatalf("gRPC %s: %v, want SERVER_FAILURE", id, resp.Outcome)
		}
		if bad := leaks(resp.Message); bad != "" {
			t.Errorf("gRPC %s: message %q tells the caller %q", id, resp.Message, bad)
		}
		hr, body := httpGet(t, httpgw.APIURL(rec.HTTPURL(), id))
		if hr.StatusCode != 500 {
			t.Errorf("HTTP %s: status %d, want 500", id, hr.StatusCode)
		}
		if bad := leaks(string(body)); bad != "" {
			t.Errorf("HTTP %s: body %s tells the caller %q", id, body, bad)
		}
		if !strings.Contains(logs.String(), addr) {
			t.Errorf("the node's log does not name %s, the endpoint that failed for %s:\n%s", addr, id, logs.String())
		}
	}
}

// deadPort is a loopback address where nothing listens.
func deadPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts TCP connections and never says a word.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
