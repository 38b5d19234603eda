package node_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func startHTTPNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n
}

// TestSlowlorisIsCutOff trickles a request header a byte at a time: the
// gateway must close the connection (ReadHeaderTimeout) rather than hold
// it forever, and keep serving others meanwhile.
func TestSlowlorisIsCutOff(t *testing.T) {
	t.Parallel()
	n := startHTTPNode(t)
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		closed <- err
	}()
	trickle := time.NewTicker(200 * time.Millisecond)
	defer trickle.Stop()
	giveUp := time.After(30 * time.Second) // a hang, not a speed limit
	for {
		select {
		case <-closed:
			resp, err := http.Get("http://" + n.HTTPAddr() + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("gateway after the slow client: %v %v", resp, err)
			}
			resp.Body.Close()
			return
		case <-trickle.C:
			conn.Write([]byte("X")) // never ends the header line
		case <-giveUp:
			t.Fatal("a client trickling its header held the connection open for 30 s")
		}
	}
}

func TestHugeHeaderRefused(t *testing.T) {
	t.Parallel()
	n := startHTTPNode(t)
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1<<20)+"\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("1 MiB header: %s, want 431", resp.Status)
	}
}

// TestGRPCBadInputGetsClearErrors: an oversize message and invalid UTF-8
// are refused with a status, and the node goes on answering.
func TestGRPCBadInputGetsClearErrors(t *testing.T) {
	t.Parallel()
	n := startHTTPNode(t)
	c, err := client.Dial(n.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cases := []struct {
		name string
		req  *idresv1.ResolveRequest
		want codes.Code
	}{
		{"oversize message", &idresv1.ResolveRequest{Identifier: "88/x", Types: []string{strings.Repeat("t", node.DefaultMaxRecvMsgSize+1)}}, codes.ResourceExhausted},
		{"huge type filter", &idresv1.ResolveRequest{Identifier: "88/x", Types: []string{strings.Repeat("t", 1<<20)}}, codes.InvalidArgument},
		{"huge identifier", &idresv1.ResolveRequest{Identifier: "88/" + strings.Repeat("x", 100_000)}, codes.InvalidArgument},
	}
	for _, tc := range cases {
		_, err := c.Resolve(ctx, tc.req)
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	// Invalid UTF-8 cannot be sent through the generated client (it
	// refuses to marshal); TestInvalidUTF8IsInvalidArgument sends it raw.
	// The node must still answer.
	resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88/ok"})
	if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND {
		t.Fatalf("after bad input: %v %v", resp, err)
	}
}
