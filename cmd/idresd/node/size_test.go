package node_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/resolver/client"
)

// TestIdentifierSizeLimitWired: --max-identifier-bytes reaches the
// registry and the HTTP gateway. A record written under a larger limit is
// refused by the gateway once the node restarts with a smaller one.
func TestIdentifierSizeLimitWired(t *testing.T) {
	dir := t.TempDir()
	start := func(limit int) (*node.Node, *client.Client) {
		n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: quietLog,
			Security: node.SecurityConfig{Limits: registrar.Limits{MaxIdentifierBytes: limit}}})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
		if err != nil {
			t.Fatal(err)
		}
		return n, c
	}
	create := func(c *client.Client, id string, size int) error {
		_, err := c.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: id,
			Values: []*idresv1.Value{{Index: 1, Type: "t", Data: []byte(strings.Repeat("x", size-1))}}})
		return err
	}
	n, c := start(1000)
	if _, err := c.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	if err := create(c, "88.100/mid", 900); err != nil {
		t.Fatalf("900 bytes under a limit of 1000: %v", err)
	}
	if err := create(c, "88.100/big", 1001); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "limit of 1000 bytes") {
		t.Errorf("1001 bytes: %v, want InvalidArgument naming the limit", err)
	}
	c.Close()
	if err := n.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	n, c = start(100)
	defer func() { c.Close(); n.Stop(ctxT(t)) }()
	if err := create(c, "88.100/small", 200); status.Code(err) != codes.InvalidArgument {
		t.Errorf("200 bytes under a limit of 100: %v, want InvalidArgument", err)
	}
	resp, err := http.Get("http://" + n.HTTPAddr() + "/api/handles/88.100/mid")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "the 100 this node serves") {
		t.Errorf("HTTP answer of 900 bytes under a limit of 100: %d %s", resp.StatusCode, body)
	}
}
