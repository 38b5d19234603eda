package node_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestAnonymousRateLimit: with --anon-rate-limit, anonymous callers of one
// address share one bucket over gRPC and HTTP; past it gRPC answers
// ResourceExhausted and HTTP 429 with Retry-After, while a credential's
// calls and health probes are not counted against it.
func TestAnonymousRateLimit(t *testing.T) {
	n := httpStartNode(t, node.Config{HTTPAddr: "127.0.0.1:0", Logger: quietLog,
		Security: node.SecurityConfig{AnonRateLimit: 0.001, AnonRateBurst: 3}})
	anon, err := client.Dial(n.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	resolve := func() error {
		_, err := anon.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: "88.100/x"})
		return err
	}
	for i := range 2 {
		if err := resolve(); err != nil {
			t.Fatalf("anonymous Resolve %d within the burst: %v", i+1, err)
		}
	}
	resp, _ := httpGet(t, n.HTTPURL()+"/api/handles/88.100/x")
	if resp.StatusCode == http.StatusTooManyRequests {
		t.Fatal("third anonymous call (HTTP) refused within a burst of 3")
	}
	err = resolve()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("anonymous Resolve beyond the burst: %v, want ResourceExhausted naming the source", err)
	}
	resp, _ = httpGet(t, n.HTTPURL()+"/api/handles/88.100/x")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP beyond the burst: %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := httpGet(t, n.HTTPURL()+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz limited: %d", resp.StatusCode)
	}
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(raw))
	admin, err := client.Dial(n.GRPCAddr(), client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: "88.100/x"}); err != nil {
		t.Errorf("a credential's Resolve was limited as anonymous: %v", err)
	}
}
